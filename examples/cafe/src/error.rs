//! Every failure the API reports: a status code and a JSON body
//! `{"error": "..."}`, never a panic and never a stack trace.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl ApiError {
    /// An error with this status and message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            headers: Vec::new(),
        }
    }

    /// Adds a header, e.g. `Retry-After` or `WWW-Authenticate`.
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> ApiError {
        self.headers.push((name, value));
        self
    }

    /// 401: no credential, or one that is not (or no longer) valid.
    pub fn unauthenticated() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "not logged in, or the login has ended",
        )
    }

    /// 403: known, but not allowed to do this.
    pub fn forbidden(message: &str) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, message)
    }

    /// 503: a store did not answer, or every password-check slot is busy.
    /// Not the caller's fault, and nobody is let in: try again shortly.
    /// The details go to the server's log, not to the client.
    pub fn unavailable(error: impl std::fmt::Display) -> ApiError {
        tracing::warn!(%error, "answering 503");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily unavailable; try again shortly",
        )
        .with_header(RETRY_AFTER, HeaderValue::from_static("1"))
    }

    /// 500: a bug or a broken key on our side. The details go to the
    /// server's log, not to the client.
    pub fn internal(error: impl std::fmt::Display) -> ApiError {
        tracing::error!(%error, "answering 500");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(json!({ "error": self.message }))).into_response();
        for (name, value) in self.headers {
            response.headers_mut().append(name, value);
        }
        response
    }
}

/// Any store, whichever crate's trait it implements: 503.
impl From<cafe::store::StoreError> for ApiError {
    fn from(error: cafe::store::StoreError) -> ApiError {
        ApiError::unavailable(error)
    }
}

impl From<sessions::SessionError> for ApiError {
    fn from(error: sessions::SessionError) -> ApiError {
        ApiError::unavailable(error)
    }
}

/// Logging in with JWTs failed: the store (503), signing (500), or the
/// account, read again, may no longer act (403 or 401).
impl From<jwt::IssueError> for ApiError {
    fn from(error: jwt::IssueError) -> ApiError {
        match error {
            jwt::IssueError::Unavailable(error) => ApiError::unavailable(error),
            jwt::IssueError::Token(error) => ApiError::internal(error),
            jwt::IssueError::Banned => cafe::auth::Barred::Banned.into(),
            jwt::IssueError::Gone => cafe::auth::Barred::Gone.into(),
        }
    }
}

/// A JSON body that could not be read keeps axum's status (415 for a missing
/// `Content-Type: application/json`, 413 for an oversized body, 400 for bad
/// syntax, 422 for the wrong shape) but gets our JSON error body.
impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        ApiError::new(rejection.status(), rejection.body_text())
    }
}
