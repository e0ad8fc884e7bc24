//! Every sample event in `events/` through the entry points Lambda calls
//! (`glimvid::http::serve`, each queue consumer's batch handler as the
//! runner's event-source mapping calls it, `sweeper::run`), in process,
//! with each function's own role and call audit. `boot.rs` walks the same
//! events through the built artifacts.

use std::future::Future;
use std::pin::Pin;

use glimvid::http::{Endpoint, serve};
use glimvid_runner::mapping::Consumer;
use glimvid_tests::artifacts::function_of;
use glimvid_tests::events::{Invoker, sample, walk};
use glimvid_tests::{for_the_walk, function_app, harness, harness_with, unique_email};
use serde_json::{Value, json};

struct InProcess;

impl Invoker for InProcess {
    fn invoke<'a>(
        &'a mut self,
        handler: &'a str,
        event: Value,
    ) -> Pin<Box<dyn Future<Output = Value> + Send + 'a>> {
        Box::pin(async move {
            let app = function_app(&function_of(handler).spec.logical_id).await;
            if let Some(endpoint) = Endpoint::from_name(handler) {
                let req = lambda_http::request::from_str(&event.to_string())
                    .unwrap_or_else(|e| panic!("{handler}: not an API Gateway v2 event: {e}"));
                let resp = serve(&app, endpoint, req).await;
                let body = String::from_utf8_lossy(resp.body().as_ref()).into_owned();
                json!({"statusCode": resp.status().as_u16(), "body": body})
            } else if let Some(consumer) = Consumer::from_handler(handler) {
                let event = serde_json::from_value(event)
                    .unwrap_or_else(|e| panic!("{handler}: not an SQS event: {e}"));
                serde_json::to_value(consumer.handle(&app, event).await).expect("a batch response")
            } else if handler == glimvid::policy::PUBLISH_HANDLER {
                let version = glimvid::policy::publish_event(&app, event)
                    .await
                    .unwrap_or_else(|e| panic!("{handler}: {e}"));
                serde_json::to_value(version).expect("a version")
            } else {
                assert_eq!(handler, glimvid_runner::SWEEPER_HANDLER);
                serde_json::to_value(glimvid::sweeper::run(&app).await.expect("sweeper run"))
                    .expect("a report")
            }
        })
    }

    fn hold<'a>(&'a mut self, video_id: &'a str) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(glimvid_tests::stop_pipeline(video_id))
    }
}

#[tokio::test]
async fn every_sample_event_drives_its_entry_point() {
    harness_with(for_the_walk);
    let seen = walk(&mut InProcess, &unique_email()).await;
    let mut binaries: Vec<&str> = seen.iter().map(|(b, _)| b.as_str()).collect();
    binaries.sort_unstable();
    binaries.dedup();
    assert_eq!(
        binaries,
        glimvid_tests::artifacts::all_handlers(),
        "the walk covers every function"
    );
    for function in harness().functions.keys() {
        assert_eq!(glimvid_tests::refused_calls(function), vec![], "{function}");
    }
}

/// As committed, a sample's token is a placeholder, not a session.
#[tokio::test]
async fn the_samples_as_committed_are_refused_cleanly() {
    harness_with(for_the_walk);
    for f in harness().functions.values() {
        let event = sample(&f.spec.handler);
        if event["headers"]["authorization"].is_null() {
            continue;
        }
        let reply = InProcess.invoke(&f.spec.handler, event).await;
        assert_eq!(reply["statusCode"], 401, "{}: {reply}", f.spec.handler);
    }
    let reply = InProcess
        .invoke("auth-register", sample("auth-register-under-16"))
        .await;
    assert_eq!(reply["statusCode"], 400, "{reply}");
    let body: Value = serde_json::from_str(reply["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["error"]["field"], "confirm_age_16");
}
