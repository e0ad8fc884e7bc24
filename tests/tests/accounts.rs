//! Accounts end to end: HTTP to the runner, records checked through the SDK
//! in the emulator.

use aws_sdk_dynamodb::types::AttributeValue;
use glimvid_tests::{
    Api, PASSWORD, all_tables, dynamo, harness, item_text, scan_all, sha256_hex, unique_email,
};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn register_login_profile_logout_flow() {
    let anon = Api::new();
    let email = unique_email();
    let reg = anon
        .post(
            "/auth/register",
            json!({"email": email.to_uppercase(), "password": PASSWORD, "name": "Ada", "confirm_age_16": true}),
        )
        .await;
    assert_eq!(reg.status, StatusCode::CREATED, "{}", reg.body);
    assert_eq!(reg.body["user"]["email"], email, "email is normalised");
    assert_eq!(reg.body["token_type"], "Bearer");

    let login = anon
        .post("/auth/login", json!({"email": email, "password": PASSWORD}))
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    let token = login.body["token"].as_str().unwrap().to_owned();
    let me = anon.with_token(&token);

    let profile = me.get("/me").await;
    assert_eq!(profile.status, StatusCode::OK);
    assert_eq!(profile.body["name"], "Ada");
    assert_eq!(profile.body["language"], "en");
    assert!(profile.body.get("password_hash").is_none());

    let patched = me
        .call(
            Method::PATCH,
            "/me",
            Some(json!({"name": "Ada L.", "language": "zh", "marketing_opt_in": true, "training_opt_out": true})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.body["language"], "zh");
    assert_eq!(patched.body["training_opt_out"], true);
    assert_eq!(me.get("/me").await.body["name"], "Ada L.");

    let out = me.call(Method::POST, "/auth/logout", None).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let after = me.get("/me").await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    assert_eq!(after.error_code(), "unauthenticated");

    // The registration session is still valid: logout ends only its own.
    let first = anon.with_token(reg.body["token"].as_str().unwrap());
    assert_eq!(first.get("/me").await.status, StatusCode::OK);
}

#[tokio::test]
async fn stored_hash_is_scrypt_phc_and_no_token_is_stored_in_plain_text() {
    let anon = Api::new();
    let (me, email) = anon.signed_up().await;
    let token = me.token.clone().unwrap();
    let login = anon
        .post("/auth/login", json!({"email": email, "password": PASSWORD}))
        .await;
    let token2 = login.body["token"].as_str().unwrap().to_owned();

    let db = dynamo().await;
    let accounts = scan_all(&db, &harness().config.accounts_table).await;
    let user = accounts
        .iter()
        .find(|i| {
            i.get("email") == Some(&AttributeValue::S(email.clone()))
                && i.contains_key("password_hash")
        })
        .expect("user item");
    let hash = user["password_hash"].as_s().unwrap();
    assert!(hash.starts_with("$scrypt$ln=17,r=8,p=1$"), "{hash}");
    assert!(!item_text(user).contains(PASSWORD));

    // The session is findable only by the token's SHA-256.
    assert!(
        accounts
            .iter()
            .any(|i| item_text(i).contains(&sha256_hex(&token)))
    );
    for table in all_tables(&db).await {
        for item in scan_all(&db, &table).await {
            let text = item_text(&item);
            for secret in [&token, &token2, &PASSWORD.to_owned()] {
                assert!(
                    !text.contains(secret.as_str()),
                    "{table} holds a secret in plain text"
                );
            }
        }
    }
}

#[tokio::test]
async fn duplicate_and_racing_registrations_get_one_account() {
    let email = unique_email();
    let body = json!({"email": email, "password": PASSWORD, "confirm_age_16": true});
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let body = body.clone();
        tasks.spawn(async move { Api::new().post("/auth/register", body).await });
    }
    let mut statuses = Vec::new();
    while let Some(reply) = tasks.join_next().await {
        let reply = reply.unwrap();
        if reply.status == StatusCode::CONFLICT {
            assert_eq!(reply.error_code(), "email_taken");
            assert_eq!(reply.body["error"]["field"], "email");
        }
        statuses.push(reply.status);
    }
    statuses.sort();
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count(),
        5,
        "{statuses:?}"
    );

    let db = dynamo().await;
    let users = scan_all(&db, &harness().config.accounts_table)
        .await
        .into_iter()
        .filter(|i| {
            i.get("kind") == Some(&AttributeValue::S("user".into()))
                && i.get("email") == Some(&AttributeValue::S(email.clone()))
        })
        .count();
    assert_eq!(users, 1);
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_answer() {
    let anon = Api::new();
    let (_, email) = anon.signed_up().await;
    let wrong = anon
        .post(
            "/auth/login",
            json!({"email": email, "password": "not the password"}),
        )
        .await;
    let unknown = anon
        .post(
            "/auth/login",
            json!({"email": unique_email(), "password": "not the password"}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.status, unknown.status);
    assert_eq!(wrong.body, unknown.body);
}

#[tokio::test]
async fn password_change_revokes_every_other_session() {
    let anon = Api::new();
    let (me, email) = anon.signed_up().await;
    let other = anon.with_token(
        anon.post("/auth/login", json!({"email": email, "password": PASSWORD}))
            .await
            .body["token"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(other.get("/me").await.status, StatusCode::OK);

    let wrong = me
        .post(
            "/me/password",
            json!({"current": "not my password", "new": "a brand new secret"}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert_eq!(wrong.body["error"]["field"], "current");
    assert_eq!(
        other.get("/me").await.status,
        StatusCode::OK,
        "a refused change revokes nothing"
    );

    let changed = me
        .post(
            "/me/password",
            json!({"current": PASSWORD, "new": "a brand new secret"}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.body);
    assert_eq!(
        me.get("/me").await.status,
        StatusCode::OK,
        "the caller stays signed in"
    );
    assert_eq!(other.get("/me").await.status, StatusCode::UNAUTHORIZED);

    let old = anon
        .post("/auth/login", json!({"email": email, "password": PASSWORD}))
        .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    let new = anon
        .post(
            "/auth/login",
            json!({"email": email, "password": "a brand new secret"}),
        )
        .await;
    assert_eq!(new.status, StatusCode::OK);
}

#[tokio::test]
async fn an_expired_session_that_ttl_has_not_yet_deleted_is_refused() {
    let (me, _) = Api::new().signed_up().await;
    assert_eq!(me.get("/me").await.status, StatusCode::OK);
    let db = dynamo().await;
    let past = glimvid::clock::epoch_seconds(glimvid::clock::now()) - 1;
    db.update_item()
        .table_name(&harness().config.accounts_table)
        .key(
            "pk",
            AttributeValue::S(format!(
                "SESSION#{}",
                sha256_hex(me.token.as_deref().unwrap())
            )),
        )
        .key("sk", AttributeValue::S("SESSION".into()))
        .update_expression("SET expires_at = :past")
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_values(":past", AttributeValue::N(past.to_string()))
        .send()
        .await
        .expect("expire the session");
    assert_eq!(me.get("/me").await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn me_routes_need_a_valid_token() {
    let anon = Api::new();
    for (method, path) in [
        (Method::GET, "/me"),
        (Method::PATCH, "/me"),
        (Method::POST, "/me/password"),
        (Method::POST, "/auth/logout"),
    ] {
        for token in [
            None,
            Some("garbage"),
            Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        ] {
            let client = match token {
                Some(t) => anon.with_token(t),
                None => anon.clone(),
            };
            let reply = client
                .call(method.clone(), path, Some(json!({"name": "x"})))
                .await;
            assert_eq!(
                reply.status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} with {token:?}"
            );
        }
    }
}
