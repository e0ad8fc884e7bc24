//! Camera motion: a slow Ken Burns zoom and pan over a still, and the
//! generated gradient used when there is no photo (text-to-video).

use image::RgbImage;

use crate::imaging::cover_crop;
use crate::script::mix;

/// How far the camera pushes in. With the enhancer's 1.2x canvas this stays
/// at or above one source pixel per output pixel, so there is no upscaling.
const MAX_ZOOM: f64 = 1.15;

/// A camera path over a source image, as a crop rectangle per moment.
pub(crate) struct KenBurns {
    base: (f64, f64, f64, f64),
    zoom_in: bool,
    pan: (f64, f64),
}

impl KenBurns {
    /// `seed` varies the direction so consecutive videos don't all move alike.
    pub(crate) fn new(source: (u32, u32), video: (u32, u32), seed: u64) -> KenBurns {
        const PANS: [(f64, f64); 6] = [
            (1.0, 0.0),
            (-1.0, 0.0),
            (0.6, 0.6),
            (-0.6, 0.6),
            (0.0, -1.0),
            (0.0, 0.0),
        ];
        let ratio = f64::from(video.0) / f64::from(video.1);
        KenBurns {
            base: cover_crop(source.0, source.1, ratio),
            zoom_in: mix(seed, 11).is_multiple_of(2),
            pan: PANS[(mix(seed, 12) % PANS.len() as u64) as usize],
        }
    }

    /// The crop (left, top, width, height) at progress `t` in 0..=1.
    pub(crate) fn crop_at(&self, t: f64) -> (f64, f64, f64, f64) {
        // Ease in and out so the motion starts and stops without a jolt.
        let t = t.clamp(0.0, 1.0);
        let eased = t * t * (3.0 - 2.0 * t);
        let progress = if self.zoom_in { eased } else { 1.0 - eased };
        let zoom = 1.0 + (MAX_ZOOM - 1.0) * progress;
        let (left, top, width, height) = self.base;
        let (w, h) = (width / zoom, height / zoom);
        let (room_x, room_y) = ((width - w) / 2.0, (height - h) / 2.0);
        // The pan travels from one side of the free room to the other.
        let travel = 2.0 * eased - 1.0;
        let x = left + room_x + self.pan.0 * room_x * travel;
        let y = top + room_y + self.pan.1 * room_y * travel;
        (x, y, w, h)
    }
}

/// Deep, saturated palettes: white captions stay legible on all of them.
const PALETTES: [[[f32; 3]; 3]; 5] = [
    [
        [38.0, 20.0, 71.0],
        [120.0, 40.0, 110.0],
        [20.0, 70.0, 120.0],
    ],
    [[10.0, 40.0, 60.0], [20.0, 110.0, 120.0], [60.0, 20.0, 80.0]],
    [[60.0, 20.0, 30.0], [160.0, 70.0, 40.0], [40.0, 20.0, 70.0]],
    [
        [15.0, 30.0, 60.0],
        [40.0, 80.0, 160.0],
        [100.0, 30.0, 120.0],
    ],
    [[20.0, 50.0, 40.0], [60.0, 130.0, 90.0], [20.0, 40.0, 90.0]],
];

/// A soft three-colour gradient with two glows, larger than the video so
/// the Ken Burns camera gives it slow movement.
pub(crate) fn gradient(width: u32, height: u32, seed: u64) -> RgbImage {
    let palette = PALETTES[(mix(seed, 21) % PALETTES.len() as u64) as usize];
    let unit = |salt: u64| (mix(seed, salt) % 1000) as f32 / 1000.0;
    let glows = [
        (0.2 + 0.3 * unit(22), 0.15 + 0.3 * unit(23), palette[1]),
        (0.5 + 0.3 * unit(24), 0.55 + 0.3 * unit(25), palette[2]),
    ];
    let (fw, fh) = (width as f32, height as f32);
    let diagonal = (fw * fw + fh * fh).sqrt();
    let mut img = RgbImage::new(width, height);
    for (x, y, px) in img.enumerate_pixels_mut() {
        let (u, v) = (x as f32 / fw, y as f32 / fh);
        let mut colour = palette[0];
        for &(gx, gy, glow) in &glows {
            let (dx, dy) = ((u - gx) * fw, (v - gy) * fh);
            let d = (dx * dx + dy * dy).sqrt() / (diagonal * 0.45);
            let weight = (1.0 - d).clamp(0.0, 1.0).powi(2);
            for c in 0..3 {
                colour[c] += (glow[c] - colour[c]) * weight;
            }
        }
        // A little ordered noise breaks up the banding smooth gradients
        // show after 8-bit quantisation and H.264.
        let dither = (((x * 7 + y * 13) % 5) as f32 - 2.0) * 0.6;
        for c in 0..3 {
            px[c] = (colour[c] + dither).round().clamp(0.0, 255.0) as u8;
        }
    }
    img
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camera_stays_inside_the_source() {
        for seed in 0..20 {
            let kb = KenBurns::new((1536, 864), (1280, 720), seed);
            for i in 0..=30 {
                let (x, y, w, h) = kb.crop_at(f64::from(i) / 30.0);
                assert!(x >= -1e-6 && y >= -1e-6, "{seed}: {x},{y}");
                assert!(x + w <= 1536.0 + 1e-6 && y + h <= 864.0 + 1e-6);
                assert!((w / h - 1280.0 / 720.0).abs() < 1e-6);
                assert!(w >= 1280.0 * 1.2 / MAX_ZOOM - 1e-6);
            }
        }
    }
}
