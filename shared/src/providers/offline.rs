//! The offline providers: `glimvid-media` in process, behind the same traits
//! as the remote ones. CPU-heavy work runs on the blocking pool.

use glimvid_media::{MediaError, Script, ScriptInput};

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

impl VideoGenerator for Offline {
    fn start<'a>(
        &'a self,
        req: &'a VideoRequest<'a>,
    ) -> BoxFuture<'a, Result<VideoProgress, ProviderError>> {
        let image = req.image.map(<[u8]>::to_vec);
        let script = req.script.clone();
        let aspect = req.aspect;
        let duration = req.duration_s;
        Box::pin(async move {
            let rendered = blocking(move || {
                let image = image
                    .map(|bytes| {
                        glimvid_media::image::load_from_memory(&bytes).map(|i| i.to_rgb8())
                    })
                    .transpose()
                    .map_err(|e| MediaError::CorruptImage(e.to_string()))?;
                glimvid_media::render::render(image.as_ref(), &script, aspect, duration)
            })
            .await?;
            Ok(VideoProgress::Done(VideoOutput {
                mp4: rendered.mp4,
                poster_jpeg: Some(rendered.poster_jpeg),
            }))
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
