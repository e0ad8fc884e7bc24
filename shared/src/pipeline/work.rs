//! The work of each stage, idempotent: a stage whose output is already
//! recorded is not redone, and every write is conditioned on the job still
//! being live and the output not yet recorded. The stages call the AI
//! providers only through the traits in `crate::providers`.

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use glimvid_media::{Aspect, Language, MediaError, Script};

use crate::app::App;
use crate::clock;
use crate::dynamo::{self, n, s};
use crate::error::Error;
use crate::jobs::{Job, Stage, store};
use crate::providers::{
    ImageRequest, ProviderError, ScriptRequest, VideoOutput, VideoProgress, VideoRequest,
    finish_clip,
};
use crate::storage;

pub enum Outcome {
    Done,
    /// The stage is waiting on a provider: the state machine waits
    /// `wait_s` seconds and sends the stage again (see `video`).
    Pending {
        wait_s: u32,
    },
}

/// Why a stage did not finish. Permanent failures end the job; transient
/// ones are retried through SQS redelivery. `code` is what the job will
/// show (mapped onto the closed list of `jobs::failure`); `detail` is for
/// the logs only.
#[derive(Debug)]
pub struct Failure {
    pub permanent: bool,
    pub code: String,
    pub detail: String,
}

impl From<Error> for Failure {
    fn from(err: Error) -> Self {
        Failure {
            permanent: false,
            code: crate::jobs::failure::INTERNAL.into(),
            detail: format!("{err:#}"),
        }
    }
}

impl From<MediaError> for Failure {
    fn from(err: MediaError) -> Self {
        Failure {
            permanent: true,
            code: err.code().into(),
            detail: err.to_string(),
        }
    }
}

impl From<ProviderError> for Failure {
    fn from(err: ProviderError) -> Self {
        Failure {
            permanent: err.is_permanent(),
            code: err.code,
            detail: err.message,
        }
    }
}

pub(super) fn permanent(code: &str, detail: impl Into<String>) -> Failure {
    Failure {
        permanent: true,
        code: code.into(),
        detail: detail.into(),
    }
}

/// What a video costs when the offline renderer had to stand in for the
/// video provider: half the price, rounded down (so a 5 s video is free);
/// the difference is refunded when the fallback is recorded.
pub fn fallback_price(price: i64) -> i64 {
    price / 2
}

/// `attempt`: the delivery's receive count. `last_attempt`: this delivery
/// is the stage's last try, so a transient failure now is as final as a
/// permanent one.
pub async fn run(
    app: &App,
    job: &Job,
    stage: &str,
    attempt: u32,
    last_attempt: bool,
) -> Result<Outcome, Failure> {
    let stage = Stage::parse(stage)
        .map_err(|_| permanent("unknown_stage", format!("unknown stage {stage}")))?;
    mark_started(app, job, stage, attempt).await?;
    if app.config.fail_stage.as_deref() == Some(stage.as_str()) {
        return Err(permanent(
            "injected_fault",
            format!(
                "the {} step failed (fault injected for testing)",
                stage.as_str()
            ),
        ));
    }
    if app
        .config
        .transient_faults
        .get(stage.as_str())
        .is_some_and(|&failing| attempt <= failing)
    {
        return Err(Failure {
            permanent: false,
            code: "injected_transient_fault".into(),
            detail: format!(
                "the {} step failed for now (fault injected for testing)",
                stage.as_str()
            ),
        });
    }
    match stage {
        Stage::Script => script(app, job).await,
        Stage::Enhance => enhance(app, job).await,
        Stage::Video => video(app, job, last_attempt).await,
        Stage::Finalize => finalize(app, job).await,
        Stage::Queued | Stage::Done => Err(permanent("unknown_stage", "not a worker stage")),
    }
}

/// Also records the delivery's receive count as `{stage}_attempt`, so how
/// hard a stage had to try shows on the job (operators, the retry tests).
async fn mark_started(app: &App, job: &Job, stage: Stage, attempt: u32) -> Result<(), Failure> {
    // Never move the visible stage backwards on a late redelivery.
    if stage.percent() < job.stage.percent() {
        return Ok(());
    }
    store::update_live(
        app,
        &job.id,
        &format!(
            "SET #status = :running, stage = :stage, {}_attempt = :attempt, updated_at = :now",
            stage.as_str()
        ),
        None,
        vec![
            (":stage", s(stage.as_str())),
            (":attempt", n(attempt)),
            (":now", s(clock::rfc3339(clock::now()))),
        ],
    )
    .await?;
    Ok(())
}

pub(super) fn aspect(job: &Job) -> Result<Aspect, Failure> {
    Aspect::parse(&job.aspect_ratio).ok_or_else(|| permanent("bad_job", "unknown aspect ratio"))
}

/// Records a stage's output on the job, if it is still live and the output
/// not yet recorded. `written` are the objects the stage just wrote: when
/// the record is refused (the job was cancelled, deleted or timed out
/// meanwhile, or a duplicate delivery recorded first) they are deleted,
/// so every object a stage writes ends up named by the job or gone.
async fn record(
    app: &App,
    job: &Job,
    attr: &str,
    values: Vec<(&str, AttributeValue)>,
    written: &[String],
) -> Result<Outcome, Failure> {
    let sets: Vec<String> = values.iter().map(|(k, _)| format!("{k} = :{k}")).collect();
    let names: Vec<String> = values.iter().map(|(k, _)| format!(":{k}")).collect();
    let mut attrs: Vec<(&str, AttributeValue)> = names
        .iter()
        .zip(values)
        .map(|(name, (_, v))| (name.as_str(), v))
        .collect();
    attrs.push((":now", s(clock::rfc3339(clock::now()))));
    let set = format!("SET {}, updated_at = :now", sets.join(", "));
    let condition = format!("attribute_not_exists({attr})");
    if !store::update_live(app, &job.id, &set, Some(&condition), attrs).await? {
        storage::delete_objects(app, written).await?;
    }
    Ok(Outcome::Done)
}

/// A key of its own for each write: two deliveries of one stage never
/// write the same object, so the one whose record is refused can delete
/// what it wrote without touching what the other recorded.
pub(super) fn output_key(job: &Job, name: &str, ext: &str) -> String {
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    format!("{}{name}-{}.{ext}", job.prefix(), &nonce[..12])
}

fn parse_script(job: &Job) -> Result<Script, Failure> {
    job.script
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
        .ok_or_else(|| {
            permanent(
                "missing_script",
                "the script step has not produced a script",
            )
        })
}

async fn script(app: &App, job: &Job) -> Result<Outcome, Failure> {
    if job.script.is_some() {
        return Ok(Outcome::Done);
    }
    let language =
        Language::parse(&job.language).ok_or_else(|| permanent("bad_job", "unknown language"))?;
    let script: Script = app
        .providers
        .script
        .write(&ScriptRequest {
            title: &job.title,
            description: &job.description,
            language,
            duration_s: job.duration_s,
            style: job.style.as_deref(),
            variant: job.variant,
        })
        .await?;
    script.validate()?;
    let json = serde_json::to_string(&script)
        .map_err(|e| Failure::from(Error::internal("script json", e)))?;
    record(app, job, "script", vec![("script", s(json))], &[]).await
}

/// Enhances every photo, together, and records them in one list.
async fn enhance(app: &App, job: &Job) -> Result<Outcome, Failure> {
    if !job.enhanced_keys.is_empty() || job.upload_keys.is_empty() {
        return Ok(Outcome::Done);
    }
    let script = job
        .script
        .as_deref()
        .and_then(|s| serde_json::from_str::<Script>(s).ok());
    let aspect = aspect(job)?;
    let enhanced = futures::future::try_join_all(job.upload_keys.iter().map(|upload_key| {
        let script = script.as_ref();
        async move {
            let photo = storage::get_bytes(app, upload_key).await?;
            let jpeg = app
                .providers
                .image
                .enhance(&ImageRequest {
                    photo: &photo,
                    aspect,
                    title: &job.title,
                    script,
                })
                .await?;
            Ok::<_, Failure>(jpeg)
        }
    }))
    .await?;
    let mut keys = Vec::with_capacity(enhanced.len());
    for jpeg in enhanced {
        let key = output_key(job, "enhanced", "jpg");
        storage::put_bytes(app, &key, "image/jpeg", jpeg).await?;
        keys.push(key);
    }
    let list = dynamo::strings(&keys);
    record(
        app,
        job,
        "enhanced_keys",
        vec![("enhanced_keys", list)],
        &keys,
    )
    .await
}

/// The video stage, which must not hold a Lambda while a provider works.
///
/// Waiting is the state machine's job: the Video task state is followed by
/// a Choice on this stage's output (`done`) and a Wait of `wait_s` seconds
/// that loops back to the Video task, so every delivery here is short:
/// the first creates the provider's task and records its id on the job,
/// each later one polls it once. Chosen over polling through SQS
/// redelivery because redelivery counts against the queue's
/// `maxReceiveCount` (a long render would land in the dead-letter queue)
/// and on AWS its interval is the queue's visibility timeout, not ours;
/// and over the provider's `callback_url` because that needs a public,
/// authenticated endpoint and still needs a poll to bound a task that never
/// calls back. Each loop round is a fresh task token, so a duplicate
/// delivery only finds the token spent. The total wait is bounded here by
/// `VIDEO_DEADLINE_SECONDS` from the task's creation.
async fn video(app: &App, job: &Job, last_attempt: bool) -> Result<Outcome, Failure> {
    if job.video_key.is_some() {
        return Ok(Outcome::Done);
    }
    let script = parse_script(job)?;
    if job.is_multi_shot() && app.providers.video.makes_shots() {
        return super::shots::video(app, job, &script, last_attempt).await;
    }
    let photos = enhanced_photos(app, job).await?;
    let request = video_request(job, &script, &photos)?;
    let config = &app.config.providers;
    let progress = match provider_task(app, job).await? {
        Some((task_id, started)) => {
            if clock::now().unix_timestamp() - started > config.video_deadline.as_secs() as i64 {
                Err(ProviderError::permanent(
                    "video_timeout",
                    "the video generator (Ark) took too long",
                ))
            } else {
                app.providers.video.poll(&task_id).await
            }
        }
        None => app.providers.video.start(&request).await,
    };
    // A provider's clip is finished here like every other video; one that
    // can't be read counts as the provider's broken result.
    let progress = match progress {
        Ok(VideoProgress::Clip(clip)) => finish_clip(clip, &request).await.map(VideoProgress::Done),
        other => other,
    };
    let wait_s = config.video_poll_seconds;
    match progress {
        Ok(VideoProgress::Pending { task_id }) => {
            remember_task(app, job, &task_id).await?;
            Ok(Outcome::Pending { wait_s })
        }
        Ok(VideoProgress::Done(output)) => {
            let poster = output.poster_jpeg.or_else(|| photos.first().cloned());
            store_video(app, job, output.mp4, poster).await
        }
        Ok(VideoProgress::Clip(_)) => Err(permanent(
            "provider_bad_result",
            "the video generator's clip was not finished",
        )),
        // Refused content fails the job: rendering it offline instead would
        // publish what the provider's content checks flagged.
        Err(err) if err.is_refusal() => {
            tracing::info!(job_id = %job.id, code = %err.code, "video provider refused the content");
            Err(err.into())
        }
        Err(err) if config.video_fallback && (err.is_permanent() || last_attempt) => {
            tracing::warn!(job_id = %job.id, code = %err.code, "video provider failed; rendering offline");
            fallback(app, job, &request).await
        }
        Err(err) => Err(err.into()),
    }
}

/// Attributes of the job as they are now (a consistent read), which
/// deliveries of one stage hand on to each other.
pub(super) async fn fresh_attrs(
    app: &App,
    job: &Job,
    projection: &str,
) -> Result<Option<dynamo::Item>, Failure> {
    let out = app
        .dynamo
        .get_item()
        .table_name(&app.config.content_table)
        .key("pk", s(store::pk(&job.id)))
        .key("sk", s("JOB"))
        .projection_expression(projection)
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| Failure::from(dynamo::sdk_error("get video state", e)))?;
    Ok(out.item)
}

/// The job's enhanced photos, fetched together.
pub(super) async fn enhanced_photos(app: &App, job: &Job) -> Result<Vec<Vec<u8>>, Failure> {
    let fetches = job
        .enhanced_keys
        .iter()
        .map(|key| storage::get_bytes(app, key));
    Ok(futures::future::try_join_all(fetches).await?)
}

/// What the video generators are asked for this job.
pub(super) fn video_request<'a>(
    job: &'a Job,
    script: &'a Script,
    photos: &'a [Vec<u8>],
) -> Result<VideoRequest<'a>, Failure> {
    Ok(VideoRequest {
        photos,
        multi_shot: job.is_multi_shot(),
        script,
        title: &job.title,
        aspect: aspect(job)?,
        duration_s: job.duration_s,
        music: &job.music,
        style: job.style.as_deref(),
        display_price: job.display_price.as_deref(),
        url: job.url.as_deref(),
    })
}

/// The provider task id on the job and when it was created (unix seconds).
async fn provider_task(app: &App, job: &Job) -> Result<Option<(String, i64)>, Failure> {
    let Some(item) = fresh_attrs(app, job, "video_task_id, video_task_started").await? else {
        return Ok(None);
    };
    let id = dynamo::get_opt_s(&item, "video_task_id");
    let started = dynamo::get_n(&item, "video_task_started").unwrap_or_default();
    Ok(id.map(|id| (id, started)))
}

async fn remember_task(app: &App, job: &Job, task_id: &str) -> Result<(), Failure> {
    // A redelivery that raced us to create a task keeps the first one.
    store::update_live(
        app,
        &job.id,
        "SET video_task_id = if_not_exists(video_task_id, :id), \
         video_task_started = if_not_exists(video_task_started, :started), updated_at = :now",
        None,
        vec![
            (":id", s(task_id)),
            (":started", n(clock::now().unix_timestamp())),
            (":now", s(clock::rfc3339(clock::now()))),
        ],
    )
    .await?;
    Ok(())
}

pub(super) async fn store_video(
    app: &App,
    job: &Job,
    mp4: Vec<u8>,
    poster: Option<Vec<u8>>,
) -> Result<Outcome, Failure> {
    let video_key = output_key(job, "video", "mp4");
    storage::put_bytes(app, &video_key, "video/mp4", mp4).await?;
    let mut values = vec![("video_key", s(&video_key))];
    let mut written = vec![video_key];
    if let Some(poster) = poster {
        let poster_key = output_key(job, "poster", "jpg");
        storage::put_bytes(app, &poster_key, "image/jpeg", poster).await?;
        values.push(("poster_key", s(&poster_key)));
        written.push(poster_key);
    }
    record(app, job, "video_key", values, &written).await
}

/// Renders the whole video offline and records it as a fallback.
async fn fallback(app: &App, job: &Job, request: &VideoRequest<'_>) -> Result<Outcome, Failure> {
    let progress = app.providers.offline_video.start(request).await?;
    let VideoProgress::Done(output) = progress else {
        return Err(permanent(
            "fallback_failed",
            "the offline renderer did not finish",
        ));
    };
    record_fallback(
        app,
        job,
        output,
        Fallback {
            whole: true,
            shots: 0,
            price: fallback_price(job.price),
        },
    )
    .await
}

/// How much of a video the offline renderer made, and what it costs then.
pub(super) struct Fallback {
    /// All of it (`fallback` on the job).
    pub whole: bool,
    /// Of a multi-shot video's shots, how many (`fallback_shots`).
    pub shots: usize,
    pub price: i64,
}

/// Records a video the offline renderer made (some of) with its lower
/// price and the refund of the difference, in one transaction conditioned
/// on the job still being live, without a video, at its full price: so
/// the refund happens once, whoever delivers twice.
pub(super) async fn record_fallback(
    app: &App,
    job: &Job,
    output: VideoOutput,
    fallback: Fallback,
) -> Result<Outcome, Failure> {
    let video_key = output_key(job, "video", "mp4");
    storage::put_bytes(app, &video_key, "video/mp4", output.mp4).await?;
    let mut written = vec![video_key.clone()];
    let mut set = "SET video_key = :video, fallback = :whole, fallback_shots = :shots, \
                   price = :new, updated_at = :now"
        .to_owned();
    let mut update = Update::builder()
        .table_name(&app.config.content_table)
        .key("pk", s(store::pk(&job.id)))
        .key("sk", s("JOB"))
        .condition_expression(
            "#status IN (:queued, :running) AND attribute_not_exists(video_key) AND price = :old",
        )
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":queued", s("queued"))
        .expression_attribute_values(":running", s("running"))
        .expression_attribute_values(":video", s(&video_key))
        .expression_attribute_values(":whole", dynamo::b(fallback.whole))
        .expression_attribute_values(":shots", n(fallback.shots as i64))
        .expression_attribute_values(":old", n(job.price))
        .expression_attribute_values(":new", n(fallback.price))
        .expression_attribute_values(":now", s(clock::rfc3339(clock::now())));
    if let Some(poster) = output.poster_jpeg {
        let poster_key = output_key(job, "poster", "jpg");
        storage::put_bytes(app, &poster_key, "image/jpeg", poster).await?;
        written.push(poster_key.clone());
        set.push_str(", poster_key = :poster");
        update = update.expression_attribute_values(":poster", s(&poster_key));
    }
    let update = dynamo::built(update.update_expression(set).build())?;
    let mut items = vec![TransactWriteItem::builder().update(update).build()];
    let refund = job.price - fallback.price;
    if refund > 0 {
        items.extend(crate::credits::change_items(
            &app.config.credits_table,
            &crate::credits::Change {
                user_id: &job.user_id,
                kind: crate::credits::EntryKind::Refund,
                amount: refund,
                reason: if fallback.whole {
                    "video made by the fallback renderer"
                } else {
                    "shots made by the fallback renderer"
                },
                job_id: Some(&job.id),
                source: None,
            },
        )?);
    }
    // A failed condition means someone else recorded a video (or the job
    // ended): nothing left to do either way.
    if dynamo::transact_if(&app.dynamo, items, "record fallback video").await? {
        tracing::info!(job_id = %job.id, refunded = refund, "fallback video recorded");
    } else {
        storage::delete_objects(app, &written).await?;
    }
    Ok(Outcome::Done)
}

/// Publishes the video under a key named by its public id alone, so a
/// public link's redirect tells nobody whose video it is. The id is
/// recorded before the copy: a retry publishes under the same id, and
/// whoever ends the job knows which public object to remove.
async fn finalize(app: &App, job: &Job) -> Result<Outcome, Failure> {
    let Some(video_key) = &job.video_key else {
        return Err(permanent(
            "missing_video",
            "the video step has not produced a video",
        ));
    };
    let public_id = match &job.public_id {
        Some(id) => id.clone(),
        None => {
            let fresh = crate::accounts::token::generate()?;
            store::update_live(
                app,
                &job.id,
                "SET public_id = :pid, updated_at = :now",
                Some("attribute_not_exists(public_id)"),
                vec![
                    (":pid", s(&fresh)),
                    (":now", s(clock::rfc3339(clock::now()))),
                ],
            )
            .await?;
            // A failed condition: a redelivery set it first, or the job ended.
            match store::get(app, &job.id).await?.and_then(|j| j.public_id) {
                Some(id) => id,
                None => return Ok(Outcome::Done),
            }
        }
    };
    let public_key = crate::jobs::public_video_key(&public_id);
    storage::copy(app, video_key, &public_key).await?;
    if !store::finish(app, job, &public_id).await? {
        // The job ended (cancelled, deleted, past its deadline) meanwhile.
        storage::delete_objects(app, &[public_key]).await?;
    }
    Ok(Outcome::Done)
}
