//! A local Stripe on loopback, for the tests and for `scripts/run`: the
//! three API calls Glimvid makes (form-encoded, Bearer key, Stripe's error
//! shapes), hosted Checkout and portal pages a browser can click through,
//! and webhook events signed as Stripe signs them and delivered as Stripe
//! delivers them (one POST per event, to one endpoint).
//!
//! What it does not pretend: there are no cards. "Pay" on the hosted page
//! pays. Renewals happen when a test (or an operator) calls
//! [`Sandbox::renew`], not on a clock.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde_json::{Value, json};

const PERIOD_S: i64 = 30 * 24 * 3600;

/// A request the sandbox's API received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub form: Vec<(String, String)>,
}

impl Recorded {
    pub fn param(&self, key: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One webhook delivery and what the endpoint answered.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub event_id: String,
    pub kind: String,
    pub body: String,
    pub status: u16,
    pub answer: Value,
}

#[derive(Debug, Clone)]
struct CheckoutSession {
    form: Vec<(String, String)>,
    object: Value,
    paid: bool,
}

#[derive(Debug, Clone)]
struct Subscription {
    object: Value,
    price_cents: i64,
    currency: String,
}

struct Inner {
    base_url: String,
    api_key: String,
    webhook: Mutex<Option<(String, String)>>,
    requests: Mutex<Vec<Recorded>>,
    deliveries: Mutex<Vec<Delivery>>,
    idempotent: Mutex<HashMap<String, (u16, Value)>>,
    sessions: Mutex<HashMap<String, CheckoutSession>>,
    subscriptions: Mutex<HashMap<String, Subscription>>,
    customers: Mutex<Vec<String>>,
    portals: Mutex<HashMap<String, (String, String)>>,
    counter: AtomicU64,
    http: reqwest::Client,
}

#[derive(Clone)]
pub struct Sandbox {
    pub addr: SocketAddr,
    inner: Arc<Inner>,
}

/// A poisoned lock still holds the sandbox's state; a panicking test must
/// not take the others' sandbox down with it.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn not_found(what: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(format!("<h1>{what} not found</h1>")),
    )
        .into_response()
}

fn now() -> i64 {
    glimvid::clock::epoch_seconds(glimvid::clock::now())
}

fn stripe_error(status: StatusCode, kind: &str, code: Option<&str>, message: String) -> Response {
    let mut error = json!({"type": kind, "message": message});
    if let Some(code) = code {
        error["code"] = json!(code);
    }
    reply(status, &json!({ "error": error }))
}

fn reply(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(body);
    reqwest::Url::parse(&format!("http://form.invalid/?{text}"))
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default()
}

/// `metadata[k]=v` pairs under `prefix` as a JSON object.
fn metadata(form: &[(String, String)], prefix: &str) -> Value {
    let mut out = serde_json::Map::new();
    for (k, v) in form {
        if let Some(key) = k
            .strip_prefix(prefix)
            .and_then(|r| r.strip_prefix('['))
            .and_then(|r| r.strip_suffix(']'))
            .filter(|r| !r.contains('['))
        {
            out.insert(key.to_owned(), json!(v));
        }
    }
    Value::Object(out)
}

fn param<'a>(form: &'a [(String, String)], key: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl Sandbox {
    /// Starts on 127.0.0.1 (a free port) and serves until the process ends.
    pub async fn start(api_key: &str) -> anyhow::Result<Sandbox> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let inner = Arc::new(Inner {
            base_url: format!("http://{addr}"),
            api_key: api_key.to_owned(),
            webhook: Mutex::new(None),
            requests: Mutex::default(),
            deliveries: Mutex::default(),
            idempotent: Mutex::default(),
            sessions: Mutex::default(),
            subscriptions: Mutex::default(),
            customers: Mutex::default(),
            portals: Mutex::default(),
            counter: AtomicU64::new(1),
            // No pooled connections: deliveries run on the caller's runtime
            // (a test's), which may end before the next one.
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(15))
                .pool_max_idle_per_host(0)
                .build()?,
        });
        let app = Router::new()
            .route("/v1/checkout/sessions", post(create_checkout))
            .route("/v1/billing_portal/sessions", post(create_portal))
            .route("/v1/subscriptions/{id}", delete(cancel_subscription))
            .route("/c/pay/{id}", get(pay_page).post(pay))
            .route("/p/session/{id}", get(portal_page))
            .route("/p/session/{id}/cancel/{sub}", post(portal_cancel))
            .route("/i/{id}", get(invoice_page))
            .with_state(inner.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Sandbox { addr, inner })
    }

    pub fn base_url(&self) -> String {
        self.inner.base_url.clone()
    }

    /// Where events go, and the secret they are signed with.
    pub fn deliver_to(&self, url: &str, secret: &str) {
        *lock(&self.inner.webhook) = Some((url.to_owned(), secret.to_owned()));
    }

    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.inner.requests).clone()
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        lock(&self.inner.deliveries).clone()
    }

    /// Pays an open Checkout Session as its hosted page's button does;
    /// returns where the browser would be sent.
    pub async fn pay(&self, session_id: &str) -> Option<String> {
        complete(&self.inner, session_id).await
    }

    /// The end of a subscription's period: the next invoice is paid and
    /// the period moves on, or, if it was set to cancel, it ends.
    pub async fn renew(&self, subscription_id: &str) -> Vec<Delivery> {
        let inner = &self.inner;
        let (sub, ended) = {
            let mut subs = lock(&inner.subscriptions);
            let Some(sub) = subs.get_mut(subscription_id) else {
                return Vec::new();
            };
            if sub.object["cancel_at_period_end"] == json!(true) {
                sub.object["status"] = json!("canceled");
                sub.object["ended_at"] = json!(now());
                (sub.clone(), true)
            } else {
                let end = sub.object["items"]["data"][0]["current_period_end"]
                    .as_i64()
                    .unwrap_or_else(now);
                set_period(&mut sub.object, end, end + PERIOD_S);
                (sub.clone(), false)
            }
        };
        let mut out = Vec::new();
        if ended {
            out.push(emit(inner, "customer.subscription.deleted", sub.object).await);
            return out;
        }
        let invoice = invoice(inner, &sub, "subscription_cycle");
        out.push(emit(inner, "invoice.paid", invoice).await);
        out.push(emit(inner, "customer.subscription.updated", sub.object).await);
        out
    }

    /// Sends a recorded event again, freshly signed, as Stripe's retries do.
    pub async fn redeliver(&self, event_id: &str) -> Option<Delivery> {
        let body = self
            .deliveries()
            .into_iter()
            .find(|d| d.event_id == event_id)?
            .body;
        let event: Value = serde_json::from_str(&body).ok()?;
        Some(send(&self.inner, event).await)
    }

    /// The subscription a Checkout Session started, once paid.
    pub fn subscription_of(&self, session_id: &str) -> Option<String> {
        let sessions = lock(&self.inner.sessions);
        sessions.get(session_id)?.object["subscription"]
            .as_str()
            .map(str::to_owned)
    }

    /// A subscription as Stripe holds it.
    pub fn subscription(&self, id: &str) -> Option<Value> {
        let subs = lock(&self.inner.subscriptions);
        subs.get(id).map(|s| s.object.clone())
    }

    /// Sets a subscription to end at its period's end, as the portal's
    /// Cancel plan button does.
    pub async fn cancel_at_period_end(&self, id: &str) -> Option<Delivery> {
        cancel_later(&self.inner, id).await
    }
}

impl Inner {
    fn id(&self, prefix: &str) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let salt = &uuid::Uuid::new_v4().simple().to_string()[..10];
        format!("{prefix}_test_{n}{salt}")
    }

    fn record(&self, method: &Method, path: &str, headers: &HeaderMap, form: &[(String, String)]) {
        let headers = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        lock(&self.requests).push(Recorded {
            method: method.to_string(),
            path: path.to_owned(),
            headers,
            form: form.to_vec(),
        });
    }

    /// Stripe's answer to a missing or wrong key.
    fn authorised(&self, headers: &HeaderMap) -> Result<(), Box<Response>> {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        match given {
            Some(key) if key == self.api_key => Ok(()),
            Some(_) => Err(Box::new(stripe_error(
                StatusCode::UNAUTHORIZED,
                "invalid_request_error",
                None,
                "Invalid API Key provided".into(),
            ))),
            None => Err(Box::new(stripe_error(
                StatusCode::UNAUTHORIZED,
                "invalid_request_error",
                None,
                "You did not provide an API key.".into(),
            ))),
        }
    }
}

fn missing(param: &str) -> Response {
    stripe_error(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        Some("parameter_missing"),
        format!("Missing required param: {param}."),
    )
}

fn no_such(kind: &str, id: &str) -> Response {
    stripe_error(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        Some("resource_missing"),
        format!("No such {kind}: '{id}'"),
    )
}

async fn create_checkout(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = parse_form(&body);
    inner.record(&Method::POST, "/v1/checkout/sessions", &headers, &form);
    if let Err(denied) = inner.authorised(&headers) {
        return *denied;
    }
    // Stripe answers a repeated key with the first answer.
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(key) = &key
        && let Some((status, body)) = lock(&inner.idempotent).get(key).cloned()
    {
        return reply(
            StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
            &body,
        );
    }
    let Some(mode) = param(&form, "mode") else {
        return missing("mode");
    };
    if !matches!(mode, "payment" | "subscription") {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("parameter_invalid_empty"),
            format!("Invalid mode: must be one of payment, setup, or subscription (got {mode})"),
        );
    }
    for required in [
        "success_url",
        "line_items[0][price_data][currency]",
        "line_items[0][price_data][unit_amount]",
        "line_items[0][price_data][product_data][name]",
    ] {
        if param(&form, required).is_none() {
            return missing(required);
        }
    }
    let recurring = param(&form, "line_items[0][price_data][recurring][interval]").is_some();
    if (mode == "subscription") != recurring {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            None,
            format!(
                "You must provide at least one recurring price in `subscription` mode when using prices, and only one-time prices in `payment` mode (mode {mode})."
            ),
        );
    }
    if let Some(customer) = param(&form, "customer") {
        let known = lock(&inner.customers).iter().any(|c| c == customer);
        if !known {
            return no_such("customer", customer);
        }
    }
    let Ok(unit) = param(&form, "line_items[0][price_data][unit_amount]")
        .unwrap_or_default()
        .parse::<i64>()
    else {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("parameter_invalid_integer"),
            "Invalid integer: unit_amount".into(),
        );
    };
    let quantity = param(&form, "line_items[0][quantity]")
        .and_then(|q| q.parse::<i64>().ok())
        .unwrap_or(1);
    let id = inner.id("cs");
    let object = json!({
        "id": id,
        "object": "checkout.session",
        "mode": mode,
        "status": "open",
        "payment_status": "unpaid",
        "amount_total": unit * quantity,
        "currency": param(&form, "line_items[0][price_data][currency]"),
        "client_reference_id": param(&form, "client_reference_id"),
        "customer": param(&form, "customer"),
        "metadata": metadata(&form, "metadata"),
        "success_url": param(&form, "success_url"),
        "cancel_url": param(&form, "cancel_url"),
        "locale": param(&form, "locale"),
        "invoice": null,
        "subscription": null,
        "url": format!("{}/c/pay/{id}", inner.base_url),
    });
    lock(&inner.sessions).insert(
        id.clone(),
        CheckoutSession {
            form: form.clone(),
            object: object.clone(),
            paid: false,
        },
    );
    if let Some(key) = key {
        lock(&inner.idempotent).insert(key, (200, object.clone()));
    }
    reply(StatusCode::OK, &object)
}

async fn create_portal(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = parse_form(&body);
    inner.record(
        &Method::POST,
        "/v1/billing_portal/sessions",
        &headers,
        &form,
    );
    if let Err(denied) = inner.authorised(&headers) {
        return *denied;
    }
    let Some(customer) = param(&form, "customer") else {
        return missing("customer");
    };
    let known = lock(&inner.customers).iter().any(|c| c == customer);
    if !known {
        return no_such("customer", customer);
    }
    let return_url = param(&form, "return_url").unwrap_or_default().to_owned();
    let id = inner.id("bps");
    lock(&inner.portals).insert(id.clone(), (customer.to_owned(), return_url.clone()));
    reply(
        StatusCode::OK,
        &json!({
            "id": id,
            "object": "billing_portal.session",
            "customer": customer,
            "return_url": return_url,
            "url": format!("{}/p/session/{id}", inner.base_url),
        }),
    )
}

async fn cancel_subscription(
    State(inner): State<Arc<Inner>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    inner.record(
        &Method::DELETE,
        &format!("/v1/subscriptions/{id}"),
        &headers,
        &[],
    );
    if let Err(denied) = inner.authorised(&headers) {
        return *denied;
    }
    let sub = {
        let mut subs = lock(&inner.subscriptions);
        let Some(sub) = subs.get_mut(&id) else {
            return no_such("subscription", &id);
        };
        if sub.object["status"] == json!("canceled") {
            return no_such("subscription", &id);
        }
        sub.object["status"] = json!("canceled");
        sub.object["canceled_at"] = json!(now());
        sub.object["ended_at"] = json!(now());
        sub.object.clone()
    };
    emit(&inner, "customer.subscription.deleted", sub.clone()).await;
    reply(StatusCode::OK, &sub)
}

async fn pay_page(State(inner): State<Arc<Inner>>, Path(id): Path<String>) -> Response {
    let sessions = lock(&inner.sessions);
    let Some(session) = sessions.get(&id) else {
        return not_found("Checkout session");
    };
    let name = param(
        &session.form,
        "line_items[0][price_data][product_data][name]",
    )
    .unwrap_or_default();
    let amount = session.object["amount_total"].as_i64().unwrap_or_default();
    let currency = session.object["currency"]
        .as_str()
        .unwrap_or_default()
        .to_uppercase();
    let cancel = session.object["cancel_url"].as_str().unwrap_or("/");
    let every = if session.object["mode"] == json!("subscription") {
        " / month"
    } else {
        ""
    };
    Html(format!(
        "<!doctype html><html><head><meta charset=utf-8><title>Stripe sandbox checkout</title></head>\
         <body style=\"font-family:sans-serif;max-width:420px;margin:40px auto\">\
         <p>Local Stripe sandbox: no card is charged.</p>\
         <h1 id=product>{}</h1><p id=amount>{currency} {}.{:02}{every}</p>\
         <form method=post action=\"/c/pay/{id}\"><button id=pay type=submit>Pay</button></form>\
         <p><a id=cancel href=\"{}\">Cancel and go back</a></p></body></html>",
        escape(name),
        amount / 100,
        amount % 100,
        escape(cancel)
    ))
    .into_response()
}

async fn pay(State(inner): State<Arc<Inner>>, Path(id): Path<String>) -> Response {
    match complete(&inner, &id).await {
        Some(location) => (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response(),
        None => not_found("An open checkout session"),
    }
}

fn set_period(sub: &mut Value, start: i64, end: i64) {
    sub["items"]["data"][0]["current_period_start"] = json!(start);
    sub["items"]["data"][0]["current_period_end"] = json!(end);
}

/// A paid invoice for a subscription's current period, in the 2025-03-31
/// shape (`parent.subscription_details`).
fn invoice(inner: &Inner, sub: &Subscription, reason: &str) -> Value {
    let id = inner.id("in");
    let item = &sub.object["items"]["data"][0];
    json!({
        "id": id,
        "object": "invoice",
        "status": "paid",
        "billing_reason": reason,
        "amount_paid": sub.price_cents,
        "amount_due": sub.price_cents,
        "currency": sub.currency,
        "customer": sub.object["customer"],
        "hosted_invoice_url": format!("{}/i/{id}", inner.base_url),
        "metadata": {},
        "parent": {
            "type": "subscription_details",
            "subscription_details": {
                "subscription": sub.object["id"],
                "metadata": sub.object["metadata"],
            }
        },
        "lines": {"object": "list", "data": [{
            "amount": sub.price_cents,
            "currency": sub.currency,
            "period": {"start": item["current_period_start"], "end": item["current_period_end"]},
        }]},
    })
}

async fn complete(inner: &Arc<Inner>, id: &str) -> Option<String> {
    let session = {
        let mut sessions = lock(&inner.sessions);
        let session = sessions.get_mut(id).filter(|s| !s.paid)?;
        session.paid = true;
        session.clone()
    };
    let form = &session.form;
    let mut object = session.object.clone();
    let customer = match param(form, "customer") {
        Some(c) => c.to_owned(),
        None => {
            let c = inner.id("cus");
            lock(&inner.customers).push(c.clone());
            c
        }
    };
    object["customer"] = json!(customer);
    object["status"] = json!("complete");
    object["payment_status"] = json!("paid");
    let amount = object["amount_total"].as_i64().unwrap_or_default();
    let currency = object["currency"].as_str().unwrap_or_default().to_owned();
    let mut events = Vec::new();
    if object["mode"] == json!("subscription") {
        let sub_id = inner.id("sub");
        let start = now();
        let mut sub = json!({
            "id": sub_id,
            "object": "subscription",
            "status": "active",
            "customer": customer,
            "cancel_at_period_end": false,
            "metadata": metadata(form, "subscription_data[metadata]"),
            "items": {"object": "list", "data": [{"object": "subscription_item",
                "price": {"unit_amount": amount, "currency": currency, "recurring": {"interval": "month"}}}]},
        });
        set_period(&mut sub, start, start + PERIOD_S);
        let sub = Subscription {
            object: sub,
            price_cents: amount,
            currency: currency.clone(),
        };
        lock(&inner.subscriptions).insert(sub_id.clone(), sub.clone());
        object["subscription"] = json!(sub_id);
        events.push(("customer.subscription.created", sub.object.clone()));
        events.push(("invoice.paid", invoice(inner, &sub, "subscription_create")));
    } else if param(form, "invoice_creation[enabled]") == Some("true") {
        let in_id = inner.id("in");
        object["invoice"] = json!(in_id);
        events.push((
            "invoice.paid",
            json!({
                "id": in_id,
                "object": "invoice",
                "status": "paid",
                "billing_reason": "manual",
                "amount_paid": amount,
                "currency": currency,
                "customer": customer,
                "hosted_invoice_url": format!("{}/i/{in_id}", inner.base_url),
                "metadata": metadata(form, "invoice_creation[invoice_data][metadata]"),
                "parent": null,
            }),
        ));
    }
    events.insert(0, ("checkout.session.completed", object.clone()));
    if let Some(s) = lock(&inner.sessions).get_mut(id) {
        s.object = object.clone();
    }
    for (kind, data) in events {
        emit(inner, kind, data).await;
    }
    let success = object["success_url"].as_str().unwrap_or("/");
    Some(success.replace("{CHECKOUT_SESSION_ID}", id))
}

async fn cancel_later(inner: &Arc<Inner>, id: &str) -> Option<Delivery> {
    let sub = {
        let mut subs = lock(&inner.subscriptions);
        let sub = subs.get_mut(id)?;
        sub.object["cancel_at_period_end"] = json!(true);
        sub.object["cancel_at"] = sub.object["items"]["data"][0]["current_period_end"].clone();
        sub.object.clone()
    };
    Some(emit(inner, "customer.subscription.updated", sub).await)
}

async fn portal_page(State(inner): State<Arc<Inner>>, Path(id): Path<String>) -> Response {
    let Some((customer, return_url)) = lock(&inner.portals).get(&id).cloned() else {
        return not_found("Portal session");
    };
    let subs = lock(&inner.subscriptions);
    let mut rows = String::new();
    for sub in subs
        .values()
        .filter(|s| s.object["customer"] == json!(customer))
    {
        let sub_id = sub.object["id"].as_str().unwrap_or_default();
        let status = sub.object["status"].as_str().unwrap_or_default();
        let ending = sub.object["cancel_at_period_end"] == json!(true);
        rows.push_str(&format!(
            "<li data-subscription=\"{0}\">{0}: {status}{1}</li>",
            escape(sub_id),
            if ending { " (ends at period end)" } else { "" }
        ));
        if status != "canceled" && !ending {
            rows.push_str(&format!(
                "<form method=post action=\"/p/session/{id}/cancel/{0}\"><button class=cancel-plan type=submit>Cancel plan</button></form>",
                escape(sub_id)
            ));
        }
    }
    Html(format!(
        "<!doctype html><html><head><meta charset=utf-8><title>Stripe sandbox portal</title></head>\
         <body style=\"font-family:sans-serif;max-width:420px;margin:40px auto\"><h1>Billing</h1><ul>{rows}</ul>\
         <p><a id=return href=\"{}\">Return</a></p></body></html>",
        escape(&return_url)
    ))
    .into_response()
}

async fn portal_cancel(
    State(inner): State<Arc<Inner>>,
    Path((id, sub)): Path<(String, String)>,
) -> Response {
    let Some((_, return_url)) = lock(&inner.portals).get(&id).cloned() else {
        return not_found("Portal session");
    };
    cancel_later(&inner, &sub).await;
    (StatusCode::SEE_OTHER, [(header::LOCATION, return_url)]).into_response()
}

async fn invoice_page(Path(id): Path<String>) -> Response {
    Html(format!(
        "<!doctype html><html><head><meta charset=utf-8><title>Invoice</title></head><body><h1>Invoice {}</h1><p>Paid.</p></body></html>",
        escape(&id)
    ))
    .into_response()
}

/// Wraps `object` in an event of `kind` and delivers it.
async fn emit(inner: &Arc<Inner>, kind: &str, object: Value) -> Delivery {
    let event = json!({
        "id": inner.id("evt"),
        "object": "event",
        "api_version": glimvid::billing::stripe::API_VERSION,
        "created": now(),
        "livemode": false,
        "type": kind,
        "data": {"object": object},
    });
    send(inner, event).await
}

async fn send(inner: &Arc<Inner>, event: Value) -> Delivery {
    let body = event.to_string();
    let target = lock(&inner.webhook).clone();
    let mut delivery = Delivery {
        event_id: event["id"].as_str().unwrap_or_default().to_owned(),
        kind: event["type"].as_str().unwrap_or_default().to_owned(),
        body: body.clone(),
        status: 0,
        answer: Value::Null,
    };
    if let Some((url, secret)) = target {
        let signature = sign(&secret, now(), &body);
        match inner
            .http
            .post(&url)
            .header("content-type", "application/json")
            .header("stripe-signature", signature)
            .body(body)
            .send()
            .await
        {
            Ok(resp) => {
                delivery.status = resp.status().as_u16();
                delivery.answer = resp.json().await.unwrap_or(Value::Null);
            }
            Err(e) => tracing::warn!(error = %e, "sandbox webhook delivery failed"),
        }
    }
    lock(&inner.deliveries).push(delivery.clone());
    delivery
}

/// `Stripe-Signature` for `body` at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    use hmac::Mac;
    let mut mac = match hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}
