//! The timestamped webhook signature Stripe uses: HMAC-SHA256 over
//! `{t}.{body}`, keyed with the endpoint's secret. Payment events are
//! checked with it, and Glimvid's own webhooks are signed with it, so shops
//! can verify them the way they already verify Stripe's.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{Error, Result};

/// The MAC of `body` sent at `timestamp` (unix seconds), ready to finalise
/// or to `verify_slice` (which compares in constant time).
pub fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Result<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .map_err(|e| Error::internal("signing key", e))?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(mac)
}
