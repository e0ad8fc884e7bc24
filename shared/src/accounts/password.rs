//! Password hashing: scrypt (log_n 17, r 8, p 1) stored as a PHC string.
//! Hashing takes ~0.3 s of CPU and 128 MiB, so it runs on the blocking pool.

use scrypt::password_hash::rand_core::OsRng;
use scrypt::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use scrypt::{Params, Scrypt};

use crate::error::{Error, Result};

pub const MIN_LEN: usize = 10;
/// Bounds the work an attacker can make one request cost.
pub const MAX_LEN: usize = 256;

const LOG_N: u8 = 17;
const R: u32 = 8;
const P: u32 = 1;
const OUTPUT_LEN: usize = 32;

/// A hash of a random secret nobody knows, with the same parameters as real
/// hashes. Logins for unknown emails verify against it, so they cost the same
/// time as a wrong password for a real account.
const DECOY_HASH: &str =
    "$scrypt$ln=17,r=8,p=1$rnON1U1PoIA3wu2L0bAECA$f3DhYwOivJkOcOBLKQAUoCZpuWyeVFZgxzZ3J4KzYLg";

pub fn validate(field: &'static str, password: &str) -> Result<()> {
    let chars = password.chars().count();
    if chars < MIN_LEN {
        return Err(Error::invalid(
            field,
            format!("{field} must be at least {MIN_LEN} characters"),
        ));
    }
    if chars > MAX_LEN {
        return Err(Error::invalid(
            field,
            format!("{field} must be at most {MAX_LEN} characters"),
        ));
    }
    Ok(())
}

pub async fn hash(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let params = Params::new(LOG_N, R, P, OUTPUT_LEN)
            .map_err(|e| Error::internal("scrypt params", e))?;
        let salt = SaltString::generate(&mut OsRng);
        Scrypt
            .hash_password_customized(password.as_bytes(), None, None, params, &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::internal("scrypt hash", e))
    })
    .await
    .map_err(|e| Error::internal("hash task", e))?
}

/// Checks `password` against `stored`, or against the decoy when there is no
/// stored hash, so both cases take comparable time. Returns false for the decoy.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool> {
    tokio::task::spawn_blocking(move || {
        let is_real = stored.is_some();
        let phc = stored.unwrap_or_else(|| DECOY_HASH.to_owned());
        let parsed = PasswordHash::new(&phc).map_err(|e| Error::internal("stored hash", e))?;
        let matches = Scrypt.verify_password(password.as_bytes(), &parsed).is_ok();
        Ok(matches && is_real)
    })
    .await
    .map_err(|e| Error::internal("verify task", e))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_is_phc_with_the_promised_parameters_and_verifies() {
        let stored = hash("correct horse battery".into()).await.unwrap();
        assert!(stored.starts_with("$scrypt$ln=17,r=8,p=1$"), "{stored}");
        assert!(
            verify("correct horse battery".into(), Some(stored.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify("wrong horse battery".into(), Some(stored))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn decoy_never_matches_and_has_real_parameters() {
        assert!(DECOY_HASH.starts_with("$scrypt$ln=17,r=8,p=1$"));
        assert!(!verify("anything at all".into(), None).await.unwrap());
    }

    #[test]
    fn length_rules() {
        assert!(validate("password", "short").is_err());
        assert!(validate("password", "ten chars!").is_ok());
        assert!(validate("password", &"x".repeat(MAX_LEN + 1)).is_err());
    }
}
