//! Promises that hold under races and at scale: a used upload URL changes
//! nothing, nothing a stage writes is left unnamed whatever ends its job,
//! exports of any size, failures told without internals, public links that
//! name nobody, sign-ins slowed per account.

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use glimvid_media::image::ImageFormat;
use glimvid_tests::media::photo;
use glimvid_tests::{Api, PASSWORD, app, grant, harness_with, mail, ticket_put, unique_email};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Upload URLs live 6 s here, so the sweeper's look after they expire
/// (URL life + WRITE_QUIET_SECONDS) comes within a test. Stages give up
/// after 2 quick tries, so a failure is told within seconds.
fn options(o: &mut glimvid_runner::Options) {
    for (k, v) in [
        ("UPLOAD_URL_TTL_SECONDS", "6"),
        ("STAGE_MAX_ATTEMPTS", "2"),
        ("STAGE_BACKOFF_BASE_SECONDS", "1"),
        ("STAGE_BACKOFF_MAX_SECONDS", "1"),
    ] {
        o.env_overrides.insert(k.into(), v.into());
    }
}

fn api() -> Api {
    harness_with(options);
    Api::new()
}

async fn signed_up_with(credits: i64) -> (Api, String, String) {
    let (me, email) = api().signed_up().await;
    let user = me.user_id().await;
    grant(&user, credits).await;
    (me, email, user)
}

async fn start_video(me: &Api, upload: &str) -> String {
    let created = me
        .post(
            "/videos",
            json!({"upload_id": upload, "title": "Mug", "description": "A blue mug.",
                   "language": "en", "aspect_ratio": "9:16", "duration_s": 5}),
        )
        .await;
    assert_eq!(created.status, StatusCode::ACCEPTED, "{}", created.body);
    created.body["id"].as_str().expect("id").to_owned()
}

async fn stored(key: &str) -> Option<Vec<u8>> {
    glimvid::storage::get_bytes(&app().await, key).await.ok()
}

/// Every key the user's records name: uploads (both keys) and jobs.
async fn named_keys(user: &str) -> BTreeSet<String> {
    let app = app().await;
    let mut keys = BTreeSet::new();
    for upload in glimvid::uploads::all_of(&app, user).await.expect("uploads") {
        keys.extend(upload.object_keys());
    }
    for job in glimvid::jobs::store::all_of(&app, user)
        .await
        .expect("jobs")
    {
        keys.extend(job.object_keys());
    }
    keys
}

/// Runs the sweeper until what storage holds under the user's prefix is
/// exactly what the records name (stages still finishing may write for a
/// few seconds after their job ended), then checks it stays so.
async fn settles_to_named(user: &str) -> BTreeSet<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        glimvid_tests::run_sweeper().await;
        let held: BTreeSet<String> = glimvid_tests::object_keys(&format!("users/{user}/"))
            .await
            .into_iter()
            .collect();
        let named = named_keys(user).await;
        let unnamed: Vec<_> = held.difference(&named).collect();
        if unnamed.is_empty() {
            tokio::time::sleep(Duration::from_secs(3)).await;
            glimvid_tests::run_sweeper().await;
            let again: BTreeSet<String> = glimvid_tests::object_keys(&format!("users/{user}/"))
                .await
                .into_iter()
                .collect();
            let named = named_keys(user).await;
            assert!(again.is_subset(&named), "{again:?} vs {named:?}");
            return again;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "objects no record names: {unnamed:?}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[tokio::test]
async fn a_reused_upload_url_cannot_change_the_stored_photo() {
    let (me, _, user) = signed_up_with(0).await;
    let original = photo(800, 600, ImageFormat::Png);
    let ticket = me
        .post(
            "/uploads",
            json!({"content_type": "image/png", "size_bytes": original.len()}),
        )
        .await;
    assert_eq!(ticket.status, StatusCode::CREATED, "{}", ticket.body);
    let id = ticket.body["upload_id"].as_str().expect("id").to_owned();
    let put = ticket_put(&ticket.body).body(original.clone()).send().await;
    assert_eq!(put.expect("PUT").status(), StatusCode::OK);
    let done = me.post(&format!("/uploads/{id}/complete"), json!({})).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);

    // The same ticket, again, with other bytes of the same type and size.
    let mut other = photo(800, 600, ImageFormat::Png);
    other.truncate(original.len());
    other.resize(original.len(), 0);
    other[original.len() / 2] ^= 0xff;
    assert_ne!(other, original);
    let again = ticket_put(&ticket.body).body(other).send().await;
    assert_eq!(
        again.expect("PUT").status(),
        StatusCode::OK,
        "storage takes it..."
    );
    let app = app().await;
    let upload = glimvid::uploads::owned(&app, &user, &id)
        .await
        .expect("upload");
    assert_eq!(
        stored(&upload.key).await.as_deref(),
        Some(original.as_slice()),
        "...but the verified photo is what it was"
    );
    assert_eq!(
        glimvid::privacy::training::tag_of(&app, &upload.key)
            .await
            .expect("tags")
            .as_deref(),
        Some("allowed"),
        "and keeps the tag the server gave it"
    );
    // Completing again changes nothing either.
    let twice = me.post(&format!("/uploads/{id}/complete"), json!({})).await;
    assert_eq!(twice.status, StatusCode::OK, "{}", twice.body);
    assert_eq!(
        stored(&upload.key).await.as_deref(),
        Some(original.as_slice())
    );

    // Once the URL has expired, what it wrote is gone and nothing more can be.
    tokio::time::sleep(Duration::from_secs(9)).await;
    let late = ticket_put(&ticket.body).body(original.clone()).send().await;
    assert_eq!(late.expect("PUT").status(), StatusCode::FORBIDDEN);
    let held = settles_to_named(&user).await;
    assert_eq!(held, BTreeSet::from([upload.key.clone()]));
}

#[derive(Clone, Copy, Debug)]
enum Ender {
    Cancel,
    Delete,
    Deadline,
    Purge,
}

/// Ends the job the way `ender` does, while its stages run.
async fn end(me: &Api, video: &str, ender: Ender) {
    match ender {
        Ender::Cancel => {
            let r = me.post(&format!("/videos/{video}/cancel"), json!({})).await;
            // It may have just finished; either way it ends.
            assert!(
                r.status == StatusCode::OK || r.status == StatusCode::CONFLICT,
                "{}",
                r.body
            );
        }
        Ender::Delete => {
            let r = me.delete(&format!("/videos/{video}")).await;
            assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
        }
        Ender::Deadline => {
            // Its deadline passes now: the sweeper fails it (refunded).
            let app = app().await;
            app.dynamo
                .update_item()
                .table_name(&app.config.content_table)
                .key("pk", AttributeValue::S(format!("JOB#{video}")))
                .key("sk", AttributeValue::S("JOB".into()))
                .update_expression("SET due_at = :zero")
                .condition_expression("#status IN (:q, :r)")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":zero", AttributeValue::N("0".into()))
                .expression_attribute_values(":q", AttributeValue::S("queued".into()))
                .expression_attribute_values(":r", AttributeValue::S("running".into()))
                .send()
                .await
                .ok();
            glimvid_tests::run_sweeper().await;
        }
        Ender::Purge => {
            let r = me.delete_account(PASSWORD).await;
            assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
        }
    }
}

/// Each way a job ends, racing its running stages at two moments (as the
/// script step starts, and once the photo step has begun), with a stray
/// object left under the job as a stage killed between writing and
/// recording would: afterwards storage holds only what records name (for
/// a purge: nothing, public copies included).
#[tokio::test]
async fn ending_a_job_while_its_stages_run_leaves_no_object_unnamed() {
    let mut cases = tokio::task::JoinSet::new();
    for ender in [Ender::Cancel, Ender::Delete, Ender::Deadline, Ender::Purge] {
        for wait_for_stage in ["script", "enhance"] {
            cases.spawn(async move {
                let (me, _, user) = signed_up_with(5).await;
                let upload = me
                    .completed_upload(photo(900, 700, ImageFormat::Png), "image/png")
                    .await;
                let video = start_video(&me, &upload).await;
                let stray = format!("users/{user}/jobs/{video}/video-killedmidway.mp4");
                let app = app().await;
                glimvid::storage::put_bytes(&app, &stray, "video/mp4", vec![0; 64])
                    .await
                    .expect("stray object");
                let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
                loop {
                    let job = me.get(&format!("/videos/{video}")).await.body;
                    let stage = job["stage"].as_str().unwrap_or_default().to_owned();
                    let past = |s: &str| match wait_for_stage {
                        "script" => s != "queued",
                        _ => !matches!(s, "queued" | "script"),
                    };
                    if past(&stage) || job["status"] != "queued" && job["status"] != "running" {
                        break;
                    }
                    assert!(tokio::time::Instant::now() < deadline, "{job}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                end(&me, &video, ender).await;
                let held = settles_to_named(&user).await;
                assert!(!held.contains(&stray), "{ender:?}: {held:?}");
                match ender {
                    Ender::Purge => {
                        assert!(held.is_empty(), "{ender:?} left {held:?}");
                    }
                    Ender::Delete => {
                        assert!(
                            held.iter().all(|k| !k.contains(&video)),
                            "{ender:?} left {held:?}"
                        );
                    }
                    Ender::Cancel | Ender::Deadline => {}
                }
                // No published copy outlives a job that did not succeed.
                let public = glimvid_tests::object_keys("public/").await;
                let job = glimvid::jobs::store::get(&app, &video).await.expect("read");
                if let Some(pid) = job.as_ref().and_then(|j| j.public_id.clone()) {
                    let succeeded = job
                        .as_ref()
                        .is_some_and(|j| j.status == glimvid::jobs::Status::Succeeded);
                    assert_eq!(
                        public.contains(&glimvid::jobs::public_video_key(&pid)),
                        succeeded,
                        "{ender:?}"
                    );
                }
            });
        }
    }
    while let Some(result) = cases.join_next().await {
        result.expect("a race case");
    }
}

#[tokio::test]
async fn a_public_link_redirects_to_a_key_naming_neither_owner_nor_job() {
    let (me, _, user) = signed_up_with(5).await;
    let upload = me
        .completed_upload(photo(800, 800, ImageFormat::Png), "image/png")
        .await;
    let video = start_video(&me, &upload).await;
    let done = me.job_when_done(&video, Duration::from_secs(180)).await;
    assert_eq!(done.body["status"], "succeeded", "{}", done.body);
    let path = done.body["public_path"].as_str().expect("public path");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let url = format!("{}{path}", glimvid_tests::harness().base_url);
    let redirect = client.get(&url).send().await.expect("GET /v/{id}");
    assert_eq!(redirect.status(), StatusCode::FOUND);
    let target = redirect
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("a Location")
        .to_owned();
    assert!(!target.contains(&user), "{target}");
    assert!(!target.contains(&video), "{target}");
    let public_id = path.trim_start_matches("/v/");
    assert!(
        target.contains(&format!("public/{public_id}.mp4")),
        "{target}"
    );
    let served = reqwest::get(&target).await.expect("follow");
    assert_eq!(served.status(), StatusCode::OK);
    let bytes = served.bytes().await.expect("bytes");
    let app = app().await;
    let job = glimvid::jobs::store::get(&app, &video)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        Some(bytes.to_vec()),
        stored(job.video_key.as_deref().expect("video key")).await,
        "the published copy is the video"
    );
    // Deleting the video takes the copy and the link with it.
    assert_eq!(
        me.delete(&format!("/videos/{video}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        client.get(&url).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert!(
        stored(&glimvid::jobs::public_video_key(public_id))
            .await
            .is_none()
    );
}

/// An SDK failure inside a stage (the photo removed from storage behind
/// the pipeline's back, so S3 answers NoSuchKey on every try) is told to
/// the owner as a listed code and its written text, in the job and the
/// mail, never as the error the SDK gave.
#[tokio::test]
async fn an_sdk_failure_reaches_the_owner_only_as_a_listed_reason() {
    let (me, email, user) = signed_up_with(5).await;
    let upload = me
        .completed_upload(photo(800, 800, ImageFormat::Png), "image/png")
        .await;
    let app = app().await;
    let record = glimvid::uploads::owned(&app, &user, &upload).await.unwrap();
    glimvid::storage::delete_objects(&app, std::slice::from_ref(&record.key))
        .await
        .unwrap();
    let video = start_video(&me, &upload).await;
    let done = me.job_when_done(&video, Duration::from_secs(180)).await;
    assert_eq!(done.body["status"], "failed", "{}", done.body);
    let error = &done.body["error"];
    assert_eq!(error["stage"], "enhance", "{error}");
    assert_eq!(error["code"], "retries_exhausted", "{error}");
    assert_eq!(error["cause"], "internal_error", "{error}");
    let listed: BTreeSet<&str> = glimvid::jobs::failure::codes().collect();
    assert!(listed.contains(error["code"].as_str().unwrap()));
    let message = error["message"].as_str().expect("message");
    assert_eq!(
        message,
        "something went wrong on our side in the photo step; the photo step kept failing, so we stopped trying"
    );
    let mail = mail::wait_for(&email, "could not be made").await;
    assert!(mail.text.contains(message), "{}", mail.text);
    for told in [message, mail.text.as_str(), &done.body.to_string()] {
        for internal in [
            "NoSuchKey",
            "S3",
            "service error",
            "dispatch",
            "get object",
            &app.config.media_bucket,
            &record.key,
        ] {
            assert!(!told.contains(internal), "{internal:?} in {told}");
        }
    }
}

/// 20 wrong passwords for one address, each from its own IP, and the
/// 21st attempt (even with the right password) is refused for the window,
/// with the same answer for an address that has no account. A password
/// reset (the mailbox proven) lifts it.
#[tokio::test]
async fn twenty_wrong_passwords_from_twenty_ips_lock_the_account() {
    let (_, email) = api().signed_up().await;
    let nobody = unique_email();
    let mut last = Vec::new();
    for address in [&email, &nobody] {
        for _ in 0..20 {
            let wrong = Api::new()
                .post(
                    "/auth/login",
                    json!({"email": address, "password": "not it at all"}),
                )
                .await;
            assert!(
                wrong.status == StatusCode::UNAUTHORIZED
                    || wrong.status == StatusCode::TOO_MANY_REQUESTS,
                "{}",
                wrong.body
            );
        }
        let twenty_first = Api::new()
            .post(
                "/auth/login",
                json!({"email": address, "password": PASSWORD}),
            )
            .await;
        assert_eq!(
            twenty_first.status,
            StatusCode::TOO_MANY_REQUESTS,
            "{}",
            twenty_first.body
        );
        assert_eq!(twenty_first.error_code(), "rate_limited");
        last.push(twenty_first.body);
    }
    let shape = |v: &Value| {
        (
            v["error"]["code"].clone(),
            v["error"]["message"]
                .as_str()
                .map(|m| m.split(' ').take(3).collect::<Vec<_>>().join(" ")),
        )
    };
    assert_eq!(shape(&last[0]), shape(&last[1]), "{last:?}");

    // The owner resets the password by mail: the lock goes with it.
    let asked = Api::new()
        .post("/auth/password-reset", json!({"email": email}))
        .await;
    assert_eq!(asked.status, StatusCode::ACCEPTED);
    let reset = mail::wait_for(&email, mail::RESET_SUBJECT).await;
    let token = reset.token_after("#/reset?token=").expect("a link");
    let new_password = "a lock lifted by mail";
    let confirmed = Api::new()
        .post(
            "/auth/password-reset/confirm",
            json!({"token": token, "password": new_password}),
        )
        .await;
    assert_eq!(
        confirmed.status,
        StatusCode::NO_CONTENT,
        "{}",
        confirmed.body
    );
    let login = Api::new()
        .post(
            "/auth/login",
            json!({"email": email, "password": new_password}),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
}

/// A heavy account (50,000 usage-log lines) exports through the link: the
/// first answer stays under 10 KB, the file holds every line.
#[tokio::test]
async fn an_account_with_50k_usage_lines_exports_through_the_link() {
    const LINES: usize = 50_000;
    let (me, email, user) = signed_up_with(0).await;
    let app = app().await;
    let expires = (glimvid::clock::now().unix_timestamp() + 86_400).to_string();
    let mut batches = tokio::task::JoinSet::new();
    for chunk in 0..LINES / 25 {
        let (app, user, expires) = (app.clone(), user.clone(), expires.clone());
        batches.spawn(async move {
            let mut requests = Vec::new();
            for i in 0..25 {
                let n = chunk * 25 + i;
                let s = |v: String| AttributeValue::S(v);
                let item = std::collections::HashMap::from([
                    ("pk".to_owned(), s("203.0.113.77".into())),
                    (
                        "sk".to_owned(),
                        s(format!("2026-11-01T00:00:00Z#{user}#{n:06}")),
                    ),
                    ("ip".to_owned(), s("203.0.113.77".into())),
                    ("time".to_owned(), s("2026-11-01T00:00:00Z".into())),
                    ("method".to_owned(), s("GET".into())),
                    ("route".to_owned(), s("/videos/{id}".into())),
                    ("status".to_owned(), AttributeValue::N("200".into())),
                    ("user_id".to_owned(), s(user.clone())),
                    ("expires_at".to_owned(), AttributeValue::N(expires.clone())),
                ]);
                requests.push(
                    WriteRequest::builder()
                        .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
                        .build(),
                );
            }
            let mut pending = requests;
            while !pending.is_empty() {
                let out = app
                    .dynamo
                    .batch_write_item()
                    .request_items(&app.config.usage_log_table, pending)
                    .send()
                    .await
                    .expect("seed usage lines");
                pending = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&app.config.usage_log_table))
                    .unwrap_or_default();
            }
        });
        while batches.len() >= 16 {
            batches.join_next().await.unwrap().unwrap();
        }
    }
    while let Some(r) = batches.join_next().await {
        r.unwrap();
    }
    let (started, export) = me.export().await;
    let first_bytes = started.body.to_string().len();
    assert!(
        first_bytes < 10 * 1024,
        "{first_bytes} bytes: {}",
        started.body
    );
    let lines = export["usage_log"].as_array().expect("usage log").len();
    assert!(lines >= LINES, "{lines} lines");
    assert_eq!(export["account"]["email"], email);
    assert_eq!(export["format"], "glimvid-export/2");
    let ready = mail::wait_for(&email, "data export is ready").await;
    assert!(ready.text.contains("#/account"), "{}", ready.text);
}
