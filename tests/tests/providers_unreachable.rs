//! A provider that cannot be reached (nothing listens on its port): each
//! delivery retries within its budget, then the stage gives up after its
//! attempts, and the job fails with its credits back.

mod providers_common;

use glimvid_tests::fakes;
use glimvid_tests::harness_with;
use providers_common::*;

fn options(o: &mut glimvid_runner::Options) {
    fakes::provider_env(o);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    o.env_overrides.insert(
        "DEEPSEEK_BASE_URL".into(),
        format!("http://127.0.0.1:{port}"),
    );
    o.env_overrides
        .insert("PROVIDER_RETRY_BUDGET_MS".into(), "1000".into());
}

#[tokio::test]
async fn an_unreachable_provider_fails_the_job_and_refunds() {
    harness_with(options);
    let case = start("Mug", 5).await;
    let job = ends_failed(&case, "script", "retries_exhausted").await;
    assert!(
        job["error"]["message"]
            .as_str()
            .unwrap()
            .contains("could not be reached"),
        "{job}"
    );
}
