//! Checks every request passes before it reaches a handler.

use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, ORIGIN, TRANSFER_ENCODING};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cafe::error::ApiError;
use std::sync::Arc;

/// Methods that must not change anything, and so need no CSRF check.
fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The origins (scheme, host and port) the café's own pages are served
/// from: `http://localhost:8080`, `https://cafe.example`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedOrigins(Vec<String>);

impl AllowedOrigins {
    /// These origins, written as browsers write them in `Origin` headers
    /// (lower case, no trailing slash, no default port).
    pub fn new<I: IntoIterator<Item = S>, S: AsRef<str>>(origins: I) -> AllowedOrigins {
        AllowedOrigins(
            origins
                .into_iter()
                .map(|origin| origin.as_ref().trim_end_matches('/').to_ascii_lowercase())
                .collect(),
        )
    }

    /// Whether `origin` is one of them, exactly: scheme, host and port.
    pub fn allows(&self, origin: &str) -> bool {
        self.0
            .iter()
            .any(|allowed| allowed.eq_ignore_ascii_case(origin))
    }
}

// ANCHOR: cross_site
/// Whether a state-changing request may come from where the browser says it
/// comes from (OWASP Cross-Site Request Forgery Prevention Cheat Sheet,
/// "Fetch Metadata headers" and "Verifying Origin With Standard Headers").
///
/// `SameSite=Lax` alone is not enough: it still sends the cookie from a
/// *sibling subdomain* (same site, other origin), and on top-level cross-site
/// GET navigations, and some browsers or embedded views do not enforce it.
pub fn cross_site_verdict(
    headers: &HeaderMap,
    allowed: &AllowedOrigins,
) -> Result<(), &'static str> {
    // Every current browser sends Sec-Fetch-Site; page scripts cannot set it.
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.as_bytes() {
            b"same-origin" | b"none" => Ok(()),
            _ => Err("cross-site request refused"),
        };
    }
    // Older browsers: the Origin must be one of ours, scheme, host and port
    // alike. Comparing the host alone would let http://cafe.example (which
    // anyone on the network can impersonate) write to https://cafe.example.
    if let Some(origin) = headers.get(ORIGIN) {
        return match origin.to_str() {
            Ok(origin) if allowed.allows(origin) => Ok(()),
            _ => Err("cross-origin request refused"),
        };
    }
    // Neither header: not a browser (curl, a mobile app), so no cookie was
    // attached behind the user's back.
    Ok(())
}
// ANCHOR_END: cross_site

/// Refuses cross-site state-changing requests with 403.
pub async fn refuse_cross_site_writes(
    State(allowed): State<Arc<AllowedOrigins>>,
    request: Request,
    next: Next,
) -> Response {
    if !is_safe(request.method())
        && let Err(reason) = cross_site_verdict(request.headers(), &allowed)
    {
        return ApiError::forbidden(reason).into_response();
    }
    next.run(request).await
}

/// Whether the request carries a body at all.
fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(TRANSFER_ENCODING)
        || headers
            .get(CONTENT_LENGTH)
            .is_some_and(|length| length.as_bytes() != b"0")
}

/// `application/json`, with or without parameters such as `charset`.
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// A state-changing request with a body must send JSON (415 otherwise), even
/// where the endpoint ignores the body: an HTML form cannot send JSON, so this
/// also closes the oldest CSRF trick, the auto-submitting cross-site form.
pub async fn require_json_bodies(request: Request, next: Next) -> Response {
    if !is_safe(request.method()) && has_body(request.headers()) && !is_json(request.headers()) {
        return ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the request body as application/json",
        )
        .into_response();
    }
    next.run(request).await
}

/// Responses about who you are must not be stored by caches along the way
/// (OWASP Session Management Cheat Sheet, "Web Content Caching").
pub async fn no_store(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests;
