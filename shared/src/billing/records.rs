//! What Glimvid keeps about payments, in the user's partition of the
//! credits table beside the ledger:
//!
//! - `PAYMENT#{stripe id}`: one payment (a pack's Checkout Session, or the
//!   invoice of a plan's period): when, how much, what it bought, and
//!   Stripe's hosted invoice link once an event names it. Written by
//!   `UpdateItem`, so the grant and the link may arrive in either order.
//! - `SUBSCRIPTION#{id}`: a plan's state as Stripe last said it; an event
//!   older than the one recorded changes nothing.
//! - `CUSTOMER`: the Stripe customer, reused by later checkouts and the
//!   portal.
//!
//! Idempotency records (`EVENT#`, `SESSION#`, `INVOICE#`) are their own
//! partitions and name no user.

use aws_sdk_dynamodb::types::Update;
use serde::Serialize;

use super::catalog::Product;
use crate::app::App;
use crate::clock;
use crate::dynamo::{self, Item, get_bool, get_opt_s, n, s};
use crate::error::Result;

pub fn user_pk(user_id: &str) -> String {
    format!("USER#{user_id}")
}

/// A payment as the user sees it (`GET /billing/invoices`, the export).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Payment {
    /// Stripe's id: the Checkout Session (`cs_…`) or invoice (`in_…`).
    pub id: String,
    pub paid_at: String,
    pub amount_cents: i64,
    pub currency: String,
    pub description: String,
    /// `pack` or `plan`.
    pub kind: String,
    /// The pack's or plan's id.
    pub item: String,
    pub credits: i64,
    /// Stripe's hosted invoice page, once Stripe has sent it.
    pub invoice_url: Option<String>,
}

/// The write that records a paid payment, for the grant's transaction.
pub fn payment_update(
    app: &App,
    user_id: &str,
    stripe_id: &str,
    product: Product,
    paid_at: i64,
    invoice_url: Option<&str>,
) -> Result<Update> {
    let mut expression = String::from(
        "SET billing_record = :payment, paid_at = :at, amount_cents = :amount, currency = :cur, \
         product_description = :what, product_kind = :kind, product_id = :item, credits = :credits",
    );
    let mut update = Update::builder()
        .table_name(&app.config.credits_table)
        .key("pk", s(user_pk(user_id)))
        .key("sk", s(format!("PAYMENT#{stripe_id}")))
        .expression_attribute_values(":payment", s("payment"))
        .expression_attribute_values(":at", s(clock::rfc3339(clock::from_epoch(paid_at))))
        .expression_attribute_values(":amount", n(product.price_cents()))
        .expression_attribute_values(":cur", s(product.currency()))
        .expression_attribute_values(":what", s(product.description()))
        .expression_attribute_values(":kind", s(product.kind()))
        .expression_attribute_values(":item", s(product.id()))
        .expression_attribute_values(":credits", n(product.credits()));
    if let Some(url) = invoice_url {
        expression.push_str(", invoice_url = :url");
        update = update.expression_attribute_values(":url", s(url));
    }
    dynamo::built(update.update_expression(expression).build())
}

/// Records Stripe's hosted invoice link on the payment it belongs to.
pub async fn set_invoice_url(app: &App, user_id: &str, stripe_id: &str, url: &str) -> Result<()> {
    app.dynamo
        .update_item()
        .table_name(&app.config.credits_table)
        .key("pk", s(user_pk(user_id)))
        .key("sk", s(format!("PAYMENT#{stripe_id}")))
        .update_expression("SET invoice_url = :url")
        .expression_attribute_values(":url", s(url))
        .send()
        .await
        .map_err(|e| dynamo::sdk_error("record invoice link", e))?;
    Ok(())
}

pub fn payment_from_item(item: &Item) -> Option<Payment> {
    // A link that arrived before its payment is not a payment yet.
    if get_opt_s(item, "billing_record").as_deref() != Some("payment") {
        return None;
    }
    Some(Payment {
        id: get_opt_s(item, "sk")?.strip_prefix("PAYMENT#")?.to_owned(),
        paid_at: get_opt_s(item, "paid_at").unwrap_or_default(),
        amount_cents: dynamo::get_n(item, "amount_cents").ok()?,
        currency: get_opt_s(item, "currency").unwrap_or_default(),
        description: get_opt_s(item, "product_description").unwrap_or_default(),
        kind: get_opt_s(item, "product_kind").unwrap_or_default(),
        item: get_opt_s(item, "product_id").unwrap_or_default(),
        credits: dynamo::get_n(item, "credits").unwrap_or_default(),
        invoice_url: get_opt_s(item, "invoice_url"),
    })
}

async fn partition(app: &App, user_id: &str, prefix: &str) -> Result<Vec<Item>> {
    let query = app
        .dynamo
        .query()
        .table_name(&app.config.credits_table)
        .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
        .expression_attribute_values(":pk", s(user_pk(user_id)))
        .expression_attribute_values(":prefix", s(prefix))
        .consistent_read(true);
    dynamo::query_all(query, "query billing records").await
}

/// The user's payments, newest first.
pub async fn payments(app: &App, user_id: &str) -> Result<Vec<Payment>> {
    let mut list: Vec<Payment> = partition(app, user_id, "PAYMENT#")
        .await?
        .iter()
        .filter_map(payment_from_item)
        .collect();
    list.sort_by(|a, b| b.paid_at.cmp(&a.paid_at).then_with(|| b.id.cmp(&a.id)));
    Ok(list)
}

/// One of the user's billing records, by its sort key.
async fn record(app: &App, user_id: &str, sk: String) -> Result<Option<Item>> {
    let out = app
        .dynamo
        .get_item()
        .table_name(&app.config.credits_table)
        .key("pk", s(user_pk(user_id)))
        .key("sk", s(sk))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| dynamo::sdk_error("get billing record", e))?;
    Ok(out.item)
}

pub async fn payment(app: &App, user_id: &str, stripe_id: &str) -> Result<Option<Payment>> {
    let item = record(app, user_id, format!("PAYMENT#{stripe_id}")).await?;
    Ok(item.as_ref().and_then(payment_from_item))
}

/// A plan's subscription as the user sees it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Subscription {
    #[serde(skip)]
    pub id: String,
    pub plan: String,
    pub credits_per_month: i64,
    /// Stripe's status: `active`, `past_due`, `canceled`, …
    pub status: String,
    /// When the paid period ends: the renewal date, or the end date when
    /// `cancel_at_period_end`.
    pub current_period_end: Option<String>,
    pub cancel_at_period_end: bool,
}

impl Subscription {
    /// Still billing (or about to): what deletion must cancel first, and
    /// what makes a second plan's checkout a mistake.
    pub fn is_live(&self) -> bool {
        !matches!(self.status.as_str(), "canceled" | "incomplete_expired")
    }
}

/// What an event says about a subscription.
pub struct SubscriptionState<'a> {
    pub id: &'a str,
    pub plan: Option<&'a str>,
    pub status: Option<&'a str>,
    pub current_period_end: Option<i64>,
    pub cancel_at_period_end: Option<bool>,
    pub customer: Option<&'a str>,
    /// The event's `created`: an older event than the one recorded is stale.
    pub event_created: i64,
}

/// Records what the event says, unless a newer event was recorded already.
pub async fn record_subscription(
    app: &App,
    user_id: &str,
    state: &SubscriptionState<'_>,
) -> Result<bool> {
    let mut sets = vec!["event_at = :at", "billing_record = :sub"];
    let mut update = app
        .dynamo
        .update_item()
        .table_name(&app.config.credits_table)
        .key("pk", s(user_pk(user_id)))
        .key("sk", s(format!("SUBSCRIPTION#{}", state.id)))
        .condition_expression("attribute_not_exists(event_at) OR event_at <= :at")
        .expression_attribute_values(":at", n(state.event_created))
        .expression_attribute_values(":sub", s("subscription"));
    if let Some(plan) = state.plan {
        sets.push("plan_id = :plan");
        update = update.expression_attribute_values(":plan", s(plan));
    }
    if let Some(status) = state.status {
        sets.push("sub_status = :status");
        update = update.expression_attribute_values(":status", s(status));
    }
    if let Some(end) = state.current_period_end {
        sets.push("period_end = :end");
        update = update.expression_attribute_values(":end", n(end));
    }
    if let Some(cancel) = state.cancel_at_period_end {
        sets.push("cancel_at_period_end = :cancel");
        update = update.expression_attribute_values(":cancel", dynamo::b(cancel));
    }
    if let Some(customer) = state.customer {
        sets.push("stripe_customer = :customer");
        update = update.expression_attribute_values(":customer", s(customer));
    }
    let result = update
        .update_expression(format!("SET {}", sets.join(", ")))
        .send()
        .await;
    dynamo::written(result, "record subscription")
}

fn subscription_from_item(item: &Item) -> Option<Subscription> {
    let id = get_opt_s(item, "sk")?
        .strip_prefix("SUBSCRIPTION#")?
        .to_owned();
    let plan = get_opt_s(item, "plan_id").unwrap_or_default();
    Some(Subscription {
        id,
        credits_per_month: super::catalog::plan(&plan).map_or(0, |p| p.credits_per_month),
        plan,
        // Checkout completed, no subscription event yet: Stripe makes it
        // active as the first invoice is paid.
        status: get_opt_s(item, "sub_status").unwrap_or_else(|| "incomplete".to_owned()),
        current_period_end: dynamo::get_n(item, "period_end")
            .ok()
            .map(|t| clock::rfc3339(clock::from_epoch(t))),
        cancel_at_period_end: get_bool(item, "cancel_at_period_end"),
    })
}

/// The user's subscriptions, live ones first, then the latest to end.
pub async fn subscriptions(app: &App, user_id: &str) -> Result<Vec<Subscription>> {
    let mut list: Vec<(i64, Subscription)> = partition(app, user_id, "SUBSCRIPTION#")
        .await?
        .iter()
        .filter_map(|i| {
            let at = dynamo::get_n(i, "event_at").unwrap_or_default();
            subscription_from_item(i).map(|s| (at, s))
        })
        .collect();
    list.sort_by(|(a_at, a), (b_at, b)| b.is_live().cmp(&a.is_live()).then(b_at.cmp(a_at)));
    Ok(list.into_iter().map(|(_, s)| s).collect())
}

pub async fn subscription(app: &App, user_id: &str, id: &str) -> Result<Option<Subscription>> {
    let item = record(app, user_id, format!("SUBSCRIPTION#{id}")).await?;
    Ok(item.as_ref().and_then(subscription_from_item))
}

/// The user's Stripe customer, once a checkout made one.
pub async fn customer(app: &App, user_id: &str) -> Result<Option<String>> {
    let item = record(app, user_id, "CUSTOMER".to_owned()).await?;
    Ok(item.and_then(|i| get_opt_s(&i, "stripe_customer")))
}

pub fn customer_update(app: &App, user_id: &str, customer: &str) -> Result<Update> {
    dynamo::built(
        Update::builder()
            .table_name(&app.config.credits_table)
            .key("pk", s(user_pk(user_id)))
            .key("sk", s("CUSTOMER"))
            .update_expression("SET stripe_customer = :c")
            .expression_attribute_values(":c", s(customer))
            .build(),
    )
}

pub async fn record_customer(app: &App, user_id: &str, customer: &str) -> Result<()> {
    app.dynamo
        .update_item()
        .table_name(&app.config.credits_table)
        .key("pk", s(user_pk(user_id)))
        .key("sk", s("CUSTOMER"))
        .update_expression("SET stripe_customer = :c")
        .expression_attribute_values(":c", s(customer))
        .send()
        .await
        .map_err(|e| dynamo::sdk_error("record customer", e))?;
    Ok(())
}

/// How long a payment is kept after its account is deleted: the longest
/// period commercial and tax law asks (10 years), then TTL removes it.
const TAX_RETENTION_DAYS: i64 = 3653;

/// What a deleted account's payment leaves behind: when, how much, what it
/// bought and Stripe's reference, under its own key, naming no user.
pub async fn keep_for_tax(app: &App, payment: &Payment) -> Result<()> {
    let expires = clock::epoch_seconds(clock::now() + time::Duration::days(TAX_RETENTION_DAYS));
    app.dynamo
        .put_item()
        .table_name(&app.config.credits_table)
        .item("pk", s(format!("TAXRECORD#{}", payment.id)))
        .item("sk", s("TAXRECORD"))
        .item("paid_at", s(&payment.paid_at))
        .item("amount_cents", n(payment.amount_cents))
        .item("currency", s(&payment.currency))
        .item("product_description", s(&payment.description))
        .item("product_kind", s(&payment.kind))
        .item("product_id", s(&payment.item))
        .item("stripe_id", s(&payment.id))
        .item("expires_at", n(expires))
        .send()
        .await
        .map_err(|e| dynamo::sdk_error("keep payment for tax", e))?;
    Ok(())
}
