//! Where a webhook may point: a public HTTPS host. The URL is checked when
//! it is registered and its host resolved again before every delivery, and
//! the delivery connects only to the addresses that check passed, so a DNS
//! answer that changes to an internal address in between (rebinding) is
//! refused too. Redirects are never followed.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use reqwest::Url;

pub const MAX_URL_LEN: usize = 2048;
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// A checked endpoint: the URL and the addresses it may be reached at.
#[derive(Debug, Clone)]
pub struct Target {
    pub url: Url,
    pub host: String,
    pub addrs: Vec<SocketAddr>,
}

/// Why a URL may not be a webhook; the text is shown to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub &'static str);

/// Addresses a webhook may reach: public unicast only. Private, loopback,
/// link-local (the instance metadata endpoint among them), shared (CGNAT),
/// documentation, benchmark, multicast and reserved ranges are refused, in
/// IPv6 too, and IPv4 embedded in IPv6 is judged as IPv4.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let s = v6.segments();
            // NAT64 (64:ff9b::/96) reaches the IPv4 address it embeds.
            if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
                let [a, b] = s[6].to_be_bytes();
                let [c, d] = s[7].to_be_bytes();
                return is_public_v4(Ipv4Addr::new(a, b, c, d));
            }
            !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || s[0..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible (deprecated)
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (b & 0xc0) == 64) // shared address space 100.64/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b & 0xfe) == 18) // benchmarking 198.18/15
        || a >= 240) // reserved
}

fn allowed(ip: IpAddr, allow_loopback: bool) -> bool {
    is_public(ip) || (allow_loopback && ip.is_loopback())
}

/// Parses and checks a URL's form (no DNS yet).
pub fn parse(raw: &str, allow_loopback: bool) -> Result<Url, Refused> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > MAX_URL_LEN {
        return Err(Refused("the URL must be 1 to 2048 characters"));
    }
    let url = Url::parse(raw).map_err(|_| Refused("this is not a valid URL"))?;
    let host = url
        .host_str()
        .ok_or(Refused("the URL must name a host"))?
        .to_owned();
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refused("the URL must not carry a user name or password"));
    }
    if url.fragment().is_some() {
        return Err(Refused("the URL must not have a #fragment"));
    }
    match url.scheme() {
        "https" => {}
        "http" if allow_loopback && crate::config::is_loopback_host(&host) => {}
        _ => return Err(Refused("the URL must start with https://")),
    }
    Ok(url)
}

/// Checks the URL and resolves its host: every address it resolves to must
/// be public (loopback too when the local runner allows it).
pub async fn resolve(raw: &str, allow_loopback: bool) -> Result<Target, Refused> {
    let url = parse(raw, allow_loopback)?;
    let host = url
        .host_str()
        .ok_or(Refused("the URL must name a host"))?
        .to_owned();
    let port = url
        .port_or_known_default()
        .ok_or(Refused("the URL must name a port"))?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = if let Ok(ip) = bare.parse::<IpAddr>() {
        vec![SocketAddr::new(ip, port)]
    } else {
        let lookup = tokio::net::lookup_host((bare, port));
        match tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
            Ok(Ok(found)) => found.collect(),
            _ => return Err(Refused("the host name does not resolve")),
        }
    };
    if addrs.is_empty() {
        return Err(Refused("the host name does not resolve"));
    }
    if !addrs.iter().all(|a| allowed(a.ip(), allow_loopback)) {
        return Err(Refused(
            "the host must be public: private, loopback and link-local addresses are refused",
        ));
    }
    Ok(Target {
        url,
        host: bare.to_owned(),
        addrs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_public_unicast_addresses_are_public() {
        for public in ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700::1111"] {
            assert!(is_public(ip(public)), "{public}");
        }
        for internal in [
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.169.254",
            "0.0.0.0",
            "0.1.2.3",
            "100.64.0.1",
            "192.0.0.8",
            "192.0.2.1",
            "198.18.0.1",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "::127.0.0.1",
        ] {
            assert!(!is_public(ip(internal)), "{internal}");
        }
        assert!(is_public(ip("::ffff:8.8.8.8")));
        assert!(is_public(ip("64:ff9b::808:808")));
    }

    #[test]
    fn urls_must_be_https_without_credentials() {
        assert!(parse("https://hooks.example.com/glimvid", false).is_ok());
        assert!(parse("http://hooks.example.com/glimvid", false).is_err());
        assert!(parse("http://127.0.0.1:8080/hook", false).is_err());
        assert!(parse("http://127.0.0.1:8080/hook", true).is_ok());
        assert!(parse("http://example.com/hook", true).is_err());
        assert!(parse("https://user:pw@example.com/", false).is_err());
        assert!(parse("https://example.com/#x", false).is_err());
        assert!(parse("ftp://example.com/", false).is_err());
        assert!(parse("not a url", false).is_err());
        assert!(parse(&format!("https://example.com/{}", "a".repeat(2048)), false).is_err());
    }

    #[tokio::test]
    async fn literal_internal_addresses_are_refused_before_any_lookup() {
        for url in [
            "https://10.0.0.1/hook",
            "https://192.168.0.10/hook",
            "https://[::1]/hook",
            "https://169.254.169.254/latest/meta-data",
            "https://[fd00::1]/hook",
        ] {
            assert!(resolve(url, false).await.is_err(), "{url}");
        }
        // Allowing loopback for local tests allows nothing else.
        assert!(resolve("https://10.0.0.1/hook", true).await.is_err());
        assert!(resolve("http://127.0.0.1:9/hook", true).await.is_ok());
        assert!(resolve("https://localhost/hook", false).await.is_err());
    }
}
