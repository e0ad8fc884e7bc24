//! Upload validation. The client's declared content type is only a hint: the
//! bytes must start with a supported format's signature and carry a header of
//! that format with usable dimensions ([`read_header`], no decoder needed, so
//! the API checks uploads without linking one). With `codecs`, [`inspect`]
//! also decodes the whole image, so the stage that first reads the pixels
//! refuses a truncated or damaged file with a stable code.

#[cfg(feature = "codecs")]
use std::io::Cursor;

#[cfg(feature = "codecs")]
use image::{DynamicImage, ImageReader, Limits};

use crate::MediaError;

/// Longest side accepted. Phone cameras top out around 8000 px, but nothing
/// here needs more than ~1500 px, and the cap bounds decoder memory.
pub const MAX_SIDE: u32 = 6000;
/// Largest pixel count accepted (40 MP is ~120 MB as RGB).
pub const MAX_MEGAPIXELS: u32 = 40;
/// Smaller images can't make a watchable video frame.
pub const MIN_SIDE: u32 = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    Jpeg,
    Png,
    WebP,
}

impl ImageFormat {
    pub fn mime_type(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Png => "image/png",
            ImageFormat::WebP => "image/webp",
        }
    }

    /// Maps a declared content type to the format it promises, if supported.
    pub fn from_mime_type(mime: &str) -> Option<ImageFormat> {
        match mime.trim().to_ascii_lowercase().as_str() {
            "image/jpeg" | "image/jpg" => Some(ImageFormat::Jpeg),
            "image/png" => Some(ImageFormat::Png),
            "image/webp" => Some(ImageFormat::WebP),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "jpg",
            ImageFormat::Png => "png",
            ImageFormat::WebP => "webp",
        }
    }

    fn name(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "JPEG",
            ImageFormat::Png => "PNG",
            ImageFormat::WebP => "WebP",
        }
    }

    #[cfg(feature = "codecs")]
    fn to_image_crate(self) -> image::ImageFormat {
        match self {
            ImageFormat::Jpeg => image::ImageFormat::Jpeg,
            ImageFormat::Png => image::ImageFormat::Png,
            ImageFormat::WebP => image::ImageFormat::WebP,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageInfo {
    pub format: ImageFormat,
    pub width: u32,
    pub height: u32,
}

/// What the leading bytes claim to be.
enum Sniffed {
    Supported(ImageFormat),
    Unsupported(&'static str),
    Unknown,
}

fn sniff_signature(bytes: &[u8]) -> Sniffed {
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Sniffed::Supported(ImageFormat::Jpeg);
    }
    if bytes.starts_with(PNG) {
        return Sniffed::Supported(ImageFormat::Png);
    }
    if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Sniffed::Supported(ImageFormat::WebP);
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return Sniffed::Unsupported("GIF");
    }
    if bytes.starts_with(b"BM") && bytes.len() >= 26 {
        return Sniffed::Unsupported("BMP");
    }
    if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        return Sniffed::Unsupported("TIFF");
    }
    if bytes.starts_with(b"8BPS") {
        return Sniffed::Unsupported("PSD");
    }
    if bytes.starts_with(&[0xFF, 0x0A]) || bytes.starts_with(b"\0\0\0\x0cJXL \r\n\x87\n") {
        return Sniffed::Unsupported("JPEG XL");
    }
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        return match &bytes[8..12] {
            b"avif" | b"avis" => Sniffed::Unsupported("AVIF"),
            b"heic" | b"heix" | b"hevc" | b"heim" | b"heis" | b"mif1" | b"msf1" => {
                Sniffed::Unsupported("HEIC")
            }
            _ => Sniffed::Unknown,
        };
    }
    Sniffed::Unknown
}

/// The supported format the signature claims, without decoding anything.
pub fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
    match sniff_signature(bytes) {
        Sniffed::Supported(format) => Some(format),
        _ => None,
    }
}

/// Reads the format and dimensions from the header alone and checks them.
/// A file whose signature and header disagree, or whose header is cut short,
/// is refused; a damaged body is not noticed until the pixels are decoded.
pub fn read_header(bytes: &[u8]) -> Result<ImageInfo, MediaError> {
    let format = match sniff_signature(bytes) {
        Sniffed::Supported(format) => format,
        Sniffed::Unsupported(name) => return Err(MediaError::UnsupportedFormat(name)),
        Sniffed::Unknown => return Err(MediaError::NotAnImage),
    };
    let mismatch = |detail: String| MediaError::FormatMismatch {
        magic: format.name(),
        detail,
    };
    let claimed = match format {
        ImageFormat::Jpeg => imagesize::ImageType::Jpeg,
        ImageFormat::Png => imagesize::ImageType::Png,
        ImageFormat::WebP => imagesize::ImageType::Webp,
    };
    let size = claimed
        .reader_size(&mut std::io::Cursor::new(bytes))
        .map_err(|e| mismatch(e.to_string()))?;
    let (width, height) = (
        u32::try_from(size.width).map_err(|_| mismatch("width out of range".into()))?,
        u32::try_from(size.height).map_err(|_| mismatch("height out of range".into()))?,
    );
    if width == 0 || height == 0 {
        return Err(mismatch("the header gives no size".into()));
    }
    check_size(width, height)?;
    Ok(ImageInfo {
        format,
        width,
        height,
    })
}

/// Checks that `bytes` are a whole JPEG, PNG or WebP image of a usable size.
#[cfg(feature = "codecs")]
pub fn inspect(bytes: &[u8]) -> Result<ImageInfo, MediaError> {
    decode(bytes).map(|(info, _)| info)
}

#[cfg(feature = "codecs")]
fn decode_limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    // Room for the decoded pixels at 4 bytes each plus decoder scratch.
    limits.max_alloc = Some(u64::from(MAX_MEGAPIXELS) * 1_000_000 * 4 + (64 << 20));
    limits
}

/// Validates and decodes in one go, so callers that need the pixels (the
/// enhancer) don't parse untrusted bytes twice.
#[cfg(feature = "codecs")]
pub(crate) fn decode(bytes: &[u8]) -> Result<(ImageInfo, DynamicImage), MediaError> {
    let format = match sniff_signature(bytes) {
        Sniffed::Supported(format) => format,
        Sniffed::Unsupported(name) => return Err(MediaError::UnsupportedFormat(name)),
        Sniffed::Unknown => return Err(MediaError::NotAnImage),
    };

    // The header is read first and on its own: a failure here means the
    // signature lied, which is a different story from a damaged body.
    let header = ImageReader::with_format(Cursor::new(bytes), format.to_image_crate());
    let (width, height) = header
        .into_dimensions()
        .map_err(|e| MediaError::FormatMismatch {
            magic: format.name(),
            detail: e.to_string(),
        })?;
    check_size(width, height)?;

    let mut reader = ImageReader::with_format(Cursor::new(bytes), format.to_image_crate());
    reader.limits(decode_limits());
    let image = reader
        .decode()
        .map_err(|e| MediaError::CorruptImage(e.to_string()))?;
    if (image.width(), image.height()) != (width, height) {
        return Err(MediaError::CorruptImage(format!(
            "header says {width}x{height} but the pixels are {}x{}",
            image.width(),
            image.height()
        )));
    }
    Ok((
        ImageInfo {
            format,
            width,
            height,
        },
        image,
    ))
}

fn check_size(width: u32, height: u32) -> Result<(), MediaError> {
    let pixels = u64::from(width) * u64::from(height);
    if width > MAX_SIDE || height > MAX_SIDE || pixels > u64::from(MAX_MEGAPIXELS) * 1_000_000 {
        return Err(MediaError::ImageTooLarge {
            width,
            height,
            max_side: MAX_SIDE,
            max_megapixels: MAX_MEGAPIXELS,
        });
    }
    if width < MIN_SIDE || height < MIN_SIDE {
        return Err(MediaError::ImageTooSmall {
            width,
            height,
            min_side: MIN_SIDE,
        });
    }
    Ok(())
}
