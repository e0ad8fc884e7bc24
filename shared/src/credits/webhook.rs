//! Payment webhooks, Stripe-compatible: `Stripe-Signature: t=…,v1=…` is an
//! HMAC-SHA256 over `"{t}.{raw body}"`, accepted within five minutes.
//!
//! Only what was paid is granted: a Checkout Session whose `payment_status`
//! is `paid` (on `checkout.session.completed`, or on
//! `checkout.session.async_payment_succeeded` for methods that settle
//! later), for exactly the pack's amount and currency. Each event and each
//! session grants once: their idempotency records and the grant are one
//! transaction. Anything else is answered 200 (so Stripe stops retrying)
//! and grants nothing; a mismatched amount is logged and counted for an
//! operator.

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use super::{Change, EntryKind, change_items, packs};
use crate::app::App;
use crate::clock;
use crate::dynamo::{self, s};
use crate::error::{Error, Result};

const TOLERANCE_S: i64 = 300;

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Granted { user_id: String, credits: i64 },
    Duplicate,
    Ignored(&'static str),
}

fn bad_signature(message: &'static str) -> Error {
    Error::bad_request("bad_signature", message)
}

/// Checks the signature header against the raw body at time `now`.
pub fn verify(secret: &str, header: Option<&str>, body: &[u8], now: i64) -> Result<()> {
    let header = header.ok_or_else(|| bad_signature("the Stripe-Signature header is missing"))?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => timestamp = v.parse::<i64>().ok(),
            Some(("v1", v)) => signatures.extend(hex::decode(v).ok()),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or_else(|| bad_signature("the signature has no timestamp"))?;
    if (now - timestamp).abs() > TOLERANCE_S {
        return Err(bad_signature("the signature is too old or from the future"));
    }
    for candidate in signatures {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
            .map_err(|e| Error::internal("hmac key", e))?;
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        // verify_slice compares in constant time.
        if mac.verify_slice(&candidate).is_ok() {
            return Ok(());
        }
    }
    Err(bad_signature("no signature matches"))
}

#[derive(Debug, Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: EventData,
}

#[derive(Debug, Deserialize)]
struct EventData {
    object: Session,
}

#[derive(Debug, Deserialize)]
struct Session {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    amount_total: Option<i64>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    client_reference_id: Option<String>,
    #[serde(default)]
    payment_status: Option<String>,
    #[serde(default)]
    metadata: std::collections::HashMap<String, String>,
}

pub async fn handle(app: &App, signature: Option<&str>, body: &[u8]) -> Result<Outcome> {
    let secret = app
        .config
        .payment_webhook_secret
        .as_deref()
        .ok_or_else(|| Error::Unavailable {
            code: "webhook_not_configured",
            message: "payments are not configured".into(),
        })?;
    verify(secret, signature, body, clock::epoch_seconds(clock::now()))?;
    let event: Event = serde_json::from_slice(body).map_err(|e| {
        Error::bad_request("invalid_event", format!("the event is not understood: {e}"))
    })?;
    if !matches!(
        event.kind.as_str(),
        "checkout.session.completed" | "checkout.session.async_payment_succeeded"
    ) {
        return Ok(Outcome::Ignored("event type not handled"));
    }
    let session = event.data.object;
    if session.payment_status.as_deref() != Some("paid") {
        return Ok(Outcome::Ignored("session not paid"));
    }
    let (Some(user_id), Some(pack), Some(session_id)) = (
        session.client_reference_id,
        session.metadata.get("pack").and_then(|p| packs::find(p)),
        session.id,
    ) else {
        return Err(Error::bad_request(
            "invalid_event",
            "the session names no user, no known pack or no id",
        ));
    };
    let currency = session.currency.unwrap_or_default().to_ascii_lowercase();
    if session.amount_total != Some(pack.price_cents) || currency != pack.currency {
        // Not what the pack costs: a misconfigured price, or a session made
        // elsewhere. Nothing is granted; an operator looks.
        tracing::warn!(
            event_id = %event.id,
            pack = pack.id,
            amount = ?session.amount_total,
            currency = %currency,
            "paid session does not match its pack's price; nothing granted"
        );
        crate::telemetry::count("PaymentMismatch", 1, &[("event_id", &event.id)]);
        return Ok(Outcome::Ignored(
            "amount or currency does not match the pack",
        ));
    }
    if crate::accounts::AccountStore::new(&app.dynamo, &app.config.accounts_table)
        .user_by_id(&user_id)
        .await?
        .is_none()
    {
        // The account was deleted; a grant would recreate data about it.
        return Ok(Outcome::Ignored("no such account"));
    }
    let record = Put::builder()
        .table_name(&app.config.credits_table)
        .item("pk", s(format!("EVENT#{}", event.id)))
        .item("sk", s("EVENT"))
        .item("user_id", s(&user_id))
        .item("pack", s(pack.id))
        .item("received_at", s(clock::rfc3339(clock::now())))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(|e| Error::internal("event record", e))?;
    let reason = format!("purchase: {} pack", pack.id);
    // Lets export and deletion find the event from the user's partition.
    let pointer = Put::builder()
        .table_name(&app.config.credits_table)
        .item("pk", s(format!("USER#{user_id}")))
        .item("sk", s(format!("PAYMENT#{}", event.id)))
        .item("kind", s("payment_pointer"))
        .build()
        .map_err(|e| Error::internal("event pointer", e))?;
    // A session settles once, whichever of its events says so first.
    let session_record = Put::builder()
        .table_name(&app.config.credits_table)
        .item("pk", s(format!("SESSION#{session_id}")))
        .item("sk", s("SESSION"))
        .item("event_id", s(&event.id))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(|e| Error::internal("session record", e))?;
    let mut items = vec![
        TransactWriteItem::builder().put(record).build(),
        TransactWriteItem::builder().put(session_record).build(),
        TransactWriteItem::builder().put(pointer).build(),
    ];
    items.extend(change_items(
        &app.config.credits_table,
        &Change {
            user_id: &user_id,
            kind: EntryKind::Purchase,
            amount: pack.credits,
            reason: &reason,
            job_id: None,
        },
    )?);
    if !dynamo::transact_if(&app.dynamo, items, "grant purchase").await? {
        return Ok(Outcome::Duplicate);
    }
    tracing::info!(user_id = %user_id, credits = pack.credits, "credits purchased");
    Ok(Outcome::Granted {
        user_id,
        credits: pack.credits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, t: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.").as_bytes());
        mac.update(body);
        format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn accepts_a_fresh_valid_signature_only() {
        let body = br#"{"id":"evt_1"}"#;
        let now = 1_800_000_000;
        assert!(verify("whsec", Some(&sign("whsec", now, body)), body, now).is_ok());
        assert!(verify("whsec", Some(&sign("other", now, body)), body, now).is_err());
        assert!(verify("whsec", Some(&sign("whsec", now - 301, body)), body, now).is_err());
        assert!(
            verify(
                "whsec",
                Some(&sign("whsec", now, body)),
                br#"{"id":"evt_2"}"#,
                now
            )
            .is_err()
        );
        assert!(verify("whsec", None, body, now).is_err());
        assert!(verify("whsec", Some("t=abc,v1=zz"), body, now).is_err());
    }
}
