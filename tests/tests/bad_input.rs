//! Walks every field of every route with bad input: each answer is a 4xx
//! with the documented error shape, naming the field, and nothing changes in
//! the accounts, credits or content tables.

use glimvid_tests::{Api, PASSWORD, dynamo, harness, scan_all, unique_email};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Text,
    OptionalText,
    Bool,
    OptionalBool,
    OptionalLanguage,
    Number,
    OptionalNumber,
    OptionalList,
}

struct JsonRoute {
    method: Method,
    path: &'static str,
    authenticated: bool,
    valid: Value,
    fields: Vec<(&'static str, Kind, Vec<Value>)>,
}

fn routes() -> Vec<JsonRoute> {
    let email = unique_email();
    vec![
        JsonRoute {
            method: Method::POST,
            path: "/auth/register",
            authenticated: false,
            valid: json!({"email": email, "password": PASSWORD, "name": "Ada", "confirm_age_16": true, "language": "en"}),
            fields: vec![
                (
                    "email",
                    Kind::Text,
                    vec![
                        json!(""),
                        json!("not-an-email"),
                        json!("a@b"),
                        json!("x".repeat(300) + "@example.com"),
                    ],
                ),
                (
                    "password",
                    Kind::Text,
                    vec![json!(""), json!("short"), json!("x".repeat(257))],
                ),
                (
                    "name",
                    Kind::OptionalText,
                    vec![json!("n".repeat(101)), json!("bad\u{0007}name")],
                ),
                ("confirm_age_16", Kind::Bool, vec![json!(false)]),
                (
                    "language",
                    Kind::OptionalLanguage,
                    vec![json!("fr"), json!("EN")],
                ),
            ],
        },
        JsonRoute {
            method: Method::POST,
            path: "/auth/login",
            authenticated: false,
            valid: json!({"email": email, "password": PASSWORD}),
            fields: vec![
                ("email", Kind::Text, vec![]),
                ("password", Kind::Text, vec![]),
            ],
        },
        JsonRoute {
            method: Method::PATCH,
            path: "/me",
            authenticated: true,
            valid: json!({"name": "Ada", "language": "zh", "marketing_opt_in": true, "training_opt_out": false}),
            fields: vec![
                ("name", Kind::OptionalText, vec![json!("n".repeat(101))]),
                (
                    "language",
                    Kind::OptionalLanguage,
                    vec![json!("fr"), json!("")],
                ),
                ("marketing_opt_in", Kind::OptionalBool, vec![json!("yes")]),
                ("training_opt_out", Kind::OptionalBool, vec![json!(1)]),
            ],
        },
        JsonRoute {
            method: Method::POST,
            path: "/uploads",
            authenticated: true,
            valid: json!({"content_type": "image/png", "size_bytes": 1000}),
            fields: vec![
                (
                    "content_type",
                    Kind::Text,
                    vec![json!("image/gif"), json!(""), json!("text/html")],
                ),
                (
                    "size_bytes",
                    Kind::Number,
                    vec![json!(0), json!(10 * 1024 * 1024 + 1), json!(-1)],
                ),
            ],
        },
        JsonRoute {
            method: Method::POST,
            path: "/videos",
            authenticated: true,
            valid: json!({"title": "Mug", "description": "A mug.", "language": "en", "aspect_ratio": "1:1", "duration_s": 5, "style": "calm",
                          "music": "calm", "display_price": "$24", "url": "shop.example.com/mug", "upload_id": "00000000-0000-0000-0000-000000000000"}),
            fields: vec![
                (
                    "upload_id",
                    Kind::OptionalText,
                    vec![json!("no-such-upload")],
                ),
                ("title", Kind::Text, vec![json!(""), json!("t".repeat(121))]),
                (
                    "description",
                    Kind::Text,
                    vec![json!("  "), json!("d".repeat(2001))],
                ),
                ("language", Kind::Text, vec![json!("fr")]),
                ("aspect_ratio", Kind::Text, vec![json!("4:3"), json!("")]),
                (
                    "upload_ids",
                    Kind::OptionalList,
                    vec![
                        json!([]),
                        json!(["no-such-upload"]),
                        Value::from(vec!["00000000-0000-0000-0000-000000000001"; 6]),
                    ],
                ),
                (
                    "duration_s",
                    Kind::Number,
                    vec![json!(7), json!(0), json!(-5), json!(20), json!(60)],
                ),
                (
                    "variants",
                    Kind::OptionalNumber,
                    vec![json!(0), json!(5), json!(-1)],
                ),
                ("style", Kind::OptionalText, vec![json!("s".repeat(41))]),
                (
                    "music",
                    Kind::OptionalText,
                    vec![json!("jazz"), json!("calm please"), json!("auto\u{0000}")],
                ),
                (
                    "display_price",
                    Kind::OptionalText,
                    vec![
                        json!("9".repeat(25)),
                        json!("价".repeat(25)),
                        json!("$24\nnow"),
                        json!("$24\u{0007}"),
                    ],
                ),
                (
                    "url",
                    Kind::OptionalText,
                    vec![
                        json!("javascript:alert(1)"),
                        json!("ftp://shop.example.com"),
                        json!("shop example.com"),
                        json!("not a link"),
                        json!("localhost"),
                        json!("https://shop.example.com@evil.example"),
                        json!(format!("https://shop.example.com/{}", "a".repeat(80))),
                        json!("https://shop.example.com/\u{0000}"),
                    ],
                ),
            ],
        },
        JsonRoute {
            method: Method::POST,
            path: "/billing/checkout",
            authenticated: true,
            valid: json!({"pack": "starter"}),
            fields: vec![
                (
                    "pack",
                    Kind::OptionalText,
                    vec![json!("nope"), json!(""), json!("STARTER")],
                ),
                ("plan", Kind::OptionalText, vec![json!("monthly-999")]),
            ],
        },
        JsonRoute {
            method: Method::DELETE,
            path: "/me",
            authenticated: true,
            valid: json!({"password": "not the current password"}),
            fields: vec![("password", Kind::Text, vec![])],
        },
        JsonRoute {
            method: Method::POST,
            path: "/me/password",
            authenticated: true,
            valid: json!({"current": "not the current password", "new": "a brand new secret"}),
            fields: vec![
                ("current", Kind::Text, vec![]),
                (
                    "new",
                    Kind::Text,
                    vec![json!("short"), json!("y".repeat(257))],
                ),
            ],
        },
    ]
}

fn wrong_types(kind: Kind) -> Vec<Value> {
    if kind == Kind::OptionalList {
        return vec![json!({}), json!(12.5), json!("x"), json!(true)];
    }
    let mut values = vec![json!([]), json!({}), json!(12.5)];
    match kind {
        Kind::Text | Kind::OptionalText | Kind::OptionalLanguage => values.push(json!(true)),
        Kind::Bool | Kind::OptionalBool => values.push(json!("true")),
        Kind::Number | Kind::OptionalNumber => values.push(json!("5")),
        Kind::OptionalList => {}
    }
    if matches!(kind, Kind::Text | Kind::Bool | Kind::Number) {
        values.push(Value::Null);
    }
    values
}

struct Case {
    label: String,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: Option<StatusCode>,
    field: Option<&'static str>,
}

fn case(
    label: String,
    body: &Value,
    status: Option<StatusCode>,
    field: Option<&'static str>,
) -> Case {
    Case {
        label,
        content_type: Some("application/json"),
        body: body.to_string().into_bytes(),
        status,
        field,
    }
}

fn cases_for(route: &JsonRoute) -> Vec<Case> {
    let valid = &route.valid;
    let mut cases = vec![
        Case {
            label: "no body".into(),
            content_type: None,
            body: vec![],
            status: Some(StatusCode::BAD_REQUEST),
            field: None,
        },
        Case {
            label: "text/plain".into(),
            content_type: Some("text/plain"),
            body: valid.to_string().into_bytes(),
            status: Some(StatusCode::UNSUPPORTED_MEDIA_TYPE),
            field: None,
        },
        Case {
            label: "form content type".into(),
            content_type: Some("application/x-www-form-urlencoded"),
            body: b"email=a%40b.com".to_vec(),
            status: Some(StatusCode::UNSUPPORTED_MEDIA_TYPE),
            field: None,
        },
        Case {
            label: "malformed JSON".into(),
            content_type: Some("application/json"),
            body: b"{\"email\": ".to_vec(),
            status: Some(StatusCode::BAD_REQUEST),
            field: None,
        },
        Case {
            label: "trailing garbage".into(),
            content_type: Some("application/json"),
            body: format!("{valid} x").into_bytes(),
            status: Some(StatusCode::BAD_REQUEST),
            field: None,
        },
        Case {
            label: "invalid UTF-8".into(),
            content_type: Some("application/json"),
            body: vec![b'{', 0xff, 0xfe, b'}'],
            status: Some(StatusCode::BAD_REQUEST),
            field: None,
        },
        case(
            "array body".into(),
            &json!([valid]),
            Some(StatusCode::BAD_REQUEST),
            None,
        ),
        case(
            "string body".into(),
            &json!("hello"),
            Some(StatusCode::BAD_REQUEST),
            None,
        ),
        Case {
            label: "oversize body".into(),
            content_type: Some("application/json"),
            body: json!({"email": "a".repeat(70 * 1024)})
                .to_string()
                .into_bytes(),
            status: Some(StatusCode::PAYLOAD_TOO_LARGE),
            field: None,
        },
    ];
    let mut unknown = valid.clone();
    unknown["is_admin"] = json!(true);
    cases.push(case(
        "unknown field".into(),
        &unknown,
        Some(StatusCode::BAD_REQUEST),
        Some("is_admin"),
    ));
    for (field, kind, bad_values) in &route.fields {
        if matches!(kind, Kind::Text | Kind::Bool | Kind::Number) {
            let mut missing = valid.clone();
            missing.as_object_mut().unwrap().remove(*field);
            cases.push(case(
                format!("{field} missing"),
                &missing,
                Some(StatusCode::BAD_REQUEST),
                Some(field),
            ));
        }
        for wrong in wrong_types(*kind) {
            let mut body = valid.clone();
            body[*field] = wrong.clone();
            cases.push(case(
                format!("{field} = {wrong}"),
                &body,
                Some(StatusCode::BAD_REQUEST),
                Some(field),
            ));
        }
        for bad in bad_values {
            let mut body = valid.clone();
            body[*field] = bad.clone();
            let label = format!(
                "{field} = {}",
                bad.to_string().chars().take(40).collect::<String>()
            );
            cases.push(case(label, &body, None, Some(field)));
        }
    }
    cases
}

#[tokio::test]
async fn every_field_of_every_route_rejects_bad_input_and_writes_nothing() {
    let (me, _) = Api::new().signed_up().await;
    let db = dynamo().await;
    let config = &harness().config;
    let tables = [
        &config.accounts_table,
        &config.credits_table,
        &config.content_table,
    ];
    let snapshot = |mut items: Vec<glimvid_tests::Item>| {
        let mut text: Vec<String> = items
            .drain(..)
            .map(|i| {
                let mut pairs: Vec<_> = i.into_iter().map(|(k, v)| format!("{k}={v:?}")).collect();
                pairs.sort();
                pairs.join(",")
            })
            .collect();
        text.sort();
        text
    };
    let mut before = Vec::new();
    for table in tables {
        before.push(snapshot(scan_all(&db, table).await));
    }

    let mut checked = 0;
    for route in routes() {
        for c in cases_for(&route) {
            let client = if route.authenticated {
                me.elsewhere()
            } else {
                Api::new()
            };
            let reply = client
                .raw(route.method.clone(), route.path, c.content_type, c.body)
                .await;
            let what = format!("{} {} [{}]", route.method, route.path, c.label);
            assert!(
                reply.status.is_client_error(),
                "{what}: {} {}",
                reply.status,
                reply.body
            );
            if let Some(expected) = c.status {
                assert_eq!(reply.status, expected, "{what}: {}", reply.body);
            }
            let error = &reply.body["error"];
            assert!(
                error["code"].as_str().is_some_and(|s| !s.is_empty()),
                "{what}: {}",
                reply.body
            );
            assert!(
                error["message"].as_str().is_some_and(|s| !s.is_empty()),
                "{what}: {}",
                reply.body
            );
            if let Some(field) = c.field {
                assert_eq!(error["field"], field, "{what}: {}", reply.body);
            }
            checked += 1;
        }
    }
    // Routes without a body, and paths and methods nobody serves.
    let anon = Api::new();
    for (method, path, status) in [
        (Method::GET, "/me", StatusCode::UNAUTHORIZED),
        (Method::POST, "/auth/logout", StatusCode::UNAUTHORIZED),
        (Method::GET, "/nope", StatusCode::NOT_FOUND),
        (
            Method::DELETE,
            "/auth/login",
            StatusCode::METHOD_NOT_ALLOWED,
        ),
    ] {
        let reply = anon.call(method.clone(), path, None).await;
        assert_eq!(reply.status, status, "{method} {path}");
        assert!(reply.body["error"]["code"].is_string());
        checked += 1;
    }
    assert!(checked > 100, "only {checked} cases");
    let mut after = Vec::new();
    for table in tables {
        after.push(snapshot(scan_all(&db, table).await));
    }
    // Other tests in this binary run at the same time: their accounts
    // (there before this test's requests) may change meanwhile. An account
    // a rejected request created would be new, and still show.
    let mine = me.user_id().await;
    let others: std::collections::BTreeSet<String> = before
        .iter()
        .flatten()
        .filter_map(|line| line.split("user_id=S(\"").nth(1))
        .filter_map(|rest| rest.split('"').next())
        .filter(|id| *id != mine)
        .map(str::to_owned)
        .collect();
    let without_others = |lines: &Vec<String>| -> Vec<String> {
        lines
            .iter()
            .filter(|l| !others.iter().any(|id| l.contains(id.as_str())))
            .cloned()
            .collect()
    };
    let before: Vec<_> = before.iter().map(without_others).collect();
    let after: Vec<_> = after.iter().map(without_others).collect();
    assert_eq!(before, after, "a rejected request changed a table");
}

/// Without its signing secret the webhook trusts nothing: 503 (Stripe
/// retries until an operator stores the secret), and nothing changes.
#[tokio::test]
async fn a_webhook_without_its_secret_is_unavailable() {
    harness();
    let event = glimvid_tests::checkout_event("evt_unconfigured", "nobody", "starter");
    let reply = Api::new()
        .webhook(
            &event,
            &glimvid_tests::stripe_signature(
                "whsec_any",
                glimvid::clock::epoch_seconds(glimvid::clock::now()),
                &event,
            ),
        )
        .await;
    assert_eq!(
        reply.status,
        reqwest::StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        reply.body
    );
    assert_eq!(reply.body["error"]["code"], "webhook_not_configured");
}

/// Without Stripe's key nothing can be bought: 503, and nothing is written.
#[tokio::test]
async fn checkout_without_a_stripe_key_is_unavailable() {
    harness();
    let (me, _) = Api::new().signed_up().await;
    for body in [json!({"pack": "starter"}), json!({"plan": "monthly-20"})] {
        let reply = me.post("/billing/checkout", body).await;
        assert_eq!(
            reply.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            reply.body
        );
        assert_eq!(reply.error_code(), "payments_unavailable");
    }
    let portal = me.post("/billing/portal", json!({})).await;
    assert_eq!(
        portal.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        portal.body
    );
}
