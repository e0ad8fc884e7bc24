//! Prints how fast the offline providers are: `cargo bench -p glimvid-media`.
//! Figures only; nothing here asserts on time.
//!
//! The side-by-side run renders the same video (same photo, size, length,
//! captions, end card and a normalised AAC soundtrack) with Glimvid and with
//! the equivalent ffmpeg pipeline (zoompan, drawtext, x264, loudnorm, AAC),
//! both pinned to one core. ffmpeg is Debian's, used only here.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use glimvid_media::audio::{self, Mood};
use glimvid_media::enhance::enhance;
use glimvid_media::image::{ImageFormat, Rgb, RgbImage};
use glimvid_media::render::{Background, EndCard, FPS, RenderRequest, render};
use glimvid_media::script::{ScriptInput, end_card_seconds, write};
use glimvid_media::{Aspect, Language};

const PINNED: &str = "GLIMVID_BENCH_PINNED";

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

/// Runs this benchmark again on one core (all threads of both renderers
/// share it), when `taskset` is there to do it.
fn pin_to_one_core() -> bool {
    if std::env::var_os(PINNED).is_some() {
        return true;
    }
    let Ok(me) = std::env::current_exe() else {
        return false;
    };
    let status = Command::new("taskset")
        .args(["-c", "0"])
        .arg(me)
        .args(std::env::args_os().skip(1))
        .env(PINNED, "1")
        .status();
    match status {
        Ok(s) => std::process::exit(s.code().unwrap_or(1)),
        Err(_) => false,
    }
}

fn main() {
    let pinned = pin_to_one_core();
    println!(
        "(pinned to one core: {})",
        if pinned { "yes" } else { "no, taskset missing" }
    );
    let jpeg = photo(3000, 2000);
    println!("input photo: 3000x2000 JPEG, {} KB", jpeg.len() / 1024);

    let input = ScriptInput {
        title: "Aurora Ceramic Mug",
        description: "Hand-glazed stoneware that keeps coffee hot for hours. Dishwasher safe. Holds 350 ml.",
        language: Language::En,
        duration_s: 5,
        style: None,
        variant: 0,
    };
    let script = write(&input);
    let card = EndCard {
        title: input.title,
        call_to_action: &script.call_to_action,
        price: Some("$24"),
        url: Some("https://shop.example.com/aurora"),
    };

    let start = Instant::now();
    let bed = audio::bed(Mood::Upbeat, 10.0, 1);
    let synth = start.elapsed();
    let start = Instant::now();
    let aac = audio::encode_aac(&bed, 128_000).expect("encodes");
    println!(
        "sound: 10 s music bed synthesised in {:.1} ms, AAC-encoded in {:.1} ms ({} frames)",
        synth.as_secs_f64() * 1000.0,
        start.elapsed().as_secs_f64() * 1000.0,
        aac.frames.len()
    );

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
        for (label, background) in [
            ("photo", Background::Photo(&enhanced.image)),
            ("text", Background::Generated),
            (
                "clip",
                Background::Clip(include_bytes!("../tests/fixtures/provider-clip.mp4")),
            ),
        ] {
            let start = Instant::now();
            let out = render(&RenderRequest {
                background,
                script: &script,
                aspect,
                duration_s: 5,
                end_card: card,
                music: Some(Mood::Upbeat),
            })
            .expect("renders");
            let seconds = start.elapsed().as_secs_f64();
            println!(
                "render {:>5} {label:>5}: 5 s {}x{}@{} with sound in {seconds:.2} s = {:.0} frames/s, MP4 {} KB ({:.2} Mbit/s)",
                aspect.as_str(),
                out.width,
                out.height,
                out.fps,
                f64::from(out.frames) / seconds,
                out.mp4.len() / 1024,
                out.mp4.len() as f64 * 8.0 / 5.0 / 1e6
            );
        }
    }

    side_by_side(&jpeg, &script, &card);
    multi_shot_side_by_side(&card);
}

/// Glimvid and ffmpeg making the same 30 s 9:16 ad from three photos:
/// seven shots (hook, five scenes, end card), each a camera move over a
/// photo, joined by alternating crossfades and slides, a caption per shot,
/// the end card and one normalised AAC bed.
fn multi_shot_side_by_side(card: &EndCard) {
    let aspect = Aspect::Portrait;
    let duration = 30;
    if Command::new("ffmpeg").arg("-version").output().is_err() {
        return;
    }
    let input = ScriptInput {
        title: card.title,
        description: "Hand-glazed stoneware that keeps coffee hot for hours. Dishwasher safe. \
                      Holds 350 ml. Made in Portugal. Every glaze is one of a kind.",
        language: Language::En,
        duration_s: duration,
        style: None,
        variant: 0,
    };
    let script = write(&input);
    let dir = std::env::temp_dir().join(format!("glimvid-bench-shots-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let photos: Vec<_> = [(3000, 2000), (2400, 2400), (2000, 3000)]
        .iter()
        .enumerate()
        .map(|(i, &(w, h))| {
            let enhanced = enhance(&photo(w, h), aspect).expect("enhances");
            std::fs::write(dir.join(format!("canvas{i}.jpg")), &enhanced.jpeg).expect("writes");
            enhanced.image
        })
        .collect();

    let (ours, glimvid_s) = timed_render(
        Background::Shots {
            photos: &photos,
            clips: &[],
        },
        &script,
        aspect,
        duration,
        card,
    );
    println!(
        "side by side, 30 s 720x1280@{FPS} from 3 photos, {} shots + transitions + captions + end card + AAC: glimvid {glimvid_s:.2} s ({} KB)",
        ours.shot_starts.len(),
        ours.mp4.len() / 1024
    );
    let out = dir.join("ffmpeg-shots.mp4");
    compare(
        "zoompan + xfade + drawtext, x264 veryfast",
        glimvid_s,
        &out,
        || ffmpeg_shots(&dir, &script, card, &ours.shot_starts, duration, &out),
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// The ffmpeg equivalent of a multi-shot render, cut at the same frames:
/// each shot a zoompan over its photo, lengthened by the transition that
/// overlaps the next, chained with `xfade` (fade and slideleft in turn).
fn ffmpeg_shots(
    dir: &Path,
    script: &glimvid_media::Script,
    card: &EndCard,
    starts: &[u32],
    duration: u32,
    out: &Path,
) -> Result<(), String> {
    const TRANSITION: u32 = 12;
    let font = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/fonts/Roboto-Bold.ttf");
    let frames = duration * FPS;
    let mut ends: Vec<u32> = starts[1..].to_vec();
    ends.push(frames);
    let captions: Vec<&str> = script.captions();
    let mut graph = Vec::new();
    for (k, (&start, &end)) in starts.iter().zip(&ends).enumerate() {
        let length = end - start + if k + 1 < starts.len() { TRANSITION } else { 0 };
        graph.push(format!(
            "[{}:v]zoompan=z='1+0.15*on/{length}':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)':d={length}:s=720x1280:fps={FPS},setsar=1[s{k}]",
            k % 3
        ));
    }
    let mut chain = "s0".to_owned();
    for (k, &start) in starts.iter().enumerate().skip(1) {
        let kind = if k % 2 == 1 { "fade" } else { "slideleft" };
        let offset = f64::from(start - TRANSITION) / f64::from(FPS);
        let next = format!("x{k}");
        graph.push(format!(
            "[{chain}][s{k}]xfade=transition={kind}:duration={}:offset={offset}[{next}]",
            f64::from(TRANSITION) / f64::from(FPS)
        ));
        chain = next;
    }
    let mut texts = Vec::new();
    for (k, (&start, &end)) in starts.iter().zip(&ends).enumerate().take(starts.len() - 1) {
        let name = format!("caption{k}");
        std::fs::write(
            dir.join(format!("{name}.txt")),
            captions.get(k).copied().unwrap_or(""),
        )
        .map_err(|e| e.to_string())?;
        texts.push((name, 52, "h*0.78-text_h", start, end, true));
    }
    let card_start = *starts.last().unwrap_or(&0);
    for (name, text, size, y) in [
        ("title", card.title, 68, "h*0.36"),
        ("price", card.price.unwrap_or(""), 54, "h*0.45"),
        ("cta", card.call_to_action, 46, "h*0.53"),
        ("url", card.url.unwrap_or(""), 34, "h*0.60"),
    ] {
        std::fs::write(dir.join(format!("{name}.txt")), text).map_err(|e| e.to_string())?;
        texts.push((
            name.to_owned(),
            size,
            y,
            card_start,
            frames,
            name == "price",
        ));
    }
    let mut video = vec![format!(
        "drawbox=x=0:y=0:w=iw:h=ih:color=black@0.62:t=fill:enable='gte(n,{card_start})'"
    )];
    for (name, size, y, from, to, boxed) in &texts {
        video.push(format!(
            "drawtext=fontfile={font}:textfile={}:fontsize={size}:fontcolor=white:borderw=3:bordercolor=black{}:x=(w*0.9-text_w)/2:y={y}:enable='between(n,{from},{})'",
            dir.join(format!("{name}.txt")).display(),
            if *boxed { ":box=1:boxcolor=black@0.55:boxborderw=20" } else { "" },
            to - 1
        ));
    }
    video.push("format=yuv420p".to_owned());
    graph.push(format!("[{chain}]{}[v]", video.join(",")));
    graph.push(format!(
        "aevalsrc='0.2*sin(2*PI*220*t)+0.15*sin(2*PI*277.18*t)+0.1*sin(2*PI*110*t)*(1-mod(t*2,1))|0.2*sin(2*PI*220.5*t)+0.15*sin(2*PI*277.6*t)+0.1*sin(2*PI*110*t)*(1-mod(t*2,1))':s=48000:c=stereo:d={duration},afade=t=in:d=0.3,afade=t=out:st={}:d=1,loudnorm=I=-14:TP=-1,aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo[a]",
        duration - 1
    ));
    let inputs: Vec<_> = (0..3).map(|i| dir.join(format!("canvas{i}.jpg"))).collect();
    run_ffmpeg(&inputs, &graph.join(";"), duration, "veryfast", out)
}

/// Glimvid and ffmpeg making the same 5 s 9:16 video from the same photo.
fn side_by_side(jpeg: &[u8], script: &glimvid_media::Script, card: &EndCard) {
    let aspect = Aspect::Portrait;
    let duration = 5;
    let Ok(version) = Command::new("ffmpeg").arg("-version").output() else {
        println!("side by side: ffmpeg is not installed (Debian package ffmpeg); no comparison");
        return;
    };
    let version = String::from_utf8_lossy(&version.stdout);
    let dir = std::env::temp_dir().join(format!("glimvid-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");

    // Both start from the enhanced canvas; enhancing is not part of either.
    let enhanced = enhance(jpeg, aspect).expect("enhances");
    std::fs::write(dir.join("canvas.jpg"), &enhanced.jpeg).expect("writes");

    let (ours, glimvid_s) = timed_render(
        Background::Photo(&enhanced.image),
        script,
        aspect,
        duration,
        card,
    );
    println!(
        "side by side, 5 s 720x1280@{FPS}, captions + end card + AAC: glimvid {glimvid_s:.2} s ({} KB)",
        ours.mp4.len() / 1024
    );

    for preset in ["veryfast", "medium"] {
        let out = dir.join(format!("ffmpeg-{preset}.mp4"));
        let label = format!(
            "x264 {preset}, {}",
            version.lines().next().unwrap_or("ffmpeg")
        );
        compare(&label, glimvid_s, &out, || {
            ffmpeg(&dir, script, card, duration, preset, &out)
        });
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// The ffmpeg pipeline with the same ingredients: a Ken Burns push-in
/// (zoompan), the captions on translucent boxes with an outline (drawtext),
/// the end card over a dark scrim, a synthesised chord bed with fades,
/// loudness-normalised to -14 LUFS (loudnorm), x264 Main at the same
/// bitrate, AAC 128 kbit/s, fast start.
fn ffmpeg(
    dir: &Path,
    script: &glimvid_media::Script,
    card: &EndCard,
    duration: u32,
    preset: &str,
    out: &Path,
) -> Result<(), String> {
    let font = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/fonts/Roboto-Bold.ttf");
    let frames = duration * FPS;
    let card_start = f64::from(duration) - end_card_seconds(duration);
    let texts = [
        ("hook", script.hook.as_str()),
        ("scene", script.scenes[0].as_str()),
        ("title", card.title),
        ("cta", card.call_to_action),
        ("price", card.price.unwrap_or("")),
        ("url", card.url.unwrap_or("")),
    ];
    for (name, text) in texts {
        std::fs::write(dir.join(format!("{name}.txt")), text).map_err(|e| e.to_string())?;
    }
    let half = card_start / 2.0;
    let text = |name: &str, size: u32, y: &str, from: f64, to: f64, boxed: bool| {
        format!(
            "drawtext=fontfile={font}:textfile={}:fontsize={size}:fontcolor=white:borderw=3:bordercolor=black{}:x=(w*0.9-text_w)/2:y={y}:enable='between(t,{from},{to})'",
            dir.join(format!("{name}.txt")).display(),
            if boxed {
                ":box=1:boxcolor=black@0.55:boxborderw=20"
            } else {
                ""
            },
        )
    };
    let video = [
        format!(
            "zoompan=z='1+0.15*on/{}':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)':d={frames}:s=720x1280:fps={FPS}",
            frames - 1
        ),
        text("hook", 56, "h*0.78-text_h", 0.0, half, true),
        text("scene", 48, "h*0.78-text_h", half, card_start, true),
        format!("drawbox=x=0:y=0:w=iw:h=ih:color=black@0.62:t=fill:enable='gte(t,{card_start})'"),
        text("title", 68, "h*0.36", card_start, 99.0, false),
        text("price", 54, "h*0.45", card_start, 99.0, true),
        text("cta", 46, "h*0.53", card_start, 99.0, false),
        text("url", 34, "h*0.60", card_start, 99.0, false),
        "format=yuv420p".to_owned(),
    ]
    .join(",");
    let music = format!(
        "aevalsrc='0.2*sin(2*PI*220*t)+0.15*sin(2*PI*277.18*t)+0.12*sin(2*PI*329.63*t)+0.1*sin(2*PI*110*t)*(1-mod(t*2,1))|0.2*sin(2*PI*220.5*t)+0.15*sin(2*PI*277.6*t)+0.12*sin(2*PI*330.2*t)+0.1*sin(2*PI*110*t)*(1-mod(t*2,1))':s=48000:c=stereo:d={duration},afade=t=in:d=0.3,afade=t=out:st={}:d=1,loudnorm=I=-14:TP=-1,aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo",
        f64::from(duration) - 1.0
    );
    run_ffmpeg(
        &[dir.join("canvas.jpg")],
        &format!("[0:v]{video}[v];{music}[a]"),
        duration,
        preset,
        out,
    )
}

/// ffmpeg on one thread over `inputs` with the filter graph `graph`
/// (naming its outputs `[v]` and `[a]`), encoded as x264 Main at 2.5
/// Mbit/s and AAC 128 kbit/s, fast start: the same settings for every
/// comparison.
fn run_ffmpeg(
    inputs: &[std::path::PathBuf],
    graph: &str,
    duration: u32,
    preset: &str,
    out: &Path,
) -> Result<(), String> {
    let mut command = Command::new("ffmpeg");
    command
        .args(["-hide_banner", "-loglevel", "error", "-y", "-threads", "1"])
        .args(["-filter_threads", "1", "-filter_complex_threads", "1"]);
    for input in inputs {
        command.arg("-i").arg(input);
    }
    let status = command
        .args(["-filter_complex", graph])
        .args(["-map", "[v]", "-map", "[a]", "-t", &duration.to_string()])
        .args(["-c:v", "libx264", "-preset", preset, "-profile:v", "main"])
        .args(["-b:v", "2500k", "-threads", "1"])
        .args(["-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart"])
        .arg(out)
        .status()
        .map_err(|e| e.to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("exit {status}"))
    }
}

/// Glimvid's render with the upbeat bed, and how long it took in seconds.
fn timed_render(
    background: Background,
    script: &glimvid_media::Script,
    aspect: Aspect,
    duration_s: u32,
    card: &EndCard,
) -> (glimvid_media::Rendered, f64) {
    let start = Instant::now();
    let out = render(&RenderRequest {
        background,
        script,
        aspect,
        duration_s,
        end_card: *card,
        music: Some(Mood::Upbeat),
    })
    .expect("renders");
    (out, start.elapsed().as_secs_f64())
}

/// Times one ffmpeg run and prints it against Glimvid's `glimvid_s`.
fn compare(label: &str, glimvid_s: f64, out: &Path, run: impl FnOnce() -> Result<(), String>) {
    let start = Instant::now();
    let status = run();
    let ffmpeg_s = start.elapsed().as_secs_f64();
    match status {
        Ok(()) => println!(
            "  ffmpeg ({label}) {ffmpeg_s:.2} s ({} KB): glimvid is {:.1}x faster",
            std::fs::metadata(out).map(|m| m.len() / 1024).unwrap_or(0),
            ffmpeg_s / glimvid_s
        ),
        Err(e) => println!("  ffmpeg ({label}) failed: {e}"),
    }
}
