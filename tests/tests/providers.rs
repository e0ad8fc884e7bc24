//! The real provider clients (DeepSeek for scripts, Ark for images and
//! videos) against fake servers: the happy path with the exact request
//! shapes, transient faults that recover, permanent ones that fail the job
//! and refund it, and video failures that fall back to the offline renderer
//! at the lower price. Every case ends terminal with the ledger right.

mod providers_common;

use glimvid_tests::fakes::{self, ARK_KEY, DEEPSEEK_KEY, fakes, fault};
use glimvid_tests::harness_with;
use providers_common::*;
use serde_json::json;

fn options(o: &mut glimvid_runner::Options) {
    fakes::provider_env(o);
    o.deliver_twice = true;
}

fn setup() {
    harness_with(options);
}

#[tokio::test]
async fn happy_path_uses_every_provider_with_the_documented_shapes() {
    setup();
    let tag = fault("none", 1);
    let case = start(&format!("Ceramic mug {tag}"), 5).await;
    let job = finish(&case).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["fallback"], false);
    assert!(
        job["script"]["hook"]
            .as_str()
            .unwrap()
            .starts_with("Meet Ceramic mug"),
        "{job}"
    );
    check_ledger(&case, 0, 0).await;

    // The video is the provider's clip, captioned and carded, with its
    // sound kept and the music under it.
    let mp4 = video_of(&job).await;
    let ready = glimvid_tests::media::ready_to_post(&mp4);
    assert_eq!((ready.width, ready.height, ready.fps), (1280, 720, 24));
    glimvid_tests::media::shows_captions_and_end_card_over(&mp4, fakes().video_mp4());

    let reqs = fakes().requests_for(&tag);
    let chat: Vec<_> = reqs
        .iter()
        .filter(|r| r.path == "/chat/completions")
        .collect();
    assert_eq!(
        chat.len(),
        1,
        "one script call (a duplicate delivery finds it done)"
    );
    let body = chat[0].json();
    assert_eq!(
        chat[0].header("authorization"),
        Some(format!("Bearer {DEEPSEEK_KEY}").as_str())
    );
    // The template's default model, a current one (the fake refuses
    // retired ids the way DeepSeek does), with thinking off and JSON mode.
    assert_eq!(body["model"], "deepseek-flash");
    assert_eq!(body["thinking"]["type"], "disabled");
    assert_eq!(body["response_format"]["type"], "json_object");
    let system = body["messages"][0]["content"].as_str().unwrap();
    assert!(
        system.contains("json") && system.contains("\"call_to_action\""),
        "{system}"
    );
    let user = body["messages"][1]["content"].as_str().unwrap();
    assert!(
        user.contains("Ceramic mug") && user.contains("Hand-thrown stoneware mug"),
        "{user}"
    );

    let image: Vec<_> = reqs
        .iter()
        .filter(|r| r.path == "/api/v3/images/generations")
        .collect();
    assert_eq!(image.len(), 1);
    let body = image[0].json();
    assert_eq!(
        image[0].header("authorization"),
        Some(format!("Bearer {ARK_KEY}").as_str())
    );
    assert_eq!(body["watermark"], false);
    assert_eq!(body["response_format"], "url");
    assert_eq!(body["size"], "2560x1440");
    assert!(
        body["image"]
            .as_str()
            .unwrap()
            .starts_with("data:image/jpeg;base64,")
    );
    assert!(body["prompt"].as_str().unwrap().contains("Ceramic mug"));

    let tasks: Vec<_> = reqs
        .iter()
        .filter(|r| r.path == "/api/v3/contents/generations/tasks")
        .collect();
    assert_eq!(tasks.len(), 1, "one video task");
    let body = tasks[0].json();
    assert_eq!(body["content"][0]["type"], "text");
    assert_eq!(body["content"][1]["type"], "image_url");
    assert_eq!(body["content"][1]["role"], "first_frame");
    assert!(
        body["content"][1]["image_url"]["url"]
            .as_str()
            .unwrap()
            .starts_with("data:image/jpeg;base64,")
    );
    assert_eq!(body["ratio"], "16:9");
    assert_eq!(body["duration"], 5);
    assert_eq!(body["resolution"], "720p");
    // Seedance 1.5 pro makes the clip's sound; the music goes under it.
    assert_eq!(body["generate_audio"], true);
    let polls = reqs
        .iter()
        .filter(|r| r.method == "GET" && r.path.contains("/tasks/cgt-"))
        .count();
    assert!(polls >= 2, "polled until succeeded: {polls}");

    assert_private(&case, &reqs);
    assert_private(&case, &fakes().requests());
}

/// Each fault happens once (or twice) and the job still succeeds.
#[tokio::test]
async fn transient_faults_are_retried_and_the_job_succeeds() {
    setup();
    let faults = [
        ("chat-429", 2),
        ("chat-500", 1),
        ("chat-503", 1),
        ("chat-delay", 1),
        ("chat-blank", 1),
        ("chat-malformed", 1),
        ("chat-invalid", 1),
        ("image-429", 1),
        ("image-503", 1),
        ("image-delay", 1),
        ("video-500", 1),
        ("video-poll-500", 1),
    ];
    let mut set = tokio::task::JoinSet::new();
    for (name, count) in faults {
        set.spawn(async move {
            let tag = fault(name, count);
            let case = start(&format!("Mug {tag}"), 5).await;
            let job = finish(&case).await;
            assert_eq!(job["status"], "succeeded", "{name}: {job}");
            assert_eq!(job["fallback"], false, "{name}: {job}");
            check_ledger(&case, 0, 0).await;
            let seen = fakes().requests_for(&tag).len();
            assert!(seen >= 4, "{name}: the fault was retried ({seen} requests)");
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
}

#[tokio::test]
async fn permanent_faults_fail_the_job_and_refund_once() {
    setup();
    let cases = [
        ("chat-401", "script", "provider_auth"),
        ("chat-402", "script", "provider_billing"),
        ("chat-invalid", "script", "invalid_script"),
        ("chat-malformed", "script", "invalid_script"),
        ("image-url-expired", "enhance", "result_expired"),
    ];
    let mut set = tokio::task::JoinSet::new();
    for (name, stage, code) in cases {
        set.spawn(async move {
            let case = start(&format!("Mug {}", fault(name, 0)), 5).await;
            let job = ends_failed(&case, stage, code).await;
            let message = job["error"]["message"].as_str().unwrap();
            assert!(
                !message.contains(DEEPSEEK_KEY) && !message.contains(ARK_KEY),
                "{message}"
            );
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
}

/// A refusal by a provider's content checks, at each stage and in each
/// form the providers use, fails the job at that stage: no retry, no
/// fallback video, the whole price back once (10 s videos, so a fallback
/// would have shown as a half refund).
#[tokio::test]
async fn content_refusals_fail_the_job_at_their_stage_and_refund_once() {
    setup();
    let cases = [
        // DeepSeek: the request refused (400 "Content Exists Risk")...
        ("chat-content-risk", "script", "try different wording"),
        // ...or the answer withheld (finish_reason `content_filter`).
        ("chat-content-filter", "script", "try different wording"),
        ("image-moderation", "enhance", "try another photo"),
        // Seedance refusing the task's input, and flagging its output.
        ("video-moderation", "video", "try another photo"),
        ("video-failed-moderation", "video", "try another photo"),
    ];
    let mut set = tokio::task::JoinSet::new();
    for (name, stage, advice) in cases {
        set.spawn(async move {
            let tag = fault(name, 0);
            let case = start(&format!("Mug {tag}"), 10).await;
            let job = ends_refused(&case, stage).await;
            let message = job["error"]["message"].as_str().unwrap();
            assert!(message.contains(advice), "{name}: {message}");
            // Refusals are final: at most one call per delivery (deliveries
            // come twice here), where a retried fault makes several.
            let path = match stage {
                "script" => "/chat/completions",
                "enhance" => "/api/v3/images/generations",
                _ => "/api/v3/contents/generations/tasks",
            };
            let calls = fakes()
                .requests_for(&tag)
                .iter()
                .filter(|r| r.method == "POST" && r.path == path)
                .count();
            assert!((1..=2).contains(&calls), "{name}: {calls} calls");
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
}

/// The bodies of the Seedance tasks created for requests carrying `tag`.
fn created_tasks(tag: &str) -> Vec<serde_json::Value> {
    fakes()
        .requests_for(tag)
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/api/v3/contents/generations/tasks")
        .map(|r| r.json())
        .collect()
}

/// A multi-shot video with Ark: a Seedance task per caption shot, each
/// prompted by its own line over its own photo, created together. The one
/// that fails for good is rendered offline and only its share refunded: a
/// 15 s video costs 3, its whole fallback 1, so one shot of six offline
/// refunds ceil(2 / 6) = 1.
#[tokio::test]
async fn one_failed_shot_is_rendered_offline_and_its_share_refunded_once() {
    setup();
    let tag = fault("video-failed", 1);
    let case = start_with(&format!("Mug {tag}"), 15, 2).await;
    let job = finish(&case).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["fallback"], false, "{job}");
    assert_eq!(job["fallback_shots"], 1, "{job}");
    assert_eq!(job["price"], 2, "{job}");
    // Trial 1 + pack 2 - 3 + refund 1.
    check_ledger(&case, 1, 1).await;

    let script = &job["script"];
    let mut lines = vec![script["hook"].as_str().unwrap().to_owned()];
    lines.extend(
        script["scenes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned()),
    );
    let tasks = created_tasks(&tag);
    assert_eq!(
        tasks.len(),
        lines.len(),
        "a task per caption shot, once each"
    );
    for line in &lines {
        let task = tasks
            .iter()
            .find(|t| {
                t["content"][0]["text"]
                    .as_str()
                    .unwrap()
                    .ends_with(line.as_str())
            })
            .unwrap_or_else(|| panic!("no task for {line:?}"));
        assert_eq!(task["duration"], 5);
        assert_eq!(task["content"][1]["role"], "first_frame");
    }

    let mp4 = video_of(&job).await;
    let ready = glimvid_tests::media::ready_to_post(&mp4);
    assert_eq!((ready.width, ready.height, ready.fps), (1280, 720, 30));
    let facts = glimvid_tests::media::inspect_mp4(&mp4);
    assert_eq!(facts.samples, 450);
    // The clips were cut in and are gone from storage: only the video,
    // its poster and the enhanced photos stay under the job.
    let app = glimvid_tests::app().await;
    let job_prefix = glimvid::jobs::store::get(&app, &case.id)
        .await
        .unwrap()
        .unwrap()
        .prefix();
    let keys = glimvid_tests::object_keys(&job_prefix).await;
    assert!(!keys.iter().any(|k| k.contains("/shot")), "{keys:?}");
}

/// A text-only 15 s video with Ark is still a clip per shot (text to
/// video, no first frame), cut over nothing offline: no fallback, full price.
#[tokio::test]
async fn a_text_only_multi_shot_video_is_a_clip_per_shot() {
    setup();
    let tag = fault("none", 1);
    let case = start_with(&format!("Mug {tag}"), 15, 0).await;
    let job = finish(&case).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(
        (job["fallback"].clone(), job["fallback_shots"].clone()),
        (json!(false), json!(0)),
        "{job}"
    );
    assert_eq!(job["price"], 3, "{job}");
    check_ledger(&case, 0, 0).await;
    let tasks = created_tasks(&tag);
    let shots = 1 + job["script"]["scenes"].as_array().unwrap().len();
    assert_eq!(tasks.len(), shots);
    assert!(
        tasks
            .iter()
            .all(|t| t["content"].as_array().unwrap().len() == 1)
    );
    let ready = glimvid_tests::media::ready_to_post(&video_of(&job).await);
    assert_eq!(ready.fps, 30);
}

/// One shot's clip flagged by Seedance's output checks fails the whole
/// multi-shot job, refunded in full: refused content gets no offline
/// stand-in, not even for one shot.
#[tokio::test]
async fn one_refused_shot_fails_the_whole_multi_shot_video() {
    setup();
    let tag = fault("video-failed-moderation", 1);
    let case = start_with(&format!("Mug {tag}"), 15, 2).await;
    let job = ends_refused(&case, "video").await;
    assert_eq!(job["fallback_shots"], 0, "{job}");
}

#[tokio::test]
async fn a_provider_that_stays_down_fails_the_job_after_its_retries() {
    setup();
    let case = start(&format!("Mug {}", fault("chat-503", 0)), 5).await;
    let job = ends_failed(&case, "script", "retries_exhausted").await;
    assert!(
        job["error"]["message"]
            .as_str()
            .unwrap()
            .contains("server error"),
        "{job}"
    );
}

/// A video provider failure (an outage, not a refusal) renders offline:
/// succeeded, `fallback`, and the price difference back (a 10 s video
/// costs 2, its fallback 1).
#[tokio::test]
async fn video_failures_fall_back_to_the_offline_renderer() {
    setup();
    let faults = [
        "video-failed",
        "video-expired",
        "video-cancelled",
        "video-url-expired",
        "video-redirect",
        "video-stuck",
    ];
    let mut set = tokio::task::JoinSet::new();
    for name in faults {
        set.spawn(async move {
            let case = start(&format!("Mug {}", fault(name, 0)), 10).await;
            let job = finish(&case).await;
            assert_eq!(job["status"], "succeeded", "{name}: {job}");
            assert_eq!(job["fallback"], true, "{name}: {job}");
            assert_eq!(job["price"], 1, "{name}: {job}");
            // Trial 1 + pack 1 - 2 + refund 1.
            check_ledger(&case, 1, 1).await;
            let mp4 = video_of(&job).await;
            // Rendered offline (at its own 30 fps), as ready to post as
            // the provider's would have been.
            let ready = glimvid_tests::media::ready_to_post(&mp4);
            assert_eq!(ready.fps, 30, "{name}: rendered offline");
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
    // The redirect to another host was never followed.
    assert!(
        !fakes()
            .requests()
            .iter()
            .any(|r| r.header("host").is_some_and(|h| h.starts_with("localhost")))
    );
}
