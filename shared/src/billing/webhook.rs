//! Stripe's webhook: `Stripe-Signature: t=…,v1=…` is an HMAC-SHA256 over
//! `"{t}.{raw body}"`, accepted within five minutes.
//!
//! Only what was paid is granted:
//! - a pack: its Checkout Session with `payment_status` `paid` (on
//!   `checkout.session.completed`, or `…async_payment_succeeded` for
//!   methods that settle later);
//! - a plan: each paid invoice of its subscription (`invoice.paid`, or
//!   `invoice.payment_succeeded`), for the period it opens, while the
//!   subscription is not cancelled;
//!
//! and only at exactly the pack's or plan's amount and currency: anything
//! else grants nothing and is logged and counted (`PaymentMismatch`) for an
//! operator. Each event, each session and each invoice grants once: their
//! idempotency records and the grant are one transaction. Subscription
//! events record the plan's state. Events not handled, or about accounts
//! that are gone, are answered 200 so Stripe stops retrying.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use hmac::Mac;
use serde::Deserialize;

use super::catalog::{self, Product};
use super::records::{self, SubscriptionState};
use crate::app::App;
use crate::clock;
use crate::credits::{Change, EntryKind, change_items};
use crate::dynamo::{self, s};
use crate::error::{Error, Result};

const TOLERANCE_S: i64 = 300;

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Granted {
        user_id: String,
        credits: i64,
    },
    /// Recorded what the event says (a plan's state, an invoice link).
    Recorded {
        user_id: String,
    },
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
        // verify_slice compares in constant time.
        if crate::signature::mac(secret, timestamp, body)?
            .verify_slice(&candidate)
            .is_ok()
        {
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
    #[serde(default)]
    created: i64,
    data: EventData,
}

#[derive(Debug, Deserialize)]
struct EventData {
    object: serde_json::Value,
}

#[derive(Debug, Deserialize)]
struct Session {
    id: String,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    amount_total: Option<i64>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    client_reference_id: Option<String>,
    #[serde(default)]
    payment_status: Option<String>,
    #[serde(default)]
    customer: Option<String>,
    #[serde(default)]
    subscription: Option<String>,
    #[serde(default)]
    invoice: Option<String>,
    #[serde(default)]
    metadata: HashMap<String, String>,
}

/// An invoice in either shape: since API version 2025-03-31 its
/// subscription sits under `parent.subscription_details`; before, at the
/// top level beside `subscription_details.metadata`.
#[derive(Debug, Deserialize)]
struct Invoice {
    id: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    amount_paid: Option<i64>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    billing_reason: Option<String>,
    #[serde(default)]
    hosted_invoice_url: Option<String>,
    #[serde(default)]
    customer: Option<String>,
    #[serde(default)]
    metadata: HashMap<String, String>,
    #[serde(default)]
    subscription: Option<String>,
    #[serde(default)]
    subscription_details: Option<SubscriptionDetails>,
    #[serde(default)]
    parent: Option<InvoiceParent>,
}

#[derive(Debug, Deserialize, Default)]
struct InvoiceParent {
    #[serde(default)]
    subscription_details: Option<SubscriptionDetails>,
}

#[derive(Debug, Deserialize, Default)]
struct SubscriptionDetails {
    #[serde(default)]
    subscription: Option<String>,
    #[serde(default)]
    metadata: HashMap<String, String>,
}

impl Invoice {
    fn subscription(&self) -> (Option<&str>, Option<&HashMap<String, String>>) {
        if let Some(details) = self
            .parent
            .as_ref()
            .and_then(|p| p.subscription_details.as_ref())
        {
            return (details.subscription.as_deref(), Some(&details.metadata));
        }
        (
            self.subscription.as_deref(),
            self.subscription_details.as_ref().map(|d| &d.metadata),
        )
    }
}

/// A subscription in either shape: `current_period_end` moved onto its
/// items in 2025-03-31.
#[derive(Debug, Deserialize)]
struct StripeSubscription {
    id: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    cancel_at_period_end: Option<bool>,
    #[serde(default)]
    current_period_end: Option<i64>,
    #[serde(default)]
    customer: Option<String>,
    #[serde(default)]
    metadata: HashMap<String, String>,
    #[serde(default)]
    items: Option<List<SubscriptionItem>>,
}

#[derive(Debug, Deserialize)]
struct List<T> {
    #[serde(default = "Vec::new")]
    data: Vec<T>,
}

#[derive(Debug, Deserialize)]
struct SubscriptionItem {
    #[serde(default)]
    current_period_end: Option<i64>,
}

fn invalid(message: &'static str) -> Error {
    Error::bad_request("invalid_event", message)
}

fn parse<T: serde::de::DeserializeOwned>(object: serde_json::Value) -> Result<T> {
    serde_json::from_value(object).map_err(|e| {
        Error::bad_request(
            "invalid_event",
            format!("the event's object is not understood: {e}"),
        )
    })
}

pub async fn handle(app: &App, signature: Option<&str>, body: &[u8]) -> Result<Outcome> {
    let secret = app
        .config
        .payments
        .webhook_secret
        .as_deref()
        .ok_or_else(|| Error::Unavailable {
            code: "webhook_not_configured",
            message: "payments are not configured".into(),
        })?;
    verify(secret, signature, body, clock::epoch_seconds(clock::now()))?;
    let mut event: Event = serde_json::from_slice(body).map_err(|e| {
        Error::bad_request("invalid_event", format!("the event is not understood: {e}"))
    })?;
    let object = event.data.object.take();
    match event.kind.as_str() {
        "checkout.session.completed" | "checkout.session.async_payment_succeeded" => {
            session_paid(app, &event, parse(object)?).await
        }
        "invoice.paid" | "invoice.payment_succeeded" => {
            invoice_paid(app, &event, parse(object)?).await
        }
        "customer.subscription.created"
        | "customer.subscription.updated"
        | "customer.subscription.deleted" => {
            subscription_changed(app, &event, parse(object)?).await
        }
        _ => Ok(Outcome::Ignored("event type not handled")),
    }
}

/// Whether the account is there to be granted to; a grant for a deleted
/// one would recreate data about it.
async fn live_account(app: &App, user_id: &str) -> Result<bool> {
    Ok(
        crate::accounts::AccountStore::new(&app.dynamo, &app.config.accounts_table)
            .user_by_id(user_id)
            .await?
            .is_some_and(|u| !u.deleting),
    )
}

/// Paid, but not what the product costs: a misconfigured price, or a
/// session made elsewhere. Nothing is granted; an operator looks.
fn mismatch(event: &Event, product: Product, amount: Option<i64>, currency: &str) -> Outcome {
    tracing::warn!(
        event_id = %event.id,
        product = product.id(),
        amount = ?amount,
        currency = %currency,
        "paid amount does not match the price; nothing granted"
    );
    crate::telemetry::count("PaymentMismatch", 1, &[("event_id", &event.id)]);
    Outcome::Ignored("amount or currency does not match the price")
}

fn matches_price(product: Product, amount: Option<i64>, currency: &str) -> bool {
    amount == Some(product.price_cents()) && currency.eq_ignore_ascii_case(product.currency())
}

fn idempotency(app: &App, pk: String, sk: &str, event: &Event) -> Result<TransactWriteItem> {
    let put = Put::builder()
        .table_name(&app.config.credits_table)
        .item("pk", s(pk))
        .item("sk", s(sk))
        .item("event_type", s(&event.kind))
        .item("received_at", s(clock::rfc3339(clock::now())))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(|e| Error::internal("idempotency record", e))?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// The grant: the event's and the paid object's idempotency records, the
/// payment record and the ledger change, all or nothing.
#[allow(clippy::too_many_arguments)]
async fn grant(
    app: &App,
    event: &Event,
    user_id: &str,
    product: Product,
    once: (String, &str),
    payment_id: &str,
    customer: Option<&str>,
    invoice_url: Option<&str>,
    kind: EntryKind,
) -> Result<Outcome> {
    let reason = match product {
        Product::Pack(p) => format!("purchase: {} pack", p.id),
        Product::Plan(p) => format!("plan: {}", p.id),
    };
    let mut items = vec![
        idempotency(app, format!("EVENT#{}", event.id), "EVENT", event)?,
        idempotency(app, once.0, once.1, event)?,
        TransactWriteItem::builder()
            .update(records::payment_update(
                app,
                user_id,
                payment_id,
                product,
                event.created,
                invoice_url,
            )?)
            .build(),
    ];
    if let Some(customer) = customer {
        items.push(
            TransactWriteItem::builder()
                .update(records::customer_update(app, user_id, customer)?)
                .build(),
        );
    }
    items.extend(change_items(
        &app.config.credits_table,
        &Change {
            user_id,
            kind,
            amount: product.credits(),
            reason: &reason,
            job_id: None,
            source: Some(payment_id),
        },
    )?);
    if !dynamo::transact_if(&app.dynamo, items, "grant payment").await? {
        return Ok(Outcome::Duplicate);
    }
    tracing::info!(
        user_id,
        credits = product.credits(),
        product = product.id(),
        payment = payment_id,
        "credits paid for"
    );
    crate::mail::enqueue(
        app,
        &crate::mail::Notice::PaymentReceived {
            user_id: user_id.to_owned(),
            payment_id: payment_id.to_owned(),
        },
    )
    .await;
    Ok(Outcome::Granted {
        user_id: user_id.to_owned(),
        credits: product.credits(),
    })
}

async fn session_paid(app: &App, event: &Event, session: Session) -> Result<Outcome> {
    if session.payment_status.as_deref() != Some("paid") {
        return Ok(Outcome::Ignored("session not paid"));
    }
    let user_id = session
        .client_reference_id
        .clone()
        .ok_or_else(|| invalid("the session names no user"))?;
    if !live_account(app, &user_id).await? {
        return Ok(Outcome::Ignored("no such account"));
    }
    match session.mode.as_deref() {
        Some("subscription") => {
            // The subscription's invoices grant; this says whose it is.
            let plan = session.metadata.get("plan").and_then(|p| catalog::plan(p));
            let (Some(plan), Some(sub)) = (plan, session.subscription.as_deref()) else {
                return Err(invalid(
                    "the session names no known plan or no subscription",
                ));
            };
            records::record_subscription(
                app,
                &user_id,
                &SubscriptionState {
                    id: sub,
                    plan: Some(plan.id),
                    status: None,
                    current_period_end: None,
                    cancel_at_period_end: None,
                    customer: session.customer.as_deref(),
                    // Never newer than what the subscription's own events say.
                    event_created: 0,
                },
            )
            .await?;
            if let Some(customer) = session.customer.as_deref() {
                records::record_customer(app, &user_id, customer).await?;
            }
            Ok(Outcome::Recorded { user_id })
        }
        _ => {
            let Some(pack) = session.metadata.get("pack").and_then(|p| catalog::pack(p)) else {
                return Err(invalid("the session names no known pack"));
            };
            let product = Product::Pack(pack);
            let currency = session.currency.clone().unwrap_or_default();
            if !matches_price(product, session.amount_total, &currency) {
                return Ok(mismatch(event, product, session.amount_total, &currency));
            }
            // Keyed by the invoice Checkout made, when it made one, so its
            // link (from `invoice.paid`) lands on this payment.
            let payment_id = session.invoice.as_deref().unwrap_or(&session.id);
            grant(
                app,
                event,
                &user_id,
                product,
                (format!("SESSION#{}", session.id), "SESSION"),
                payment_id,
                session.customer.as_deref(),
                None,
                EntryKind::Purchase,
            )
            .await
        }
    }
}

async fn invoice_paid(app: &App, event: &Event, invoice: Invoice) -> Result<Outcome> {
    if invoice.status.as_deref() != Some("paid") {
        return Ok(Outcome::Ignored("invoice not paid"));
    }
    let (subscription, sub_metadata) = invoice.subscription();
    let Some(subscription) = subscription else {
        // A pack's invoice: the session granted; this brings the link.
        let Some(user_id) = invoice.metadata.get("user_id").cloned() else {
            return Ok(Outcome::Ignored("invoice not made by Glimvid"));
        };
        if !live_account(app, &user_id).await? {
            return Ok(Outcome::Ignored("no such account"));
        }
        if let Some(url) = &invoice.hosted_invoice_url {
            records::set_invoice_url(app, &user_id, &invoice.id, url).await?;
        }
        return Ok(Outcome::Recorded { user_id });
    };
    let metadata = sub_metadata.cloned().unwrap_or_default();
    let (Some(user_id), Some(plan)) = (
        metadata.get("user_id").cloned(),
        metadata.get("plan").and_then(|p| catalog::plan(p)),
    ) else {
        return Ok(Outcome::Ignored("subscription not made by Glimvid"));
    };
    if !matches!(
        invoice.billing_reason.as_deref(),
        Some("subscription_create" | "subscription_cycle")
    ) {
        // A proration or a manual invoice does not open a period.
        return Ok(Outcome::Ignored("invoice opens no period"));
    }
    if !live_account(app, &user_id).await? {
        return Ok(Outcome::Ignored("no such account"));
    }
    let product = Product::Plan(plan);
    let currency = invoice.currency.clone().unwrap_or_default();
    if !matches_price(product, invoice.amount_paid, &currency) {
        return Ok(mismatch(event, product, invoice.amount_paid, &currency));
    }
    if records::subscription(app, &user_id, subscription)
        .await?
        .is_some_and(|s| !s.is_live())
    {
        tracing::warn!(event_id = %event.id, subscription, "invoice paid for a cancelled subscription; nothing granted");
        return Ok(Outcome::Ignored("subscription cancelled"));
    }
    grant(
        app,
        event,
        &user_id,
        product,
        (format!("INVOICE#{}", invoice.id), "INVOICE"),
        &invoice.id,
        invoice.customer.as_deref(),
        invoice.hosted_invoice_url.as_deref(),
        EntryKind::Plan,
    )
    .await
}

async fn subscription_changed(
    app: &App,
    event: &Event,
    sub: StripeSubscription,
) -> Result<Outcome> {
    let Some(user_id) = sub.metadata.get("user_id").cloned() else {
        return Ok(Outcome::Ignored("subscription not made by Glimvid"));
    };
    if !live_account(app, &user_id).await? {
        return Ok(Outcome::Ignored("no such account"));
    }
    let period_end = sub.current_period_end.or_else(|| {
        sub.items
            .as_ref()
            .and_then(|i| i.data.iter().filter_map(|i| i.current_period_end).max())
    });
    let recorded = records::record_subscription(
        app,
        &user_id,
        &SubscriptionState {
            id: &sub.id,
            plan: sub
                .metadata
                .get("plan")
                .and_then(|p| catalog::plan(p))
                .map(|p| p.id),
            status: sub.status.as_deref(),
            current_period_end: period_end,
            cancel_at_period_end: sub.cancel_at_period_end,
            customer: sub.customer.as_deref(),
            event_created: event.created,
        },
    )
    .await?;
    if !recorded {
        return Ok(Outcome::Ignored("older than the state recorded"));
    }
    tracing::info!(user_id = %user_id, subscription = %sub.id, status = ?sub.status, "subscription recorded");
    Ok(Outcome::Recorded { user_id })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::Hmac;
    use sha2::Sha256;

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
