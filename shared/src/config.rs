//! Configuration, read once per cold start from the function's environment
//! (on Lambda) or from the variables the local runner resolves out of
//! `infra/template.yaml`.

use anyhow::{Context, bail};

#[derive(Debug, Clone)]
pub struct Config {
    pub accounts_table: String,
    pub usage_log_table: String,
    pub rate_limit_table: String,
    pub credits_table: String,
    pub content_table: String,
    pub media_bucket: String,
    pub state_machine_arn: String,
    pub limits: Limits,
    /// Local fault injection: the named pipeline stage fails permanently.
    /// Never set in the template; tests set it to walk the refund path.
    pub fail_stage: Option<String>,
}

/// Abuse and retention limits. Defaults are the product's promises; the
/// variables exist so a deployment can tighten them without a release.
#[derive(Debug, Clone)]
pub struct Limits {
    pub auth_requests_per_minute: u32,
    pub api_requests_per_minute: u32,
    pub session_days: i64,
    pub usage_log_days: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            auth_requests_per_minute: 10,
            api_requests_per_minute: 300,
            session_days: 30,
            usage_log_days: 30,
        }
    }
}

impl Config {
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let required = |key: &str| {
            lookup(key)
                .filter(|v| !v.is_empty())
                .with_context(|| format!("environment variable {key} is not set"))
        };
        let number = |key: &str, default: i64| -> anyhow::Result<i64> {
            match lookup(key).filter(|v| !v.is_empty()) {
                None => Ok(default),
                Some(v) => {
                    let n: i64 = v
                        .parse()
                        .with_context(|| format!("{key}={v} is not a number"))?;
                    if n <= 0 {
                        bail!("{key} must be positive, got {n}");
                    }
                    Ok(n)
                }
            }
        };
        let defaults = Limits::default();
        let per_minute = |key: &str, default: u32| -> anyhow::Result<u32> {
            let n = number(key, i64::from(default))?;
            u32::try_from(n).with_context(|| format!("{key} is too large"))
        };
        Ok(Config {
            accounts_table: required("ACCOUNTS_TABLE")?,
            usage_log_table: required("USAGE_LOG_TABLE")?,
            rate_limit_table: required("RATE_LIMIT_TABLE")?,
            credits_table: required("CREDITS_TABLE")?,
            content_table: required("CONTENT_TABLE")?,
            media_bucket: required("MEDIA_BUCKET")?,
            state_machine_arn: required("PIPELINE_STATE_MACHINE_ARN")?,
            fail_stage: lookup("PIPELINE_FAIL_STAGE").filter(|v| !v.is_empty()),
            limits: Limits {
                auth_requests_per_minute: per_minute(
                    "AUTH_RATE_LIMIT_PER_MINUTE",
                    defaults.auth_requests_per_minute,
                )?,
                api_requests_per_minute: per_minute(
                    "API_RATE_LIMIT_PER_MINUTE",
                    defaults.api_requests_per_minute,
                )?,
                session_days: number("SESSION_DAYS", defaults.session_days)?,
                usage_log_days: number("USAGE_LOG_RETENTION_DAYS", defaults.usage_log_days)?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    const TABLES: [(&str, &str); 7] = [
        ("ACCOUNTS_TABLE", "a"),
        ("USAGE_LOG_TABLE", "u"),
        ("CREDITS_TABLE", "c"),
        ("CONTENT_TABLE", "j"),
        ("MEDIA_BUCKET", "b"),
        ("PIPELINE_STATE_MACHINE_ARN", "arn:sm"),
        ("RATE_LIMIT_TABLE", "r"),
    ];

    #[test]
    fn defaults_keep_the_policy_promises() {
        let config = Config::from_lookup(lookup(&TABLES)).unwrap();
        assert_eq!(config.limits.auth_requests_per_minute, 10);
        assert_eq!(config.limits.usage_log_days, 30);
        assert_eq!(config.limits.session_days, 30);
    }

    #[test]
    fn missing_table_is_an_error() {
        let err = Config::from_lookup(lookup(&TABLES[..6])).unwrap_err();
        assert!(err.to_string().contains("RATE_LIMIT_TABLE"));
    }

    #[test]
    fn non_positive_limits_are_rejected() {
        let mut pairs = TABLES.to_vec();
        pairs.push(("AUTH_RATE_LIMIT_PER_MINUTE", "0"));
        assert!(Config::from_lookup(lookup(&pairs)).is_err());
    }
}
