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
/// Photos one video can show, in the shop's order.
pub const MAX_PHOTOS: usize = 5;
/// Variants of one product made in one request, to compare side by side.
pub const MAX_VARIANTS: u32 = 4;

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
    /// The photos the video shows, in order (none for a text-only video),
    /// and where each is stored.
    pub upload_ids: Vec<String>,
    pub upload_keys: Vec<String>,
    pub price: i64,
    pub created_at: String,
    pub updated_at: String,
    pub finished_at: Option<String>,
    /// The script as JSON, once written.
    pub script: Option<String>,
    /// The enhanced photos, in the uploads' order, once all are made.
    pub enhanced_keys: Vec<String>,
    /// Variants of one product share a group: `variant` is this one's
    /// place in it (0 for a lone video) and `variant_ids` all of them, in
    /// order.
    pub group_id: Option<String>,
    pub variant: u32,
    pub variant_ids: Vec<String>,
    pub video_key: Option<String>,
    pub poster_key: Option<String>,
    pub public_id: Option<String>,
    pub execution_arn: Option<String>,
    pub error: Option<JobError>,
    pub fallback: bool,
    /// Shots the video provider failed for good and the offline renderer
    /// drew instead; each refunded its share (see `pipeline::work`).
    pub fallback_shots: u32,
}

impl Job {
    /// Every object the job made; deleting the job deletes these.
    pub fn object_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.enhanced_keys.clone();
        keys.extend(
            [&self.video_key, &self.poster_key]
                .into_iter()
                .flatten()
                .cloned(),
        );
        keys.extend(self.public_id.as_deref().map(public_video_key));
        keys
    }

    /// Whether the video is cut into shots (the hook, each scene, the end
    /// card) rather than one camera move: with several photos, and at 15 s
    /// and longer, where one move would drag.
    pub fn is_multi_shot(&self) -> bool {
        self.upload_keys.len() > 1 || self.duration_s >= MULTI_SHOT_FROM_S
    }

    pub fn uses_upload(&self, upload_id: &str) -> bool {
        self.upload_ids.iter().any(|id| id == upload_id)
    }

    pub fn prefix(&self) -> String {
        format!("users/{}/jobs/{}/", self.user_id, self.id)
    }
}

/// From this length on, every video is cut into shots.
pub const MULTI_SHOT_FROM_S: u32 = 15;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewJob {
    /// One photo; `upload_ids` for several (not both).
    #[serde(default)]
    pub upload_id: Option<String>,
    #[serde(default)]
    pub upload_ids: Option<Vec<String>>,
    /// How many variants of the product to make (1 to [`MAX_VARIANTS`]).
    #[serde(default)]
    pub variants: Option<u32>,
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
    /// The first photo (`upload_ids` has them all).
    pub upload_id: Option<String>,
    pub upload_ids: Vec<String>,
    pub group_id: Option<String>,
    pub variant: u32,
    pub variant_ids: Vec<String>,
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
    /// Shots of a multi-shot video that the offline renderer drew because
    /// the provider failed them; each one's share was refunded.
    pub fallback_shots: u32,
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
    variants: u32,
}

/// The photo ids of a request, in order: `upload_id` or `upload_ids`,
/// each once, no more than the video has scenes for (every photo gets a
/// scene of its own).
fn photo_ids(input: &NewJob) -> Result<Vec<String>> {
    let ids = match (&input.upload_id, &input.upload_ids) {
        (Some(_), Some(_)) => {
            return Err(Error::invalid(
                "upload_ids",
                "give upload_id or upload_ids, not both",
            ));
        }
        (Some(id), None) => vec![id.clone()],
        (None, Some(ids)) if ids.is_empty() || ids.len() > MAX_PHOTOS => {
            return Err(Error::invalid(
                "upload_ids",
                format!("upload_ids must list 1 to {MAX_PHOTOS} uploads"),
            ));
        }
        (None, Some(ids)) => ids.clone(),
        (None, None) => Vec::new(),
    };
    for (i, id) in ids.iter().enumerate() {
        if ids[..i].contains(id) {
            return Err(Error::invalid(
                "upload_ids",
                "upload_ids must not list an upload twice",
            ));
        }
    }
    let fits = glimvid_media::script::scene_count(input.duration_s);
    if ids.len() > fits {
        return Err(Error::invalid(
            "upload_ids",
            format!(
                "a {} s video shows at most {fits} photo{}; choose a longer video or fewer photos",
                input.duration_s,
                if fits == 1 { "" } else { "s" }
            ),
        ));
    }
    Ok(ids)
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
        .ok_or_else(|| Error::invalid("duration_s", "duration_s must be 5, 10, 15 or 30"))?;
    let variants = input.variants.unwrap_or(1);
    if !(1..=MAX_VARIANTS).contains(&variants) {
        return Err(Error::invalid(
            "variants",
            format!("variants must be 1 to {MAX_VARIANTS}"),
        ));
    }
    Ok(Valid {
        title,
        description,
        style,
        music: options::music(input.music.as_deref())?,
        display_price: options::display_price(input.display_price.as_deref())?,
        url: options::url(input.url.as_deref())?,
        price,
        variants,
    })
}

/// Debits the price and writes the job in one transaction, then starts the
/// pipeline. Execution name = job id, so a retried start is a no-op.
///
/// With `variants`, that many jobs of one product are written and paid in
/// one transaction (all or none), each opening differently; the first is
/// returned, and names the others in `variant_ids`.
pub async fn create(app: &App, user_id: &str, input: NewJob) -> Result<Job> {
    let Valid {
        title,
        description,
        style,
        music,
        display_price,
        url,
        price,
        variants,
    } = validate(&input)?;
    let field = if input.upload_ids.is_some() {
        "upload_ids"
    } else {
        "upload_id"
    };
    let mut uploads_ready = Vec::new();
    for id in photo_ids(&input)? {
        uploads_ready.push(uploads::ready(app, user_id, &id, field).await?);
    }
    let now = clock::rfc3339(clock::now());
    let ids: Vec<String> = (0..variants)
        .map(|_| uuid::Uuid::new_v4().to_string())
        .collect();
    let group_id = (variants > 1).then(|| uuid::Uuid::new_v4().to_string());
    let jobs: Vec<Job> = ids
        .iter()
        .zip(0u32..)
        .map(|(id, variant)| Job {
            id: id.clone(),
            user_id: user_id.to_owned(),
            status: Status::Queued,
            stage: Stage::Queued,
            title: title.clone(),
            description: description.clone(),
            language: input.language.clone(),
            aspect_ratio: input.aspect_ratio.clone(),
            duration_s: input.duration_s,
            style: style.clone(),
            music: music.clone(),
            display_price: display_price.clone(),
            url: url.clone(),
            upload_ids: uploads_ready.iter().map(|u| u.id.clone()).collect(),
            upload_keys: uploads_ready.iter().map(|u| u.key.clone()).collect(),
            price,
            created_at: now.clone(),
            updated_at: now.clone(),
            finished_at: None,
            script: None,
            enhanced_keys: Vec::new(),
            group_id: group_id.clone(),
            variant,
            variant_ids: if group_id.is_some() {
                ids.clone()
            } else {
                Vec::new()
            },
            video_key: None,
            poster_key: None,
            public_id: None,
            execution_arn: None,
            error: None,
            fallback: false,
            fallback_shots: 0,
        })
        .collect();
    let debits: Vec<Change> = jobs
        .iter()
        .map(|job| Change {
            user_id,
            kind: EntryKind::Debit,
            amount: -price,
            reason: "video",
            job_id: Some(&job.id),
            source: None,
        })
        .collect();
    let mut items = credits::changes_items(&app.config.credits_table, &debits)?;
    for job in &jobs {
        items.push(store::put_new(app, job)?);
    }
    debit_and_write(app, items, price * i64::from(variants)).await?;
    let mut started = Vec::with_capacity(jobs.len());
    let mut failed = None;
    for mut job in jobs {
        match start_execution(app, &job).await {
            Ok(arn) => job.execution_arn = Some(arn),
            Err(err) => {
                tracing::error!(job_id = %job.id, error = %err, "could not start the pipeline");
                let failure = JobError::new("queued", "not_started");
                store::end_with_refund(app, &job, Status::Failed, Some(&failure), "not started")
                    .await?;
                failed = Some(err);
            }
        }
        tracing::info!(job_id = %job.id, group_id = ?job.group_id, user_id, price, "job created");
        started.push(job);
    }
    // The variants that did start go on; the request still reports the
    // one that did not (it is failed and refunded).
    if let Some(err) = failed {
        return Err(err);
    }
    started
        .into_iter()
        .next()
        .ok_or_else(|| Error::internal("create job", "no variant was made"))
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
    let input = serde_json::json!({ "job_id": job.id, "has_photo": !job.upload_keys.is_empty() });
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
        upload_id: job.upload_ids.first().cloned(),
        upload_ids: job.upload_ids.clone(),
        group_id: job.group_id.clone(),
        variant: job.variant,
        variant_ids: job.variant_ids.clone(),
        price: job.price,
        created_at: job.created_at.clone(),
        updated_at: job.updated_at.clone(),
        finished_at: job.finished_at.clone(),
        script: job
            .script
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok()),
        enhanced_image_url: link(&job.enhanced_keys.first().cloned()).await?,
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
        fallback_shots: job.fallback_shots,
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
    pub upload_ids: Vec<String>,
    pub group_id: Option<String>,
    pub price: i64,
    pub created_at: String,
    pub finished_at: Option<String>,
    pub public_path: Option<String>,
    pub error: Option<JobError>,
    pub refunded: bool,
    pub fallback: bool,
    pub fallback_shots: u32,
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
            upload_id: job.upload_ids.first().cloned(),
            upload_ids: job.upload_ids.clone(),
            group_id: job.group_id.clone(),
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
            fallback_shots: job.fallback_shots,
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
