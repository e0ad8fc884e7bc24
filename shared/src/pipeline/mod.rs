//! The video pipeline's stage workers. The state machine sends
//! `{job_id, stage, task_token}` to each stage's queue; a worker does the
//! stage once (a redelivered message finds it done) and reports back with
//! SendTaskSuccess or SendTaskFailure.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};

use crate::app::App;

/// One per worker Lambda; the name is its function's `Handler` in the
/// template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Worker {
    Script,
    Enhance,
    Video,
    Finalize,
}

impl Worker {
    pub const ALL: [Worker; 4] = [
        Worker::Script,
        Worker::Enhance,
        Worker::Video,
        Worker::Finalize,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Worker::Script => "worker-script",
            Worker::Enhance => "worker-enhance",
            Worker::Video => "worker-video",
            Worker::Finalize => "worker-finalize",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.name() == name)
    }

    /// The stage Lambda runs this process for: the function's `Handler`
    /// (`_HANDLER`), as `http::Endpoint::from_handler`.
    pub fn from_handler() -> anyhow::Result<Self> {
        let handler = crate::config::handler()?;
        Self::from_name(&handler)
            .ok_or_else(|| anyhow::anyhow!("Handler {handler} names no pipeline stage"))
    }
}

/// Handles one SQS batch. Messages that hit a transient fault are reported
/// as batch item failures, so SQS redelivers them later.
pub async fn handle_batch(app: &App, worker: Worker, event: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        if let Err(err) = stage::handle(app, worker, &record).await {
            tracing::warn!(worker = worker.name(), message_id = %id, error = %err, "stage will be retried");
            crate::redelivery::retry(&mut response, id);
        }
    }
    if !response.batch_item_failures.is_empty() {
        let failed = response.batch_item_failures.len() as u64;
        let ids: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        crate::telemetry::count(
            "FailedMessages",
            failed,
            &[("worker", worker.name()), ("message_ids", &ids.join(","))],
        );
    }
    response
}

mod shots;
mod stage;
mod work;

use work::Outcome;
