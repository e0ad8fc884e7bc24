//! Email end to end: requests queue notices, the mailer (fed by the
//! runner's SQS mapping, with its own role) sends them through the
//! emulator's SES, and the tests read what was sent back from it.

use glimvid_tests::mail::{self, Mail};
use glimvid_tests::{Api, PASSWORD, assert_ledger_consistent, harness_with, unique_email};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Sign-ups, resets and logins from few IPs: room on the credential routes.
fn options(o: &mut glimvid_runner::Options) {
    o.env_overrides
        .insert("AUTH_RATE_LIMIT_PER_MINUTE".into(), "100".into());
}

fn api() -> Api {
    harness_with(options);
    Api::new()
}

fn assert_written_for_people(mail: &Mail) {
    assert!(mail.from.starts_with("no-reply@"), "{}", mail.from);
    assert!(
        !mail.text.is_empty() && !mail.html.is_empty(),
        "text and HTML"
    );
    assert!(
        !mail.html.contains("<img") && !mail.html.contains("<script"),
        "no pixels, no scripts"
    );
}

#[tokio::test]
async fn the_trial_comes_with_the_verified_address_once_per_ip() {
    let here = api();
    let (me, email) = here.signed_up_unverified().await;
    let user = me.user_id().await;
    assert_eq!(me.get("/me").await.body["email_verified"], false);
    let mail = mail::wait_for(&email, mail::VERIFY_SUBJECT).await;
    assert_written_for_people(&mail);
    assert_eq!(
        assert_ledger_consistent(&user).await,
        0,
        "no trial before verification"
    );

    let token = mail.token_after("#/verify?token=").expect("a link");
    // From another browser, not signed in: the link alone is enough.
    let verified = Api::new()
        .post("/auth/verify-email", json!({"token": token}))
        .await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
    assert_eq!(verified.body["trial_granted"], true);
    assert_eq!(verified.body["user"]["email_verified"], true);
    assert_eq!(assert_ledger_consistent(&user).await, 1);
    assert_eq!(me.get("/me").await.body["email_verified"], true);

    // The link works once.
    let again = here
        .post("/auth/verify-email", json!({"token": token}))
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(again.error_code(), "token_invalid");
    assert_eq!(assert_ledger_consistent(&user).await, 1);

    // A second account that verifies from the same IP gets no trial.
    let (second, second_email) = here.signed_up_unverified().await;
    let reply = here.verify_by_mail(&second_email).await;
    assert_eq!(reply["trial_granted"], false);
    assert_eq!(assert_ledger_consistent(&second.user_id().await).await, 0);

    let forged = here
        .post("/auth/verify-email", json!({"token": "x".repeat(43)}))
        .await;
    assert_eq!(forged.error_code(), "token_invalid");
}

#[tokio::test]
async fn resend_is_signed_in_once_a_minute_and_only_until_verified() {
    let (me, email) = api().signed_up_unverified().await;
    mail::wait_for(&email, mail::VERIFY_SUBJECT).await;
    let anon = Api::new()
        .call(Method::POST, "/auth/verify-email/resend", None)
        .await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
    // Sign-up sent the first; the next is a minute later.
    let soon = me
        .call(Method::POST, "/auth/verify-email/resend", None)
        .await;
    assert_eq!(soon.status, StatusCode::TOO_MANY_REQUESTS, "{}", soon.body);
    // A minute later (the last mail's time moved back), a new link goes out.
    let app = glimvid_tests::app().await;
    app.dynamo
        .update_item()
        .table_name(&app.config.accounts_table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("USER#{}", me.user_id().await)),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("PROFILE".into()),
        )
        .update_expression("SET verification_sent_at = verification_sent_at - :minute")
        .expression_attribute_values(
            ":minute",
            aws_sdk_dynamodb::types::AttributeValue::N("61".into()),
        )
        .send()
        .await
        .unwrap();
    let later = me
        .call(Method::POST, "/auth/verify-email/resend", None)
        .await;
    assert_eq!(later.status, StatusCode::ACCEPTED, "{}", later.body);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while mail::to(&email).await.len() < 2 {
        assert!(std::time::Instant::now() < deadline, "no second link");
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    me.verify_by_mail(&email).await;
    let done = me
        .call(Method::POST, "/auth/verify-email/resend", None)
        .await;
    assert_eq!(done.status, StatusCode::CONFLICT);
    assert_eq!(done.error_code(), "already_verified");
}

#[tokio::test]
async fn a_forgotten_password_is_reset_by_mail_and_every_session_ends() {
    let here = api();
    let (me, email) = here.signed_up().await;
    let other_session = here
        .post("/auth/login", json!({"email": email, "password": PASSWORD}))
        .await;
    let other = here.with_token(other_session.body["token"].as_str().unwrap());

    let asked = Api::new()
        .post(
            "/auth/password-reset",
            json!({"email": email.to_uppercase()}),
        )
        .await;
    assert_eq!(asked.status, StatusCode::ACCEPTED);
    let nobody = unique_email();
    let unknown = Api::new()
        .post("/auth/password-reset", json!({"email": nobody}))
        .await;
    assert_eq!(unknown.status, StatusCode::ACCEPTED);
    assert_eq!(unknown.body, asked.body, "the same answer either way");

    let mail = mail::wait_for(&email, mail::RESET_SUBJECT).await;
    assert_written_for_people(&mail);
    assert!(mail.text.contains("30 minutes"));
    let token = mail.token_after("#/reset?token=").expect("a link");
    let weak = Api::new()
        .post(
            "/auth/password-reset/confirm",
            json!({"token": token, "password": "short"}),
        )
        .await;
    assert_eq!(weak.status, StatusCode::BAD_REQUEST);
    let new_password = "a brand new passphrase";
    let reset = Api::new()
        .post(
            "/auth/password-reset/confirm",
            json!({"token": token, "password": new_password}),
        )
        .await;
    assert_eq!(reset.status, StatusCode::NO_CONTENT, "{}", reset.body);

    for session in [&me, &other] {
        assert_eq!(session.get("/me").await.status, StatusCode::UNAUTHORIZED);
    }
    let old = here
        .post("/auth/login", json!({"email": email, "password": PASSWORD}))
        .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    let new = here
        .post(
            "/auth/login",
            json!({"email": email, "password": new_password}),
        )
        .await;
    assert_eq!(new.status, StatusCode::OK);
    let alert = mail::wait_for(&email, mail::PASSWORD_CHANGED_SUBJECT).await;
    assert!(alert.text.contains("reset"), "{}", alert.text);

    let replayed = Api::new()
        .post(
            "/auth/password-reset/confirm",
            json!({"token": token, "password": "yet another passphrase"}),
        )
        .await;
    assert_eq!(replayed.error_code(), "token_invalid");

    mail::settle().await;
    assert!(
        mail::to(&nobody).await.is_empty(),
        "no mail to an unknown address"
    );
}

#[tokio::test]
async fn a_sign_in_from_a_new_ip_is_reported_and_a_known_one_is_not() {
    let home = api();
    let (_, email) = home.signed_up().await;
    let login = |from: &Api| {
        let from = from.clone();
        let email = email.clone();
        async move {
            let reply = from
                .post("/auth/login", json!({"email": email, "password": PASSWORD}))
                .await;
            assert_eq!(reply.status, StatusCode::OK);
        }
    };
    // The sign-up's IP is known.
    login(&home).await;
    mail::settle().await;
    assert!(
        !mail::to(&email)
            .await
            .iter()
            .any(|m| m.subject == mail::NEW_SIGNIN_SUBJECT)
    );

    let travelling = Api::new();
    login(&travelling).await;
    let alert = mail::wait_for(&email, mail::NEW_SIGNIN_SUBJECT).await;
    assert_written_for_people(&alert);
    assert!(alert.text.contains(travelling.ip()), "{}", alert.text);
    // Now that IP is known too.
    login(&travelling).await;
    mail::settle().await;
    let alerts = mail::to(&email)
        .await
        .into_iter()
        .filter(|m| m.subject == mail::NEW_SIGNIN_SUBJECT)
        .count();
    assert_eq!(alerts, 1);
}

#[tokio::test]
async fn a_new_address_takes_effect_when_confirmed_and_the_old_one_is_told() {
    let here = api();
    let (me, old) = here.signed_up().await;
    let new = unique_email();
    let wrong = me
        .post(
            "/me/email",
            json!({"email": new, "password": "not my password"}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let same = me
        .post("/me/email", json!({"email": old, "password": PASSWORD}))
        .await;
    assert_eq!(same.error_code(), "same_email");

    let asked = me
        .post("/me/email", json!({"email": new, "password": PASSWORD}))
        .await;
    assert_eq!(asked.status, StatusCode::ACCEPTED, "{}", asked.body);
    assert_eq!(me.get("/me").await.body["email"], old, "not yet");
    let told = mail::wait_for(&old, "is being changed").await;
    assert!(!told.text.contains(&new), "the new address is masked");
    let confirm = mail::wait_for(&new, "Confirm your new email address").await;
    let token = confirm.token_after("#/verify?token=").unwrap();
    let done = Api::new()
        .post("/auth/verify-email", json!({"token": token}))
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.body["trial_granted"], false);
    let profile = me.get("/me").await.body;
    assert_eq!(profile["email"], new);
    assert!(profile["pending_email"].is_null());

    let by_new = here
        .post("/auth/login", json!({"email": new, "password": PASSWORD}))
        .await;
    assert_eq!(by_new.status, StatusCode::OK);
    let by_old = here
        .post("/auth/login", json!({"email": old, "password": PASSWORD}))
        .await;
    assert_eq!(by_old.status, StatusCode::UNAUTHORIZED);
    // The old address is free for a new account.
    let reuse = Api::new()
        .post(
            "/auth/register",
            json!({"email": old, "password": PASSWORD, "confirm_age_16": true}),
        )
        .await;
    assert_eq!(reuse.status, StatusCode::CREATED);
}

async fn publish(version: &str, effective: &str) -> (bool, Value) {
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/2015-03-31/functions/PolicyPublishFunction/invocations",
            glimvid_tests::harness().base_url
        ))
        .json(&json!({
            "version": version,
            "effective_at": effective,
            "summary": {"en": "Invoices are now kept for seven years.", "zh": "发票现保存七年。"},
        }))
        .send()
        .await
        .expect("invoke");
    let failed = resp.headers().contains_key("x-amz-function-error");
    (!failed, resp.json().await.expect("JSON"))
}

fn days_ahead(days: i64) -> String {
    glimvid::clock::rfc3339(
        glimvid::clock::now() + std::time::Duration::from_secs(days as u64 * 86_400),
    )
}

#[tokio::test]
async fn a_policy_version_mails_every_verified_account_once_and_waits_for_acknowledgement() {
    let (verified_en, en_email) = api().signed_up().await;
    let zh = Api::new();
    let reg = zh
        .post(
            "/auth/register",
            json!({"email": unique_email(), "password": PASSWORD, "confirm_age_16": true, "language": "zh"}),
        )
        .await;
    let zh_email = reg.body["user"]["email"].as_str().unwrap().to_owned();
    let zh_me = zh.with_token(reg.body["token"].as_str().unwrap());
    let verify = mail::wait_for(&zh_email, "请确认你的邮箱地址").await;
    assert!(verify.text.contains("48 小时"));
    zh_me.verify_by_mail(&zh_email).await;
    let (_, unverified_email) = Api::new().signed_up_unverified().await;

    let version = format!("v{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let (ok, refused) = publish(&version, &days_ahead(6)).await;
    assert!(!ok, "six days' notice is refused: {refused}");
    assert!(refused["errorMessage"].as_str().unwrap().contains("7 days"));
    let (ok, published) = publish(&version, &days_ahead(8)).await;
    assert!(ok, "{published}");
    let (ok, twice) = publish(&version, &days_ahead(9)).await;
    assert!(!ok, "a version is published once: {twice}");

    let en_mail = mail::wait_for(&en_email, mail::POLICY_SUBJECT).await;
    assert!(
        en_mail
            .text
            .contains("Invoices are now kept for seven years.")
    );
    assert!(
        en_mail.header("List-Unsubscribe").is_none(),
        "policy notices are not optional"
    );
    let zh_mail = mail::wait_for(&zh_email, "我们的隐私政策即将更新").await;
    assert!(zh_mail.text.contains("发票现保存七年。"));
    mail::settle().await;
    let count = |email: &str, subject: &str| {
        let email = email.to_owned();
        let subject = subject.to_owned();
        async move {
            mail::to(&email)
                .await
                .iter()
                .filter(|m| m.subject == subject)
                .count()
        }
    };
    assert_eq!(count(&en_email, mail::POLICY_SUBJECT).await, 1);
    assert_eq!(count(&zh_email, "我们的隐私政策即将更新").await, 1);
    assert_eq!(count(&unverified_email, mail::POLICY_SUBJECT).await, 0);

    let policy = Api::new().get("/policy").await;
    assert_eq!(policy.status, StatusCode::OK);
    assert_eq!(policy.body["upcoming"]["version"], version.as_str());
    assert_eq!(verified_en.get("/me").await.body["policy_ack"], Value::Null);
    let unknown = verified_en
        .post("/me/policy-ack", json!({"version": "no-such-version"}))
        .await;
    assert_eq!(unknown.error_code(), "unknown_version");
    let ack = verified_en
        .post("/me/policy-ack", json!({"version": version}))
        .await;
    assert_eq!(ack.status, StatusCode::OK, "{}", ack.body);
    assert_eq!(ack.body["policy_ack"], version.as_str());
    let (_, export) = verified_en.export().await;
    assert_eq!(
        export["policy_acknowledgements"][0]["version"],
        version.as_str()
    );
}

#[tokio::test]
async fn video_mail_carries_one_click_unsubscribe_that_turns_it_off() {
    let (me, email) = api().signed_up().await;
    let make = || async {
        let created = me
            .post(
                "/videos",
                json!({"title": "Walnut desk lamp", "description": "A warm desk lamp turned from walnut, with a linen shade.", "language": "en", "aspect_ratio": "1:1", "duration_s": 5}),
            )
            .await;
        assert_eq!(created.status, StatusCode::ACCEPTED, "{}", created.body);
        let id = created.body["id"].as_str().unwrap().to_owned();
        let done = me
            .job_when_done(&id, std::time::Duration::from_secs(120))
            .await;
        assert_eq!(done.body["status"], "succeeded", "{}", done.body);
        id
    };
    let id = make().await;
    let ready = mail::wait_for(&email, "is ready").await;
    assert_written_for_people(&ready);
    assert!(ready.text.contains(&format!("#/videos/{id}")));
    assert_eq!(
        ready.header("List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );
    let url = ready
        .header("List-Unsubscribe")
        .and_then(|v| v.strip_prefix('<'))
        .and_then(|v| v.strip_suffix('>'))
        .expect("a one-click URL")
        .to_owned();
    assert!(url.starts_with(&glimvid_tests::harness().base_url));
    // As a mail client does it: a form POST, no session, no cookie.
    for _ in 0..2 {
        let resp = reqwest::Client::new()
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
    }
    assert_eq!(me.get("/me").await.body["notify_jobs"], false);

    glimvid_tests::grant(&me.user_id().await, 1).await;
    make().await;
    mail::settle().await;
    let ready_mails = mail::to(&email)
        .await
        .into_iter()
        .filter(|m| m.subject.contains("is ready"))
        .count();
    assert_eq!(ready_mails, 1, "no video mail once turned off");
}

#[tokio::test]
async fn deleting_the_account_mails_what_goes_and_when() {
    let (me, email) = api().signed_up().await;
    let gone = me
        .call(Method::DELETE, "/me", Some(json!({"password": PASSWORD})))
        .await;
    assert_eq!(gone.status, StatusCode::ACCEPTED, "{}", gone.body);
    let notice = mail::wait_for(&email, "is being deleted").await;
    assert!(notice.text.contains("Within 24 hours"), "{}", notice.text);
    assert!(notice.text.contains("photos"));
}
