//! Plays Lambda's SQS event-source mapping for the local runner: pollers
//! receive from each subscribed queue, hand the batch to the worker as the
//! `SqsEvent` Lambda would deliver, delete what succeeded and leave what
//! failed for redelivery (and, after `maxReceiveCount`, the dead-letter
//! queue, which the queue's own redrive policy does).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::encodings::Base64Data;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage, SqsMessageAttribute};
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use glimvid::App;
use glimvid::pipeline::{Worker, handle_batch};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::template::SqsSubscription;

/// Pollers per queue, each handling one batch at a time. Lambda's mapping
/// scales up to many concurrent batches; locally two keep one slow job from
/// holding up the next (tests start several) without letting a burst of
/// renders swamp a laptop's cores. Queues are polled independently, so the
/// stages of different jobs run concurrently.
pub const POLLERS_PER_QUEUE: usize = 2;

/// Long-poll wait: short, so a poller notices shutdown within ~a second.
const WAIT_SECONDS: i32 = 1;

/// The most SQS returns per receive.
const MAX_BATCH: i32 = 10;

/// The longest local retry backoff.
const MAX_BACKOFF_SECONDS: i32 = 60;

/// One subscription, its queue provisioned.
#[derive(Debug, Clone)]
pub struct Mapping {
    pub subscription: SqsSubscription,
    pub worker: Worker,
    pub queue_url: String,
    pub queue_arn: String,
    pub region: String,
    /// Hand each batch to the worker twice (see `Options::deliver_twice`).
    pub deliver_twice: bool,
}

/// How long a failed message stays invisible before its next delivery.
///
/// The real mapping leaves a failed message alone, so it reappears when the
/// queue's VisibilityTimeout (6x the worker's timeout: minutes) runs out.
/// Locally that would make every retry, and every test of one, wait
/// minutes, so the runner backs off 2, 4, 8 ... seconds (up to a minute) by
/// receive count instead. The count still grows per delivery, so the
/// queue's `maxReceiveCount` moves a message to the dead-letter queue just
/// as it would on AWS.
pub fn retry_backoff_seconds(receive_count: u32) -> i32 {
    2_i32
        .checked_pow(receive_count.max(1))
        .map_or(MAX_BACKOFF_SECONDS, |s| s.min(MAX_BACKOFF_SECONDS))
}

/// Starts the mapping's pollers; they stop when `shutdown` turns true.
pub fn spawn(
    app: Arc<App>,
    sqs: aws_sdk_sqs::Client,
    mapping: Arc<Mapping>,
    shutdown: watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    if !mapping.subscription.report_batch_item_failures {
        tracing::warn!(
            function = %mapping.subscription.function,
            "no ReportBatchItemFailures: as on AWS, a batch that returns is deleted whole, failures included"
        );
    }
    (0..POLLERS_PER_QUEUE)
        .map(|_| {
            tokio::spawn(poll(
                app.clone(),
                sqs.clone(),
                mapping.clone(),
                shutdown.clone(),
            ))
        })
        .collect()
}

async fn poll(
    app: Arc<App>,
    sqs: aws_sdk_sqs::Client,
    mapping: Arc<Mapping>,
    mut shutdown: watch::Receiver<bool>,
) {
    let worker = mapping.worker.name();
    let batch_size = mapping.subscription.batch_size.clamp(1, MAX_BATCH);
    loop {
        if *shutdown.borrow() {
            break;
        }
        let receive = sqs
            .receive_message()
            .queue_url(&mapping.queue_url)
            .max_number_of_messages(batch_size)
            .wait_time_seconds(WAIT_SECONDS)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send();
        let received = tokio::select! {
            _ = shutdown.changed() => break,
            received = receive => received,
        };
        let messages = match received {
            Ok(out) => out.messages.unwrap_or_default(),
            Err(err) => {
                tracing::warn!(
                    worker,
                    queue = %mapping.queue_url,
                    error = %aws_sdk_sqs::error::DisplayErrorContext(&err),
                    "receive failed; retrying"
                );
                tokio::select! {
                    _ = shutdown.changed() => break,
                    () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        if messages.is_empty() {
            continue;
        }
        deliver(&app, &sqs, &mapping, messages).await;
    }
}

/// One invocation: the batch to the worker, then delete or back off each
/// message by the worker's answer.
async fn deliver(app: &App, sqs: &aws_sdk_sqs::Client, mapping: &Mapping, messages: Vec<Message>) {
    let worker = mapping.worker.name();
    let event = sqs_event(mapping, &messages);
    let failures = |response: SqsBatchResponse| -> HashSet<String> {
        if mapping.subscription.report_batch_item_failures {
            response
                .batch_item_failures
                .into_iter()
                .map(|f| f.item_identifier)
                .collect()
        } else {
            HashSet::new()
        }
    };
    let mut failed = failures(handle_batch(app, mapping.worker, event.clone()).await);
    if mapping.deliver_twice {
        // The duplicate arrives after the first delivery has finished, so
        // the outcome is deterministic: it must find the work done. A
        // message is done once either delivery finished it, as on SQS,
        // where the successful invocation deletes it.
        let again = failures(handle_batch(app, mapping.worker, event).await);
        for id in failed.symmetric_difference(&again) {
            tracing::warn!(
                worker,
                message_id = %id,
                "the duplicate delivery's outcome differs from the first's"
            );
        }
        failed.retain(|id| again.contains(id));
    }
    for message in &messages {
        let id = message.message_id.as_deref().unwrap_or_default();
        let Some(receipt) = message.receipt_handle.as_deref() else {
            continue;
        };
        let receive_count: u32 = message
            .attributes
            .as_ref()
            .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
            .and_then(|n| n.parse().ok())
            .unwrap_or(1);
        if failed.contains(id) {
            let backoff = retry_backoff_seconds(receive_count);
            tracing::info!(
                worker,
                message_id = id,
                receive_count,
                backoff_seconds = backoff,
                outcome = "retry",
                "delivery"
            );
            if let Err(err) = sqs
                .change_message_visibility()
                .queue_url(&mapping.queue_url)
                .receipt_handle(receipt)
                .visibility_timeout(backoff)
                .send()
                .await
            {
                tracing::warn!(
                    worker,
                    message_id = id,
                    error = %aws_sdk_sqs::error::DisplayErrorContext(&err),
                    "could not shorten the retry wait; the queue's visibility timeout applies"
                );
            }
        } else {
            tracing::info!(
                worker,
                message_id = id,
                receive_count,
                outcome = "done",
                "delivery"
            );
            if let Err(err) = sqs
                .delete_message()
                .queue_url(&mapping.queue_url)
                .receipt_handle(receipt)
                .send()
                .await
            {
                tracing::warn!(
                    worker,
                    message_id = id,
                    error = %aws_sdk_sqs::error::DisplayErrorContext(&err),
                    "could not delete a handled message; it will be redelivered"
                );
            }
        }
    }
}

/// The event Lambda delivers for a batch.
pub fn sqs_event(mapping: &Mapping, messages: &[Message]) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = messages
        .iter()
        .map(|m| {
            let mut record = SqsMessage::default();
            record.message_id = m.message_id.clone();
            record.receipt_handle = m.receipt_handle.clone();
            record.body = m.body.clone();
            record.md5_of_body = m.md5_of_body.clone();
            record.md5_of_message_attributes = m.md5_of_message_attributes.clone();
            record.attributes = m
                .attributes
                .iter()
                .flatten()
                .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
                .collect();
            record.message_attributes = m
                .message_attributes
                .iter()
                .flatten()
                .map(|(k, v)| {
                    let mut attr = SqsMessageAttribute::default();
                    attr.data_type = Some(v.data_type.clone());
                    attr.string_value = v.string_value.clone();
                    attr.binary_value = v.binary_value.as_ref().map(|b| {
                        let mut data = Base64Data::default();
                        data.extend_from_slice(b.as_ref());
                        data
                    });
                    attr.string_list_values = v.string_list_values.clone().unwrap_or_default();
                    (k.clone(), attr)
                })
                .collect::<HashMap<_, _>>();
            record.event_source = Some("aws:sqs".to_owned());
            record.event_source_arn = Some(mapping.queue_arn.clone());
            record.aws_region = Some(mapping.region.clone());
            record
        })
        .collect();
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(retry_backoff_seconds(0), 2);
        assert_eq!(retry_backoff_seconds(1), 2);
        assert_eq!(retry_backoff_seconds(3), 8);
        assert_eq!(retry_backoff_seconds(6), 60);
        assert_eq!(retry_backoff_seconds(40), 60);
    }

    #[test]
    fn event_looks_like_lambdas() {
        let mapping = Mapping {
            subscription: SqsSubscription {
                function: "ScriptWorkerFunction".into(),
                binary: "worker-script".into(),
                queue: "ScriptQueue".into(),
                batch_size: 1,
                report_batch_item_failures: true,
            },
            worker: Worker::Script,
            queue_url: "http://q".into(),
            queue_arn: "arn:aws:sqs:ap-southeast-1:123456789012:q".into(),
            region: "ap-southeast-1".into(),
            deliver_twice: false,
        };
        let message = Message::builder()
            .message_id("m1")
            .receipt_handle("r1")
            .body("{}")
            .attributes(MessageSystemAttributeName::ApproximateReceiveCount, "2")
            .build();
        let event = sqs_event(&mapping, &[message]);
        let json = serde_json::to_value(&event).unwrap();
        let record = &json["Records"][0];
        assert_eq!(record["messageId"], "m1");
        assert_eq!(record["eventSource"], "aws:sqs");
        assert_eq!(record["eventSourceARN"], mapping.queue_arn);
        assert_eq!(record["awsRegion"], "ap-southeast-1");
        assert_eq!(record["attributes"]["ApproximateReceiveCount"], "2");
    }
}
