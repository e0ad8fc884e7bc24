//! ByteDance Ark (BytePlus ModelArk or Volcengine Ark): Seedream enhances
//! the photo (`POST /api/v3/images/generations`), Seedance makes the video
//! (`POST /api/v3/contents/generations/tasks`, then `GET .../tasks/{id}`).
//! Result links expire within a day, so results are downloaded (through the
//! [`Downloader`]'s allowlist) into our bucket at once.

use glimvid_media::Aspect;
use glimvid_media::image::DynamicImage;
use glimvid_media::image::imageops::FilterType;
use serde::Deserialize;
use serde_json::json;

use super::download::Downloader;
use super::http::{self, Budget, Checks};
use super::{
    BoxFuture, ImageEnhancer, ImageRequest, ProviderError, ShotRequest, VideoGenerator,
    VideoProgress, VideoRequest, data_uri,
};
use crate::config::{ApiKey, Providers};

const IMAGE: &str = "the photo enhancer (Ark)";
const VIDEO: &str = "the video generator (Ark)";

/// Seedream looks at the photo we send (and the image it makes from it).
const IMAGE_CHECKS: Checks = Checks {
    provider: IMAGE,
    flagged: "the photo",
    instead: "try another photo",
};
/// Seedance checks the task's input when it is created...
const VIDEO_INPUT_CHECKS: Checks = Checks {
    provider: VIDEO,
    flagged: "the photo or description",
    instead: "try another photo or different wording",
};
/// ...and the video it made, when the task ends.
const VIDEO_OUTPUT_CHECKS: Checks = Checks {
    provider: VIDEO,
    flagged: "the video it made from the photo and description",
    instead: "try another photo or different wording",
};

/// Above this the photo is scaled down before it is sent: Ark takes images
/// up to 10 MB, and base64 grows them by a third.
const MAX_INLINE_PHOTO_BYTES: usize = 6 * 1024 * 1024;

pub struct Ark {
    http: reqwest::Client,
    base: String,
    key: ApiKey,
    image_model: String,
    video_model: String,
    resolution: String,
    budget: std::time::Duration,
    downloads: Downloader,
}

#[derive(Deserialize)]
struct Images {
    #[serde(default)]
    data: Vec<ImageItem>,
}

#[derive(Deserialize)]
struct ImageItem {
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    b64_json: Option<String>,
    #[serde(default)]
    error: Option<http::ErrorDetail>,
}

#[derive(Deserialize)]
struct Created {
    id: String,
}

#[derive(Deserialize)]
struct Task {
    status: String,
    #[serde(default)]
    content: Option<TaskContent>,
    #[serde(default)]
    error: Option<http::ErrorDetail>,
}

#[derive(Deserialize)]
struct TaskContent {
    #[serde(default)]
    video_url: Option<String>,
}

fn image_size(aspect: Aspect) -> &'static str {
    match aspect {
        Aspect::Landscape => "2560x1440",
        Aspect::Portrait => "1440x2560",
        _ => "2048x2048",
    }
}

fn malformed(provider: &str) -> ProviderError {
    ProviderError::transient(
        "provider_bad_reply",
        format!("{provider} sent a reply we could not read"),
    )
}

/// Whether the video model can make the clip's sound (`generate_audio`).
fn makes_sound(model: &str) -> bool {
    // BytePlus names them `seedance-…`, Volcengine `doubao-seedance-…`.
    model.contains("seedance-1-5") || model.contains("seedance-2")
}

/// Task ids go into a URL path; only plain ids are accepted.
fn valid_task_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
}

/// A failed task's code as a reason the user can read.
fn task_failure(error: Option<&http::ErrorDetail>) -> ProviderError {
    if error.is_some_and(http::is_refusal) {
        return VIDEO_OUTPUT_CHECKS.refused();
    }
    let code = error.map(http::ErrorDetail::code_text).unwrap_or_default();
    let reason = match code.as_str() {
        "" => "it gave no reason".to_owned(),
        c if c.contains("QuotaExceeded") || c.contains("RateLimit") => {
            "it is over its capacity".to_owned()
        }
        c if c.contains("Timeout") => "it ran out of time".to_owned(),
        c if c.starts_with("InvalidParameter") || c.starts_with("InvalidArgument") => {
            "it could not use the photo or description".to_owned()
        }
        c => format!("error {}", http::tidy(c)),
    };
    ProviderError::permanent("video_task_failed", format!("{VIDEO} failed: {reason}"))
}

impl Ark {
    pub fn new(config: &Providers) -> Self {
        Ark {
            http: http::client(config),
            base: config.ark.base_url.clone(),
            key: config.ark.key.clone(),
            image_model: config.ark_image_model.clone(),
            video_model: config.ark_video_model.clone(),
            resolution: config.ark_video_resolution.clone(),
            budget: config.retry_budget,
            downloads: Downloader::new(config),
        }
    }

    fn keyed(&self, provider: &str) -> Result<(), ProviderError> {
        if self.key.is_empty() {
            return Err(ProviderError::permanent(
                "provider_auth",
                format!("{provider} has no API key configured"),
            ));
        }
        Ok(())
    }

    /// One JSON exchange; `body` None is a GET.
    async fn exchange(
        &self,
        checks: &Checks,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Vec<u8>, ProviderError> {
        let provider = checks.provider;
        let url = format!("{}{path}", self.base);
        let req = match body {
            Some(b) => self.http.post(url).json(b),
            None => self.http.get(url),
        };
        let resp = req
            .bearer_auth(self.key.expose())
            .send()
            .await
            .map_err(|e| http::transport(provider, &e))?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| http::transport(provider, &e))?;
        if !status.is_success() {
            return Err(http::status_error(checks, status, &bytes));
        }
        Ok(bytes.to_vec())
    }

    /// `exchange` parsed as `T`, retried within the budget while the
    /// failure is transient.
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        checks: &Checks,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<T, ProviderError> {
        let mut budget = Budget::new(self.budget);
        loop {
            let failure = match self.exchange(checks, path, body).await {
                Ok(bytes) => match serde_json::from_slice::<T>(&bytes) {
                    Ok(v) => return Ok(v),
                    Err(_) => malformed(checks.provider),
                },
                Err(e) if e.is_permanent() => return Err(e),
                Err(e) => e,
            };
            tracing::info!(code = %failure.code, "provider call will be retried");
            if !budget.next().await {
                return Err(failure);
            }
        }
    }

    /// Downloads a result, retried within the budget while transient.
    async fn download(&self, url: &str) -> Result<Vec<u8>, ProviderError> {
        let mut budget = Budget::new(self.budget);
        loop {
            match self.downloads.fetch(url).await {
                Ok(bytes) => return Ok(bytes),
                Err(e) if e.is_permanent() => return Err(e),
                Err(e) => {
                    if !budget.next().await {
                        return Err(e);
                    }
                }
            }
        }
    }
}

/// The photo to send: as uploaded, or scaled down when it is too large to
/// inline.
async fn inline_photo(photo: &[u8]) -> Result<String, ProviderError> {
    if photo.len() <= MAX_INLINE_PHOTO_BYTES {
        return Ok(data_uri(photo));
    }
    let jpeg = reencode_jpeg(photo.to_vec(), |img| {
        img.resize(2048, 2048, FilterType::Triangle)
    })
    .await
    .ok_or_else(|| ProviderError::permanent("corrupt_image", "the photo could not be read"))?;
    Ok(data_uri(&jpeg))
}

/// Decodes, transforms and re-encodes an image as JPEG off the async
/// threads; None when the bytes are not an image.
async fn reencode_jpeg(
    bytes: Vec<u8>,
    transform: impl FnOnce(DynamicImage) -> DynamicImage + Send + 'static,
) -> Option<Vec<u8>> {
    tokio::task::spawn_blocking(move || {
        let img = transform(glimvid_media::image::load_from_memory(&bytes).ok()?);
        let mut out = std::io::Cursor::new(Vec::new());
        img.to_rgb8()
            .write_to(&mut out, glimvid_media::image::ImageFormat::Jpeg)
            .ok()?;
        Some(out.into_inner())
    })
    .await
    .ok()
    .flatten()
}

/// The generated image as our JPEG on the aspect's canvas.
async fn to_canvas_jpeg(bytes: Vec<u8>, aspect: Aspect) -> Result<Vec<u8>, ProviderError> {
    let (w, h) = glimvid_media::enhance::canvas_size(aspect);
    reencode_jpeg(bytes, move |img| {
        img.resize_to_fill(w, h, FilterType::Lanczos3)
    })
    .await
    .ok_or_else(|| {
        ProviderError::permanent(
            "provider_bad_result",
            format!("{IMAGE} returned something that is not an image"),
        )
    })
}

impl ImageEnhancer for Ark {
    fn enhance<'a>(
        &'a self,
        req: &'a ImageRequest<'a>,
    ) -> BoxFuture<'a, Result<Vec<u8>, ProviderError>> {
        Box::pin(async move {
            self.keyed(IMAGE)?;
            let mut prompt = format!(
                "Enhance this product photo for a marketing video. Keep the product exactly as it is: \
                 shape, colours, labels and text. Clean studio lighting, sharp focus, tidy uncluttered \
                 background, {} framing. Product: {}.",
                req.aspect.as_str(),
                req.title
            );
            if let Some(script) = req.script {
                prompt.push_str(&format!(" Mood: {}", script.hook));
            }
            let body = json!({
                "model": self.image_model,
                "prompt": prompt,
                "image": inline_photo(req.photo).await?,
                "size": image_size(req.aspect),
                "response_format": "url",
                "watermark": false,
            });
            let images: Images = self
                .call(&IMAGE_CHECKS, "/api/v3/images/generations", Some(&body))
                .await?;
            let Some(first) = images.data.into_iter().next() else {
                return Err(malformed(IMAGE));
            };
            let bytes = match (first.url, first.b64_json, first.error) {
                (Some(url), _, _) => self.download(&url).await?,
                (None, Some(b64), _) => {
                    use base64::Engine;
                    base64::engine::general_purpose::STANDARD
                        .decode(b64.trim())
                        .map_err(|_| malformed(IMAGE))?
                }
                (None, None, Some(error)) => {
                    if http::is_refusal(&error) {
                        return Err(IMAGE_CHECKS.refused());
                    }
                    return Err(ProviderError::permanent(
                        "provider_rejected",
                        format!("{IMAGE} could not enhance the photo"),
                    ));
                }
                (None, None, None) => return Err(malformed(IMAGE)),
            };
            to_canvas_jpeg(bytes, req.aspect).await
        })
    }
}

impl Ark {
    async fn result(&self, task: Task) -> Result<VideoProgress, ProviderError> {
        match task.status.as_str() {
            "succeeded" => {
                let url = task
                    .content
                    .and_then(|c| c.video_url)
                    .ok_or_else(|| malformed(VIDEO))?;
                // The link expires within a day: copy the video at once.
                Ok(VideoProgress::Clip(self.download(&url).await?))
            }
            "failed" => Err(task_failure(task.error.as_ref())),
            "expired" => Err(ProviderError::permanent(
                "video_task_expired",
                format!("{VIDEO} gave up: the task expired before it finished"),
            )),
            "cancelled" => Err(ProviderError::permanent(
                "video_task_cancelled",
                format!("{VIDEO} cancelled the task"),
            )),
            _ => Err(malformed(VIDEO)),
        }
    }
}

impl Ark {
    /// Creates a Seedance task from a prompt and, where given, its first
    /// frame.
    async fn create_task(
        &self,
        prompt: String,
        first_frame: Option<&[u8]>,
        aspect: Aspect,
        duration_s: u32,
    ) -> Result<VideoProgress, ProviderError> {
        self.keyed(VIDEO)?;
        let mut content = vec![json!({"type": "text", "text": prompt})];
        if let Some(image) = first_frame {
            content.push(json!({
                "type": "image_url",
                "image_url": {"url": data_uri(image)},
                "role": "first_frame",
            }));
        }
        let body = json!({
            "model": self.video_model,
            "content": content,
            "ratio": aspect.as_str(),
            "duration": duration_s,
            "resolution": self.resolution,
            "watermark": false,
            // The clip's own sound (Seedance 1.5 pro and 2.0 make one)
            // is kept, with the music bed mixed under it; other models
            // refuse the parameter.
            "generate_audio": makes_sound(&self.video_model),
        });
        let created: Created = self
            .call(
                &VIDEO_INPUT_CHECKS,
                "/api/v3/contents/generations/tasks",
                Some(&body),
            )
            .await?;
        if !valid_task_id(&created.id) {
            return Err(malformed(VIDEO));
        }
        Ok(VideoProgress::Pending {
            task_id: created.id,
        })
    }
}

/// The clip length to ask for: Seedance makes 5 s and 10 s clips, and a
/// shot shows the start of a clip longer than itself.
fn clip_seconds(shot_seconds: f64) -> u32 {
    if shot_seconds <= 5.0 { 5 } else { 10 }
}

impl VideoGenerator for Ark {
    fn start<'a>(
        &'a self,
        req: &'a VideoRequest<'a>,
    ) -> BoxFuture<'a, Result<VideoProgress, ProviderError>> {
        Box::pin(async move {
            let prompt = format!(
                "A short product marketing video for {}. Smooth, slow camera movement, the product stays \
                 recognisable and in focus. {} {} {}",
                req.title,
                req.script.hook,
                req.script.scenes.join(" "),
                req.script.call_to_action
            );
            let first_frame = req.photos.first().map(Vec::as_slice);
            self.create_task(prompt, first_frame, req.aspect, req.duration_s)
                .await
        })
    }

    fn makes_shots(&self) -> bool {
        true
    }

    fn start_shot<'a>(
        &'a self,
        req: &'a ShotRequest<'a>,
    ) -> BoxFuture<'a, Result<VideoProgress, ProviderError>> {
        Box::pin(async move {
            // The caption is shown over the clip, so the clip itself
            // carries no text.
            let prompt = format!(
                "One shot of a product marketing video for {}. Smooth, slow camera movement, the \
                 product stays recognisable and in focus, no text on screen. The shot shows: {}",
                req.title, req.line
            );
            self.create_task(prompt, req.photo, req.aspect, clip_seconds(req.seconds))
                .await
        })
    }

    fn poll<'a>(&'a self, task_id: &'a str) -> BoxFuture<'a, Result<VideoProgress, ProviderError>> {
        Box::pin(async move {
            self.keyed(VIDEO)?;
            if !valid_task_id(task_id) {
                return Err(ProviderError::permanent(
                    "video_task_lost",
                    format!("{VIDEO} task id is not usable"),
                ));
            }
            let path = format!("/api/v3/contents/generations/tasks/{task_id}");
            let task: Task = self.call(&VIDEO_OUTPUT_CHECKS, &path, None).await?;
            if matches!(task.status.as_str(), "queued" | "running") {
                return Ok(VideoProgress::Pending {
                    task_id: task_id.to_owned(),
                });
            }
            self.result(task).await
        })
    }
}
