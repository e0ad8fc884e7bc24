//! The domain error type. Every capability returns it; `http::respond` is the
//! single place that turns it into a status code and a JSON body.

use std::borrow::Cow;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed or a field fails validation.
    #[error("{message}")]
    Invalid {
        code: &'static str,
        field: Option<Cow<'static, str>>,
        message: Cow<'static, str>,
    },
    /// Missing, unknown, expired or revoked credentials.
    #[error("{message}")]
    Unauthenticated { message: Cow<'static, str> },
    /// The caller is known but the credentials they re-entered are wrong.
    #[error("{message}")]
    Forbidden {
        code: &'static str,
        field: Option<&'static str>,
        message: Cow<'static, str>,
    },
    #[error("{what} not found")]
    NotFound { what: &'static str },
    /// A uniqueness or state precondition failed (e.g. email already taken).
    #[error("{message}")]
    Conflict {
        code: &'static str,
        field: Option<&'static str>,
        message: Cow<'static, str>,
    },
    /// Well-formed, but the content cannot be used (e.g. not a real image).
    #[error("{message}")]
    Unprocessable {
        code: &'static str,
        message: Cow<'static, str>,
    },
    #[error("not enough credits: this costs {needed}")]
    InsufficientCredits { needed: i64 },
    #[error("request body is larger than {limit_bytes} bytes")]
    PayloadTooLarge { limit_bytes: usize },
    #[error("{message}")]
    UnsupportedMediaType { message: Cow<'static, str> },
    #[error("too many requests; retry after {retry_after_s} s")]
    RateLimited { retry_after_s: u64 },
    #[error("route not found")]
    RouteNotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A part of the service is not set up (e.g. payments without their
    /// webhook secret): the caller may retry once an operator has acted.
    #[error("{message}")]
    Unavailable {
        code: &'static str,
        message: Cow<'static, str>,
    },
    /// A provider the request depends on (Stripe) failed or did not answer;
    /// retrying later may work.
    #[error("{message}")]
    Upstream {
        code: &'static str,
        message: Cow<'static, str>,
    },
    /// Anything the client cannot fix: AWS faults, bugs. Never shown verbatim.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl Error {
    pub fn invalid(
        field: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Error::Invalid {
            code: "invalid_field",
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// A field that fails validation with a code of its own.
    pub fn invalid_code(
        code: &'static str,
        field: &'static str,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Error::Invalid {
            code,
            field: Some(field.into()),
            message: message.into(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Error::Invalid {
            code,
            field: None,
            message: message.into(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Error::Conflict {
            code,
            field: None,
            message: message.into(),
        }
    }

    pub fn unauthenticated(message: impl Into<Cow<'static, str>>) -> Self {
        Error::Unauthenticated {
            message: message.into(),
        }
    }

    pub fn internal(context: &'static str, err: impl std::fmt::Display) -> Self {
        Error::Internal(anyhow::anyhow!("{context}: {err}"))
    }
}
