//! Session tokens: 256 random bits handed to the client once; only their
//! SHA-256 is stored, so a table dump cannot be replayed as a login.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// base64url of 32 bytes.
const TOKEN_LEN: usize = 43;

pub fn generate() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| Error::internal("random token", e))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

pub fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Cheap shape check before touching storage.
pub fn looks_valid(token: &str) -> bool {
    token.len() == TOKEN_LEN
        && token
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_256_bit_and_digest_is_hex_sha256() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_ne!(a, b);
        assert!(looks_valid(&a));
        assert_eq!(digest(&a).len(), 64);
        assert_ne!(digest(&a), a);
        assert!(!looks_valid("not a token"));
    }
}
