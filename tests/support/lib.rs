//! Test harness: one runner per test binary, on a free loopback port, with
//! its own resource prefix in the emulator that `./scripts/test` started.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

pub mod artifacts;
pub mod events;
pub mod fakes;
pub mod mail;
pub mod media;
pub mod runtime_api;

use aws_sdk_dynamodb::types::AttributeValue;
use glimvid::config::Config;
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub struct Harness {
    pub base_url: String,
    pub config: Config,
    pub prefix: String,
    /// The hosted functions, by logical id.
    pub functions: std::collections::BTreeMap<String, glimvid_runner::Function>,
    pub auditor: std::sync::Arc<glimvid_runner::audit::Auditor>,
}

fn require_emulator() -> String {
    std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| {
        panic!("AWS_ENDPOINT_URL is not set: run the tests with ./scripts/test, which starts the emulator")
    })
}

/// The shared runner with default settings.
pub fn harness() -> &'static Harness {
    harness_with(|_| {})
}

/// The shared runner. It lives on its own thread and runtime because each
/// `#[tokio::test]` has a runtime that ends with the test. The first call in
/// a test binary decides its options; a binary's tests all pass the same.
pub fn harness_with(setup: fn(&mut glimvid_runner::Options)) -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        require_emulator();
        let prefix = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let mut options = glimvid_runner::Options {
            template: glimvid_runner::Options::repo_template(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            prefix: prefix.clone(),
            trust_forwarded_for: true,
            ..glimvid_runner::Options::default()
        };
        // Nothing here writes for long after a job or an account ends, so
        // the sweeper's last look need not wait production's 20 minutes.
        options
            .env_overrides
            .insert("WRITE_QUIET_SECONDS".into(), "2".into());
        setup(&mut options);
        let started = on_own_runtime(move |tx| async move {
            match glimvid_runner::start(options).await {
                Ok(running) => {
                    let _ = tx.send(Ok((
                        running.base_url(),
                        running.config.clone(),
                        running.functions.clone(),
                        running.auditor.clone(),
                    )));
                    // Serve until the test process exits.
                    std::future::pending::<()>().await;
                }
                Err(err) => {
                    let _ = tx.send(Err(format!("{err:#}")));
                }
            }
        });
        let (base_url, config, functions, auditor) =
            started.unwrap_or_else(|e| panic!("runner failed to start: {e}"));
        Harness {
            base_url,
            config,
            prefix,
            functions,
            auditor,
        }
    })
}

/// What `start` sends, from a thread and runtime of its own that live until
/// the test process exits: servers a binary's tests share must outlive
/// each `#[tokio::test]`'s runtime, which ends with its test.
pub fn on_own_runtime<T, F>(
    start: impl FnOnce(std::sync::mpsc::Sender<T>) -> F + Send + 'static,
) -> T
where
    T: Send + 'static,
    F: std::future::Future<Output = ()>,
{
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(start(tx));
    });
    rx.recv().expect("a server on its own runtime")
}

/// SDK client for inspecting tables, built in the calling test's runtime.
pub async fn dynamo() -> aws_sdk_dynamodb::Client {
    require_emulator();
    aws_sdk_dynamodb::Client::new(&glimvid::app::aws_sdk_config().await)
}

/// A distinct client IP per call (TEST-NET-2 / TEST-NET-3 documentation
/// ranges: only ever a header value, never an address we send traffic to).
pub fn fresh_ip() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed) + (std::process::id() % 1000) * 200;
    format!("198.51.{}.{}", 100 + (n / 250) % 100, 1 + n % 250)
}

pub fn unique_email() -> String {
    format!("user-{}@example.com", uuid::Uuid::new_v4().simple())
}

pub const PASSWORD: &str = "correct horse battery";

/// An API client that acts as one browser at one IP.
/// The PUT an upload ticket asks for, with the headers its signature covers
/// (as the web app sends them; the body sets content-length).
pub fn ticket_put(ticket: &Value) -> reqwest::RequestBuilder {
    let mut put = reqwest::Client::new().put(ticket["url"].as_str().expect("upload URL"));
    for (name, value) in ticket["headers"].as_object().expect("ticket headers") {
        if name != "content-length" {
            put = put.header(name, value.as_str().expect("header value"));
        }
    }
    put
}

#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    pub ip: String,
    pub token: Option<String>,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }
}

impl Api {
    pub fn new() -> Self {
        Api {
            http: reqwest::Client::new(),
            ip: fresh_ip(),
            token: None,
        }
    }

    /// The same session from another client IP.
    pub fn elsewhere(&self) -> Self {
        Api {
            ip: fresh_ip(),
            ..self.clone()
        }
    }

    /// The client IP this client sends as.
    pub fn ip(&self) -> &str {
        &self.ip
    }

    pub fn with_token(&self, token: &str) -> Self {
        Api {
            token: Some(token.to_owned()),
            ..self.clone()
        }
    }

    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Reply {
        let mut req = self
            .http
            .request(method, format!("{}{}", harness().base_url, path))
            .header("x-forwarded-for", &self.ip)
            .body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        let resp = req.send().await.expect("request to the runner");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                panic!(
                    "non-JSON body ({status}): {}",
                    String::from_utf8_lossy(&bytes)
                )
            })
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        match body {
            Some(b) => {
                self.raw(
                    method,
                    path,
                    Some("application/json"),
                    b.to_string().into_bytes(),
                )
                .await
            }
            None => self.raw(method, path, None, Vec::new()).await,
        }
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.call(Method::DELETE, path, None).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }

    /// Registers a fresh account, confirms its address through the mailed
    /// link (which grants the free trial, once per IP) and returns a client
    /// logged in as it.
    pub async fn signed_up(&self) -> (Api, String) {
        let (api, email) = self.signed_up_unverified().await;
        api.verify_by_mail(&email).await;
        (api, email)
    }

    /// Follows the newest verification link mailed to `email`, from this
    /// client's IP. Returns the reply (`trial_granted` in it).
    pub async fn verify_by_mail(&self, email: &str) -> Value {
        let token = mail::wait_for_link(email, "#/verify?token=").await;
        let reply = self
            .post("/auth/verify-email", serde_json::json!({"token": token}))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.body
    }

    /// Registers a fresh account without confirming its address.
    pub async fn signed_up_unverified(&self) -> (Api, String) {
        let email = unique_email();
        let reply = self
            .post(
                "/auth/register",
                serde_json::json!({"email": email, "password": PASSWORD, "confirm_age_16": true}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        let token = reply.body["token"].as_str().expect("token").to_owned();
        (self.with_token(&token), email)
    }
}

impl Api {
    /// Uploads `bytes` the way the web app does: a ticket, then the
    /// presigned PUT straight to storage. Returns the upload id.
    pub async fn put_upload(&self, bytes: Vec<u8>, content_type: &str) -> String {
        let ticket = self
            .post(
                "/uploads",
                serde_json::json!({"content_type": content_type, "size_bytes": bytes.len()}),
            )
            .await;
        assert_eq!(ticket.status, StatusCode::CREATED, "{}", ticket.body);
        let put = ticket_put(&ticket.body)
            .body(bytes)
            .send()
            .await
            .expect("PUT to storage")
            .status();
        assert_eq!(put, StatusCode::OK);
        ticket.body["upload_id"]
            .as_str()
            .expect("upload id")
            .to_owned()
    }

    /// An upload that has been completed (checked as a real image).
    pub async fn completed_upload(&self, bytes: Vec<u8>, content_type: &str) -> String {
        let id = self.put_upload(bytes, content_type).await;
        let done = self
            .post(&format!("/uploads/{id}/complete"), serde_json::json!({}))
            .await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.body);
        id
    }

    /// Polls the job until it has ended; panics after `limit`.
    pub async fn job_when_done(&self, id: &str, limit: std::time::Duration) -> Reply {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let job = self.get(&format!("/videos/{id}")).await;
            assert_eq!(job.status, StatusCode::OK, "{}", job.body);
            let status = job.body["status"].as_str().unwrap_or_default().to_owned();
            if !matches!(status.as_str(), "queued" | "running") {
                return job;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "job stuck: {}",
                job.body
            );
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        }
    }
}

impl Default for Api {
    fn default() -> Self {
        Self::new()
    }
}

pub type Item = HashMap<String, AttributeValue>;

/// Every item of a table (tests only; tables here are small).
pub async fn scan_all(db: &aws_sdk_dynamodb::Client, table: &str) -> Vec<Item> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = db
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        items.extend(page.items().iter().cloned());
        start = page.last_evaluated_key;
        if start.is_none() {
            return items;
        }
    }
}

/// Every table this run's runner created.
pub async fn all_tables(db: &aws_sdk_dynamodb::Client) -> Vec<String> {
    let prefix = format!("{}-", harness().prefix);
    let mut names = Vec::new();
    let mut start = None;
    loop {
        let page = db
            .list_tables()
            .set_exclusive_start_table_name(start)
            .send()
            .await
            .expect("list tables");
        names.extend(
            page.table_names()
                .iter()
                .filter(|n| n.starts_with(&prefix))
                .cloned(),
        );
        start = page.last_evaluated_table_name;
        if start.is_none() {
            return names;
        }
    }
}

pub fn item_text(item: &Item) -> String {
    format!("{item:?}")
}

pub fn sha256_hex(s: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

/// An App in the calling test's runtime, on the harness's resources, for
/// reading and seeding records through the domain code.
pub async fn app() -> glimvid::App {
    glimvid::App::new(
        harness().config.clone(),
        &glimvid::app::aws_sdk_config().await,
    )
}

/// A hosted function's App in the calling test's runtime, with the
/// function's own role and call audit: for running a function's domain
/// code directly, as the schedule runs the sweeper.
pub async fn function_app(function: &str) -> glimvid::App {
    harness()
        .functions
        .get(function)
        .unwrap_or_else(|| panic!("no function {function} in the template"))
        .app_here()
        .await
}

/// Calls `function` made that its role does not allow (the call audit).
pub fn refused_calls(function: &str) -> Vec<glimvid_runner::audit::Record> {
    harness()
        .auditor
        .refused()
        .into_iter()
        .filter(|r| r.function == function)
        .collect()
}

/// Stops a video's state machine execution, so its job stays live and
/// nothing moves it on (for tests of what acts on a live job).
pub async fn stop_pipeline(video_id: &str) {
    let app = app().await;
    let job = glimvid::jobs::store::get(&app, video_id)
        .await
        .expect("read the job")
        .expect("the job exists");
    app.sfn
        .stop_execution()
        .execution_arn(job.execution_arn.as_deref().expect("an execution"))
        .send()
        .await
        .expect("stop the execution");
}

/// Runs the retention sweeper as its function would.
pub async fn run_sweeper() -> glimvid::sweeper::Report {
    glimvid::sweeper::run(&function_app("SweeperFunction").await)
        .await
        .expect("sweeper run")
}

/// Signs a payment-provider event the way Stripe does.
pub fn stripe_signature(secret: &str, timestamp: i64, body: &str) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("hmac key");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

pub const WEBHOOK_SECRET: &str = "whsec_test_only";

pub const STRIPE_KEY: &str = "sk_test_glimvid_tests_only";

/// Runner options for tests that take payments: Stripe is this binary's
/// sandbox (`stripe()`), which signs its events with `WEBHOOK_SECRET`.
pub fn with_payments(o: &mut glimvid_runner::Options) {
    for (k, v) in [
        ("PAYMENT_WEBHOOK_SECRET", WEBHOOK_SECRET.to_owned()),
        ("STRIPE_API_KEY", STRIPE_KEY.to_owned()),
        ("STRIPE_API_BASE", stripe().base_url()),
        ("PROVIDER_ALLOW_HTTP_LOOPBACK", "true".to_owned()),
    ] {
        o.env_overrides.insert(k.into(), v);
    }
}

/// The Stripe sandbox of this test binary, on its own thread and runtime
/// (each `#[tokio::test]` runtime ends with its test). Its events go to the
/// runner once the runner is up (`stripe_harness`).
pub fn stripe() -> &'static glimvid_runner::stripe_sandbox::Sandbox {
    static SANDBOX: OnceLock<glimvid_runner::stripe_sandbox::Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(|| {
        on_own_runtime(|tx| async move {
            let sandbox = glimvid_runner::stripe_sandbox::Sandbox::start(STRIPE_KEY)
                .await
                .expect("Stripe sandbox");
            let _ = tx.send(sandbox);
            std::future::pending::<()>().await;
        })
    })
}

/// The runner with payments on, its webhook wired to the sandbox.
pub fn stripe_harness() -> &'static Harness {
    let harness = harness_with(with_payments);
    stripe().deliver_to(
        &format!("{}/billing/webhook", harness.base_url),
        WEBHOOK_SECRET,
    );
    harness
}

/// What the sample-event walk runs with: payments on (the webhook's sample
/// is refused for its signature), and room on the credential routes for
/// its one client's dozen sign-ins, links and resets.
pub fn for_the_walk(o: &mut glimvid_runner::Options) {
    with_payments(o);
    o.env_overrides
        .insert("AUTH_RATE_LIMIT_PER_MINUTE".into(), "30".into());
}

/// A checkout.session.completed event for `user_id` buying `pack`.
pub fn checkout_event(event_id: &str, user_id: &str, pack: &str) -> String {
    checkout_event_with(
        event_id,
        "checkout.session.completed",
        user_id,
        pack,
        |_| {},
    )
}

/// An event of type `kind` for a paid Checkout Session for `pack` at its
/// price, which `edit` may change (status, amount, currency, session id).
pub fn checkout_event_with(
    event_id: &str,
    kind: &str,
    user_id: &str,
    pack: &str,
    edit: impl FnOnce(&mut Value),
) -> String {
    let price = glimvid::billing::catalog::pack(pack).map_or(0, |p| p.price_cents);
    let mut event = serde_json::json!({
        "id": event_id,
        "type": kind,
        "data": {"object": {"id": format!("cs_{event_id}"), "object": "checkout.session",
                            "client_reference_id": user_id, "payment_status": "paid",
                            "amount_total": price, "currency": "usd", "mode": "payment",
                            "metadata": {"pack": pack}}}
    });
    edit(&mut event["data"]["object"]);
    event.to_string()
}

impl Api {
    pub async fn webhook(&self, body: &str, signature: &str) -> Reply {
        let resp = self
            .http
            .post(format!("{}/billing/webhook", harness().base_url))
            .header("x-forwarded-for", &self.ip)
            .header("content-type", "application/json")
            .header("stripe-signature", signature)
            .body(body.to_owned())
            .send()
            .await
            .expect("webhook request");
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.json().await.unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
        }
    }

    /// `DELETE /me`, which asks for the password again.
    pub async fn delete_account(&self, password: &str) -> Reply {
        self.call(
            Method::DELETE,
            "/me",
            Some(serde_json::json!({ "password": password })),
        )
        .await
    }

    /// Asks for an export, waits until the worker has written it, and
    /// downloads it through its link: the first reply and the file.
    pub async fn export(&self) -> (Reply, Value) {
        let started = self.call(Method::POST, "/me/exports", None).await;
        assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.body);
        let id = started.body["id"].as_str().expect("export id").to_owned();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        let ready = loop {
            let got = self.get(&format!("/me/exports/{id}")).await;
            assert_eq!(got.status, StatusCode::OK, "{}", got.body);
            match got.body["status"].as_str() {
                Some("ready") => break got.body,
                Some("pending") => {}
                _ => panic!("export did not succeed: {}", got.body),
            }
            assert!(std::time::Instant::now() < deadline, "export still pending");
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        };
        let url = ready["url"].as_str().expect("a link once ready");
        let file = reqwest::get(url).await.expect("download the export");
        assert_eq!(file.status(), StatusCode::OK);
        let bytes = file.bytes().await.expect("export bytes");
        assert_eq!(
            ready["size_bytes"].as_u64(),
            Some(bytes.len() as u64),
            "{ready}"
        );
        let value = serde_json::from_slice(&bytes).expect("the export is JSON");
        (started, value)
    }

    pub async fn user_id(&self) -> String {
        self.get("/me").await.body["id"]
            .as_str()
            .expect("user id")
            .to_owned()
    }
}

/// balance == sum(ledger), always.
pub async fn assert_ledger_consistent(user_id: &str) -> i64 {
    let app = app().await;
    let balance = glimvid::credits::balance(&app, user_id)
        .await
        .expect("balance");
    let sum: i64 = glimvid::credits::ledger(&app, user_id)
        .await
        .expect("ledger")
        .iter()
        .map(|e| e.amount)
        .sum();
    assert_eq!(balance, sum, "balance differs from the ledger's sum");
    assert!(balance >= 0, "negative balance");
    balance
}

/// Adds credits the way a purchase does (a ledger entry with the balance).
pub async fn grant(user_id: &str, credits: i64) {
    let app = app().await;
    let items = glimvid::credits::change_items(
        &app.config.credits_table,
        &glimvid::credits::Change {
            user_id,
            kind: glimvid::credits::EntryKind::Purchase,
            amount: credits,
            reason: "test pack",
            job_id: None,
            source: None,
        },
    )
    .expect("grant items");
    app.dynamo
        .transact_write_items()
        .set_transact_items(Some(items))
        .send()
        .await
        .expect("grant");
}

/// How many objects the media bucket holds under `prefix`.
pub async fn object_count(prefix: &str) -> i32 {
    let app = app().await;
    app.s3
        .list_objects_v2()
        .bucket(&app.config.media_bucket)
        .prefix(prefix)
        .send()
        .await
        .expect("list objects")
        .key_count()
        .unwrap_or_default()
}

/// The keys the media bucket holds under `prefix`.
pub async fn object_keys(prefix: &str) -> Vec<String> {
    glimvid::storage::all_keys(&app().await, prefix)
        .await
        .expect("list objects")
}

/// (METHOD, path, operationId) for every operation an OpenAPI document
/// describes.
pub fn spec_operations(spec: &Value) -> std::collections::BTreeSet<(String, String, String)> {
    let mut ops = std::collections::BTreeSet::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path}: no operationId"));
            ops.insert((method.to_uppercase(), path.clone(), id.to_owned()));
        }
    }
    ops
}
