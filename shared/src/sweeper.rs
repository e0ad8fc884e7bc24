//! The retention sweeper (hourly on AWS, on a timer in the local runner).
//!
//! Work is found by query, never by scan: pending purges through the
//! accounts table's marker partition, everything else through the content
//! table's sparse `due` index (see `crate::due`): live jobs past their
//! deadline (failed and refunded, once), ended jobs to reconcile with
//! storage, uploads to clean up or past retention, scheduled sweeps of
//! deleted content. A run takes everything due, shard by shard, in
//! bounded parallel batches, until its time budget is spent; an item is
//! off the index (or due later) once handled, so the next run resumes
//! with whatever is still due. Every action is idempotent.

use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use serde::Serialize;

use crate::app::App;
use crate::clock;
use crate::dynamo::{Item, get_n, get_opt_s};
use crate::error::Result;
use crate::jobs::{self, JobError, Status};
use crate::privacy::purge::Progress;

const PURGE_BUDGET: usize = 1000;
const PURGES_AT_ONCE: usize = 4;
const PAGE: i32 = 100;
/// Items handled at once: enough to hide the latency of each call, few
/// enough to stay inside DynamoDB's and S3's per-partition rates.
const ITEMS_AT_ONCE: usize = 16;
/// An expired upload a live job still needs is looked at again this much later.
const RECHECK_SECONDS: i64 = 3600;

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Report {
    pub purges_finished: usize,
    pub purges_pending: usize,
    pub uploads_deleted: usize,
    /// Uploads whose URL expired: what it left at the incoming key removed,
    /// never completed ones forgotten.
    pub uploads_cleaned: usize,
    pub jobs_failed: usize,
    pub jobs_reconciled: usize,
    /// Objects found under ended jobs that their records do not name.
    pub stray_objects_deleted: usize,
    pub sweeps_done: usize,
    pub exports_expired: usize,
    /// Items due that could not be handled (an error, logged); still due.
    pub errors: usize,
    /// Everything due when the run started was looked at.
    pub complete: bool,
}

enum Handled {
    UploadDeleted,
    UploadCleaned,
    UploadKept,
    JobFailed,
    JobReconciled(usize),
    Swept,
    ExportExpired,
    Nothing,
}

pub async fn run(app: &App) -> Result<Report> {
    let budget =
        Duration::from_secs(u64::try_from(app.config.sweeper_budget_seconds).unwrap_or(240));
    let started = Instant::now();
    let mut report = Report {
        complete: true,
        ..Report::default()
    };
    let purges = crate::privacy::purge::pending(app).await?;
    let over = || started.elapsed() >= budget;
    let results: Vec<Result<Progress>> = stream::iter(purges)
        .map(|(user_id, requested_at)| async move {
            // Step by step until done, settling, or the run's time is up.
            loop {
                let progress =
                    crate::privacy::purge_step(app, &user_id, &requested_at, PURGE_BUDGET).await?;
                if progress != Progress::More || over() {
                    return Ok(progress);
                }
            }
        })
        .buffer_unordered(PURGES_AT_ONCE)
        .collect()
        .await;
    for result in results {
        match result {
            Ok(Progress::Finished) => report.purges_finished += 1,
            Ok(Progress::More) => {
                report.purges_pending += 1;
                report.complete = false;
            }
            Ok(Progress::Settling) => report.purges_pending += 1,
            Err(err) => {
                tracing::error!(error = %err, "purge step failed");
                report.purges_pending += 1;
                report.errors += 1;
            }
        }
    }
    let now = clock::now().unix_timestamp();
    'shards: for shard in crate::due::shards() {
        loop {
            if over() {
                report.complete = false;
                break 'shards;
            }
            // Always from the start of the due range: handled items have
            // left it (or moved past `now`), so the next page is what is
            // still due.
            let (items, _) = crate::due::page(app, &shard, now, PAGE, None).await?;
            let fetched = items.len();
            let results: Vec<Result<Handled>> = stream::iter(items)
                .map(|item| async move { handle(app, &item, now).await })
                .buffer_unordered(ITEMS_AT_ONCE)
                .collect()
                .await;
            let mut moved = 0;
            for result in results {
                if matches!(result, Ok(ref h) if !matches!(h, Handled::Nothing)) {
                    moved += 1;
                }
                match result {
                    Ok(Handled::UploadDeleted) => report.uploads_deleted += 1,
                    Ok(Handled::UploadCleaned) => report.uploads_cleaned += 1,
                    Ok(Handled::JobFailed) => report.jobs_failed += 1,
                    Ok(Handled::JobReconciled(stray)) => {
                        report.jobs_reconciled += 1;
                        report.stray_objects_deleted += stray;
                    }
                    Ok(Handled::Swept) => report.sweeps_done += 1,
                    Ok(Handled::ExportExpired) => report.exports_expired += 1,
                    Ok(Handled::UploadKept | Handled::Nothing) => {}
                    Err(err) => {
                        tracing::error!(error = %err, "due work failed; it stays due");
                        report.errors += 1;
                    }
                }
            }
            // A short page was the last; a page where nothing moved (every
            // item failed, logged above) is left for the next run.
            if fetched < PAGE as usize || moved == 0 {
                break;
            }
        }
    }
    tracing::info!(
        purges_finished = report.purges_finished,
        purges_pending = report.purges_pending,
        uploads_deleted = report.uploads_deleted,
        uploads_cleaned = report.uploads_cleaned,
        jobs_failed = report.jobs_failed,
        jobs_reconciled = report.jobs_reconciled,
        stray_objects_deleted = report.stray_objects_deleted,
        sweeps_done = report.sweeps_done,
        exports_expired = report.exports_expired,
        errors = report.errors,
        complete = report.complete,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "sweeper run"
    );
    Ok(report)
}

fn key_of(item: &Item) -> (String, String) {
    (
        get_opt_s(item, "pk").unwrap_or_default(),
        get_opt_s(item, "sk").unwrap_or_default(),
    )
}

async fn handle(app: &App, item: &Item, now: i64) -> Result<Handled> {
    let seen = get_n(item, "due_at")?;
    match get_opt_s(item, "kind").as_deref() {
        Some("upload") => upload_due(app, item, seen, now).await,
        Some("job") => job_due(app, item, seen).await,
        Some("sweep") => sweep_due(app, item).await,
        Some("export") => crate::privacy::export::expire(app, item)
            .await
            .map(|_| Handled::ExportExpired),
        _ => {
            let (pk, sk) = key_of(item);
            crate::due::reschedule(app, (&pk, &sk), seen, None).await?;
            Ok(Handled::Nothing)
        }
    }
}

/// First look (its URL expired): remove what the ticket left at the
/// incoming key; forget it if never completed, else move on to its
/// retention date. At retention: delete it unless a live job needs it.
async fn upload_due(app: &App, item: &Item, seen: i64, now: i64) -> Result<Handled> {
    let upload = crate::uploads::from_record(item)?;
    let (pk, sk) = key_of(item);
    let created = clock::parse_rfc3339(&upload.created_at).unwrap_or_else(clock::now);
    let retention_at = created.unix_timestamp() + app.config.upload_retention_days * 86_400;
    if now < retention_at {
        if upload.status == crate::uploads::UploadStatus::Pending {
            // Both keys: a completion stopped between storing the photo
            // and recording it may have left the upload's own key too.
            crate::storage::delete_objects(app, &upload.object_keys()).await?;
            crate::uploads::forget(app, &upload.id).await?;
        } else {
            if let Some(incoming) = &upload.incoming_key {
                crate::storage::delete_objects(app, std::slice::from_ref(incoming)).await?;
            }
            crate::due::reschedule(app, (&pk, &sk), seen, Some(retention_at)).await?;
        }
        return Ok(Handled::UploadCleaned);
    }
    let needed = jobs::store::all_of(app, &upload.user_id)
        .await?
        .iter()
        .any(|j| j.status.is_live() && j.uses_upload(&upload.id));
    if needed {
        crate::due::reschedule(app, (&pk, &sk), seen, Some(now + RECHECK_SECONDS)).await?;
        return Ok(Handled::UploadKept);
    }
    crate::storage::delete_objects(app, &upload.object_keys()).await?;
    crate::uploads::forget(app, &upload.id).await?;
    tracing::info!(upload_id = %upload.id, "upload past retention deleted");
    Ok(Handled::UploadDeleted)
}

/// A live job is past its deadline: failed and refunded (which makes it
/// due again for reconciliation). An ended one is reconciled with storage,
/// its end announced again (see `jobs::store::ended_notice`), and leaves
/// the index.
async fn job_due(app: &App, item: &Item, seen: i64) -> Result<Handled> {
    let job_id = get_opt_s(item, "job_id").unwrap_or_default();
    // The index is eventually consistent: act on the record as it is now.
    let Some(job) = jobs::store::get(app, &job_id).await? else {
        return Ok(Handled::Nothing);
    };
    if job.status.is_live() {
        return Ok(if fail_stuck_job(app, &job).await? {
            Handled::JobFailed
        } else {
            Handled::Nothing
        });
    }
    let stray = jobs::reconcile(app, &job).await?;
    jobs::store::ended_notice(app, &job, job.status).await;
    let pk = jobs::store::pk(&job.id);
    crate::due::reschedule(app, (&pk, "JOB"), seen, None).await?;
    if stray > 0 {
        tracing::warn!(job_id = %job.id, stray, "objects no record named deleted");
    }
    Ok(Handled::JobReconciled(stray))
}

async fn sweep_due(app: &App, item: &Item) -> Result<Handled> {
    let prefixes = item
        .get("prefixes")
        .and_then(|v| v.as_ss().ok())
        .cloned()
        .unwrap_or_default();
    for prefix in &prefixes {
        crate::storage::delete_prefix(app, prefix).await?;
    }
    let (pk, sk) = key_of(item);
    app.dynamo
        .delete_item()
        .table_name(&app.config.content_table)
        .key("pk", crate::dynamo::s(pk))
        .key("sk", crate::dynamo::s(sk))
        .send()
        .await
        .map_err(|e| crate::dynamo::sdk_error("delete sweep", e))?;
    Ok(Handled::Swept)
}

async fn fail_stuck_job(app: &App, job: &jobs::Job) -> Result<bool> {
    let error = JobError::new(job.stage.as_str(), "deadline_exceeded");
    let ended =
        jobs::store::end_with_refund(app, job, Status::Failed, Some(&error), "deadline exceeded")
            .await?;
    if ended {
        if let Some(arn) = &job.execution_arn {
            let _ = app
                .sfn
                .stop_execution()
                .execution_arn(arn)
                .cause("deadline exceeded")
                .send()
                .await;
        }
        tracing::warn!(job_id = %job.id, stage = job.stage.as_str(), "stuck job failed and refunded");
    }
    Ok(ended)
}
