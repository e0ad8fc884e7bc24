//! The AI providers behind the pipeline's stages, one trait per stage and
//! one implementation per provider, chosen by configuration
//! (`SCRIPT_PROVIDER`, `IMAGE_PROVIDER`, `VIDEO_PROVIDER`):
//!
//! - [`ScriptWriter`]: offline (`glimvid-media`) or DeepSeek chat completions;
//! - [`ImageEnhancer`]: offline or Ark Seedream `images/generations`;
//! - [`VideoGenerator`]: offline or Ark Seedance generation tasks.
//!
//! What leaves for a provider is only what the video needs: the title, the
//! description, the style, the script and the photo (as a data URI). Never an
//! email, a user id, an IP or a session token; API keys travel only in the
//! `Authorization` header and never appear in a log line or an error.

mod ark;
mod deepseek;
pub mod download;
mod http;
pub mod keys;
mod offline;

pub use offline::{finish_clip, finish_shots};

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use glimvid_media::{Aspect, Language, Script};

use crate::config::{ProviderKind, Providers};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a provider call did not produce a result. `permanent` failures end
/// the stage; the others are worth another delivery. `refused` failures are
/// permanent too, and more: the provider's content checks refused the
/// input or flagged the result, so nothing may stand in for the provider
/// (see [`ProviderError::is_refusal`]). `message` is shown to the user: it
/// names what went wrong in their terms and never carries a key or a raw
/// provider payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderError {
    pub kind: FailureKind,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Worth another try: a timeout, a 429 or 5xx, a reply we could not read.
    Transient,
    /// Will not get better by retrying: our credentials, a bad request, a
    /// task that failed, expired or was cancelled.
    Permanent,
    /// The provider's content moderation refused the input or flagged its
    /// output. The job ends failed (refunded); no fallback renders it.
    Refused,
}

/// The code every content refusal carries, whichever provider and stage.
pub const CONTENT_REJECTED: &str = "content_rejected";

impl ProviderError {
    pub fn permanent(code: &str, message: impl Into<String>) -> Self {
        ProviderError {
            kind: FailureKind::Permanent,
            code: code.to_owned(),
            message: message.into(),
        }
    }

    pub fn transient(code: &str, message: impl Into<String>) -> Self {
        ProviderError {
            kind: FailureKind::Transient,
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// A content refusal, with a message the user can act on.
    pub fn refused(message: impl Into<String>) -> Self {
        ProviderError {
            kind: FailureKind::Refused,
            code: CONTENT_REJECTED.to_owned(),
            message: message.into(),
        }
    }

    /// Whether retrying (here or by redelivery) cannot help.
    pub fn is_permanent(&self) -> bool {
        self.kind != FailureKind::Transient
    }

    /// Whether the provider refused the content: the one check that keeps
    /// refused content away from any fallback.
    pub fn is_refusal(&self) -> bool {
        self.kind == FailureKind::Refused
    }
}

impl std::fmt::Display for ProviderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

pub struct ScriptRequest<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub language: Language,
    pub duration_s: u32,
    pub style: Option<&'a str>,
    /// Which of the product's variants this script is for (0 for a lone
    /// video); each variant asks for a different opening.
    pub variant: u32,
}

pub struct ImageRequest<'a> {
    /// The uploaded photo, already checked to be a real image.
    pub photo: &'a [u8],
    pub aspect: Aspect,
    pub title: &'a str,
    pub script: Option<&'a Script>,
}

pub struct VideoRequest<'a> {
    /// The enhanced photos (JPEG), in the shop owner's order; the first is
    /// a single-shot video's first frame. Empty for a text-only video.
    pub photos: &'a [Vec<u8>],
    /// Cut into shots (see `glimvid_media::render::shot_plan`) rather than
    /// one continuous take.
    pub multi_shot: bool,
    pub script: &'a Script,
    pub title: &'a str,
    pub aspect: Aspect,
    pub duration_s: u32,
    /// The job's music choice as stored: `auto`, `none` or a mood.
    pub music: &'a str,
    /// The job's style, which `auto` music follows.
    pub style: Option<&'a str>,
    /// The end card's price and shop link, when the job has them.
    pub display_price: Option<&'a str>,
    pub url: Option<&'a str>,
}

/// One shot of a multi-shot video, for a generator that makes a clip per
/// shot: its prompt comes from the shot's caption.
pub struct ShotRequest<'a> {
    /// The shot's first frame.
    pub photo: Option<&'a [u8]>,
    pub line: &'a str,
    pub title: &'a str,
    pub aspect: Aspect,
    /// How long the shot is on screen; the clip may run longer.
    pub seconds: f64,
}

pub struct VideoOutput {
    pub mp4: Vec<u8>,
    pub poster_jpeg: Option<Vec<u8>>,
}

pub enum VideoProgress {
    /// The provider is still working on task `task_id`; ask again later.
    Pending { task_id: String },
    /// The provider's own clip, still to be captioned, carded and given
    /// its music (see [`finish_clip`]).
    Clip(Vec<u8>),
    /// A finished video.
    Done(VideoOutput),
}

pub trait ScriptWriter: Send + Sync {
    fn write<'a>(
        &'a self,
        req: &'a ScriptRequest<'a>,
    ) -> BoxFuture<'a, Result<Script, ProviderError>>;
}

pub trait ImageEnhancer: Send + Sync {
    /// The enhanced photo as a JPEG.
    fn enhance<'a>(
        &'a self,
        req: &'a ImageRequest<'a>,
    ) -> BoxFuture<'a, Result<Vec<u8>, ProviderError>>;
}

pub trait VideoGenerator: Send + Sync {
    /// Starts a video: done at once (offline) or a task to poll.
    fn start<'a>(
        &'a self,
        req: &'a VideoRequest<'a>,
    ) -> BoxFuture<'a, Result<VideoProgress, ProviderError>>;

    /// Asks once how task `task_id` is doing.
    fn poll<'a>(&'a self, task_id: &'a str) -> BoxFuture<'a, Result<VideoProgress, ProviderError>>;

    /// Whether a multi-shot video gets a clip of this generator's per shot
    /// (started with [`VideoGenerator::start_shot`], polled with
    /// [`VideoGenerator::poll`]); otherwise `start` makes the whole video.
    fn makes_shots(&self) -> bool {
        false
    }

    /// Starts the clip for one shot.
    fn start_shot<'a>(
        &'a self,
        _req: &'a ShotRequest<'a>,
    ) -> BoxFuture<'a, Result<VideoProgress, ProviderError>> {
        Box::pin(async {
            Err(ProviderError::permanent(
                "unsupported",
                "this video generator makes no clips per shot",
            ))
        })
    }
}

/// The providers configured for this process, built once per cold start.
pub struct ProviderSet {
    pub script: Box<dyn ScriptWriter>,
    pub image: Box<dyn ImageEnhancer>,
    pub video: Box<dyn VideoGenerator>,
    /// The offline renderer, for the video fallback.
    pub offline_video: Box<dyn VideoGenerator>,
    kinds: [ProviderKind; 3],
}

impl std::fmt::Debug for ProviderSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderSet")
            .field("script", &self.kinds[0])
            .field("image", &self.kinds[1])
            .field("video", &self.kinds[2])
            .finish()
    }
}

impl ProviderSet {
    pub fn new(config: &Providers) -> Arc<Self> {
        let script: Box<dyn ScriptWriter> = match config.script {
            ProviderKind::DeepSeek => Box::new(deepseek::DeepSeek::new(config)),
            _ => Box::new(offline::Offline),
        };
        let image: Box<dyn ImageEnhancer> = match config.image {
            ProviderKind::Ark => Box::new(ark::Ark::new(config)),
            _ => Box::new(offline::Offline),
        };
        let video: Box<dyn VideoGenerator> = match config.video {
            ProviderKind::Ark => Box::new(ark::Ark::new(config)),
            _ => Box::new(offline::Offline),
        };
        Arc::new(ProviderSet {
            script,
            image,
            video,
            offline_video: Box::new(offline::Offline),
            kinds: [config.script, config.image, config.video],
        })
    }
}

/// `data:` URI of an image, as both Ark endpoints accept. Used instead of a
/// presigned link: our object keys carry the user id, which a provider must
/// not see, and a local emulator's link is unreachable from the internet.
pub(crate) fn data_uri(bytes: &[u8]) -> String {
    use base64::Engine;
    let mime = match glimvid_media::probe::sniff(bytes) {
        Some(glimvid_media::ImageFormat::Png) => "image/png",
        Some(glimvid_media::ImageFormat::WebP) => "image/webp",
        _ => "image/jpeg",
    };
    format!(
        "data:{mime};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}
