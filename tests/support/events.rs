//! The sample events in `events/` (one per function, named by its handler)
//! and one account's walk through all of them. The walk runs twice: through
//! the handlers in process (`tests/events.rs`) and through the built
//! artifacts under a Runtime API (`tests/boot.rs`), so each event is used by
//! both, and both must give the same answers.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use serde_json::{Value, json};

/// The committed sample, placeholders and all.
pub fn sample(handler: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(format!("{handler}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs one function on one event and returns what Lambda would get back:
/// an API Gateway v2 response for a route, the handler's JSON otherwise.
pub trait Invoker {
    fn invoke<'a>(
        &'a mut self,
        handler: &'a str,
        event: Value,
    ) -> Pin<Box<dyn Future<Output = Value> + Send + 'a>>;

    /// Stops the video's pipeline so the job stays live for the routes that
    /// act on it (nothing else would hold it still).
    fn hold<'a>(&'a mut self, video_id: &'a str) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;
}

/// Values the walk learns and writes into later events' placeholders.
#[derive(Default)]
struct Learned(BTreeMap<&'static str, String>);

impl Learned {
    fn fill(&self, event: &Value) -> Value {
        let mut text = event.to_string();
        for (placeholder, value) in &self.0 {
            text = text.replace(placeholder, value);
        }
        serde_json::from_str(&text).expect("a filled event stays JSON")
    }
}

const TOKEN: &str = "REPLACE_WITH_TOKEN_FROM_LOGIN_RESPONSE_";
const OLD_PASSWORD: &str = "correct horse battery";

fn edit_body(mut event: Value, edit: impl FnOnce(&mut Value)) -> Value {
    let mut body: Value =
        serde_json::from_str(event["body"].as_str().expect("a body")).expect("a JSON body");
    edit(&mut body);
    event["body"] = Value::String(body.to_string());
    event
}

/// An HTTP answer: status and parsed body.
fn http_reply(handler: &str, reply: &Value) -> (u16, Value) {
    let status = reply["statusCode"]
        .as_u64()
        .unwrap_or_else(|| panic!("{handler}: not an API Gateway response: {reply}"));
    let body = reply["body"]
        .as_str()
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    (status as u16, body)
}

/// One account, registered through to deleted and purged, every function
/// once or more on its sample event. Returns what each step answered.
pub async fn walk(invoker: &mut dyn Invoker, email: &str) -> Vec<(String, u16)> {
    let mut learned = Learned::default();
    // The samples' client is one documentation address; each walk is its
    // own client, so the per-IP rate limits see them apart.
    learned.0.insert("203.0.113.10", crate::fresh_ip());
    let mut seen = Vec::new();
    let new_password = sample("me-password");
    let new_password: Value =
        serde_json::from_str(new_password["body"].as_str().expect("a body")).expect("JSON");
    let new_password = new_password["new"].as_str().expect("new").to_owned();

    macro_rules! http {
        ($handler:expr, $event:expr, $status:expr) => {{
            let handler: &str = $handler;
            let reply = invoker.invoke(handler, learned.fill(&$event)).await;
            let (status, body) = http_reply(handler, &reply);
            assert_eq!(status, $status, "{handler}: {body}");
            seen.push((handler.to_owned(), status));
            body
        }};
    }
    let with_email = |event: Value, password: &str| {
        let password = password.to_owned();
        edit_body(event, |b| {
            b["email"] = json!(email);
            b["password"] = json!(password);
        })
    };
    macro_rules! log_in {
        ($password:expr) => {{
            let session = http!(
                "auth-login",
                with_email(sample("auth-login"), $password),
                200
            );
            learned
                .0
                .insert(TOKEN, session["token"].as_str().expect("token").into());
        }};
    }

    let registered = http!(
        "auth-register",
        with_email(sample("auth-register"), OLD_PASSWORD),
        201
    );
    assert_eq!(registered["user"]["email_verified"], false);
    learned
        .0
        .insert(TOKEN, registered["token"].as_str().expect("token").into());
    // Sign-up mailed a link a moment ago: the next is a minute away.
    http!(
        "auth-verify-email-resend",
        sample("auth-verify-email-resend"),
        429
    );
    log_in!(OLD_PASSWORD);
    let me = http!("me-get", sample("me-get"), 200);
    assert_eq!(me["email"], email);
    learned.0.insert(
        "REPLACE_WITH_USER_ID",
        me["id"].as_str().expect("id").into(),
    );
    // The mailer, given a notice to send a link and one it cannot read
    // (dropped: no retry can help).
    let mailed = invoker
        .invoke("mailer", learned.fill(&sample("mailer")))
        .await;
    assert_eq!(mailed, json!({"batchItemFailures": []}), "mailer");
    seen.push(("mailer".into(), 200));
    // The sample's link names nothing.
    let unknown = http!("auth-verify-email", sample("auth-verify-email"), 400);
    assert_eq!(unknown["error"]["code"], "token_invalid");
    let unknown = http!(
        "auth-password-reset-confirm",
        sample("auth-password-reset-confirm"),
        400
    );
    assert_eq!(unknown["error"]["code"], "token_invalid");
    let unknown = http!("email-unsubscribe", sample("email-unsubscribe"), 400);
    assert_eq!(unknown["error"]["code"], "token_invalid");
    // The link the mailer sent: the address verified, the trial granted.
    learned.0.insert(
        "REPLACE_WITH_LINK_TOKEN_FROM_AN_EMAIL_0000",
        crate::mail::wait_for_link(email, "#/verify?token=").await,
    );
    let verified = http!("auth-verify-email", sample("auth-verify-email"), 200);
    assert_eq!(verified["trial_granted"], true, "{verified}");
    let reset = http!(
        "auth-password-reset",
        edit_body(sample("auth-password-reset"), |b| b["email"] = json!(email)),
        202
    );
    assert_eq!(reset["status"], "sent_if_registered");
    learned
        .0
        .insert("REPLACE_WITH_NEW_EMAIL", format!("moved-{email}"));
    let pending = http!("me-email", sample("me-email"), 202);
    assert_eq!(pending["pending_email"], format!("moved-{email}"));

    let version = format!("v{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    learned
        .0
        .insert("REPLACE_WITH_POLICY_VERSION", version.clone());
    learned.0.insert(
        "REPLACE_WITH_EFFECTIVE_DATE",
        glimvid::clock::rfc3339(
            glimvid::clock::now() + std::time::Duration::from_secs(30 * 86_400),
        ),
    );
    let published = invoker
        .invoke("policy-publish", learned.fill(&sample("policy-publish")))
        .await;
    assert_eq!(published["version"], version.as_str(), "{published}");
    seen.push(("policy-publish".into(), 200));
    let policy = http!("policy-get", sample("policy-get"), 200);
    assert_eq!(policy["upcoming"]["version"], version.as_str(), "{policy}");
    let acked = http!("me-policy-ack", sample("me-policy-ack"), 200);
    assert_eq!(acked["policy_ack"], version.as_str());
    let updated = http!("me-update", sample("me-update"), 200);
    assert_eq!(updated["training_opt_out"], true);
    let credits = http!("credits-get", sample("credits-get"), 200);
    assert!(credits["balance"].as_i64().is_some(), "{credits}");
    let packs = http!("credits-packs", sample("credits-packs"), 200);
    assert!(
        !packs["packs"].as_array().expect("packs").is_empty(),
        "{packs}"
    );
    assert!(
        !packs["plans"].as_array().expect("plans").is_empty(),
        "{packs}"
    );
    // Checkout goes to Stripe (the sandbox); nothing is paid yet, so there
    // is no plan, no payment and no customer for a portal.
    let checkout = http!("billing-checkout", sample("billing-checkout"), 200);
    assert!(
        checkout["url"]
            .as_str()
            .is_some_and(|u| u.contains("/c/pay/cs_")),
        "{checkout}"
    );
    let plan = http!("billing-subscription", sample("billing-subscription"), 200);
    assert_eq!(plan, json!({"subscription": null}));
    let invoices = http!("billing-invoices", sample("billing-invoices"), 200);
    assert_eq!(invoices, json!({"invoices": []}));
    let portal = http!("billing-portal", sample("billing-portal"), 409);
    assert_eq!(portal["error"]["code"], "no_billing_account", "{portal}");

    let ticket = http!("uploads-create", sample("uploads-create"), 201);
    assert_eq!(ticket["method"], "PUT");
    learned.0.insert(
        "REPLACE_WITH_UPLOAD_ID",
        ticket["upload_id"].as_str().expect("upload_id").into(),
    );
    let uploads = http!("uploads-list", sample("uploads-list"), 200);
    assert_eq!(
        uploads["items"].as_array().map(Vec::len),
        Some(1),
        "{uploads}"
    );
    // Nothing was PUT to the URL.
    let missing = http!("uploads-complete", sample("uploads-complete"), 409);
    assert_eq!(missing["error"]["code"], "upload_missing");
    http!("uploads-delete", sample("uploads-delete"), 204);

    let video = http!("videos-create", sample("videos-create"), 202);
    let video_id = video["id"].as_str().expect("id").to_owned();
    invoker.hold(&video_id).await;
    learned.0.insert("REPLACE_WITH_VIDEO_ID", video_id.clone());
    let videos = http!("videos-list", sample("videos-list"), 200);
    assert_eq!(videos["items"][0]["id"], video_id.as_str());
    let got = http!("videos-get", sample("videos-get"), 200);
    assert_eq!(got["id"], video_id.as_str());
    assert_eq!(
        (&got["music"], &got["display_price"], &got["url"]),
        (
            &json!("calm"),
            &json!("$89"),
            &json!("shop.example.com/lamp")
        ),
        "{got}"
    );
    let cancelled = http!("videos-cancel", sample("videos-cancel"), 200);
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    // Never published: the sample's public id names nothing.
    let public = http!("public-video", sample("public-video"), 404);
    assert_eq!(public["error"]["code"], "not_found", "{public}");

    // The stages, given messages for the ended job: the first is done with,
    // the second is not a stage message (dropped, it can never succeed),
    // the third names a key longer than DynamoDB accepts (2048 bytes), which
    // fails and is reported for redelivery.
    for stage in ["script", "enhance", "video", "finalize"] {
        let handler = format!("worker-{stage}");
        let mut event = learned.fill(&sample(&handler));
        let mut bad = event["Records"][0].clone();
        bad["messageId"] = json!(format!("{stage}-unreadable-key"));
        bad["body"] = json!(
            json!({"job_id": "j".repeat(4096), "stage": stage, "task_token": "AQCEAAAAKgAAAAMAAAAAboot"})
                .to_string()
        );
        event["Records"].as_array_mut().expect("Records").push(bad);
        let reply = invoker.invoke(&handler, event).await;
        assert_eq!(
            reply,
            json!({"batchItemFailures": [{"itemIdentifier": format!("{stage}-unreadable-key")}]}),
            "{handler}"
        );
        seen.push((handler, 200));
    }
    http!("videos-delete", sample("videos-delete"), 204);

    // Unsigned by the provider: refused before anything is read.
    let refused = http!("billing-webhook", sample("billing-webhook"), 400);
    assert!(refused["error"]["code"].is_string(), "{refused}");

    let started = http!("me-exports-create", sample("me-exports-create"), 202);
    assert_eq!(started["status"], "pending", "{started}");
    learned.0.insert(
        "REPLACE_WITH_EXPORT_ID",
        started["id"].as_str().expect("id").into(),
    );
    // The worker, given the queued export (the queue's own delivery may
    // race it: one of the two records the file, the other's copy goes).
    let built = invoker
        .invoke("export-worker", learned.fill(&sample("export-worker")))
        .await;
    assert_eq!(built, json!({"batchItemFailures": []}), "export-worker");
    seen.push(("export-worker".into(), 200));
    let export = http!("me-exports-get", sample("me-exports-get"), 200);
    assert_eq!(export["status"], "ready", "{export}");
    assert!(export["url"].is_string(), "{export}");
    let listed = http!("me-exports-list", sample("me-exports-list"), 200);
    assert_eq!(listed["items"][0]["id"], started["id"], "{listed}");
    let spec = http!("openapi-get", sample("openapi-get"), 200);
    assert_eq!(spec["openapi"], "3.1.0", "{spec}");

    // A personal API key: shown once, listed by its prefix, revoked.
    let key = http!("api-keys-create", sample("api-keys-create"), 201);
    let id = key["id"].as_str().expect("id").to_owned();
    assert_eq!(
        key["key"]
            .as_str()
            .map(|k| k.starts_with(&format!("glv_{id}_"))),
        Some(true),
        "{key}"
    );
    learned.0.insert("REPLACE_WITH_API_KEY_ID", id);
    let keys = http!("api-keys-list", sample("api-keys-list"), 200);
    assert_eq!(keys["items"][0]["prefix"], key["prefix"], "{keys}");
    assert!(keys["items"][0].get("key").is_none(), "{keys}");

    // A webhook at a public address (no lookup needed), its deliveries, and
    // the worker given a delivery nothing recorded (settled: dropped).
    let hook = http!("webhooks-create", sample("webhooks-create"), 201);
    assert_eq!(
        hook["secret"].as_str().map(|s| s.starts_with("whsec_")),
        Some(true),
        "{hook}"
    );
    learned.0.insert(
        "REPLACE_WITH_WEBHOOK_ID",
        hook["id"].as_str().expect("id").into(),
    );
    let hooks = http!("webhooks-list", sample("webhooks-list"), 200);
    assert_eq!(hooks["items"][0]["id"], hook["id"], "{hooks}");
    assert!(hooks["items"][0].get("secret").is_none(), "{hooks}");
    let deliveries = http!("webhooks-deliveries", sample("webhooks-deliveries"), 200);
    assert_eq!(deliveries["items"], json!([]), "{deliveries}");
    let sent = invoker
        .invoke("webhook-worker", learned.fill(&sample("webhook-worker")))
        .await;
    assert_eq!(sent, json!({"batchItemFailures": []}), "webhook-worker");
    seen.push(("webhook-worker".into(), 200));
    http!("webhooks-delete", sample("webhooks-delete"), 204);
    http!("webhooks-delete", sample("webhooks-delete"), 404);
    http!("api-keys-delete", sample("api-keys-delete"), 204);
    http!("api-keys-delete", sample("api-keys-delete"), 404);

    http!("me-password", sample("me-password"), 204);
    log_in!(&new_password);
    http!("auth-logout", sample("auth-logout"), 204);
    http!("me-get", sample("me-get"), 401);
    log_in!(&new_password);
    let deleting = http!("me-delete", sample("me-delete"), 202);
    assert_eq!(deleting["status"], "deleting");

    let report = invoker.invoke("sweeper", sample("sweeper")).await;
    assert_eq!(report["complete"].as_bool(), Some(true), "{report}");
    assert!(report["purges_finished"].as_u64().is_some(), "{report}");
    seen.push(("sweeper".into(), 200));
    seen
}
