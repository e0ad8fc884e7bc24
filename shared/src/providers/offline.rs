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
                variant: req.variant,
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

    /// The video, and which shots show a provider's clip.
    fn run(&self, background: Background) -> Result<(VideoOutput, Vec<usize>), MediaError> {
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
        Ok((
            VideoOutput {
                mp4: rendered.mp4,
                poster_jpeg: Some(rendered.poster_jpeg),
            },
            rendered.clip_shots,
        ))
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
    let (output, _) = blocking(move || render.run(Background::Clip(&clip))).await?;
    Ok(output)
}

/// A multi-shot video from the request's photos, with `clips[k]` (a video
/// provider's clip, where there is one) shown in shot `k` instead of its
/// camera move. Also returns the shots that did show their clip: a clip
/// that can't be read leaves its shot to the camera move.
pub async fn finish_shots(
    clips: Vec<Option<Vec<u8>>>,
    req: &VideoRequest<'_>,
) -> Result<(VideoOutput, Vec<usize>), ProviderError> {
    let render = Render::of(req);
    let photos = req.photos.to_vec();
    blocking(move || {
        let photos = decode_all(&photos)?;
        let clips: Vec<Option<&[u8]>> = clips.iter().map(Option::as_deref).collect();
        render.run(Background::Shots {
            photos: &photos,
            clips: &clips,
        })
    })
    .await
}

fn decode_all(photos: &[Vec<u8>]) -> Result<Vec<glimvid_media::image::RgbImage>, MediaError> {
    photos
        .iter()
        .map(|bytes| {
            glimvid_media::image::load_from_memory(bytes)
                .map(|i| i.to_rgb8())
                .map_err(|e| MediaError::CorruptImage(e.to_string()))
        })
        .collect()
}

impl VideoGenerator for Offline {
    fn start<'a>(
        &'a self,
        req: &'a VideoRequest<'a>,
    ) -> BoxFuture<'a, Result<VideoProgress, ProviderError>> {
        let photos = req.photos.to_vec();
        let multi_shot = req.multi_shot;
        let render = Render::of(req);
        Box::pin(async move {
            let (output, _) = blocking(move || {
                let photos = decode_all(&photos)?;
                render.run(match photos.first() {
                    Some(_) if multi_shot => Background::Shots {
                        photos: &photos,
                        clips: &[],
                    },
                    Some(photo) => Background::Photo(photo),
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
