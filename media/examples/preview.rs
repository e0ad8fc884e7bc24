//! Renders sample videos to look at by eye:
//! `cargo run -p glimvid-media --example preview -- OUT_DIR [PHOTO]`.
//! Without a photo it makes one; it writes the enhanced canvas, posters and
//! MP4s for each aspect in English and Chinese, a text-only video, and the
//! test suite's provider clip captioned (`video-clip-16x9-en.mp4`).

use std::path::PathBuf;

use glimvid_media::audio::Mood;
use glimvid_media::enhance::enhance;
use glimvid_media::image::{ImageFormat, Rgb, RgbImage};
use glimvid_media::render::{Background, EndCard, RenderRequest, render};
use glimvid_media::script::{ScriptInput, write};
use glimvid_media::{Aspect, Language};

fn sample_photo() -> Vec<u8> {
    let (w, h) = (1200u32, 1500u32);
    let img = RgbImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (x as f32 - 600.0, y as f32 - 700.0);
        if dx * dx / 1.6 + dy * dy < 380.0 * 380.0 {
            let shade = 1.0 - (dx + dy) / 1600.0;
            Rgb([
                (190.0 * shade) as u8,
                (70.0 * shade) as u8,
                (60.0 * shade) as u8,
            ])
        } else {
            Rgb([150 + (y * 30 / h) as u8, 140, 120])
        }
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Jpeg).expect("encodes");
    out.into_inner()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().unwrap_or_else(|| "/tmp/glimvid-preview".into()));
    let photo = match args.next() {
        Some(path) => std::fs::read(path)?,
        None => sample_photo(),
    };
    std::fs::create_dir_all(&out)?;
    let inputs = [
        (
            Language::En,
            "Aurora Ceramic Mug",
            "Hand-glazed stoneware that keeps coffee hot for hours. Dishwasher safe! Holds 350 ml, perfect for slow mornings.",
        ),
        (
            Language::Zh,
            "极光陶瓷杯",
            "手工上釉的粗陶杯，保温效果出色，咖啡几个小时都是热的。可放入洗碗机清洗！容量350毫升，适合慢悠悠的早晨。",
        ),
    ];
    for aspect in Aspect::ALL {
        let enhanced = enhance(&photo, aspect)?;
        let tag = aspect.as_str().replace(':', "x");
        std::fs::write(out.join(format!("enhanced-{tag}.jpg")), &enhanced.jpeg)?;
        for (language, title, description) in inputs {
            let script = write(&ScriptInput {
                title,
                description,
                language,
                duration_s: 10,
                style: None,
                variant: 0,
            });
            let video = render(&RenderRequest {
                background: Background::Photo(&enhanced.image),
                script: &script,
                aspect,
                duration_s: 10,
                end_card: EndCard {
                    title,
                    call_to_action: &script.call_to_action,
                    price: Some("$24"),
                    url: Some("https://shop.example.com/aurora"),
                },
                music: Some(Mood::for_style(None, 1)),
            })?;
            std::fs::write(out.join(format!("video-{tag}-{language}.mp4")), &video.mp4)?;
            std::fs::write(
                out.join(format!("poster-{tag}-{language}.jpg")),
                &video.poster_jpeg,
            )?;
            println!("{tag} {language}: {:?}", script);
        }
    }
    let script = write(&ScriptInput {
        title: inputs[1].1,
        description: inputs[1].2,
        language: Language::Zh,
        duration_s: 5,
        style: Some("energetic"),
        variant: 0,
    });
    let video = render(&RenderRequest {
        background: Background::Generated,
        script: &script,
        aspect: Aspect::Portrait,
        duration_s: 5,
        end_card: EndCard {
            title: inputs[1].1,
            call_to_action: &script.call_to_action,
            price: Some("¥168"),
            url: None,
        },
        music: Some(Mood::for_style(Some("energetic"), 1)),
    })?;
    std::fs::write(out.join("video-text-9x16-zh.mp4"), &video.mp4)?;
    std::fs::write(out.join("poster-text-9x16-zh.jpg"), &video.poster_jpeg)?;
    let script = write(&ScriptInput {
        title: inputs[0].1,
        description: inputs[0].2,
        language: Language::En,
        duration_s: 5,
        style: None,
        variant: 0,
    });
    let video = render(&RenderRequest {
        background: Background::Clip(include_bytes!("../tests/fixtures/provider-clip.mp4")),
        script: &script,
        aspect: Aspect::Landscape,
        duration_s: 5,
        end_card: EndCard {
            title: inputs[0].1,
            call_to_action: &script.call_to_action,
            price: Some("$24"),
            url: Some("shop.example.com"),
        },
        music: Some(Mood::Calm),
    })?;
    std::fs::write(out.join("video-clip-16x9-en.mp4"), &video.mp4)?;
    println!("written to {}", out.display());
    Ok(())
}
