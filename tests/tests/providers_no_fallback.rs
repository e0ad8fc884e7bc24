//! With the offline fallback turned off, a video provider failure fails the
//! job with a readable reason and refunds the whole price, once.

mod providers_common;

use glimvid_tests::fakes::{self, fault};
use glimvid_tests::harness_with;
use providers_common::*;

fn options(o: &mut glimvid_runner::Options) {
    fakes::provider_env(o);
    o.env_overrides
        .insert("VIDEO_FALLBACK".into(), "false".into());
    o.deliver_twice = true;
}

#[tokio::test]
async fn video_failures_fail_the_job_with_a_reason_and_refund() {
    harness_with(options);
    let cases = [
        ("video-failed", "video_task_failed", "failed"),
        (
            "video-failed-moderation",
            "content_rejected",
            "content checks",
        ),
        ("video-moderation", "content_rejected", "try another photo"),
        ("video-expired", "video_task_expired", "expired"),
        ("video-cancelled", "video_task_cancelled", "cancelled"),
        ("video-url-expired", "result_expired", "expired"),
        ("video-redirect", "download_refused", "host"),
        ("video-stuck", "video_timeout", "too long"),
    ];
    let mut set = tokio::task::JoinSet::new();
    for (name, code, words) in cases {
        set.spawn(async move {
            let case = start(&format!("Mug {}", fault(name, 0)), 5).await;
            let job = ends_failed(&case, "video", code).await;
            let message = job["error"]["message"].as_str().unwrap();
            assert!(message.contains(words), "{name}: {message}");
            assert_eq!(job["fallback"], false);
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
}
