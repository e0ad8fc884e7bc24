//! The offline renderer: a captioned, slowly moving H.264/MP4 video made in
//! process, with no ffmpeg. Frames are composed on one thread (SIMD resize
//! for the camera move, pre-rasterised caption strips, one RGB to YUV
//! conversion) while OpenH264 encodes on another.

mod captions;
mod h264;
mod motion;
mod mux;

use std::sync::mpsc::sync_channel;

use fast_image_resize::{FilterType, Resizer};
use image::RgbImage;
use openh264::formats::{RgbSliceU8, YUVBuffer};

use crate::enhance::canvas_size;
use crate::fonts::caption_fonts;
use crate::imaging::{encode_jpeg, resize_into};
use crate::script::{is_cjk, stable_hash};
use crate::{Aspect, MediaError, Script};
use captions::{CaptionStrip, Placement};
use h264::{EncodedFrame, H264Encoder};
use motion::{KenBurns, gradient};

pub const FPS: u32 = 30;
pub use crate::options::{MAX_DURATION_S, MIN_DURATION_S};
/// Frames over which a caption fades in or out.
const FADE_FRAMES: u32 = 5;

#[derive(Clone)]
pub struct Rendered {
    pub mp4: Vec<u8>,
    pub poster_jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub frames: u32,
}

/// Renders `script` as captions over a Ken Burns move across `background`
/// (the enhancer's canvas), or over a generated gradient when there is none.
pub fn render(
    background: Option<&RgbImage>,
    script: &Script,
    aspect: Aspect,
    duration_s: u32,
) -> Result<Rendered, MediaError> {
    if !(MIN_DURATION_S..=MAX_DURATION_S).contains(&duration_s) {
        return Err(MediaError::InvalidDuration(duration_s));
    }
    script.validate()?;

    let (width, height) = aspect.video_size();
    let frames = duration_s * FPS;
    let lines = script.captions();
    let seed = stable_hash(&lines.iter().map(|l| l.as_bytes()).collect::<Vec<_>>());

    let generated;
    let (source, placement) = match background {
        Some(image) if image.width() >= 2 && image.height() >= 2 => (image, Placement::Lower),
        _ => {
            let (cw, ch) = canvas_size(aspect);
            generated = gradient(cw, ch, seed);
            (&generated, Placement::Middle)
        }
    };

    let font = caption_fonts()?;
    let last = lines.len() - 1;
    let strips: Vec<CaptionStrip> = lines
        .iter()
        .enumerate()
        .map(|(i, text)| CaptionStrip::new(font, text, aspect, i == 0 || i == last, placement))
        .collect();
    let timeline = Timeline::new(&lines, frames);
    let camera = KenBurns::new(source.dimensions(), (width, height), seed);
    let poster_index = frames / 3;

    let (samples, poster, parameter_sets) = std::thread::scope(|scope| {
        // A small queue is enough to keep both cores busy without holding
        // many 1.4 MB frames in memory.
        let (frames_out, frames_in) = sync_channel::<YUVBuffer>(4);
        let composer = scope.spawn(move || -> Result<Option<RgbImage>, MediaError> {
            let mut resizer = Resizer::new();
            let mut frame = RgbImage::new(width, height);
            let mut poster = None;
            let (sw, sh) = (f64::from(source.width()), f64::from(source.height()));
            for i in 0..frames {
                let t = f64::from(i) / f64::from((frames - 1).max(1));
                let (x, y, w, h) = camera.crop_at(t);
                let (w, h) = (w.min(sw), h.min(sh));
                let crop = (x.clamp(0.0, sw - w), y.clamp(0.0, sh - h), w, h);
                resize_into(
                    &mut resizer,
                    source,
                    Some(crop),
                    &mut frame,
                    FilterType::Bilinear,
                )?;
                if let Some((index, opacity)) = timeline.caption_at(i) {
                    strips[index].blend_onto(&mut frame, opacity);
                }
                if i == poster_index {
                    poster = Some(frame.clone());
                }
                let mut yuv = YUVBuffer::new(width as usize, height as usize);
                yuv.read_rgb8(RgbSliceU8::new(
                    frame.as_raw(),
                    (width as usize, height as usize),
                ));
                if frames_out.send(yuv).is_err() {
                    // The encoder stopped; it reports why.
                    break;
                }
            }
            Ok(poster)
        });

        let encoded = encode_all(frames_in, width, height);
        let poster = composer
            .join()
            .map_err(|_| MediaError::Encode("frame composer panicked".into()))??;
        let (samples, sps, pps) = encoded?;
        Ok::<_, MediaError>((samples, poster, (sps, pps)))
    })?;

    let (sps, pps) = parameter_sets;
    let mp4 = mux::mux(
        &mux::VideoTrack {
            width,
            height,
            fps: FPS,
            sps: &sps,
            pps: &pps,
        },
        &samples,
    )?;
    let poster = poster.ok_or_else(|| MediaError::Encode("no poster frame was composed".into()))?;
    Ok(Rendered {
        mp4,
        poster_jpeg: encode_jpeg(&poster, 85)?,
        width,
        height,
        frames: samples.iter().map(|(_, n)| n).sum(),
    })
}

type EncodedStream = (Vec<(EncodedFrame, u32)>, Vec<u8>, Vec<u8>);

fn encode_all(
    frames: std::sync::mpsc::Receiver<YUVBuffer>,
    width: u32,
    height: u32,
) -> Result<EncodedStream, MediaError> {
    let mut encoder = H264Encoder::new(width, height, FPS)?;
    let mut samples: Vec<(EncodedFrame, u32)> = Vec::new();
    let mut dropped_before_first = 0;
    for yuv in frames {
        match encoder.encode(&yuv)? {
            Some(frame) => samples.push((frame, 1)),
            // Should the encoder ever drop a frame, the previous picture is
            // held for longer, so the video keeps its exact duration.
            None => match samples.last_mut() {
                Some((_, length)) => *length += 1,
                None => dropped_before_first += 1,
            },
        }
    }
    match samples.first_mut() {
        Some((first, length)) if first.is_idr => *length += dropped_before_first,
        _ => {
            return Err(MediaError::Encode(
                "the stream does not start with a keyframe".into(),
            ));
        }
    }
    let (sps, pps) = encoder
        .parameter_sets()
        .ok_or_else(|| MediaError::Encode("the encoder produced no SPS/PPS".into()))?;
    let (sps, pps) = (sps.to_vec(), pps.to_vec());
    Ok((samples, sps, pps))
}

/// When each caption is on screen: hook, scenes, call to action in order,
/// each given time in proportion to how long it takes to read.
struct Timeline {
    /// (first frame, end frame) per caption.
    spans: Vec<(u32, u32)>,
}

impl Timeline {
    fn new(lines: &[&str], frames: u32) -> Timeline {
        // CJK characters carry about a word each, so they count double.
        let weights: Vec<f64> = lines
            .iter()
            .map(|l| {
                let size: usize = l.chars().map(|c| if is_cjk(c) { 2 } else { 1 }).sum();
                12.0 + size.min(120) as f64
            })
            .collect();
        let total: f64 = weights.iter().sum();
        let mut spans = Vec::with_capacity(lines.len());
        let mut acc = 0.0;
        let mut start = 0;
        for w in &weights {
            acc += w;
            let end = ((acc / total) * f64::from(frames)).round() as u32;
            spans.push((start, end.max(start)));
            start = end.max(start);
        }
        if let Some(last) = spans.last_mut() {
            last.1 = frames;
        }
        Timeline { spans }
    }

    /// The caption showing at `frame` and its opacity out of 256.
    fn caption_at(&self, frame: u32) -> Option<(usize, u32)> {
        let index = self
            .spans
            .iter()
            .position(|&(s, e)| frame >= s && frame < e)?;
        let (start, end) = self.spans[index];
        let fade_in = ((frame - start + 1) * 256 / FADE_FRAMES).min(256);
        // The call to action stays up to the last frame.
        let fade_out = if index + 1 == self.spans.len() {
            256
        } else {
            ((end - frame) * 256 / FADE_FRAMES).min(256)
        };
        Some((index, fade_in.min(fade_out)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeline_covers_every_frame_in_order() {
        let lines = [
            "Meet the mug.",
            "Hand glazed.",
            "Keeps coffee hot for hours.",
            "Dishwasher safe.",
            "Get yours.",
        ];
        let timeline = Timeline::new(&lines, 150);
        let mut previous = 0;
        for frame in 0..150 {
            let (index, _) = timeline
                .caption_at(frame)
                .expect("a caption on every frame");
            assert!(index >= previous);
            previous = index;
        }
        assert_eq!(previous, 4);
        assert_eq!(timeline.caption_at(149).map(|c| c.1), Some(256));
    }
}
