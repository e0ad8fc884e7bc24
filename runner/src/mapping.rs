//! Plays Lambda's SQS event-source mapping for the local runner: pollers
//! receive from each subscribed queue, hand the batch to the worker as the
//! `SqsEvent` Lambda would deliver, within the function's timeout, delete
//! what succeeded and leave what failed for redelivery (and, after
//! `maxReceiveCount`, the dead-letter queue, which the queue's own redrive
//! policy does). Like Lambda it keeps no retry schedule: a failed message
//! comes back when its visibility timeout runs out, which the worker may
//! have shortened for its own backoff.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::encodings::Base64Data;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage, SqsMessageAttribute};
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use glimvid::App;
use glimvid::pipeline::Worker;
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

/// What a subscribed function does with a batch: a pipeline stage, the
/// mailer, the export worker or the webhook worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consumer {
    Stage(Worker),
    Mailer,
    Exporter,
    WebhookSender,
}

impl Consumer {
    /// The consumer a function's `Handler` names.
    pub fn from_handler(handler: &str) -> Option<Self> {
        if handler == glimvid::notify::MAILER_HANDLER {
            return Some(Consumer::Mailer);
        }
        if handler == glimvid::privacy::export::EXPORT_HANDLER {
            return Some(Consumer::Exporter);
        }
        if handler == glimvid::webhooks::WORKER_HANDLER {
            return Some(Consumer::WebhookSender);
        }
        Worker::from_name(handler).map(Consumer::Stage)
    }

    pub fn name(self) -> &'static str {
        match self {
            Consumer::Stage(worker) => worker.name(),
            Consumer::Mailer => glimvid::notify::MAILER_HANDLER,
            Consumer::Exporter => glimvid::privacy::export::EXPORT_HANDLER,
            Consumer::WebhookSender => glimvid::webhooks::WORKER_HANDLER,
        }
    }

    /// One batch, as Lambda hands it to the function.
    pub async fn handle(self, app: &App, event: SqsEvent) -> SqsBatchResponse {
        match self {
            Consumer::Stage(worker) => glimvid::pipeline::handle_batch(app, worker, event).await,
            Consumer::Mailer => glimvid::notify::handle_batch(app, event).await,
            Consumer::Exporter => glimvid::privacy::export::handle_batch(app, event).await,
            Consumer::WebhookSender => glimvid::webhooks::handle_batch(app, event).await,
        }
    }
}

/// One subscription, its queue provisioned.
#[derive(Debug, Clone)]
pub struct Mapping {
    pub subscription: SqsSubscription,
    pub consumer: Consumer,
    pub queue_url: String,
    pub queue_arn: String,
    pub region: String,
    /// Hand each batch to the worker twice (see `Options::deliver_twice`).
    pub deliver_twice: bool,
    /// The function's `Timeout`: Lambda ends an invocation that runs longer.
    pub timeout: Duration,
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
    let worker = mapping.consumer.name();
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

/// One invocation of the worker within the function's timeout: the ids of
/// the messages to leave for redelivery.
async fn invoke(app: &App, mapping: &Mapping, event: SqsEvent) -> HashSet<String> {
    let ids: HashSet<String> = event
        .records
        .iter()
        .filter_map(|r| r.message_id.clone())
        .collect();
    within_timeout(mapping, ids, mapping.consumer.handle(app, event)).await
}

/// A timed-out invocation is a function error, so its whole batch is left,
/// whatever it had done.
async fn within_timeout(
    mapping: &Mapping,
    ids: HashSet<String>,
    invocation: impl Future<Output = SqsBatchResponse>,
) -> HashSet<String> {
    match tokio::time::timeout(mapping.timeout, invocation).await {
        Ok(response) => failures(mapping, response),
        Err(_) => {
            tracing::warn!(
                worker = mapping.consumer.name(),
                timeout_s = mapping.timeout.as_secs_f64(),
                messages = ids.len(),
                "invocation timed out; the batch is left for redelivery"
            );
            ids
        }
    }
}

fn failures(mapping: &Mapping, response: SqsBatchResponse) -> HashSet<String> {
    if mapping.subscription.report_batch_item_failures {
        response
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect()
    } else {
        HashSet::new()
    }
}

/// One delivery: the batch to the worker, then delete what it finished and
/// leave the rest alone, as Lambda does.
async fn deliver(app: &App, sqs: &aws_sdk_sqs::Client, mapping: &Mapping, messages: Vec<Message>) {
    let worker = mapping.consumer.name();
    let event = sqs_event(mapping, &messages);
    let mut failed = invoke(app, mapping, event.clone()).await;
    if mapping.deliver_twice {
        // The duplicate arrives after the first delivery has finished, so
        // the outcome is deterministic: it must find the work done. A
        // message is done once either delivery finished it, as on SQS,
        // where the successful invocation deletes it.
        let again = invoke(app, mapping, event).await;
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
            tracing::info!(
                worker,
                message_id = id,
                receive_count,
                outcome = "retry",
                "delivery"
            );
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

    fn mapping() -> Mapping {
        Mapping {
            subscription: SqsSubscription {
                function: "ScriptWorkerFunction".into(),
                handler: "worker-script".into(),
                queue: "ScriptQueue".into(),
                batch_size: 1,
                report_batch_item_failures: true,
            },
            consumer: Consumer::Stage(Worker::Script),
            queue_url: "http://q".into(),
            queue_arn: "arn:aws:sqs:ap-southeast-1:123456789012:q".into(),
            region: "ap-southeast-1".into(),
            deliver_twice: false,
            timeout: Duration::from_secs(60),
        }
    }

    #[tokio::test]
    async fn a_timed_out_invocation_leaves_the_whole_batch() {
        let mapping = Mapping {
            timeout: Duration::from_millis(10),
            ..mapping()
        };
        let ids: HashSet<String> = ["m1".to_owned(), "m2".to_owned()].into();
        let left = within_timeout(&mapping, ids.clone(), std::future::pending()).await;
        assert_eq!(left, ids);

        let mut response = SqsBatchResponse::default();
        let mut failure = aws_lambda_events::event::sqs::BatchItemFailure::default();
        failure.item_identifier = "m2".into();
        response.batch_item_failures.push(failure);
        let left = within_timeout(&mapping, ids, async { response }).await;
        assert_eq!(left, HashSet::from(["m2".to_owned()]));
    }

    #[test]
    fn event_looks_like_lambdas() {
        let mapping = mapping();
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
