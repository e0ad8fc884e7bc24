//! Video jobs: the request, its price, its progress through the pipeline
//! and its outputs. Creating a job debits its price in the same transaction
//! that writes it; every way a job can end without a video (failure,
//! cancellation) refunds in the same transaction that ends it.

pub mod failure;
pub mod options;
pub mod store;

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::clock;
use crate::credits::{self, Change, EntryKind};
use crate::dynamo::{self, WriteFailure};
use crate::error::{Error, Result};
use crate::uploads;

const TITLE_MAX: usize = 120;
const DESCRIPTION_MAX: usize = 2000;
const STYLE_MAX: usize = 40;
const LINK_TTL: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Running => "running",
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "queued" => Status::Queued,
            "running" => Status::Running,
            "succeeded" => Status::Succeeded,
            "failed" => Status::Failed,
            "cancelled" => Status::Cancelled,
            other => return Err(Error::internal("job status", other)),
        })
    }

    pub fn is_live(self) -> bool {
        matches!(self, Status::Queued | Status::Running)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Queued,
    Script,
    Enhance,
    Video,
    Finalize,
    Done,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Queued => "queued",
            Stage::Script => "script",
            Stage::Enhance => "enhance",
            Stage::Video => "video",
            Stage::Finalize => "finalize",
            Stage::Done => "done",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "queued" => Stage::Queued,
            "script" => Stage::Script,
            "enhance" => Stage::Enhance,
            "video" => Stage::Video,
            "finalize" => Stage::Finalize,
            "done" => Stage::Done,
            other => return Err(Error::internal("job stage", other)),
        })
    }

    /// Rough share of the work done when this stage starts.
    pub fn percent(self) -> u8 {
        match self {
            Stage::Queued => 0,
            Stage::Script => 5,
            Stage::Enhance => 20,
            Stage::Video => 40,
            Stage::Finalize => 90,
            Stage::Done => 100,
        }
    }
}

/// Why a job failed, as its owner sees it: `code` is on the closed list
/// of [`failure`] and `message` is that code's text, never what the
/// failing call said (that goes to the logs with the job id).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct JobError {
    pub stage: String,
    pub code: String,
    pub message: String,
    /// For `retries_exhausted`: the listed code of the last try's failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

impl JobError {
    pub fn new(stage: &str, code: &str) -> Self {
        let code = failure::listed(code);
        JobError {
            stage: stage.to_owned(),
            code: code.to_owned(),
            message: failure::message(code, stage, crate::accounts::Language::En),
            cause: None,
        }
    }

    /// A stage that failed on every try; `cause` is the last try's code.
    pub fn retries_exhausted(stage: &str, cause: &str) -> Self {
        let mut error = JobError::new(stage, failure::RETRIES_EXHAUSTED);
        error.cause = Some(failure::listed(cause).to_owned());
        error.message = error.text(crate::accounts::Language::En);
        error
    }

    /// The message in the owner's language, rebuilt from the codes alone.
    pub fn text(&self, language: crate::accounts::Language) -> String {
        let own = failure::message(&self.code, &self.stage, language);
        match &self.cause {
            Some(cause) => format!("{}; {own}", failure::message(cause, &self.stage, language)),
            None => own,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    pub user_id: String,
    pub status: Status,
    pub stage: Stage,
    pub title: String,
    pub description: String,
    pub language: String,
    pub aspect_ratio: String,
    pub duration_s: u32,
    pub style: Option<String>,
    /// `auto`, `none` or a [`glimvid_media::Mood`] (see [`options::music`]).
    pub music: String,
    /// The shop's price as the end card shows it (free text, e.g. `$24`);
    /// not `price`, which is what the video costs in credits.
    pub display_price: Option<String>,
    /// The shop link the end card shows, as the user gave it.
    pub url: Option<String>,
    pub upload_id: Option<String>,
    pub upload_key: Option<String>,
    pub price: i64,
    pub created_at: String,
    pub updated_at: String,
    pub finished_at: Option<String>,
    /// The script as JSON, once written.
    pub script: Option<String>,
    pub enhanced_key: Option<String>,
    pub video_key: Option<String>,
    pub poster_key: Option<String>,
    pub public_id: Option<String>,
    pub execution_arn: Option<String>,
    pub error: Option<JobError>,
    pub fallback: bool,
}

impl Job {
    /// Every object the job made; deleting the job deletes these.
    pub fn object_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = [&self.enhanced_key, &self.video_key, &self.poster_key]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        keys.extend(self.public_id.as_deref().map(public_video_key));
        keys
    }

    pub fn prefix(&self) -> String {
        format!("users/{}/jobs/{}/", self.user_id, self.id)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewJob {
    #[serde(default)]
    pub upload_id: Option<String>,
    pub title: String,
    pub description: String,
    pub language: String,
    pub aspect_ratio: String,
    pub duration_s: u32,
    #[serde(default)]
    pub style: Option<String>,
    #[serde(default)]
    pub music: Option<String>,
    #[serde(default)]
    pub display_price: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct JobView {
    pub id: String,
    pub status: Status,
    pub stage: Stage,
    pub percent: u8,
    pub title: String,
    pub description: String,
    pub language: String,
    pub aspect_ratio: String,
    pub duration_s: u32,
    pub style: Option<String>,
    pub music: String,
    /// The shop's price on the end card; `price` is the cost in credits.
    pub display_price: Option<String>,
    pub url: Option<String>,
    pub upload_id: Option<String>,
    pub price: i64,
    pub created_at: String,
    pub updated_at: String,
    pub finished_at: Option<String>,
    pub script: Option<serde_json::Value>,
    pub enhanced_image_url: Option<String>,
    /// For playing in the page (served inline).
    pub video_url: Option<String>,
    /// The same video served as an attachment named after the title, so a
    /// browser saves it instead of playing it.
    pub download_url: Option<String>,
    pub poster_url: Option<String>,
    /// The unguessable public link path (`/v/{id}`), once the video exists.
    pub public_path: Option<String>,
    pub error: Option<JobError>,
    pub refunded: bool,
    /// The video provider failed and the offline renderer made this video;
    /// `price` is then the lower fallback price, the rest was refunded.
    pub fallback: bool,
}

fn text(field: &'static str, value: &str, max: usize, required: bool) -> Result<String> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err(Error::invalid(field, format!("{field} must not be empty")));
    }
    if value.chars().count() > max {
        return Err(Error::invalid(
            field,
            format!("{field} must be at most {max} characters"),
        ));
    }
    if value.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Error::invalid(
            field,
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(value.to_owned())
}

/// A request's fields as checked and normalised.
struct Valid {
    title: String,
    description: String,
    style: Option<String>,
    music: String,
    display_price: Option<String>,
    url: Option<String>,
    price: i64,
}

fn validate(input: &NewJob) -> Result<Valid> {
    let title = text("title", &input.title, TITLE_MAX, true)?;
    let description = text("description", &input.description, DESCRIPTION_MAX, true)?;
    let style = input
        .style
        .as_deref()
        .map(|s| text("style", s, STYLE_MAX, false))
        .transpose()?
        .filter(|s| !s.is_empty());
    if glimvid_media::Language::parse(&input.language).is_none() {
        return Err(Error::invalid("language", "language must be en or zh"));
    }
    if glimvid_media::Aspect::parse(&input.aspect_ratio).is_none() {
        return Err(Error::invalid(
            "aspect_ratio",
            "aspect_ratio must be 9:16, 16:9 or 1:1",
        ));
    }
    let price = credits::price(input.duration_s)
        .ok_or_else(|| Error::invalid("duration_s", "duration_s must be 5 or 10"))?;
    Ok(Valid {
        title,
        description,
        style,
        music: options::music(input.music.as_deref())?,
        display_price: options::display_price(input.display_price.as_deref())?,
        url: options::url(input.url.as_deref())?,
        price,
    })
}

/// Debits the price and writes the job in one transaction, then starts the
/// pipeline. Execution name = job id, so a retried start is a no-op.
pub async fn create(app: &App, user_id: &str, input: NewJob) -> Result<Job> {
    let Valid {
        title,
        description,
        style,
        music,
        display_price,
        url,
        price,
    } = validate(&input)?;
    let upload = match input.upload_id.as_deref() {
        Some(id) => Some(uploads::ready(app, user_id, id).await?),
        None => None,
    };
    let now = clock::rfc3339(clock::now());
    let mut job = Job {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: user_id.to_owned(),
        status: Status::Queued,
        stage: Stage::Queued,
        title,
        description,
        language: input.language,
        aspect_ratio: input.aspect_ratio,
        duration_s: input.duration_s,
        style,
        music,
        display_price,
        url,
        upload_id: upload.as_ref().map(|u| u.id.clone()),
        upload_key: upload.map(|u| u.key),
        price,
        created_at: now.clone(),
        updated_at: now,
        finished_at: None,
        script: None,
        enhanced_key: None,
        video_key: None,
        poster_key: None,
        public_id: None,
        execution_arn: None,
        error: None,
        fallback: false,
    };
    let mut items = credits::change_items(
        &app.config.credits_table,
        &Change {
            user_id,
            kind: EntryKind::Debit,
            amount: -price,
            reason: "video",
            job_id: Some(&job.id),
            source: None,
        },
    )?;
    items.push(store::put_new(app, &job)?);
    debit_and_write(app, items, price).await?;
    match start_execution(app, &job).await {
        Ok(arn) => job.execution_arn = Some(arn),
        Err(err) => {
            tracing::error!(job_id = %job.id, error = %err, "could not start the pipeline");
            let failure = JobError::new("queued", "not_started");
            store::end_with_refund(app, &job, Status::Failed, Some(&failure), "not started")
                .await?;
            return Err(err);
        }
    }
    tracing::info!(job_id = %job.id, user_id, price, "job created");
    Ok(job)
}

/// Runs the debit transaction. Concurrent submissions against one balance
/// conflict with each other; those retry (with jitter) until the balance
/// condition decides, so no request is refused for a mere race.
async fn debit_and_write(
    app: &App,
    items: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
    price: i64,
) -> Result<()> {
    const ATTEMPTS: u32 = 12;
    for attempt in 1..=ATTEMPTS {
        let result = app
            .dynamo
            .transact_write_items()
            .set_transact_items(Some(items.clone()))
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        match dynamo::classify(&err) {
            WriteFailure::ConditionFailed => {
                return Err(Error::InsufficientCredits { needed: price });
            }
            WriteFailure::Conflict if attempt < ATTEMPTS => {
                let mut jitter = [0u8; 1];
                let _ = getrandom::fill(&mut jitter);
                let wait = 10 * u64::from(attempt) + u64::from(jitter[0] % 40);
                tokio::time::sleep(Duration::from_millis(wait)).await;
            }
            WriteFailure::Conflict => break,
            WriteFailure::Other => return Err(dynamo::sdk_error("create job", err)),
        }
    }
    Err(Error::conflict(
        "busy",
        "your credits are being changed by another request; try again",
    ))
}

async fn start_execution(app: &App, job: &Job) -> Result<String> {
    let input = serde_json::json!({ "job_id": job.id, "has_photo": job.upload_key.is_some() });
    let out = app
        .sfn
        .start_execution()
        .state_machine_arn(&app.config.state_machine_arn)
        .name(&job.id)
        .input(input.to_string())
        .send()
        .await
        .map_err(|e| {
            Error::internal(
                "start execution",
                aws_sdk_sfn::error::DisplayErrorContext(e),
            )
        })?;
    let arn = out.execution_arn().to_owned();
    store::update_live(
        app,
        &job.id,
        "SET execution_arn = :arn",
        None,
        vec![(":arn", dynamo::s(&arn))],
    )
    .await?;
    Ok(arn)
}

pub async fn view(app: &App, job: &Job) -> Result<JobView> {
    let link = |key: &Option<String>| {
        let key = key.clone();
        async move {
            match key {
                Some(k) => crate::storage::presigned_get(app, &k, LINK_TTL)
                    .await
                    .map(Some),
                None => Ok(None),
            }
        }
    };
    let done = job.status == Status::Succeeded;
    let summary = Summary::from(job);
    Ok(JobView {
        id: job.id.clone(),
        status: job.status,
        stage: job.stage,
        percent: if done { 100 } else { job.stage.percent() },
        title: job.title.clone(),
        description: job.description.clone(),
        language: job.language.clone(),
        aspect_ratio: job.aspect_ratio.clone(),
        duration_s: job.duration_s,
        style: job.style.clone(),
        music: job.music.clone(),
        display_price: job.display_price.clone(),
        url: job.url.clone(),
        upload_id: job.upload_id.clone(),
        price: job.price,
        created_at: job.created_at.clone(),
        updated_at: job.updated_at.clone(),
        finished_at: job.finished_at.clone(),
        script: job
            .script
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok()),
        enhanced_image_url: link(&job.enhanced_key).await?,
        video_url: if done {
            link(&job.video_key).await?
        } else {
            None
        },
        download_url: match (&job.video_key, done) {
            (Some(key), true) => Some(
                crate::storage::presigned_get_served_as(
                    app,
                    key,
                    LINK_TTL,
                    &crate::storage::attachment(&job.title, "video", "mp4"),
                    "video/mp4",
                )
                .await?,
            ),
            _ => None,
        },
        poster_url: if done {
            link(&job.poster_key).await?
        } else {
            None
        },
        // The id is reserved before the video is published; the link is
        // only shown once it works.
        public_path: summary.public_path,
        error: summary.error,
        refunded: summary.refunded,
        fallback: summary.fallback,
    })
}

/// What a completion webhook says about a job: its outcome, without links
/// (they would expire before a late retry; `GET /videos/{id}` signs fresh
/// ones).
#[derive(Debug, Serialize)]
pub struct Summary {
    pub id: String,
    pub status: Status,
    pub title: String,
    pub language: String,
    pub aspect_ratio: String,
    pub duration_s: u32,
    pub upload_id: Option<String>,
    pub price: i64,
    pub created_at: String,
    pub finished_at: Option<String>,
    pub public_path: Option<String>,
    pub error: Option<JobError>,
    pub refunded: bool,
    pub fallback: bool,
}

impl From<&Job> for Summary {
    fn from(job: &Job) -> Self {
        let done = job.status == Status::Succeeded;
        Summary {
            id: job.id.clone(),
            status: job.status,
            title: job.title.clone(),
            language: job.language.clone(),
            aspect_ratio: job.aspect_ratio.clone(),
            duration_s: job.duration_s,
            upload_id: job.upload_id.clone(),
            price: job.price,
            created_at: job.created_at.clone(),
            finished_at: job.finished_at.clone(),
            public_path: job
                .public_id
                .as_ref()
                .filter(|_| done)
                .map(|id| format!("/v/{id}")),
            error: job.error.clone(),
            refunded: matches!(job.status, Status::Failed | Status::Cancelled),
            fallback: job.fallback,
        }
    }
}

pub async fn get(app: &App, user_id: &str, id: &str) -> Result<Job> {
    store::owned(app, user_id, id).await
}

pub async fn list(app: &App, user_id: &str, cursor: Option<&str>) -> Result<crate::Page<JobView>> {
    let (jobs, next) = store::list(app, user_id, cursor).await?;
    let mut items = Vec::with_capacity(jobs.len());
    for job in &jobs {
        items.push(view(app, job).await?);
    }
    Ok(crate::Page {
        items,
        next_cursor: next,
    })
}

/// Stops the pipeline and refunds, once.
pub async fn cancel(app: &App, user_id: &str, id: &str) -> Result<Job> {
    let job = store::owned(app, user_id, id).await?;
    if !job.status.is_live() {
        return Err(Error::conflict(
            "not_cancellable",
            format!("the video is already {}", job.status.as_str()),
        ));
    }
    if !store::end_with_refund(app, &job, Status::Cancelled, None, "cancelled").await? {
        return Err(Error::conflict(
            "not_cancellable",
            "the video has just finished",
        ));
    }
    stop_execution(app, &job).await;
    tracing::info!(job_id = %job.id, "job cancelled and refunded");
    store::owned(app, user_id, id).await
}

async fn stop_execution(app: &App, job: &Job) {
    let Some(arn) = &job.execution_arn else {
        return;
    };
    // The job is already cancelled and refunded; workers that still get a
    // message for it see that and do nothing, so a failed stop is only noise.
    if let Err(e) = app
        .sfn
        .stop_execution()
        .execution_arn(arn)
        .cause("cancelled by the user")
        .send()
        .await
    {
        tracing::warn!(job_id = %job.id, error = %aws_sdk_sfn::error::DisplayErrorContext(e), "stop execution");
    }
}

/// Deletes the job, every object made for it, and its public link. A live
/// job is cancelled (and refunded) first.
pub async fn delete(app: &App, user_id: &str, id: &str) -> Result<()> {
    let mut job = store::owned(app, user_id, id).await?;
    if job.status.is_live() {
        store::end_with_refund(app, &job, Status::Cancelled, None, "deleted").await?;
        stop_execution(app, &job).await;
        job = store::owned(app, user_id, id).await?;
    }
    // A stage still running may write after this; whatever it leaves goes
    // once nothing can write for the job any more.
    let mut prefixes = vec![job.prefix()];
    prefixes.extend(job.public_id.as_deref().map(public_video_key));
    let after = clock::now().unix_timestamp() + app.config.write_quiet_seconds;
    crate::storage::sweep_later(app, user_id, &prefixes, after).await?;
    crate::storage::delete_objects(app, &job.object_keys()).await?;
    store::delete(app, &job).await
}

/// What storage holds for an ended job that its record does not name (a
/// stage that stopped between writing and recording), deleted; a public
/// copy goes too unless the job succeeded. Called once nothing can write
/// for the job any more. Returns how many objects went.
pub async fn reconcile(app: &App, job: &Job) -> Result<usize> {
    let mut keep = job.object_keys();
    if job.status != Status::Succeeded {
        keep.retain(|k| !k.starts_with("public/"));
    }
    let mut stray: Vec<String> = crate::storage::all_keys(app, &job.prefix())
        .await?
        .into_iter()
        .filter(|k| !keep.contains(k))
        .collect();
    if job.status != Status::Succeeded
        && let Some(public_id) = &job.public_id
    {
        stray.push(public_video_key(public_id));
    }
    crate::storage::delete_objects(app, &stray).await?;
    Ok(stray.len())
}

/// Where a published video is copied: named by its public id alone.
pub fn public_video_key(public_id: &str) -> String {
    format!("public/{public_id}.mp4")
}

/// The video behind a public link, as a short-lived direct URL to its
/// published copy, whose key names neither the owner nor the job.
pub async fn public_video_url(app: &App, public_id: &str) -> Result<String> {
    let valid = public_id.len() == 43
        && public_id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_');
    let job = if valid {
        store::job_for_public_id(app, public_id).await?
    } else {
        None
    };
    match job.filter(|j| j.status == Status::Succeeded) {
        Some(_) => {
            crate::storage::presigned_get(
                app,
                &public_video_key(public_id),
                Duration::from_secs(600),
            )
            .await
        }
        None => Err(Error::NotFound { what: "video" }),
    }
}
