//! Payments end to end against the Stripe sandbox: Checkout for packs and
//! plans, the signed events it sends, renewals, cancellation, invoices,
//! receipts, and deleting an account with a live plan.

use glimvid_runner::stripe_sandbox::{Delivery, Recorded};
use glimvid_tests::{
    Api, PASSWORD, STRIPE_KEY, WEBHOOK_SECRET, assert_ledger_consistent, mail, stripe,
    stripe_harness, stripe_signature,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn api() -> Api {
    stripe_harness();
    Api::new()
}

fn now() -> i64 {
    glimvid::clock::epoch_seconds(glimvid::clock::now())
}

/// The Checkout Session request the sandbox got for `user`.
fn session_request(user: &str) -> Recorded {
    stripe()
        .requests()
        .into_iter()
        .rfind(|r| {
            r.path == "/v1/checkout/sessions" && r.param("client_reference_id") == Some(user)
        })
        .expect("a Checkout Session request for the user")
}

async fn checkout(me: &Api, body: Value) -> String {
    let reply = me.post("/billing/checkout", body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let url = reply.body["url"].as_str().expect("url");
    assert!(url.starts_with(&stripe().base_url()), "{url}");
    reply.body["id"].as_str().expect("session id").to_owned()
}

async fn balance(me: &Api) -> i64 {
    me.get("/credits").await.body["balance"]
        .as_i64()
        .expect("balance")
}

fn statuses(deliveries: &[Delivery]) -> Vec<(String, u16, String)> {
    deliveries
        .iter()
        .map(|d| {
            (
                d.kind.clone(),
                d.status,
                d.answer["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// Deliveries since the `count`th that concern `user` (tests share the sandbox).
fn deliveries_after(count: usize, user: &str) -> Vec<Delivery> {
    stripe()
        .deliveries()
        .into_iter()
        .skip(count)
        .filter(|d| d.body.contains(user))
        .collect()
}

#[tokio::test]
async fn a_pack_bought_through_checkout_is_granted_once_however_often_delivered() {
    let (me, email) = api().signed_up().await;
    let user = me.user_id().await;
    let before = balance(&me).await;
    let session = checkout(&me, json!({"pack": "creator"})).await;

    // What Stripe was asked: the user, the pack and its price.
    let asked = session_request(&user);
    assert_eq!(
        asked.header("authorization"),
        Some(format!("Bearer {STRIPE_KEY}").as_str())
    );
    assert!(
        asked
            .header("idempotency-key")
            .is_some_and(|k| k.len() >= 32)
    );
    assert_eq!(
        asked.header("stripe-version"),
        Some(glimvid::billing::stripe::API_VERSION)
    );
    for (param, value) in [
        ("mode", "payment"),
        ("metadata[pack]", "creator"),
        ("metadata[user_id]", user.as_str()),
        ("line_items[0][price_data][unit_amount]", "1499"),
        ("line_items[0][price_data][currency]", "usd"),
        ("line_items[0][quantity]", "1"),
        ("invoice_creation[enabled]", "true"),
        (
            "invoice_creation[invoice_data][metadata][user_id]",
            user.as_str(),
        ),
        ("customer_creation", "always"),
        ("locale", "en"),
    ] {
        assert_eq!(asked.param(param), Some(value), "{param}");
    }
    let success = asked.param("success_url").unwrap_or_default();
    assert!(
        success.contains("/#/credits?checkout=success&session={CHECKOUT_SESSION_ID}"),
        "{success}"
    );

    // Nothing is granted for an open session.
    assert_eq!(balance(&me).await, before);
    let seen = stripe().deliveries().len();
    let back = stripe().pay(&session).await.expect("paid");
    assert!(back.ends_with(&format!("session={session}")), "{back}");
    let delivered = deliveries_after(seen, &user);
    assert_eq!(
        statuses(&delivered),
        vec![
            ("checkout.session.completed".into(), 200, "granted".into()),
            ("invoice.paid".into(), 200, "recorded".into()),
        ]
    );
    assert_eq!(balance(&me).await, before + 20);

    // Stripe retries: every event again, three times, grants nothing more.
    for _ in 0..3 {
        for event in &delivered {
            let again = stripe()
                .redeliver(&event.event_id)
                .await
                .expect("redelivered");
            assert_eq!(again.status, 200, "{}", again.answer);
            assert_ne!(again.answer["status"], "granted", "{}", again.answer);
        }
    }
    assert_eq!(balance(&me).await, before + 20);
    assert_eq!(assert_ledger_consistent(&user).await, before + 20);
    let ledger = me.get("/credits").await.body;
    let purchase = &ledger["entries"][0];
    assert_eq!(purchase["kind"], "purchase");
    assert_eq!(purchase["amount"], 20);
    assert!(
        purchase["source"]
            .as_str()
            .is_some_and(|s| s.starts_with("in_")),
        "{purchase}"
    );

    // The payment, with Stripe's invoice, in the list and the export.
    let invoices = me.get("/billing/invoices").await;
    assert_eq!(invoices.status, StatusCode::OK);
    let list = invoices.body["invoices"]
        .as_array()
        .expect("invoices")
        .clone();
    assert_eq!(list.len(), 1, "{list:?}");
    let paid = &list[0];
    assert_eq!(paid["amount_cents"], 1499);
    assert_eq!(paid["currency"], "usd");
    assert_eq!(paid["kind"], "pack");
    assert_eq!(paid["item"], "creator");
    assert_eq!(paid["credits"], 20);
    assert_eq!(paid["id"], purchase["source"]);
    let link = paid["invoice_url"].as_str().expect("invoice link");
    assert!(link.starts_with(&stripe().base_url()), "{link}");
    let (_, export) = me.export().await;
    assert_eq!(export["payments"], json!(list));

    // A receipt, with the amount, and the customer Stripe made for the portal.
    let receipt = mail::wait_for(&email, "Your Glimvid receipt").await;
    assert!(receipt.text.contains("USD 14.99"), "{}", receipt.text);
    assert!(receipt.text.contains("20 credits"), "{}", receipt.text);
    let portal = me.post("/billing/portal", json!({})).await;
    assert_eq!(portal.status, StatusCode::OK, "{}", portal.body);
    assert!(
        portal.body["url"]
            .as_str()
            .is_some_and(|u| u.contains("/p/session/bps_"))
    );

    // The next checkout reuses that customer.
    checkout(&me, json!({"pack": "starter"})).await;
    let again = session_request(&user);
    assert!(
        again
            .param("customer")
            .is_some_and(|c| c.starts_with("cus_"))
    );
    assert_eq!(again.param("customer_creation"), None);
}

/// A signed invoice event for a plan's subscription, as Stripe sends it.
fn plan_invoice(
    event_type: &str,
    invoice: &str,
    sub: &str,
    user: &str,
    edit: impl FnOnce(&mut Value),
) -> String {
    let mut object = json!({
        "id": invoice, "object": "invoice", "status": "paid", "billing_reason": "subscription_cycle",
        "amount_paid": 1299, "currency": "usd",
        "parent": {"type": "subscription_details", "subscription_details": {
            "subscription": sub, "metadata": {"user_id": user, "plan": "monthly-20"}}},
    });
    edit(&mut object);
    json!({"id": format!("evt_{}", uuid::Uuid::new_v4().simple()), "type": event_type,
           "created": now(), "data": {"object": object}})
    .to_string()
}

async fn send(event: &str) -> Value {
    let reply = Api::new()
        .webhook(event, &stripe_signature(WEBHOOK_SECRET, now(), event))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body
}

#[tokio::test]
async fn a_plan_grants_each_paid_month_once_and_stops_when_cancelled() {
    let (me, _) = api().signed_up().await;
    let user = me.user_id().await;
    let start = balance(&me).await;
    let session = checkout(&me, json!({"plan": "monthly-20"})).await;
    let asked = session_request(&user);
    for (param, value) in [
        ("mode", "subscription"),
        ("line_items[0][price_data][unit_amount]", "1299"),
        ("line_items[0][price_data][recurring][interval]", "month"),
        ("subscription_data[metadata][plan]", "monthly-20"),
        ("subscription_data[metadata][user_id]", user.as_str()),
    ] {
        assert_eq!(asked.param(param), Some(value), "{param}");
    }
    let seen = stripe().deliveries().len();
    stripe().pay(&session).await.expect("paid");
    let kinds: Vec<_> = statuses(&deliveries_after(seen, &user));
    assert!(
        kinds.contains(&("invoice.paid".into(), 200, "granted".into())),
        "{kinds:?}"
    );
    assert_eq!(balance(&me).await, start + 20, "the first month");
    let sub_id = stripe().subscription_of(&session).expect("subscription");

    let plan = me.get("/billing/subscription").await.body["subscription"].clone();
    assert_eq!(plan["plan"], "monthly-20");
    assert_eq!(plan["credits_per_month"], 20);
    assert_eq!(plan["status"], "active");
    assert_eq!(plan["cancel_at_period_end"], false);
    let renews =
        glimvid::clock::parse_rfc3339(plan["current_period_end"].as_str().expect("renewal"))
            .expect("a time");
    let days = (renews - glimvid::clock::now()).whole_days();
    assert!((29..=30).contains(&days), "renews in {days} days");

    // One plan at a time.
    let second = me
        .post("/billing/checkout", json!({"plan": "monthly-60"}))
        .await;
    assert_eq!(second.status, StatusCode::CONFLICT);
    assert_eq!(second.error_code(), "already_subscribed");

    // Three renewals, three grants; the period moves on each time.
    let mut renewal_invoices = Vec::new();
    for month in 1..=3 {
        let delivered = stripe().renew(&sub_id).await;
        assert_eq!(
            statuses(&delivered),
            vec![
                ("invoice.paid".into(), 200, "granted".into()),
                (
                    "customer.subscription.updated".into(),
                    200,
                    "recorded".into()
                ),
            ]
        );
        assert_eq!(balance(&me).await, start + 20 * (month + 1));
        renewal_invoices.push(delivered[0].clone());
    }
    let later =
        me.get("/billing/subscription").await.body["subscription"]["current_period_end"].clone();
    assert_ne!(later, plan["current_period_end"]);

    // A replayed invoice event, and another event naming the same invoice.
    let replay = stripe()
        .redeliver(&renewal_invoices[0].event_id)
        .await
        .expect("redelivered");
    assert_eq!(replay.answer["status"], "duplicate", "{}", replay.answer);
    let invoice_id =
        serde_json::from_str::<Value>(&renewal_invoices[1].body).unwrap()["data"]["object"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let other = send(&plan_invoice(
        "invoice.payment_succeeded",
        &invoice_id,
        &sub_id,
        &user,
        |_| {},
    ))
    .await;
    assert_eq!(other["status"], "duplicate", "{other}");
    // Not the plan's price, another currency, not paid, or a proration:
    // nothing.
    for (label, edit) in [
        (
            "amount",
            Box::new(|o: &mut Value| o["amount_paid"] = json!(99)) as Box<dyn FnOnce(&mut Value)>,
        ),
        (
            "currency",
            Box::new(|o: &mut Value| o["currency"] = json!("eur")),
        ),
        (
            "open",
            Box::new(|o: &mut Value| o["status"] = json!("open")),
        ),
        (
            "proration",
            Box::new(|o: &mut Value| o["billing_reason"] = json!("subscription_update")),
        ),
    ] {
        let invoice = format!("in_{}", uuid::Uuid::new_v4().simple());
        let reply = send(&plan_invoice(
            "invoice.paid",
            &invoice,
            &sub_id,
            &user,
            edit,
        ))
        .await;
        assert_eq!(reply["status"], "ignored", "{label}: {reply}");
    }
    let granted = start + 80;
    assert_eq!(balance(&me).await, granted);

    // Cancelled in the portal: it runs to the period's end, then stops.
    let portal = me.post("/billing/portal", json!({})).await;
    assert_eq!(portal.status, StatusCode::OK, "{}", portal.body);
    let cancelled = stripe()
        .cancel_at_period_end(&sub_id)
        .await
        .expect("cancelled");
    assert_eq!(
        cancelled.answer["status"], "recorded",
        "{}",
        cancelled.answer
    );
    let ending = me.get("/billing/subscription").await.body["subscription"].clone();
    assert_eq!(ending["status"], "active");
    assert_eq!(ending["cancel_at_period_end"], true);
    let ended = stripe().renew(&sub_id).await;
    assert_eq!(
        statuses(&ended),
        vec![(
            "customer.subscription.deleted".into(),
            200,
            "recorded".into()
        )]
    );
    assert_eq!(balance(&me).await, granted, "no grant after the plan ended");
    let over = me.get("/billing/subscription").await.body["subscription"].clone();
    assert_eq!(over["status"], "canceled");
    // An invoice for the ended subscription grants nothing.
    let late = format!("in_{}", uuid::Uuid::new_v4().simple());
    let reply = send(&plan_invoice("invoice.paid", &late, &sub_id, &user, |_| {})).await;
    assert_eq!(reply["status"], "ignored", "{reply}");
    assert_eq!(assert_ledger_consistent(&user).await, granted);

    let invoices = me.get("/billing/invoices").await.body["invoices"].clone();
    let plans: Vec<_> = invoices
        .as_array()
        .expect("invoices")
        .iter()
        .filter(|i| i["kind"] == "plan")
        .collect();
    assert_eq!(plans.len(), 4, "{invoices}");
    assert!(
        plans
            .iter()
            .all(|i| i["amount_cents"] == 1299 && i["invoice_url"].is_string())
    );
    // A new plan may start once the old one is over.
    checkout(&me, json!({"plan": "monthly-60"})).await;
}

#[tokio::test]
async fn deleting_an_account_cancels_its_plan_at_stripe_first_and_keeps_payments_anonymously() {
    let (me, email) = api().signed_up().await;
    let user = me.user_id().await;
    let session = checkout(&me, json!({"plan": "monthly-60"})).await;
    stripe().pay(&session).await.expect("paid");
    let sub_id = stripe().subscription_of(&session).expect("subscription");
    let paid = me.get("/billing/invoices").await.body["invoices"][0]["id"]
        .as_str()
        .expect("a payment")
        .to_owned();
    let (_, export) = me.export().await;
    assert_eq!(export["subscriptions"][0]["plan"], "monthly-60", "{export}");

    let deleted = me.delete_account(PASSWORD).await;
    assert_eq!(deleted.status, StatusCode::ACCEPTED, "{}", deleted.body);
    assert!(
        stripe()
            .requests()
            .iter()
            .any(|r| r.method == "DELETE" && r.path == format!("/v1/subscriptions/{sub_id}")),
        "the plan was cancelled at Stripe"
    );
    assert_eq!(
        stripe().subscription(&sub_id).expect("subscription")["status"],
        "canceled"
    );
    let notice = mail::wait_for(&email, "Your Glimvid account is being deleted").await;
    assert!(notice.text.contains("tax law"), "{}", notice.text);

    glimvid_tests::run_sweeper().await;
    let db = glimvid_tests::dynamo().await;
    let table = &glimvid_tests::harness_with(glimvid_tests::with_payments)
        .config
        .credits_table;
    let items = glimvid_tests::scan_all(&db, table).await;
    let kept: Vec<_> = items
        .iter()
        .filter(|i| glimvid_tests::item_text(i).contains(&paid))
        .collect();
    assert!(!kept.is_empty(), "the payment is kept for tax law");
    for item in kept {
        let text = glimvid_tests::item_text(item);
        assert!(!text.contains(&user) && !text.contains(&email), "{text}");
    }
}
