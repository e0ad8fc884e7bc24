//! The served OpenAPI description, the template and the running platform
//! agree: the same operations, each answered by the runner, and each
//! accepting an API key exactly where the spec says it does.

use std::collections::BTreeSet;

use glimvid_tests::{Api, harness, spec_operations};
use reqwest::{Method, StatusCode};
use serde_json::Value;

async fn served_spec() -> Value {
    let spec = Api::new().get("/openapi.json").await;
    assert_eq!(spec.status, StatusCode::OK);
    assert_eq!(spec.body["openapi"], "3.1.0");
    spec.body
}

fn template_routes() -> BTreeSet<(String, String, String)> {
    glimvid_runner::template::Template::load(&glimvid_runner::Options::repo_template())
        .expect("template")
        .http_routes()
        .expect("routes")
        .into_iter()
        .map(|r| (r.method, r.path, r.handler))
        .collect()
}

/// A path with every `{param}` filled with a value no record has.
fn concrete(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("closing brace") + start;
        out.push_str("0000000000000000000000000000dead");
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn spec_routes_are_the_template_routes_and_the_code_endpoints() {
    let spec = served_spec().await;
    let ops = spec_operations(&spec);
    assert_eq!(ops, template_routes(), "spec operations = template routes");
    let ids: BTreeSet<&str> = ops.iter().map(|(_, _, id)| id.as_str()).collect();
    let endpoints: BTreeSet<&str> = glimvid::http::Endpoint::ALL
        .iter()
        .map(|e| e.name())
        .collect();
    assert_eq!(ids, endpoints, "operationIds = the code's endpoints");
    // Every operation says how it is limited and, when it needs a caller,
    // how it refuses one.
    for (method, path, id) in &ops {
        let op = &spec["paths"][path][method.to_lowercase()];
        let responses = op["responses"].as_object().expect("responses");
        assert!(responses.contains_key("429"), "{id}: no 429");
        let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
        assert!(
            !secured || responses.contains_key("401"),
            "{id}: secured, no 401"
        );
        assert!(
            op["summary"].is_string() && op["description"].is_string(),
            "{id}"
        );
    }
}

#[tokio::test]
async fn the_runner_answers_every_operation_and_keys_work_only_where_the_spec_says() {
    let spec = served_spec().await;
    let ops = spec_operations(&spec);
    let client = reqwest::Client::new();
    // A well-formed key that was never issued: 401 where keys are accepted,
    // 403 where only a session is.
    let key = format!("glv_0123456789ab_{}", "A".repeat(43));
    for (method, path, id) in &ops {
        let op = &spec["paths"][path][method.to_lowercase()];
        let schemes: Vec<&str> = op["security"]
            .as_array()
            .map(|s| {
                s.iter()
                    .flat_map(|r| r.as_object().unwrap().keys().map(String::as_str))
                    .collect()
            })
            .unwrap_or_default();
        let url = format!("{}{}", harness().base_url, concrete(path));
        let response = client
            .request(Method::from_bytes(method.as_bytes()).unwrap(), &url)
            .header("x-forwarded-for", glimvid_tests::fresh_ip())
            .bearer_auth(&key)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .expect("request");
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_ne!(body["error"]["code"], "route_not_found", "{id}: not served");
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{id}: not served");
        if schemes.is_empty() {
            continue;
        }
        if schemes.contains(&"apiKey") {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{id} takes keys: {body}");
        } else {
            assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "{id} is session-only: {body}"
            );
            assert_eq!(body["error"]["code"], "api_key_not_allowed", "{id}");
        }
    }
}
