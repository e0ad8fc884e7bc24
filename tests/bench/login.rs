//! Login and profile-read latency through the local runner and emulator.
//! Run it with `./scripts/bench` (which starts an emulator); it prints
//! p50/p95/max over N requests.

use std::time::{Duration, Instant};

use glimvid_tests::{Api, PASSWORD};
use serde_json::json;

fn summary(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let pick = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    println!(
        "{label:<28} n={:<4} p50={:>7.1} ms  p95={:>7.1} ms  max={:>7.1} ms",
        samples.len(),
        pick(0.5).as_secs_f64() * 1e3,
        pick(0.95).as_secs_f64() * 1e3,
        pick(1.0).as_secs_f64() * 1e3,
    );
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(30);
    // Latency, not the lock: the bench's own wrong passwords would lock
    // its account after 10 (`LOGIN_FAILURES_PER_ACCOUNT`, tested in
    // tests/data_safety.rs).
    glimvid_tests::harness_with(|o| {
        o.env_overrides
            .insert("LOGIN_FAILURES_PER_ACCOUNT".into(), "100000".into());
    });
    let (me, email) = Api::new().signed_up().await;
    let mut login = Vec::with_capacity(n);
    let mut wrong = Vec::with_capacity(n);
    let mut unknown = Vec::with_capacity(n);
    let mut profile = Vec::with_capacity(n);
    for _ in 0..n {
        // A fresh client IP each time keeps the auth rate limit out of the figures.
        let client = Api::new();
        let t = Instant::now();
        let ok = client
            .post("/auth/login", json!({"email": email, "password": PASSWORD}))
            .await;
        login.push(t.elapsed());
        assert!(ok.status.is_success(), "{}", ok.body);
        let t = Instant::now();
        client
            .post(
                "/auth/login",
                json!({"email": email, "password": "wrong password!"}),
            )
            .await;
        wrong.push(t.elapsed());
        let t = Instant::now();
        client
            .post(
                "/auth/login",
                json!({"email": "nobody@example.com", "password": "wrong password!"}),
            )
            .await;
        unknown.push(t.elapsed());
        let t = Instant::now();
        me.elsewhere().get("/me").await;
        profile.push(t.elapsed());
    }
    println!(
        "profile: {}",
        if cfg!(debug_assertions) {
            "debug (scrypt deps at opt-level 3)"
        } else {
            "release"
        }
    );
    summary("POST /auth/login (ok)", login);
    summary("POST /auth/login (wrong pw)", wrong);
    summary("POST /auth/login (unknown)", unknown);
    summary("GET /me", profile);
}
