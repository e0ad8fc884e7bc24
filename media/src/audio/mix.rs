//! The music bed under a provider's own audio (a voice-over, product sound).

use super::{Pcm, TARGET_LUFS, db_to_gain, loudness_lufs, normalize, to_track_format};

/// Where the bed sits under the foreground's integrated loudness while the
/// foreground is quiet; clearly there, never competing.
pub const BED_UNDER_DB: f64 = 12.0;
/// How much further it ducks while the foreground is loud: −18 dB in all
/// under speech, the usual level for music under a voice.
const DUCK_DB: f64 = 6.0;
/// The foreground counts as loud from this far under its integrated
/// loudness, and as quiet from [`QUIET_BELOW_DB`] down; between, the duck is
/// proportional.
const LOUD_BELOW_DB: f64 = 8.0;
const QUIET_BELOW_DB: f64 = 24.0;
/// Level detection in 10 ms blocks, the duck following in 30 ms and letting
/// go over 400 ms, so it neither clips syllables nor pumps between words.
const BLOCK_S: f64 = 0.010;
const ATTACK_S: f64 = 0.030;
const RELEASE_S: f64 = 0.400;

/// Mixes `bed` under `foreground`: the foreground as it is, the bed
/// [`BED_UNDER_DB`] under it and ducked a further 6 dB where the foreground
/// is loud, then the sum normalised to [`TARGET_LUFS`]. The result has the
/// bed's format and length (the video's); foreground past it is cut, and a
/// shorter one simply ends.
///
/// A foreground with nothing to measure (silence, or a format that cannot
/// be brought to the bed's) leaves the bed alone, normalised.
pub fn mix_under(foreground: &Pcm, bed: &Pcm) -> Pcm {
    let mut out = bed.clone();
    let ch = usize::from(bed.channels);
    let fg = conformed(foreground, bed);
    let (Some(fg), Some(fg_lufs), Some(bed_lufs)) = (
        fg.as_ref(),
        fg.as_ref().and_then(loudness_lufs),
        loudness_lufs(bed),
    ) else {
        normalize(&mut out, TARGET_LUFS);
        return out;
    };

    let base = db_to_gain(fg_lufs - BED_UNDER_DB - bed_lufs) as f32;
    let duck = duck_curve(fg, fg_lufs, bed.frames());
    let fg_len = fg.samples.len().min(out.samples.len());
    for (i, frame) in out.samples.chunks_exact_mut(ch).enumerate() {
        let gain = base * duck[i];
        for s in frame.iter_mut() {
            *s *= gain;
        }
    }
    for (o, f) in out.samples[..fg_len].iter_mut().zip(&fg.samples) {
        *o += f;
    }
    normalize(&mut out, TARGET_LUFS);
    out
}

fn conformed(foreground: &Pcm, bed: &Pcm) -> Option<Pcm> {
    if foreground.sample_rate == bed.sample_rate && foreground.channels == bed.channels {
        return Some(foreground.clone());
    }
    // Only the track format is supported as a target; a bed is always in it.
    let fg = to_track_format(foreground).ok()?;
    (fg.sample_rate == bed.sample_rate && fg.channels == bed.channels).then_some(fg)
}

/// Per frame of the bed, the extra gain (≤ 1) the duck applies.
fn duck_curve(fg: &Pcm, fg_lufs: f64, frames: usize) -> Vec<f32> {
    let ch = usize::from(fg.channels);
    let rate = f64::from(fg.sample_rate);
    let block = ((BLOCK_S * rate) as usize).max(1);
    let blocks = frames.div_ceil(block);
    let attack = 1.0 - (-BLOCK_S / ATTACK_S).exp();
    let release = 1.0 - (-BLOCK_S / RELEASE_S).exp();
    let floor = db_to_gain(-DUCK_DB);

    // Block levels in dB relative to the foreground's loudness; plain RMS,
    // not K-weighted: within one signal the difference does not matter.
    let mut targets = Vec::with_capacity(blocks);
    for b in 0..blocks {
        let from = (b * block * ch).min(fg.samples.len());
        let to = ((b + 1) * block * ch).min(fg.samples.len());
        let level = if to > from {
            let energy: f64 = fg.samples[from..to]
                .iter()
                .map(|&s| f64::from(s).powi(2))
                .sum();
            10.0 * (energy / (to - from) as f64).log10() - fg_lufs
        } else {
            f64::NEG_INFINITY
        };
        // 0 when quiet, 1 when loud.
        let amount = ((level + QUIET_BELOW_DB) / (QUIET_BELOW_DB - LOUD_BELOW_DB)).clamp(0.0, 1.0);
        targets.push(1.0 + (floor - 1.0) * amount);
    }
    // Attack and release run forwards; a backward pass of the attack lets
    // the duck start just before the foreground does.
    let mut gains = targets.clone();
    let mut g = 1.0;
    for (t, out) in targets.iter().zip(gains.iter_mut()) {
        g += (t - g) * if *t < g { attack } else { release };
        *out = g;
    }
    let mut g = 1.0;
    for out in gains.iter_mut().rev() {
        g = out.min(g + (1.0 - g) * attack);
        *out = g;
    }

    // Linear between block centres, so the gain never steps.
    (0..frames)
        .map(|i| {
            let pos = (i as f64 + 0.5) / block as f64 - 0.5;
            let b = (pos.floor().max(0.0) as usize).min(blocks.saturating_sub(1));
            let next = (b + 1).min(blocks.saturating_sub(1));
            let t = (pos - b as f64).clamp(0.0, 1.0);
            (gains[b] + (gains[next] - gains[b]) * t) as f32
        })
        .collect()
}
