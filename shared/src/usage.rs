//! The usage log: one line per API request (IP, time, route, status, user),
//! kept at most `USAGE_LOG_RETENTION_DAYS` through a TTL attribute.
//!
//! Layout: pk = client IP, sk = `{time}#{request id}`; the sparse `by_user`
//! index (user_id, sk) finds a user's lines for export and deletion.

use serde::Serialize;
use time::Duration;

use crate::app::App;
use crate::clock;
use crate::dynamo::{self, Item, get_n, get_opt_s, get_s, n, s};
use crate::error::Result;

pub const GSI_BY_USER: &str = "by_user";

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UsageLine {
    pub ip: String,
    pub time: String,
    pub method: String,
    pub route: String,
    pub status: u16,
    pub user_id: Option<String>,
    pub expires_at: i64,
}

pub struct Request<'a> {
    pub request_id: &'a str,
    pub ip: &'a str,
    pub method: &'a str,
    pub route: &'a str,
    pub status: u16,
    pub user_id: Option<&'a str>,
}

/// Writes the line. A failure here is logged, never turned into a failed
/// request: the user's action already happened.
pub async fn record(app: &App, req: Request<'_>) {
    let now = clock::now();
    let expires = now + Duration::days(app.config.limits.usage_log_days);
    let time = clock::rfc3339(now);
    let mut item = Item::from([
        ("pk".into(), s(req.ip)),
        ("sk".into(), s(format!("{time}#{}", req.request_id))),
        ("ip".into(), s(req.ip)),
        ("time".into(), s(&time)),
        ("method".into(), s(req.method)),
        ("route".into(), s(req.route)),
        ("status".into(), n(req.status)),
        ("expires_at".into(), n(clock::epoch_seconds(expires))),
    ]);
    if let Some(user) = req.user_id {
        item.insert("user_id".into(), s(user));
    }
    let result = app
        .dynamo
        .put_item()
        .table_name(&app.config.usage_log_table)
        .set_item(Some(item))
        .send()
        .await;
    if let Err(err) = result {
        tracing::error!(error = %aws_sdk_dynamodb::error::DisplayErrorContext(err), "usage log write failed");
    }
}

pub fn line_from_item(item: &Item) -> Result<UsageLine> {
    Ok(UsageLine {
        ip: get_s(item, "ip")?,
        time: get_s(item, "time")?,
        method: get_s(item, "method")?,
        route: get_s(item, "route")?,
        status: u16::try_from(get_n(item, "status")?).unwrap_or_default(),
        user_id: get_opt_s(item, "user_id"),
        expires_at: get_n(item, "expires_at")?,
    })
}

/// The unexpired lines about a user, oldest first, for reading page by page.
pub fn query_for_user(
    app: &App,
    user_id: &str,
) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
    let now = clock::epoch_seconds(clock::now());
    app.dynamo
        .query()
        .table_name(&app.config.usage_log_table)
        .index_name(GSI_BY_USER)
        .key_condition_expression("user_id = :user")
        .filter_expression("expires_at > :now")
        .expression_attribute_values(":user", s(user_id))
        .expression_attribute_values(":now", n(now))
}

/// Every unexpired line about a user, oldest first.
pub async fn for_user(app: &App, user_id: &str) -> Result<Vec<UsageLine>> {
    dynamo::query_all(query_for_user(app, user_id), "usage log query")
        .await?
        .iter()
        .map(line_from_item)
        .collect()
}
