//! Bringing any PCM to the track's 48 kHz stereo.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{
    Async, FixedAsync, Resampler, SincInterpolationParameters, SincInterpolationType,
    WindowFunction,
};

use super::{CHANNELS, Pcm, SAMPLE_RATE};
use crate::MediaError;

/// Rates outside this range are not audio anyone sends (AAC's own table
/// spans 7.35 to 96 kHz); refusing them keeps the resampler's ratio sane.
const MIN_RATE: u32 = 4_000;
const MAX_RATE: u32 = 384_000;

/// Returns `pcm` as 48 kHz stereo: mono is copied to both sides, more than
/// two channels keep the first two (the AAC decoder already downmixes to
/// stereo, so this only meets PCM from elsewhere), other rates are resampled.
pub fn to_track_format(pcm: &Pcm) -> Result<Pcm, MediaError> {
    if pcm.channels == 0 {
        return Err(MediaError::Audio("audio has no channels".into()));
    }
    if !(MIN_RATE..=MAX_RATE).contains(&pcm.sample_rate) {
        return Err(MediaError::Audio(format!(
            "unsupported sample rate {} Hz",
            pcm.sample_rate
        )));
    }
    let stereo = to_stereo(pcm);
    if stereo.sample_rate == SAMPLE_RATE {
        return Ok(stereo);
    }
    resample(&stereo, SAMPLE_RATE)
}

fn to_stereo(pcm: &Pcm) -> Pcm {
    let ch = usize::from(pcm.channels);
    let samples = match ch {
        2 => pcm.samples.clone(),
        1 => pcm.samples.iter().flat_map(|&s| [s, s]).collect(),
        _ => pcm
            .samples
            .chunks_exact(ch)
            .flat_map(|f| [f[0], f[1]])
            .collect(),
    };
    Pcm {
        sample_rate: pcm.sample_rate,
        channels: CHANNELS,
        samples,
    }
}

/// Whole-clip sinc resampling with rubato, which also trims the filter's
/// delay, so the output starts where the input did and lasts as long.
///
/// 64 taps, not rubato's suggested 256: this is provider audio that ends up
/// under the music and through AAC at 128 kbit/s, and a minute of it must
/// resample in tens of milliseconds; 64 taps with a Blackman-Harris window
/// still keep aliasing far below what that encoder preserves.
fn resample(pcm: &Pcm, rate: u32) -> Result<Pcm, MediaError> {
    let ch = usize::from(pcm.channels);
    let frames = pcm.frames();
    if frames == 0 {
        return Ok(Pcm::silence(rate, pcm.channels, 0));
    }
    let fail = |e: &dyn std::fmt::Display| MediaError::Audio(format!("resampling failed: {e}"));
    let params = SincInterpolationParameters::new(64, WindowFunction::BlackmanHarris2)
        .oversampling_factor(128)
        .interpolation(SincInterpolationType::Linear);
    let ratio = f64::from(rate) / f64::from(pcm.sample_rate);
    let mut resampler = Async::<f32>::new_sinc(ratio, 1.0, &params, 1024, ch, FixedAsync::Input)
        .map_err(|e| fail(&e))?;
    let input = InterleavedSlice::new(&pcm.samples, ch, frames).map_err(|e| fail(&e))?;
    let out = resampler
        .process_all(&input, frames, None)
        .map_err(|e| fail(&e))?;
    let mut samples = out.take_data();
    // rubato rounds the length up from a float ratio (44.1 to 48 kHz gives
    // 48001 frames for a second); the exact, rounded length keeps durations
    // what they were.
    let len = (frames as u64 * u64::from(rate) + u64::from(pcm.sample_rate) / 2)
        / u64::from(pcm.sample_rate);
    samples.resize(len as usize * ch, 0.0);
    Ok(Pcm {
        sample_rate: rate,
        channels: pcm.channels,
        samples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(rate: u32, channels: u16, hz: f32, frames: usize) -> Pcm {
        let samples = (0..frames)
            .flat_map(|i| {
                let s = (std::f32::consts::TAU * hz * i as f32 / rate as f32).sin() * 0.5;
                std::iter::repeat_n(s, usize::from(channels))
            })
            .collect();
        Pcm {
            sample_rate: rate,
            channels,
            samples,
        }
    }

    #[test]
    fn resampling_keeps_length_pitch_and_level() {
        let src = sine(44_100, 1, 1000.0, 44_100);
        let out = to_track_format(&src).unwrap();
        assert_eq!((out.sample_rate, out.channels), (48_000, 2));
        assert_eq!(out.frames(), 48_000);
        // Level within 0.2 dB, away from the edges.
        let mid = out.slice_frames(4_800, 38_400);
        assert!(
            (mid.rms_dbfs() - src.rms_dbfs()).abs() < 0.2,
            "{}",
            mid.rms_dbfs()
        );
        // 1 kHz at 48 kHz crosses zero upwards exactly once per 48 samples.
        let left: Vec<f32> = mid.samples.iter().step_by(2).copied().collect();
        let rising = left
            .windows(2)
            .filter(|w| w[0] < 0.0 && w[1] >= 0.0)
            .count();
        assert!((799..=801).contains(&rising), "{rising}");
        // And it still lines up with the source: the peak comes a quarter
        // period (12 samples) after the start, as the source's did.
        let peak_at = (0..48).max_by(|&a, &b| out.samples[a * 2].total_cmp(&out.samples[b * 2]));
        assert!(matches!(peak_at, Some(11..=13)), "{peak_at:?}");
    }

    #[test]
    fn refuses_what_is_not_audio() {
        let mut pcm = sine(44_100, 1, 1000.0, 100);
        pcm.channels = 0;
        assert!(to_track_format(&pcm).is_err());
        pcm.channels = 1;
        pcm.sample_rate = 0;
        assert!(to_track_format(&pcm).is_err());
    }

    #[test]
    fn surround_keeps_the_first_pair() {
        let pcm = Pcm {
            sample_rate: 48_000,
            channels: 3,
            samples: vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
        };
        assert_eq!(
            to_track_format(&pcm).unwrap().samples,
            vec![0.1, 0.2, 0.4, 0.5]
        );
    }
}
