//! Real test images and MP4 inspection.

use glimvid_media::image::{ImageFormat, Rgb, RgbImage};

/// A product-like photo: a coloured object on a graded backdrop.
pub fn photo(width: u32, height: u32, format: ImageFormat) -> Vec<u8> {
    let img = RgbImage::from_fn(width, height, |x, y| {
        let (cx, cy) = (width as i64 / 2, height as i64 / 2);
        let (dx, dy) = (x as i64 - cx, y as i64 - cy);
        if dx * dx + dy * dy < (width.min(height) as i64 / 3).pow(2) {
            Rgb([200, (60 + y % 80) as u8, 40])
        } else {
            Rgb([
                (120 + x * 60 / width) as u8,
                110,
                (100 + y * 80 / height) as u8,
            ])
        }
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format).expect("encode test image");
    out.into_inner()
}

/// Photo `k` of a product shot from another side: each `k` a different
/// palette and pattern, so shots over them look nothing alike.
pub fn photo_of_side(k: u32, format: ImageFormat) -> Vec<u8> {
    let palettes = [
        ([200, 60, 40], [120, 110, 100]),
        ([30, 160, 60], [240, 230, 40]),
        ([20, 40, 200], [230, 230, 240]),
    ];
    let (a, b) = palettes[k as usize % palettes.len()];
    let tile = 60 + 70 * k;
    let img = RgbImage::from_fn(1200, 900, |x, y| {
        if (x / tile + y / tile) % 2 == 0 {
            Rgb(a)
        } else {
            Rgb(b)
        }
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format).expect("encode test image");
    out.into_inner()
}

pub struct VideoFacts {
    pub codec: String,
    pub width: u16,
    pub height: u16,
    pub samples: u32,
    pub duration_s: f64,
}

/// Demuxes an MP4 and reports its single video track.
pub fn inspect_mp4(bytes: &[u8]) -> VideoFacts {
    let size = bytes.len() as u64;
    let reader =
        mp4::Mp4Reader::read_header(std::io::Cursor::new(bytes), size).expect("a readable MP4");
    let track = reader
        .tracks()
        .values()
        .find(|t| t.track_type().ok() == Some(mp4::TrackType::Video))
        .expect("a video track");
    VideoFacts {
        codec: track
            .media_type()
            .map(|m| m.to_string())
            .unwrap_or_default(),
        width: track.width(),
        height: track.height(),
        samples: track.sample_count(),
        duration_s: track.duration().as_secs_f64(),
    }
}

/// What every stored video must be, whichever path made it, checked
/// independently of the renderer where possible.
pub struct Ready {
    pub fps: u32,
    pub width: u32,
    pub height: u32,
    /// Integrated loudness of the decoded soundtrack.
    pub lufs: f64,
    pub audio_rms_dbfs: f64,
}

/// ffprobe (Debian's) must see one H.264 Main/High and one AAC-LC stream;
/// the top-level boxes must be ftyp, moov, mdat (fast start); the video's
/// `vmhd` flags must be 1; the sound must decode and not be silent.
pub fn ready_to_post(mp4: &[u8]) -> Ready {
    let path = std::env::temp_dir().join(format!("glimvid-ready-{}.mp4", uuid::Uuid::new_v4()));
    std::fs::write(&path, mp4).expect("writes the video");
    let probe = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-show_entries"])
        .arg("stream=codec_type,codec_name,profile,width,height,r_frame_rate,sample_rate,channels")
        .args(["-of", "compact=p=0"])
        .arg(&path)
        .output()
        .expect("ffprobe runs (./scripts/test installs Debian's ffmpeg)");
    std::fs::remove_file(&path).ok();
    let text = String::from_utf8_lossy(&probe.stdout).into_owned();
    assert!(
        probe.status.success() && probe.stderr.is_empty(),
        "ffprobe: {}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let streams: Vec<std::collections::HashMap<&str, &str>> = text
        .lines()
        .map(|l| l.split('|').filter_map(|kv| kv.split_once('=')).collect())
        .collect();
    let video = streams
        .iter()
        .find(|s| s.get("codec_type") == Some(&"video"))
        .unwrap_or_else(|| panic!("no video stream: {text}"));
    let audio = streams
        .iter()
        .find(|s| s.get("codec_type") == Some(&"audio"))
        .unwrap_or_else(|| panic!("no audio stream: {text}"));
    assert_eq!(streams.len(), 2, "{text}");
    assert_eq!(video["codec_name"], "h264", "{text}");
    assert!(matches!(video["profile"], "Main" | "High"), "{text}");
    assert_eq!(
        (audio["codec_name"], audio["profile"]),
        ("aac", "LC"),
        "{text}"
    );
    assert_eq!(audio["channels"], "2", "{text}");

    assert_eq!(top_level_boxes(mp4), ["ftyp", "moov", "mdat"]);
    let reader = mp4::Mp4Reader::read_header(std::io::Cursor::new(mp4), mp4.len() as u64)
        .expect("a readable MP4");
    let vmhd = reader
        .tracks()
        .values()
        .find_map(|t| t.trak.mdia.minf.vmhd.as_ref().map(|v| v.flags));
    assert_eq!(vmhd, Some(1), "vmhd flags");

    let pcm = glimvid_media::render::decode_audio(mp4)
        .expect("the MP4 reads")
        .expect("an audio track");
    let lufs = glimvid_media::audio::loudness_lufs(&pcm).expect("measurable loudness");
    let rms = pcm.rms_dbfs();
    assert!(rms > -40.0, "the soundtrack is silent ({rms:.1} dBFS)");

    let (num, den) = video["r_frame_rate"].split_once('/').expect("a rate");
    let fps = num.parse::<u32>().expect("rate") / den.parse::<u32>().expect("rate").max(1);
    Ready {
        fps,
        width: video["width"].parse().expect("width"),
        height: video["height"].parse().expect("height"),
        lufs,
        audio_rms_dbfs: rms,
    }
}

/// Top-level box names in file order.
pub fn top_level_boxes(mp4: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    let mut at = 0usize;
    while at + 8 <= mp4.len() {
        let size = u32::from_be_bytes([mp4[at], mp4[at + 1], mp4[at + 2], mp4[at + 3]]) as usize;
        names.push(String::from_utf8_lossy(&mp4[at + 4..at + 8]).into_owned());
        if size < 8 {
            break;
        }
        at += size;
    }
    names
}

/// (x0, y0, x1, y1) in pixels.
pub type Rect = (u32, u32, u32, u32);

/// Mean absolute difference per channel over `rect`.
pub fn mean_diff(a: &RgbImage, b: &RgbImage, (x0, y0, x1, y1): Rect) -> f64 {
    let mut sum = 0u64;
    for y in y0..y1 {
        for x in x0..x1 {
            let (p, q) = (a.get_pixel(x, y).0, b.get_pixel(x, y).0);
            sum += (0..3).map(|c| u64::from(p[c].abs_diff(q[c]))).sum::<u64>();
        }
    }
    sum as f64 / f64::from((x1 - x0) * (y1 - y0) * 3)
}

pub fn mean_luma(a: &RgbImage, (x0, y0, x1, y1): Rect) -> f64 {
    let mut sum = 0.0;
    for y in y0..y1 {
        for x in x0..x1 {
            let p = a.get_pixel(x, y).0;
            sum += 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]);
        }
    }
    sum / f64::from((x1 - x0) * (y1 - y0))
}

/// Near-white pixels in `rect`.
pub fn white_pixels(img: &RgbImage, (x0, y0, x1, y1): Rect) -> usize {
    (y0..y1)
        .flat_map(|y| (x0..x1).map(move |x| (x, y)))
        .filter(|&(x, y)| img.get_pixel(x, y).0.iter().all(|&v| v > 225))
        .count()
}

/// The fake Seedance's clip through the Ark path, as stored: a 16:9 5 s
/// job keeps the clip's 24 fps and 1280x720, and every picture is the
/// provider's outside the caption box, the caption's inside it, until the
/// end card darkens and writes over the whole frame.
pub fn shows_captions_and_end_card_over(stored: &[u8], source: &[u8]) {
    let (fps, stored) =
        glimvid_media::render::decode_video(stored).expect("the stored video decodes");
    let (_, source) = glimvid_media::render::decode_video(source).expect("the clip decodes");
    assert_eq!((fps, stored.len(), source.len()), (24, 120, 120));
    for i in [10, 20, 65, 75] {
        let above = mean_diff(&stored[i], &source[i], (0, 0, 1280, 420));
        let caption = mean_diff(&stored[i], &source[i], (200, 560, 1080, 650));
        assert!(
            above < 6.0,
            "frame {i}: the picture changed by {above:.1} outside the caption"
        );
        assert!(
            caption > 25.0,
            "frame {i}: the caption area changed by only {caption:.1}"
        );
    }
    let last = &stored[119];
    let whole = (0, 0, 1280, 720);
    // Above the card's text the shot shows through, darkened.
    let top = (0, 0, 1280, 60);
    let (dark, bright) = (mean_luma(last, top), mean_luma(&source[119], top));
    assert!(
        dark < 0.6 * bright,
        "the end card darkens the last shot ({dark:.0} vs {bright:.0})"
    );
    assert!(white_pixels(last, whole) > 1000, "the end card has text");
}
