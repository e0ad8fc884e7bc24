//! Email normalisation: one canonical form per mailbox so uniqueness holds.

use crate::error::{Error, Result};

const FIELD: &str = "email";

pub fn normalise(raw: &str) -> Result<String> {
    let email = raw.trim().to_lowercase();
    let invalid = || Error::invalid(FIELD, "email must be a valid address like name@example.com");
    if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid());
    }
    let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
    let domain_ok = domain.contains('.')
        && !domain.contains('@')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    if local.is_empty() || local.len() > 64 || !domain_ok {
        return Err(invalid());
    }
    Ok(email)
}

#[cfg(test)]
mod tests {
    use super::normalise;

    #[test]
    fn canonical_form() {
        assert_eq!(normalise("  Ada@Example.COM ").unwrap(), "ada@example.com");
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "a@b@example.com",
            "ada@-x.com",
        ] {
            assert!(normalise(bad).is_err(), "{bad:?} accepted");
        }
    }
}
