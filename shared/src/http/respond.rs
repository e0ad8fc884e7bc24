//! The one place that maps domain results to HTTP.

use http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;
use serde_json::json;

use crate::error::Error;

/// A successful handler result.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Option<serde_json::Value>,
    pub location: Option<String>,
}

impl Reply {
    pub fn json(status: StatusCode, body: &impl Serialize) -> Result<Self, Error> {
        let body = serde_json::to_value(body).map_err(|e| Error::internal("serialise reply", e))?;
        Ok(Reply {
            status,
            body: Some(body),
            location: None,
        })
    }

    pub fn ok(body: &impl Serialize) -> Result<Self, Error> {
        Self::json(StatusCode::OK, body)
    }

    pub fn no_content() -> Self {
        Reply {
            status: StatusCode::NO_CONTENT,
            body: None,
            location: None,
        }
    }

    pub fn redirect(location: String) -> Self {
        Reply {
            status: StatusCode::FOUND,
            body: None,
            location: Some(location),
        }
    }
}

fn status_of(err: &Error) -> StatusCode {
    match err {
        Error::Invalid { .. } => StatusCode::BAD_REQUEST,
        Error::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
        Error::Forbidden { .. } => StatusCode::FORBIDDEN,
        Error::NotFound { .. } | Error::RouteNotFound => StatusCode::NOT_FOUND,
        Error::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        Error::Conflict { .. } => StatusCode::CONFLICT,
        Error::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        Error::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        Error::InsufficientCredits { .. } => StatusCode::PAYMENT_REQUIRED,
        Error::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        Error::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        Error::Upstream { .. } => StatusCode::BAD_GATEWAY,
        Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn code_of(err: &Error) -> &'static str {
    match err {
        Error::Invalid { code, .. }
        | Error::Forbidden { code, .. }
        | Error::Conflict { code, .. }
        | Error::Unprocessable { code, .. }
        | Error::Unavailable { code, .. }
        | Error::Upstream { code, .. } => code,
        Error::InsufficientCredits { .. } => "insufficient_credits",
        Error::Unauthenticated { .. } => "unauthenticated",
        Error::NotFound { .. } => "not_found",
        Error::RouteNotFound => "route_not_found",
        Error::MethodNotAllowed => "method_not_allowed",
        Error::PayloadTooLarge { .. } => "payload_too_large",
        Error::UnsupportedMediaType { .. } => "unsupported_media_type",
        Error::RateLimited { .. } => "rate_limited",
        Error::Internal(_) => "internal",
    }
}

fn field_of(err: &Error) -> Option<&str> {
    match err {
        Error::Invalid { field, .. } => field.as_deref(),
        Error::Forbidden { field, .. } | Error::Conflict { field, .. } => *field,
        _ => None,
    }
}

pub fn error_response(err: &Error) -> Response<Body> {
    let status = status_of(err);
    let message = match err {
        // Internal details go to the log, not to the client.
        Error::Internal(_) => "something went wrong on our side; please try again".to_owned(),
        other => other.to_string(),
    };
    let mut detail = json!({ "code": code_of(err), "message": message });
    if let Some(field) = field_of(err) {
        detail["field"] = json!(field);
    }
    let mut response = build(status, Some(json!({ "error": detail })));
    if let Error::RateLimited { retry_after_s } = err {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_s));
    }
    response
}

pub fn reply_response(reply: Reply) -> Response<Body> {
    let mut response = build(reply.status, reply.body);
    if let Some(location) = reply.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

fn build(status: StatusCode, body: Option<serde_json::Value>) -> Response<Body> {
    let has_body = body.is_some();
    let mut response = Response::new(match body {
        Some(value) => Body::Text(value.to_string()),
        None => Body::Empty,
    });
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if has_body {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_json(r: &Response<Body>) -> serde_json::Value {
        serde_json::from_slice(r.body().as_ref()).unwrap()
    }

    #[test]
    fn errors_have_the_documented_shape() {
        let r = error_response(&Error::invalid("email", "email must be valid"));
        assert_eq!(r.status(), 400);
        let v = body_json(&r);
        assert_eq!(v["error"]["code"], "invalid_field");
        assert_eq!(v["error"]["field"], "email");
        assert_eq!(v["error"]["message"], "email must be valid");
    }

    #[test]
    fn rate_limit_sets_retry_after_and_internal_hides_detail() {
        let r = error_response(&Error::RateLimited { retry_after_s: 17 });
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()[header::RETRY_AFTER], "17");
        let r = error_response(&Error::internal("db", "secret table name"));
        assert_eq!(r.status(), 500);
        assert!(!body_json(&r).to_string().contains("secret"));
    }
}
