//! The renderer: every video Glimvid stores comes out of here, whoever made
//! its pictures. Over a slow camera move across the enhanced photo, a
//! generated gradient, or a video provider's clip, it lays the script's
//! captions and the end card, mixes the sound (a synthesised music bed,
//! under the provider's own audio when there is some), and writes an H.264
//! and AAC MP4 that starts playing before it has downloaded. No ffmpeg:
//! frames are composed on one thread (SIMD resize, pre-drawn text layers,
//! one RGB to YUV conversion) while OpenH264 encodes on another.

mod captions;
mod clip;
mod endcard;
mod h264;
mod motion;
mod mux;
mod shots;

use std::sync::mpsc::sync_channel;

use fast_image_resize::{FilterType, Resizer};
use image::RgbImage;
use openh264::formats::{RgbSliceU8, YUVBuffer};

use crate::audio::{self, Mood, Pcm};
use crate::enhance::canvas_size;
use crate::fonts::caption_fonts;
use crate::imaging::{cover_crop, encode_jpeg, resize_into};
use crate::script::{MIN_CAPTION_S, end_card_seconds, is_cjk, stable_hash};
use crate::{Aspect, MediaError, Script};
use captions::{Layer, Placement};
use clip::Clip;
pub use endcard::EndCard;
use h264::{EncodedFrame, H264Encoder};
use motion::{KenBurns, gradient};
use shots::{Shots, plan_shots};

/// The frame rate of videos made from a photo or from nothing; a
/// provider's clip keeps its own.
pub const FPS: u32 = 30;
pub use crate::options::{MAX_DURATION_S, MIN_DURATION_S};
/// Seconds over which a caption fades in or out.
const CAPTION_FADE_S: f64 = 0.17;
/// Seconds over which the end card fades in.
const CARD_FADE_S: f64 = 0.4;

/// What the pictures are made from.
#[derive(Clone, Copy)]
pub enum Background<'a> {
    /// The enhancer's canvas, under a slow camera move.
    Photo(&'a RgbImage),
    /// Nothing: a generated gradient (text-only videos).
    Generated,
    /// A video provider's MP4, captioned and carded in place; its audio is
    /// kept and the music goes under it.
    Clip(&'a [u8]),
    /// Several enhanced photos (in the shop's order), cut into shots: the
    /// hook, one shot per scene and the end card, each over photo
    /// `shot % photos` with a camera move of its own, joined by
    /// transitions. Each caption stays within its shot.
    ///
    /// With no photos (a text-only video), the shots without a clip move
    /// over the generated backdrop.
    ///
    /// `clips[k]`, where given, is a video provider's MP4 for shot `k`
    /// (see [`shot_plan`]): that shot shows the clip, resampled to the
    /// video's frame rate, instead of the camera move. A clip that can't be
    /// read leaves its shot to the camera move (see
    /// [`Rendered::clip_shots`]). A clip's own sound plays with its shot,
    /// over the music bed that spans the whole video.
    Shots {
        photos: &'a [RgbImage],
        clips: &'a [Option<&'a [u8]>],
    },
}

/// One shot of a multi-shot video as [`render`] will cut it: the caption
/// it carries (none for the end card) and how long it is on screen alone.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedShot<'a> {
    pub line: Option<&'a str>,
    pub seconds: f64,
}

/// The shots [`Background::Shots`] cuts a script into: the hook, each
/// scene that fits, then the end card. A video provider making a clip per
/// shot makes them for the shots with a line.
pub fn shot_plan(script: &Script, duration_s: u32) -> Vec<PlannedShot<'_>> {
    let timeline = Timeline::new(script, duration_s, FPS);
    let seconds = |(start, end): (u32, u32)| f64::from(end - start) / f64::from(FPS);
    timeline
        .captions
        .iter()
        .map(|c| PlannedShot {
            line: Some(c.text),
            seconds: seconds(c.span),
        })
        .chain(std::iter::once(PlannedShot {
            line: None,
            seconds: seconds((timeline.card_start, timeline.frames)),
        }))
        .collect()
}

pub struct RenderRequest<'a> {
    pub background: Background<'a>,
    pub script: &'a Script,
    pub aspect: Aspect,
    pub duration_s: u32,
    pub end_card: EndCard<'a>,
    /// The music bed, or none.
    pub music: Option<Mood>,
}

#[derive(Clone)]
pub struct Rendered {
    pub mp4: Vec<u8>,
    pub poster_jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub frames: u32,
    pub fps: u32,
    pub has_audio: bool,
    /// The frame each shot starts at (the first is 0): one entry for a
    /// single-shot video, hook + scenes + end card for [`Background::Shots`].
    pub shot_starts: Vec<u32>,
    /// The shots drawn from a provider's clip; every other shot is a
    /// camera move over a photo.
    pub clip_shots: Vec<usize>,
}

/// Where each frame's picture comes from.
enum Pictures<'a> {
    Camera {
        source: &'a RgbImage,
        camera: KenBurns,
    },
    Clip(Box<Clip<'a>>),
    Shots(Box<Shots<'a>>),
}

pub fn render(req: &RenderRequest) -> Result<Rendered, MediaError> {
    if !(MIN_DURATION_S..=MAX_DURATION_S).contains(&req.duration_s) {
        return Err(MediaError::InvalidDuration(req.duration_s));
    }
    req.script.validate()?;

    let (width, height) = req.aspect.video_size();
    let all = req.script.captions();
    let seed = stable_hash(&all.iter().map(|l| l.as_bytes()).collect::<Vec<_>>());

    let generated;
    let (mut pictures, placement, fps) = match req.background {
        Background::Photo(image) if image.width() >= 2 && image.height() >= 2 => (
            Pictures::Camera {
                source: image,
                camera: KenBurns::new(image.dimensions(), (width, height), seed),
            },
            Placement::Lower,
            FPS,
        ),
        Background::Shots { photos, clips }
            if photos.iter().all(|p| p.width() >= 2 && p.height() >= 2)
                && (!photos.is_empty() || clips.iter().any(Option::is_some)) =>
        {
            // A text-only video's shots without a clip move over the
            // generated backdrop.
            let photos = if photos.is_empty() {
                let (cw, ch) = canvas_size(req.aspect);
                generated = gradient(cw, ch, seed);
                std::slice::from_ref(&generated)
            } else {
                photos
            };
            // The plan follows the captions' timeline, made below.
            (
                Pictures::Shots(Box::new(Shots::new(photos, clips, (width, height)))),
                Placement::Lower,
                FPS,
            )
        }
        Background::Clip(mp4) => {
            let clip = Clip::open(mp4)?;
            let fps = clip.fps;
            (Pictures::Clip(Box::new(clip)), Placement::Lower, fps)
        }
        _ => {
            let (cw, ch) = canvas_size(req.aspect);
            generated = gradient(cw, ch, seed);
            (
                Pictures::Camera {
                    source: &generated,
                    camera: KenBurns::new((cw, ch), (width, height), seed),
                },
                Placement::Middle,
                FPS,
            )
        }
    };
    let frames = req.duration_s * fps;
    let timeline = Timeline::new(req.script, req.duration_s, fps);
    let shot_starts = match &mut pictures {
        Pictures::Shots(shots) => {
            shots.plan = plan_shots(&timeline, shots.photos, (width, height), fps, seed);
            shots.plan.iter().map(|s| s.start).collect()
        }
        _ => vec![0],
    };

    let font = caption_fonts()?;
    let last = timeline.captions.len().saturating_sub(1);
    let layers: Vec<Layer> = timeline
        .captions
        .iter()
        .enumerate()
        .map(|(i, c)| captions::caption(font, c.text, req.aspect, i == 0 || i == last, placement))
        .collect();
    let card = endcard::layer(font, &req.end_card, req.aspect);
    // The poster is the opening shot with its hook, once faded in: what a
    // feed shows before anyone presses play.
    let poster_index = timeline
        .captions
        .first()
        .map_or(0, |c| (c.span.0 + c.span.1) / 2);

    // Moved out before the pictures go to the composer: the sound is made
    // on its own thread.
    let clip_audio: Vec<PlacedAudio> = match &mut pictures {
        Pictures::Clip(clip) => clip
            .audio
            .take()
            .map(|audio| PlacedAudio {
                audio,
                at: 0.0,
                seconds: f64::from(req.duration_s),
            })
            .into_iter()
            .collect(),
        Pictures::Shots(shots) => shots.take_audio(fps),
        Pictures::Camera { .. } => Vec::new(),
    };

    let (samples, composed, parameter_sets, sound) = std::thread::scope(|scope| {
        // The sound is made while the pictures are; it is small work.
        let sound = scope.spawn(move || soundtrack(req.music, clip_audio, req.duration_s, seed));
        // A small queue is enough to keep both cores busy without holding
        // many 1.4 MB frames in memory.
        let (frames_out, frames_in) = sync_channel::<YUVBuffer>(4);
        let composer = scope.spawn(move || -> Result<Composed, MediaError> {
            let mut pictures = pictures;
            let mut resizer = Resizer::new();
            let mut frame = RgbImage::new(width, height);
            let mut held = RgbImage::new(width, height);
            let mut poster = None;
            for i in 0..frames {
                match &mut pictures {
                    Pictures::Camera { source, camera } => {
                        let (sw, sh) = (f64::from(source.width()), f64::from(source.height()));
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
                    }
                    Pictures::Clip(clip) => {
                        // A clip shorter than the video holds its last
                        // picture under the end card.
                        if let Some((w, h, rgb)) = clip.next_frame()? {
                            let picture =
                                RgbImage::from_raw(w as u32, h as u32, rgb).ok_or_else(|| {
                                    MediaError::BadClip("a picture has the wrong size".into())
                                })?;
                            let crop = cover_crop(
                                w as u32,
                                h as u32,
                                f64::from(width) / f64::from(height),
                            );
                            resize_into(
                                &mut resizer,
                                &picture,
                                Some(crop),
                                &mut held,
                                FilterType::Bilinear,
                            )?;
                        } else if i == 0 {
                            return Err(MediaError::BadClip("it has no pictures".into()));
                        }
                        frame.copy_from_slice(held.as_raw());
                    }
                    Pictures::Shots(shots) => {
                        shots.compose(i, fps, &mut resizer, &mut frame)?;
                    }
                }
                if let Some((index, opacity)) = timeline.caption_at(i) {
                    layers[index].blend_onto(&mut frame, opacity);
                }
                if let Some(opacity) = timeline.card_at(i) {
                    card.blend_onto(&mut frame, opacity);
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
            let clip_shots = match &pictures {
                Pictures::Shots(shots) => shots.clip_shots(),
                _ => Vec::new(),
            };
            Ok((poster, clip_shots))
        });

        let encoded = encode_all(frames_in, width, height, fps);
        let composed = composer
            .join()
            .map_err(|_| MediaError::Encode("frame composer panicked".into()))??;
        let sound = sound
            .join()
            .map_err(|_| MediaError::Encode("the soundtrack panicked".into()))??;
        let (samples, sps, pps) = encoded?;
        Ok::<_, MediaError>((samples, composed, (sps, pps), sound))
    })?;
    let (poster, clip_shots) = composed;

    let (sps, pps) = parameter_sets;
    let aac = sound.as_ref();
    let mp4 = mux::mux(
        &mux::VideoTrack {
            width,
            height,
            fps,
            sps: &sps,
            pps: &pps,
        },
        &samples,
        aac.map(|a| mux::AudioTrack {
            sample_rate: a.sample_rate,
            channels: a.channels,
            bitrate: a.bitrate,
            frames: &a.frames,
        })
        .as_ref(),
    )?;
    let poster = poster.ok_or_else(|| MediaError::Encode("no poster frame was composed".into()))?;
    Ok(Rendered {
        mp4,
        poster_jpeg: encode_jpeg(&poster, 85)?,
        width,
        height,
        frames: samples.iter().map(|(_, n)| n).sum(),
        fps,
        has_audio: sound.is_some(),
        shot_starts,
        clip_shots,
    })
}

/// Every picture of an MP4's H.264 track in display order, and its frame
/// rate: how tests and tools look at what was stored.
pub fn decode_video(mp4: &[u8]) -> Result<(u32, Vec<RgbImage>), MediaError> {
    let mut clip = Clip::open(mp4)?;
    let mut pictures = Vec::new();
    while let Some((w, h, rgb)) = clip.next_frame()? {
        pictures.push(
            RgbImage::from_raw(w as u32, h as u32, rgb)
                .ok_or_else(|| MediaError::BadClip("a picture has the wrong size".into()))?,
        );
    }
    Ok((clip.fps, pictures))
}

/// An MP4's AAC track decoded (48 kHz stereo), or None when it has none.
pub fn decode_audio(mp4: &[u8]) -> Result<Option<Pcm>, MediaError> {
    let Some(track) = clip::read_audio_of(mp4)? else {
        return Ok(None);
    };
    let frames: Vec<&[u8]> = track.frames.iter().map(Vec::as_slice).collect();
    audio::decode_aac(&track.audio_specific_config, &frames).map(Some)
}

/// What the frame composer hands back: the poster frame and the shots
/// that showed a provider's clip.
type Composed = (Option<RgbImage>, Vec<usize>);

/// A provider clip's sound and where it plays in the video: from `at`
/// seconds, for at most `seconds`.
pub(crate) struct PlacedAudio {
    pub(crate) audio: clip::ClipAudio,
    pub(crate) at: f64,
    pub(crate) seconds: f64,
}

/// How long a placed sound fades in and out, so a shot's sound starts and
/// stops without a click.
const PLACED_FADE_S: f64 = 0.05;

/// The providers' sound as one track of the video's length: a lone clip's
/// as it is, shots' each at its shot. A track that can't be decoded is
/// dropped, not fatal: the bed still plays. None when there is none.
fn provider_sound(placed: Vec<PlacedAudio>, seconds: f64) -> Option<Pcm> {
    let decoded: Vec<(f64, f64, Pcm)> = placed
        .into_iter()
        .filter_map(|p| {
            let refs: Vec<&[u8]> = p.audio.frames.iter().map(Vec::as_slice).collect();
            let pcm = audio::decode_aac(&p.audio.audio_specific_config, &refs).ok()?;
            Some((p.at, p.seconds, pcm))
        })
        .collect();
    if let [(at, _, _)] = decoded.as_slice()
        && *at == 0.0
    {
        return decoded.into_iter().next().map(|(_, _, pcm)| pcm);
    }
    let mut track: Option<Pcm> = None;
    for (at, length, pcm) in decoded {
        let Ok(pcm) = audio::to_track_format(&pcm) else {
            continue;
        };
        let rate = f64::from(pcm.sample_rate);
        let ch = usize::from(pcm.channels);
        let out = track.get_or_insert_with(|| {
            Pcm::silence(pcm.sample_rate, pcm.channels, (seconds * rate) as usize)
        });
        let start = (at * rate) as usize;
        let frames = ((length * rate) as usize)
            .min(pcm.frames())
            .min(out.frames().saturating_sub(start));
        let fade = ((PLACED_FADE_S * rate) as usize).clamp(1, frames.max(2) / 2);
        for i in 0..frames {
            let gain = (i.min(frames - 1 - i) as f32 / fade as f32).min(1.0);
            for c in 0..ch {
                out.samples[(start + i) * ch + c] += pcm.samples[i * ch + c] * gain;
            }
        }
    }
    track
}

/// The video's sound, AAC-encoded: the provider's audio with the bed under
/// it, the bed alone, the provider's audio alone, or nothing at all.
fn soundtrack(
    music: Option<Mood>,
    clip_audio: Vec<PlacedAudio>,
    duration_s: u32,
    seed: u64,
) -> Result<Option<audio::AacTrack>, MediaError> {
    let seconds = f64::from(duration_s);
    let provided = provider_sound(clip_audio, seconds);
    let bed = music.map(|mood| audio::bed(mood, seconds, seed));
    // The bed and the mix come normalised; the provider's sound alone is
    // brought to the same loudness.
    let pcm = match (provided, bed) {
        (Some(voice), Some(bed)) => audio::mix_under(&voice, &bed),
        (None, Some(bed)) => bed,
        (Some(voice), None) => {
            let mut voice =
                voice.slice_frames(0, (seconds * f64::from(voice.sample_rate)) as usize);
            audio::normalize(&mut voice, audio::TARGET_LUFS);
            voice
        }
        (None, None) => return Ok(None),
    };
    audio::encode_aac_in_time(&pcm, audio::DEFAULT_BITRATE).map(Some)
}

type EncodedStream = (Vec<(EncodedFrame, u32)>, Vec<u8>, Vec<u8>);

fn encode_all(
    frames: std::sync::mpsc::Receiver<YUVBuffer>,
    width: u32,
    height: u32,
    fps: u32,
) -> Result<EncodedStream, MediaError> {
    let mut encoder = H264Encoder::new(width, height, fps)?;
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

struct Caption<'a> {
    text: &'a str,
    /// First frame and end frame.
    span: (u32, u32),
}

/// When each caption is on screen, then the end card: hook and scenes in
/// order, each at least [`MIN_CAPTION_S`] and given the time left over in
/// proportion to how long it takes to read; the call to action is on the
/// end card. Scenes that don't fit at that pace are left out.
struct Timeline<'a> {
    captions: Vec<Caption<'a>>,
    card_start: u32,
    frames: u32,
    fps: u32,
}

impl<'a> Timeline<'a> {
    fn new(script: &'a Script, duration_s: u32, fps: u32) -> Timeline<'a> {
        let frames = duration_s * fps;
        let card_start = frames - (end_card_seconds(duration_s) * f64::from(fps)).round() as u32;
        let min = (MIN_CAPTION_S * f64::from(fps)).round() as u32;
        let fit = (card_start / min.max(1)).max(1) as usize;
        let texts: Vec<&str> = std::iter::once(script.hook.as_str())
            .chain(script.scenes.iter().map(String::as_str))
            .take(fit)
            .collect();
        // CJK characters carry about a word each, so they count double.
        let weights: Vec<f64> = texts
            .iter()
            .map(|l| {
                let size: usize = l.chars().map(|c| if is_cjk(c) { 2 } else { 1 }).sum();
                12.0 + size.min(120) as f64
            })
            .collect();
        let total: f64 = weights.iter().sum();
        let floor = min.min(card_start / texts.len() as u32);
        let spare = f64::from(card_start - floor * texts.len() as u32);
        let mut captions = Vec::with_capacity(texts.len());
        let (mut start, mut acc) = (0, 0.0);
        for (i, (text, w)) in texts.iter().zip(&weights).enumerate() {
            acc += w;
            let end = if i + 1 == texts.len() {
                card_start
            } else {
                floor * (i as u32 + 1) + (acc / total * spare).round() as u32
            };
            captions.push(Caption {
                text,
                span: (start, end.max(start)),
            });
            start = end.max(start);
        }
        Timeline {
            captions,
            card_start,
            frames,
            fps,
        }
    }

    fn frames(&self) -> u32 {
        self.frames
    }

    /// The caption showing at `frame` and its opacity out of 256.
    fn caption_at(&self, frame: u32) -> Option<(usize, u32)> {
        let index = self
            .captions
            .iter()
            .position(|c| frame >= c.span.0 && frame < c.span.1)?;
        let (start, end) = self.captions[index].span;
        let fade = ((CAPTION_FADE_S * f64::from(self.fps)).round() as u32).max(1);
        let fade_in = ((frame - start + 1) * 256 / fade).min(256);
        let fade_out = ((end - frame) * 256 / fade).min(256);
        Some((index, fade_in.min(fade_out)))
    }

    /// The end card's opacity out of 256 at `frame`, once it shows.
    fn card_at(&self, frame: u32) -> Option<u32> {
        let since = frame.checked_sub(self.card_start)?;
        let fade = ((CARD_FADE_S * f64::from(self.fps)).round() as u32).max(1);
        Some(((since + 1) * 256 / fade).min(256))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(scenes: usize) -> Script {
        Script {
            hook: "Meet the mug.".into(),
            scenes: [
                "Hand glazed.",
                "Keeps coffee hot for hours.",
                "Dishwasher safe.",
                "Holds 350 ml.",
                "Made in Portugal.",
            ][..scenes]
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            call_to_action: "Get yours.".into(),
        }
    }

    #[test]
    fn captions_cover_the_video_up_to_the_card_in_order() {
        for (duration, fps) in [(5, 30), (10, 30), (5, 24), (10, 24)] {
            let script = script(5);
            let timeline = Timeline::new(&script, duration, fps);
            let frames = duration * fps;
            let mut previous = 0;
            for frame in 0..timeline.card_start {
                let (index, _) = timeline
                    .caption_at(frame)
                    .expect("a caption on every frame");
                assert!(index >= previous);
                previous = index;
                assert!(timeline.card_at(frame).is_none());
            }
            for frame in timeline.card_start..frames {
                assert!(timeline.caption_at(frame).is_none());
                assert!(timeline.card_at(frame).is_some());
            }
            assert_eq!(timeline.card_at(frames - 1), Some(256));
        }
    }

    #[test]
    fn every_caption_stays_up_a_second_and_a_half() {
        for duration in [5, 10] {
            for scenes in 1..=5 {
                let script = script(scenes);
                let timeline = Timeline::new(&script, duration, FPS);
                for c in &timeline.captions {
                    let shown = f64::from(c.span.1 - c.span.0) / f64::from(FPS);
                    assert!(
                        shown >= MIN_CAPTION_S - 1e-9,
                        "{duration}s/{scenes}: {:?} {shown:.2}s",
                        c.text
                    );
                }
                let fit = 1 + crate::script::scene_count(duration);
                assert_eq!(
                    timeline.captions.len(),
                    (1 + scenes).min(fit),
                    "{duration}s/{scenes}"
                );
            }
        }
    }
}
