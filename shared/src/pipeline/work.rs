//! The work of each stage, idempotent: a stage whose output is already
//! recorded is not redone, and every write is conditioned on the job still
//! being live and the output not yet recorded.

use glimvid_media::{Aspect, Language, MediaError, Script, ScriptInput};

use crate::app::App;
use crate::clock;
use crate::dynamo::s;
use crate::error::Error;
use crate::jobs::{Job, Stage, store};
use crate::storage;

pub enum Outcome {
    Done,
}

/// Why a stage did not finish. Permanent failures end the job; transient
/// ones are retried through SQS redelivery.
#[derive(Debug)]
pub struct Failure {
    pub permanent: bool,
    pub code: String,
    pub message: String,
}

impl From<Error> for Failure {
    fn from(err: Error) -> Self {
        Failure {
            permanent: false,
            code: "internal".into(),
            message: format!("{err:#}"),
        }
    }
}

impl From<MediaError> for Failure {
    fn from(err: MediaError) -> Self {
        Failure {
            permanent: true,
            code: err.code().into(),
            message: err.to_string(),
        }
    }
}

fn permanent(code: &str, message: impl Into<String>) -> Failure {
    Failure {
        permanent: true,
        code: code.into(),
        message: message.into(),
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, MediaError> + Send + 'static,
) -> Result<T, Failure> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Failure::from(Error::internal("media task", e)))?
        .map_err(Failure::from)
}

pub async fn run(app: &App, job: &Job, stage: &str) -> Result<Outcome, Failure> {
    let stage = Stage::parse(stage)
        .map_err(|_| permanent("unknown_stage", format!("unknown stage {stage}")))?;
    mark_started(app, job, stage).await?;
    if app.config.fail_stage.as_deref() == Some(stage.as_str()) {
        return Err(permanent(
            "injected_fault",
            format!(
                "the {} step failed (fault injected for testing)",
                stage.as_str()
            ),
        ));
    }
    match stage {
        Stage::Script => script(app, job).await,
        Stage::Enhance => enhance(app, job).await,
        Stage::Video => video(app, job).await,
        Stage::Finalize => finalize(app, job).await,
        Stage::Queued | Stage::Done => Err(permanent("unknown_stage", "not a worker stage")),
    }
}

async fn mark_started(app: &App, job: &Job, stage: Stage) -> Result<(), Failure> {
    // Never move the visible stage backwards on a late redelivery.
    if stage.percent() < job.stage.percent() {
        return Ok(());
    }
    store::update_live(
        app,
        &job.id,
        "SET #status = :running, stage = :stage, updated_at = :now",
        None,
        vec![
            (":stage", s(stage.as_str())),
            (":now", s(clock::rfc3339(clock::now()))),
        ],
    )
    .await?;
    Ok(())
}

fn aspect(job: &Job) -> Result<Aspect, Failure> {
    Aspect::parse(&job.aspect_ratio).ok_or_else(|| permanent("bad_job", "unknown aspect ratio"))
}

async fn record(
    app: &App,
    job: &Job,
    attr: &str,
    values: Vec<(&str, String)>,
) -> Result<Outcome, Failure> {
    let sets: Vec<String> = values.iter().map(|(k, _)| format!("{k} = :{k}")).collect();
    let names: Vec<(String, String)> = values
        .iter()
        .map(|(k, v)| (format!(":{k}"), v.clone()))
        .collect();
    let mut attrs: Vec<(&str, aws_sdk_dynamodb::types::AttributeValue)> =
        names.iter().map(|(k, v)| (k.as_str(), s(v))).collect();
    let now = s(clock::rfc3339(clock::now()));
    attrs.push((":now", now));
    let set = format!("SET {}, updated_at = :now", sets.join(", "));
    let condition = format!("attribute_not_exists({attr})");
    store::update_live(app, &job.id, &set, Some(&condition), attrs).await?;
    Ok(Outcome::Done)
}

async fn script(app: &App, job: &Job) -> Result<Outcome, Failure> {
    if job.script.is_some() {
        return Ok(Outcome::Done);
    }
    let language =
        Language::parse(&job.language).ok_or_else(|| permanent("bad_job", "unknown language"))?;
    let script: Script = glimvid_media::script::write(&ScriptInput {
        title: &job.title,
        description: &job.description,
        language,
        duration_s: job.duration_s,
        style: job.style.as_deref(),
    });
    script.validate()?;
    let json = serde_json::to_string(&script)
        .map_err(|e| Failure::from(Error::internal("script json", e)))?;
    record(app, job, "script", vec![("script", json)]).await
}

async fn enhance(app: &App, job: &Job) -> Result<Outcome, Failure> {
    if job.enhanced_key.is_some() {
        return Ok(Outcome::Done);
    }
    let Some(upload_key) = &job.upload_key else {
        return Ok(Outcome::Done);
    };
    let photo = storage::get_bytes(app, upload_key).await?;
    let aspect = aspect(job)?;
    let enhanced = blocking(move || glimvid_media::enhance::enhance(&photo, aspect)).await?;
    let key = format!("{}enhanced.jpg", job.prefix());
    storage::put_bytes(app, &key, "image/jpeg", enhanced.jpeg).await?;
    record(app, job, "enhanced_key", vec![("enhanced_key", key)]).await
}

async fn video(app: &App, job: &Job) -> Result<Outcome, Failure> {
    if job.video_key.is_some() {
        return Ok(Outcome::Done);
    }
    let script: Script = job
        .script
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
        .ok_or_else(|| {
            permanent(
                "missing_script",
                "the script step has not produced a script",
            )
        })?;
    let background = match &job.enhanced_key {
        Some(key) => Some(storage::get_bytes(app, key).await?),
        None => None,
    };
    let aspect = aspect(job)?;
    let duration = job.duration_s;
    let rendered = blocking(move || {
        let image = background
            .map(|bytes| glimvid_media::image::load_from_memory(&bytes).map(|i| i.to_rgb8()))
            .transpose()
            .map_err(|e| MediaError::CorruptImage(e.to_string()))?;
        glimvid_media::render::render(image.as_ref(), &script, aspect, duration)
    })
    .await?;
    let video_key = format!("{}video.mp4", job.prefix());
    let poster_key = format!("{}poster.jpg", job.prefix());
    storage::put_bytes(app, &video_key, "video/mp4", rendered.mp4).await?;
    storage::put_bytes(app, &poster_key, "image/jpeg", rendered.poster_jpeg).await?;
    record(
        app,
        job,
        "video_key",
        vec![("video_key", video_key), ("poster_key", poster_key)],
    )
    .await
}

async fn finalize(app: &App, job: &Job) -> Result<Outcome, Failure> {
    if job.video_key.is_none() {
        return Err(permanent(
            "missing_video",
            "the video step has not produced a video",
        ));
    }
    let public_id = crate::accounts::token::generate()?;
    store::finish(app, job, &public_id).await?;
    Ok(Outcome::Done)
}
