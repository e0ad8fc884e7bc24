//! The webhook worker: signs each queued delivery, posts it, records the
//! try, and leaves a failed one on the queue for its next try.

use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use hmac::Mac;
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::clock;
use crate::dynamo::{self, get_opt_s, s};
use crate::error::{Error, Result};

/// The `Handler` of the webhook worker.
pub const WORKER_HANDLER: &str = "webhook-worker";
/// A receiver has this long to answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const USER_AGENT: &str = "Glimvid-Webhooks/1";

/// One delivery on the queue: the exact body every try sends.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Message {
    pub user_id: String,
    pub webhook_id: String,
    pub delivery_id: String,
    pub body: String,
    /// Epoch seconds of the announcement: retries stop a day after it.
    pub first_at: i64,
}

/// Why a try failed, as the deliveries listing shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The receiver answered with a status outside 2xx (redirects included:
    /// they are never followed).
    HttpStatus,
    Timeout,
    ConnectionFailed,
    /// The host no longer resolves, or now resolves to an address that is
    /// not public.
    AddressRefused,
    WebhookDeleted,
}

impl Failure {
    pub fn as_str(self) -> &'static str {
        match self {
            Failure::HttpStatus => "http_status",
            Failure::Timeout => "timeout",
            Failure::ConnectionFailed => "connection_failed",
            Failure::AddressRefused => "address_refused",
            Failure::WebhookDeleted => "webhook_deleted",
        }
    }
}

/// What one try came to.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub status: &'static str,
    pub attempt: u32,
    pub status_code: Option<u16>,
    pub error: Option<Failure>,
    pub next_attempt_at: Option<String>,
}

/// `t={unix seconds},v1={hex HMAC-SHA256 of "{t}.{body}"}`, keyed with the
/// endpoint's secret as Stripe signs its events.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> Result<String> {
    let mac = crate::signature::mac(secret, timestamp, body.as_bytes())?;
    Ok(format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    ))
}

/// The delivery's recorded status, if it is recorded.
pub(crate) async fn status(app: &App, delivery_id: &str) -> Result<Option<String>> {
    let out = app
        .dynamo
        .get_item()
        .table_name(&app.config.accounts_table)
        .key("pk", s(super::delivery_pk(delivery_id)))
        .key("sk", s("HOOKDLV"))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| dynamo::sdk_error("read webhook delivery", e))?;
    Ok(out.item.and_then(|i| get_opt_s(&i, "status")))
}

/// Handles one SQS batch; the deliveries to try again are left on the queue.
pub async fn handle_batch(app: &App, event: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let Some(message) = record
            .body
            .as_deref()
            .and_then(|b| serde_json::from_str::<Message>(b).ok())
        else {
            tracing::error!(message_id = %id, "unreadable webhook message dropped");
            continue;
        };
        match attempt(app, &record, &message).await {
            Ok(true) => {}
            Ok(false) => crate::redelivery::retry(&mut response, id),
            Err(err) => {
                tracing::warn!(delivery_id = %message.delivery_id, error = %format!("{err:#}"), "webhook try not recorded; it will be retried");
                crate::redelivery::retry(&mut response, id);
            }
        }
    }
    response
}

/// One try: Ok(true) when the message is done with (delivered, given up
/// or not ours to send), Ok(false) to try again after the backoff set.
async fn attempt(app: &App, record: &SqsMessage, message: &Message) -> Result<bool> {
    let delivery_id = &message.delivery_id;
    let try_number = crate::redelivery::receive_count(record);
    match status(app, delivery_id).await?.as_deref() {
        None | Some("delivered" | "failed") => {
            tracing::info!(delivery_id = %delivery_id, "webhook delivery already settled");
            return Ok(true);
        }
        _ => {}
    }
    let Some((url, secret)) =
        super::endpoint_secret(app, &message.user_id, &message.webhook_id).await?
    else {
        let outcome = Outcome {
            status: "failed",
            attempt: try_number,
            status_code: None,
            error: Some(Failure::WebhookDeleted),
            next_attempt_at: None,
        };
        super::record(app, delivery_id, &outcome).await?;
        return Ok(true);
    };
    let sent = send(app, &url, &secret, message).await?;
    let settings = &app.config.webhooks;
    let now = clock::now();
    let (status, next) = match sent {
        Ok(code) => {
            tracing::info!(delivery_id = %delivery_id, webhook_id = %message.webhook_id, attempt = try_number, status = code, "webhook delivered");
            let outcome = Outcome {
                status: "delivered",
                attempt: try_number,
                status_code: Some(code),
                error: None,
                next_attempt_at: None,
            };
            super::record(app, delivery_id, &outcome).await?;
            return Ok(true);
        }
        Err((failure, code)) => {
            let wait = settings.backoff_seconds(try_number);
            let deadline = message.first_at + settings.retry_hours * 3600;
            let next_at = clock::epoch_seconds(now) + i64::from(wait);
            let retry = try_number < settings.max_attempts && next_at <= deadline;
            tracing::warn!(delivery_id = %delivery_id, webhook_id = %message.webhook_id, attempt = try_number, error = failure.as_str(), status = code, retry, "webhook try failed");
            let outcome = Outcome {
                status: if retry { "retrying" } else { "failed" },
                attempt: try_number,
                status_code: code,
                error: Some(failure),
                next_attempt_at: retry
                    .then(|| clock::rfc3339(now + time::Duration::seconds(i64::from(wait)))),
            };
            (outcome, retry.then_some(wait))
        }
    };
    super::record(app, delivery_id, &status).await?;
    match next {
        Some(wait) => {
            back_off(app, record, wait).await;
            Ok(false)
        }
        None => {
            crate::telemetry::count("WebhookGaveUp", 1, &[("delivery_id", delivery_id)]);
            Ok(true)
        }
    }
}

/// Posts the signed body to the endpoint: Ok(Ok(status)) for a 2xx,
/// Ok(Err(..)) for a failed try; Err only for our own faults.
async fn send(
    app: &App,
    url: &str,
    secret: &str,
    message: &Message,
) -> Result<std::result::Result<u16, (Failure, Option<u16>)>> {
    let target = match super::address::resolve(url, app.config.webhooks.allow_loopback).await {
        Ok(target) => target,
        Err(refused) => {
            tracing::warn!(webhook_id = %message.webhook_id, reason = refused.0, "webhook address refused");
            return Ok(Err((Failure::AddressRefused, None)));
        }
    };
    // Connect only where the check just passed: no second lookup, no proxy,
    // no redirect.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(USER_AGENT)
        .resolve_to_addrs(&target.host, &target.addrs)
        .build()
        .map_err(|e| Error::internal("webhook client", e))?;
    let timestamp = clock::epoch_seconds(clock::now());
    let signed = signature(secret, timestamp, &message.body)?;
    let response = client
        .post(target.url)
        .header("content-type", "application/json")
        .header("glimvid-signature", signed)
        .header("glimvid-delivery", format!("evt_{}", message.delivery_id))
        .body(message.body.clone())
        .send()
        .await;
    Ok(match response {
        Ok(r) if r.status().is_success() => Ok(r.status().as_u16()),
        Ok(r) => Err((Failure::HttpStatus, Some(r.status().as_u16()))),
        Err(e) if e.is_timeout() => Err((Failure::Timeout, None)),
        Err(_) => Err((Failure::ConnectionFailed, None)),
    })
}

/// Sets when the queue hands the delivery back; a failure only means the
/// queue's own visibility timeout applies.
async fn back_off(app: &App, record: &SqsMessage, wait_s: u32) {
    let queue = app.config.webhooks.queue_url.as_deref();
    if let Err(error) = crate::redelivery::delay(app, queue, record, wait_s).await {
        tracing::warn!(error, "could not set the webhook backoff");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_stripe_style_hmac_of_time_and_body() {
        // Reference value: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test
        let sig = signature("whsec_test", 1_700_000_000, r#"{"a":1}"#).unwrap();
        assert_eq!(
            sig,
            "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
        );
        assert_ne!(
            sig,
            signature("whsec_other", 1_700_000_000, r#"{"a":1}"#).unwrap()
        );
        assert_ne!(
            sig,
            signature("whsec_test", 1_700_000_001, r#"{"a":1}"#).unwrap()
        );
    }

    #[test]
    fn backoff_grows_fourfold_to_twelve_hours() {
        let settings = crate::config::Webhooks::default();
        let waits: Vec<u32> = (1..=7).map(|a| settings.backoff_seconds(a)).collect();
        assert_eq!(waits, [60, 240, 960, 3840, 15360, 43200, 43200]);
    }
}
