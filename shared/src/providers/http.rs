//! What the remote clients share: an HTTP client with connect and total
//! timeouts, the classification of statuses and transport errors into
//! permanent and transient failures, and a retry budget with backoff.

use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;
use tokio::time::Instant;

use super::ProviderError;
use crate::config::Providers;

pub fn client(config: &Providers) -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(config.connect_timeout)
        .timeout(config.request_timeout)
        // Provider APIs answer directly; a redirect is not followed.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

/// A transport failure, described without the URL or anything else the
/// error might carry.
pub fn transport(provider: &str, err: &reqwest::Error) -> ProviderError {
    if err.is_timeout() {
        ProviderError::transient(
            "provider_timeout",
            format!("{provider} did not answer in time"),
        )
    } else if err.is_connect() {
        ProviderError::transient(
            "provider_unreachable",
            format!("{provider} could not be reached"),
        )
    } else {
        ProviderError::transient(
            "provider_connection",
            format!("the connection to {provider} failed"),
        )
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    error: Option<ErrorDetail>,
}

#[derive(Deserialize, Default)]
pub struct ErrorDetail {
    #[serde(default)]
    pub code: Option<serde_json::Value>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

impl ErrorDetail {
    pub fn code_text(&self) -> String {
        match &self.code {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => self.kind.clone().unwrap_or_default(),
        }
    }
}

/// The provider's own words, trimmed to something safe to show: one line,
/// printable, short.
pub fn tidy(text: &str) -> String {
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    line.trim().to_owned()
}

/// `{"error": {"code", "message"}}`, both DeepSeek's and Ark's shape.
pub fn error_detail(body: &[u8]) -> ErrorDetail {
    serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .and_then(|b| b.error)
        .unwrap_or_default()
}

/// Content moderation refusals are permanent and get a message the user
/// can act on.
pub fn is_moderation(code: &str) -> bool {
    code.contains("SensitiveContentDetected")
}

pub fn moderation(provider: &str) -> ProviderError {
    ProviderError::permanent(
        "content_rejected",
        format!(
            "{provider}'s content checks flagged the photo, description or result; try another photo or different wording"
        ),
    )
}

/// A non-success status as a failure: 429 and 5xx are worth retrying,
/// other 4xx are not (the request or our account is wrong).
pub fn status_error(provider: &str, status: StatusCode, body: &[u8]) -> ProviderError {
    let detail = error_detail(body);
    let code = detail.code_text();
    if is_moderation(&code) {
        return moderation(provider);
    }
    let said = detail.message.as_deref().map(tidy).unwrap_or_default();
    let with_reason = |what: String| {
        if said.is_empty() {
            what
        } else {
            format!("{what}: {said}")
        }
    };
    match status.as_u16() {
        429 => ProviderError::transient("provider_busy", format!("{provider} is rate limiting us")),
        500..=599 => ProviderError::transient(
            "provider_unavailable",
            format!("{provider} had a server error ({})", status.as_u16()),
        ),
        401 | 403 => ProviderError::permanent(
            "provider_auth",
            format!("{provider} refused our credentials; the service is misconfigured"),
        ),
        402 => ProviderError::permanent(
            "provider_billing",
            format!("{provider} says our account balance is used up"),
        ),
        400 | 422 => ProviderError::permanent(
            "provider_rejected",
            with_reason(format!("{provider} rejected the request")),
        ),
        other => ProviderError::permanent(
            "provider_error",
            with_reason(format!("{provider} answered with status {other}")),
        ),
    }
}

/// Attempts within a time budget, with exponential backoff and jitter.
pub struct Budget {
    deadline: Instant,
    attempt: u32,
}

impl Budget {
    pub fn new(budget: Duration) -> Self {
        Budget {
            deadline: Instant::now() + budget,
            attempt: 0,
        }
    }

    /// Sleeps before the next attempt; false when the budget does not
    /// leave room for one.
    pub async fn next(&mut self) -> bool {
        self.attempt += 1;
        let base = 200u64.saturating_mul(1 << self.attempt.min(5)).min(4_000);
        let mut jitter = [0u8; 2];
        let _ = getrandom::fill(&mut jitter);
        let pause =
            Duration::from_millis(base + u64::from(u16::from_le_bytes(jitter)) % (base / 2 + 1));
        if Instant::now() + pause >= self.deadline {
            return false;
        }
        tokio::time::sleep(pause).await;
        true
    }
}
