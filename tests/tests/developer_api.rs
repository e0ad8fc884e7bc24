//! What a shop's own systems build on: a personal API key used from curl,
//! end to end, and completion webhooks received on loopback, signed,
//! retried and refused where they must be.

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use glimvid_media::image::ImageFormat;
use glimvid_tests::media::photo;
use glimvid_tests::{Api, harness, harness_with};
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;

/// Webhooks may reach the tests' receivers on loopback (a local-run
/// setting the template lacks), and retries come after 1 s, 4 s, ...; a
/// key's own budget is lower than the template's so a test can spend it.
fn options(o: &mut glimvid_runner::Options) {
    for (k, v) in [
        ("WEBHOOK_ALLOW_LOOPBACK", "true"),
        ("WEBHOOK_RETRY_BASE_SECONDS", "1"),
        ("API_KEY_RATE_LIMIT_PER_MINUTE", &KEY_LIMIT.to_string()),
    ] {
        o.env_overrides.insert(k.into(), v.into());
    }
}

const KEY_LIMIT: usize = 100;

async fn signed_up() -> Api {
    harness_with(options);
    Api::new().signed_up().await.0
}

/// A new key, asked for from a fresh IP each time (key writes share the
/// sign-in routes' tight per-IP budget).
async fn new_key(me: &Api, name: &str) -> Value {
    let created = me
        .elsewhere()
        .post("/me/api-keys", json!({ "name": name }))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    created.body
}

/// curl, as a shop's script would run it: the status and the parsed body.
fn curl(ip: &str, key: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "-X", method, "-o", "-", "-w", "\n%{http_code}"])
        .args(["-H", &format!("Authorization: Bearer {key}")])
        .args(["-H", &format!("X-Forwarded-For: {ip}")])
        .arg(format!("{}{path}", harness().base_url));
    if let Some(body) = body {
        cmd.args(["-H", "Content-Type: application/json", "--data-binary"])
            .arg(body.to_string());
    }
    let out = cmd.output().expect("curl runs");
    assert!(
        out.status.success(),
        "curl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let (body, status) = text.rsplit_once('\n').expect("status line");
    let status: u16 = status.trim().parse().expect("status");
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body).unwrap_or_else(|_| panic!("non-JSON ({status}): {body}"))
    };
    (status, body)
}

#[tokio::test]
async fn a_key_makes_a_video_end_to_end_with_curl() {
    let me = signed_up().await;
    let created = new_key(&me, "shop sync").await;
    let key = created["key"].as_str().unwrap().to_owned();
    let ip = glimvid_tests::fresh_ip();

    let dir = tempdir();
    let file = dir.join("product.jpg");
    std::fs::write(&file, photo(1080, 1350, ImageFormat::Jpeg)).unwrap();
    let size = std::fs::metadata(&file).unwrap().len();

    let (status, ticket) = curl(
        &ip,
        &key,
        "POST",
        "/uploads",
        Some(json!({"content_type": "image/jpeg", "size_bytes": size})),
    );
    assert_eq!(status, 201, "{ticket}");
    let mut put = Command::new("curl");
    put.args(["-sS", "-f", "-X", "PUT", "--data-binary"])
        .arg(format!("@{}", file.display()));
    for (name, value) in ticket["headers"].as_object().unwrap() {
        put.args(["-H", &format!("{name}: {}", value.as_str().unwrap())]);
    }
    let put = put.arg(ticket["url"].as_str().unwrap()).output().unwrap();
    assert!(
        put.status.success(),
        "{}",
        String::from_utf8_lossy(&put.stderr)
    );
    let upload_id = ticket["upload_id"].as_str().unwrap();
    let (status, upload) = curl(
        &ip,
        &key,
        "POST",
        &format!("/uploads/{upload_id}/complete"),
        None,
    );
    assert_eq!(status, 200, "{upload}");

    let (status, job) = curl(
        &ip,
        &key,
        "POST",
        "/videos",
        Some(json!({
            "upload_id": upload_id,
            "title": "Linen tote",
            "description": "Hand-stitched linen tote with a leather strap.",
            "language": "en",
            "aspect_ratio": "9:16",
            "duration_s": 5
        })),
    );
    assert_eq!(status, 202, "{job}");
    let id = job["id"].as_str().unwrap().to_owned();
    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    let done = loop {
        let (status, job) = curl(&ip, &key, "GET", &format!("/videos/{id}"), None);
        assert_eq!(status, 200, "{job}");
        if !matches!(job["status"].as_str(), Some("queued" | "running")) {
            break job;
        }
        assert!(std::time::Instant::now() < deadline, "stuck: {job}");
        // Well inside the key's budget (KEY_LIMIT a minute).
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    assert_eq!(done["status"], "succeeded", "{done}");
    let video = reqwest::get(done["video_url"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(video.status(), StatusCode::OK);
    assert!(video.bytes().await.unwrap().len() > 10_000);
    let (status, credits) = curl(&ip, &key, "GET", "/credits", None);
    assert_eq!(status, 200, "{credits}");

    // The listing shows the key by its prefix, when it was last used, and
    // never the key itself.
    let listed = me.get("/me/api-keys").await;
    let row = &listed.body["items"][0];
    assert_eq!(row["prefix"], created["prefix"], "{}", listed.body);
    assert!(row["last_used_at"].is_string(), "{row}");
    assert!(!listed.body.to_string().contains(&key));
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_key_is_refused_on_account_security_routes_and_dies_when_revoked() {
    let me = signed_up().await;
    let created = new_key(&me, "ci").await;
    let key = created["key"].as_str().unwrap();
    let id = created["id"].as_str().unwrap();
    let ip = glimvid_tests::fresh_ip();

    for (method, path, body) in [
        (
            "POST",
            "/me/password",
            Some(json!({"current": glimvid_tests::PASSWORD, "new": "another long password"})),
        ),
        (
            "POST",
            "/me/email",
            Some(json!({"email": "x@example.com", "password": glimvid_tests::PASSWORD})),
        ),
        (
            "DELETE",
            "/me",
            Some(json!({"password": glimvid_tests::PASSWORD})),
        ),
        (
            "POST",
            "/me/api-keys",
            Some(json!({"name": "minted by a key"})),
        ),
        ("GET", "/me/api-keys", None),
        ("DELETE", &format!("/me/api-keys/{id}"), None),
        ("GET", "/me", None),
        ("POST", "/auth/logout", None),
    ] {
        let (status, body) = curl(&ip, key, method, path, body);
        assert_eq!(status, 403, "{method} {path}: {body}");
        assert_eq!(
            body["error"]["code"], "api_key_not_allowed",
            "{method} {path}"
        );
    }
    // The password still works: nothing above changed anything.
    let me_again = me.get("/me").await;
    assert_eq!(me_again.status, StatusCode::OK);
    assert_eq!(
        me.get("/me/api-keys").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let (status, _) = curl(&ip, key, "GET", "/videos", None);
    assert_eq!(status, 200);
    let revoked = me.elsewhere().delete(&format!("/me/api-keys/{id}")).await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    let (status, body) = curl(&ip, key, "GET", "/videos", None);
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "unauthenticated", "{body}");
    // A key that was never issued, or one altered by a character, is 401.
    let mut forged = key.to_owned();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(curl(&ip, &forged, "GET", "/videos", None).0, 401);

    // Keys die with the account.
    let other = new_key(&me, "second").await;
    let other_key = other["key"].as_str().unwrap();
    assert_eq!(curl(&ip, other_key, "GET", "/uploads", None).0, 200);
    assert_eq!(
        me.delete_account(glimvid_tests::PASSWORD).await.status,
        StatusCode::ACCEPTED
    );
    assert_eq!(curl(&ip, other_key, "GET", "/uploads", None).0, 401);
}

#[tokio::test]
async fn each_key_has_its_own_rate_limit_whatever_its_ips() {
    let me = signed_up().await;
    let key = new_key(&me, "busy").await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = new_key(&me, "quiet").await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let client = reqwest::Client::new();
    let get = |key: &str| {
        client
            .get(format!("{}/videos", harness().base_url))
            .bearer_auth(key)
            // A new IP each time: the per-IP limit never applies.
            .header("x-forwarded-for", glimvid_tests::fresh_ip())
            .send()
    };
    // At most one window boundary falls inside the burst, so the budget
    // runs out within two windows' worth.
    let mut refused = None;
    for n in 1..=2 * KEY_LIMIT + 1 {
        let response = get(&key).await.unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            refused = Some((n, response));
            break;
        }
        assert_eq!(response.status(), StatusCode::OK);
    }
    let (n, response) = refused.expect("the key's budget ran out");
    // A fresh key: no window can refuse before it saw more than the limit.
    assert!(n > KEY_LIMIT, "refused after only {n}");
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // Another key of the same account, and the session, still work.
    assert_eq!(get(&other).await.unwrap().status(), StatusCode::OK);
    assert_eq!(me.elsewhere().get("/videos").await.status, StatusCode::OK);
}

#[tokio::test]
async fn keys_are_limited_per_account() {
    let me = signed_up().await;
    for n in 0..glimvid::accounts::api_keys::MAX_KEYS {
        new_key(&me, &format!("key {n}")).await;
    }
    let refused = me
        .elsewhere()
        .post("/me/api-keys", json!({"name": "one too many"}))
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert_eq!(refused.error_code(), "api_key_limit");
    let bad = me
        .elsewhere()
        .post("/me/api-keys", json!({"name": "  "}))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    // The export lists them, without their secrets.
    let (_, export) = me.export().await;
    let keys = export["api_keys"].as_array().unwrap();
    assert_eq!(keys.len() as i64, glimvid::accounts::api_keys::MAX_KEYS);
    assert!(!export.to_string().contains("secret_hash"));
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("glimvid-curl-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What a receiver saw: each request's headers and body.
#[derive(Default)]
struct Inbox {
    requests: Vec<(HeaderMap, String)>,
    /// Answer 500 to this many requests first.
    fail_first: usize,
}

type Shared = Arc<Mutex<Inbox>>;

async fn receive(State(inbox): State<Shared>, headers: HeaderMap, body: String) -> AxumStatus {
    let mut inbox = inbox.lock().unwrap();
    inbox.requests.push((headers, body));
    if inbox.requests.len() <= inbox.fail_first {
        AxumStatus::INTERNAL_SERVER_ERROR
    } else {
        AxumStatus::OK
    }
}

/// A webhook receiver on a free loopback port; stops with the test.
async fn receiver(fail_first: usize) -> (String, Shared) {
    let inbox: Shared = Arc::new(Mutex::new(Inbox {
        fail_first,
        ..Inbox::default()
    }));
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(inbox.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, inbox)
}

/// Checks a delivery as a receiver must: the signature over `{t}.{body}`
/// with the endpoint's secret, and a fresh timestamp.
fn verify(secret: &str, headers: &HeaderMap, body: &str) -> Value {
    let header = headers["glimvid-signature"].to_str().unwrap();
    let (t, v1) = header.split_once(',').unwrap();
    let t: i64 = t.strip_prefix("t=").unwrap().parse().unwrap();
    let v1 = v1.strip_prefix("v1=").unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    mac.verify_slice(&hex::decode(v1).unwrap())
        .expect("the signature matches the endpoint's secret");
    let now = glimvid::clock::epoch_seconds(glimvid::clock::now());
    assert!((now - t).abs() < 300, "stale timestamp {t}");
    let event: Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        headers["glimvid-delivery"].to_str().unwrap(),
        event["id"].as_str().unwrap()
    );
    event
}

async fn register(me: &Api, url: &str) -> (String, String) {
    let hook = me.post("/me/webhooks", json!({ "url": url })).await;
    assert_eq!(hook.status, StatusCode::CREATED, "{}", hook.body);
    (
        hook.body["id"].as_str().unwrap().to_owned(),
        hook.body["secret"].as_str().unwrap().to_owned(),
    )
}

async fn video(me: &Api) -> String {
    glimvid_tests::grant(&me.user_id().await, 1).await;
    let upload = me
        .completed_upload(photo(1080, 1080, ImageFormat::Jpeg), "image/jpeg")
        .await;
    let job = me
        .post(
            "/videos",
            json!({
                "upload_id": upload,
                "title": "Ceramic mug",
                "description": "Stoneware mug, glazed by hand.",
                "language": "en",
                "aspect_ratio": "1:1",
                "duration_s": 5
            }),
        )
        .await;
    assert_eq!(job.status, StatusCode::ACCEPTED, "{}", job.body);
    job.body["id"].as_str().unwrap().to_owned()
}

async fn wait_for(inbox: &Shared, count: usize, limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    while inbox.lock().unwrap().requests.len() < count {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {count} deliveries arrived",
            inbox.lock().unwrap().requests.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_receiver_gets_one_signed_delivery_per_finished_job() {
    let me = signed_up().await;
    let (url, inbox) = receiver(0).await;
    let (hook_id, secret) = register(&me, &url).await;

    let made = video(&me).await;
    let cancelled = video(&me).await;
    let stopped = me
        .post(&format!("/videos/{cancelled}/cancel"), json!({}))
        .await;
    assert_eq!(stopped.status, StatusCode::OK, "{}", stopped.body);
    let done = me.job_when_done(&made, Duration::from_secs(300)).await;
    assert_eq!(done.body["status"], "succeeded", "{}", done.body);

    wait_for(&inbox, 2, Duration::from_secs(60)).await;
    // Anything late or duplicated would arrive within a few seconds more.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let requests = inbox.lock().unwrap().requests.clone();
    assert_eq!(requests.len(), 2, "one delivery per job");
    let mut events: Vec<(String, String)> = requests
        .iter()
        .map(|(headers, body)| {
            let event = verify(&secret, headers, body);
            assert!(event["job"]["id"].as_str().is_some(), "{event}");
            assert!(
                event["job"].get("video_url").is_none(),
                "no expiring links: {event}"
            );
            (
                event["job"]["id"].as_str().unwrap().to_owned(),
                event["event"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    events.sort();
    let mut expected = vec![
        (made.clone(), "job.succeeded".to_owned()),
        (cancelled.clone(), "job.cancelled".to_owned()),
    ];
    expected.sort();
    assert_eq!(events, expected);
    let succeeded = requests
        .iter()
        .map(|(_, b)| serde_json::from_str::<Value>(b).unwrap())
        .find(|e| e["event"] == "job.succeeded")
        .unwrap();
    assert_eq!(succeeded["job"]["status"], "succeeded");
    assert!(succeeded["job"]["public_path"].is_string(), "{succeeded}");

    // The sweeper reconciles the ended jobs and announces their ends again
    // (against a notice lost on its way): nothing new for this endpoint, and
    // nothing for one registered after the jobs ended.
    let (late_url, late_inbox) = receiver(0).await;
    register(&me, &late_url).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let report = glimvid_tests::run_sweeper().await;
    assert!(report.jobs_reconciled >= 2, "{report:?}");
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(inbox.lock().unwrap().requests.len(), 2, "announced once");
    assert_eq!(
        late_inbox.lock().unwrap().requests.len(),
        0,
        "not before it existed"
    );

    let deliveries = me.get(&format!("/me/webhooks/{hook_id}/deliveries")).await;
    let items = deliveries.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{}", deliveries.body);
    for d in items {
        assert_eq!(d["status"], "delivered", "{d}");
        assert_eq!(d["attempts"], 1, "{d}");
        assert_eq!(d["last_status_code"], 200, "{d}");
    }
}

#[tokio::test]
async fn a_receiver_that_fails_twice_gets_the_third_try() {
    let me = signed_up().await;
    let (url, inbox) = receiver(2).await;
    let (hook_id, secret) = register(&me, &url).await;
    let job = video(&me).await;
    let stopped = me.post(&format!("/videos/{job}/cancel"), json!({})).await;
    assert_eq!(stopped.status, StatusCode::OK, "{}", stopped.body);

    // Backoff 1 s, then 4 s (WEBHOOK_RETRY_BASE_SECONDS=1, x4 each try).
    wait_for(&inbox, 3, Duration::from_secs(90)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let requests = inbox.lock().unwrap().requests.clone();
    assert_eq!(requests.len(), 3, "no try after the one that succeeded");
    let bodies: Vec<&String> = requests.iter().map(|(_, b)| b).collect();
    assert!(
        bodies.iter().all(|b| *b == bodies[0]),
        "every try sends the same event"
    );
    for (headers, body) in &requests {
        let event = verify(&secret, headers, body);
        assert_eq!(event["event"], "job.cancelled");
        assert_eq!(event["job"]["id"], job.as_str());
    }
    let deliveries = me.get(&format!("/me/webhooks/{hook_id}/deliveries")).await;
    let d = &deliveries.body["items"][0];
    assert_eq!(d["status"], "delivered", "{d}");
    assert_eq!(d["attempts"], 3, "{d}");
    assert_eq!(d["last_status_code"], 200, "{d}");
    assert!(d["last_error"].is_null(), "{d}");
}

#[tokio::test]
async fn webhooks_must_point_at_public_https_hosts() {
    let me = signed_up().await;
    for url in [
        "https://10.0.0.7/hook",
        "https://192.168.1.20/hook",
        "https://172.16.0.1/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[fd00::1]/hook",
        "https://[fe80::1]/hook",
        "https://100.64.1.1/hook",
        "https://0.0.0.0/hook",
        "http://93.184.216.34/hook",
        "ftp://93.184.216.34/hook",
        "https://user:pass@93.184.216.34/hook",
        "not a url",
    ] {
        let refused = me.post("/me/webhooks", json!({ "url": url })).await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{url}: {}",
            refused.body
        );
        assert_eq!(refused.error_code(), "webhook_url_invalid", "{url}");
    }
    assert_eq!(me.get("/me/webhooks").await.body["items"], json!([]));
    // A public address is accepted (no lookup needed for a literal), up to
    // the limit; and the listing never shows the secret.
    for n in 0..glimvid::webhooks::MAX_WEBHOOKS {
        register(&me, &format!("https://93.184.216.34/hook/{n}")).await;
    }
    let over = me
        .post(
            "/me/webhooks",
            json!({"url": "https://93.184.216.34/hook/x"}),
        )
        .await;
    assert_eq!(over.status, StatusCode::CONFLICT, "{}", over.body);
    assert_eq!(over.error_code(), "webhook_limit");
    let listed = me.get("/me/webhooks").await;
    assert!(
        !listed.body.to_string().contains("whsec_"),
        "{}",
        listed.body
    );
}
