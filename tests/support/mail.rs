//! The mail the emulator's SES accepted (`GET /_fakecloud/ses/emails`),
//! parsed back from the raw MIME the mailer sent.

use std::time::{Duration, Instant};

use base64::Engine;
use mail_parser::MessageParser;
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Every header as (name, value), unfolded.
    pub headers: Vec<(String, String)>,
}

impl Mail {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The token of the first link in the text body that contains `marker`
    /// (e.g. `#/verify?token=`).
    pub fn token_after(&self, marker: &str) -> Option<String> {
        let start = self.text.find(marker)? + marker.len();
        Some(
            self.text[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect(),
        )
    }
}

fn parse(raw_b64: &str) -> Option<Mail> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(raw_b64.trim())
        .ok()?;
    let headers = header_lines(&raw);
    let message = MessageParser::default().parse(&raw)?;
    let address = |a: Option<&mail_parser::Address>| -> Vec<String> {
        a.map(|a| {
            a.iter()
                .filter_map(|x| x.address().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
    };
    Some(Mail {
        from: address(message.from())
            .into_iter()
            .next()
            .unwrap_or_default(),
        to: address(message.to()),
        subject: message.subject().unwrap_or_default().to_owned(),
        text: message
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default(),
        html: message
            .body_html(0)
            .map(|t| t.into_owned())
            .unwrap_or_default(),
        headers,
    })
}

/// The top-level header block, unfolded (the parser decodes values; tests
/// of exact header syntax want them as sent).
fn header_lines(raw: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(raw);
    let block = text.split("\r\n\r\n").next().unwrap_or_default();
    let mut out: Vec<(String, String)> = Vec::new();
    for line in block.split("\r\n") {
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            out.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    out
}

/// Every message the emulator's SES accepted, oldest first.
pub async fn all() -> Vec<Mail> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL");
    let body: Value = reqwest::get(format!("{endpoint}/_fakecloud/ses/emails"))
        .await
        .expect("emulator mail")
        .json()
        .await
        .expect("mail JSON");
    body["emails"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["rawData"].as_str().and_then(parse))
        .collect()
}

/// Messages to `address`, oldest first.
pub async fn to(address: &str) -> Vec<Mail> {
    all()
        .await
        .into_iter()
        .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address)))
        .collect()
}

/// Polls the mail to `address` (bounded, 30 s) until `find` picks
/// something from it, newest first.
async fn wait_until<T>(address: &str, what: &str, find: impl Fn(&Mail) -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(found) = to(address).await.iter().rev().find_map(&find) {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "no mail {what} to {address} within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits until `address` has a message whose subject contains `subject`,
/// and returns the newest such.
pub async fn wait_for(address: &str, subject: &str) -> Mail {
    wait_until(address, &format!("\"{subject}\""), |m| {
        m.subject.contains(subject).then(|| m.clone())
    })
    .await
}

/// Waits for a mail to `address` with a link containing `marker`, in
/// whatever language, and returns the newest link's token.
pub async fn wait_for_link(address: &str, marker: &str) -> String {
    wait_until(address, &format!("with {marker}"), |m| {
        m.token_after(marker)
    })
    .await
}

/// Lets the mailer drain what is queued (a test that expects no mail waits
/// this long before it looks).
pub async fn settle() {
    tokio::time::sleep(Duration::from_secs(4)).await;
}

pub const VERIFY_SUBJECT: &str = "Confirm your email address";
pub const RESET_SUBJECT: &str = "Reset your Glimvid password";
pub const PASSWORD_CHANGED_SUBJECT: &str = "Your Glimvid password was changed";
pub const NEW_SIGNIN_SUBJECT: &str = "New sign-in to your Glimvid account";
pub const POLICY_SUBJECT: &str = "Our privacy policy is changing";
