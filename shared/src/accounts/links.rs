//! Links in emails (verify an address, reset a password, unsubscribe):
//! 256 random bits in the URL, only their SHA-256 stored, with a purpose,
//! the account, the address it was sent to and an expiry. Single-use links
//! are consumed in the same transaction as their effect, so a link works
//! once however often it is clicked or replayed.
//!
//! Item (AccountsTable): `pk=LINK#{sha256}`, `sk=LINK`, on the user's gsi1
//! partition (`LINK#{created}`) so a purge finds it; `expires_at` is the TTL.

use aws_sdk_dynamodb::types::{Delete, TransactWriteItem};
use time::Duration;

use super::token;
use crate::app::App;
use crate::clock;
use crate::dynamo::{self, Item, get_n, get_opt_s, get_s, n, s};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    VerifyEmail,
    ChangeEmail,
    PasswordReset,
    /// Not consumed: a mail client may post it more than once.
    Unsubscribe,
}

impl Purpose {
    const ALL: [Purpose; 4] = [
        Purpose::VerifyEmail,
        Purpose::ChangeEmail,
        Purpose::PasswordReset,
        Purpose::Unsubscribe,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::VerifyEmail => "verify_email",
            Purpose::ChangeEmail => "change_email",
            Purpose::PasswordReset => "password_reset",
            Purpose::Unsubscribe => "unsubscribe",
        }
    }

    /// How long a link stays good.
    pub fn lifetime(self) -> Duration {
        match self {
            Purpose::VerifyEmail => Duration::hours(48),
            Purpose::ChangeEmail => Duration::hours(24),
            Purpose::PasswordReset => Duration::minutes(30),
            Purpose::Unsubscribe => Duration::days(90),
        }
    }
}

/// A stored link, read back by its token.
#[derive(Debug, Clone)]
pub struct Link {
    pub purpose: Purpose,
    pub user_id: String,
    /// The address the link was sent to.
    pub email: String,
    token_hash: String,
}

fn pk(hash: &str) -> String {
    format!("LINK#{hash}")
}

pub fn invalid() -> Error {
    Error::bad_request(
        "token_invalid",
        "this link is not valid or was already used; ask for a new one",
    )
}

/// Stores a new link and returns its token, for the mail only.
pub async fn issue(app: &App, purpose: Purpose, user_id: &str, email: &str) -> Result<String> {
    let token = token::generate()?;
    let now = clock::now();
    let created = clock::rfc3339_nanos(now);
    let item = Item::from([
        ("pk".into(), s(pk(&token::digest(&token)))),
        ("sk".into(), s("LINK")),
        ("kind".into(), s("link")),
        ("purpose".into(), s(purpose.as_str())),
        ("user_id".into(), s(user_id)),
        ("email".into(), s(email)),
        ("created_at".into(), s(&created)),
        (
            "expires_at".into(),
            n(clock::epoch_seconds(now + purpose.lifetime())),
        ),
        ("gsi1pk".into(), s(format!("USER#{user_id}"))),
        ("gsi1sk".into(), s(format!("LINK#{created}"))),
    ]);
    app.dynamo
        .put_item()
        .table_name(&app.config.accounts_table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await
        .map_err(|e| dynamo::sdk_error("store link", e))?;
    Ok(token)
}

/// The live link for `token`, if it is for one of `purposes`. Unknown,
/// used and other-purpose tokens look the same to the caller.
pub async fn read(app: &App, token: &str, purposes: &[Purpose]) -> Result<Link> {
    let token = token.trim();
    if !token::looks_valid(token) {
        return Err(invalid());
    }
    let hash = token::digest(token);
    let item = get(app, &hash).await?.ok_or_else(invalid)?;
    let purpose = get_opt_s(&item, "purpose")
        .and_then(|p| Purpose::ALL.into_iter().find(|x| x.as_str() == p))
        .filter(|p| purposes.contains(p))
        .ok_or_else(invalid)?;
    if get_n(&item, "expires_at")? <= clock::epoch_seconds(clock::now()) {
        return Err(Error::bad_request(
            "token_expired",
            "this link has expired; ask for a new one",
        ));
    }
    Ok(Link {
        purpose,
        user_id: get_s(&item, "user_id")?,
        email: get_s(&item, "email")?,
        token_hash: hash,
    })
}

/// Using the link up, for the transaction that does what it was for: it
/// fails that transaction if the link was used meanwhile.
pub fn consume(app: &App, link: &Link) -> Result<TransactWriteItem> {
    Ok(TransactWriteItem::builder()
        .delete(dynamo::built(
            Delete::builder()
                .table_name(&app.config.accounts_table)
                .key("pk", s(pk(&link.token_hash)))
                .key("sk", s("LINK"))
                .condition_expression("attribute_exists(pk)")
                .build(),
        )?)
        .build())
}

/// Whether the link still exists (after a failed transaction: was it the
/// link's condition, or another?).
pub async fn still_there(app: &App, link: &Link) -> Result<bool> {
    Ok(get(app, &link.token_hash).await?.is_some())
}

async fn get(app: &App, hash: &str) -> Result<Option<Item>> {
    let out = app
        .dynamo
        .get_item()
        .table_name(&app.config.accounts_table)
        .key("pk", s(pk(hash)))
        .key("sk", s("LINK"))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| dynamo::sdk_error("read link", e))?;
    Ok(out.item)
}
