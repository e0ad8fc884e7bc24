//! Fixed-window IP rate limiting on the credential routes.

use glimvid_tests::{Api, PASSWORD, unique_email};
use reqwest::StatusCode;
use serde_json::json;

/// Waits until the current minute has room for the whole burst, so the
/// burst cannot straddle two windows.
async fn start_of_window(seconds_needed: u64) {
    let now = glimvid::clock::epoch_seconds(glimvid::clock::now()) as u64;
    let into_window = now % 60;
    if into_window + seconds_needed >= 60 {
        tokio::time::sleep(std::time::Duration::from_secs(60 - into_window)).await;
    }
}

#[tokio::test]
async fn eleventh_login_in_a_minute_from_one_ip_gets_429() {
    start_of_window(30).await;
    let client = Api::new();
    let body = json!({"email": unique_email(), "password": PASSWORD});
    for i in 1..=10 {
        let reply = client.post("/auth/login", body.clone()).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "login {i}");
    }
    let eleventh = client.post("/auth/login", body.clone()).await;
    assert_eq!(eleventh.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(eleventh.error_code(), "rate_limited");
    let retry_after: u64 = eleventh.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");

    // Another client IP is not affected (for another address: this one has
    // had its 10 wrong passwords, which locks it from every IP; see
    // tests/data_safety.rs).
    let other = json!({"email": unique_email(), "password": PASSWORD});
    assert_eq!(
        Api::new().post("/auth/login", other).await.status,
        StatusCode::UNAUTHORIZED
    );
}
