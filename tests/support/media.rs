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
