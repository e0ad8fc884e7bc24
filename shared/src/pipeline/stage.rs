//! One stage delivery: parse, skip what is already done, do the work,
//! record it, report to Step Functions.

use aws_lambda_events::event::sqs::SqsMessage;
use serde::Deserialize;

use super::{Outcome, Worker, work};
use crate::app::App;
use crate::error::{Error, Result};
use crate::jobs::{self, JobError, Status, store};

#[derive(Debug, Deserialize)]
struct Message {
    job_id: String,
    stage: String,
    task_token: String,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

/// Ok: the message is done with (delete it). Err: leave it for redelivery,
/// which comes after the backoff set here.
pub async fn handle(app: &App, worker: Worker, record: &SqsMessage) -> Result<()> {
    let attempt = crate::redelivery::receive_count(record);
    let result = deliver(app, worker, record, attempt).await;
    if result.is_err() {
        back_off(app, worker, record, attempt).await;
    }
    result
}

/// The event-source mapping leaves a failed message alone, so without this
/// the next delivery would wait out the queue's whole visibility timeout
/// (6x the function's timeout) and the stage's state would time out after
/// a try or two. A failure here only means that longer wait.
async fn back_off(app: &App, worker: Worker, record: &SqsMessage, attempt: u32) {
    let stages = &app.config.stages;
    let wait_s = stages.backoff_seconds(attempt);
    match crate::redelivery::delay(app, stages.queue_url.as_deref(), record, wait_s).await {
        Ok(()) => tracing::info!(
            worker = worker.name(),
            attempt,
            backoff_seconds = wait_s,
            "retry backoff set"
        ),
        Err(error) => tracing::warn!(
            worker = worker.name(),
            attempt,
            error,
            "could not set the retry backoff; the queue's visibility timeout applies"
        ),
    }
}

async fn deliver(app: &App, worker: Worker, record: &SqsMessage, attempt: u32) -> Result<()> {
    let Some(body) = record.body.as_deref() else {
        tracing::error!(worker = worker.name(), "message without a body dropped");
        return Ok(());
    };
    let message: Message = match serde_json::from_str(body) {
        Ok(m) => m,
        Err(err) => {
            // Nobody can ever process it; retrying only delays the DLQ.
            tracing::error!(worker = worker.name(), error = %err, "malformed stage message dropped");
            return Ok(());
        }
    };
    let Some(job) = store::get(app, &message.job_id).await? else {
        tracing::warn!(job_id = %message.job_id, "stage message for a deleted job dropped");
        return report_success(app, &message.task_token).await;
    };
    if message.stage == "refund" {
        let error = describe_failure(&job, message.error.as_ref());
        if store::end_with_refund(app, &job, Status::Failed, Some(&error), "video failed").await? {
            tracing::info!(job_id = %job.id, stage = %error.stage, code = %error.code, "job failed and refunded");
        }
        return report_success(app, &message.task_token).await;
    }
    if !job.status.is_live() {
        tracing::info!(job_id = %job.id, status = job.status.as_str(), "job already ended; stage skipped");
        return report_success(app, &message.task_token).await;
    }
    let last_attempt = attempt >= app.config.stages.max_attempts;
    match work::run(app, &job, &message.stage, attempt, last_attempt).await {
        Ok(Outcome::Done) => {
            tracing::info!(job_id = %job.id, stage = %message.stage, attempt, "stage done");
            report(app, &message.task_token, true, 0).await
        }
        Ok(Outcome::Pending { wait_s }) => {
            tracing::info!(job_id = %job.id, stage = %message.stage, wait_s, "stage waiting on its provider");
            report(app, &message.task_token, false, wait_s).await
        }
        Err(failure) if failure.permanent || last_attempt => {
            tracing::warn!(job_id = %job.id, stage = %message.stage, code = %failure.code, detail = %failure.detail, attempt, "stage failed");
            let error = if failure.permanent {
                JobError::new(&message.stage, &failure.code)
            } else {
                JobError::retries_exhausted(&message.stage, &failure.code)
            };
            report_failure(app, &message.task_token, &error).await
        }
        Err(failure) => {
            tracing::warn!(job_id = %job.id, stage = %message.stage, code = %failure.code, detail = %failure.detail, attempt, "stage failed for now");
            Err(Error::internal("transient stage fault", failure.code))
        }
    }
}

/// What went wrong, from the Catch's `{Error, Cause}`: our own failures
/// carry a JSON cause; anything else (a timeout) gets a plain reason.
fn describe_failure(job: &jobs::Job, error: Option<&serde_json::Value>) -> JobError {
    let cause = error
        .and_then(|e| e.get("Cause"))
        .and_then(|c| c.as_str())
        .and_then(|c| serde_json::from_str::<JobError>(c).ok());
    if let Some(err) = cause {
        // Written by `report_failure`, but rebuilt from its codes so only
        // listed text can ever reach the job.
        return match err.cause {
            Some(cause) => JobError::retries_exhausted(&err.stage, &cause),
            None => JobError::new(&err.stage, &err.code),
        };
    }
    let name = error
        .and_then(|e| e.get("Error"))
        .and_then(|e| e.as_str())
        .unwrap_or("States.Unknown");
    let code = if name == "States.Timeout" {
        "timeout"
    } else {
        "pipeline_error"
    };
    JobError::new(job.stage.as_str(), code)
}

/// A token the state machine no longer waits for (the execution moved on,
/// was stopped, or this is a redelivery of a stage already reported) is
/// not an error: the message is simply done.
fn token_is_spent(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("TaskTimedOut" | "TaskDoesNotExist" | "InvalidToken" | "ExecutionDoesNotExist")
    )
}

async fn report_success(app: &App, token: &str) -> Result<()> {
    report(app, token, true, 0).await
}

/// Task success with the stage's output: `done` false asks the state
/// machine to wait `wait_s` seconds and send the stage again (the video
/// stage's polling loop); other stages ignore it.
async fn report(app: &App, token: &str, done: bool, wait_s: u32) -> Result<()> {
    use aws_sdk_sfn::error::ProvideErrorMetadata;
    let output = serde_json::json!({ "done": done, "wait_s": wait_s.max(1) });
    match app
        .sfn
        .send_task_success()
        .task_token(token)
        .output(output.to_string())
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if token_is_spent(e.code()) => Ok(()),
        Err(e) => Err(Error::internal(
            "send task success",
            aws_sdk_sfn::error::DisplayErrorContext(e),
        )),
    }
}

async fn report_failure(app: &App, token: &str, error: &JobError) -> Result<()> {
    use aws_sdk_sfn::error::ProvideErrorMetadata;
    let cause = serde_json::to_string(error).map_err(|e| Error::internal("cause", e))?;
    match app
        .sfn
        .send_task_failure()
        .task_token(token)
        .error(&error.code)
        .cause(cause)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if token_is_spent(e.code()) => Ok(()),
        Err(e) => Err(Error::internal(
            "send task failure",
            aws_sdk_sfn::error::DisplayErrorContext(e),
        )),
    }
}
