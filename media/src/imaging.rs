//! Pixel helpers shared by the enhancer and the renderer.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::RgbImage;

use crate::MediaError;

/// Resizes `src` (optionally a sub-rectangle of it, in fractional pixels) to
/// `width`x`height` with SIMD convolution.
pub(crate) fn resize(
    resizer: &mut Resizer,
    src: &RgbImage,
    crop: Option<(f64, f64, f64, f64)>,
    width: u32,
    height: u32,
    filter: FilterType,
) -> Result<RgbImage, MediaError> {
    let mut dst = RgbImage::new(width.max(1), height.max(1));
    resize_into(resizer, src, crop, &mut dst, filter)?;
    Ok(dst)
}

/// Like [`resize`] but reuses `dst`'s buffer, for the per-frame path.
pub(crate) fn resize_into(
    resizer: &mut Resizer,
    src: &RgbImage,
    crop: Option<(f64, f64, f64, f64)>,
    dst: &mut RgbImage,
    filter: FilterType,
) -> Result<(), MediaError> {
    let internal = |e: &dyn std::fmt::Display| MediaError::ImageEncode(format!("resize: {e}"));
    let src_view = ImageRef::new(src.width(), src.height(), src.as_raw(), PixelType::U8x3)
        .map_err(|e| internal(&e))?;
    let (dw, dh) = dst.dimensions();
    let mut dst_view =
        Image::from_slice_u8(dw, dh, dst, PixelType::U8x3).map_err(|e| internal(&e))?;
    let mut options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(filter));
    if let Some((left, top, w, h)) = crop {
        options = options.crop(left, top, w, h);
    }
    resizer
        .resize(&src_view, &mut dst_view, &options)
        .map_err(|e| internal(&e))
}

/// The largest centred rectangle of `ratio` (w/h) inside a `w`x`h` image,
/// as (left, top, width, height).
pub(crate) fn cover_crop(w: u32, h: u32, ratio: f64) -> (f64, f64, f64, f64) {
    let (w, h) = (f64::from(w), f64::from(h));
    if w / h > ratio {
        let cw = h * ratio;
        ((w - cw) / 2.0, 0.0, cw, h)
    } else {
        let ch = w / ratio;
        (0.0, (h - ch) / 2.0, w, ch)
    }
}

/// Approximates a Gaussian blur with repeated box blurs; each pass costs the
/// same whatever the radius, which keeps large background blurs cheap.
pub(crate) fn box_blur(img: &mut RgbImage, radius: u32, passes: u32) {
    let (w, h) = img.dimensions();
    if radius == 0 || w == 0 || h == 0 {
        return;
    }
    let mut tmp = vec![0u8; img.as_raw().len()];
    for _ in 0..passes {
        blur_rows(
            img.as_raw(),
            &mut tmp,
            w as usize,
            h as usize,
            radius as usize,
        );
        blur_columns(&tmp, img, w as usize, h as usize, radius as usize);
    }
}

fn blur_rows(src: &[u8], dst: &mut [u8], w: usize, h: usize, r: usize) {
    let div = (2 * r + 1) as u32;
    for y in 0..h {
        let row = &src[y * w * 3..(y + 1) * w * 3];
        let out = &mut dst[y * w * 3..(y + 1) * w * 3];
        for c in 0..3 {
            let px = |x: usize| u32::from(row[x.min(w - 1) * 3 + c]);
            let mut sum = px(0) * (r as u32 + 1) + (1..=r).map(px).sum::<u32>();
            for x in 0..w {
                out[x * 3 + c] = ((sum + div / 2) / div) as u8;
                sum = sum + px(x + r + 1) - px(x.saturating_sub(r));
            }
        }
    }
}

fn blur_columns(src: &[u8], dst: &mut [u8], w: usize, h: usize, r: usize) {
    // Running sums for every column at once walk memory row by row, which is
    // far kinder to the cache than walking each column top to bottom.
    let div = (2 * r + 1) as u32;
    let stride = w * 3;
    let row = |y: usize| &src[y.min(h - 1) * stride..y.min(h - 1) * stride + stride];
    let mut sums: Vec<u32> = row(0)
        .iter()
        .map(|&v| u32::from(v) * (r as u32 + 1))
        .collect();
    for y in 1..=r {
        for (s, &v) in sums.iter_mut().zip(row(y)) {
            *s += u32::from(v);
        }
    }
    for y in 0..h {
        let out = &mut dst[y * stride..(y + 1) * stride];
        for (o, &s) in out.iter_mut().zip(&sums) {
            *o = ((s + div / 2) / div) as u8;
        }
        let (add, sub) = (row(y + r + 1), row(y.saturating_sub(r)));
        for ((s, &a), &b) in sums.iter_mut().zip(add).zip(sub) {
            *s = *s + u32::from(a) - u32::from(b);
        }
    }
}

/// Encodes a baseline JPEG.
pub(crate) fn encode_jpeg(img: &RgbImage, quality: u8) -> Result<Vec<u8>, MediaError> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(img)
        .map_err(|e| MediaError::ImageEncode(e.to_string()))?;
    Ok(out)
}
