//! The video's sound track: a music bed written by the program (so it is
//! royalty-free by construction), loudness normalisation to the streaming
//! platforms' level, mixing under a provider's own audio, and AAC-LC in and
//! out for the MP4's `mp4a` track.
//!
//! Everything works on [`Pcm`], interleaved `f32` samples; the track a video
//! gets is 48 kHz stereo ([`SAMPLE_RATE`], [`CHANNELS`]).

mod aac;
mod conform;
mod loudness;
mod mix;
mod music;

pub use aac::{
    AacTrack, DEFAULT_BITRATE, FRAME_SAMPLES, decode_aac, encode_aac, encode_aac_in_time,
};
pub use conform::to_track_format;
pub use loudness::{PEAK_CEILING_DBTP, TARGET_LUFS, loudness_lufs, normalize, true_peak_dbtp};
pub use mix::{BED_UNDER_DB, mix_under};
pub use music::{MAX_BED_SECONDS, Mood, bed};

/// The sample rate of every track the renderer writes.
pub const SAMPLE_RATE: u32 = 48_000;
/// Stereo.
pub const CHANNELS: u16 = 2;

/// Interleaved PCM: `samples[frame * channels + channel]`, nominally within
/// −1.0..=1.0.
#[derive(Debug, Clone, PartialEq)]
pub struct Pcm {
    pub sample_rate: u32,
    pub channels: u16,
    pub samples: Vec<f32>,
}

impl Pcm {
    /// `frames` frames of digital silence.
    pub fn silence(sample_rate: u32, channels: u16, frames: usize) -> Pcm {
        Pcm {
            sample_rate,
            channels,
            samples: vec![0.0; frames * usize::from(channels)],
        }
    }

    /// Samples per channel.
    pub fn frames(&self) -> usize {
        match self.channels {
            0 => 0,
            c => self.samples.len() / usize::from(c),
        }
    }

    pub fn seconds(&self) -> f64 {
        if self.sample_rate == 0 {
            return 0.0;
        }
        self.frames() as f64 / f64::from(self.sample_rate)
    }

    /// RMS level over all channels in dBFS, where a full-scale square wave is
    /// 0 (a full-scale sine is −3); −∞ for silence or no samples.
    pub fn rms_dbfs(&self) -> f64 {
        if self.samples.is_empty() {
            return f64::NEG_INFINITY;
        }
        let energy: f64 = self
            .samples
            .iter()
            .map(|&s| f64::from(s) * f64::from(s))
            .sum();
        10.0 * (energy / self.samples.len() as f64).log10()
    }

    /// Highest absolute sample in dBFS (not the true, inter-sample peak: see
    /// [`true_peak_dbtp`]); −∞ for silence.
    pub fn peak_dbfs(&self) -> f64 {
        let peak = self.samples.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        20.0 * f64::from(peak).log10()
    }

    /// Drops the first `frames` frames, e.g. an AAC track's priming samples
    /// when there is no edit list to say otherwise.
    pub fn trim_start(&mut self, frames: usize) {
        let n = frames
            .saturating_mul(usize::from(self.channels))
            .min(self.samples.len());
        self.samples.drain(..n);
    }

    /// A copy of frames `start..start + len` (clamped to what there is).
    pub fn slice_frames(&self, start: usize, len: usize) -> Pcm {
        let ch = usize::from(self.channels);
        let from = start.saturating_mul(ch).min(self.samples.len());
        let to = start
            .saturating_add(len)
            .saturating_mul(ch)
            .min(self.samples.len());
        Pcm {
            sample_rate: self.sample_rate,
            channels: self.channels,
            samples: self.samples[from..to].to_vec(),
        }
    }
}

pub(crate) fn db_to_gain(db: f64) -> f64 {
    10f64.powf(db / 20.0)
}
