//! Loudness to ITU-R BS.1770 (measured by the `ebur128` crate), and the gain
//! plus peak limiting that bring a track to the level players expect.

use std::collections::VecDeque;

use ebur128::{EbuR128, Mode};

use super::{Pcm, db_to_gain};

/// The integrated loudness the big streaming and social platforms normalise
/// to; at this level our videos neither jump out of a feed nor get turned
/// down by it.
pub const TARGET_LUFS: f64 = -14.0;
/// The highest true peak a track may have: the headroom AAC needs, since
/// lossy coding raises peaks a little.
pub const PEAK_CEILING_DBTP: f64 = -1.0;

/// The limiter works on samples; inter-sample peaks of music run up to about
/// half a dB above them, so it aims this far under the true-peak ceiling and
/// rarely leaves anything for the final true-peak check to do.
const SAMPLE_MARGIN_DB: f64 = 0.6;
/// How far ahead of a peak the limiter starts to turn down: 1.5 ms, short
/// enough not to be heard as pumping, long enough not to distort.
const LOOKAHEAD_S: f64 = 0.0015;
/// How fast it lets go afterwards.
const RELEASE_S: f64 = 0.08;
/// Limiting leaves loudness this far under the target before another round
/// of gain and limiting is worth its measurement: a quarter of a LU is
/// below what anyone hears, and each round costs a full BS.1770 pass.
const SHORTFALL_LU: f64 = 0.25;
/// The final true-peak check only oversamples around samples within this
/// many dB of the limiter's ceiling: an inter-sample peak of real audio is
/// at most about 3 dB over the samples beside it, and most of a track is
/// far below, so this does a fraction of the work of measuring it all.
const NEAR_DB: f64 = 6.0;
/// Frames of context either side of a loud stretch: the oversampling
/// filter's reach, with room to spare.
const NEAR_PAD: usize = 32;

/// Integrated loudness in LUFS; `None` when there is none to measure
/// (silence, less than one 400 ms gating block, or a format BS.1770 does not
/// cover).
pub fn loudness_lufs(pcm: &Pcm) -> Option<f64> {
    let mut meter = meter(pcm, Mode::I)?;
    meter.add_frames_f32(whole_frames(pcm)).ok()?;
    meter.loudness_global().ok().filter(|l| l.is_finite())
}

/// The highest true (4x oversampled) peak over all channels, in dBTP; `None`
/// when the format cannot be measured, −∞ for silence.
pub fn true_peak_dbtp(pcm: &Pcm) -> Option<f64> {
    let mut meter = meter(pcm, Mode::TRUE_PEAK)?;
    meter.add_frames_f32(whole_frames(pcm)).ok()?;
    let peak = (0..u32::from(pcm.channels))
        .filter_map(|c| meter.true_peak(c).ok())
        .fold(0.0f64, f64::max);
    Some(20.0 * peak.log10())
}

/// Brings `pcm` to `target_lufs` integrated with its true peak at most
/// [`PEAK_CEILING_DBTP`]: a gain, then a look-ahead limiter wherever the gain
/// pushed peaks over the ceiling, repeated while limiting left it short of
/// the target. Leaves silence, and anything it cannot measure, as it is.
pub fn normalize(pcm: &mut Pcm, target_lufs: f64) {
    if !target_lufs.is_finite() || pcm.samples.iter().any(|s| !s.is_finite()) {
        return;
    }
    let Some(mut loudness) = loudness_lufs(pcm) else {
        return;
    };
    let ceiling = db_to_gain(PEAK_CEILING_DBTP - SAMPLE_MARGIN_DB) as f32;
    // Limiting only ever takes loudness away, so each round adds the
    // shortfall back; a round's shortfall shrinks quickly for anything with
    // a sane crest factor, and three bound the cost for anything without.
    for _ in 0..3 {
        let gain = db_to_gain(target_lufs - loudness) as f32;
        for s in &mut pcm.samples {
            *s *= gain;
        }
        if !limit(pcm, ceiling) {
            break;
        }
        match loudness_lufs(pcm) {
            Some(l) if (target_lufs - l) > SHORTFALL_LU => loudness = l,
            _ => break,
        }
    }
    if let Some(peak) = true_peak_near(pcm, ceiling * db_to_gain(-NEAR_DB) as f32)
        && peak > PEAK_CEILING_DBTP
    {
        let gain = db_to_gain(PEAK_CEILING_DBTP - peak - 0.01) as f32;
        for s in &mut pcm.samples {
            *s *= gain;
        }
    }
}

/// [`true_peak_dbtp`] over only the stretches of `pcm` where some sample
/// exceeds `threshold`, each with [`NEAR_PAD`] frames either side (and the
/// filter primed with the frames before that); −∞ when there are none.
fn true_peak_near(pcm: &Pcm, threshold: f32) -> Option<f64> {
    let mut meter = meter(pcm, Mode::TRUE_PEAK)?;
    let ch = usize::from(pcm.channels);
    let samples = whole_frames(pcm);
    let frames = samples.len() / ch;
    let loud = |f: usize| {
        samples[f * ch..(f + 1) * ch]
            .iter()
            .any(|s| s.abs() > threshold)
    };
    let mut peak = 0.0f64;
    let mut f = 0;
    while f < frames {
        if !loud(f) {
            f += 1;
            continue;
        }
        // A stretch ends once 2 * NEAR_PAD quiet frames follow its last
        // loud one, so neighbouring peaks share a window.
        let start = f.saturating_sub(NEAR_PAD);
        let mut end = f + 1;
        let mut quiet = 0;
        while end < frames && quiet < 2 * NEAR_PAD {
            quiet = if loud(end) { 0 } else { quiet + 1 };
            end += 1;
        }
        meter.reset();
        let primer = start.saturating_sub(NEAR_PAD);
        meter
            .seed_frames_f32(&samples[primer * ch..start * ch])
            .ok()?;
        meter.add_frames_f32(&samples[start * ch..end * ch]).ok()?;
        for c in 0..ch as u32 {
            peak = peak.max(meter.true_peak(c).ok()?);
        }
        f = end;
    }
    Some(20.0 * peak.log10())
}

fn meter(pcm: &Pcm, mode: Mode) -> Option<EbuR128> {
    EbuR128::new(u32::from(pcm.channels), pcm.sample_rate, mode).ok()
}

fn whole_frames(pcm: &Pcm) -> &[f32] {
    &pcm.samples[..pcm.frames() * usize::from(pcm.channels)]
}

/// A linked (all channels alike, so the stereo image stays put) look-ahead
/// peak limiter, in place. Returns whether it had anything to do.
///
/// The gain each frame needs is `ceiling / peak`. Its minimum over ±h frames,
/// averaged over ±h frames, is never above what any frame in the window
/// needs, yet moves smoothly (no clicks) and starts h frames early; a
/// one-pole release then slows the way back up.
fn limit(pcm: &mut Pcm, ceiling: f32) -> bool {
    let ch = usize::from(pcm.channels);
    let frames = pcm.frames();
    if ch == 0 || frames == 0 {
        return false;
    }
    let need: Vec<f32> = pcm.samples[..frames * ch]
        .chunks_exact(ch)
        .map(|f| {
            let peak = f.iter().fold(0.0f32, |m, s| m.max(s.abs()));
            if peak > ceiling { ceiling / peak } else { 1.0 }
        })
        .collect();
    if need.iter().all(|&g| g >= 1.0) {
        return false;
    }

    let h = ((LOOKAHEAD_S * f64::from(pcm.sample_rate)) as usize).max(1);
    let min = sliding_min(&need, h);
    // Past either end, the edge frame's value: it is a minimum over every
    // frame a window reaching out there covers, so the bound still holds.
    let at = |j: isize| -> f64 { f64::from(min[j.clamp(0, frames as isize - 1) as usize]) };
    let h_signed = h as isize;
    // A running sum, in f64: over minutes of audio an f32 one would drift.
    let mut sum: f64 = (-h_signed..h_signed).map(at).sum();
    let window = (2 * h + 1) as f64;
    let mut smooth = Vec::with_capacity(frames);
    for i in 0..frames as isize {
        sum += at(i + h_signed);
        smooth.push((sum / window) as f32);
        sum -= at(i - h_signed);
    }

    let release = (1.0 - (-1.0 / (RELEASE_S * f64::from(pcm.sample_rate))).exp()) as f32;
    let mut gain = 1.0f32;
    for (frame, &target) in pcm.samples.chunks_exact_mut(ch).zip(&smooth) {
        gain = target.min(gain + (1.0 - gain) * release);
        for s in frame {
            *s *= gain;
        }
    }
    true
}

/// `out[i] = min(v[i-h..=i+h])`, clamped to the slice, in O(n).
fn sliding_min(v: &[f32], h: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(v.len());
    let mut queue: VecDeque<usize> = VecDeque::new();
    let mut next = 0;
    for i in 0..v.len() {
        while next < v.len() && next <= i + h {
            while queue.back().is_some_and(|&b| v[b] >= v[next]) {
                queue.pop_back();
            }
            queue.push_back(next);
            next += 1;
        }
        while queue.front().is_some_and(|&f| f + h < i) {
            queue.pop_front();
        }
        out.push(queue.front().map_or(1.0, |&f| v[f]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(frames: usize, level: f32) -> Pcm {
        let mut state = 0x2545_f491_u32;
        let samples = (0..frames * 2)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state as f32 / u32::MAX as f32 * 2.0 - 1.0) * level
            })
            .collect();
        Pcm {
            sample_rate: 48_000,
            channels: 2,
            samples,
        }
    }

    #[test]
    fn true_peak_near_loud_stretches_is_the_true_peak() {
        // Quiet noise with bursts of a tone at a quarter of the sample rate,
        // phased so that every sample misses the crest by 3 dB.
        let mut pcm = noise(48_000, 0.05);
        for burst in [1_000usize, 20_000, 47_950] {
            for i in 0..40.min(48_000 - burst) {
                let s = (std::f32::consts::FRAC_PI_2 * i as f32 + std::f32::consts::FRAC_PI_4)
                    .sin()
                    * 0.9;
                pcm.samples[(burst + i) * 2] = s;
                pcm.samples[(burst + i) * 2 + 1] = -s;
            }
        }
        let full = true_peak_dbtp(&pcm).unwrap();
        let near = true_peak_near(&pcm, 0.3).unwrap();
        assert!(
            full > pcm.peak_dbfs() + 2.0,
            "the test signal has inter-sample peaks"
        );
        assert!((full - near).abs() < 1e-9, "{full} vs {near}");
        // Nothing over the threshold: nothing measured.
        assert_eq!(true_peak_near(&pcm, 2.0), Some(f64::NEG_INFINITY));
    }

    #[test]
    fn sliding_min_matches_brute_force() {
        let v: Vec<f32> = (0..50).map(|i| ((i * 37) % 11) as f32).collect();
        for h in [1, 3, 7] {
            let fast = sliding_min(&v, h);
            for (i, got) in fast.iter().enumerate() {
                let lo = i.saturating_sub(h);
                let hi = (i + h).min(v.len() - 1);
                let slow = v[lo..=hi].iter().copied().fold(f32::INFINITY, f32::min);
                assert_eq!(*got, slow, "h {h} i {i}");
            }
        }
    }

    #[test]
    fn limiter_keeps_every_sample_under_the_ceiling() {
        let mut pcm = noise(144_000, 0.3);
        // Spikes, the worst case: one frame far over the ceiling.
        for at in [0usize, 1_000, 20_001, 143_999] {
            pcm.samples[at * 2] = 1.8;
            pcm.samples[at * 2 + 1] = -1.5;
        }
        assert!(limit(&mut pcm, 0.5));
        assert!(
            pcm.samples.iter().all(|s| s.abs() <= 0.5 + 1e-6),
            "{}",
            pcm.peak_dbfs()
        );
        // And it leaves the rest alone: once released (ten time constants
        // after a spike), untouched.
        let quiet = pcm.slice_frames(60_000, 40_000);
        let before = noise(144_000, 0.3).slice_frames(60_000, 40_000);
        assert!((quiet.rms_dbfs() - before.rms_dbfs()).abs() < 0.01);
    }

    #[test]
    fn normalize_hits_the_target_under_the_ceiling() {
        for level in [0.01, 0.3, 0.99] {
            let mut pcm = noise(48_000 * 3, level);
            normalize(&mut pcm, TARGET_LUFS);
            let lufs = loudness_lufs(&pcm).unwrap();
            assert!(
                (lufs - TARGET_LUFS).abs() < 0.5,
                "level {level}: {lufs} LUFS"
            );
            assert!(true_peak_dbtp(&pcm).unwrap() <= PEAK_CEILING_DBTP + 1e-6);
        }
    }

    #[test]
    fn silence_and_bad_formats_are_left_alone() {
        let mut silent = Pcm::silence(48_000, 2, 48_000);
        normalize(&mut silent, TARGET_LUFS);
        assert!(silent.samples.iter().all(|&s| s == 0.0));
        assert_eq!(loudness_lufs(&silent), None);
        let odd = Pcm {
            sample_rate: 0,
            channels: 2,
            samples: vec![0.5; 100],
        };
        assert_eq!(loudness_lufs(&odd), None);
        assert_eq!(true_peak_dbtp(&odd), None);
        let mut nan = noise(48_000, 0.3);
        nan.samples[10] = f32::NAN;
        let before = nan.samples.len();
        normalize(&mut nan, TARGET_LUFS);
        assert_eq!(nan.samples.len(), before);
    }
}
