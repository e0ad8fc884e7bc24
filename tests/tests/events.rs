//! The sample API Gateway events in `events/` go through the same entry
//! point Lambda uses (`glimvid::http::serve`), against the emulator.

use std::path::PathBuf;

use glimvid::App;
use glimvid::http::{Endpoint, serve};
use glimvid_tests::{harness, unique_email};
use serde_json::Value;

fn event(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn with_body(mut event: Value, edit: impl FnOnce(&mut Value)) -> Value {
    let mut body: Value = serde_json::from_str(event["body"].as_str().unwrap()).unwrap();
    edit(&mut body);
    event["body"] = Value::String(body.to_string());
    event
}

fn with_token(mut event: Value, token: &str) -> Value {
    event["headers"]["authorization"] = Value::String(format!("Bearer {token}"));
    event
}

async fn invoke(app: &App, endpoint: Endpoint, event: &Value) -> (u16, Value) {
    let req =
        lambda_http::request::from_str(&event.to_string()).expect("a valid API Gateway v2 event");
    let resp = serve(app, endpoint, req).await;
    let status = resp.status().as_u16();
    let body = serde_json::from_slice(resp.body().as_ref()).unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test]
async fn sample_events_drive_the_lambda_entry_point() {
    let app = App::new(
        harness().config.clone(),
        &glimvid::app::aws_sdk_config().await,
    );
    let email = unique_email();

    let register = with_body(event("auth-register.json"), |b| {
        b["email"] = Value::String(email.clone())
    });
    let (status, body) = invoke(&app, Endpoint::AuthRegister, &register).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["user"]["language"], "zh");

    let login = with_body(event("auth-login.json"), |b| {
        b["email"] = Value::String(email.clone())
    });
    let (status, body) = invoke(&app, Endpoint::AuthLogin, &login).await;
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().unwrap().to_owned();

    let (status, body) = invoke(
        &app,
        Endpoint::MeGet,
        &with_token(event("me-get.json"), &token),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["email"], email);

    let (status, body) = invoke(
        &app,
        Endpoint::MeUpdate,
        &with_token(event("me-update.json"), &token),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["training_opt_out"], true);

    // The placeholder token in the committed samples is not a session.
    let (status, _) = invoke(&app, Endpoint::MeGet, &event("me-get.json")).await;
    assert_eq!(status, 401);

    let (status, body) = invoke(
        &app,
        Endpoint::AuthRegister,
        &event("auth-register-under-16.json"),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["field"], "confirm_age_16");
}
