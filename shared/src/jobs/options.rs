//! The optional touches a job asks for beyond its script: the music bed and
//! the end card's price and shop link. Each is checked here and stored as
//! normalised; the renderer decides how they look.

use glimvid_media::Mood;

use crate::error::{Error, Result};

/// `auto` leaves the mood to the style; `none` makes a video without a
/// music bed; anything else is a [`Mood`]'s name.
pub const MUSIC_AUTO: &str = "auto";
pub const MUSIC_NONE: &str = "none";

/// Room on the end card: a price such as `$24` or `¥168`.
const DISPLAY_PRICE_MAX: usize = 24;
const URL_MAX: usize = 100;

/// The music choice, trimmed and lower-cased; omitted or empty is `auto`.
pub fn music(value: Option<&str>) -> Result<String> {
    let value = value
        .map(str::trim)
        .unwrap_or_default()
        .to_ascii_lowercase();
    if value.is_empty() {
        return Ok(MUSIC_AUTO.to_owned());
    }
    if value == MUSIC_AUTO || value == MUSIC_NONE || Mood::parse(&value).is_some() {
        return Ok(value);
    }
    let moods: Vec<&str> = Mood::ALL.iter().map(|m| m.as_str()).collect();
    Err(Error::invalid(
        "music",
        format!(
            "music must be one of {MUSIC_AUTO}, {MUSIC_NONE}, {}",
            moods.join(", ")
        ),
    ))
}

/// One line of the end card: trimmed, at most `max` characters, no control
/// characters (no line breaks either); empty is none.
fn line(field: &'static str, value: Option<&str>, max: usize) -> Result<Option<String>> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if value.chars().count() > max {
        return Err(Error::invalid(
            field,
            format!("{field} must be at most {max} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::invalid(
            field,
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(Some(value.to_owned()))
}

/// The shop's price as the end card shows it, free text.
pub fn display_price(value: Option<&str>) -> Result<Option<String>> {
    line("display_price", value, DISPLAY_PRICE_MAX)
}

/// The shop link for the end card, kept as given (trimmed): `https://…`,
/// `http://…` or a bare domain with an optional path. Only a web address
/// is accepted, so the card never shows a `javascript:` or `mailto:` link,
/// nor one whose user part hides the real host (`shop.com@evil.example`).
pub fn url(value: Option<&str>) -> Result<Option<String>> {
    let Some(value) = line("url", value, URL_MAX)? else {
        return Ok(None);
    };
    if looks_like_web_address(&value) {
        Ok(Some(value))
    } else {
        Err(Error::invalid(
            "url",
            "url must be a web address such as https://shop.example.com or shop.example.com/mug",
        ))
    }
}

fn looks_like_web_address(value: &str) -> bool {
    if value.chars().any(char::is_whitespace) {
        return false;
    }
    let lower = value.to_ascii_lowercase();
    let rest = ["https://", "http://"]
        .iter()
        .find_map(|scheme| lower.starts_with(scheme).then(|| &value[scheme.len()..]))
        .unwrap_or(value);
    // Any other scheme (`ftp://`, `javascript:`) is not a shop page.
    if rest.contains("://") {
        return false;
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    if port.is_some_and(|p| p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit())) {
        return false;
    }
    valid_host(host)
}

/// A domain name of at least two labels (letters in any script, digits,
/// inner hyphens) whose last label is not a number; an IP address is no
/// shop's address.
fn valid_host(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    let labels: Vec<&str> = host.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.chars().count() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    labels.len() >= 2
        && labels.iter().all(label_ok)
        && labels
            .last()
            .is_some_and(|tld| tld.chars().count() >= 2 && !tld.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn music_is_one_of_the_choices_and_auto_when_left_out() {
        assert_eq!(music(None).unwrap(), "auto");
        assert_eq!(music(Some("  ")).unwrap(), "auto");
        assert_eq!(music(Some(" Calm ")).unwrap(), "calm");
        let moods = Mood::ALL.map(Mood::as_str);
        for choice in [MUSIC_AUTO, MUSIC_NONE].iter().chain(&moods) {
            assert_eq!(music(Some(choice)).unwrap(), *choice);
        }
        for bad in ["jazz", "upbeat!", "none none", "自动"] {
            assert!(music(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn display_price_is_one_short_line() {
        assert_eq!(
            display_price(Some(" $24 ")).unwrap().as_deref(),
            Some("$24")
        );
        assert_eq!(
            display_price(Some("¥168")).unwrap().as_deref(),
            Some("¥168")
        );
        assert_eq!(display_price(Some("")).unwrap(), None);
        assert_eq!(display_price(None).unwrap(), None);
        assert!(display_price(Some(&"9".repeat(25))).is_err());
        assert!(display_price(Some(&"价".repeat(24))).is_ok());
        assert!(display_price(Some("$24\nnow")).is_err());
        assert!(display_price(Some("$24\u{7}")).is_err());
    }

    #[test]
    fn url_takes_web_addresses_only() {
        for good in [
            "https://shop.example.com",
            "http://shop.example.com/mug?colour=blue#top",
            "HTTPS://Shop.Example.com/",
            "shop.example.com/mug",
            "example.co.uk",
            "shop.example.com:8443/mug",
            "例子.中国/杯子",
        ] {
            assert_eq!(url(Some(good)).unwrap().as_deref(), Some(good), "{good}");
        }
        assert_eq!(
            url(Some("  shop.example.com  ")).unwrap().as_deref(),
            Some("shop.example.com")
        );
        assert_eq!(url(Some("")).unwrap(), None);
        for bad in [
            "javascript:alert(1)",
            "javascript://shop.example.com/%0aalert(1)",
            "ftp://shop.example.com",
            "mailto:me@example.com",
            "https://shop.example.com@evil.example",
            "shop example.com",
            "https://shop.example.com/a b",
            "localhost",
            "https://",
            "https://-shop.example.com",
            "http://127.0.0.1/mug",
            "shop.example.com:port",
            "shop..example.com",
            "tab\tshop.example.com",
        ] {
            assert!(url(Some(bad)).is_err(), "{bad}");
        }
        let long = format!("https://shop.example.com/{}", "a".repeat(80));
        assert!(url(Some(&long)).is_err());
    }
}
