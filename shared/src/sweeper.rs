//! The retention sweeper (hourly on AWS, on a timer in the local runner):
//! finishes account purges, deletes uploads past retention that no live
//! job needs, and fails and refunds, once, jobs stuck past their deadline.
//! Work per run is bounded; a scan cursor saved between runs makes it
//! resumable, and every action is idempotent.

use serde::Serialize;
use time::Duration;

use crate::app::App;
use crate::clock;
use crate::dynamo::{self, Item, get_opt_s, s};
use crate::error::Result;
use crate::jobs::{self, JobError, Status};

const PURGES_PER_RUN: i32 = 10;
const PURGE_BUDGET: usize = 1000;
const SCAN_PAGES_PER_RUN: usize = 10;
const SCAN_PAGE: i32 = 200;

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Report {
    pub purges_finished: usize,
    pub purges_pending: usize,
    pub uploads_deleted: usize,
    pub jobs_failed: usize,
    pub scan_complete: bool,
}

pub async fn run(app: &App) -> Result<Report> {
    let mut report = Report::default();
    for (user_id, _) in crate::privacy::purge::pending(app, PURGES_PER_RUN).await? {
        if crate::privacy::purge_step(app, &user_id, PURGE_BUDGET).await? {
            report.purges_finished += 1;
        } else {
            report.purges_pending += 1;
        }
    }
    sweep_content(app, &mut report).await?;
    tracing::info!(
        purges_finished = report.purges_finished,
        purges_pending = report.purges_pending,
        uploads_deleted = report.uploads_deleted,
        jobs_failed = report.jobs_failed,
        scan_complete = report.scan_complete,
        "sweeper run"
    );
    Ok(report)
}

async fn load_cursor(app: &App) -> Result<Option<Item>> {
    let out = app
        .dynamo
        .get_item()
        .table_name(&app.config.content_table)
        .key("pk", s("SWEEPER"))
        .key("sk", s("CURSOR"))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| dynamo::sdk_error("sweeper cursor", e))?;
    Ok(out
        .item
        .and_then(|i| get_opt_s(&i, "cursor"))
        .and_then(|c| serde_json::from_str::<std::collections::BTreeMap<String, String>>(&c).ok())
        .map(|m| m.into_iter().map(|(k, v)| (k, s(v))).collect()))
}

async fn save_cursor(app: &App, cursor: Option<&Item>) -> Result<()> {
    let json = cursor.map(|c| {
        let map: std::collections::BTreeMap<&str, String> = c
            .iter()
            .filter_map(|(k, v)| v.as_s().ok().map(|v| (k.as_str(), v.clone())))
            .collect();
        serde_json::to_string(&map).unwrap_or_default()
    });
    let mut req = app
        .dynamo
        .put_item()
        .table_name(&app.config.content_table)
        .item("pk", s("SWEEPER"))
        .item("sk", s("CURSOR"))
        .item("kind", s("sweeper_cursor"));
    if let Some(json) = json {
        req = req.item("cursor", s(json));
    }
    req.send()
        .await
        .map_err(|e| dynamo::sdk_error("save sweeper cursor", e))?;
    Ok(())
}

async fn sweep_content(app: &App, report: &mut Report) -> Result<()> {
    let now = clock::now();
    let upload_cutoff = clock::rfc3339(now - Duration::days(app.config.upload_retention_days));
    let job_deadline = clock::rfc3339(now - Duration::minutes(app.config.job_deadline_minutes));
    let mut start = load_cursor(app).await?;
    for _ in 0..SCAN_PAGES_PER_RUN {
        let page = app
            .dynamo
            .scan()
            .table_name(&app.config.content_table)
            .filter_expression(
                "(kind = :upload AND created_at < :upload_cutoff) OR \
                 (kind = :job AND #status IN (:queued, :running) AND created_at < :job_deadline)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":upload", s("upload"))
            .expression_attribute_values(":job", s("job"))
            .expression_attribute_values(":queued", s("queued"))
            .expression_attribute_values(":running", s("running"))
            .expression_attribute_values(":upload_cutoff", s(&upload_cutoff))
            .expression_attribute_values(":job_deadline", s(&job_deadline))
            .limit(SCAN_PAGE)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| dynamo::sdk_error("sweeper scan", e))?;
        for item in page.items() {
            match get_opt_s(item, "kind").as_deref() {
                Some("upload") => {
                    report.uploads_deleted += usize::from(expire_upload(app, item).await?)
                }
                Some("job") => report.jobs_failed += usize::from(fail_stuck_job(app, item).await?),
                _ => {}
            }
        }
        start = page.last_evaluated_key;
        if start.is_none() {
            report.scan_complete = true;
            break;
        }
    }
    save_cursor(app, start.as_ref()).await
}

async fn expire_upload(app: &App, item: &Item) -> Result<bool> {
    let (Some(user_id), Some(upload_id)) =
        (get_opt_s(item, "user_id"), get_opt_s(item, "upload_id"))
    else {
        return Ok(false);
    };
    let needed = jobs::store::all_of(app, &user_id)
        .await?
        .iter()
        .any(|j| j.status.is_live() && j.upload_id.as_deref() == Some(upload_id.as_str()));
    if needed {
        return Ok(false);
    }
    let upload = crate::uploads::from_record(item)?;
    crate::storage::delete_objects(app, std::slice::from_ref(&upload.key)).await?;
    crate::uploads::forget(app, &upload.id).await?;
    tracing::info!(upload_id = %upload.id, "upload past retention deleted");
    Ok(true)
}

async fn fail_stuck_job(app: &App, item: &Item) -> Result<bool> {
    let job = jobs::store::from_item(item)?;
    let error = JobError::new(job.stage.as_str(), "deadline_exceeded");
    let ended =
        jobs::store::end_with_refund(app, &job, Status::Failed, Some(&error), "deadline exceeded")
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
