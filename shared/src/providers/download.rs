//! Fetching a provider's result URL without becoming an open proxy (SSRF):
//! only hosts on the configured allowlist, HTTPS only (plain HTTP to
//! loopback only when the configuration allows it, for the tests' fakes),
//! redirects followed by hand and only to allowed hosts, a size cap and a
//! time limit over the whole download.

use reqwest::{StatusCode, Url};

use super::ProviderError;
use crate::config::Providers;

const MAX_REDIRECTS: usize = 3;

pub struct Downloader {
    http: reqwest::Client,
    hosts: Vec<String>,
    allow_http_loopback: bool,
    max_bytes: u64,
    timeout: std::time::Duration,
}

fn refused(message: &str) -> ProviderError {
    ProviderError::permanent("download_refused", message.to_owned())
}

/// Whether `host` is on the allowlist: `example.com` matches itself only,
/// `*.example.com` any subdomain of it.
pub fn host_allowed(hosts: &[String], host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    hosts
        .iter()
        .any(|allowed| match allowed.strip_prefix("*.") {
            Some(domain) => host
                .strip_suffix(domain)
                .is_some_and(|rest| rest.len() > 1 && rest.ends_with('.')),
            None => host == *allowed,
        })
}

impl Downloader {
    pub fn new(config: &Providers) -> Self {
        Downloader {
            http: reqwest::Client::builder()
                .connect_timeout(config.connect_timeout)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
            hosts: config.download_hosts.clone(),
            allow_http_loopback: config.allow_http_loopback,
            max_bytes: config.max_download_bytes,
            timeout: config.download_timeout,
        }
    }

    /// Checks one URL against the policy.
    pub fn check(&self, url: &Url) -> Result<(), ProviderError> {
        let Some(host) = url.host_str() else {
            return Err(refused("the provider's result link has no host"));
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refused("the provider's result link carries credentials"));
        }
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http_loopback && crate::config::is_loopback_host(host) => {}
            _ => return Err(refused("the provider's result link is not HTTPS")),
        }
        if !host_allowed(&self.hosts, host) {
            return Err(refused(
                "the provider's result link points to a host we do not download from",
            ));
        }
        Ok(())
    }

    /// The body at `url`, at most `max_bytes`, within the time limit.
    pub async fn fetch(&self, url: &str) -> Result<Vec<u8>, ProviderError> {
        let url =
            Url::parse(url).map_err(|_| refused("the provider's result link is not a URL"))?;
        match tokio::time::timeout(self.timeout, self.fetch_checked(url)).await {
            Ok(result) => result,
            Err(_) => Err(ProviderError::transient(
                "download_timeout",
                "downloading the provider's result took too long",
            )),
        }
    }

    async fn fetch_checked(&self, mut url: Url) -> Result<Vec<u8>, ProviderError> {
        let mut redirects = 0;
        let mut resp = loop {
            self.check(&url)?;
            let resp = self.http.get(url.clone()).send().await.map_err(|e| {
                if e.is_timeout() || e.is_connect() {
                    ProviderError::transient(
                        "download_failed",
                        "the provider's result could not be fetched",
                    )
                } else {
                    ProviderError::transient("download_failed", "the download of the result failed")
                }
            })?;
            if !resp.status().is_redirection() {
                break resp;
            }
            redirects += 1;
            if redirects > MAX_REDIRECTS {
                return Err(refused("the provider's result link redirects too often"));
            }
            let next = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| url.join(l).ok())
                .ok_or_else(|| refused("the provider's result link redirects nowhere"))?;
            url = next;
        };
        match resp.status() {
            s if s.is_success() => {}
            StatusCode::NOT_FOUND | StatusCode::FORBIDDEN | StatusCode::GONE => {
                return Err(ProviderError::permanent(
                    "result_expired",
                    "the provider's result link has expired or is gone",
                ));
            }
            s if s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS => {
                return Err(ProviderError::transient(
                    "download_failed",
                    format!("the provider's storage answered {}", s.as_u16()),
                ));
            }
            s => {
                return Err(ProviderError::permanent(
                    "download_failed",
                    format!("the provider's storage answered {}", s.as_u16()),
                ));
            }
        }
        let too_big = || {
            ProviderError::permanent(
                "result_too_large",
                "the provider's result is larger than we accept",
            )
        };
        if resp.content_length().is_some_and(|n| n > self.max_bytes) {
            return Err(too_big());
        }
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() as u64 + chunk.len() as u64 > self.max_bytes {
                        return Err(too_big());
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => return Ok(body),
                Err(_) => {
                    return Err(ProviderError::transient(
                        "download_failed",
                        "the download of the result broke off",
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowlist_matches_exact_hosts_and_subdomains_only() {
        let hosts = vec!["*.volces.com".to_owned(), "cdn.example.com".to_owned()];
        assert!(host_allowed(&hosts, "ark.tos-cn-beijing.volces.com"));
        assert!(host_allowed(&hosts, "CDN.example.com"));
        assert!(!host_allowed(&hosts, "volces.com.evil.net"));
        assert!(!host_allowed(&hosts, "evilvolces.com"));
        assert!(!host_allowed(&hosts, "volces.com"));
        assert!(!host_allowed(&hosts, "example.com"));
    }
}
