//! schemathesis against the local platform, signed in, over every
//! operation the served spec describes: no 5xx, every response as the spec
//! says (status, content type, headers, body schema), and input the spec
//! forbids refused.
//!
//! The rate limits are lifted for this run only: the fuzzer sends thousands
//! of requests a minute from one address, and what it checks is what each
//! operation answers, not the budget (the 429s are in the spec and tested in
//! `rate_limit.rs`).

use std::collections::BTreeSet;
use std::process::Command;

use glimvid_tests::{Api, harness, harness_with};
use serde_json::Value;
/// Payments are on (against the Stripe sandbox), so the billing routes
/// answer as they do on AWS rather than 503.
fn options(o: &mut glimvid_runner::Options) {
    glimvid_tests::with_payments(o);
    for var in [
        "AUTH_RATE_LIMIT_PER_MINUTE",
        "API_RATE_LIMIT_PER_MINUTE",
        "API_KEY_RATE_LIMIT_PER_MINUTE",
    ] {
        o.env_overrides.insert(var.into(), "1000000".into());
    }
}

const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_headers_conformance,response_schema_conformance,negative_data_rejection";

/// `./scripts/test` installs it and names it in GLIMVID_SCHEMATHESIS.
fn schemathesis() -> String {
    std::env::var("GLIMVID_SCHEMATHESIS").unwrap_or_else(|_| {
        let found = Command::new("schemathesis").arg("--version").output();
        assert!(
            found.is_ok_and(|o| o.status.success()),
            "schemathesis is not installed: run ./scripts/test, or set GLIMVID_SCHEMATHESIS"
        );
        "schemathesis".to_owned()
    })
}

/// One schemathesis run over the operations `filter` picks; panics with
/// its report when it finds anything. Returns the operations it tested
/// ("GET /videos/{id}") and how many the spec it loaded has.
///
/// The spec goes to schemathesis as a file, written from what the platform
/// serves: loaded from its URL, schemathesis leaves out the operation that
/// serves it.
fn fuzz(spec: &Value, token: &str, phases: &str, filter: &[&str]) -> (BTreeSet<String>, u64) {
    let base = &harness().base_url;
    let report = std::env::temp_dir().join(format!("glimvid-fuzz-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&report).expect("report directory");
    let spec_file = report.join("openapi.json");
    std::fs::write(&spec_file, spec.to_string()).expect("spec file");
    let out = Command::new(schemathesis())
        .arg("run")
        .arg(&spec_file)
        .args(["--url", base])
        .args(["--checks", CHECKS])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args([
            "--max-examples",
            "30",
            "--seed",
            "20261202",
            "--workers",
            "2",
        ])
        .args(["--phases", phases])
        .args(["--request-timeout", "30", "--max-redirects", "0"])
        .args(["--suppress-health-check", "too_slow,filter_too_much"])
        .args(["--report", "ndjson", "--report-dir"])
        .arg(&report)
        .args(filter)
        // Its cache of past crashes would land in the crate otherwise.
        .current_dir(&report)
        .env("SCHEMATHESIS_TELEMETRY", "false")
        .env("NO_COLOR", "1")
        .output()
        .expect("schemathesis runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let events: Vec<Value> = std::fs::read_dir(&report)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|f| f.path().extension().is_some_and(|e| e == "ndjson"))
        .filter_map(|f| std::fs::read_to_string(f.path()).ok())
        .flat_map(|text| {
            text.lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .collect::<Vec<_>>()
        })
        .collect();
    let _ = std::fs::remove_dir_all(&report);
    assert!(
        out.status.success(),
        "schemathesis found problems:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{stdout}");
    let total = events
        .iter()
        .find_map(|e| {
            e.pointer("/LoadingFinished/statistic/operations/total")?
                .as_u64()
        })
        .expect("the report says how many operations the spec has");
    let tested = events
        .iter()
        .filter_map(|e| e.pointer("/ScenarioFinished/recorder/label")?.as_str())
        .map(str::to_owned)
        .collect();
    (tested, total)
}

#[tokio::test]
async fn schemathesis_finds_no_server_error_and_no_spec_violation() {
    harness_with(options);
    // A password no example in the spec carries: the examples (the docs'
    // curl lines) would otherwise change it or delete the account.
    let email = glimvid_tests::unique_email();
    let password = format!("fuzz-{}", uuid::Uuid::new_v4());
    let registered = Api::new()
        .post(
            "/auth/register",
            serde_json::json!({"email": email, "password": password, "confirm_age_16": true}),
        )
        .await;
    assert_eq!(
        registered.status,
        reqwest::StatusCode::CREATED,
        "{}",
        registered.body
    );
    let me = Api::new().with_token(registered.body["token"].as_str().expect("token"));
    me.verify_by_mail(&email).await;
    glimvid_tests::grant(&me.user_id().await, 100).await;
    let token = me.token.clone().expect("signed in");
    // Signing out ends the session every other operation uses: it runs
    // last, on its own.
    let spec = Api::new().get("/openapi.json").await.body;
    let (served, token_for_all) = (spec.clone(), token.clone());
    let (mut tested, total) = tokio::task::spawn_blocking(move || {
        // Stateful: sequences along the spec's links (an upload made, then
        // completed and deleted; a video made, then read, cancelled, deleted).
        let phases = "examples,coverage,fuzzing,stateful";
        let rest = ["--exclude-operation-id", "auth-logout"];
        fuzz(&served, &token_for_all, phases, &rest)
    })
    .await
    .expect("fuzz run");
    let served = spec.clone();
    let (last, _) = tokio::task::spawn_blocking(move || {
        let phases = "examples,coverage,fuzzing";
        fuzz(
            &served,
            &token,
            phases,
            &["--include-operation-id", "auth-logout"],
        )
    })
    .await
    .expect("fuzz run");
    tested.extend(last);
    let every: BTreeSet<String> = glimvid_tests::spec_operations(&spec)
        .into_iter()
        .map(|(method, path, _)| format!("{method} {path}"))
        .collect();
    assert_eq!(
        total,
        every.len() as u64,
        "schemathesis loaded every operation"
    );
    // The stateful phase reports its sequences under labels of its own.
    let missed: Vec<&String> = every.difference(&tested).collect();
    assert!(missed.is_empty(), "not fuzzed: {missed:?}");
}
