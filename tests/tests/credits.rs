//! Credits, payments and the free trial.

use glimvid_tests::{
    Api, WEBHOOK_SECRET, assert_ledger_consistent, checkout_event, checkout_event_with,
    harness_with, stripe_signature, with_payments,
};
use reqwest::StatusCode;
use serde_json::json;

fn api() -> Api {
    harness_with(with_payments);
    Api::new()
}

fn now() -> i64 {
    glimvid::clock::epoch_seconds(glimvid::clock::now())
}

#[tokio::test]
async fn webhook_grants_once_and_refuses_bad_or_stale_signatures() {
    let (me, _) = api().signed_up().await;
    let user = me.user_id().await;
    let provider = Api::new();
    let event = checkout_event(
        &format!("evt_{}", uuid::Uuid::new_v4().simple()),
        &user,
        "starter",
    );

    let forged = provider
        .webhook(&event, &stripe_signature("not the secret", now(), &event))
        .await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST);
    assert_eq!(forged.body["error"]["code"], "bad_signature");
    let stale = provider
        .webhook(
            &event,
            &stripe_signature(WEBHOOK_SECRET, now() - 400, &event),
        )
        .await;
    assert_eq!(stale.status, StatusCode::BAD_REQUEST);
    let tampered = provider
        .webhook(
            &event.replace("starter", "studio"),
            &stripe_signature(WEBHOOK_SECRET, now(), &event),
        )
        .await;
    assert_eq!(tampered.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        assert_ledger_consistent(&user).await,
        1,
        "only the trial so far"
    );

    let signature = stripe_signature(WEBHOOK_SECRET, now(), &event);
    let first = provider.webhook(&event, &signature).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.body["status"], "granted");
    let replay = provider.webhook(&event, &signature).await;
    assert_eq!(replay.status, StatusCode::OK);
    assert_eq!(replay.body["status"], "duplicate");
    assert_eq!(assert_ledger_consistent(&user).await, 6);

    let statement = me.get("/credits").await;
    assert_eq!(statement.status, StatusCode::OK);
    assert_eq!(statement.body["balance"], 6);
    let kinds: Vec<_> = statement.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].clone())
        .collect();
    assert_eq!(
        kinds,
        vec![json!("purchase"), json!("grant")],
        "newest first"
    );
    let packs = me.get("/credits/packs").await;
    assert!(
        packs.body["packs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == "starter" && p["credits"] == 5)
    );
}

/// Only what was paid, at the pack's price, is granted; everything else is
/// answered 200 (so Stripe stops retrying) and grants nothing.
#[tokio::test]
async fn a_webhook_grants_only_a_paid_session_at_the_packs_price_once() {
    let (me, _) = api().signed_up().await;
    let user = me.user_id().await;
    let provider = Api::new();
    let send = |event: String| {
        let provider = provider.clone();
        async move {
            let reply = provider
                .webhook(&event, &stripe_signature(WEBHOOK_SECRET, now(), &event))
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            reply.body["status"].as_str().unwrap_or_default().to_owned()
        }
    };
    let id = || format!("evt_{}", uuid::Uuid::new_v4().simple());
    let completed = "checkout.session.completed";
    for (what, edit) in [
        (
            "wrong amount",
            Box::new(|s: &mut serde_json::Value| s["amount_total"] = json!(1))
                as Box<dyn FnOnce(&mut serde_json::Value)>,
        ),
        (
            "another currency",
            Box::new(|s: &mut serde_json::Value| s["currency"] = json!("eur")),
        ),
        (
            "unpaid",
            Box::new(|s: &mut serde_json::Value| s["payment_status"] = json!("unpaid")),
        ),
        (
            "no status",
            Box::new(|s: &mut serde_json::Value| {
                s.as_object_mut().unwrap().remove("payment_status");
            }),
        ),
        (
            "no amount",
            Box::new(|s: &mut serde_json::Value| {
                s.as_object_mut().unwrap().remove("amount_total");
            }),
        ),
    ] {
        let status = send(checkout_event_with(
            &id(),
            completed,
            &user,
            "starter",
            edit,
        ))
        .await;
        assert_eq!(status, "ignored", "{what}");
    }
    let unknown = send(checkout_event_with(
        &id(),
        "customer.created",
        &user,
        "starter",
        |_| {},
    ))
    .await;
    assert_eq!(unknown, "ignored");
    assert_eq!(assert_ledger_consistent(&user).await, 1, "only the trial");

    // A delayed method: completed unpaid, then settled; then a replay of
    // the settlement under another event id names the same session.
    let session = json!(format!("cs_{}", uuid::Uuid::new_v4().simple()));
    let pending = checkout_event_with(&id(), completed, &user, "creator", |s| {
        s["id"] = session.clone();
        s["payment_status"] = json!("unpaid");
    });
    assert_eq!(send(pending).await, "ignored");
    let settled = |event_id: String| {
        checkout_event_with(
            &event_id,
            "checkout.session.async_payment_succeeded",
            &user,
            "creator",
            |s| s["id"] = session.clone(),
        )
    };
    assert_eq!(send(settled(id())).await, "granted");
    assert_eq!(send(settled(id())).await, "duplicate");
    assert_eq!(assert_ledger_consistent(&user).await, 21);
}

#[tokio::test]
async fn fifty_concurrent_submissions_against_three_credits() {
    let (me, _) = api().signed_up().await;
    let user = me.user_id().await;
    let event = checkout_event(
        &format!("evt_{}", uuid::Uuid::new_v4().simple()),
        &user,
        "starter",
    );
    let granted = Api::new()
        .webhook(&event, &stripe_signature(WEBHOOK_SECRET, now(), &event))
        .await;
    assert_eq!(granted.status, StatusCode::OK);
    // Trial 1 + starter 5 = 6; spend 3 so 3 remain.
    let app = glimvid_tests::app().await;
    let spend = glimvid::credits::change_items(
        &app.config.credits_table,
        &glimvid::credits::Change {
            user_id: &user,
            kind: glimvid::credits::EntryKind::Debit,
            amount: -3,
            reason: "test spend",
            job_id: None,
            source: None,
        },
    )
    .unwrap();
    app.dynamo
        .transact_write_items()
        .set_transact_items(Some(spend))
        .send()
        .await
        .unwrap();
    assert_eq!(assert_ledger_consistent(&user).await, 3);

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..50 {
        let me = me.elsewhere();
        tasks.spawn(async move {
            me.post(
                "/videos",
                json!({"title": format!("Item {i}"), "description": "A thing.", "language": "en", "aspect_ratio": "1:1", "duration_s": 5}),
            )
            .await
            .status
        });
    }
    let mut accepted = 0;
    let mut refused = 0;
    while let Some(status) = tasks.join_next().await {
        match status.unwrap() {
            StatusCode::ACCEPTED => accepted += 1,
            StatusCode::PAYMENT_REQUIRED => refused += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((accepted, refused), (3, 47));
    assert_eq!(assert_ledger_consistent(&user).await, 0);
}

#[tokio::test]
async fn one_free_trial_per_client_ip() {
    let first = api();
    let (a, _) = first.signed_up().await;
    assert_eq!(assert_ledger_consistent(&a.user_id().await).await, 1);
    let (b, _) = first.signed_up().await; // same IP, second account
    let b_id = b.user_id().await;
    assert_eq!(assert_ledger_consistent(&b_id).await, 0);
    assert!(
        b.get("/credits").await.body["entries"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let (c, _) = Api::new().signed_up().await; // another IP
    assert_eq!(assert_ledger_consistent(&c.user_id().await).await, 1);
}
