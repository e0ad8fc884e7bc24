use thiserror::Error;

/// Why a media operation refused or failed. `code()` is stable (stored in job
/// records and returned to clients); the message is for humans and may change.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum MediaError {
    #[error("the file is not an image")]
    NotAnImage,
    #[error("unsupported image format {0}; upload a JPEG, PNG or WebP")]
    UnsupportedFormat(&'static str),
    #[error("the file starts like a {magic} but is not a valid {magic} ({detail})")]
    FormatMismatch { magic: &'static str, detail: String },
    #[error("the image data is corrupt or truncated ({0})")]
    CorruptImage(String),
    #[error(
        "the image is {width}x{height}; the limit is {max_side} px per side and {max_megapixels} megapixels"
    )]
    ImageTooLarge {
        width: u32,
        height: u32,
        max_side: u32,
        max_megapixels: u32,
    },
    #[error("the image is {width}x{height}; each side must be at least {min_side} px")]
    ImageTooSmall {
        width: u32,
        height: u32,
        min_side: u32,
    },
    #[error("invalid script: {0}")]
    InvalidScript(String),
    #[error("invalid duration {0} s; it must be between {min} and {max} s", min = crate::MIN_DURATION_S, max = crate::MAX_DURATION_S)]
    InvalidDuration(u32),
    #[error("the video generator's clip could not be used: {0}")]
    BadClip(String),
    #[error("video encoding failed: {0}")]
    Encode(String),
    #[error("image encoding failed: {0}")]
    ImageEncode(String),
    /// Audio that could not be decoded, resampled or encoded: a provider's
    /// track or our own, never the client's upload.
    #[error("audio processing failed: {0}")]
    Audio(String),
}

impl MediaError {
    /// A stable, machine-readable reason.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotAnImage => "not_an_image",
            Self::UnsupportedFormat(_) => "unsupported_format",
            Self::FormatMismatch { .. } => "format_mismatch",
            Self::CorruptImage(_) => "corrupt_image",
            Self::ImageTooLarge { .. } => "image_too_large",
            Self::ImageTooSmall { .. } => "image_too_small",
            Self::InvalidScript(_) => "invalid_script",
            Self::InvalidDuration(_) => "invalid_duration",
            Self::BadClip(_) => "provider_bad_result",
            Self::Encode(_) => "encode_failed",
            Self::ImageEncode(_) => "image_encode_failed",
            Self::Audio(_) => "audio_failed",
        }
    }

    /// True when the input itself is at fault (the client should fix it),
    /// false when the failure is ours (worth a retry or an alert).
    pub fn is_bad_input(&self) -> bool {
        !matches!(
            self,
            Self::Encode(_) | Self::ImageEncode(_) | Self::Audio(_)
        )
    }
}
