//! Outgoing email: what is to be said (`Notice`), queued for the mailer
//! function, and the letter it becomes, sent through Amazon SES v2.
//!
//! A request never sends mail itself: it queues a notice and answers. The
//! mailer (`notify`) turns each notice into a letter with the account's
//! current state, so a notice names the account, never its address or a
//! link token (the one exception is the deletion notice, whose account may
//! be purged before the mailer reads it). SQS retries what the mailer could
//! not send; what never sends ends in the mail dead-letter queue.

use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage};
use mail_builder::MessageBuilder;
use mail_builder::headers::raw::Raw;
use mail_builder::headers::url::URL;
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::error::{Error, Result};

/// What the mailer is asked to tell someone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Notice {
    /// A link that confirms the account's address.
    VerifyEmail {
        user_id: String,
    },
    /// A link, to the address the account asked to move to, that confirms it.
    ConfirmNewEmail {
        user_id: String,
    },
    /// To the current address: someone asked to move the account elsewhere.
    EmailChangeRequested {
        user_id: String,
    },
    /// A link that sets a new password.
    PasswordReset {
        user_id: String,
    },
    PasswordChanged {
        user_id: String,
        by_reset: bool,
    },
    /// A sign-in from a client IP the account has not used in 30 days.
    NewSignIn {
        user_id: String,
        ip: String,
        at: String,
    },
    /// The account is going: what will be deleted, and by when.
    DeletionRequested {
        to: String,
        language: String,
        requested_at: String,
    },
    /// A video ended: succeeded, failed or cancelled (credits back for the
    /// last two). Mailed for the first two; every one goes to the account's
    /// webhooks.
    JobEnded {
        user_id: String,
        job_id: String,
        /// How it ended (`jobs::Status`), for when the job is deleted
        /// before the notice is handled.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<String>,
    },
    /// An operator published a policy version: tell every verified account,
    /// one page of accounts per notice (`after`: the key the last page
    /// ended on).
    PolicyPublished {
        version: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<[String; 2]>,
    },
    /// A receipt: credits a payment bought (a pack, or a plan's month).
    PaymentReceived {
        user_id: String,
        payment_id: String,
    },
    /// A data export the account asked for is ready to download.
    ExportReady {
        user_id: String,
        export_id: String,
    },
    /// One account's notice of a policy version.
    PolicyChange {
        user_id: String,
        version: String,
    },
}

impl Notice {
    /// For logs and metrics (never the notice itself, which names people).
    pub fn kind(&self) -> &'static str {
        match self {
            Notice::VerifyEmail { .. } => "verify_email",
            Notice::ConfirmNewEmail { .. } => "confirm_new_email",
            Notice::EmailChangeRequested { .. } => "email_change_requested",
            Notice::PasswordReset { .. } => "password_reset",
            Notice::PasswordChanged { .. } => "password_changed",
            Notice::NewSignIn { .. } => "new_sign_in",
            Notice::DeletionRequested { .. } => "deletion_requested",
            Notice::JobEnded { .. } => "job_ended",
            Notice::PolicyPublished { .. } => "policy_published",
            Notice::PolicyChange { .. } => "policy_change",
            Notice::PaymentReceived { .. } => "payment_received",
            Notice::ExportReady { .. } => "export_ready",
        }
    }
}

/// Attempts at queueing a notice before the request gives up on it.
const ENQUEUE_ATTEMPTS: u64 = 3;

/// Queues a notice for the mailer. Never fails the caller: mail is a side
/// effect of a request that has already done its work, so a queue that
/// stays unreachable after a few tries is logged and counted, not raised.
pub async fn enqueue(app: &App, notice: &Notice) {
    let kind = notice.kind();
    let Some(url) = app.config.mail.queue_url.as_deref() else {
        tracing::warn!(kind, "no MAIL_QUEUE_URL: mail is off for this function");
        return;
    };
    let body = match serde_json::to_string(notice) {
        Ok(body) => body,
        Err(err) => {
            tracing::error!(kind, error = %err, "notice not serialisable");
            return;
        }
    };
    for attempt in 1..=ENQUEUE_ATTEMPTS {
        match app
            .sqs
            .send_message()
            .queue_url(url)
            .message_body(&body)
            .send()
            .await
        {
            Ok(_) => return,
            Err(err) => {
                tracing::warn!(kind, attempt, error = %aws_sdk_sqs::error::DisplayErrorContext(&err), "queueing mail failed");
                if attempt < ENQUEUE_ATTEMPTS {
                    tokio::time::sleep(std::time::Duration::from_millis(100 * attempt)).await;
                }
            }
        }
    }
    tracing::error!(kind, "mail not queued");
    crate::telemetry::count("MailNotQueued", 1, &[("kind", kind)]);
}

/// Queues many notices (one page of a policy fan-out), concurrently, one
/// SendMessage each. Unlike `enqueue` this fails, so the page is retried;
/// the mailer's send claims make the repeats harmless.
pub async fn enqueue_all(app: &App, notices: &[Notice]) -> Result<()> {
    let url = app
        .config
        .mail
        .queue_url
        .clone()
        .ok_or_else(|| Error::internal("mail fan-out", "MAIL_QUEUE_URL is not set"))?;
    let mut sends = tokio::task::JoinSet::new();
    for notice in notices {
        let body = serde_json::to_string(notice).map_err(|e| Error::internal("notice", e))?;
        let (sqs, url) = (app.sqs.clone(), url.clone());
        sends.spawn(async move {
            sqs.send_message()
                .queue_url(url)
                .message_body(body)
                .send()
                .await
        });
    }
    let mut failed = 0;
    while let Some(sent) = sends.join_next().await {
        match sent {
            Ok(Ok(_)) => {}
            Ok(Err(err)) => {
                failed += 1;
                tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(&err), "notice not queued");
            }
            Err(err) => {
                failed += 1;
                tracing::warn!(error = %err, "notice send task failed");
            }
        }
    }
    if failed > 0 {
        return Err(Error::internal(
            "queue notices",
            format!("{failed} of {} not queued", notices.len()),
        ));
    }
    Ok(())
}

/// One email, ready to go: both a text and an HTML body, and for mail a
/// user may turn off, the one-click unsubscribe URL (RFC 8058).
#[derive(Debug, Clone)]
pub struct Letter {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub unsubscribe: Option<String>,
}

/// How SES answered.
#[derive(Debug, PartialEq, Eq)]
pub enum Sent {
    Sent,
    /// SES refused this message for good (a suppressed or malformed
    /// address): retrying cannot help.
    Rejected,
}

/// The From address, at the sender domain (the SES identity).
pub fn from_address(domain: &str) -> String {
    format!("no-reply@{domain}")
}

/// Builds the MIME message (multipart/alternative, UTF-8 headers encoded
/// as RFC 2047 where needed) and sends it raw, which is how SES carries
/// the unsubscribe headers.
pub fn mime(from: &str, letter: &Letter) -> Result<Vec<u8>> {
    let mut message = MessageBuilder::new()
        .from(("Glimvid", from))
        .to(letter.to.as_str())
        .subject(letter.subject.as_str())
        .text_body(letter.text.as_str())
        .html_body(letter.html.as_str());
    if let Some(url) = &letter.unsubscribe {
        message = message
            .header("List-Unsubscribe", URL::new(url.as_str()))
            .header(
                "List-Unsubscribe-Post",
                Raw::new("List-Unsubscribe=One-Click"),
            );
    }
    message
        .write_to_vec()
        .map_err(|e| Error::internal("build mail", e))
}

pub async fn send(app: &App, letter: &Letter) -> Result<Sent> {
    let from = from_address(&app.config.mail.sender);
    let raw = RawMessage::builder()
        .data(Blob::new(mime(&from, letter)?))
        .build()
        .map_err(|e| Error::internal("raw mail", e))?;
    let result = app
        .ses
        .send_email()
        .from_email_address(&from)
        .destination(
            Destination::builder()
                .to_addresses(letter.to.as_str())
                .build(),
        )
        .content(EmailContent::builder().raw(raw).build())
        .send()
        .await;
    match result {
        Ok(_) => Ok(Sent::Sent),
        Err(err) => {
            use aws_sdk_sesv2::error::ProvideErrorMetadata;
            use aws_sdk_sesv2::operation::send_email::SendEmailError;
            // SES's messages name the addresses they are about: only the
            // error code goes to the logs.
            let code = err.code().unwrap_or("no error code").to_owned();
            match err.as_service_error() {
                Some(
                    SendEmailError::MessageRejected(_) | SendEmailError::BadRequestException(_),
                ) => {
                    tracing::warn!(code = %code, "SES rejected the message");
                    Ok(Sent::Rejected)
                }
                Some(_) => Err(Error::internal("send mail", format!("SES: {code}"))),
                // Not SES's answer (timeout, connection): nothing personal in it.
                None => Err(Error::internal(
                    "send mail",
                    aws_sdk_sesv2::error::DisplayErrorContext(err),
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_round_trip_and_name_no_address_or_token() {
        let notice = Notice::PasswordReset {
            user_id: "u1".into(),
        };
        let json = serde_json::to_string(&notice).unwrap();
        assert_eq!(json, r#"{"kind":"password_reset","user_id":"u1"}"#);
        assert_eq!(serde_json::from_str::<Notice>(&json).unwrap(), notice);
    }

    #[test]
    fn one_click_unsubscribe_headers_and_both_bodies() {
        let letter = Letter {
            to: "ada@example.com".into(),
            subject: "你的视频已完成".into(),
            text: "plain".into(),
            html: "<p>html</p>".into(),
            unsubscribe: Some("https://api.example/email/unsubscribe?token=abc".into()),
        };
        let raw = String::from_utf8(mime("no-reply@glimvid.example", &letter).unwrap()).unwrap();
        assert!(
            raw.contains("List-Unsubscribe: <https://api.example/email/unsubscribe?token=abc>")
        );
        assert!(raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
        assert!(raw.contains("multipart/alternative"));
        assert!(raw.contains("text/plain") && raw.contains("text/html"));
        assert!(
            raw.contains("Subject: =?utf-8?"),
            "non-ASCII subject is RFC 2047 encoded"
        );
        assert_eq!(from_address("glimvid.example"), "no-reply@glimvid.example");
    }
}
