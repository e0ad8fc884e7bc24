mod common;

use common::{dull_warm_photo, encode, product_photo};
use glimvid_media::Aspect;
use glimvid_media::enhance::{canvas_size, enhance};
use glimvid_media::image::{ImageFormat, RgbImage};

/// Per-channel (1st percentile, 99th percentile, mean) over a region.
fn channel_stats(img: &RgbImage, x0: u32, y0: u32, w: u32, h: u32) -> [(u8, u8, f64); 3] {
    let mut hist = [[0u64; 256]; 3];
    for y in y0..y0 + h {
        for x in x0..x0 + w {
            let px = img.get_pixel(x, y);
            for c in 0..3 {
                hist[c][px[c] as usize] += 1;
            }
        }
    }
    let total = u64::from(w * h);
    hist.map(|hc| {
        let pct = |f: f64| {
            let mut seen = 0;
            hc.iter()
                .position(|&n| {
                    seen += n;
                    seen as f64 > total as f64 * f
                })
                .unwrap_or(255) as u8
        };
        let mean = hc
            .iter()
            .enumerate()
            .map(|(v, &n)| v as f64 * n as f64)
            .sum::<f64>()
            / total as f64;
        (pct(0.01), pct(0.99), mean)
    })
}

/// Spread of the channel means relative to their average: 0 is neutral.
fn cast(stats: &[(u8, u8, f64); 3]) -> f64 {
    let means = stats.map(|s| s.2);
    let spread = means.iter().cloned().fold(f64::MIN, f64::max)
        - means.iter().cloned().fold(f64::MAX, f64::min);
    spread / (means.iter().sum::<f64>() / 3.0)
}

#[test]
fn output_matches_each_aspect_ratio() {
    let photo = encode(&product_photo(900, 1200), ImageFormat::Jpeg);
    for aspect in Aspect::ALL {
        let out = enhance(&photo, aspect).expect("enhances");
        let (w, h) = out.image.dimensions();
        assert_eq!((w, h), canvas_size(aspect));
        let (vw, vh) = aspect.video_size();
        let ratio = f64::from(w) / f64::from(h);
        assert!(
            (ratio / aspect.ratio() - 1.0).abs() < 0.01,
            "{aspect}: {w}x{h}"
        );
        assert!(
            w >= vw && h >= vh,
            "canvas must not be smaller than the video"
        );
        let jpeg = glimvid_media::probe::inspect(&out.jpeg).expect("JPEG output is a valid image");
        assert_eq!((jpeg.width, jpeg.height), (w, h));
    }
}

#[test]
fn dull_colour_cast_photo_comes_out_wider_and_more_neutral() {
    // Same shape as the landscape canvas, so the photo fills it and the
    // whole output can be compared with the whole input.
    let input = dull_warm_photo(1600, 900);
    let out = enhance(&encode(&input, ImageFormat::Png), Aspect::Landscape).expect("enhances");
    let before = channel_stats(&input, 0, 0, 1600, 900);
    let (w, h) = out.image.dimensions();
    let after = channel_stats(&out.image, 0, 0, w, h);
    for c in 0..3 {
        let spread_before = before[c].1 - before[c].0;
        let spread_after = after[c].1 - after[c].0;
        assert!(
            spread_after > spread_before * 2,
            "channel {c}: range {spread_before} -> {spread_after}"
        );
    }
    // Over the whole frame the means move towards each other...
    assert!(
        cast(&after) < cast(&before),
        "cast {:.3} -> {:.3}",
        cast(&before),
        cast(&after)
    );
    // ...and the backdrop, which was near-white in the scene before the
    // cast, comes out close to neutral (the red product legitimately isn't).
    let backdrop_before = channel_stats(&input, 0, 0, 300, 150);
    let backdrop_after = channel_stats(&out.image, 0, 0, 288, 144);
    assert!(
        cast(&backdrop_after) < cast(&backdrop_before) / 3.0,
        "backdrop cast {:.3} -> {:.3}",
        cast(&backdrop_before),
        cast(&backdrop_after)
    );
}

#[test]
fn narrow_photo_is_fitted_over_a_darkened_fill() {
    let photo = encode(&product_photo(400, 1200), ImageFormat::Png);
    let out = enhance(&photo, Aspect::Landscape).expect("enhances");
    let (w, h) = out.image.dimensions();
    // The side bars are the blurred, darkened photo, not black and not the
    // bright backdrop itself.
    let bar = channel_stats(&out.image, 0, 0, w / 10, h);
    let centre = channel_stats(&out.image, w / 2 - 20, h / 10, 40, 40);
    let bar_luma: f64 = bar.iter().map(|s| s.2).sum::<f64>() / 3.0;
    let centre_luma: f64 = centre.iter().map(|s| s.2).sum::<f64>() / 3.0;
    assert!(bar_luma > 20.0, "bars are black: {bar_luma}");
    assert!(
        bar_luma < centre_luma * 0.8,
        "bars not darkened: {bar_luma} vs {centre_luma}"
    );
}

#[test]
fn transparent_png_and_webp_are_accepted() {
    let rgba = glimvid_media::image::RgbaImage::from_fn(300, 300, |x, _| {
        glimvid_media::image::Rgba([200, 30, 30, if x < 150 { 0 } else { 255 }])
    });
    let mut png = std::io::Cursor::new(Vec::new());
    rgba.write_to(&mut png, ImageFormat::Png).expect("encodes");
    let out = enhance(png.get_ref(), Aspect::Square).expect("enhances");
    // The transparent half sits on white, so it stays light.
    let left = channel_stats(&out.image, 300, 420, 40, 40);
    assert!(left.iter().all(|s| s.2 > 180.0), "{left:?}");

    let webp = encode(&product_photo(500, 400), ImageFormat::WebP);
    enhance(&webp, Aspect::Portrait).expect("WebP enhances");
}

#[test]
fn refuses_what_the_probe_refuses() {
    let wide = encode(&RgbImage::new(7000, 40), ImageFormat::Png);
    assert_eq!(
        enhance(&wide, Aspect::Square).err().map(|e| e.code()),
        Some("image_too_large")
    );
    assert_eq!(
        enhance(b"not an image", Aspect::Square)
            .err()
            .map(|e| e.code()),
        Some("not_an_image")
    );
}
