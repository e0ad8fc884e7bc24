//! A video provider's clip, read back so it can be captioned like any other
//! video: the MP4 demuxed with the `mp4` crate, the H.264 decoded with
//! OpenH264 (which reads the Main and High profile streams providers send:
//! CABAC, B-slices, 8x8 transforms), the AAC kept as access units.
//!
//! The bytes come from a provider: every size and count is checked before
//! it is trusted, and a damaged picture is skipped, not fatal.

use std::collections::VecDeque;
use std::io::Cursor;

use mp4::{Mp4Reader, TrackType};
use openh264::OpenH264API;
use openh264::decoder::{DecodeOptions, Decoder, DecoderConfig, Flush};
use openh264::formats::YUVSource;

use crate::MediaError;

/// Largest picture accepted (OpenH264's own limit).
const MAX_SIDE: usize = 3840;
/// A provider clip longer than this is not a product clip.
const MAX_SAMPLES: u32 = 60 * 60;
/// Frame rates the output can keep exactly (they divide the track
/// timescale); others are taken to the nearest.
const RATES: [u32; 5] = [24, 25, 30, 48, 60];

/// The clip's sound: AAC-LC access units and the decoder configuration.
pub(crate) struct ClipAudio {
    pub(crate) audio_specific_config: Vec<u8>,
    pub(crate) frames: Vec<Vec<u8>>,
}

pub(crate) struct Clip<'a> {
    reader: Mp4Reader<Cursor<&'a [u8]>>,
    track: u32,
    samples: u32,
    next_sample: u32,
    length_size: usize,
    parameter_sets: Vec<u8>,
    decoder: Decoder,
    ready: VecDeque<(usize, usize, Vec<u8>)>,
    flushed: bool,
    decoded: u32,
    pub(crate) fps: u32,
    pub(crate) audio: Option<ClipAudio>,
}

fn bad(what: &str) -> MediaError {
    MediaError::BadClip(what.to_owned())
}

impl<'a> Clip<'a> {
    pub(crate) fn open(mp4: &'a [u8]) -> Result<Clip<'a>, MediaError> {
        let mut reader = Mp4Reader::read_header(Cursor::new(mp4), mp4.len() as u64)
            .map_err(|_| bad("it is not a readable MP4"))?;
        let video = reader
            .tracks()
            .values()
            .find(|t| {
                t.track_type().ok() == Some(TrackType::Video)
                    && t.trak.mdia.minf.stbl.stsd.avc1.is_some()
            })
            .ok_or_else(|| bad("it has no H.264 video track"))?;
        let track = video.track_id();
        let samples = video.sample_count();
        if samples == 0 || samples > MAX_SAMPLES {
            return Err(bad("its video track is empty or far too long"));
        }
        let fps = nearest_rate(video.frame_rate());
        let avcc = &video
            .trak
            .mdia
            .minf
            .stbl
            .stsd
            .avc1
            .as_ref()
            .ok_or_else(|| bad("it has no H.264 configuration"))?
            .avcc;
        let length_size = usize::from(avcc.length_size_minus_one & 3) + 1;
        let mut parameter_sets = Vec::new();
        for nal in avcc
            .sequence_parameter_sets
            .iter()
            .chain(&avcc.picture_parameter_sets)
        {
            parameter_sets.extend_from_slice(&[0, 0, 0, 1]);
            parameter_sets.extend_from_slice(&nal.bytes);
        }
        let audio = read_audio(&mut reader)?;
        let decoder = Decoder::with_api_config(
            OpenH264API::from_source(),
            DecoderConfig::new().flush_after_decode(Flush::NoFlush),
        )
        .map_err(|e| MediaError::Encode(format!("decoder: {e}")))?;
        Ok(Clip {
            reader,
            track,
            samples,
            next_sample: 1,
            length_size,
            parameter_sets,
            decoder,
            ready: VecDeque::new(),
            flushed: false,
            decoded: 0,
            fps,
            audio,
        })
    }

    /// The next picture in display order as packed RGB with its size, or
    /// None at the end.
    pub(crate) fn next_frame(&mut self) -> Result<Option<(usize, usize, Vec<u8>)>, MediaError> {
        loop {
            if let Some(frame) = self.ready.pop_front() {
                self.decoded += 1;
                return Ok(Some(frame));
            }
            if self.next_sample > self.samples {
                if self.flushed {
                    if self.decoded == 0 {
                        return Err(bad("none of its pictures could be decoded"));
                    }
                    return Ok(None);
                }
                self.flushed = true;
                let frames = self
                    .decoder
                    .flush_remaining()
                    .map_err(|_| bad("its last pictures could not be decoded"))?;
                for yuv in frames {
                    if let Some(rgb) = to_rgb(&yuv) {
                        self.ready.push_back(rgb);
                    }
                }
                continue;
            }
            let id = self.next_sample;
            self.next_sample += 1;
            let Ok(Some(sample)) = self.reader.read_sample(self.track, id) else {
                continue;
            };
            let mut annex_b =
                Vec::with_capacity(sample.bytes.len() + self.parameter_sets.len() + 16);
            if id == 1 {
                annex_b.extend_from_slice(&self.parameter_sets);
            }
            if !avcc_to_annex_b(&sample.bytes, self.length_size, &mut annex_b) {
                continue;
            }
            // A picture the decoder can't read is dropped; the next one
            // (or the held frame) takes its place.
            let options = DecodeOptions::new().flush_after_decode(Flush::NoFlush);
            if let Ok(Some(yuv)) = self.decoder.decode_with_options(&annex_b, options)
                && let Some(rgb) = to_rgb(&yuv)
            {
                self.ready.push_back(rgb);
            }
        }
    }
}

fn to_rgb(yuv: &impl YUVSource) -> Option<(usize, usize, Vec<u8>)> {
    let (w, h) = yuv.dimensions();
    if w < 2 || h < 2 || w > MAX_SIDE || h > MAX_SIDE {
        return None;
    }
    let (ys, us, vs) = yuv.strides();
    let chroma_rows = h.div_ceil(2);
    if ys < w
        || us < w.div_ceil(2)
        || vs != us
        || yuv.y().len() < ys * h
        || yuv.u().len() < us * chroma_rows
        || yuv.v().len() < us * chroma_rows
    {
        return None;
    }
    let mut rgb = vec![0u8; w * h * 3];
    yuv_to_rgb(yuv, &mut rgb);
    Some((w, h, rgb))
}

/// BT.601 limited range, what OpenH264 and our encoder both assume.
fn yuv_to_rgb(yuv: &impl YUVSource, rgb: &mut [u8]) {
    let (w, h) = yuv.dimensions();
    let (ys, us, _) = yuv.strides();
    let (y_plane, u_plane, v_plane) = (yuv.y(), yuv.u(), yuv.v());
    for row in 0..h {
        let out = &mut rgb[row * w * 3..(row + 1) * w * 3];
        let y_row = &y_plane[row * ys..];
        let u_row = &u_plane[(row / 2) * us..];
        let v_row = &v_plane[(row / 2) * us..];
        for x in 0..w {
            let y = (i32::from(y_row[x]) - 16) * 298;
            let u = i32::from(u_row[x / 2]) - 128;
            let v = i32::from(v_row[x / 2]) - 128;
            let px = &mut out[x * 3..x * 3 + 3];
            px[0] = ((y + 409 * v + 128) >> 8).clamp(0, 255) as u8;
            px[1] = ((y - 100 * u - 208 * v + 128) >> 8).clamp(0, 255) as u8;
            px[2] = ((y + 516 * u + 128) >> 8).clamp(0, 255) as u8;
        }
    }
}

/// Length-prefixed NAL units to start-code-prefixed ones; false when the
/// lengths don't add up.
fn avcc_to_annex_b(sample: &[u8], length_size: usize, out: &mut Vec<u8>) -> bool {
    let mut rest = sample;
    while !rest.is_empty() {
        if rest.len() < length_size {
            return false;
        }
        let len = rest[..length_size]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        rest = &rest[length_size..];
        if len == 0 || len > rest.len() {
            return false;
        }
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(&rest[..len]);
        rest = &rest[len..];
    }
    true
}

fn nearest_rate(fps: f64) -> u32 {
    RATES
        .into_iter()
        .min_by(|a, b| {
            (f64::from(*a) - fps)
                .abs()
                .total_cmp(&(f64::from(*b) - fps).abs())
        })
        .unwrap_or(24)
}

/// The AAC track of any MP4, on its own.
pub(crate) fn read_audio_of(mp4: &[u8]) -> Result<Option<ClipAudio>, MediaError> {
    let mut reader = Mp4Reader::read_header(Cursor::new(mp4), mp4.len() as u64)
        .map_err(|_| bad("it is not a readable MP4"))?;
    read_audio(&mut reader)
}

/// The first AAC track's access units and its AudioSpecificConfig, rebuilt
/// from the sample entry (the `mp4` crate parses the descriptor into fields).
fn read_audio(reader: &mut Mp4Reader<Cursor<&[u8]>>) -> Result<Option<ClipAudio>, MediaError> {
    let Some(track) = reader.tracks().values().find(|t| {
        t.track_type().ok() == Some(TrackType::Audio) && t.trak.mdia.minf.stbl.stsd.mp4a.is_some()
    }) else {
        return Ok(None);
    };
    let (Ok(profile), Ok(freq), Ok(channels)) = (
        track.audio_profile(),
        track.sample_freq_index(),
        track.channel_config(),
    ) else {
        return Ok(None);
    };
    let id = track.track_id();
    let count = track.sample_count().min(MAX_SAMPLES * 50);
    let (object, freq, channels) = (profile as u8, freq as u8, channels as u8);
    let audio_specific_config = vec![
        (object << 3) | (freq >> 1),
        ((freq & 1) << 7) | (channels << 3),
    ];
    let mut frames = Vec::with_capacity(count as usize);
    for sample in 1..=count {
        if let Ok(Some(s)) = reader.read_sample(id, sample) {
            frames.push(s.bytes.to_vec());
        }
    }
    Ok((!frames.is_empty()).then_some(ClipAudio {
        audio_specific_config,
        frames,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_prefixes_become_start_codes() {
        let mut out = Vec::new();
        assert!(avcc_to_annex_b(
            &[0, 0, 0, 2, 0x65, 1, 0, 0, 0, 1, 0x41],
            4,
            &mut out
        ));
        assert_eq!(out, [0, 0, 0, 1, 0x65, 1, 0, 0, 0, 1, 0x41]);
        assert!(!avcc_to_annex_b(&[0, 0, 0, 9, 0x65], 4, &mut Vec::new()));
    }

    #[test]
    fn rates_snap_to_exact_ones() {
        assert_eq!(nearest_rate(23.976), 24);
        assert_eq!(nearest_rate(29.97), 30);
        assert_eq!(nearest_rate(0.0), 24);
    }

    #[test]
    fn garbage_is_refused() {
        assert!(Clip::open(b"not an mp4 at all").is_err());
    }
}
