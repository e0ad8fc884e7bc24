//! What every SQS-fed worker does with a message it could not finish: it
//! reads which delivery this is, reports the message as a batch item
//! failure (so the event-source mapping leaves it on the queue), and may set
//! when the queue hands it back (its own backoff), as Lambda workers do.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsMessage};

use crate::app::App;

/// Which delivery of its message this is (1 for the first).
pub fn receive_count(record: &SqsMessage) -> u32 {
    record
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|c| c.parse::<u32>().ok())
        .unwrap_or(1)
}

/// Leaves the message on the queue for another delivery.
pub fn retry(response: &mut SqsBatchResponse, message_id: String) {
    let mut failure = BatchItemFailure::default();
    failure.item_identifier = message_id;
    response.batch_item_failures.push(failure);
}

/// Has the queue hand the message back after `wait_s` rather than its own
/// visibility timeout. A failure only means that longer wait, so it is
/// returned for the caller's log line, never raised.
pub async fn delay(
    app: &App,
    queue_url: Option<&str>,
    record: &SqsMessage,
    wait_s: u32,
) -> Result<(), String> {
    let (Some(queue), Some(receipt)) = (queue_url, &record.receipt_handle) else {
        return Err("no queue URL or receipt handle".to_owned());
    };
    app.sqs
        .change_message_visibility()
        .queue_url(queue)
        .receipt_handle(receipt)
        .visibility_timeout(i32::try_from(wait_s).unwrap_or(i32::MAX))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())
}
