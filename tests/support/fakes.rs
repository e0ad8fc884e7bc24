//! Fake AI providers on a loopback port: DeepSeek chat completions and Ark
//! (images, video tasks, and the storage their result links point at),
//! speaking the real request and response shapes. Every request is
//! recorded. Faults are injected per job: a test puts a token made by
//! [`fault`] into the job's title, the title travels into every provider
//! request, and the fake applies the named fault to requests carrying it,
//! the first `count` times (0: always). Tests in one binary share the
//! server without seeing each other's faults.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

pub const DEEPSEEK_KEY: &str = "sk-fake-deepseek-0123456789";
pub const ARK_KEY: &str = "fake-ark-key-abcdef";

/// How long a `*-delay` fault stalls: past the tests' request timeout.
const DELAY: Duration = Duration::from_millis(2500);

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Recorded {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Everything the provider saw, for privacy checks.
    pub fn everything(&self) -> String {
        let headers: Vec<String> = self
            .headers
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        format!(
            "{} {}\n{}\n{}",
            self.method,
            self.path,
            headers.join("\n"),
            self.body
        )
    }
}

#[derive(Clone)]
struct Task {
    token: Option<String>,
    faults: Vec<String>,
    polls: u32,
}

struct Inner {
    port: u16,
    requests: Mutex<Vec<Recorded>>,
    applied: Mutex<HashMap<String, u32>>,
    tasks: Mutex<HashMap<String, Task>>,
    image_jpeg: Vec<u8>,
    video_mp4: Vec<u8>,
}

pub struct Fakes {
    pub addr: SocketAddr,
    inner: Arc<Inner>,
}

/// A fault token for a job's title: `name` applied the first `count`
/// times (0: every time).
pub fn fault(name: &str, count: u32) -> String {
    let nonce = &uuid::Uuid::new_v4().simple().to_string()[..8];
    format!("[[{name}*{count}#{nonce}]]")
}

/// Fault tokens in a request body: (whole token, name, count).
fn tokens(body: &str) -> Vec<(String, String, u32)> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find("[[") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("]]") else { break };
        let inner = &after[..end];
        if let Some((name, tail)) = inner.split_once('*') {
            let count = tail
                .split('#')
                .next()
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            out.push((inner.to_owned(), name.to_owned(), count));
        }
        rest = &after[end + 2..];
    }
    out
}

impl Inner {
    /// Whether fault `name` applies now to a request carrying `tokens`
    /// (and counts it as applied).
    fn take(&self, found: &[(String, String, u32)], name: &str) -> bool {
        let mut applied = self.applied.lock().unwrap();
        for (token, n, count) in found {
            if n == name {
                let used = applied.entry(token.clone()).or_insert(0);
                if *count == 0 || *used < *count {
                    *used += 1;
                    return true;
                }
            }
        }
        false
    }

    fn has(found: &[(String, String, u32)], name: &str) -> bool {
        found.iter().any(|(_, n, _)| n == name)
    }
}

impl Fakes {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.requests.lock().unwrap().clone()
    }

    /// Requests whose body carries `needle` (e.g. a job's fault token or
    /// title), plus the polls of video tasks created by those requests.
    pub fn requests_for(&self, needle: &str) -> Vec<Recorded> {
        let tasks = self.inner.tasks.lock().unwrap().clone();
        let ids: Vec<String> = tasks
            .iter()
            .filter(|(_, t)| t.token.as_deref().is_some_and(|tk| tk.contains(needle)))
            .map(|(id, _)| id.clone())
            .collect();
        self.requests()
            .into_iter()
            .filter(|r| {
                r.body.contains(needle) || ids.iter().any(|id| r.path.contains(id.as_str()))
            })
            .collect()
    }

    pub fn video_mp4(&self) -> &[u8] {
        &self.inner.video_mp4
    }
}

/// The fake providers of this test binary, started on first use on their
/// own runtime (`on_own_runtime`).
pub fn fakes() -> &'static Fakes {
    static FAKES: OnceLock<Fakes> = OnceLock::new();
    FAKES.get_or_init(|| {
        crate::on_own_runtime(|tx| async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let addr = listener.local_addr().expect("addr");
            let inner = Arc::new(Inner {
                port: addr.port(),
                requests: Mutex::new(Vec::new()),
                applied: Mutex::new(HashMap::new()),
                tasks: Mutex::new(HashMap::new()),
                image_jpeg: crate::media::photo(1600, 900, glimvid_media::image::ImageFormat::Jpeg),
                video_mp4: sample_video(),
            });
            let app = Router::new()
                .route("/chat/completions", post(chat))
                .route("/api/v3/images/generations", post(images))
                .route("/api/v3/contents/generations/tasks", post(create_task))
                .route("/api/v3/contents/generations/tasks/{id}", get(get_task))
                .route("/files/{name}", get(file))
                .with_state(inner.clone());
            let _ = tx.send(Fakes { addr, inner });
            axum::serve(listener, app).await.expect("fake providers");
        })
    })
}

/// What the fake Seedance returns: a real provider-like clip (x264 High
/// profile with B-frames, 24 fps, 44.1 kHz AAC; see media/tests/fixtures).
fn sample_video() -> Vec<u8> {
    include_bytes!("../../media/tests/fixtures/provider-clip.mp4").to_vec()
}

fn record(inner: &Inner, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> String {
    let body = String::from_utf8_lossy(body).into_owned();
    inner.requests.lock().unwrap().push(Recorded {
        method: method.to_string(),
        path: uri.path().to_owned(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
            .collect(),
        body: body.clone(),
    });
    body
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({"error": {"code": code, "message": message, "type": "invalid_request_error"}})
            .to_string(),
    )
        .into_response()
}

/// The model names DeepSeek's API takes (its pricing page: use
/// `deepseek-flash`; `deepseek-v4-flash` and `deepseek-v4-flash-vision-exp`
/// still answer, served by the Flash model; `deepseek-v4-pro`).
const DEEPSEEK_MODELS: [&str; 4] = [
    "deepseek-flash",
    "deepseek-v4-pro",
    "deepseek-v4-flash",
    "deepseek-v4-flash-vision-exp",
];

/// DeepSeek's own error body: `type` and `code` both `invalid_request_error`.
fn deepseek_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({"error": {
            "message": message,
            "type": "invalid_request_error",
            "param": null,
            "code": "invalid_request_error",
        }})
        .to_string(),
    )
        .into_response()
}

fn ok_json(v: Value) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], v.to_string()).into_response()
}

fn authorized(headers: &HeaderMap, key: &str) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(format!("Bearer {key}").as_str())
}

/// The faults every endpoint shares, for prefix `p` (`chat`, `image`, `video`).
async fn common_faults(
    inner: &Inner,
    found: &[(String, String, u32)],
    p: &str,
) -> Option<Response> {
    const ERRORS: [(&str, StatusCode, &str, &str); 5] = [
        (
            "429",
            StatusCode::TOO_MANY_REQUESTS,
            "RateLimitExceeded",
            "slow down",
        ),
        (
            "500",
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServiceError",
            "oops",
        ),
        (
            "503",
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "overloaded",
        ),
        (
            "401",
            StatusCode::UNAUTHORIZED,
            "AuthenticationError",
            "bad key",
        ),
        (
            "402",
            StatusCode::PAYMENT_REQUIRED,
            "InsufficientBalance",
            "top up",
        ),
    ];
    for (fault, status, code, message) in ERRORS {
        if inner.take(found, &format!("{p}-{fault}")) {
            return Some(error(status, code, message));
        }
    }
    if inner.take(found, &format!("{p}-delay")) {
        tokio::time::sleep(DELAY).await;
    }
    if inner.take(found, &format!("{p}-malformed")) {
        return Some(
            (
                [(header::CONTENT_TYPE, "application/json")],
                "{\"choices\": [tru",
            )
                .into_response(),
        );
    }
    None
}

fn title_of(body: &Value) -> String {
    let user = body["messages"][1]["content"].as_str().unwrap_or_default();
    let product = user.split_once(": ").map(|(_, j)| j).unwrap_or_default();
    serde_json::from_str::<Value>(product)
        .ok()
        .and_then(|p| p["title"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "product".into())
}

async fn chat(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let text = record(&inner, &method, &uri, &headers, &body);
    if !authorized(&headers, DEEPSEEK_KEY) {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_api_key",
            "Authentication Fails",
        );
    }
    let found = tokens(&text);
    if let Some(r) = common_faults(&inner, &found, "chat").await {
        return r;
    }
    let Ok(req) = serde_json::from_str::<Value>(&text) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "body is not JSON",
        );
    };
    // DeepSeek's answer to a model it does not serve (a retired id such as
    // `deepseek-chat`, or a typo): 400, permanent.
    let model = req["model"].as_str().unwrap_or_default();
    if !DEEPSEEK_MODELS.contains(&model) {
        return deepseek_error(StatusCode::BAD_REQUEST, "Model Not Exist");
    }
    if req.get("thinking").is_some()
        && !matches!(
            req["thinking"]["type"].as_str(),
            Some("enabled" | "disabled")
        )
    {
        return deepseek_error(
            StatusCode::BAD_REQUEST,
            "thinking.type must be enabled or disabled",
        );
    }
    if req["response_format"]["type"] != "json_object" {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "json mode expected",
        );
    }
    // DeepSeek's content checks: a flagged request is refused outright, a
    // flagged answer is withheld (blank content, finish_reason
    // `content_filter`).
    if inner.take(&found, "chat-content-risk") {
        return deepseek_error(StatusCode::BAD_REQUEST, "Content Exists Risk");
    }
    let filtered = inner.take(&found, "chat-content-filter");
    let content = if inner.take(&found, "chat-blank") || filtered {
        String::new()
    } else if inner.take(&found, "chat-invalid") {
        json!({"hook": "No scenes", "scenes": [], "call_to_action": "Buy"}).to_string()
    } else {
        let title: String = title_of(&req).chars().take(60).collect();
        json!({
            "hook": format!("Meet {title}"),
            "scenes": ["Built to last.", "Made for every day.", "Looks great anywhere."],
            "call_to_action": "Order yours today",
        })
        .to_string()
    };
    ok_json(json!({
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": req["model"],
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": if filtered { "content_filter" } else { "stop" }}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150},
    }))
}

type Found = Vec<(String, String, u32)>;

/// What both Ark generation endpoints do before their own work: record the
/// request, check the key, inject the common faults and the stage's
/// moderation refusal (`{stage}-moderation`), parse the JSON body.
async fn ark_prelude(
    inner: &Inner,
    (method, uri, headers, body): (&Method, &Uri, &HeaderMap, &Bytes),
    stage: &str,
    (refusal_code, refusal_message): (&str, &str),
) -> Result<(Value, Found), Response> {
    let text = record(inner, method, uri, headers, body);
    if !authorized(headers, ARK_KEY) {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "AuthenticationError",
            "The API key is invalid",
        ));
    }
    let found = tokens(&text);
    if let Some(r) = common_faults(inner, &found, stage).await {
        return Err(r);
    }
    if inner.take(&found, &format!("{stage}-moderation")) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            refusal_code,
            refusal_message,
        ));
    }
    match serde_json::from_str::<Value>(&text) {
        Ok(req) => Ok((req, found)),
        Err(_) => Err(error(
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            "body is not JSON",
        )),
    }
}

async fn images(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let refusal = (
        "InputImageSensitiveContentDetected",
        "The request failed because the input image may contain sensitive information.",
    );
    let (req, found) =
        match ark_prelude(&inner, (&method, &uri, &headers, &body), "image", refusal).await {
            Ok(parsed) => parsed,
            Err(response) => return response,
        };
    if !req["image"]
        .as_str()
        .is_some_and(|i| i.starts_with("data:image/") || i.starts_with("http"))
    {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidParameter.Image",
            "image is required",
        );
    }
    let url = if inner.take(&found, "image-url-expired") {
        format!("http://127.0.0.1:{}/files/gone.jpg", inner.port)
    } else {
        format!("http://127.0.0.1:{}/files/image.jpg", inner.port)
    };
    ok_json(json!({
        "model": req["model"],
        "created": 1_700_000_000,
        "data": [{"url": url, "size": req["size"]}],
        "usage": {"generated_images": 1, "output_tokens": 16384, "total_tokens": 16384},
    }))
}

/// The faults that decide how a video task ends.
const TASK_OUTCOMES: [&str; 7] = [
    "video-stuck",
    "video-failed",
    "video-failed-moderation",
    "video-expired",
    "video-cancelled",
    "video-url-expired",
    "video-redirect",
];

async fn create_task(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let refusal = (
        "InputTextSensitiveContentDetected",
        "The request failed because the input text may contain sensitive information.",
    );
    let (req, found) =
        match ark_prelude(&inner, (&method, &uri, &headers, &body), "video", refusal).await {
            Ok(parsed) => parsed,
            Err(response) => return response,
        };
    if req["content"][0]["type"] != "text" {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            "content[0] must be text",
        );
    }
    let id = format!("cgt-{}", uuid::Uuid::new_v4().simple());
    // A task's outcome fault counts tasks: `video-failed*1` fails the
    // first task carrying it (one shot of a multi-shot video), not all.
    let faults = found
        .iter()
        .filter(|(_, n, _)| !TASK_OUTCOMES.contains(&n.as_str()) || inner.take(&found, n))
        .map(|(t, n, _)| format!("{n} {t}"))
        .collect();
    inner.tasks.lock().unwrap().insert(
        id.clone(),
        Task {
            token: found.first().map(|(t, _, _)| format!("[[{t}]]")),
            faults,
            polls: 0,
        },
    );
    ok_json(json!({"id": id}))
}

async fn get_task(
    State(inner): State<Arc<Inner>>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    record(&inner, &method, &uri, &headers, b"");
    if !authorized(&headers, ARK_KEY) {
        return error(
            StatusCode::UNAUTHORIZED,
            "AuthenticationError",
            "The API key is invalid",
        );
    }
    let task = {
        let mut tasks = inner.tasks.lock().unwrap();
        let Some(task) = tasks.get_mut(&id) else {
            return error(StatusCode::NOT_FOUND, "ResourceNotFound", "no such task");
        };
        task.polls += 1;
        task.clone()
    };
    let found: Vec<(String, String, u32)> = task
        .faults
        .iter()
        .filter_map(|f| f.split_once(' '))
        .map(|(n, t)| (t.to_owned(), n.to_owned(), 0))
        .collect();
    let poll_faults: Vec<(String, String, u32)> = found
        .iter()
        .map(|(t, n, _)| (format!("poll {t}"), n.clone(), 1))
        .collect();
    if inner.take(&poll_faults, "video-poll-500") {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServiceError",
            "oops",
        );
    }
    let base = json!({"id": id, "model": "seedance-fake", "created_at": 1_700_000_000, "updated_at": 1_700_000_010});
    let with = |mut v: Value, extra: Value| {
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        v
    };
    if task.polls < 2 || Inner::has(&found, "video-stuck") {
        return ok_json(with(base, json!({"status": "running"})));
    }
    if Inner::has(&found, "video-failed") {
        return ok_json(with(
            base,
            json!({"status": "failed", "error": {"code": "InternalServiceError", "message": "generation failed"}}),
        ));
    }
    if Inner::has(&found, "video-failed-moderation") {
        return ok_json(with(
            base,
            json!({"status": "failed", "error": {"code": "OutputVideoSensitiveContentDetected", "message": "The output video may contain sensitive information."}}),
        ));
    }
    if Inner::has(&found, "video-expired") {
        return ok_json(with(base, json!({"status": "expired"})));
    }
    if Inner::has(&found, "video-cancelled") {
        return ok_json(with(base, json!({"status": "cancelled"})));
    }
    let file = if Inner::has(&found, "video-url-expired") {
        "gone.mp4"
    } else if Inner::has(&found, "video-redirect") {
        "redirect.mp4"
    } else {
        "video.mp4"
    };
    ok_json(with(
        base,
        json!({
            "status": "succeeded",
            "content": {"video_url": format!("http://127.0.0.1:{}/files/{file}", inner.port)},
            "usage": {"completion_tokens": 100000, "total_tokens": 100000},
        }),
    ))
}

async fn file(
    State(inner): State<Arc<Inner>>,
    Path(name): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    record(&inner, &method, &uri, &headers, b"");
    match name.as_str() {
        "image.jpg" => ([(header::CONTENT_TYPE, "image/jpeg")], inner.image_jpeg.clone()).into_response(),
        "video.mp4" => ([(header::CONTENT_TYPE, "video/mp4")], inner.video_mp4.clone()).into_response(),
        // A link to another host (`localhost` is not on the tests' allowlist).
        "redirect.mp4" => (
            StatusCode::FOUND,
            [(header::LOCATION, format!("http://localhost:{}/files/video.mp4", inner.port))],
        )
            .into_response(),
        _ => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "application/xml")],
            "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>",
        )
            .into_response(),
    }
}

/// The runner environment that points every stage at the fakes.
pub fn provider_env(o: &mut glimvid_runner::Options) {
    let base = fakes().base_url();
    for (k, v) in [
        ("SCRIPT_PROVIDER", "deepseek"),
        ("IMAGE_PROVIDER", "ark"),
        ("VIDEO_PROVIDER", "ark"),
        ("DEEPSEEK_BASE_URL", base.as_str()),
        ("DEEPSEEK_API_KEY", DEEPSEEK_KEY),
        ("ARK_BASE_URL", base.as_str()),
        ("ARK_API_KEY", ARK_KEY),
        ("PROVIDER_ALLOW_HTTP_LOOPBACK", "true"),
        ("PROVIDER_DOWNLOAD_HOSTS", "127.0.0.1"),
        ("PROVIDER_CONNECT_TIMEOUT_MS", "500"),
        ("PROVIDER_REQUEST_TIMEOUT_MS", "1000"),
        ("PROVIDER_RETRY_BUDGET_MS", "5000"),
        ("PROVIDER_DOWNLOAD_TIMEOUT_MS", "5000"),
        ("VIDEO_POLL_SECONDS", "1"),
        // Long enough for ten jobs finishing Ark clips at once on two cores;
        // `video-stuck` waits it out.
        ("VIDEO_DEADLINE_SECONDS", "30"),
    ] {
        o.env_overrides.insert(k.into(), v.into());
    }
}
