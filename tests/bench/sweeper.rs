//! The retention sweeper over a large content table: N synthetic items
//! (default 100,000) of which a tenth are due (uploads whose URL expired,
//! ended jobs to reconcile) and the rest due in a month. Prints the
//! seeding rate, one sweeper run's items handled per second, what is
//! still due after that one run, and beside it, as the reference, how long
//! one scan of the same table takes (what the sweeper did before the due
//! index, 2,000 items per hourly run). Run it with `./scripts/bench`.

use std::collections::HashMap;
use std::time::Instant;

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use glimvid::jobs::{Job, Stage, Status};

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn job(user_id: &str, n: usize, status: Status) -> Job {
    Job {
        id: format!("bench-job-{n:07}"),
        user_id: user_id.to_owned(),
        status,
        stage: Stage::Done,
        title: "Bench mug".into(),
        description: "A synthetic job.".into(),
        language: "en".into(),
        aspect_ratio: "9:16".into(),
        duration_s: 5,
        style: None,
        music: "none".into(),
        display_price: None,
        url: None,
        upload_ids: Vec::new(),
        upload_keys: Vec::new(),
        price: 1,
        created_at: "2026-11-01T00:00:00Z".into(),
        updated_at: "2026-11-01T00:00:00Z".into(),
        finished_at: None,
        script: None,
        enhanced_keys: Vec::new(),
        group_id: None,
        variant: 0,
        variant_ids: Vec::new(),
        video_key: None,
        poster_key: None,
        public_id: None,
        execution_arn: None,
        error: None,
        fallback: false,
        fallback_shots: 0,
    }
}

fn item(n: usize, now: i64, due: bool) -> HashMap<String, AttributeValue> {
    let user = format!("bench-user-{:04}", n % 1000);
    let at = if due { now - 60 } else { now + 30 * 86_400 };
    if due && (n / 10) % 2 == 0 {
        // An upload whose URL expired and that was never completed.
        let id = format!("bench-upload-{n:07}");
        let pk = format!("UPLOAD#{id}");
        let mut item = HashMap::from([
            ("pk".to_owned(), s(&pk)),
            ("sk".to_owned(), s("UPLOAD")),
            ("kind".to_owned(), s("upload")),
            ("upload_id".to_owned(), s(&id)),
            ("user_id".to_owned(), s(&user)),
            (
                "key".to_owned(),
                s(format!("users/{user}/uploads/{id}.png")),
            ),
            (
                "incoming_key".to_owned(),
                s(format!("users/{user}/incoming/{id}.png")),
            ),
            ("status".to_owned(), s("pending")),
            ("content_type".to_owned(), s("image/png")),
            ("size_bytes".to_owned(), AttributeValue::N("1000".into())),
            ("created_at".to_owned(), s("2026-12-01T00:00:00Z")),
            ("gsi1pk".to_owned(), s(format!("USER#{user}#UPLOADS"))),
            ("gsi1sk".to_owned(), s(format!("2026-12-01T00:00:00Z#{id}"))),
        ]);
        item.extend(glimvid::due::attributes(&pk, at));
        return item;
    }
    // A job: ended and due for reconciliation, or live and far from its deadline.
    let status = if due {
        Status::Succeeded
    } else {
        Status::Running
    };
    let job = job(&user, n, status);
    let mut item = glimvid::jobs::store::to_item(&job);
    item.extend(glimvid::due::attributes(
        &glimvid::jobs::store::pk(&job.id),
        at,
    ));
    item
}

#[tokio::main]
async fn main() {
    let total: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let due = total / 10;
    let harness = glimvid_tests::harness();
    let app = glimvid_tests::app().await;
    let table = harness.config.content_table.clone();
    let now = glimvid::clock::now().unix_timestamp();

    let started = Instant::now();
    let mut writes = tokio::task::JoinSet::new();
    for chunk in 0..total.div_ceil(25) {
        let (db, table) = (app.dynamo.clone(), table.clone());
        writes.spawn(async move {
            let mut pending: Vec<WriteRequest> = (chunk * 25..((chunk + 1) * 25).min(total))
                .map(|n| {
                    // Due items spread through the table, as they would be.
                    let is_due = n % (total / due) == 0;
                    WriteRequest::builder()
                        .put_request(
                            PutRequest::builder()
                                .set_item(Some(item(n, now, is_due)))
                                .build()
                                .expect("put request"),
                        )
                        .build()
                })
                .collect();
            while !pending.is_empty() {
                let out = db
                    .batch_write_item()
                    .request_items(&table, pending)
                    .send()
                    .await
                    .expect("seed");
                pending = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&table))
                    .unwrap_or_default();
            }
        });
        while writes.len() >= 16 {
            writes.join_next().await.expect("a write").expect("seeded");
        }
    }
    while let Some(w) = writes.join_next().await {
        w.expect("seeded");
    }
    let seeded = started.elapsed();
    println!(
        "sweeper: {total} items seeded ({due} due) in {:.1} s ({:.0} items/s)",
        seeded.as_secs_f64(),
        total as f64 / seeded.as_secs_f64()
    );

    let sweeper = glimvid_tests::function_app("SweeperFunction").await;
    let started = Instant::now();
    let report = glimvid::sweeper::run(&sweeper).await.expect("sweeper run");
    let ran = started.elapsed();
    let handled = report.uploads_cleaned + report.jobs_reconciled + report.uploads_deleted;
    println!(
        "sweeper: one run handled {handled} due items in {:.1} s ({:.0} items/s), complete={}, errors={}",
        ran.as_secs_f64(),
        handled as f64 / ran.as_secs_f64(),
        report.complete,
        report.errors
    );
    let mut left = 0;
    for shard in glimvid::due::shards() {
        let mut start = None;
        loop {
            let (items, next) = glimvid::due::page(&app, &shard, now, 1000, start)
                .await
                .expect("due page");
            left += items
                .iter()
                .filter(|i| {
                    i.get("pk")
                        .and_then(|v| v.as_s().ok())
                        .is_some_and(|p| p.contains("bench-"))
                })
                .count();
            match next {
                Some(k) => start = Some(k),
                None => break,
            }
        }
    }
    println!("sweeper: due items still waiting after that one run: {left}");

    // The reference: one pass over the whole table, as a scan-based sweep
    // needs before it has seen every item.
    let started = Instant::now();
    let mut scanned = 0;
    let mut start = None;
    loop {
        let page = app
            .dynamo
            .scan()
            .table_name(&table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        scanned += page.scanned_count() as usize;
        start = page.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    let scan = started.elapsed();
    println!(
        "sweeper: reference, one full scan of the table read {scanned} items in {:.1} s ({:.0} items/s); the old sweeper read 2,000 a run, so {:.0} hourly runs to see them all",
        scan.as_secs_f64(),
        scanned as f64 / scan.as_secs_f64(),
        (scanned as f64 / 2000.0).ceil()
    );
}
