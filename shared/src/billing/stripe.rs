//! Stripe's REST API over HTTPS: form-encoded requests, JSON answers,
//! `{"error": {"type", "code", "message"}}` on failure. Only the three calls
//! Glimvid makes: create a Checkout Session, create a customer-portal
//! session, cancel a subscription.
//!
//! A request is tried twice at most, with one `Idempotency-Key`, so a retry
//! after a lost answer cannot create a second session. Stripe's messages
//! are logged (they name parameters, never the key) but never shown to a
//! user.

use std::sync::OnceLock;
use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::config::Payments;
use crate::error::{Error, Result};

/// The API version requests are made in, so answers keep their shape when
/// the account's default moves. The webhook endpoint is created with the
/// same version (README); the webhook reads the older shapes as well.
pub const API_VERSION: &str = "2025-03-31.basil";

const ATTEMPTS: u32 = 2;

fn http() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            // Inside the functions' 10 s, with room for the second try.
            .timeout(Duration::from_secs(4))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default()
    })
}

pub fn unavailable() -> Error {
    Error::Unavailable {
        code: "payments_unavailable",
        message: "payments are not available right now".into(),
    }
}

fn provider_failed() -> Error {
    Error::Upstream {
        code: "payment_provider_error",
        message: "the payment provider did not answer; please try again".into(),
    }
}

/// Stripe's own error: a 4xx it explains.
#[derive(Debug, Deserialize, Default)]
pub struct StripeError {
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: StripeError,
}

/// What a call came to: Stripe's answer, or the error it gave.
pub enum Answer<T> {
    Ok(T),
    Refused { status: u16, error: StripeError },
}

pub struct Client<'a> {
    payments: &'a Payments,
}

impl<'a> Client<'a> {
    /// Stripe as configured, or 503 when the key is not set up.
    pub fn new(payments: &'a Payments) -> Result<Self> {
        if payments.api_key.is_empty() {
            return Err(unavailable());
        }
        Ok(Client { payments })
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        form: &[(String, String)],
    ) -> Result<Answer<T>> {
        let url = format!("{}{path}", self.payments.api_base);
        let idempotency = uuid::Uuid::new_v4().to_string();
        let mut last = None;
        for attempt in 1..=ATTEMPTS {
            let mut request = http()
                .request(method.clone(), &url)
                .bearer_auth(self.payments.api_key.expose())
                .header("Stripe-Version", API_VERSION);
            if method == reqwest::Method::POST {
                request = request.header("Idempotency-Key", &idempotency).form(form);
            }
            let response = match request.send().await {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(
                        path,
                        attempt,
                        timeout = e.is_timeout(),
                        connect = e.is_connect(),
                        "Stripe could not be reached"
                    );
                    last = Some(provider_failed());
                    continue;
                }
            };
            let status = response.status();
            let body = match response.bytes().await {
                Ok(b) => b,
                Err(_) => {
                    last = Some(provider_failed());
                    continue;
                }
            };
            if status.is_success() {
                return serde_json::from_slice(&body).map(Answer::Ok).map_err(|e| {
                    tracing::error!(path, error = %e, "Stripe's answer is not understood");
                    provider_failed()
                });
            }
            let error = serde_json::from_slice::<ErrorBody>(&body)
                .map(|b| b.error)
                .unwrap_or_default();
            tracing::warn!(
                path,
                attempt,
                status = status.as_u16(),
                kind = %error.kind,
                code = ?error.code,
                message = ?error.message,
                "Stripe refused a request"
            );
            // 429 and 5xx may pass on a retry; the rest will not.
            if status.as_u16() == 429 || status.is_server_error() {
                last = Some(provider_failed());
                continue;
            }
            return Ok(Answer::Refused {
                status: status.as_u16(),
                error,
            });
        }
        Err(last.unwrap_or_else(provider_failed))
    }

    /// A refusal of a request Glimvid built is a bug or a misconfigured
    /// account (a wrong key): the user can do nothing about it.
    fn refused(path: &str, status: u16, error: &StripeError) -> Error {
        if status == 401 || status == 403 {
            tracing::error!(path, status, "Stripe rejected the API key");
            return unavailable();
        }
        Error::internal(
            "Stripe refused the request",
            format!(
                "{path}: {status} {}",
                error.code.as_deref().unwrap_or(&error.kind)
            ),
        )
    }

    pub async fn create_checkout_session(&self, form: &[(String, String)]) -> Result<Session> {
        let path = "/v1/checkout/sessions";
        match self.call(reqwest::Method::POST, path, form).await? {
            Answer::Ok(session) => Ok(session),
            Answer::Refused { status, error } => Err(Self::refused(path, status, &error)),
        }
    }

    /// A portal link for the customer, or None when Stripe no longer knows it.
    pub async fn create_portal_session(
        &self,
        customer: &str,
        return_url: &str,
    ) -> Result<Option<Session>> {
        let path = "/v1/billing_portal/sessions";
        let form = [
            ("customer".to_owned(), customer.to_owned()),
            ("return_url".to_owned(), return_url.to_owned()),
        ];
        match self.call(reqwest::Method::POST, path, &form).await? {
            Answer::Ok(session) => Ok(Some(session)),
            Answer::Refused { error, .. } if error.code.as_deref() == Some("resource_missing") => {
                Ok(None)
            }
            Answer::Refused { status, error } => Err(Self::refused(path, status, &error)),
        }
    }

    /// Cancels now (no proration refund). A subscription Stripe no longer
    /// has is as good as cancelled.
    pub async fn cancel_subscription(&self, id: &str) -> Result<()> {
        if !is_stripe_id(id, "sub_") {
            return Err(Error::internal("cancel subscription", "malformed id"));
        }
        let path = format!("/v1/subscriptions/{id}");
        match self
            .call::<serde_json::Value>(reqwest::Method::DELETE, &path, &[])
            .await?
        {
            Answer::Ok(_) => Ok(()),
            Answer::Refused { error, .. } if error.code.as_deref() == Some("resource_missing") => {
                Ok(())
            }
            Answer::Refused { status, error } => Err(Self::refused(&path, status, &error)),
        }
    }
}

/// A Checkout or portal session: where to send the user.
#[derive(Debug, Deserialize)]
pub struct Session {
    pub id: String,
    pub url: Option<String>,
}

/// Stripe ids are a prefix and letters or digits; anything else is never
/// put into a URL path.
pub fn is_stripe_id(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix).is_some_and(|rest| {
        !rest.is_empty()
            && rest.len() < 255
            && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_ids_go_into_a_path() {
        assert!(is_stripe_id("sub_1PqR2sT3", "sub_"));
        assert!(!is_stripe_id("sub_", "sub_"));
        assert!(!is_stripe_id("sub_../../v1/charges", "sub_"));
        assert!(!is_stripe_id("cus_123", "sub_"));
    }
}
