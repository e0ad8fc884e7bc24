//! The whole path: presigned upload, job, Step Functions + SQS stages in
//! the emulator, a real MP4 at the end.

use std::time::Duration;

use glimvid_media::image::ImageFormat;
use glimvid_tests::media::{inspect_mp4, photo, photo_of_side, ready_to_post};
use glimvid_tests::{Api, Reply, app, grant, harness_with, object_count};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Every delivery is handed to the worker twice, as SQS may do.
fn options(o: &mut glimvid_runner::Options) {
    o.deliver_twice = true;
}

fn api() -> Api {
    harness_with(options);
    Api::new()
}

async fn upload(me: &Api, bytes: &[u8], content_type: &str) -> String {
    me.put_upload(bytes.to_vec(), content_type).await
}

async fn put_presigned(ticket: &Value, content_type: &str, body: Vec<u8>) -> StatusCode {
    let mut ticket = ticket.clone();
    ticket["headers"]["content-type"] = json!(content_type);
    glimvid_tests::ticket_put(&ticket)
        .body(body)
        .send()
        .await
        .expect("PUT to storage")
        .status()
}

async fn wait_until_done(me: &Api, id: &str) -> Reply {
    me.job_when_done(id, Duration::from_secs(240)).await
}

async fn user_id(me: &Api) -> String {
    me.get("/me").await.body["id"].as_str().unwrap().to_owned()
}

async fn ledger(user: &str) -> Vec<glimvid::credits::Entry> {
    glimvid::credits::ledger(&app().await, user).await.unwrap()
}

async fn balance(user: &str) -> i64 {
    glimvid::credits::balance(&app().await, user).await.unwrap()
}

async fn download(url: &str) -> Vec<u8> {
    let resp = reqwest::get(url).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.bytes().await.unwrap().to_vec()
}

/// The video behind the job's `download_url`, checked to come as an
/// attachment (storage's own answer, through the presigned link) with
/// `disposition`; the `video_url` beside it still plays inline.
async fn download_as_attachment(job: &Value, disposition: &str) -> Vec<u8> {
    let resp = reqwest::get(job["download_url"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let header = |resp: &reqwest::Response, name| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header(&resp, "content-disposition"), disposition);
    assert_eq!(header(&resp, "content-type"), "video/mp4");
    let inline = reqwest::get(job["video_url"].as_str().unwrap())
        .await
        .unwrap();
    assert!(
        !header(&inline, "content-disposition").starts_with("attachment"),
        "video_url plays inline"
    );
    let bytes = resp.bytes().await.unwrap().to_vec();
    assert_eq!(bytes, inline.bytes().await.unwrap().to_vec());
    bytes
}

#[tokio::test]
async fn photo_becomes_an_mp4_through_the_state_machine() {
    let (me, _) = api().signed_up().await;
    let user = user_id(&me).await;
    let upload_id = upload(&me, &photo(1200, 900, ImageFormat::Jpeg), "image/jpeg").await;
    let done = me
        .post(&format!("/uploads/{upload_id}/complete"), json!({}))
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.body["width"], 1200);

    let created = me
        .post(
            "/videos",
            json!({"upload_id": upload_id, "title": "Ceramic mug", "description": "Hand-thrown stoneware mug. Holds 350 ml. Dishwasher safe.", "language": "en", "aspect_ratio": "16:9", "duration_s": 5,
                   "music": " Upbeat ", "display_price": " $24 ", "url": " https://shop.example.com/mug?c=blue "}),
        )
        .await;
    assert_eq!(created.status, StatusCode::ACCEPTED, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let job = wait_until_done(&me, &id).await;
    assert_eq!(job.body["status"], "succeeded", "{}", job.body);
    // Stored normalised, and `price` is still the cost in credits.
    assert_eq!(job.body["music"], "upbeat");
    assert_eq!(job.body["display_price"], "$24");
    assert_eq!(job.body["url"], "https://shop.example.com/mug?c=blue");
    assert_eq!(job.body["price"], 1);
    assert_eq!(job.body["percent"], 100);
    assert!(
        job.body["script"]["scenes"]
            .as_array()
            .is_some_and(|s| (1..=5).contains(&s.len()))
    );
    assert!(job.body["enhanced_image_url"].is_string());

    let mp4 = download_as_attachment(&job.body, "attachment; filename=\"ceramic-mug.mp4\"").await;
    let facts = inspect_mp4(&mp4);
    assert_eq!(facts.codec, "h264");
    assert_eq!((facts.width, facts.height), (1280, 720));
    assert_eq!(facts.samples, 150);
    assert!(
        (facts.duration_s - 5.0).abs() < 0.05,
        "{}",
        facts.duration_s
    );
    // Sound, fast start, a phone-friendly profile: ready to post.
    let ready = ready_to_post(&mp4);
    assert!((ready.lufs + 14.0).abs() < 2.0, "{:.1} LUFS", ready.lufs);

    // The public link needs no login and redirects to the video.
    let public = job.body["public_path"].as_str().unwrap();
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let link = no_redirect
        .get(format!("{}{public}", glimvid_tests::harness().base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(link.status(), StatusCode::FOUND);

    // Delivered twice, every stage still ran once: one debit, and the
    // ledger is the trial grant and that debit.
    let entries = ledger(&user).await;
    assert_eq!(
        entries.iter().filter(|e| e.kind == "debit").count(),
        1,
        "{entries:?}"
    );
    assert_eq!(entries.iter().map(|e| e.amount).sum::<i64>(), 0);
    assert_eq!(balance(&user).await, 0);

    // Deleting the video removes its objects and its public link.
    assert_eq!(
        me.delete(&format!("/videos/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        me.get(&format!("/videos/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    let gone = no_redirect
        .get(format!("{}{public}", glimvid_tests::harness().base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn text_to_video_in_portrait_for_ten_seconds() {
    let (me, _) = api().signed_up().await;
    grant(&user_id(&me).await, 1).await;
    let created = me
        .post(
            "/videos",
            json!({"title": "手工茶杯", "description": "手工拉坯的陶瓷茶杯，容量350毫升，可用洗碗机清洗。", "language": "zh", "aspect_ratio": "9:16", "duration_s": 10, "style": "calm"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::ACCEPTED, "{}", created.body);
    let job = wait_until_done(&me, created.body["id"].as_str().unwrap()).await;
    assert_eq!(job.body["status"], "succeeded", "{}", job.body);
    assert!(
        job.body["enhanced_image_url"].is_null(),
        "text-to-video skips enhance"
    );
    assert_eq!(job.body["music"], "auto", "the style's mood when left out");
    assert!(job.body["display_price"].is_null() && job.body["url"].is_null());
    // A Chinese title: an ASCII fallback name and the title in UTF-8.
    let mp4 = download_as_attachment(
        &job.body,
        "attachment; filename=\"video.mp4\"; filename*=UTF-8''%E6%89%8B%E5%B7%A5%E8%8C%B6%E6%9D%AF.mp4",
    )
    .await;
    let facts = inspect_mp4(&mp4);
    assert_eq!((facts.width, facts.height), (720, 1280));
    assert_eq!(facts.samples, 300);
    ready_to_post(&mp4);
}

/// Mean absolute difference per channel over the top half (above the
/// captions), 0..255.
fn top_difference(a: &glimvid_media::image::RgbImage, b: &glimvid_media::image::RgbImage) -> f64 {
    let rows = (a.height() / 2) as usize * a.width() as usize * 3;
    let total: u64 = a.as_raw()[..rows]
        .iter()
        .zip(&b.as_raw()[..rows])
        .map(|(&x, &y)| u64::from(x.abs_diff(y)))
        .sum();
    total as f64 / rows as f64
}

/// The multi-shot ad through the platform: three photos (in order) make a
/// 30 s 9:16 video of a shot per caption and the end card, each photo
/// enhanced, the script a scene per photo at least, one 30 s sound track,
/// at the 30 s price. (media/tests/render.rs checks the transitions and
/// each caption's shot frame by frame.)
#[tokio::test]
async fn thirty_seconds_from_three_photos_is_an_ad_of_several_shots() {
    let (me, _) = api().signed_up().await;
    let user = user_id(&me).await;
    grant(&user, 5).await;
    let mut ids = Vec::new();
    for k in 0..3 {
        ids.push(
            me.completed_upload(photo_of_side(k, ImageFormat::Jpeg), "image/jpeg")
                .await,
        );
    }
    let created = me
        .post(
            "/videos",
            json!({"upload_ids": ids, "title": "Desk lamp", "description": "Brass desk lamp. Warm LED light. Dimmable. Weighted base.", "language": "en", "aspect_ratio": "9:16", "duration_s": 30}),
        )
        .await;
    assert_eq!(created.status, StatusCode::ACCEPTED, "{}", created.body);
    let job = wait_until_done(&me, created.body["id"].as_str().unwrap()).await;
    assert_eq!(job.body["status"], "succeeded", "{}", job.body);
    assert_eq!(job.body["upload_ids"], json!(ids));
    assert_eq!(job.body["upload_id"], json!(ids[0]));
    assert_eq!(job.body["price"], 6);
    let script: glimvid_media::Script = serde_json::from_value(job.body["script"].clone()).unwrap();
    assert!(script.scenes.len() >= 3, "{script:?}");

    let mp4 = download(job.body["video_url"].as_str().unwrap()).await;
    let facts = inspect_mp4(&mp4);
    assert_eq!((facts.width, facts.height, facts.samples), (720, 1280, 900));
    assert_eq!(ready_to_post(&mp4).fps, 30);
    let pcm = glimvid_media::render::decode_audio(&mp4).unwrap().unwrap();
    assert!(
        (pcm.seconds() - 30.0).abs() < 0.05,
        "{:.2} s",
        pcm.seconds()
    );

    // The middle of each planned shot: at least five unlike all others.
    let plan = glimvid_media::render::shot_plan(&script, 30);
    assert!(plan.len() >= 6, "{plan:?}");
    let mut middles = Vec::new();
    let mut start = 0.0;
    for shot in &plan {
        middles.push(((start + shot.seconds / 2.0) * 30.0) as usize);
        start += shot.seconds;
    }
    let (_, frames) = glimvid_media::render::decode_video(&mp4).unwrap();
    let picked: Vec<_> = middles
        .iter()
        .map(|&i| frames[i.min(899)].clone())
        .collect();
    drop(frames);
    let distinct = (0..picked.len())
        .filter(|&i| {
            (0..picked.len()).all(|j| i == j || top_difference(&picked[i], &picked[j]) > 3.0)
        })
        .count();
    assert!(
        distinct >= 5,
        "{distinct} of {} shots are unlike all others",
        picked.len()
    );

    let entries = ledger(&user).await;
    let debits: Vec<_> = entries.iter().filter(|e| e.kind == "debit").collect();
    assert_eq!(debits.len(), 1, "{entries:?}");
    assert_eq!(debits[0].amount, -6);
}

/// Variants: one request, that many videos of one product with their own
/// hooks, grouped, paid in one transaction. Short of the whole batch's
/// price, none is made and nothing is debited.
#[tokio::test]
async fn three_variants_are_three_videos_with_different_hooks_all_or_nothing() {
    let (me, _) = api().signed_up().await;
    let user = user_id(&me).await;
    grant(&user, 1).await;
    let upload_id = me
        .completed_upload(photo(1200, 900, ImageFormat::Jpeg), "image/jpeg")
        .await;
    let body = json!({"upload_id": upload_id, "title": "Linen apron", "description": "Stonewashed linen apron. Two deep pockets. Adjustable strap.", "language": "en", "aspect_ratio": "1:1", "duration_s": 5, "variants": 3});

    // A balance of 2 buys no part of a batch of 3.
    short_of_credits(&me, &user, body.clone(), 2).await;

    grant(&user, 1).await;
    let created = me.post("/videos", body).await;
    assert_eq!(created.status, StatusCode::ACCEPTED, "{}", created.body);
    let ids: Vec<String> = created.body["variant_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 3, "{}", created.body);
    assert_eq!(created.body["id"], json!(ids[0]));
    let group = created.body["group_id"].as_str().unwrap().to_owned();

    let mut hooks = std::collections::HashSet::new();
    for (k, id) in ids.iter().enumerate() {
        let job = wait_until_done(&me, id).await;
        assert_eq!(job.body["status"], "succeeded", "{}", job.body);
        assert_eq!(job.body["group_id"], json!(group));
        assert_eq!(job.body["variant"], k);
        assert_eq!(job.body["variant_ids"], json!(ids));
        hooks.insert(job.body["script"]["hook"].as_str().unwrap().to_owned());
    }
    assert_eq!(hooks.len(), 3, "{hooks:?}");

    // Listed together, and paid once each in one go.
    let listed = me.get("/videos").await;
    let grouped = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["group_id"] == json!(group))
        .count();
    assert_eq!(grouped, 3, "{}", listed.body);
    let entries = ledger(&user).await;
    let debits: Vec<_> = entries.iter().filter(|e| e.kind == "debit").collect();
    assert_eq!(debits.len(), 3, "{entries:?}");
    assert_eq!(balance(&user).await, 0);
}

/// `upload_ids` names completed uploads of the user's own, each once, no
/// more than the duration has scenes; anything else is a 400 (409 for an
/// upload not yet completed) naming the field, and nothing is paid.
#[tokio::test]
async fn photo_lists_are_checked_before_anything_is_paid() {
    let (me, _) = api().signed_up().await;
    let user = user_id(&me).await;
    grant(&user, 5).await;
    let (other, _) = api().signed_up().await;
    let mine = me
        .completed_upload(photo(800, 600, ImageFormat::Jpeg), "image/jpeg")
        .await;
    let not_completed = upload(&me, &photo(800, 600, ImageFormat::Jpeg), "image/jpeg").await;
    let theirs = other
        .completed_upload(photo(800, 600, ImageFormat::Jpeg), "image/jpeg")
        .await;
    let body = |ids: Value, duration: u32| json!({"upload_ids": ids, "title": "Mug", "description": "A mug.", "language": "en", "aspect_ratio": "1:1", "duration_s": duration});
    let cases = [
        (body(json!([mine, mine]), 15), StatusCode::BAD_REQUEST),
        (body(json!([mine, theirs]), 15), StatusCode::BAD_REQUEST),
        (body(json!([mine, not_completed]), 15), StatusCode::CONFLICT),
        // A 5 s video has one scene: one photo.
        (body(json!([mine, theirs]), 5), StatusCode::BAD_REQUEST),
        (body(json!([]), 15), StatusCode::BAD_REQUEST),
    ];
    for (request, status) in cases {
        let reply = me.post("/videos", request.clone()).await;
        assert_eq!(reply.status, status, "{request}: {}", reply.body);
        assert_eq!(
            reply.body["error"]["field"], "upload_ids",
            "{request}: {}",
            reply.body
        );
    }
    let mut both = body(json!([mine]), 15);
    both["upload_id"] = json!(mine);
    assert_eq!(
        me.post("/videos", both).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(ledger(&user).await.len(), 2, "the trial and the grant only");
    assert!(
        me.get("/videos").await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn storage_refuses_another_type_or_a_longer_body() {
    let (me, _) = api().signed_up().await;
    let bytes = photo(800, 600, ImageFormat::Png);
    let ticket = me
        .post(
            "/uploads",
            json!({"content_type": "image/png", "size_bytes": bytes.len()}),
        )
        .await;
    assert_eq!(ticket.status, StatusCode::CREATED);
    assert_eq!(
        put_presigned(&ticket.body, "image/jpeg", bytes.clone()).await,
        StatusCode::FORBIDDEN
    );
    let mut longer = bytes.clone();
    longer.extend_from_slice(&[0; 100]);
    assert_eq!(
        put_presigned(&ticket.body, "image/png", longer).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        put_presigned(&ticket.body, "image/png", bytes).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn non_image_bytes_are_refused_and_removed() {
    let (me, _) = api().signed_up().await;
    let fake = b"GIF89a this is not a photo at all, just text pretending".repeat(20);
    let upload_id = upload(&me, &fake, "image/jpeg").await;
    let done = me
        .post(&format!("/uploads/{upload_id}/complete"), json!({}))
        .await;
    assert_eq!(
        done.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        done.body
    );
    assert_eq!(
        me.post(&format!("/uploads/{upload_id}/complete"), json!({}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let user = user_id(&me).await;
    assert_eq!(
        object_count(&format!("users/{user}/")).await,
        0,
        "the object is gone"
    );

    // Too small a photo is refused the same way.
    let tiny = upload(&me, &photo(200, 200, ImageFormat::Png), "image/png").await;
    let done = me
        .post(&format!("/uploads/{tiny}/complete"), json!({}))
        .await;
    assert_eq!(done.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(done.error_code(), "bad_dimensions");
}

#[tokio::test]
async fn cancel_refunds_once() {
    let (me, _) = api().signed_up().await;
    let user = user_id(&me).await;
    let created = me
        .post("/videos", json!({"title": "Lamp", "description": "A brass desk lamp.", "language": "en", "aspect_ratio": "1:1", "duration_s": 5}))
        .await;
    assert_eq!(created.status, StatusCode::ACCEPTED, "{}", created.body);
    let id = created.body["id"].as_str().unwrap();
    let cancelled = me.post(&format!("/videos/{id}/cancel"), json!({})).await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    assert_eq!(cancelled.body["status"], "cancelled");
    assert_eq!(
        me.post(&format!("/videos/{id}/cancel"), json!({}))
            .await
            .status,
        StatusCode::CONFLICT
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        me.get(&format!("/videos/{id}")).await.body["status"],
        "cancelled"
    );
    let entries = ledger(&user).await;
    assert_eq!(
        entries.iter().filter(|e| e.kind == "refund").count(),
        1,
        "{entries:?}"
    );
    assert_eq!(balance(&user).await, 1);
}

#[tokio::test]
async fn no_credits_means_402_and_nothing_written() {
    let (me, _) = api().signed_up().await;
    let user = user_id(&me).await;
    let body = json!({"title": "Vase", "description": "Blue glass vase.", "language": "en", "aspect_ratio": "1:1", "duration_s": 10});
    short_of_credits(&me, &user, body, 1).await;
}

/// `body` is refused for want of credits, the ledger still holds only its
/// first `entries` entries, and no video exists.
async fn short_of_credits(me: &Api, user: &str, body: Value, entries: usize) {
    let reply = me.post("/videos", body).await;
    assert_eq!(reply.status, StatusCode::PAYMENT_REQUIRED, "{}", reply.body);
    assert_eq!(reply.error_code(), "insufficient_credits");
    assert_eq!(ledger(user).await.len(), entries, "nothing debited");
    assert!(
        me.get("/videos").await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn another_users_job_and_upload_are_not_found() {
    let (owner, _) = api().signed_up().await;
    let (other, _) = api().signed_up().await;
    let upload_id = upload(&owner, &photo(640, 480, ImageFormat::Png), "image/png").await;
    let created = owner
        .post("/videos", json!({"title": "Bag", "description": "Leather bag.", "language": "en", "aspect_ratio": "1:1", "duration_s": 5}))
        .await;
    let job_id = created.body["id"].as_str().unwrap();
    for (method, path) in [
        ("GET", format!("/videos/{job_id}")),
        ("POST", format!("/videos/{job_id}/cancel")),
        ("DELETE", format!("/videos/{job_id}")),
        ("POST", format!("/uploads/{upload_id}/complete")),
        ("DELETE", format!("/uploads/{upload_id}")),
    ] {
        let reply = match method {
            "GET" => other.get(&path).await,
            "DELETE" => other.delete(&path).await,
            _ => other.post(&path, json!({})).await,
        };
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{method} {path}");
    }
    let used = other
        .post("/videos", json!({"upload_id": upload_id, "title": "Bag", "description": "x", "language": "en", "aspect_ratio": "1:1", "duration_s": 5}))
        .await;
    assert_eq!(used.status, StatusCode::BAD_REQUEST);
    assert_eq!(used.body["error"]["field"], "upload_id");
    assert!(
        other.get("/videos").await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

/// A new user's job the pipeline will not move on, made from a completed
/// upload: its execution is stopped (with the emulator's root key, as an
/// operator would) right after it was created. (user, user id, upload, job)
async fn held_job() -> (Api, String, String, String) {
    let (me, _) = api().signed_up().await;
    let user = user_id(&me).await;
    let upload_id = me
        .completed_upload(photo(800, 600, ImageFormat::Jpeg), "image/jpeg")
        .await;
    let created = me
        .post("/videos", json!({"upload_id": upload_id, "title": "Teapot", "description": "Cast iron, 600 ml.", "language": "en", "aspect_ratio": "1:1", "duration_s": 5}))
        .await;
    assert_eq!(created.status, StatusCode::ACCEPTED, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    glimvid_tests::stop_pipeline(&id).await;
    (me, user, upload_id, id)
}

/// VideosCancelFunction answers with the job, whose links are presigned
/// GETs: its role must allow s3:GetObject on what the job made.
#[tokio::test]
async fn a_cancelled_job_links_what_it_made_so_far() {
    let (me, user, upload_id, id) = held_job().await;
    // As if the enhance stage had recorded its image (the upload stands in).
    let app = app().await;
    let upload = glimvid::uploads::owned(&app, &user, &upload_id)
        .await
        .unwrap();
    app.dynamo
        .update_item()
        .table_name(&app.config.content_table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("JOB#{id}")),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("JOB".into()),
        )
        .update_expression("SET enhanced_key = :k")
        .expression_attribute_values(
            ":k",
            aws_sdk_dynamodb::types::AttributeValue::S(upload.key.clone()),
        )
        .send()
        .await
        .unwrap();

    let cancelled = me.post(&format!("/videos/{id}/cancel"), json!({})).await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    assert_eq!(cancelled.body["status"], "cancelled");
    let link = cancelled.body["enhanced_image_url"]
        .as_str()
        .unwrap_or_else(|| panic!("no link in {}", cancelled.body));
    assert!(!download(link).await.is_empty());
    assert_eq!(glimvid_tests::refused_calls("VideosCancelFunction"), []);
}

/// Deleting an upload cancels the live job made from it: a refund in the
/// credits table and a stopped execution, which UploadsDeleteFunction's
/// role must allow.
#[tokio::test]
async fn deleting_an_upload_cancels_and_refunds_its_live_job() {
    let (me, user, upload_id, id) = held_job().await;
    assert_eq!(balance(&user).await, 0);

    let deleted = me.delete(&format!("/uploads/{upload_id}")).await;
    assert!(deleted.status.is_success(), "{}", deleted.body);
    assert_eq!(
        me.get(&format!("/videos/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    let refunds: Vec<_> = ledger(&user)
        .await
        .into_iter()
        .filter(|e| e.kind == "refund" && e.job_id.as_deref() == Some(id.as_str()))
        .collect();
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert_eq!(balance(&user).await, 1);
    assert_eq!(glimvid_tests::refused_calls("UploadsDeleteFunction"), []);
}

#[tokio::test]
async fn uploads_are_listed_newest_first() {
    let (me, _) = api().signed_up().await;
    let first = me
        .completed_upload(photo(700, 500, ImageFormat::Jpeg), "image/jpeg")
        .await;
    let second = me
        .completed_upload(photo(640, 640, ImageFormat::Png), "image/png")
        .await;
    let listed = me.get("/uploads").await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let items = listed.body["items"].as_array().expect("items");
    let ids: Vec<&str> = items.iter().filter_map(|u| u["id"].as_str()).collect();
    assert_eq!(ids, [second.as_str(), first.as_str()]);
    assert_eq!(items[0]["content_type"], "image/png");
    assert_eq!(items[0]["width"], 640);
    assert_eq!(glimvid_tests::refused_calls("UploadsListFunction"), []);
}

/// Deleting a live video stops its execution and refunds it before its
/// records go.
#[tokio::test]
async fn deleting_a_live_video_refunds_it_and_stops_its_execution() {
    let (me, user, _, id) = held_job().await;
    let deleted = me.delete(&format!("/videos/{id}")).await;
    assert!(deleted.status.is_success(), "{}", deleted.body);
    assert_eq!(
        me.get(&format!("/videos/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(balance(&user).await, 1);
    assert_eq!(glimvid_tests::refused_calls("VideosDeleteFunction"), []);
}

/// The presigned PUT creates the object tagged pending (the bucket's
/// lifecycle rule expires those); completion replaces the tag.
#[tokio::test]
async fn an_upload_is_pending_in_storage_until_completed() {
    let (me, _) = api().signed_up().await;
    let user = user_id(&me).await;
    let id = me
        .put_upload(photo(800, 600, ImageFormat::Jpeg), "image/jpeg")
        .await;
    let app = app().await;
    // The URL writes an incoming key; completion stores the checked bytes
    // at the upload's own key, tagged by the server.
    let incoming = format!("users/{user}/incoming/{id}.jpg");
    let key = format!("users/{user}/uploads/{id}.jpg");
    let tags = |app: glimvid::App, key: String| async move {
        app.s3
            .get_object_tagging()
            .bucket(&app.config.media_bucket)
            .key(&key)
            .send()
            .await
            .expect("object tagging")
            .tag_set
            .into_iter()
            .map(|t| (t.key, t.value))
            .collect::<Vec<_>>()
    };
    let pending = vec![("glimvid-training".to_owned(), "pending".to_owned())];
    assert_eq!(tags(app.clone(), incoming.clone()).await, pending);
    let done = me.post(&format!("/uploads/{id}/complete"), json!({})).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let allowed = vec![("glimvid-training".to_owned(), "allowed".to_owned())];
    assert_eq!(tags(app, key).await, allowed);
    assert!(
        glimvid_tests::object_keys(&incoming).await.is_empty(),
        "the incoming object is gone once completed"
    );
}
