//! Prints how fast the offline providers are: `cargo bench -p glimvid-media`.
//! Figures only; nothing here asserts on time.

use std::time::Instant;

use glimvid_media::enhance::enhance;
use glimvid_media::image::{ImageFormat, Rgb, RgbImage};
use glimvid_media::render::{FPS, render};
use glimvid_media::script::{ScriptInput, write};
use glimvid_media::{Aspect, Language};

fn photo(width: u32, height: u32) -> Vec<u8> {
    let img = RgbImage::from_fn(width, height, |x, y| {
        let (dx, dy) = (
            x as f32 - width as f32 / 2.0,
            y as f32 - height as f32 / 2.0,
        );
        let inside = dx * dx + dy * dy < (height as f32 * 0.3).powi(2);
        let noise = ((x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)) >> 27) as u8;
        if inside {
            Rgb([180 + noise, 60 + noise, 50])
        } else {
            Rgb([200 + noise / 2, 190, (170 + y * 40 / height) as u8])
        }
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Jpeg).expect("encodes");
    out.into_inner()
}

fn main() {
    let jpeg = photo(3000, 2000);
    println!("input photo: 3000x2000 JPEG, {} KB", jpeg.len() / 1024);

    for aspect in [Aspect::Landscape, Aspect::Portrait] {
        let start = Instant::now();
        let enhanced = enhance(&jpeg, aspect).expect("enhances");
        println!(
            "enhance {:>5}: {:>6.1} ms -> {}x{} canvas",
            aspect.as_str(),
            start.elapsed().as_secs_f64() * 1000.0,
            enhanced.image.width(),
            enhanced.image.height()
        );

        let script = write(&ScriptInput {
            title: "Aurora Ceramic Mug",
            description: "Hand-glazed stoneware that keeps coffee hot for hours. Dishwasher safe. Holds 350 ml.",
            language: Language::En,
            duration_s: 5,
            style: None,
        });
        for (label, background) in [("photo", Some(&enhanced.image)), ("text", None)] {
            let start = Instant::now();
            let out = render(background, &script, aspect, 5).expect("renders");
            let seconds = start.elapsed().as_secs_f64();
            println!(
                "render {:>5} {label:>5}: 5 s {}x{}@{FPS} in {seconds:.2} s = {:.0} frames/s, MP4 {} KB ({:.2} Mbit/s)",
                aspect.as_str(),
                out.width,
                out.height,
                f64::from(out.frames) / seconds,
                out.mp4.len() / 1024,
                out.mp4.len() as f64 * 8.0 / 5.0 / 1e6
            );
        }
    }
}
