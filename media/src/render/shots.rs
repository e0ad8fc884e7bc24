//! A video of several shots: the hook, one shot per scene and the end
//! card, each a camera move of its own over one of the shop's photos, cut
//! together with crossfades and slides. A shot spans exactly its caption's
//! time, so every caption stays over its own picture.

use fast_image_resize::{FilterType, Resizer};
use image::RgbImage;

use super::Timeline;
use super::clip::Clip;
use super::motion::KenBurns;
use crate::MediaError;
use crate::imaging::{cover_crop, resize_into};
use crate::script::mix;

/// How long a transition takes: long enough to read as a move, short
/// enough to keep a 1.5 s shot mostly still.
const TRANSITION_S: f64 = 0.4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transition {
    /// The next shot fades in over this one.
    Crossfade,
    /// The next shot pushes this one out to the left.
    Slide,
}

pub(crate) struct Shot {
    /// First frame that is this shot alone; the transition into it runs
    /// over the `transition` frames before.
    pub(crate) start: u32,
    pub(crate) end: u32,
    photo: usize,
    camera: KenBurns,
    /// How the cut into this shot looks (unused for the first shot).
    into: Transition,
    /// Frames of the transition into this shot (0 for the first).
    transition: u32,
}

impl Shot {
    /// The camera's progress at `frame`, over everything the shot shows
    /// (its transition in included), so it never stands still.
    fn progress(&self, frame: u32) -> f64 {
        let first = self.start - self.transition;
        let span = (self.end - first).saturating_sub(1).max(1);
        f64::from(frame.saturating_sub(first)) / f64::from(span)
    }
}

/// One shot per caption (hook, then the scenes that fit) and one for the
/// end card. Shot `k` is over photo `k % photos`, so neighbouring shots
/// show different photos whenever there are two or more; transitions
/// alternate, starting from a seed-chosen one.
pub(crate) fn plan_shots(
    timeline: &Timeline,
    photos: &[RgbImage],
    video: (u32, u32),
    fps: u32,
    seed: u64,
) -> Vec<Shot> {
    let frames = timeline.frames();
    let mut spans: Vec<(u32, u32)> = timeline.captions.iter().map(|c| c.span).collect();
    spans.push((timeline.card_start, frames));
    spans.retain(|(start, end)| end > start);
    let wanted = ((TRANSITION_S * f64::from(fps)).round() as u32).max(1);
    let first_kind = mix(seed, 31).is_multiple_of(2);
    spans
        .iter()
        .enumerate()
        .map(|(k, &(start, end))| {
            let photo = k % photos.len().max(1);
            let previous = k.checked_sub(1).map(|p| spans[p].1 - spans[p].0);
            // A third of the shorter shot at most, so each still has its
            // own moment alone on screen.
            let transition = previous.map_or(0, |len| wanted.min(len.min(end - start) / 3));
            Shot {
                start,
                end,
                photo,
                camera: KenBurns::new(photos[photo].dimensions(), video, mix(seed, 100 + k as u64)),
                into: if (k % 2 == 0) == first_kind {
                    Transition::Crossfade
                } else {
                    Transition::Slide
                },
                transition,
            }
        })
        .collect()
}

/// A provider's clip playing as one shot: decoded as the shot goes, the
/// latest picture held.
struct ClipShot<'a> {
    clip: Clip<'a>,
    picture: Option<RgbImage>,
    decoded: u32,
    ended: bool,
}

impl ClipShot<'_> {
    /// The clip's picture `at` seconds in (the last one once it ends);
    /// None when it has not yielded a picture at all.
    fn picture_at(&mut self, at: f64) -> Option<&RgbImage> {
        let wanted = (at * f64::from(self.clip.fps)).floor().max(0.0) as u32;
        while !self.ended && (self.picture.is_none() || self.decoded <= wanted) {
            match self.clip.next_frame() {
                Ok(Some((w, h, rgb))) => {
                    self.decoded += 1;
                    if let Some(picture) = RgbImage::from_raw(w as u32, h as u32, rgb) {
                        self.picture = Some(picture);
                    }
                }
                // A clip that breaks off holds what it showed last.
                Ok(None) | Err(_) => self.ended = true,
            }
        }
        self.picture.as_ref()
    }
}

pub(crate) struct Shots<'a> {
    pub(crate) photos: &'a [RgbImage],
    pub(crate) plan: Vec<Shot>,
    /// The provider's clip of shot `k`, where there is a readable one.
    clips: Vec<Option<ClipShot<'a>>>,
    /// The next shot's picture during a transition, and the two mixed.
    incoming: RgbImage,
    mixed: RgbImage,
}

impl<'a> Shots<'a> {
    pub(crate) fn new(
        photos: &'a [RgbImage],
        clips: &'a [Option<&'a [u8]>],
        (width, height): (u32, u32),
    ) -> Shots<'a> {
        Shots {
            photos,
            plan: Vec::new(),
            clips: clips
                .iter()
                .map(|mp4| {
                    let clip = Clip::open((*mp4)?).ok()?;
                    Some(ClipShot {
                        clip,
                        picture: None,
                        decoded: 0,
                        ended: false,
                    })
                })
                .collect(),
            incoming: RgbImage::new(width, height),
            mixed: RgbImage::new(width, height),
        }
    }

    /// The sound of each shot's clip, placed where the shot is on screen
    /// (its transition in included), once the plan is made.
    pub(crate) fn take_audio(&mut self, fps: u32) -> Vec<super::PlacedAudio> {
        let fps = f64::from(fps.max(1));
        let plan = &self.plan;
        self.clips
            .iter_mut()
            .zip(plan)
            .filter_map(|(clip, shot)| {
                let audio = clip.as_mut()?.clip.audio.take()?;
                let from = shot.start - shot.transition;
                Some(super::PlacedAudio {
                    audio,
                    at: f64::from(from) / fps,
                    seconds: f64::from(shot.end - from) / fps,
                })
            })
            .collect()
    }

    /// The shots that showed their provider's clip.
    pub(crate) fn clip_shots(&self) -> Vec<usize> {
        self.clips
            .iter()
            .enumerate()
            .filter(|(_, c)| c.as_ref().is_some_and(|c| c.picture.is_some()))
            .map(|(k, _)| k)
            .collect()
    }

    /// Draws frame `i` into `frame`: the shot it belongs to, mixed with the
    /// next one while the transition into that runs.
    pub(crate) fn compose(
        &mut self,
        i: u32,
        fps: u32,
        resizer: &mut Resizer,
        frame: &mut RgbImage,
    ) -> Result<(), MediaError> {
        let Some(k) = self.plan.iter().position(|s| i >= s.start && i < s.end) else {
            return Err(MediaError::Encode("a frame belongs to no shot".into()));
        };
        self.draw(k, i, fps, resizer, frame)?;
        let Some(next) = self.plan.get(k + 1) else {
            return Ok(());
        };
        let Some(into) = i.checked_sub(next.start - next.transition) else {
            return Ok(());
        };
        let (next_into, next_transition) = (next.into, next.transition);
        let mut incoming = std::mem::take(&mut self.incoming);
        let drawn = self.draw(k + 1, i, fps, resizer, &mut incoming);
        self.incoming = incoming;
        drawn?;
        // Eased, and never fully either picture: the cut itself is at
        // `next.start`.
        let t = f64::from(into + 1) / f64::from(next_transition + 1);
        let eased = t * t * (3.0 - 2.0 * t);
        match next_into {
            Transition::Crossfade => crossfade(frame, &self.incoming, eased),
            Transition::Slide => {
                slide(frame, &self.incoming, eased, &mut self.mixed);
                frame.copy_from_slice(self.mixed.as_raw());
            }
        }
        Ok(())
    }

    /// Shot `k` at frame `frame_index`: its clip where it has one, else
    /// its camera move.
    fn draw(
        &mut self,
        k: usize,
        frame_index: u32,
        fps: u32,
        resizer: &mut Resizer,
        out: &mut RgbImage,
    ) -> Result<(), MediaError> {
        let shot = &self.plan[k];
        let shown_from = shot.start - shot.transition;
        let at = f64::from(frame_index.saturating_sub(shown_from)) / f64::from(fps.max(1));
        let ratio = f64::from(out.width()) / f64::from(out.height());
        if let Some(picture) = self
            .clips
            .get_mut(k)
            .and_then(Option::as_mut)
            .and_then(|c| c.picture_at(at))
        {
            let crop = cover_crop(picture.width(), picture.height(), ratio);
            return resize_into(resizer, picture, Some(crop), out, FilterType::Bilinear);
        }
        camera_shot(self.photos, shot, frame_index, resizer, out)
    }
}

fn camera_shot(
    photos: &[RgbImage],
    shot: &Shot,
    frame_index: u32,
    resizer: &mut Resizer,
    out: &mut RgbImage,
) -> Result<(), MediaError> {
    let source = &photos[shot.photo];
    let (sw, sh) = (f64::from(source.width()), f64::from(source.height()));
    let (x, y, w, h) = shot.camera.crop_at(shot.progress(frame_index));
    let (w, h) = (w.min(sw), h.min(sh));
    let crop = (x.clamp(0.0, sw - w), y.clamp(0.0, sh - h), w, h);
    resize_into(resizer, source, Some(crop), out, FilterType::Bilinear)
}

/// `frame` becomes `frame * (1 - t) + incoming * t`.
fn crossfade(frame: &mut RgbImage, incoming: &RgbImage, t: f64) {
    let w = (t.clamp(0.0, 1.0) * 256.0).round() as u32;
    for (a, &b) in frame.iter_mut().zip(incoming.iter()) {
        *a = ((u32::from(*a) * (256 - w) + u32::from(b) * w + 128) >> 8) as u8;
    }
}

/// The incoming picture pushes the outgoing one out to the left: at `t`
/// the outgoing one's right part fills the left `1 - t` of the frame.
fn slide(outgoing: &RgbImage, incoming: &RgbImage, t: f64, out: &mut RgbImage) {
    let width = outgoing.width() as usize;
    let shift = ((t.clamp(0.0, 1.0) * width as f64).round() as usize).min(width);
    let row = width * 3;
    for ((o, a), b) in out
        .chunks_exact_mut(row)
        .zip(outgoing.chunks_exact(row))
        .zip(incoming.chunks_exact(row))
    {
        let keep = (width - shift) * 3;
        o[..keep].copy_from_slice(&a[shift * 3..]);
        o[keep..].copy_from_slice(&b[..shift * 3]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Script;

    fn script() -> Script {
        Script {
            hook: "Meet the mug.".into(),
            scenes: (1..=5).map(|i| format!("Scene number {i}.")).collect(),
            call_to_action: "Get yours.".into(),
        }
    }

    #[test]
    fn shots_follow_the_captions_and_cycle_through_the_photos() {
        let script = script();
        let photos: Vec<RgbImage> = (0..3).map(|_| RgbImage::new(900, 1600)).collect();
        for duration in [5, 10, 15, 30] {
            let timeline = Timeline::new(&script, duration, 30);
            let plan = plan_shots(&timeline, &photos, (720, 1280), 30, 7);
            assert_eq!(plan.len(), timeline.captions.len() + 1, "{duration}s");
            assert_eq!(plan[0].start, 0);
            assert_eq!(plan.last().map(|s| s.end), Some(duration * 30));
            for (k, pair) in plan.windows(2).enumerate() {
                assert_eq!(pair[0].end, pair[1].start, "shots are back to back");
                assert_ne!(pair[0].photo, pair[1].photo);
                assert!(pair[1].transition >= 1 && pair[1].transition <= 12);
                assert!(pair[1].transition * 3 <= pair[0].end - pair[0].start);
                if let Some(caption) = timeline.captions.get(k) {
                    assert_eq!((pair[0].start, pair[0].end), caption.span);
                }
            }
            let kinds: Vec<Transition> = plan[1..].iter().map(|s| s.into).collect();
            assert!(
                kinds.windows(2).all(|p| p[0] != p[1]),
                "transitions alternate"
            );
        }
    }

    #[test]
    fn a_slide_moves_the_pictures_left_and_a_crossfade_mixes_them() {
        let a = RgbImage::from_pixel(8, 2, image::Rgb([0, 0, 0]));
        let b = RgbImage::from_pixel(8, 2, image::Rgb([200, 200, 200]));
        let mut out = RgbImage::new(8, 2);
        slide(&a, &b, 0.25, &mut out);
        let row: Vec<u8> = (0..8).map(|x| out.get_pixel(x, 0)[0]).collect();
        assert_eq!(row, [0, 0, 0, 0, 0, 0, 200, 200]);
        let mut mixed = a.clone();
        crossfade(&mut mixed, &b, 0.5);
        assert!(mixed.iter().all(|&v| v == 100));
    }
}
