mod common;

use std::io::Cursor;

use common::{encode, product_photo};
use glimvid_media::audio::{self, Mood};
use glimvid_media::enhance::enhance;
use glimvid_media::image::{ImageFormat, RgbImage};
use glimvid_media::render::{Background, EndCard, RenderRequest, render};
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
        variant: 0,
    })
}

/// Demuxes the MP4 and checks its one track against what was asked for.
fn check_mp4(out: &Rendered, aspect: Aspect, duration_s: u32, fps: u32) -> Vec<mp4::Mp4Sample> {
    let (w, h) = aspect.video_size();
    assert_eq!(
        (out.width, out.height, out.frames),
        (w, h, duration_s * fps)
    );

    let size = out.mp4.len() as u64;
    let mut reader = Mp4Reader::read_header(Cursor::new(&out.mp4), size).expect("MP4 parses");
    assert_eq!(reader.tracks().len(), if out.has_audio { 2 } else { 1 });
    let (&id, track) = reader
        .tracks()
        .iter()
        .find(|(_, t)| t.track_type().ok() == Some(TrackType::Video))
        .expect("a video track");
    assert_eq!(track.track_type().expect("type"), TrackType::Video);
    assert_eq!(track.media_type().expect("media"), MediaType::H264);
    assert_eq!(track.box_type().expect("box").to_string(), "avc1");
    assert_eq!(
        (u32::from(track.width()), u32::from(track.height())),
        (w, h)
    );
    assert_eq!(track.sample_count(), duration_s * fps);
    assert_eq!(
        track.duration(),
        std::time::Duration::from_secs(u64::from(duration_s))
    );
    assert_eq!(
        reader.duration(),
        std::time::Duration::from_secs(u64::from(duration_s))
    );
    assert!(
        (track.frame_rate() - f64::from(fps)).abs() < 0.5,
        "fps {}",
        track.frame_rate()
    );

    let samples: Vec<_> = (1..=duration_s * fps)
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

/// Decodes every picture of the MP4's video track in display order with
/// OpenH264, proving the stream is valid H.264.
fn decode_all(mp4: &[u8]) -> Vec<RgbImage> {
    use openh264::decoder::{DecodeOptions, Decoder, DecoderConfig, Flush};
    use openh264::formats::YUVSource;
    let mut reader =
        Mp4Reader::read_header(Cursor::new(mp4), mp4.len() as u64).expect("MP4 parses");
    let track = reader
        .tracks()
        .values()
        .find(|t| t.track_type().ok() == Some(TrackType::Video))
        .expect("video");
    let id = track.track_id();
    let count = track.sample_count();
    let mut annex_b = Vec::new();
    for ps in [
        track.sequence_parameter_set().expect("sps"),
        track.picture_parameter_set().expect("pps"),
    ] {
        annex_b.extend_from_slice(&[0, 0, 0, 1]);
        annex_b.extend_from_slice(ps);
    }
    let mut decoder = Decoder::with_api_config(
        openh264::OpenH264API::from_source(),
        DecoderConfig::new().flush_after_decode(Flush::NoFlush),
    )
    .expect("decoder");
    let to_image = |yuv: &openh264::decoder::DecodedYUV| {
        let (w, h) = yuv.dimensions();
        let mut rgb = vec![0; w * h * 3];
        yuv.write_rgb8(&mut rgb);
        RgbImage::from_raw(w as u32, h as u32, rgb).expect("sized")
    };
    let mut frames = Vec::new();
    for i in 1..=count {
        let sample = reader.read_sample(id, i).expect("reads").expect("sample");
        let mut rest = &sample.bytes[..];
        while rest.len() >= 4 {
            let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            annex_b.extend_from_slice(&[0, 0, 0, 1]);
            annex_b.extend_from_slice(&rest[4..4 + len]);
            rest = &rest[4 + len..];
        }
        assert!(rest.is_empty(), "sample {i} is not cleanly length-prefixed");
        let options = DecodeOptions::new().flush_after_decode(Flush::NoFlush);
        if let Some(yuv) = decoder
            .decode_with_options(&annex_b, options)
            .unwrap_or_else(|e| panic!("sample {i} fails to decode: {e}"))
        {
            frames.push(to_image(&yuv));
        }
        annex_b.clear();
    }
    for yuv in decoder.flush_remaining().expect("flush") {
        frames.push(to_image(&yuv));
    }
    frames
}

/// The MP4's AAC track decoded, if it has one.
fn decoded_audio(mp4: &[u8]) -> Option<audio::Pcm> {
    glimvid_media::render::decode_audio(mp4).expect("our MP4 reads")
}

/// Magnitude of one frequency in the left channel (a single DFT bin).
fn tone_strength(pcm: &audio::Pcm, hz: f64) -> f64 {
    let channels = usize::from(pcm.channels);
    let (mut re, mut im) = (0.0, 0.0);
    for (n, frame) in pcm.samples.chunks_exact(channels).enumerate() {
        let phase = 2.0 * std::f64::consts::PI * hz * n as f64 / f64::from(pcm.sample_rate);
        re += f64::from(frame[0]) * phase.cos();
        im += f64::from(frame[0]) * phase.sin();
    }
    (re * re + im * im).sqrt() / pcm.samples.len() as f64
}

fn poster(out: &Rendered) -> RgbImage {
    glimvid_media::image::load_from_memory(&out.poster_jpeg)
        .expect("poster decodes")
        .to_rgb8()
}

type Rect = (u32, u32, u32, u32);

/// Near-white pixels in (x0, y0, x1, y1): on these backgrounds only text
/// is that bright.
fn white_pixels(img: &RgbImage, (x0, y0, x1, y1): Rect) -> usize {
    (y0..y1)
        .flat_map(|y| (x0..x1).map(move |x| (x, y)))
        .filter(|&(x, y)| img.get_pixel(x, y).0.iter().all(|&v| v > 225))
        .count()
}

fn card() -> EndCard<'static> {
    EndCard {
        title: "Aurora Ceramic Mug",
        call_to_action: "Get yours today.",
        price: Some("$24"),
        url: Some("https://shop.example.com/aurora"),
    }
}

fn request<'a>(
    background: Background<'a>,
    script: &'a Script,
    aspect: Aspect,
    duration_s: u32,
) -> RenderRequest<'a> {
    RenderRequest {
        background,
        script,
        aspect,
        duration_s,
        end_card: card(),
        music: Some(Mood::Upbeat),
    }
}

/// Top-level boxes in file order, with the `vmhd` flags found inside.
fn layout(mp4: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    let mut at = 0usize;
    while at + 8 <= mp4.len() {
        let size = u32::from_be_bytes(mp4[at..at + 4].try_into().unwrap()) as usize;
        names.push(String::from_utf8_lossy(&mp4[at + 4..at + 8]).into_owned());
        assert!(size >= 8 && at + size <= mp4.len(), "box sizes add up");
        at += size;
    }
    names
}

const SOURCE_CLIP: &[u8] = include_bytes!("fixtures/provider-clip.mp4");

#[test]
fn landscape_photo_video_is_h264_and_aac_fast_start_mp4_of_exact_length() {
    let photo = enhance(
        &encode(&product_photo(1200, 900), ImageFormat::Jpeg),
        Aspect::Landscape,
    )
    .expect("enhances");
    let s = script(Language::En, 5);
    let out = render(&request(
        Background::Photo(&photo.image),
        &s,
        Aspect::Landscape,
        5,
    ))
    .expect("renders");
    let samples = check_mp4(&out, Aspect::Landscape, 5, 30);
    assert!(out.has_audio);
    assert_eq!(layout(&out.mp4), ["ftyp", "moov", "mdat"]);

    let reader =
        Mp4Reader::read_header(Cursor::new(&out.mp4), out.mp4.len() as u64).expect("MP4 parses");
    let video = reader
        .tracks()
        .values()
        .find(|t| t.track_type().ok() == Some(TrackType::Video))
        .expect("video");
    assert_eq!(video.trak.mdia.minf.vmhd.as_ref().map(|v| v.flags), Some(1));
    // profile_idc 77: Main.
    assert_eq!(video.sequence_parameter_set().expect("sps")[1], 77);
    let audio = reader
        .tracks()
        .values()
        .find(|t| t.track_type().ok() == Some(TrackType::Audio))
        .expect("audio");
    assert_eq!(audio.media_type().expect("media"), MediaType::AAC);
    assert!(
        (audio.duration().as_secs_f64() - 5.0).abs() < 0.1,
        "{:?}",
        audio.duration()
    );

    // The poster is a real frame of the video (JPEG and H.264 both lossy,
    // so compare loosely).
    let frames = decode_all(&out.mp4);
    assert_eq!(frames.len(), samples.len());
    let poster = poster(&out);
    assert_eq!(poster.dimensions(), (1280, 720));
    let best = frames
        .iter()
        .map(|f| {
            let sum: u64 = f
                .as_raw()
                .iter()
                .zip(poster.as_raw())
                .map(|(&a, &b)| u64::from(a.abs_diff(b)))
                .sum();
            sum as f64 / f.as_raw().len() as f64
        })
        .fold(f64::MAX, f64::min);
    assert!(best < 12.0, "the poster differs from every frame by {best}");
}

#[test]
fn the_soundtrack_is_loud_enough_and_follows_the_music_choice() {
    let s = script(Language::En, 5);
    let out = render(&request(Background::Generated, &s, Aspect::Square, 5)).expect("renders");
    let pcm = decoded_audio(&out.mp4).expect("an audio track");
    let lufs = audio::loudness_lufs(&pcm).expect("measurable");
    assert!((lufs + 14.0).abs() < 1.5, "{lufs:.1} LUFS");
    assert!(
        (pcm.seconds() - 5.0).abs() < 0.1,
        "{} s of sound",
        pcm.seconds()
    );

    let silent = render(&RenderRequest {
        music: None,
        ..request(Background::Generated, &s, Aspect::Square, 5)
    })
    .expect("renders");
    assert!(!silent.has_audio);
    assert!(decoded_audio(&silent.mp4).is_none());
}

#[test]
fn portrait_text_to_video_of_ten_seconds_keeps_text_in_the_safe_zone() {
    let s = script(Language::En, 10);
    let out = render(&request(Background::Generated, &s, Aspect::Portrait, 10)).expect("renders");
    let samples = check_mp4(&out, Aspect::Portrait, 10, 30);
    assert!(
        samples.iter().filter(|s| s.is_sync).count() >= 2,
        "periodic keyframes"
    );
    let frames = decode_all(&out.mp4);
    assert_eq!(frames.len(), 300);
    // Captions and the end card are drawn, and nothing bright lies in the
    // bottom fifth or the right edge apps cover (the gradient itself is
    // never near-white).
    let mut with_text = 0;
    for (i, frame) in frames.iter().enumerate().step_by(5) {
        // Fading captions are dimmer than white for a few frames.
        if white_pixels(frame, (43, 128, 605, 1024)) > 200 {
            with_text += 1;
        }
        assert_eq!(
            white_pixels(frame, (0, 1024, 720, 1280)),
            0,
            "frame {i}: text in the bottom fifth"
        );
        assert_eq!(
            white_pixels(frame, (605, 0, 720, 1280)),
            0,
            "frame {i}: text at the right edge"
        );
    }
    assert!(with_text >= 50, "text on only {with_text} of 60 frames");
}

#[test]
fn square_chinese_captions_render() {
    let zh = script(Language::Zh, 5);
    let out = render(&request(Background::Generated, &zh, Aspect::Square, 5)).expect("renders");
    check_mp4(&out, Aspect::Square, 5, 30);
    let poster = poster(&out);
    let text = white_pixels(&poster, (0, 240, 720, 480));
    assert!(text > 300, "only {text} bright pixels in the caption area");
    assert!(white_pixels(&poster, (0, 0, 720, 150)) < 20);
    poster.save("/tmp/glimvid-media-zh-poster.png").ok();
}

/// A provider's clip (x264 High profile with B-frames and 44.1 kHz AAC,
/// like Seedance's) comes out captioned and carded at the job's size, at
/// its own frame rate, with its sound kept under the music.
#[test]
fn a_provider_clip_gets_captions_an_end_card_and_music() {
    let s = script(Language::En, 5);
    let out = render(&request(
        Background::Clip(SOURCE_CLIP),
        &s,
        Aspect::Landscape,
        5,
    ))
    .expect("renders");
    assert_eq!(
        (out.width, out.height, out.fps, out.frames),
        (1280, 720, 24, 120)
    );
    check_mp4(&out, Aspect::Landscape, 5, 24);
    assert_eq!(layout(&out.mp4), ["ftyp", "moov", "mdat"]);

    let source = decode_all(SOURCE_CLIP);
    let stored = decode_all(&out.mp4);
    assert_eq!((source.len(), stored.len()), (120, 120));
    // Captions are drawn over the clip (the test pattern has no pure
    // white in the box's rows), the end card over its last shot.
    let caption_rows = (0, 540, 1280, 660);
    for i in [10, 20, 65, 75] {
        assert!(white_pixels(&source[i], caption_rows) < 50);
        assert!(white_pixels(&stored[i], caption_rows) > 500, "frame {i}");
    }
    assert!(white_pixels(&stored[119], (0, 0, 1280, 720)) > 1000);

    // The provider's 330 Hz tone is still in the mix, under the bed.
    let pcm = decoded_audio(&out.mp4).expect("sound");
    assert!(tone_strength(&pcm, 330.0) > 3.0 * tone_strength(&pcm, 1234.0));
    let lufs = audio::loudness_lufs(&pcm).expect("measurable");
    assert!((lufs + 14.0).abs() < 1.5, "{lufs:.1} LUFS");
}

#[test]
fn a_broken_clip_is_refused_not_rendered() {
    let s = script(Language::En, 5);
    let mut damaged = SOURCE_CLIP.to_vec();
    damaged.truncate(2000);
    for bytes in [&b"not a video"[..], &damaged] {
        let err = render(&request(Background::Clip(bytes), &s, Aspect::Landscape, 5))
            .err()
            .expect("refused");
        assert_eq!(err.code(), "provider_bad_result");
    }
}

#[test]
fn renders_are_deterministic() {
    let s = script(Language::En, 1);
    let a = render(&request(Background::Generated, &s, Aspect::Square, 1)).expect("renders");
    let b = render(&request(Background::Generated, &s, Aspect::Square, 1)).expect("renders");
    assert_eq!(a.mp4, b.mp4);
}

#[test]
fn refuses_bad_durations_and_scripts() {
    let s = script(Language::En, 5);
    for bad in [0, 61, 1000] {
        let err = render(&request(Background::Generated, &s, Aspect::Square, bad))
            .err()
            .expect("refused");
        assert_eq!(err.code(), "invalid_duration");
    }
    let mut broken = s.clone();
    broken.scenes.clear();
    assert_eq!(
        render(&request(Background::Generated, &broken, Aspect::Square, 5))
            .err()
            .map(|e| e.code()),
        Some("invalid_script")
    );
}

/// Cross-checks with ffprobe (Debian's ffmpeg) when the machine has it.
/// Set GLIMVID_REQUIRE_FFPROBE=1 (the test script does) to make its
/// absence a failure.
#[test]
fn ffprobe_agrees() {
    if std::process::Command::new("ffprobe")
        .arg("-version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("GLIMVID_REQUIRE_FFPROBE").is_none(),
            "ffprobe required but missing"
        );
        eprintln!("ffprobe not installed; skipping the ffprobe cross-check");
        return;
    }
    let s = script(Language::Zh, 5);
    for (background, fps, frames) in [
        (Background::Generated, "30/1", "150"),
        (Background::Clip(SOURCE_CLIP), "24/1", "120"),
    ] {
        let out = render(&request(background, &s, Aspect::Landscape, 5)).expect("renders");
        let path = std::env::temp_dir().join(
            format!("glimvid-media-ffprobe-{}-{fps}.mp4", std::process::id()).replace('/', "_"),
        );
        std::fs::write(&path, &out.mp4).expect("writes");
        let result = std::process::Command::new("ffprobe")
            .args(["-v", "error", "-count_frames"])
            .args(["-show_entries", "stream=codec_name,profile,width,height,nb_read_frames,r_frame_rate,duration,sample_rate,channels"])
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
            "codec_name=h264".to_owned(),
            "profile=Main".to_owned(),
            "width=1280".to_owned(),
            "height=720".to_owned(),
            format!("nb_read_frames={frames}"),
            format!("r_frame_rate={fps}"),
            "duration=5.000000".to_owned(),
            "codec_name=aac".to_owned(),
            "profile=LC".to_owned(),
            "sample_rate=48000".to_owned(),
            "channels=2".to_owned(),
        ] {
            assert!(
                text.lines().any(|l| l == expected),
                "missing {expected} in:\n{text}"
            );
        }
    }
}

/// Mean absolute difference per channel between two pictures, 0..255.
fn difference(a: &RgbImage, b: &RgbImage) -> f64 {
    let total: u64 = a
        .iter()
        .zip(b.iter())
        .map(|(&x, &y)| u64::from(x.abs_diff(y)))
        .sum();
    total as f64 / a.as_raw().len() as f64
}

/// Three photos that look nothing alike: the product, a cool gradient and
/// a checkerboard.
fn three_photos(aspect: Aspect) -> Vec<RgbImage> {
    let checker = RgbImage::from_fn(1600, 1200, |x, y| {
        if (x / 100 + y / 100) % 2 == 0 {
            glimvid_media::image::Rgb([30, 160, 60])
        } else {
            glimvid_media::image::Rgb([240, 230, 40])
        }
    });
    [
        common::product_photo(1600, 1200),
        RgbImage::from_fn(1600, 1200, |x, y| {
            glimvid_media::image::Rgb([20, (40 + y / 10) as u8, (120 + x / 16) as u8])
        }),
        checker,
    ]
    .iter()
    .map(|p| {
        enhance(&encode(p, ImageFormat::Jpeg), aspect)
            .expect("enhances")
            .image
    })
    .collect()
}

/// The multi-shot ad: a 30 s 9:16 video from three photos is seven shots
/// (hook, five scenes, end card) over the photos in turn, each different
/// from its neighbours, cut together with transitions, each caption over
/// its own shot, and one 30 s sound track.
#[test]
fn thirty_seconds_from_three_photos_is_a_sequence_of_shots() {
    let aspect = Aspect::Portrait;
    let s = script(Language::En, 30);
    assert_eq!(s.scenes.len(), 5);
    let photos = three_photos(aspect);
    let out = render(&request(
        Background::Shots {
            photos: &photos,
            clips: &[],
        },
        &s,
        aspect,
        30,
    ))
    .expect("renders");
    check_mp4(&out, aspect, 30, 30);
    assert_eq!(out.shot_starts.len(), 7, "{:?}", out.shot_starts);
    let frames = decode_all(&out.mp4);
    assert_eq!(frames.len(), 900);

    // Mid-shot pictures: every shot differs from the one before it, and at
    // least five of them differ from every other shot.
    let mut ends: Vec<u32> = out.shot_starts[1..].to_vec();
    ends.push(900);
    let middles: Vec<&RgbImage> = out
        .shot_starts
        .iter()
        .zip(&ends)
        .map(|(&a, &b)| &frames[((a + b) / 2) as usize])
        .collect();
    for (k, pair) in middles.windows(2).enumerate() {
        let d = difference(pair[0], pair[1]);
        assert!(d > 12.0, "shots {k} and {} differ by only {d:.1}", k + 1);
    }
    let distinct = (0..middles.len())
        .filter(|&i| (0..middles.len()).all(|j| i == j || difference(middles[i], middles[j]) > 3.0))
        .count();
    assert!(distinct >= 5, "{distinct} shots are unlike all others");

    // Transitions: the frame just before each cut is neither the last
    // picture of the shot nor the first of the next, but in between.
    for (k, &cut) in out.shot_starts[1..].iter().enumerate() {
        let (before, during, after) = (
            &frames[(cut - 12) as usize],
            &frames[(cut - 4) as usize],
            &frames[(cut + 2) as usize],
        );
        let whole = difference(before, after);
        assert!(
            difference(before, during) > 0.15 * whole && difference(during, after) > 0.15 * whole,
            "cut {k} at frame {cut} happens all at once"
        );
    }

    // Captions: within every caption shot the caption's box is on screen
    // in its middle and gone at its edges (they fade at the shot's cuts).
    let caption_rows = (0, 900, 720, 1150);
    for (k, (&a, &b)) in out.shot_starts.iter().zip(&ends).enumerate().take(6) {
        let middle = &frames[((a + b) / 2) as usize];
        assert!(
            white_pixels(middle, caption_rows) > 300,
            "shot {k} has no caption in its middle"
        );
    }

    let pcm = decoded_audio(&out.mp4).expect("one sound track");
    assert!(
        (pcm.seconds() - 30.0).abs() < 0.05,
        "{:.2} s",
        pcm.seconds()
    );
    // The music bed plays across the whole video: no silent stretch at
    // any cut.
    for &cut in &out.shot_starts[1..] {
        let at = (f64::from(cut) / 30.0 * f64::from(pcm.sample_rate)) as usize;
        let around = pcm.slice_frames(at.saturating_sub(4800), 9600);
        assert!(around.rms_dbfs() > -40.0, "silence at frame {cut}");
    }
}

/// A provider's clip stands in for its shot's camera move (at the video's
/// 30 fps, not the clip's 24); a clip that can't be read leaves its shot
/// to the camera move, and `clip_shots` says which shots had a clip.
#[test]
fn clips_stand_in_for_their_shots_and_a_broken_one_leaves_the_camera_move() {
    let aspect = Aspect::Landscape;
    let s = script(Language::En, 15);
    let photos = three_photos(aspect);
    let broken = b"not an mp4 at all".to_vec();
    let clips = [None, Some(SOURCE_CLIP), None, Some(broken.as_slice())];
    let out = render(&request(
        Background::Shots {
            photos: &photos,
            clips: &clips,
        },
        &s,
        aspect,
        15,
    ))
    .expect("renders");
    check_mp4(&out, aspect, 15, 30);
    assert_eq!(out.clip_shots, [1]);

    let frames = decode_all(&out.mp4);
    let source = decode_all(SOURCE_CLIP);
    // Above the captions, a clip shot's middle is one of the clip's
    // pictures; the broken clip's shot is none of them.
    let top =
        |img: &RgbImage| glimvid_media::image::imageops::crop_imm(img, 0, 0, 1280, 360).to_image();
    let nearest_clip_picture = |k: usize| {
        let middle = top(&frames[((out.shot_starts[k] + out.shot_starts[k + 1]) / 2) as usize]);
        source
            .iter()
            .map(|p| difference(&middle, &top(p)))
            .fold(f64::MAX, f64::min)
    };
    let shown = nearest_clip_picture(1);
    assert!(shown < 6.0, "shot 1 is not the clip ({shown:.1})");
    for k in [0, 2, 3] {
        let other = nearest_clip_picture(k);
        assert!(
            other > 4.0 * shown,
            "shot {k} looks like the clip ({other:.1})"
        );
    }
    // The clip's own 330 Hz tone plays with its shot, over the bed, and
    // not in the shots around it.
    let pcm = decoded_audio(&out.mp4).expect("sound");
    assert!(
        (pcm.seconds() - 15.0).abs() < 0.05,
        "{:.2} s",
        pcm.seconds()
    );
    let rate = f64::from(pcm.sample_rate);
    let middle_half = |k: usize| {
        let (a, b) = (
            f64::from(out.shot_starts[k]),
            f64::from(out.shot_starts[k + 1]),
        );
        let (from, to) = ((a * 0.75 + b * 0.25) / 30.0, (a * 0.25 + b * 0.75) / 30.0);
        pcm.slice_frames((from * rate) as usize, ((to - from) * rate) as usize)
    };
    let with = tone_strength(&middle_half(1), 330.0);
    assert!(with > 3.0 * tone_strength(&middle_half(1), 1234.0));
    for k in [0, 2] {
        let without = tone_strength(&middle_half(k), 330.0);
        assert!(
            with > 3.0 * without,
            "shot {k}: {without:.5} against {with:.5}"
        );
    }
}
