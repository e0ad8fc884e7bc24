//! Shared by the provider test binaries: a user with a photo job, waiting
//! for its end, and the checks every case ends with.

#![allow(dead_code)]

use std::time::Duration;

use glimvid_media::image::ImageFormat;
pub use glimvid_tests::grant;
use glimvid_tests::media::photo;
use glimvid_tests::{Api, Reply, app, object_keys};
use reqwest::StatusCode;
use serde_json::{Value, json};

pub struct Case {
    pub me: Api,
    pub email: String,
    pub user: String,
    pub id: String,
    pub title: String,
}

async fn upload(me: &Api) -> String {
    me.completed_upload(photo(1200, 900, ImageFormat::Jpeg), "image/jpeg")
        .await
}

/// A new user's photo job titled `title`, `duration_s` long.
pub async fn start(title: &str, duration_s: u32) -> Case {
    start_with(title, duration_s, 1).await
}

/// As [`start`], from `photos` photos, the user granted just enough.
pub async fn start_with(title: &str, duration_s: u32, photos: usize) -> Case {
    let (me, email) = Api::new().signed_up().await;
    let user = me.get("/me").await.body["id"].as_str().unwrap().to_owned();
    // A 5 s video costs 1 (the trial), each further 5 s one more.
    let price = i64::from(duration_s / 5);
    if price > 1 {
        grant(&user, price - 1).await;
    }
    let mut upload_ids = Vec::new();
    for _ in 0..photos {
        upload_ids.push(upload(&me).await);
    }
    let created = me
        .post(
            "/videos",
            json!({"upload_ids": (!upload_ids.is_empty()).then_some(upload_ids), "title": title, "description": "Hand-thrown stoneware mug. Holds 350 ml.", "language": "en", "aspect_ratio": "16:9", "duration_s": duration_s}),
        )
        .await;
    assert_eq!(created.status, StatusCode::ACCEPTED, "{}", created.body);
    Case {
        id: created.body["id"].as_str().unwrap().to_owned(),
        me,
        email,
        user,
        title: title.to_owned(),
    }
}

/// The finished job's video, downloaded through its link.
pub async fn video_of(job: &Value) -> Vec<u8> {
    let url = job["video_url"].as_str().expect("a video link");
    reqwest::get(url)
        .await
        .expect("the video downloads")
        .bytes()
        .await
        .expect("the video's bytes")
        .to_vec()
}

/// Waits for the job to leave queued/running.
pub async fn finish(case: &Case) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(240);
    loop {
        let job: Reply = case.me.get(&format!("/videos/{}", case.id)).await;
        assert_eq!(job.status, StatusCode::OK, "{}", job.body);
        let status = job.body["status"].as_str().unwrap_or_default().to_owned();
        if !matches!(status.as_str(), "queued" | "running") {
            return job.body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "job stuck: {}",
            job.body
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The balance equals the ledger's sum and is what we expect; refunds
/// happened `refunds` times.
pub async fn check_ledger(case: &Case, balance: i64, refunds: usize) {
    // Let a duplicate delivery have its (no-op) say first.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let app = app().await;
    let entries = glimvid::credits::ledger(&app, &case.user).await.unwrap();
    let actual = glimvid::credits::balance(&app, &case.user).await.unwrap();
    assert_eq!(
        actual,
        entries.iter().map(|e| e.amount).sum::<i64>(),
        "{entries:?}"
    );
    assert_eq!(actual, balance, "{entries:?}");
    assert_eq!(
        entries.iter().filter(|e| e.kind == "refund").count(),
        refunds,
        "{entries:?}"
    );
}

pub async fn ends_failed(case: &Case, stage: &str, code: &str) -> Value {
    let job = finish(case).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["error"]["stage"], stage, "{job}");
    assert_eq!(job["error"]["code"], code, "{job}");
    assert_eq!(job["refunded"], true);
    let start_balance = 1;
    check_ledger(case, start_balance + extra(case).await, 1).await;
    job
}

/// A provider's content refusal at `stage`: the job failed there with
/// `content_rejected` and a message that says what to do (and carries
/// nothing of the provider's own reply), the credit back once, and no video
/// made, by the provider or by the offline fallback.
pub async fn ends_refused(case: &Case, stage: &str) -> Value {
    let job = ends_failed(case, stage, "content_rejected").await;
    let message = job["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("content checks flagged") && message.contains("; try "),
        "{message}"
    );
    for internal in [
        "Sensitive",
        "Risk",
        "invalid_request",
        "content_filter",
        "{",
    ] {
        assert!(!message.contains(internal), "{message}");
    }
    assert_eq!(job["fallback"], false, "{job}");
    assert!(job["video_url"].is_null(), "{job}");
    let keys = object_keys(&format!("users/{}/jobs/{}/", case.user, case.id)).await;
    assert!(
        !keys
            .iter()
            .any(|k| k.ends_with("/video.mp4") || k.ends_with("/poster.jpg")),
        "a refused job stored a video: {keys:?}"
    );
    job
}

/// Credits granted beyond the trial.
async fn extra(case: &Case) -> i64 {
    let app = app().await;
    glimvid::credits::ledger(&app, &case.user)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.kind == "purchase")
        .map(|e| e.amount)
        .sum()
}

/// What no provider request may carry: the account's email, id and IP,
/// and the session token.
pub fn assert_private(case: &Case, requests: &[glimvid_tests::fakes::Recorded]) {
    let token = case.me.token.clone().unwrap_or_default();
    for r in requests {
        let all = r.everything();
        for (what, secret) in [
            ("email", case.email.as_str()),
            ("user id", case.user.as_str()),
            ("ip", case.me.ip.as_str()),
            ("session token", token.as_str()),
        ] {
            assert!(
                !all.contains(secret),
                "a provider request carries the {what}: {all:.400}"
            );
        }
    }
}
