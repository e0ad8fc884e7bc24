//! Fixed-window request counters per client IP and route class, and
//! failed sign-ins per account.
//!
//! The window start is part of the key, so a counter is only ever read in
//! its own window: an expired counter that DynamoDB has not yet deleted can
//! never be counted again. Counters carry a TTL so the table stays small.

use aws_sdk_dynamodb::types::ReturnValue;

use crate::app::App;
use crate::clock;
use crate::dynamo::{self, get_n, n, s};
use crate::error::{Error, Result};

const WINDOW_SECONDS: i64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateClass {
    /// Credential routes: the brute-force surface.
    Auth,
    Api,
}

impl RateClass {
    pub fn as_str(self) -> &'static str {
        match self {
            RateClass::Auth => "auth",
            RateClass::Api => "api",
        }
    }

    fn per_window(self, app: &App) -> u32 {
        match self {
            RateClass::Auth => app.config.limits.auth_requests_per_minute,
            RateClass::Api => app.config.limits.api_requests_per_minute,
        }
    }
}

/// Counts this request and refuses it when the window's budget is spent.
pub async fn admit(app: &App, ip: &str, class: RateClass) -> Result<()> {
    let counter = format!("{}#{ip}", class.as_str());
    within_budget(app, &counter, class.per_window(app), "rate limit")
        .await
        .inspect_err(|e| {
            if matches!(e, Error::RateLimited { .. }) {
                tracing::warn!(class = class.as_str(), "rate limit exceeded");
            }
        })
}

/// Counts a request made with an API key against the key's own budget,
/// whichever IPs it comes from, and notes when the key was last used.
pub async fn admit_key(app: &App, key_id: &str) -> Result<()> {
    let counter = format!("key#{key_id}");
    let limit = app.config.limits.api_key_requests_per_minute;
    let (admitted, used) = tokio::join!(
        within_budget(app, &counter, limit, "key rate limit"),
        key_used(app, key_id, clock::now())
    );
    used?;
    admitted.inspect_err(|e| {
        if matches!(e, Error::RateLimited { .. }) {
            tracing::warn!(key_id, "api key rate limit exceeded");
        }
    })
}

/// Adds this request to `counter`'s current window; RateLimited (with the
/// seconds until the window ends) once it holds more than `limit`.
async fn within_budget(app: &App, counter: &str, limit: u32, context: &'static str) -> Result<()> {
    let now = clock::epoch_seconds(clock::now());
    let window_start = now - now.rem_euclid(WINDOW_SECONDS);
    let window_end = window_start + WINDOW_SECONDS;
    let key = format!("{counter}#{window_start}");
    let hits = count(app, &key, window_end + WINDOW_SECONDS, context).await?;
    if hits > i64::from(limit) {
        return Err(Error::RateLimited {
            retry_after_s: u64::try_from(window_end - now).unwrap_or(1).max(1),
        });
    }
    Ok(())
}

/// How long a key's last use is remembered after it.
const KEY_USED_DAYS: i64 = 400;

fn key_used_pk(key_id: &str) -> String {
    format!("keyused#{key_id}")
}

async fn key_used(app: &App, key_id: &str, now: time::OffsetDateTime) -> Result<()> {
    app.dynamo
        .update_item()
        .table_name(&app.config.rate_limit_table)
        .key("pk", s(key_used_pk(key_id)))
        .update_expression("SET last_used_at = :now, expires_at = :expires")
        .expression_attribute_values(":now", s(clock::rfc3339(now)))
        .expression_attribute_values(
            ":expires",
            n(clock::epoch_seconds(
                now + time::Duration::days(KEY_USED_DAYS),
            )),
        )
        .send()
        .await
        .map_err(|e| dynamo::sdk_error("note key use", e))?;
    Ok(())
}

/// When each of these keys was last used (keys never used are absent).
pub async fn keys_last_used(
    app: &App,
    key_ids: &[String],
) -> Result<std::collections::HashMap<String, String>> {
    let mut used = std::collections::HashMap::new();
    if key_ids.is_empty() {
        return Ok(used);
    }
    let mut keys = aws_sdk_dynamodb::types::KeysAndAttributes::builder();
    for id in key_ids {
        keys = keys.keys(std::collections::HashMap::from([(
            "pk".to_owned(),
            s(key_used_pk(id)),
        )]));
    }
    let mut request = Some(dynamo::built(keys.build())?);
    // BatchGetItem may hand back part of the batch as unprocessed.
    for _ in 0..5 {
        let Some(keys) = request.take() else { break };
        let out = app
            .dynamo
            .batch_get_item()
            .request_items(&app.config.rate_limit_table, keys)
            .send()
            .await
            .map_err(|e| dynamo::sdk_error("read key use", e))?;
        for item in out
            .responses
            .as_ref()
            .and_then(|r| r.get(&app.config.rate_limit_table))
            .into_iter()
            .flatten()
        {
            if let (Some(pk), Some(at)) = (
                dynamo::get_opt_s(item, "pk"),
                dynamo::get_opt_s(item, "last_used_at"),
            ) && let Some(id) = pk.strip_prefix("keyused#")
            {
                used.insert(id.to_owned(), at);
            }
        }
        request = out
            .unprocessed_keys
            .and_then(|mut u| u.remove(&app.config.rate_limit_table))
            .filter(|k| !k.keys.is_empty());
    }
    Ok(used)
}

/// Adds one to a window's counter (created with its TTL); the new count.
async fn count(app: &App, key: &str, expires_at: i64, context: &'static str) -> Result<i64> {
    let out = app
        .dynamo
        .update_item()
        .table_name(&app.config.rate_limit_table)
        .key("pk", s(key))
        .update_expression("ADD hits :one SET expires_at = if_not_exists(expires_at, :expires)")
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":expires", n(expires_at))
        .return_values(ReturnValue::UpdatedNew)
        .send()
        .await
        .map_err(|e| dynamo::sdk_error(context, e))?;
    Ok(out
        .attributes
        .as_ref()
        .map(|a| get_n(a, "hits"))
        .transpose()?
        .unwrap_or(1))
}

const ACCOUNT_WINDOW_SECONDS: i64 = 15 * 60;

/// Failed sign-ins are counted per address, from every IP together, so a
/// guess spread over many IPs is slowed too. The key is a digest of what
/// the caller typed (normalised when it is an address): known, unknown and
/// malformed addresses are counted and refused alike, and the table never
/// holds an address.
pub struct AccountGuard {
    key: String,
    window_end: i64,
}

impl AccountGuard {
    pub fn new(typed_email: &str) -> Self {
        let id = crate::accounts::email::normalise(typed_email)
            .unwrap_or_else(|_| typed_email.trim().to_lowercase());
        let now = clock::epoch_seconds(clock::now());
        let window_start = now - now.rem_euclid(ACCOUNT_WINDOW_SECONDS);
        AccountGuard {
            key: format!(
                "login#{}#{window_start}",
                crate::accounts::token::digest(&id)
            ),
            window_end: window_start + ACCOUNT_WINDOW_SECONDS,
        }
    }

    /// Refuses the attempt, before any password is checked, once the
    /// address's failures in this window reached the limit.
    pub async fn admit(&self, app: &App) -> Result<()> {
        let out = app
            .dynamo
            .get_item()
            .table_name(&app.config.rate_limit_table)
            .key("pk", s(&self.key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| dynamo::sdk_error("login failures", e))?;
        let failures = out
            .item
            .as_ref()
            .map(|i| get_n(i, "hits"))
            .transpose()?
            .unwrap_or_default();
        if failures >= i64::from(app.config.limits.login_failures_per_account) {
            let now = clock::epoch_seconds(clock::now());
            tracing::warn!(
                failures,
                "sign-ins refused for an address after repeated failures"
            );
            return Err(Error::RateLimited {
                retry_after_s: u64::try_from(self.window_end - now).unwrap_or(1).max(1),
            });
        }
        Ok(())
    }

    pub async fn failed(&self, app: &App) -> Result<()> {
        let expires_at = self.window_end + ACCOUNT_WINDOW_SECONDS;
        count(app, &self.key, expires_at, "count login failure").await?;
        Ok(())
    }

    /// The owner proved they hold the mailbox (a reset link): the lock goes.
    pub async fn lift(&self, app: &App) -> Result<()> {
        app.dynamo
            .delete_item()
            .table_name(&app.config.rate_limit_table)
            .key("pk", s(&self.key))
            .send()
            .await
            .map_err(|e| dynamo::sdk_error("lift login lock", e))?;
        Ok(())
    }
}
