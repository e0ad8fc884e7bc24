//! The S3 front: what the browser and the functions reach S3 through
//! locally. S3 answers a CORS preflight (`OPTIONS`) from the bucket's CORS
//! rules without credentials; the emulator, with signature checks and
//! `--iam strict` on, refuses it as an anonymous request. So the front
//! answers preflights from the template's rules, as S3 does, and passes
//! every other request to the emulator unchanged (method, path, query,
//! headers, `Host` included, so signatures made for the front's address
//! verify there), streaming both ways.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use aws_sdk_s3::types::CorsRule;
use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use tokio::sync::oneshot;

/// Headers that belong to one hop, not to the request (RFC 9110 §7.6.1).
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

struct Front {
    upstream: String,
    /// Bucket name to its CORS rules.
    cors: BTreeMap<String, Vec<CorsRule>>,
    http: reqwest::Client,
}

pub struct Running {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// Serves the front on a free loopback port in front of `upstream`.
pub async fn start(upstream: &str, cors: BTreeMap<String, Vec<CorsRule>>) -> Result<Running> {
    let front = Arc::new(Front {
        upstream: upstream.trim_end_matches('/').to_owned(),
        cors,
        http: reqwest::Client::builder()
            // Redirects and their Location are the client's business.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("the S3 front's HTTP client")?,
    });
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .context("binding the S3 front")?;
    let addr = listener.local_addr()?;
    let router = axum::Router::new().fallback(move |req: Request| {
        let front = front.clone();
        async move { front.handle(req).await }
    });
    let (tx, rx) = oneshot::channel();
    let task = tokio::spawn(async move {
        let result = axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
        if let Err(err) = result {
            tracing::error!(error = %err, "the S3 front stopped");
        }
    });
    tracing::info!(%addr, "S3 front (CORS preflights) on http://{addr}");
    Ok(Running {
        addr,
        shutdown: Some(tx),
        task,
    })
}

fn s3_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    response
}

/// The rule S3 would apply to a preflight, as S3 picks it: the first rule
/// whose origins, method and every requested header match.
pub fn matching_rule<'r>(
    rules: &'r [CorsRule],
    origin: &str,
    method: &str,
    requested_headers: &[String],
) -> Option<&'r CorsRule> {
    let wildcard = |pattern: &str, value: &str| match pattern.split_once('*') {
        None => pattern.eq_ignore_ascii_case(value),
        Some((head, tail)) => {
            value.len() >= head.len() + tail.len()
                && value[..head.len()].eq_ignore_ascii_case(head)
                && value[value.len() - tail.len()..].eq_ignore_ascii_case(tail)
        }
    };
    rules.iter().find(|rule| {
        rule.allowed_origins().iter().any(|o| wildcard(o, origin))
            && rule.allowed_methods().iter().any(|m| m == method)
            && requested_headers
                .iter()
                .all(|h| rule.allowed_headers().iter().any(|a| wildcard(a, h)))
    })
}

impl Front {
    async fn handle(&self, req: Request) -> Response {
        if req.method() == Method::OPTIONS {
            return self.preflight(&req);
        }
        match self.forward(req).await {
            Ok(response) => response,
            Err(err) => {
                tracing::warn!(error = %format!("{err:#}"), "S3 front: the emulator did not answer");
                s3_error(
                    StatusCode::BAD_GATEWAY,
                    "ServiceUnavailable",
                    "storage is not reachable",
                )
            }
        }
    }

    fn preflight(&self, req: &Request) -> Response {
        let headers = req.headers();
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let bucket = req
            .uri()
            .path()
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or_default();
        let (Some(origin), Some(method)) = (text("origin"), text("access-control-request-method"))
        else {
            return s3_error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "Insufficient information. Origin request header needed.",
            );
        };
        let requested: Vec<String> = text("access-control-request-headers")
            .unwrap_or_default()
            .split(',')
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect();
        let Some(rule) = self
            .cors
            .get(bucket)
            .and_then(|rules| matching_rule(rules, origin, method, &requested))
        else {
            return s3_error(
                StatusCode::FORBIDDEN,
                "AccessForbidden",
                "CORSResponse: This CORS request is not allowed.",
            );
        };
        let mut response = Response::new(Body::empty());
        let out = response.headers_mut();
        let allow_origin = if rule.allowed_origins().iter().any(|o| o == "*") {
            "*"
        } else {
            origin
        };
        let mut put = |name: &'static str, value: &str| {
            if let Ok(v) = HeaderValue::from_str(value) {
                out.insert(name, v);
            }
        };
        put("access-control-allow-origin", allow_origin);
        put(
            "access-control-allow-methods",
            &rule.allowed_methods().join(", "),
        );
        if !requested.is_empty() {
            put("access-control-allow-headers", &requested.join(", "));
        }
        if let Some(age) = rule.max_age_seconds() {
            put("access-control-max-age", &age.to_string());
        }
        if !rule.expose_headers().is_empty() {
            put(
                "access-control-expose-headers",
                &rule.expose_headers().join(", "),
            );
        }
        put(
            "vary",
            "Origin, Access-Control-Request-Headers, Access-Control-Request-Method",
        );
        response
    }

    async fn forward(&self, req: Request) -> Result<Response> {
        let (parts, body) = req.into_parts();
        let target = format!(
            "{}{}",
            self.upstream,
            parts
                .uri
                .path_and_query()
                .map_or("/", http::uri::PathAndQuery::as_str)
        );
        let mut headers = parts.headers.clone();
        strip_hop_by_hop(&mut headers);
        let upstream = self
            .http
            .request(parts.method.clone(), &target)
            // Host stays the front's: that is what the client signed.
            .headers(headers)
            .body(reqwest::Body::wrap_stream(body.into_data_stream()))
            .send()
            .await
            .with_context(|| format!("{} {target}", parts.method))?;
        let status = upstream.status();
        let mut headers = upstream.headers().clone();
        strip_hop_by_hop(&mut headers);
        let mut response = Response::new(Body::from_stream(upstream.bytes_stream()));
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        Ok(response)
    }
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> CorsRule {
        CorsRule::builder()
            .allowed_origins("*")
            .allowed_methods("PUT")
            .allowed_methods("GET")
            .allowed_headers("content-type")
            .allowed_headers("content-length")
            .build()
            .unwrap()
    }

    #[test]
    fn preflights_match_as_s3_matches_them() {
        let rules = [rule()];
        let ok = ["content-type".to_owned()];
        assert!(matching_rule(&rules, "http://127.0.0.1:3000", "PUT", &ok).is_some());
        assert!(matching_rule(&rules, "http://x", "DELETE", &ok).is_none());
        let extra = ["content-type".to_owned(), "x-amz-acl".to_owned()];
        assert!(matching_rule(&rules, "http://x", "PUT", &extra).is_none());
        let only = CorsRule::builder()
            .allowed_origins("https://*.example.com")
            .allowed_methods("GET")
            .build()
            .unwrap();
        let only = [only];
        assert!(matching_rule(&only, "https://shop.example.com", "GET", &[]).is_some());
        assert!(matching_rule(&only, "https://evil.test", "GET", &[]).is_none());
    }
}
