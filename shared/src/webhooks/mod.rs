//! Completion webhooks: a shop's own systems hear when a video is done,
//! failed or was cancelled, the way Stripe tells them about payments.
//!
//! Items (AccountsTable):
//!
//! | item      | pk                 | sk             | gsi1 (by user)                                   |
//! |-----------|--------------------|----------------|--------------------------------------------------|
//! | endpoint  | `USER#{id}`        | `WEBHOOK#{id}` |                                                  |
//! | delivery  | `HOOKDLV#{id}`     | `HOOKDLV`      | `USER#{id}` / `HOOKDLV#{webhook}#{created}#{id}` |
//!
//! Endpoints sit in the account's partition, so fan-out reads them
//! consistently and the purge and export find them. A delivery's id is a
//! digest of the endpoint, job and event, and it is written only if absent,
//! so a notice handled twice queues each delivery once. Deliveries expire
//! after 30 days (`expires_at`, the TTL).
//!
//! The mailer (`notify`), which reads the job, announces; this module's
//! worker signs and sends each delivery, and leaves a failed one on the
//! queue for a backoff it sets itself (see `config::Webhooks`).

pub mod address;
mod deliver;

use aws_sdk_dynamodb::types::{Delete, Put};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::accounts::{Counted, User, write_counted};
use crate::app::App;
use crate::clock;
use crate::dynamo::{self, Item, get_n, get_opt_s, get_s, n, s};
use crate::error::{Error, Result};

pub use deliver::{WORKER_HANDLER, handle_batch, signature};

pub const MAX_WEBHOOKS: i64 = 5;
/// Deliveries a listing shows.
const DELIVERIES_SHOWN: i32 = 50;
const DELIVERY_DAYS: i64 = 30;
const SECRET_PREFIX: &str = "whsec_";

/// What ended, as the event names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    #[serde(rename = "job.succeeded")]
    JobSucceeded,
    #[serde(rename = "job.failed")]
    JobFailed,
    #[serde(rename = "job.cancelled")]
    JobCancelled,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::JobSucceeded => "job.succeeded",
            Event::JobFailed => "job.failed",
            Event::JobCancelled => "job.cancelled",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    pub url: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct WebhookView {
    pub id: String,
    pub url: String,
    pub created_at: String,
}

/// The answer to registering: the only time the signing secret is shown.
#[derive(Debug, Serialize)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub view: WebhookView,
    pub secret: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeliveryView {
    pub id: String,
    pub event: String,
    pub job_id: String,
    /// `pending`, `delivered`, `retrying` or `failed` (gave up).
    pub status: String,
    pub attempts: i64,
    pub last_status_code: Option<i64>,
    /// Why the last try failed, from a closed list (`deliver::Failure`).
    pub last_error: Option<String>,
    pub created_at: String,
    pub last_attempt_at: Option<String>,
    pub next_attempt_at: Option<String>,
}

fn user_pk(user_id: &str) -> String {
    format!("USER#{user_id}")
}

fn endpoint_sk(id: &str) -> String {
    format!("WEBHOOK#{id}")
}

fn delivery_pk(id: &str) -> String {
    format!("HOOKDLV#{id}")
}

fn endpoint_view(item: &Item) -> Result<WebhookView> {
    Ok(WebhookView {
        id: get_s(item, "webhook_id")?,
        url: get_s(item, "url")?,
        created_at: get_s(item, "created_at")?,
    })
}

fn invalid_url(reason: address::Refused) -> Error {
    Error::invalid_code("webhook_url_invalid", "url", reason.0)
}

pub async fn create(app: &App, user: &User, new: NewWebhook) -> Result<CreatedWebhook> {
    let target = address::resolve(&new.url, app.config.webhooks.allow_loopback)
        .await
        .map_err(invalid_url)?;
    let url = target.url.to_string();
    let id = uuid::Uuid::new_v4().simple().to_string();
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| Error::internal("random webhook secret", e))?;
    let secret = format!("{SECRET_PREFIX}{}", URL_SAFE_NO_PAD.encode(secret));
    let created_at = clock::rfc3339(clock::now());
    let put = Put::builder()
        .item("pk", s(user_pk(&user.id)))
        .item("sk", s(endpoint_sk(&id)))
        .item("kind", s("webhook"))
        .item("webhook_id", s(&id))
        .item("url", s(&url))
        .item("secret", s(&secret))
        .item("created_at", s(&created_at))
        .condition_expression("attribute_not_exists(pk)");
    let change = Counted::Add {
        put,
        max: MAX_WEBHOOKS,
    };
    if !write_counted(app, &user.id, "webhooks", change, "register webhook").await? {
        return Err(Error::conflict(
            "webhook_limit",
            format!("an account can have at most {MAX_WEBHOOKS} webhooks; delete one first"),
        ));
    }
    tracing::info!(webhook_id = %id, "webhook registered");
    Ok(CreatedWebhook {
        view: WebhookView {
            id,
            url,
            created_at,
        },
        secret,
    })
}

async fn endpoint_items(app: &App, user_id: &str) -> Result<Vec<Item>> {
    let query = app
        .dynamo
        .query()
        .table_name(&app.config.accounts_table)
        .key_condition_expression("pk = :p AND begins_with(sk, :w)")
        .expression_attribute_values(":p", s(user_pk(user_id)))
        .expression_attribute_values(":w", s("WEBHOOK#"))
        .consistent_read(true);
    dynamo::query_all(query, "list webhooks").await
}

pub async fn list(app: &App, user_id: &str) -> Result<Vec<WebhookView>> {
    let mut hooks = endpoint_items(app, user_id)
        .await?
        .iter()
        .map(endpoint_view)
        .collect::<Result<Vec<_>>>()?;
    hooks.sort_by(|a, b| b.created_at.cmp(&a.created_at));
    Ok(hooks)
}

fn checked_id(id: &str) -> Result<&str> {
    if id.len() == 32 && id.bytes().all(|c| c.is_ascii_hexdigit()) {
        Ok(id)
    } else {
        Err(Error::NotFound { what: "webhook" })
    }
}

/// Stops deliveries to the endpoint now; those in flight give up.
pub async fn delete(app: &App, user_id: &str, id: &str) -> Result<()> {
    let id = checked_id(id)?;
    let delete = Delete::builder()
        .key("pk", s(user_pk(user_id)))
        .key("sk", s(endpoint_sk(id)))
        .condition_expression("attribute_exists(pk)");
    let change = Counted::Remove { delete };
    if !write_counted(app, user_id, "webhooks", change, "delete webhook").await? {
        return Err(Error::NotFound { what: "webhook" });
    }
    tracing::info!(webhook_id = %id, "webhook deleted");
    Ok(())
}

pub async fn deliveries(app: &App, user_id: &str, id: &str) -> Result<Vec<DeliveryView>> {
    let id = checked_id(id)?;
    let endpoint = app
        .dynamo
        .get_item()
        .table_name(&app.config.accounts_table)
        .key("pk", s(user_pk(user_id)))
        .key("sk", s(endpoint_sk(id)))
        .send()
        .await
        .map_err(|e| dynamo::sdk_error("read webhook", e))?;
    if endpoint.item.is_none() {
        return Err(Error::NotFound { what: "webhook" });
    }
    let out = app
        .dynamo
        .query()
        .table_name(&app.config.accounts_table)
        .index_name("gsi1")
        .key_condition_expression("gsi1pk = :p AND begins_with(gsi1sk, :d)")
        .expression_attribute_values(":p", s(user_pk(user_id)))
        .expression_attribute_values(":d", s(format!("HOOKDLV#{id}#")))
        .scan_index_forward(false)
        .limit(DELIVERIES_SHOWN)
        .send()
        .await
        .map_err(|e| dynamo::sdk_error("list deliveries", e))?;
    out.items().iter().map(delivery_view).collect()
}

fn delivery_view(item: &Item) -> Result<DeliveryView> {
    Ok(DeliveryView {
        id: get_s(item, "delivery_id")?,
        event: get_s(item, "event")?,
        job_id: get_s(item, "job_id")?,
        status: get_s(item, "status")?,
        attempts: get_n(item, "attempts").unwrap_or(0),
        last_status_code: get_n(item, "last_status_code").ok(),
        last_error: get_opt_s(item, "last_error"),
        created_at: get_s(item, "created_at")?,
        last_attempt_at: get_opt_s(item, "last_attempt_at"),
        next_attempt_at: get_opt_s(item, "next_attempt_at"),
    })
}

/// The event a job's end sends (`job` is what the payload says about it).
#[derive(Debug, Serialize)]
struct Payload<'a, J: Serialize> {
    id: String,
    event: &'static str,
    created_at: &'a str,
    job: &'a J,
}

/// Queues one delivery of the event to each of the account's endpoints
/// registered before the job ended (`ended_at`, when known), once however
/// often it is called; how many were queued.
pub async fn announce<J: Serialize>(
    app: &App,
    user_id: &str,
    job_id: &str,
    event: Event,
    ended_at: Option<&str>,
    job: &J,
) -> Result<usize> {
    let mut endpoints = endpoint_items(app, user_id).await?;
    if let Some(ended) = ended_at.and_then(clock::parse_rfc3339) {
        endpoints.retain(|e| {
            get_opt_s(e, "created_at")
                .and_then(|c| clock::parse_rfc3339(&c))
                .is_some_and(|created| created <= ended)
        });
    }
    if endpoints.is_empty() {
        return Ok(0);
    }
    let queue = app
        .config
        .webhooks
        .queue_url
        .as_deref()
        .ok_or_else(|| Error::internal("webhook fan-out", "WEBHOOK_QUEUE_URL is not set"))?;
    let now = clock::now();
    let created_at = clock::rfc3339(now);
    let mut queued = 0;
    for endpoint in &endpoints {
        let webhook_id = get_s(endpoint, "webhook_id")?;
        let delivery_id =
            hex::encode(&Sha256::digest(format!("{webhook_id}|{job_id}|{}", event.as_str()))[..12]);
        let body = serde_json::to_string(&Payload {
            id: format!("evt_{delivery_id}"),
            event: event.as_str(),
            created_at: &created_at,
            job,
        })
        .map_err(|e| Error::internal("webhook payload", e))?;
        let put = app
            .dynamo
            .put_item()
            .table_name(&app.config.accounts_table)
            .item("pk", s(delivery_pk(&delivery_id)))
            .item("sk", s("HOOKDLV"))
            .item("kind", s("webhook_delivery"))
            .item("delivery_id", s(&delivery_id))
            .item("webhook_id", s(&webhook_id))
            .item("user_id", s(user_id))
            .item("event", s(event.as_str()))
            .item("job_id", s(job_id))
            .item("status", s("pending"))
            .item("attempts", n(0))
            .item("created_at", s(&created_at))
            .item(
                "expires_at",
                n(clock::epoch_seconds(
                    now + time::Duration::days(DELIVERY_DAYS),
                )),
            )
            .item("gsi1pk", s(user_pk(user_id)))
            .item(
                "gsi1sk",
                s(format!("HOOKDLV#{webhook_id}#{created_at}#{delivery_id}")),
            )
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        let new = dynamo::written(put, "record webhook delivery")?;
        let message = deliver::Message {
            user_id: user_id.to_owned(),
            webhook_id,
            delivery_id: delivery_id.clone(),
            body,
            first_at: clock::epoch_seconds(now),
        };
        // A delivery recorded before but never queued (the send failed and
        // the notice came back) is queued now; the worker skips one already
        // delivered, so a second copy costs a read.
        if !new && delivery_started(app, &delivery_id).await? {
            continue;
        }
        let body =
            serde_json::to_string(&message).map_err(|e| Error::internal("webhook message", e))?;
        app.sqs
            .send_message()
            .queue_url(queue)
            .message_body(body)
            .send()
            .await
            .map_err(|e| {
                Error::internal(
                    "queue webhook delivery",
                    aws_sdk_sqs::error::DisplayErrorContext(e),
                )
            })?;
        queued += 1;
    }
    Ok(queued)
}

/// Whether the worker has seen the delivery (it is past `pending`).
async fn delivery_started(app: &App, delivery_id: &str) -> Result<bool> {
    Ok(deliver::status(app, delivery_id)
        .await?
        .is_some_and(|status| status != "pending"))
}

/// Stamps the delivery's state after a try; never moves a delivered one.
pub(crate) async fn record(
    app: &App,
    delivery_id: &str,
    outcome: &deliver::Outcome,
) -> Result<bool> {
    let now = clock::rfc3339(clock::now());
    let mut update = app
        .dynamo
        .update_item()
        .table_name(&app.config.accounts_table)
        .key("pk", s(delivery_pk(delivery_id)))
        .key("sk", s("HOOKDLV"))
        .condition_expression("attribute_exists(pk) AND #status <> :delivered")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":delivered", s("delivered"))
        .expression_attribute_values(":status", s(outcome.status))
        .expression_attribute_values(":attempts", n(outcome.attempt))
        .expression_attribute_values(":now", s(&now));
    let mut set = "SET #status = :status, attempts = :attempts, last_attempt_at = :now".to_owned();
    let mut remove = Vec::new();
    match outcome.status_code {
        Some(code) => {
            set.push_str(", last_status_code = :code");
            update = update.expression_attribute_values(":code", n(code));
        }
        None => remove.push("last_status_code"),
    }
    match outcome.error {
        Some(err) => {
            set.push_str(", last_error = :err");
            update = update.expression_attribute_values(":err", s(err.as_str()));
        }
        None => remove.push("last_error"),
    }
    match &outcome.next_attempt_at {
        Some(next) => {
            set.push_str(", next_attempt_at = :next");
            update = update.expression_attribute_values(":next", s(next));
        }
        None => remove.push("next_attempt_at"),
    }
    let expression = if remove.is_empty() {
        set
    } else {
        format!("{set} REMOVE {}", remove.join(", "))
    };
    dynamo::written(
        update.update_expression(expression).send().await,
        "record webhook try",
    )
}

/// The endpoint's URL and secret, or None once it was deleted.
pub(crate) async fn endpoint_secret(
    app: &App,
    user_id: &str,
    webhook_id: &str,
) -> Result<Option<(String, String)>> {
    let out = app
        .dynamo
        .get_item()
        .table_name(&app.config.accounts_table)
        .key("pk", s(user_pk(user_id)))
        .key("sk", s(endpoint_sk(webhook_id)))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| dynamo::sdk_error("read webhook", e))?;
    out.item
        .map(|item| Ok((get_s(&item, "url")?, get_s(&item, "secret")?)))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_named_as_the_payload_names_them() {
        for event in [Event::JobSucceeded, Event::JobFailed, Event::JobCancelled] {
            assert_eq!(
                serde_json::to_value(event).unwrap(),
                serde_json::json!(event.as_str())
            );
        }
    }

    #[test]
    fn ids_are_checked_before_any_read() {
        assert!(checked_id(&"a".repeat(32)).is_ok());
        assert!(checked_id("../x").is_err());
        assert!(checked_id(&"g".repeat(32)).is_err());
    }
}
