//! Test images and noise made in code.
#![allow(dead_code)]

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, Rgb, RgbImage};

/// A deterministic pseudo-random byte stream (xorshift), for noise.
pub fn noise(len: usize, mut state: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// A stand-in product shot: a light backdrop with a shaded disc and a bar,
/// with a little noise so encoders have detail to keep.
pub fn product_photo(width: u32, height: u32) -> RgbImage {
    let grain = noise((width * height) as usize, 7);
    let (cx, cy, r) = (
        width as f32 * 0.5,
        height as f32 * 0.45,
        width.min(height) as f32 * 0.3,
    );
    RgbImage::from_fn(width, height, |x, y| {
        let g = i32::from(grain[(y * width + x) as usize] % 9) - 4;
        let (dx, dy) = (x as f32 - cx, y as f32 - cy);
        let base: [i32; 3] = if dx * dx + dy * dy < r * r {
            let shade = 1.0 - (dx + dy) / (4.0 * r);
            [
                (200.0 * shade) as i32,
                (60.0 * shade) as i32,
                (50.0 * shade) as i32,
            ]
        } else if y as f32 > height as f32 * 0.8 {
            [70, 60, 55]
        } else {
            [225 - (y * 40 / height) as i32, 220, 210]
        };
        Rgb(base.map(|v| (v + g).clamp(0, 255) as u8))
    })
}

/// A dull, warm-cast version: every channel squeezed into a narrow range.
pub fn dull_warm_photo(width: u32, height: u32) -> RgbImage {
    let mut img = product_photo(width, height);
    for px in img.pixels_mut() {
        px[0] = 130 + px[0] / 6;
        px[1] = 105 + px[1] / 6;
        px[2] = 80 + px[2] / 6;
    }
    img
}

pub fn encode(img: &RgbImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(img.clone())
        .write_to(&mut out, format)
        .expect("test image encodes");
    out.into_inner()
}
