//! Submit → succeeded through the local platform (runner, emulator, Step
//! Functions, SQS, offline providers). Run with `./scripts/bench`.

use std::time::{Duration, Instant};

use glimvid_media::image::ImageFormat;
use glimvid_tests::Api;
use glimvid_tests::media::photo;
use serde_json::json;

async fn wait(me: &Api, id: &str) -> (Duration, String) {
    let start = Instant::now();
    loop {
        let job = me.get(&format!("/videos/{id}")).await;
        let status = job.body["status"].as_str().unwrap_or_default().to_owned();
        if !matches!(status.as_str(), "queued" | "running") {
            return (start.elapsed(), status);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::main]
async fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(3);
    let (me, _) = Api::new().signed_up().await;
    let user = me.get("/me").await.body["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    glimvid_tests::grant(&user, 4 * runs as i64).await;

    let bytes = photo(1600, 1200, ImageFormat::Jpeg);
    for kind in ["photo 16:9 5 s", "text 16:9 5 s"] {
        let mut totals = Vec::new();
        for _ in 0..runs {
            let mut body = json!({"title": "Ceramic mug", "description": "Hand-thrown stoneware. Holds 350 ml.", "language": "en", "aspect_ratio": "16:9", "duration_s": 5});
            if kind.starts_with("photo") {
                let id = me.put_upload(bytes.clone(), "image/jpeg").await;
                me.post(&format!("/uploads/{id}/complete"), json!({})).await;
                body["upload_id"] = json!(id);
            }
            let submitted = Instant::now();
            let created = me.post("/videos", body).await;
            let id = created.body["id"].as_str().unwrap_or_default().to_owned();
            let (_, status) = wait(&me, &id).await;
            totals.push(submitted.elapsed());
            assert_eq!(status, "succeeded");
        }
        totals.sort();
        println!(
            "{kind:<16} submit→succeeded  median {:>6.2} s  min {:>6.2} s  max {:>6.2} s  (n={runs})",
            totals[totals.len() / 2].as_secs_f64(),
            totals[0].as_secs_f64(),
            totals[totals.len() - 1].as_secs_f64()
        );
    }
}
