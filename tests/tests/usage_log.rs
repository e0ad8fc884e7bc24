//! Every request leaves one usage-log line that expires 30 days later, and
//! reads never return lines past their expiry.

use aws_sdk_dynamodb::types::AttributeValue;
use glimvid::App;
use glimvid_tests::{Api, dynamo, harness, scan_all};
use reqwest::StatusCode;

#[tokio::test]
async fn each_request_writes_a_line_expiring_in_30_days() {
    let anon = Api::new();
    let (me, _) = anon.signed_up_unverified().await;
    let before = glimvid::clock::epoch_seconds(glimvid::clock::now());
    assert_eq!(me.get("/me").await.status, StatusCode::OK);
    assert_eq!(anon.get("/me").await.status, StatusCode::UNAUTHORIZED);
    let after = glimvid::clock::epoch_seconds(glimvid::clock::now());

    let db = dynamo().await;
    let lines: Vec<_> = scan_all(&db, &harness().config.usage_log_table)
        .await
        .into_iter()
        .filter(|i| i.get("ip") == Some(&AttributeValue::S(anon.ip.clone())))
        .collect();
    assert_eq!(lines.len(), 3, "register, GET /me, unauthenticated GET /me");
    let thirty_days = 30 * 24 * 3600;
    for line in &lines {
        let expires: i64 = line["expires_at"].as_n().unwrap().parse().unwrap();
        assert!(
            expires >= before - 5 + thirty_days && expires <= after + 5 + thirty_days,
            "{expires}"
        );
        for key in ["time", "route", "status", "method"] {
            assert!(line.contains_key(key), "{key} missing");
        }
    }
    let routes: Vec<_> = lines
        .iter()
        .map(|l| l["route"].as_s().unwrap().as_str())
        .collect();
    assert!(routes.contains(&"POST /auth/register"));
    assert!(routes.contains(&"GET /me"));
    assert_eq!(
        lines.iter().filter(|l| l.contains_key("user_id")).count(),
        2,
        "the 401 has no user"
    );
    assert!(lines.iter().any(|l| l["status"].as_n().unwrap() == "401"));
}

#[tokio::test]
async fn reads_filter_out_expired_lines_that_ttl_has_not_deleted() {
    let (me, _) = Api::new().signed_up_unverified().await;
    let user_id = me.get("/me").await.body["id"].as_str().unwrap().to_owned();
    let db = dynamo().await;
    let app = App::new(
        harness().config.clone(),
        &glimvid::app::aws_sdk_config().await,
    );
    let live = glimvid::usage::for_user(&app, &user_id).await.unwrap();
    assert_eq!(live.len(), 2);

    let stale = glimvid::clock::epoch_seconds(glimvid::clock::now()) - 3600;
    db.put_item()
        .table_name(&harness().config.usage_log_table)
        .item("pk", AttributeValue::S("203.0.113.9".into()))
        .item("sk", AttributeValue::S("2020-01-01T00:00:00Z#old".into()))
        .item("ip", AttributeValue::S("203.0.113.9".into()))
        .item("time", AttributeValue::S("2020-01-01T00:00:00Z".into()))
        .item("method", AttributeValue::S("GET".into()))
        .item("route", AttributeValue::S("GET /me".into()))
        .item("status", AttributeValue::N("200".into()))
        .item("user_id", AttributeValue::S(user_id.clone()))
        .item("expires_at", AttributeValue::N(stale.to_string()))
        .send()
        .await
        .unwrap();
    let after = glimvid::usage::for_user(&app, &user_id).await.unwrap();
    assert_eq!(after, live, "the expired line is not returned");
}
