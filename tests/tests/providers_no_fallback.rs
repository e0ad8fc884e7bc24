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

/// Refusals end the same way with or without the fallback: failed at the
/// video stage, the credit back once though every message comes twice.
#[tokio::test]
async fn video_refusals_fail_the_job_and_refund_once() {
    harness_with(options);
    let mut set = tokio::task::JoinSet::new();
    for name in ["video-moderation", "video-failed-moderation"] {
        set.spawn(async move {
            let case = start(&format!("Mug {}", fault(name, 0)), 5).await;
            ends_refused(&case, "video").await;
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
}
