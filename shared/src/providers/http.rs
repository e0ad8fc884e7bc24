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
    #[serde(default)]
    error: Option<ErrorDetail>,
    /// `{"detail": "..."}`, the shape DeepSeek's API answered with before
    /// it moved to the OpenAI-style `error` object.
    #[serde(default)]
    detail: Option<String>,
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

/// `{"error": {"code", "message"}}`, both DeepSeek's and Ark's shape (and
/// DeepSeek's older `{"detail"}`, read as the message).
pub fn error_detail(body: &[u8]) -> ErrorDetail {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(ErrorBody {
            error: Some(error), ..
        }) => error,
        Ok(ErrorBody {
            detail: Some(detail),
            ..
        }) => ErrorDetail {
            message: Some(detail),
            ..ErrorDetail::default()
        },
        _ => ErrorDetail::default(),
    }
}

/// What one call's content checks look at, for the message a refusal
/// shows: the provider, what was flagged, and what the user can do.
pub struct Checks {
    pub provider: &'static str,
    pub flagged: &'static str,
    pub instead: &'static str,
}

impl Checks {
    pub fn refused(&self) -> ProviderError {
        ProviderError::refused(format!(
            "{}'s content checks flagged {}, so no video was made; {}",
            self.provider, self.flagged, self.instead
        ))
    }
}

/// Ark's moderation codes: `InputTextSensitiveContentDetected`,
/// `InputImageSensitiveContentDetected`,
/// `OutputImageSensitiveContentDetected`,
/// `OutputVideoSensitiveContentDetected`, ...
pub fn is_moderation_code(code: &str) -> bool {
    code.contains("SensitiveContentDetected")
}

/// DeepSeek's refusal of a request its content checks flag: HTTP 400 with
/// `{"error": {"message": "Content Exists Risk", "type":
/// "invalid_request_error", "code": "invalid_request_error"}}` (earlier
/// `{"detail": "Content Exists Risk"}`); the code alone says nothing.
pub fn is_content_risk(message: &str) -> bool {
    message.to_ascii_lowercase().contains("content exists risk")
}

/// Whether an error body is a content refusal, by either provider's sign.
pub fn is_refusal(detail: &ErrorDetail) -> bool {
    is_moderation_code(&detail.code_text())
        || detail.message.as_deref().is_some_and(is_content_risk)
}

/// A non-success status as a failure: a content refusal is its own kind;
/// 429 and 5xx are worth retrying, other 4xx are not (the request or our
/// account is wrong).
pub fn status_error(checks: &Checks, status: StatusCode, body: &[u8]) -> ProviderError {
    let provider = checks.provider;
    let detail = error_detail(body);
    if status.is_client_error() && is_refusal(&detail) {
        return checks.refused();
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

#[cfg(test)]
mod tests {
    use super::*;

    const CHECKS: Checks = Checks {
        provider: "the writer",
        flagged: "the description",
        instead: "try different wording",
    };

    #[test]
    fn content_refusals_are_their_own_kind_in_every_shape_the_providers_use() {
        let bodies: [&[u8]; 4] = [
            br#"{"error":{"message":"Content Exists Risk","type":"invalid_request_error","param":null,"code":"invalid_request_error"}}"#,
            br#"{"detail":"Content Exists Risk"}"#,
            br#"{"error":{"code":"InputTextSensitiveContentDetected","message":"The request failed because the input text may contain sensitive information."}}"#,
            br#"{"error":{"code":"InputImageSensitiveContentDetected","message":"..."}}"#,
        ];
        for body in bodies {
            let err = status_error(&CHECKS, StatusCode::BAD_REQUEST, body);
            assert!(err.is_refusal() && err.is_permanent(), "{err}");
            assert_eq!(err.code, "content_rejected");
            assert_eq!(
                err.message,
                "the writer's content checks flagged the description, so no video was made; try different wording"
            );
        }
    }

    #[test]
    fn other_failures_are_not_refusals() {
        let model = br#"{"error":{"message":"Model Not Exist","type":"invalid_request_error","param":null,"code":"invalid_request_error"}}"#;
        let err = status_error(&CHECKS, StatusCode::BAD_REQUEST, model);
        assert!(!err.is_refusal() && err.is_permanent());
        assert_eq!(err.code, "provider_rejected");
        let busy = status_error(
            &CHECKS,
            StatusCode::SERVICE_UNAVAILABLE,
            b"Content Exists Risk",
        );
        assert!(!busy.is_refusal() && !busy.is_permanent());
    }
}
