//! Privacy-policy versions. An operator publishes a version with its
//! effective date at least `NOTICE_DAYS` ahead (the policy's own promise);
//! every verified account is then emailed once about it, and the web app
//! shows it until the account acknowledges it.
//!
//! Items (AccountsTable): `pk=POLICY`, `sk=VERSION#{version}`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::app::App;
use crate::clock;
use crate::dynamo::{self, Item, get_opt_s, get_s, s};
use crate::error::{Error, Result};

/// The `Handler` of the operator's publish function.
pub const PUBLISH_HANDLER: &str = "policy-publish";

/// Days of notice a change gets before it takes effect.
pub const NOTICE_DAYS: i64 = 7;
const VERSION_MAX: usize = 32;
const SUMMARY_MAX: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub en: String,
    pub zh: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Version {
    pub version: String,
    pub effective_at: String,
    pub summary: Summary,
    pub published_at: String,
}

/// What the operator command sends.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Publish {
    pub version: String,
    /// RFC 3339, or a date (`2027-01-15`, midnight UTC).
    pub effective_at: String,
    pub summary: Summary,
}

#[derive(Debug, Serialize)]
pub struct Versions {
    /// The newest version in effect.
    pub current: Option<Version>,
    /// The next version not yet in effect.
    pub upcoming: Option<Version>,
}

fn effective(raw: &str) -> Result<OffsetDateTime> {
    let raw = raw.trim();
    let parsed = clock::parse_rfc3339(raw).or_else(|| {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        time::Date::parse(raw, format)
            .ok()
            .map(|d| d.midnight().assume_utc())
    });
    parsed.ok_or_else(|| {
        Error::invalid(
            "effective_at",
            "effective_at must be a date (2027-01-15) or an RFC 3339 time",
        )
    })
}

fn check_text(field: &'static str, text: &str, max: usize) -> Result<()> {
    if text.trim().is_empty() || text.chars().count() > max {
        return Err(Error::invalid(
            field,
            format!("{field} must be 1 to {max} characters"),
        ));
    }
    Ok(())
}

/// Records a new version. Refused when it takes effect sooner than
/// `NOTICE_DAYS` from now, or when the version exists already.
pub async fn publish(app: &App, input: Publish) -> Result<Version> {
    let version = input.version.trim().to_owned();
    if version.is_empty()
        || version.len() > VERSION_MAX
        || !version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    {
        return Err(Error::invalid(
            "version",
            format!("version must be 1 to {VERSION_MAX} letters, digits, '-', '.' or '_'"),
        ));
    }
    check_text("summary.en", &input.summary.en, SUMMARY_MAX)?;
    check_text("summary.zh", &input.summary.zh, SUMMARY_MAX)?;
    let at = effective(&input.effective_at)?;
    let now = clock::now();
    if at < now + time::Duration::days(NOTICE_DAYS) {
        return Err(Error::invalid(
            "effective_at",
            format!(
                "a policy change takes effect at least {NOTICE_DAYS} days after it is published"
            ),
        ));
    }
    let v = Version {
        version,
        effective_at: clock::rfc3339(at),
        summary: input.summary,
        published_at: clock::rfc3339(now),
    };
    app.dynamo
        .put_item()
        .table_name(&app.config.accounts_table)
        .item("pk", s("POLICY"))
        .item("sk", s(format!("VERSION#{}", v.version)))
        .item("kind", s("policy_version"))
        .item("version", s(&v.version))
        .item("effective_at", s(&v.effective_at))
        .item("summary_en", s(&v.summary.en))
        .item("summary_zh", s(&v.summary.zh))
        .item("published_at", s(&v.published_at))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await
        .map_err(|e| match dynamo::classify(&e) {
            dynamo::WriteFailure::ConditionFailed => Error::conflict(
                "version_exists",
                "this policy version was published already",
            ),
            _ => dynamo::sdk_error("publish policy", e),
        })?;
    crate::mail::enqueue(
        app,
        &crate::mail::Notice::PolicyPublished {
            version: v.version.clone(),
            after: None,
        },
    )
    .await;
    tracing::info!(version = %v.version, effective_at = %v.effective_at, "policy version published");
    Ok(v)
}

/// The publish function's invocation: the event is a `Publish`; a refusal
/// comes back as the invocation's error, for the operator to read.
pub async fn publish_event(
    app: &App,
    event: serde_json::Value,
) -> std::result::Result<Version, lambda_runtime::Error> {
    let input: Publish = serde_json::from_value(event).map_err(|e| {
        format!("the event must be {{version, effective_at, summary: {{en, zh}}}}: {e}")
    })?;
    publish(app, input).await.map_err(|e| match e {
        Error::Internal(source) => {
            tracing::error!(error = %format!("{source:#}"), "publish failed");
            lambda_runtime::Error::from("internal error; see the function's log")
        }
        other => lambda_runtime::Error::from(other.to_string()),
    })
}

fn from_item(item: &Item) -> Result<Version> {
    Ok(Version {
        version: get_s(item, "version")?,
        effective_at: get_s(item, "effective_at")?,
        summary: Summary {
            en: get_opt_s(item, "summary_en").unwrap_or_default(),
            zh: get_opt_s(item, "summary_zh").unwrap_or_default(),
        },
        published_at: get_opt_s(item, "published_at").unwrap_or_default(),
    })
}

/// Every published version, by effective date.
pub async fn all(app: &App) -> Result<Vec<Version>> {
    let query = app
        .dynamo
        .query()
        .table_name(&app.config.accounts_table)
        .key_condition_expression("pk = :p AND begins_with(sk, :v)")
        .expression_attribute_values(":p", s("POLICY"))
        .expression_attribute_values(":v", s("VERSION#"));
    let mut versions = dynamo::query_all(query, "list policy versions")
        .await?
        .iter()
        .map(from_item)
        .collect::<Result<Vec<_>>>()?;
    versions.sort_by(|a, b| a.effective_at.cmp(&b.effective_at));
    Ok(versions)
}

pub async fn get(app: &App, version: &str) -> Result<Option<Version>> {
    let out = app
        .dynamo
        .get_item()
        .table_name(&app.config.accounts_table)
        .key("pk", s("POLICY"))
        .key("sk", s(format!("VERSION#{version}")))
        .send()
        .await
        .map_err(|e| dynamo::sdk_error("read policy version", e))?;
    out.item.as_ref().map(from_item).transpose()
}

pub async fn versions(app: &App) -> Result<Versions> {
    let now = clock::rfc3339(clock::now());
    let all = all(app).await?;
    let (past, future): (Vec<_>, Vec<_>) = all.into_iter().partition(|v| v.effective_at <= now);
    Ok(Versions {
        current: past.into_iter().last(),
        upcoming: future.into_iter().next(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_dates_parse_as_dates_or_times() {
        assert_eq!(
            clock::rfc3339(effective("2027-01-15").unwrap()),
            "2027-01-15T00:00:00Z"
        );
        assert!(effective("2027-01-15T08:00:00Z").is_ok());
        assert!(effective("next week").is_err());
    }
}
