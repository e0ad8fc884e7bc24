//! Reading requests: client metadata put there by API Gateway (or the local
//! runner, which fills the same fields) and strictly-checked JSON bodies.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// Larger bodies are refused before parsing; no route needs more.
pub const MAX_JSON_BYTES: usize = 64 * 1024;

/// Who sent the request and which route it hit, as API Gateway reports it.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    pub request_id: String,
    pub ip: String,
    pub method: String,
    pub route: String,
}

impl RequestMeta {
    pub fn of(req: &Request) -> Self {
        let (mut request_id, mut ip, mut route) = (None, None, None);
        if let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref() {
            request_id = ctx.request_id.clone();
            ip = ctx.http.source_ip.clone();
            route = ctx.route_key.clone();
        }
        RequestMeta {
            request_id: request_id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            ip: ip.unwrap_or_else(|| "unknown".to_owned()),
            method: req.method().to_string(),
            route: route.unwrap_or_else(|| format!("{} {}", req.method(), req.uri().path())),
        }
    }
}

pub fn header<'r>(req: &'r Request, name: &str) -> Option<&'r str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Longer than any id we issue; a longer one names nothing, and must not
/// reach DynamoDB, whose key limit would turn it into a server error.
const MAX_PATH_ID: usize = 128;

pub fn path_param(req: &Request, name: &'static str) -> Result<String> {
    let value = req
        .path_parameters_ref()
        .and_then(|p| p.first(name))
        .ok_or_else(|| Error::invalid(name, format!("path parameter {name} is missing")))?;
    if value.len() > MAX_PATH_ID {
        return Err(Error::NotFound { what: "resource" });
    }
    Ok(value.to_owned())
}

/// Parses a JSON body into `T`, naming the offending field on failure.
pub fn json<T: DeserializeOwned>(req: &Request) -> Result<T> {
    let body: &[u8] = req.body().as_ref();
    if body.len() > MAX_JSON_BYTES {
        return Err(Error::PayloadTooLarge {
            limit_bytes: MAX_JSON_BYTES,
        });
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::bad_request(
            "missing_body",
            "a JSON object body is required",
        ));
    }
    let content_type = header(req, "content-type").unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return Err(Error::UnsupportedMediaType {
            message: "Content-Type must be application/json".into(),
        });
    }
    // Syntax first: serde_json reports some type mismatches (an array where
    // an enum belongs) as syntax errors, so only a body that is not JSON at
    // all is called malformed.
    serde_json::from_slice::<serde::de::IgnoredAny>(body).map_err(|e| {
        Error::bad_request("malformed_json", format!("the body is not valid JSON: {e}"))
    })?;
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de).map_err(describe)
}

fn describe(err: serde_path_to_error::Error<serde_json::Error>) -> Error {
    let path = err.path().to_string();
    let inner = err.into_inner();
    let message = inner.to_string();
    // serde reports a missing field against its parent; name the field itself.
    let named = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
        .map(|field| {
            if path == "." {
                field.to_owned()
            } else {
                format!("{path}.{field}")
            }
        });
    let field = named.unwrap_or(path);
    let message = strip_position(&message);
    if field == "." {
        return Error::bad_request(
            "invalid_body",
            format!("the body must be a JSON object: {message}"),
        );
    }
    Error::invalid(field.clone(), format!("{field}: {message}"))
}

/// serde_json appends "at line 1 column 17", which means nothing to a user.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Probe {
        email: String,
        flag: bool,
    }

    fn request(content_type: &str, body: &str) -> Request {
        http::Request::builder()
            .method("POST")
            .header("content-type", content_type)
            .body(lambda_http::Body::from(body.to_owned()))
            .unwrap()
    }

    fn field_of(err: Error) -> Option<String> {
        match err {
            Error::Invalid { field, .. } => field.map(|f| f.into_owned()),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn names_missing_mistyped_and_unknown_fields() {
        let missing = json::<Probe>(&request("application/json", r#"{"email":"a"}"#)).unwrap_err();
        assert_eq!(field_of(missing).as_deref(), Some("flag"));
        let mistyped =
            json::<Probe>(&request("application/json", r#"{"email":5,"flag":true}"#)).unwrap_err();
        assert_eq!(field_of(mistyped).as_deref(), Some("email"));
        let unknown = json::<Probe>(&request(
            "application/json",
            r#"{"email":"a","flag":true,"x":1}"#,
        ))
        .unwrap_err();
        assert_eq!(field_of(unknown).as_deref(), Some("x"));
    }

    #[test]
    fn refuses_wrong_type_size_and_syntax() {
        let wrong_type = json::<Probe>(&request("text/plain", "{}")).unwrap_err();
        assert!(matches!(wrong_type, Error::UnsupportedMediaType { .. }));
        let big = format!(
            r#"{{"email":"{}","flag":true}}"#,
            "a".repeat(MAX_JSON_BYTES)
        );
        assert!(matches!(
            json::<Probe>(&request("application/json", &big)).unwrap_err(),
            Error::PayloadTooLarge { .. }
        ));
        let broken = json::<Probe>(&request("application/json; charset=utf-8", "{")).unwrap_err();
        assert!(matches!(
            broken,
            Error::Invalid {
                code: "malformed_json",
                ..
            }
        ));
    }
}
