//! A stage that fails permanently ends the job `failed` with the stage and
//! a reason, returns the credits exactly once, and mails the owner once
//! (every delivery is handed over twice) with the reason and the refund.

use std::time::Duration;

use glimvid_tests::{Api, app, harness_with};
use reqwest::StatusCode;
use serde_json::json;

fn failing_video_stage(o: &mut glimvid_runner::Options) {
    o.env_overrides
        .insert("PIPELINE_FAIL_STAGE".into(), "video".into());
    o.deliver_twice = true;
}

#[tokio::test]
async fn a_failed_stage_fails_the_job_and_refunds_once() {
    harness_with(failing_video_stage);
    let (me, email) = Api::new().signed_up().await;
    let user = me.get("/me").await.body["id"].as_str().unwrap().to_owned();
    let created = me
        .post("/videos", json!({"title": "Kettle", "description": "A steel kettle.", "language": "en", "aspect_ratio": "16:9", "duration_s": 5}))
        .await;
    assert_eq!(created.status, StatusCode::ACCEPTED, "{}", created.body);
    let id = created.body["id"].as_str().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let job = loop {
        let job = me.get(&format!("/videos/{id}")).await;
        if job.body["status"] == "failed" {
            break job;
        }
        assert!(tokio::time::Instant::now() < deadline, "{}", job.body);
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(job.body["error"]["stage"], "video", "{}", job.body);
    assert_eq!(job.body["error"]["code"], "injected_fault");
    assert!(
        job.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("video")
    );
    assert_eq!(job.body["refunded"], true);

    tokio::time::sleep(Duration::from_secs(2)).await;
    let app = app().await;
    let entries = glimvid::credits::ledger(&app, &user).await.unwrap();
    assert_eq!(
        entries.iter().filter(|e| e.kind == "refund").count(),
        1,
        "{entries:?}"
    );
    assert_eq!(glimvid::credits::balance(&app, &user).await.unwrap(), 1);
    assert_eq!(entries.iter().map(|e| e.amount).sum::<i64>(), 1);

    let mail = glimvid_tests::mail::wait_for(&email, "could not be made").await;
    let reason = job.body["error"]["message"].as_str().unwrap();
    assert!(mail.text.contains(reason), "{}", mail.text);
    assert!(mail.text.contains("1 credit went back"), "{}", mail.text);
    glimvid_tests::mail::settle().await;
    let sent = glimvid_tests::mail::to(&email)
        .await
        .into_iter()
        .filter(|m| m.subject.contains("could not be made"))
        .count();
    assert_eq!(sent, 1, "one mail per failed job");
}
