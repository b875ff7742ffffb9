//! Errors as the API answers them: `{"error":{"kind","message"}}` with the status that
//! matches the CLI's exit code (2 → 400, 3 → 404, 4 → 409), 401 without a valid token,
//! 413 for a body over the limit, 503 when the database cannot be reached. A database's
//! own words (which name files and servers) go to the server's log, never to the caller.
//! `ErrorKind` lists every kind the API answers, so the OpenAPI document cannot miss one.

use axum::http::header::CONNECTION;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::{self, Error, Kind};
use crate::output::json::{ErrorBody, ErrorJson};

/// What kind of error an answer is: its `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 400 (and 405): a request that is not how the API is used.
    Usage,
    /// 400: a value that cannot be right.
    InvalidInput,
    /// 401: no valid token.
    Unauthorized,
    /// 404: no such job, queue or route, or not one the token reaches.
    NotFound,
    /// 409: the job's state does not allow it, or the claim is no longer the caller's.
    Conflict,
    /// 413: a body over the limit.
    TooLarge,
    /// 503: the database is unavailable.
    Database,
    /// 503: the request took too long.
    Timeout,
    /// 500: a bug in the server.
    Internal,
}

impl ErrorKind {
    /// Every kind, in the order the documentation lists them.
    pub const ALL: [ErrorKind; 9] = [
        ErrorKind::Usage,
        ErrorKind::InvalidInput,
        ErrorKind::Unauthorized,
        ErrorKind::NotFound,
        ErrorKind::Conflict,
        ErrorKind::TooLarge,
        ErrorKind::Database,
        ErrorKind::Timeout,
        ErrorKind::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Usage => "usage",
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::Database => "database",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Internal => "internal",
        }
    }
}

/// A refusal or failure, ready to send.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: ErrorKind,
    pub message: String,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, kind: ErrorKind, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            kind,
            message: message.into(),
        }
    }

    /// Bad input: a value that cannot be right (400 `invalid_input`).
    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, ErrorKind::InvalidInput, message)
    }

    /// A request that is not how the API is used (400 `usage`).
    pub fn usage(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, ErrorKind::Usage, message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, ErrorKind::NotFound, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, ErrorKind::Unauthorized, message)
    }

    /// The database failed or cannot be reached: worth retrying later.
    pub fn unavailable() -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Database,
            "the database is unavailable; retry later",
        )
    }

    /// A failure of the store, as the caller may see it. A `not_found` gets `missing`'s
    /// words, which name only what the caller asked for (the store's name the database).
    pub fn from_store(err: anyhow::Error, missing: impl FnOnce() -> String) -> ApiError {
        let typed = err.chain().find_map(|e| e.downcast_ref::<Error>());
        match typed.map(|e| e.kind) {
            Some(Kind::Usage) => ApiError::usage(error::one_line(&err)),
            Some(Kind::InvalidInput) => ApiError::invalid(error::one_line(&err)),
            Some(Kind::NotFound) => ApiError::not_found(missing()),
            Some(Kind::Conflict) => ApiError::new(
                StatusCode::CONFLICT,
                ErrorKind::Conflict,
                error::one_line(&err),
            ),
            Some(Kind::Database | Kind::Interrupted(_)) | None => {
                eprintln!("queueprim serve: {}", error::one_line(&err));
                ApiError::unavailable()
            }
        }
    }

    /// A failure inside the server itself (a bug): said as little as possible, logged.
    pub fn internal(err: impl std::fmt::Display) -> ApiError {
        eprintln!("queueprim serve: internal error: {err}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::Internal,
            "the server failed to answer; see its log",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorJson {
            error: ErrorBody {
                kind: self.kind.as_str(),
                message: &self.message,
            },
        };
        let mut text = serde_json::to_string(&body).unwrap_or_default();
        text.push('\n');
        let mut response = (
            self.status,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            text,
        )
            .into_response();
        // The rest of a body over the limit is never read, so the connection cannot carry
        // another request: say so, rather than let the client find out.
        if self.status == StatusCode::PAYLOAD_TOO_LARGE {
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}
