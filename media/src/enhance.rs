//! The offline photo enhancer: fix exposure and colour cast the way a quick
//! manual edit would, sharpen a little, then place the photo on a canvas of
//! the video's shape so nothing of the product is cropped away.

use fast_image_resize::{FilterType, Resizer};
use image::{DynamicImage, RgbImage};

use crate::imaging::{box_blur, cover_crop, encode_jpeg, resize};
use crate::{Aspect, MediaError, probe};

/// The renderer zooms and pans by up to this factor; a canvas this much
/// larger than the video lets it do so without upscaling.
pub const CANVAS_SCALE: f64 = 1.2;

#[derive(Debug, Clone)]
pub struct Enhanced {
    /// The canvas: photo fitted over a blurred fill, in the aspect's ratio.
    pub image: RgbImage,
    /// The same canvas as a JPEG, for storage and previews.
    pub jpeg: Vec<u8>,
}

/// Canvas size for an aspect: the video size scaled by [`CANVAS_SCALE`],
/// rounded to even numbers.
pub fn canvas_size(aspect: Aspect) -> (u32, u32) {
    let (w, h) = aspect.video_size();
    let even = |v: u32| ((f64::from(v) * CANVAS_SCALE / 2.0).round() as u32) * 2;
    (even(w), even(h))
}

pub fn enhance(photo: &[u8], aspect: Aspect) -> Result<Enhanced, MediaError> {
    let (_, decoded) = probe::decode(photo)?;
    let image = enhance_image(decoded, aspect)?;
    let jpeg = encode_jpeg(&image, 90)?;
    Ok(Enhanced { image, jpeg })
}

/// The pixel pipeline, for callers that already hold a decoded image.
pub fn enhance_image(decoded: DynamicImage, aspect: Aspect) -> Result<RgbImage, MediaError> {
    let photo = flatten(decoded);
    let (cw, ch) = canvas_size(aspect);
    let mut resizer = Resizer::new();

    // Work at the size the photo will be shown: the filters below are then
    // cheap, and their strength is tuned for what the viewer sees.
    let scale =
        (f64::from(cw) / f64::from(photo.width())).min(f64::from(ch) / f64::from(photo.height()));
    let fw = ((f64::from(photo.width()) * scale).round() as u32).clamp(1, cw);
    let fh = ((f64::from(photo.height()) * scale).round() as u32).clamp(1, ch);
    let mut fitted = resize(&mut resizer, &photo, None, fw, fh, FilterType::Lanczos3)?;
    drop(photo);

    let lut = levels_and_white_balance(&fitted);
    apply_lut(&mut fitted, &lut);
    unsharp_mask(&mut fitted, 2, 0.6, 3);

    let mut canvas = blurred_fill(&mut resizer, &fitted, cw, ch)?;
    let (x0, y0) = ((cw - fw) / 2, (ch - fh) / 2);
    image::imageops::replace(&mut canvas, &fitted, i64::from(x0), i64::from(y0));
    Ok(canvas)
}

/// Drops alpha by compositing on white: transparent product shots are
/// usually cut-outs meant for a light page, and black would hide dark items.
fn flatten(decoded: DynamicImage) -> RgbImage {
    if !decoded.color().has_alpha() {
        return decoded.into_rgb8();
    }
    let rgba = decoded.into_rgba8();
    let mut out = RgbImage::new(rgba.width(), rgba.height());
    for (dst, src) in out.pixels_mut().zip(rgba.pixels()) {
        let a = u32::from(src[3]);
        for c in 0..3 {
            dst[c] = ((u32::from(src[c]) * a + 255 * (255 - a) + 127) / 255) as u8;
        }
    }
    out
}

type Lut = [[u8; 256]; 3];

/// Auto levels (per-channel percentile stretch) followed by gray-world white
/// balance, folded into one lookup table per channel.
fn levels_and_white_balance(img: &RgbImage) -> Lut {
    let mut hist = [[0u64; 256]; 3];
    for px in img.pixels() {
        for c in 0..3 {
            hist[c][px[c] as usize] += 1;
        }
    }
    let total: u64 = hist[0].iter().sum::<u64>().max(1);

    // Ignore the extreme 0.5% at each end: specular glints and sensor noise
    // would otherwise pin the range and stop any stretch.
    let ends: Vec<(f64, f64)> = (0..3)
        .map(|c| {
            (
                percentile(&hist[c], total, 0.005),
                percentile(&hist[c], total, 0.995),
            )
        })
        .collect();
    let common_lo = ends.iter().map(|e| e.0).fold(255.0, f64::min);
    let common_hi = ends.iter().map(|e| e.1).fold(0.0, f64::max);
    let mut stretch = [[0f64; 256]; 3];
    for c in 0..3 {
        // Each channel's end points sit halfway between its own and the
        // shared ones. Fully per-channel, a saturated product sets one
        // channel's top (a red mug sets red's) and the stretch tints the
        // backdrop the complementary colour; the white balance below then
        // finishes the neutralising from pixels that should be gray.
        let lo = common_lo + 0.5 * (ends[c].0 - common_lo);
        let hi = common_hi + 0.5 * (ends[c].1 - common_hi);
        let (lo, hi) = limit_gain(lo, hi, 3.0);
        for (v, out) in stretch[c].iter_mut().enumerate() {
            *out = ((v as f64 - lo) * 255.0 / (hi - lo)).clamp(0.0, 255.0);
        }
    }

    let gains = gray_world_gains(img, &stretch);
    let mut lut = [[0u8; 256]; 3];
    for c in 0..3 {
        for (out, &s) in lut[c].iter_mut().zip(&stretch[c]) {
            *out = (s * gains[c]).round().clamp(0.0, 255.0) as u8;
        }
    }
    lut
}

/// Per-channel gains that make the average of the image's least saturated
/// pixels (after the stretch) gray.
///
/// Plain gray world averages every pixel, so a big saturated product (a red
/// mug filling half the frame) reads as a red cast and the backdrop is
/// painted cyan. Backdrops, shadows and highlights are what should be
/// neutral, so only the least saturated 30% of pixels vote. Relative rather
/// than absolute saturation, because a real cast makes every pixel look
/// somewhat saturated.
fn gray_world_gains(img: &RgbImage, stretch: &[[f64; 256]; 3]) -> [f64; 3] {
    let stretched = |px: &image::Rgb<u8>| -> [f64; 3] {
        [
            stretch[0][px[0] as usize],
            stretch[1][px[1] as usize],
            stretch[2][px[2] as usize],
        ]
    };
    // Near-black pixels have no reliable hue, so they don't vote.
    let saturation = |v: [f64; 3]| -> Option<usize> {
        let max = v[0].max(v[1]).max(v[2]);
        let min = v[0].min(v[1]).min(v[2]);
        (max > 40.0).then(|| ((max - min) / max * 255.0) as usize)
    };

    let mut sat_hist = [0u64; 256];
    for px in img.pixels() {
        if let Some(s) = saturation(stretched(px)) {
            sat_hist[s.min(255)] += 1;
        }
    }
    let voters: u64 = sat_hist.iter().sum();
    if voters == 0 {
        return [1.0; 3];
    }
    let threshold = percentile(&sat_hist, voters, 0.3) as usize;

    let (mut sum, mut n) = ([0f64; 3], 0u64);
    for px in img.pixels() {
        let v = stretched(px);
        if saturation(v).is_some_and(|s| s <= threshold) {
            for c in 0..3 {
                sum[c] += v[c];
            }
            n += 1;
        }
    }
    let means = sum.map(|s| s / n.max(1) as f64);
    let gray = means.iter().sum::<f64>() / 3.0;
    // Not quite all the way, and within bounds: a scene that really is
    // warm (candlelight, wood) should stay a little warm.
    means.map(|m| {
        if m > 1.0 {
            (1.0 + 0.85 * (gray / m - 1.0)).clamp(0.6, 1.6)
        } else {
            1.0
        }
    })
}

fn percentile(hist: &[u64; 256], total: u64, fraction: f64) -> f64 {
    let target = (total as f64 * fraction) as u64;
    let mut seen = 0;
    for (v, &count) in hist.iter().enumerate() {
        seen += count;
        if seen > target {
            return v as f64;
        }
    }
    255.0
}

/// Widens a narrow range around its centre so the stretch is at most
/// `max_gain`: a near-flat image (a white product on white) must not have its
/// noise blown up into blotches.
fn limit_gain(lo: f64, hi: f64, max_gain: f64) -> (f64, f64) {
    let min_range = 255.0 / max_gain;
    if hi - lo >= min_range {
        return (lo, hi);
    }
    let centre = ((lo + hi) / 2.0).clamp(min_range / 2.0, 255.0 - min_range / 2.0);
    (centre - min_range / 2.0, centre + min_range / 2.0)
}

fn apply_lut(img: &mut RgbImage, lut: &Lut) {
    for px in img.chunks_exact_mut(3) {
        for c in 0..3 {
            px[c] = lut[c][px[c] as usize];
        }
    }
}

/// Classic unsharp mask; the threshold leaves flat areas (skies, studio
/// backdrops) alone so their noise isn't sharpened too.
fn unsharp_mask(img: &mut RgbImage, radius: u32, amount: f32, threshold: i16) {
    let mut blurred = img.clone();
    box_blur(&mut blurred, radius, 2);
    for (v, &b) in img.iter_mut().zip(blurred.iter()) {
        let diff = i16::from(*v) - i16::from(b);
        if diff.abs() > threshold {
            *v = (f32::from(*v) + amount * f32::from(diff))
                .round()
                .clamp(0.0, 255.0) as u8;
        }
    }
}

/// The backdrop behind a photo whose shape differs from the video's: the
/// photo itself scaled to fill, heavily blurred and darkened, so the bars
/// carry the photo's colours instead of flat black.
fn blurred_fill(
    resizer: &mut Resizer,
    photo: &RgbImage,
    cw: u32,
    ch: u32,
) -> Result<RgbImage, MediaError> {
    // Blurring at 1/8 scale is 64x cheaper and, after the smooth upscale,
    // looks the same as a huge blur at full size.
    let (sw, sh) = ((cw / 8).max(2), (ch / 8).max(2));
    let crop = cover_crop(photo.width(), photo.height(), f64::from(cw) / f64::from(ch));
    let mut small = resize(resizer, photo, Some(crop), sw, sh, FilterType::Bilinear)?;
    box_blur(&mut small, (sw.max(sh) / 24).max(1), 3);
    for v in small.iter_mut() {
        *v = (u16::from(*v) * 140 / 255) as u8;
    }
    resize(resizer, &small, None, cw, ch, FilterType::CatmullRom)
}
