mod common;

use std::io::Cursor;

use common::{encode, product_photo};
use glimvid_media::enhance::enhance;
use glimvid_media::image::{ImageFormat, RgbImage};
use glimvid_media::render::render;
use glimvid_media::script::{ScriptInput, write};
use glimvid_media::{Aspect, Language, Rendered, Script};
use mp4::{MediaType, Mp4Reader, TrackType};

fn script(language: Language, duration_s: u32) -> Script {
    let (title, description) = match language {
        Language::En => (
            "Aurora Ceramic Mug",
            "Hand-glazed stoneware that keeps coffee hot for hours. Dishwasher safe. Holds 350 ml.",
        ),
        Language::Zh => (
            "极光陶瓷杯",
            "手工上釉的粗陶杯，保温效果出色。可放入洗碗机清洗！容量350毫升。",
        ),
    };
    write(&ScriptInput {
        title,
        description,
        language,
        duration_s,
        style: None,
    })
}

/// Demuxes the MP4 and checks its one track against what was asked for.
fn check_mp4(out: &Rendered, aspect: Aspect, duration_s: u32) -> Vec<mp4::Mp4Sample> {
    let (w, h) = aspect.video_size();
    assert_eq!((out.width, out.height, out.frames), (w, h, duration_s * 30));

    let size = out.mp4.len() as u64;
    let mut reader = Mp4Reader::read_header(Cursor::new(&out.mp4), size).expect("MP4 parses");
    assert_eq!(reader.tracks().len(), 1);
    let (&id, track) = reader.tracks().iter().next().expect("one track");
    assert_eq!(track.track_type().expect("type"), TrackType::Video);
    assert_eq!(track.media_type().expect("media"), MediaType::H264);
    assert_eq!(track.box_type().expect("box").to_string(), "avc1");
    assert_eq!(
        (u32::from(track.width()), u32::from(track.height())),
        (w, h)
    );
    assert_eq!(track.sample_count(), duration_s * 30);
    assert_eq!(
        track.duration(),
        std::time::Duration::from_secs(u64::from(duration_s))
    );
    assert_eq!(
        reader.duration(),
        std::time::Duration::from_secs(u64::from(duration_s))
    );
    assert!(
        (track.frame_rate() - 30.0).abs() < 0.5,
        "fps {}",
        track.frame_rate()
    );

    let samples: Vec<_> = (1..=duration_s * 30)
        .map(|i| {
            reader
                .read_sample(id, i)
                .expect("reads")
                .expect("sample exists")
        })
        .collect();
    assert!(samples[0].is_sync, "the first frame must be a keyframe");
    assert!(samples.iter().all(|s| s.duration == samples[0].duration));
    samples
}

/// Decodes the whole stream with OpenH264, proving it is valid H.264, and
/// returns the frame at `index` as RGB.
fn decode_frame(out: &Rendered, samples: &[mp4::Mp4Sample], index: usize) -> Vec<u8> {
    let size = out.mp4.len() as u64;
    let reader = Mp4Reader::read_header(Cursor::new(&out.mp4), size).expect("MP4 parses");
    let track = reader.tracks().values().next().expect("track");
    let (sps, pps) = (
        track.sequence_parameter_set().expect("sps"),
        track.picture_parameter_set().expect("pps"),
    );
    let mut decoder = openh264::decoder::Decoder::new().expect("decoder");
    let mut wanted = None;
    for (i, sample) in samples.iter().enumerate() {
        let mut annex_b = Vec::new();
        if i == 0 {
            for ps in [sps, pps] {
                annex_b.extend_from_slice(&[0, 0, 0, 1]);
                annex_b.extend_from_slice(ps);
            }
        }
        let mut rest = &sample.bytes[..];
        while rest.len() >= 4 {
            let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            annex_b.extend_from_slice(&[0, 0, 0, 1]);
            annex_b.extend_from_slice(&rest[4..4 + len]);
            rest = &rest[4 + len..];
        }
        assert!(rest.is_empty(), "sample {i} is not cleanly length-prefixed");
        let decoded = decoder
            .decode(&annex_b)
            .unwrap_or_else(|e| panic!("frame {i} fails to decode: {e}"));
        if i == index {
            use openh264::formats::YUVSource;
            let yuv = decoded.expect("frame decoded");
            let (w, h) = yuv.dimensions();
            let mut rgb = vec![0; w * h * 3];
            yuv.write_rgb8(&mut rgb);
            wanted = Some(rgb);
        }
    }
    wanted.expect("frame found")
}

fn poster(out: &Rendered) -> RgbImage {
    glimvid_media::image::load_from_memory(&out.poster_jpeg)
        .expect("poster decodes")
        .to_rgb8()
}

/// Near-white pixels: on the darkened band only caption glyphs are that bright.
fn white_pixels(img: &RgbImage, y0: u32, y1: u32) -> usize {
    (y0..y1)
        .flat_map(|y| (0..img.width()).map(move |x| (x, y)))
        .filter(|&(x, y)| img.get_pixel(x, y).0.iter().all(|&v| v > 225))
        .count()
}

#[test]
fn landscape_photo_video_is_h264_mp4_of_exact_length() {
    let photo = enhance(
        &encode(&product_photo(1200, 900), ImageFormat::Jpeg),
        Aspect::Landscape,
    )
    .expect("enhances");
    let out = render(
        Some(&photo.image),
        &script(Language::En, 5),
        Aspect::Landscape,
        5,
    )
    .expect("renders");
    let samples = check_mp4(&out, Aspect::Landscape, 5);

    // The poster is a real frame of the video (JPEG and H.264 both lossy,
    // so compare loosely).
    let frame = decode_frame(&out, &samples, 50);
    let poster = poster(&out);
    assert_eq!(poster.dimensions(), (1280, 720));
    let diff: u64 = frame
        .iter()
        .zip(poster.as_raw())
        .map(|(&a, &b)| u64::from(a.abs_diff(b)))
        .sum();
    let mean_diff = diff as f64 / frame.len() as f64;
    assert!(
        mean_diff < 12.0,
        "poster differs from frame 50 by {mean_diff}"
    );
}

#[test]
fn portrait_text_to_video_of_ten_seconds() {
    let out = render(None, &script(Language::En, 10), Aspect::Portrait, 10).expect("renders");
    let samples = check_mp4(&out, Aspect::Portrait, 10);
    assert!(
        samples.iter().filter(|s| s.is_sync).count() >= 2,
        "periodic keyframes"
    );
    let last = decode_frame(&out, &samples, samples.len() - 1);
    assert_eq!(last.len(), 720 * 1280 * 3);
    // English captions are drawn, centred when there is no product.
    let poster = poster(&out);
    assert!(white_pixels(&poster, 427, 853) > 300);
}

#[test]
fn square_chinese_captions_render() {
    let zh = script(Language::Zh, 5);
    let out = render(None, &zh, Aspect::Square, 5).expect("renders");
    check_mp4(&out, Aspect::Square, 5);
    let poster = poster(&out);
    let text = white_pixels(&poster, 240, 480);
    assert!(text > 300, "only {text} bright pixels in the caption area");
    // And nothing bright above it: the gradient itself is never near-white.
    assert!(white_pixels(&poster, 0, 150) < 20);
    poster.save("/tmp/glimvid-media-zh-poster.png").ok();
}

#[test]
fn renders_are_deterministic() {
    let s = script(Language::En, 1);
    let a = render(None, &s, Aspect::Square, 1).expect("renders");
    let b = render(None, &s, Aspect::Square, 1).expect("renders");
    assert_eq!(a.mp4, b.mp4);
}

#[test]
fn refuses_bad_durations_and_scripts() {
    let s = script(Language::En, 5);
    for bad in [0, 61, 1000] {
        let err = render(None, &s, Aspect::Square, bad)
            .err()
            .expect("refused");
        assert_eq!(err.code(), "invalid_duration");
    }
    let mut broken = s.clone();
    broken.scenes.clear();
    assert_eq!(
        render(None, &broken, Aspect::Square, 5)
            .err()
            .map(|e| e.code()),
        Some("invalid_script")
    );
}

/// Cross-checks with ffprobe when the machine has it (Debian's ffmpeg).
/// Set GLIMVID_REQUIRE_FFPROBE=1 to make its absence a failure.
#[test]
fn ffprobe_agrees_when_available() {
    let probe = std::process::Command::new("ffprobe")
        .arg("-version")
        .output();
    if probe.is_err() {
        assert!(
            std::env::var_os("GLIMVID_REQUIRE_FFPROBE").is_none(),
            "ffprobe required but missing"
        );
        eprintln!(
            "ffprobe not installed; skipping the ffprobe cross-check (the mp4-crate checks still ran)"
        );
        return;
    }
    let out = render(None, &script(Language::Zh, 5), Aspect::Landscape, 5).expect("renders");
    let path =
        std::env::temp_dir().join(format!("glimvid-media-ffprobe-{}.mp4", std::process::id()));
    std::fs::write(&path, &out.mp4).expect("writes");
    let result = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args([
            "-show_entries",
            "stream=codec_name,width,height,nb_read_frames,r_frame_rate,duration",
        ])
        .args(["-of", "default=noprint_wrappers=1"])
        .arg(&path)
        .output()
        .expect("ffprobe runs");
    std::fs::remove_file(&path).ok();
    let text = String::from_utf8_lossy(&result.stdout);
    assert!(
        result.status.success() && result.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    for expected in [
        "codec_name=h264",
        "width=1280",
        "height=720",
        "nb_read_frames=150",
        "r_frame_rate=30/1",
        "duration=5.000000",
    ] {
        assert!(
            text.lines().any(|l| l == expected),
            "missing {expected} in:\n{text}"
        );
    }
}
