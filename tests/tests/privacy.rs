//! The privacy promises: export everything, delete everything, keep
//! retention, respect the training opt-out.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use glimvid_media::image::ImageFormat;
use glimvid_tests::media::photo;
use glimvid_tests::{
    Api, PASSWORD, WEBHOOK_SECRET, all_tables, app, checkout_event, harness, harness_with,
    item_text, scan_all, stripe_signature, with_payments,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn api() -> Api {
    harness_with(with_payments);
    Api::new()
}

async fn uploaded(me: &Api, width: u32) -> String {
    me.completed_upload(photo(width, 600, ImageFormat::Png), "image/png")
        .await
}

async fn finished_video(me: &Api, upload_id: &str) -> Value {
    let created = me
        .post("/videos", json!({"upload_id": upload_id, "title": "Mug", "description": "A mug.", "language": "en", "aspect_ratio": "1:1", "duration_s": 5,
                              "music": "calm", "display_price": "¥168", "url": "shop.example.com/mug"}))
        .await;
    assert_eq!(created.status, StatusCode::ACCEPTED, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    for _ in 0..400 {
        let job = me.get(&format!("/videos/{id}")).await;
        if job.body["status"] == "succeeded" {
            return job.body;
        }
        assert_ne!(job.body["status"], "failed", "{}", job.body);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    panic!("video not finished");
}

async fn buy(user: &str, pack: &str) {
    let event = checkout_event(
        &format!("evt_{}", uuid::Uuid::new_v4().simple()),
        user,
        pack,
    );
    let now = glimvid::clock::epoch_seconds(glimvid::clock::now());
    let reply = Api::new()
        .webhook(&event, &stripe_signature(WEBHOOK_SECRET, now, &event))
        .await;
    assert_eq!(reply.body["status"], "granted");
}

/// Every item in any table that names the user (by id or email).
async fn items_about(user_id: &str, email: &str) -> Vec<(String, glimvid_tests::Item)> {
    let db = glimvid_tests::dynamo().await;
    let mut found = Vec::new();
    for table in all_tables(&db).await {
        for item in scan_all(&db, &table).await {
            let text = item_text(&item);
            if text.contains(user_id) || text.contains(email) {
                found.push((table.clone(), item));
            }
        }
    }
    found
}

fn pk(item: &glimvid_tests::Item) -> String {
    match item.get("pk") {
        Some(AttributeValue::S(s)) => s.clone(),
        _ => String::new(),
    }
}

#[tokio::test]
async fn export_holds_every_record_the_tables_hold_about_the_user() {
    let (me, email) = api().signed_up().await;
    let user = me.user_id().await;
    buy(&user, "starter").await;
    let upload = uploaded(&me, 800).await;
    let video = finished_video(&me, &upload).await;
    let (_, x) = me.export().await;
    let x = &x;
    assert_eq!(x["account"]["email"], email);

    let items = items_about(&user, &email).await;
    let count = |prefix: &str| {
        items
            .iter()
            .filter(|(_, i)| pk(i).starts_with(prefix))
            .count()
    };
    let credits_items: Vec<_> = items
        .iter()
        .filter(|(t, _)| t.contains("CreditsTable"))
        .map(|(_, i)| i)
        .collect();
    let entry_count = credits_items
        .iter()
        .filter(|i| matches!(i.get("sk"), Some(AttributeValue::S(s)) if s.starts_with("ENTRY#")))
        .count();
    let len = |v: &Value| v.as_array().map_or(0, Vec::len);
    assert_eq!(len(&x["credits"]["ledger"]), entry_count);
    assert_eq!(x["credits"]["balance"], 5, "trial 1 + starter 5 - video 1");
    assert_eq!(len(&x["sessions"]), count("SESSION#"));
    assert_eq!(len(&x["free_trial"]), count("TRIAL#IP#"));
    // The mailer may store a link (a video mail's unsubscribe) meanwhile.
    assert!(len(&x["email_links"]) <= count("LINK#"));
    assert!(x["account"]["email_verified"] == true);
    let payment_records = credits_items
        .iter()
        .filter(|i| matches!(i.get("billing_record"), Some(AttributeValue::S(s)) if s == "payment"))
        .count();
    assert_eq!(payment_records, 1);
    assert_eq!(len(&x["payments"]), payment_records);
    assert_eq!(len(&x["uploads"]), count("UPLOAD#"));
    assert_eq!(len(&x["videos"]), count("JOB#"));
    // Asking for the export and polling it are logged while (and after)
    // the worker writes the file; every other line is in it.
    let not_exporting = |route: &str| !route.contains(" /me/exports");
    let usage_lines = items
        .iter()
        .filter(|(t, i)| {
            t.contains("UsageLogTable")
                && matches!(i.get("route"), Some(AttributeValue::S(r)) if not_exporting(r))
        })
        .count();
    let exported_lines = x["usage_log"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| l["route"].as_str().is_some_and(not_exporting))
        .count();
    assert!(usage_lines > 0);
    assert_eq!(exported_lines, usage_lines, "{}", x["usage_log"]);
    assert_eq!(x["videos"][0]["id"], video["id"]);
    assert_eq!(x["videos"][0]["public_path"], video["public_path"]);
    assert!(
        x["uploads"][0]["download_url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1")
    );
    assert!(x["videos"][0]["video_url"].is_string());
    assert!(x["videos"][0]["download_url"].is_string());
    // What the user asked the video to show is theirs too.
    for (field, value) in [
        ("music", "calm"),
        ("display_price", "¥168"),
        ("url", "shop.example.com/mug"),
    ] {
        assert_eq!(x["videos"][0][field], value, "{field}");
    }
    // Nothing in the tables escapes the export's categories.
    for (table, item) in &items {
        let p = pk(item);
        let known = [
            "USER#",
            "EMAIL#",
            "SESSION#",
            "LINK#",
            "TRIAL#IP#",
            "EVENT#",
            "UPLOAD#",
            "JOB#",
            "PUBLIC#",
            // The export being made (its file is the export itself).
            "EXPORT#",
        ]
        .iter()
        .any(|prefix| p.starts_with(prefix))
            || table.contains("UsageLogTable");
        assert!(known, "{table}: {p} is not exported");
    }
}

#[tokio::test]
async fn deleting_the_account_leaves_nothing_after_one_sweep() {
    let (me, email) = api().signed_up().await;
    let user = me.user_id().await;
    buy(&user, "creator").await;
    let upload = uploaded(&me, 700).await;
    finished_video(&me, &upload).await;
    assert!(!items_about(&user, &email).await.is_empty());

    let wrong = me.delete_account("not my password").await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let deleted = me.delete_account(PASSWORD).await;
    assert_eq!(deleted.status, StatusCode::ACCEPTED, "{}", deleted.body);
    assert_eq!(
        me.get("/me").await.status,
        StatusCode::UNAUTHORIZED,
        "signed out at once"
    );
    let login = Api::new()
        .post("/auth/login", json!({"email": email, "password": PASSWORD}))
        .await;
    assert_eq!(login.status, StatusCode::UNAUTHORIZED);

    // A purge takes its last look once nothing can write for the account
    // (WRITE_QUIET_SECONDS, 2 s here). This sweep, or another test's running
    // at the same time, then finishes it: what counts is that nothing is
    // left once a sweep has run.
    tokio::time::sleep(Duration::from_secs(3)).await;
    glimvid_tests::run_sweeper().await;
    let left = items_about(&user, &email).await;
    assert!(
        left.is_empty(),
        "left behind: {:?}",
        left.iter().map(|(t, i)| (t, pk(i))).collect::<Vec<_>>()
    );
    assert_eq!(
        glimvid_tests::object_count(&format!("users/{user}/")).await,
        0
    );
    // Still no second trial from the same IP.
    let (again, _) = me.signed_up().await;
    assert_eq!(
        glimvid_tests::assert_ledger_consistent(&again.user_id().await).await,
        0
    );
    // The email is free again.
    let back = Api::new()
        .post(
            "/auth/register",
            json!({"email": email, "password": PASSWORD, "confirm_age_16": true}),
        )
        .await;
    assert_eq!(back.status, StatusCode::CREATED);
}

/// Makes a record look older than it is, and due at the sweeper now.
async fn backdate(pk: &str, sk: &str, when: &str) {
    let app = app().await;
    app.dynamo
        .update_item()
        .table_name(&app.config.content_table)
        .key("pk", AttributeValue::S(pk.into()))
        .key("sk", AttributeValue::S(sk.into()))
        .update_expression("SET created_at = :t, due_at = :now")
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_values(":t", AttributeValue::S(when.into()))
        .expression_attribute_values(":now", AttributeValue::N("0".into()))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn sweeper_fails_stuck_jobs_once_and_expires_unneeded_uploads() {
    let (me, _) = api().signed_up().await;
    let user = me.user_id().await;
    buy(&user, "starter").await;
    let old = uploaded(&me, 640).await;
    let kept = uploaded(&me, 660).await;
    let long_ago = "2020-01-01T00:00:00Z";
    backdate(&format!("UPLOAD#{old}"), "UPLOAD", long_ago).await;
    backdate(&format!("UPLOAD#{kept}"), "UPLOAD", long_ago).await;

    // A job that stays live: its execution is stopped, so nothing moves it.
    let created = me
        .post("/videos", json!({"upload_id": kept, "title": "Stuck", "description": "Never finishes.", "language": "en", "aspect_ratio": "1:1", "duration_s": 5}))
        .await;
    let job_id = created.body["id"].as_str().unwrap().to_owned();
    let app = app().await;
    let job = glimvid::jobs::store::get(&app, &job_id)
        .await
        .unwrap()
        .unwrap();
    if let Some(arn) = &job.execution_arn {
        app.sfn
            .stop_execution()
            .execution_arn(arn)
            .send()
            .await
            .unwrap();
    }
    let before = glimvid_tests::assert_ledger_consistent(&user).await;

    // Fresh and live: the sweeper keeps the job and the upload it needs.
    glimvid_tests::run_sweeper().await;
    assert!(
        glimvid::uploads::owned(&app, &user, &old).await.is_err(),
        "old unused upload deleted"
    );
    assert!(
        glimvid::uploads::owned(&app, &user, &kept).await.is_ok(),
        "upload of a live job kept"
    );
    let status = me.get(&format!("/videos/{job_id}")).await.body["status"].clone();
    assert!(status == "queued" || status == "running", "{status}");

    // Past its deadline it is failed and refunded, once, however often the sweeper runs.
    backdate(&format!("JOB#{job_id}"), "JOB", long_ago).await;
    glimvid_tests::run_sweeper().await;
    glimvid_tests::run_sweeper().await;
    let job = me.get(&format!("/videos/{job_id}")).await;
    assert_eq!(job.body["status"], "failed");
    assert_eq!(job.body["error"]["code"], "deadline_exceeded");
    let refunds = glimvid::credits::ledger(&app, &user)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.kind == "refund" && e.job_id.as_deref() == Some(job_id.as_str()))
        .count();
    assert_eq!(refunds, 1);
    assert_eq!(
        glimvid_tests::assert_ledger_consistent(&user).await,
        before + 1
    );
    // Now nothing live needs the kept upload either: at its next look (an
    // hour on; made now) it goes.
    backdate(&format!("UPLOAD#{kept}"), "UPLOAD", long_ago).await;
    glimvid_tests::run_sweeper().await;
    assert!(glimvid::uploads::owned(&app, &user, &kept).await.is_err());
    let objects = app
        .s3
        .list_objects_v2()
        .bucket(&app.config.media_bucket)
        .prefix(format!("users/{user}/uploads/"))
        .send()
        .await
        .unwrap();
    assert_eq!(objects.key_count().unwrap_or_default(), 0);
}

async fn tag_of(key: &str) -> Option<String> {
    glimvid::privacy::training::tag_of(&app().await, key)
        .await
        .unwrap()
}

#[tokio::test]
async fn opted_out_uploads_are_tagged_and_never_in_the_training_set() {
    let sweeper_app = app().await;
    let (sharer, _) = api().signed_up().await;
    let (private, _) = api().signed_up().await;
    let patched = private
        .call(
            reqwest::Method::PATCH,
            "/me",
            Some(json!({"training_opt_out": true})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK);
    let shared_upload = uploaded(&sharer, 720).await;
    let private_upload = uploaded(&private, 740).await;
    let key = |user: &str, id: &str| {
        let user = user.to_owned();
        let id = id.to_owned();
        async move {
            glimvid::uploads::owned(&app().await, &user, &id)
                .await
                .unwrap()
                .key
        }
    };
    let shared_key = key(&sharer.user_id().await, &shared_upload).await;
    let private_key = key(&private.user_id().await, &private_upload).await;
    assert_eq!(tag_of(&shared_key).await.as_deref(), Some("allowed"));
    assert_eq!(tag_of(&private_key).await.as_deref(), Some("opt-out"));
    let set = glimvid::privacy::training::training_set(&sweeper_app)
        .await
        .unwrap();
    assert!(set.contains(&shared_key));
    assert!(!set.contains(&private_key));

    // Changing the flag re-tags what is already stored.
    sharer
        .call(
            reqwest::Method::PATCH,
            "/me",
            Some(json!({"training_opt_out": true})),
        )
        .await;
    assert_eq!(tag_of(&shared_key).await.as_deref(), Some("opt-out"));
    let set = glimvid::privacy::training::training_set(&sweeper_app)
        .await
        .unwrap();
    assert!(!set.contains(&shared_key));
    let _ = harness();
}
