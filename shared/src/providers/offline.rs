//! The offline providers: `glimvid-media` in process, behind the same traits
//! as the remote ones. CPU-heavy work runs on the blocking pool.

use glimvid_media::render::{Background, EndCard, RenderRequest};
use glimvid_media::{MediaError, Mood, Script, ScriptInput};

use super::{
    BoxFuture, ImageEnhancer, ImageRequest, ProviderError, ScriptRequest, ScriptWriter,
    VideoGenerator, VideoOutput, VideoProgress, VideoRequest,
};

pub struct Offline;

fn media_error(err: MediaError) -> ProviderError {
    if err.is_bad_input() {
        ProviderError::permanent(err.code(), err.to_string())
    } else {
        ProviderError::transient(err.code(), err.to_string())
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, MediaError> + Send + 'static,
) -> Result<T, ProviderError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| ProviderError::transient("internal", "the media task stopped unexpectedly"))?
        .map_err(media_error)
}

impl ScriptWriter for Offline {
    fn write<'a>(
        &'a self,
        req: &'a ScriptRequest<'a>,
    ) -> BoxFuture<'a, Result<Script, ProviderError>> {
        Box::pin(async move {
            Ok(glimvid_media::script::write(&ScriptInput {
                title: req.title,
                description: req.description,
                language: req.language,
                duration_s: req.duration_s,
                style: req.style,
            }))
        })
    }
}

impl ImageEnhancer for Offline {
    fn enhance<'a>(
        &'a self,
        req: &'a ImageRequest<'a>,
    ) -> BoxFuture<'a, Result<Vec<u8>, ProviderError>> {
        let photo = req.photo.to_vec();
        let aspect = req.aspect;
        Box::pin(async move {
            let enhanced =
                blocking(move || glimvid_media::enhance::enhance(&photo, aspect)).await?;
            Ok(enhanced.jpeg)
        })
    }
}

/// What the renderer needs from a request, owned, for the blocking pool.
struct Render {
    script: Script,
    aspect: glimvid_media::Aspect,
    duration_s: u32,
    title: String,
    display_price: Option<String>,
    url: Option<String>,
    music: Option<Mood>,
}

impl Render {
    fn of(req: &VideoRequest) -> Render {
        Render {
            script: req.script.clone(),
            aspect: req.aspect,
            duration_s: req.duration_s,
            title: req.title.to_owned(),
            display_price: req.display_price.map(str::to_owned),
            url: req.url.map(str::to_owned),
            music: mood(req),
        }
    }

    fn run(&self, background: Background) -> Result<VideoOutput, MediaError> {
        let rendered = glimvid_media::render::render(&RenderRequest {
            background,
            script: &self.script,
            aspect: self.aspect,
            duration_s: self.duration_s,
            end_card: EndCard {
                title: &self.title,
                call_to_action: &self.script.call_to_action,
                price: self.display_price.as_deref(),
                url: self.url.as_deref(),
            },
            music: self.music,
        })?;
        Ok(VideoOutput {
            mp4: rendered.mp4,
            poster_jpeg: Some(rendered.poster_jpeg),
        })
    }
}

/// The job's music: none, the mood it named, or (`auto`) one that follows
/// its style, varied by title so a shop's videos don't all sound alike.
fn mood(req: &VideoRequest) -> Option<Mood> {
    match req.music {
        crate::jobs::options::MUSIC_NONE => None,
        named => Mood::parse(named).or_else(|| {
            let seed = glimvid_media::script::stable_hash(&[req.title.as_bytes()]);
            Some(Mood::for_style(req.style, seed))
        }),
    }
}

/// A video provider's clip made into a Glimvid video: the script's
/// captions and the end card laid over it and the music mixed under its
/// sound, at the job's size, at the clip's frame rate. A clip that can't
/// be read is the provider's failure (`provider_bad_result`), which the
/// video stage treats like any other broken result.
pub async fn finish_clip(
    clip: Vec<u8>,
    req: &VideoRequest<'_>,
) -> Result<VideoOutput, ProviderError> {
    let render = Render::of(req);
    blocking(move || render.run(Background::Clip(&clip))).await
}

impl VideoGenerator for Offline {
    fn start<'a>(
        &'a self,
        req: &'a VideoRequest<'a>,
    ) -> BoxFuture<'a, Result<VideoProgress, ProviderError>> {
        let image = req.image.map(<[u8]>::to_vec);
        let render = Render::of(req);
        Box::pin(async move {
            let output = blocking(move || {
                let image = image
                    .map(|bytes| {
                        glimvid_media::image::load_from_memory(&bytes).map(|i| i.to_rgb8())
                    })
                    .transpose()
                    .map_err(|e| MediaError::CorruptImage(e.to_string()))?;
                render.run(match &image {
                    Some(image) => Background::Photo(image),
                    None => Background::Generated,
                })
            })
            .await?;
            Ok(VideoProgress::Done(output))
        })
    }

    fn poll<'a>(
        &'a self,
        _task_id: &'a str,
    ) -> BoxFuture<'a, Result<VideoProgress, ProviderError>> {
        Box::pin(async {
            Err(ProviderError::permanent(
                "unknown_task",
                "the offline renderer has no tasks to poll",
            ))
        })
    }
}
