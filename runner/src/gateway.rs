//! Plays API Gateway (HTTP API, payload format 2.0) for the local runner: an
//! incoming HTTP request becomes the same event Lambda would receive, and the
//! function's response goes back over HTTP.

use std::collections::BTreeMap;
use std::net::IpAddr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use glimvid::clock;
use http::request::Parts;
use serde_json::{Value, json};

use crate::template::HttpRoute;

/// HTTP APIs refuse payloads above 10 MB.
pub const MAX_PAYLOAD_BYTES: usize = 10 * 1024 * 1024;

/// Matches `/videos/{id}` against `/videos/abc` and returns `{id: abc}`.
pub fn path_parameters(template: &str, path: &str) -> BTreeMap<String, String> {
    template
        .split('/')
        .zip(path.split('/'))
        .filter_map(|(t, actual)| {
            let name = t.strip_prefix('{')?.strip_suffix('}')?;
            Some((
                name.trim_end_matches('+').to_owned(),
                percent_decode(actual),
            ))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query_parameters(raw: &str) -> BTreeMap<String, String> {
    let mut params: BTreeMap<String, String> = BTreeMap::new();
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (
            percent_decode(&k.replace('+', " ")),
            percent_decode(&v.replace('+', " ")),
        );
        // API Gateway joins repeated keys with commas.
        params
            .entry(k)
            .and_modify(|e| e.push_str(&format!(",{v}")))
            .or_insert(v);
    }
    params
}

/// Builds the API Gateway v2 event for one request.
pub fn event(
    route: &HttpRoute,
    parts: &Parts,
    body: &[u8],
    source_ip: IpAddr,
    request_id: &str,
) -> Value {
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|e| e.push_str(&format!(",{value}")))
            .or_insert(value);
    }
    let path = parts.uri.path();
    let raw_query = parts.uri.query().unwrap_or_default();
    let route_key = format!("{} {}", route.method, route.path);
    let now = clock::now();
    let (body, is_base64) = match std::str::from_utf8(body) {
        Ok(text) => (text.to_owned(), false),
        Err(_) => (STANDARD.encode(body), true),
    };
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": headers.get("host").cloned().unwrap_or_default(),
            "domainPrefix": "local",
            "http": {
                "method": route.method,
                "path": path,
                "protocol": format!("{:?}", parts.version),
                "sourceIp": source_ip.to_string(),
                "userAgent": headers.get("user-agent").cloned().unwrap_or_default(),
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": clock::rfc3339(now),
            "timeEpoch": now.unix_timestamp() * 1000,
        },
        "isBase64Encoded": is_base64,
    });
    let params = path_parameters(&route.path, path);
    if !params.is_empty() {
        event["pathParameters"] = json!(params);
    }
    let query = query_parameters(raw_query);
    if !query.is_empty() {
        event["queryStringParameters"] = json!(query);
    }
    if !body.is_empty() {
        event["body"] = json!(body);
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_path_parameters_like_api_gateway() {
        let p = path_parameters("/videos/{id}/cancel", "/videos/a%20b/cancel");
        assert_eq!(p.get("id").map(String::as_str), Some("a b"));
        assert!(path_parameters("/me", "/me").is_empty());
    }

    #[test]
    fn event_converts_to_a_lambda_request_with_ip_and_params() {
        use lambda_http::RequestExt;
        let route = HttpRoute {
            function: "F".into(),
            handler: "b".into(),
            method: "GET".into(),
            path: "/videos/{id}".into(),
        };
        let req = http::Request::builder()
            .method("GET")
            .uri("/videos/42?page=2&page=3")
            .header("host", "127.0.0.1:3000")
            .body(())
            .unwrap();
        let (parts, ()) = req.into_parts();
        let event = event(&route, &parts, b"", "10.1.2.3".parse().unwrap(), "req-1");
        let lambda_req = lambda_http::request::from_str(&event.to_string()).unwrap();
        assert_eq!(lambda_req.path_parameters().first("id"), Some("42"));
        assert_eq!(
            lambda_req.query_string_parameters().first("page"),
            Some("2")
        );
        let meta = glimvid::http::RequestMeta::of(&lambda_req);
        assert_eq!(meta.ip, "10.1.2.3");
        assert_eq!(meta.route, "GET /videos/{id}");
        assert_eq!(meta.request_id, "req-1");
    }
}
