//! Queue timing as on AWS, with the template's numbers scaled down by one
//! factor: the runner's SQS mapping keeps no schedule of its own, so a
//! failed message comes back when the worker's backoff (its visibility
//! change) runs out. A transient fault is retried at least twice and the job
//! still succeeds within its states' timeouts; a permanent one fails the job
//! on its first delivery and refunds it.

use std::time::Duration;

use glimvid_media::image::ImageFormat;
use glimvid_tests::media::photo;
use glimvid_tests::{Api, Reply, app, harness, harness_with};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Every timing number in the template, divided by this.
const SCALE: u32 = 10;

/// Every job's script step fails on its first two deliveries; a job with a
/// photo then fails for good at enhance (text-only jobs skip that stage).
fn options(o: &mut glimvid_runner::Options) {
    o.time_scale = SCALE;
    o.env_overrides
        .insert("PIPELINE_TRANSIENT_FAULTS".into(), "script:2".into());
    o.env_overrides
        .insert("PIPELINE_FAIL_STAGE".into(), "enhance".into());
}

fn api() -> Api {
    harness_with(options);
    Api::new()
}

/// A guard against a hung pipeline only: far above any scaled timeout.
const HANG: Duration = Duration::from_secs(240);

async fn wait_until_done(me: &Api, id: &str) -> Reply {
    me.job_when_done(id, HANG).await
}

/// The receive count of the stage's last delivery, as the worker recorded
/// it on the job.
async fn attempts(job_id: &str, stage: &str) -> Option<u32> {
    let item = glimvid_tests::dynamo()
        .await
        .get_item()
        .table_name(&harness().config.content_table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(glimvid::jobs::store::pk(job_id)),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("JOB".into()),
        )
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .expect("the job's record");
    item.get(&format!("{stage}_attempt"))
        .and_then(|v| v.as_n().ok())
        .map(|n| n.parse().unwrap())
}

async fn create(me: &Api, upload_id: Option<&str>, title: &str) -> String {
    let mut body = json!({"title": title, "description": "Hand-thrown stoneware mug. Holds 350 ml.", "language": "en", "aspect_ratio": "16:9", "duration_s": 5});
    if let Some(upload_id) = upload_id {
        body["upload_id"] = Value::from(upload_id);
    }
    let created = me.post("/videos", body).await;
    assert_eq!(created.status, StatusCode::ACCEPTED, "{}", created.body);
    created.body["id"].as_str().unwrap().to_owned()
}

async fn upload(me: &Api) -> String {
    me.completed_upload(photo(1200, 900, ImageFormat::Jpeg), "image/jpeg")
        .await
}

/// What this binary shows says something about production only if the
/// scaled numbers keep the template's rule.
#[test]
fn the_scaled_numbers_keep_the_timing_rule() {
    let template =
        glimvid_runner::template::Template::load(&glimvid_runner::Options::repo_template())
            .unwrap();
    let broken = glimvid_runner::timing::violations(&template, SCALE).unwrap();
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[tokio::test]
async fn a_transient_fault_is_retried_and_the_job_succeeds_in_time() {
    let (me, _) = api().signed_up().await;
    let id = create(&me, None, "Mug").await;
    let job = wait_until_done(&me, &id).await;
    // A state that timed out would have failed the job ("timeout").
    assert_eq!(job.body["status"], "succeeded", "{}", job.body);
    assert_eq!(job.body["refunded"], false, "{}", job.body);
    let script = attempts(&id, "script").await;
    assert!(
        script.is_some_and(|n| n >= 3),
        "the script step was delivered {script:?} times: two transient faults mean at least 3"
    );
    assert_eq!(attempts(&id, "video").await, Some(1));
}

#[tokio::test]
async fn a_permanent_fault_fails_the_job_at_once_and_refunds() {
    let (me, _) = api().signed_up().await;
    let user = me.get("/me").await.body["id"].as_str().unwrap().to_owned();
    let upload_id = upload(&me).await;
    let id = create(&me, Some(&upload_id), "Mug with a photo").await;
    let job = wait_until_done(&me, &id).await;
    assert_eq!(job.body["status"], "failed", "{}", job.body);
    assert_eq!(job.body["error"]["stage"], "enhance", "{}", job.body);
    assert_eq!(job.body["error"]["code"], "injected_fault", "{}", job.body);
    assert_eq!(job.body["refunded"], true, "{}", job.body);
    assert_eq!(attempts(&id, "enhance").await, Some(1), "not retried");
    let entries = glimvid::credits::ledger(&app().await, &user).await.unwrap();
    assert_eq!(
        entries.iter().filter(|e| e.kind == "refund").count(),
        1,
        "{entries:?}"
    );
    assert_eq!(entries.iter().map(|e| e.amount).sum::<i64>(), 1);
}
