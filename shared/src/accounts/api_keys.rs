//! Personal API keys: how a shop's own systems make videos without a
//! password. A key is `glv_{id}_{secret}`: the id (12 hex digits) names it
//! and is shown in listings so users can tell keys apart; the 256-bit secret
//! is handed out once and only its SHA-256 is stored, so a table dump cannot
//! be replayed.
//!
//! Item (AccountsTable): `pk=APIKEY#{id}`, `sk=APIKEY`, on the owner's gsi1
//! partition (`APIKEY#{created}`), so the purge and the export find it. The
//! profile counts live keys (`api_keys`), and creating one is conditional on
//! that count in the same transaction, so the limit holds under concurrency.
//! When a key was last used is kept beside its rate-limit counters
//! (`ratelimit::key_used`), so the routes that accept keys never write the
//! accounts table.

use aws_sdk_dynamodb::types::{Delete, Put};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{Counted, User, write_counted};
use crate::app::App;
use crate::clock;
use crate::dynamo::{self, Item, get_opt_s, get_s, s};
use crate::error::{Error, Result};

/// What every key starts with: tells a key from a session token (and lets
/// secret scanners find leaked ones).
pub const KEY_PREFIX: &str = "glv_";
pub const MAX_KEYS: i64 = 10;
const ID_HEX: usize = 12;
/// base64url of 32 bytes.
const SECRET_LEN: usize = 43;
const MAX_NAME_CHARS: usize = 64;

#[derive(Debug, Clone, Serialize)]
pub struct ApiKeyView {
    pub id: String,
    pub name: String,
    /// `glv_{id}`: the part of the key a listing may show.
    pub prefix: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

/// The answer to creating a key: the only time the key itself is shown.
#[derive(Debug, Serialize)]
pub struct CreatedKey {
    #[serde(flatten)]
    pub view: ApiKeyView,
    pub key: String,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    pub name: String,
}

fn pk(id: &str) -> String {
    format!("APIKEY#{id}")
}

fn digest(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The id a well-formed key names, or None (checked before any read).
pub fn key_id(key: &str) -> Option<&str> {
    let rest = key.strip_prefix(KEY_PREFIX)?;
    let (id, secret) = rest.split_at_checked(ID_HEX)?;
    let secret = secret.strip_prefix('_')?;
    let ok = id
        .bytes()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        && secret.len() == SECRET_LEN
        && secret
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_');
    ok.then_some(id)
}

fn view(item: &Item, last_used_at: Option<String>) -> Result<ApiKeyView> {
    let id = get_s(item, "key_id")?;
    Ok(ApiKeyView {
        prefix: format!("{KEY_PREFIX}{id}"),
        id,
        name: get_s(item, "name")?,
        created_at: get_s(item, "created_at")?,
        last_used_at,
    })
}

fn clean_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(Error::invalid(
            "name",
            format!("name must be 1 to {MAX_NAME_CHARS} printable characters"),
        ));
    }
    Ok(name.to_owned())
}

pub async fn create(app: &App, user: &User, new: NewKey) -> Result<CreatedKey> {
    let name = clean_name(&new.name)?;
    let mut id_bytes = [0u8; ID_HEX / 2];
    let mut secret = [0u8; 32];
    getrandom::fill(&mut id_bytes).map_err(|e| Error::internal("random key id", e))?;
    getrandom::fill(&mut secret).map_err(|e| Error::internal("random key", e))?;
    let id = hex::encode(id_bytes);
    let key = format!("{KEY_PREFIX}{id}_{}", URL_SAFE_NO_PAD.encode(secret));
    let created_at = clock::rfc3339(clock::now());
    let put = Put::builder()
        .item("pk", s(pk(&id)))
        .item("sk", s("APIKEY"))
        .item("kind", s("api_key"))
        .item("key_id", s(&id))
        .item("user_id", s(&user.id))
        .item("name", s(&name))
        .item("secret_hash", s(digest(&key)))
        .item("created_at", s(&created_at))
        .item("gsi1pk", s(format!("USER#{}", user.id)))
        .item("gsi1sk", s(format!("APIKEY#{created_at}#{id}")))
        .condition_expression("attribute_not_exists(pk)");
    let change = Counted::Add { put, max: MAX_KEYS };
    if !write_counted(app, &user.id, "api_keys", change, "create api key").await? {
        return Err(Error::conflict(
            "api_key_limit",
            format!("an account can have at most {MAX_KEYS} API keys; revoke one first"),
        ));
    }
    tracing::info!(key_id = %id, "api key created");
    Ok(CreatedKey {
        view: ApiKeyView {
            prefix: format!("{KEY_PREFIX}{id}"),
            id,
            name,
            created_at,
            last_used_at: None,
        },
        key,
    })
}

/// The account's keys, newest first, with when each was last used.
pub async fn list(app: &App, user_id: &str) -> Result<Vec<ApiKeyView>> {
    let query = app
        .dynamo
        .query()
        .table_name(&app.config.accounts_table)
        .index_name("gsi1")
        .key_condition_expression("gsi1pk = :p AND begins_with(gsi1sk, :k)")
        .expression_attribute_values(":p", s(format!("USER#{user_id}")))
        .expression_attribute_values(":k", s("APIKEY#"))
        .scan_index_forward(false);
    let items = dynamo::query_all(query, "list api keys").await?;
    let ids: Vec<String> = items
        .iter()
        .filter_map(|i| get_opt_s(i, "key_id"))
        .collect();
    let used = crate::ratelimit::keys_last_used(app, &ids).await?;
    items
        .iter()
        .map(|item| {
            let last = get_opt_s(item, "key_id").and_then(|id| used.get(&id).cloned());
            view(item, last)
        })
        .collect()
}

/// Revokes the key now: the next request that presents it is refused.
pub async fn revoke(app: &App, user_id: &str, id: &str) -> Result<()> {
    let not_found = || Error::NotFound { what: "API key" };
    if id.len() != ID_HEX || !id.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(not_found());
    }
    let delete = Delete::builder()
        .key("pk", s(pk(id)))
        .key("sk", s("APIKEY"))
        .condition_expression("user_id = :u")
        .expression_attribute_values(":u", s(user_id));
    let change = Counted::Remove { delete };
    if !write_counted(app, user_id, "api_keys", change, "revoke api key").await? {
        return Err(not_found());
    }
    tracing::info!(key_id = %id, "api key revoked");
    Ok(())
}

/// The live key's owner id and the key's id, or None for any key that is
/// unknown, revoked or does not match.
pub(crate) async fn owner(app: &App, key: &str) -> Result<Option<(String, String)>> {
    let Some(id) = key_id(key) else {
        return Ok(None);
    };
    let out = app
        .dynamo
        .get_item()
        .table_name(&app.config.accounts_table)
        .key("pk", s(pk(id)))
        .key("sk", s("APIKEY"))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| dynamo::sdk_error("read api key", e))?;
    let Some(item) = out.item else {
        return Ok(None);
    };
    let stored = get_s(&item, "secret_hash")?;
    // The id is public, so the comparison must not tell how much matched.
    let presented = digest(key);
    let same = stored.len() == presented.len()
        && stored
            .bytes()
            .zip(presented.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if !same {
        return Ok(None);
    }
    Ok(Some((get_s(&item, "user_id")?, id.to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_names_its_id_only_when_well_formed() {
        let secret = "A".repeat(SECRET_LEN);
        let key = format!("glv_0123456789ab_{secret}");
        assert_eq!(key_id(&key), Some("0123456789ab"));
        assert_eq!(key_id(&format!("glv_0123456789AB_{secret}")), None);
        assert_eq!(key_id(&format!("glv_0123456789a_{secret}")), None);
        assert_eq!(key_id(&format!("glv_0123456789ab{secret}")), None);
        assert_eq!(key_id(&format!("glv_0123456789ab_{secret}x")), None);
        assert_eq!(
            key_id(&format!("glv_0123456789ab_{}!", "A".repeat(42))),
            None
        );
        assert_eq!(key_id("glv_"), None);
        assert_eq!(key_id(&secret), None);
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(clean_name("  ci  ").unwrap(), "ci");
        assert!(clean_name("   ").is_err());
        assert!(clean_name(&"x".repeat(65)).is_err());
        assert!(clean_name("a\u{7}b").is_err());
        assert_eq!(clean_name(&"键".repeat(64)).unwrap().chars().count(), 64);
    }
}
