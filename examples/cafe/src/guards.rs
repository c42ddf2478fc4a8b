//! Checks every request passes before it reaches a handler.

use crate::error::ApiError;
use axum::extract::Request;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, HOST, ORIGIN, TRANSFER_ENCODING,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Methods that must not change anything, and so need no CSRF check.
fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

// ANCHOR: cross_site
/// Whether a state-changing request may come from where the browser says it
/// comes from (OWASP CSRF Prevention Cheat Sheet, "Fetch Metadata" and
/// "Verifying Origin With Standard Headers").
///
/// `SameSite=Lax` alone is not enough: it still sends the cookie from a
/// *sibling subdomain* (same site, other origin), and on top-level cross-site
/// GETs, and some browsers or embedded views do not enforce it at all.
pub fn cross_site_verdict(headers: &HeaderMap) -> Result<(), &'static str> {
    // Every current browser sends Sec-Fetch-Site; it cannot be set by page scripts.
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.as_bytes() {
            b"same-origin" | b"none" => Ok(()),
            _ => Err("cross-site request refused"),
        };
    }
    // Older browsers: the Origin of a POST must be this very host.
    if let Some(origin) = headers.get(ORIGIN) {
        let origin_host = origin
            .to_str()
            .ok()
            .and_then(|origin| origin.split_once("://"))
            .map(|(_scheme, host)| host);
        let own_host = headers.get(HOST).and_then(|host| host.to_str().ok());
        return match (origin_host, own_host) {
            (Some(origin), Some(own)) if origin.eq_ignore_ascii_case(own) => Ok(()),
            _ => Err("cross-origin request refused"),
        };
    }
    // Neither header: not a browser (curl, a mobile app), so no cookie was
    // attached behind the user's back.
    Ok(())
}
// ANCHOR_END: cross_site

/// Refuses cross-site state-changing requests with 403.
pub async fn refuse_cross_site_writes(request: Request, next: Next) -> Response {
    if !is_safe(request.method())
        && let Err(reason) = cross_site_verdict(request.headers())
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
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn fetch_metadata_decides_when_present() {
        assert_eq!(
            cross_site_verdict(&headers(&[("sec-fetch-site", "same-origin")])),
            Ok(())
        );
        assert_eq!(
            cross_site_verdict(&headers(&[("sec-fetch-site", "none")])),
            Ok(())
        );
        for site in ["cross-site", "same-site", "nonsense"] {
            let mut map = headers(&[("host", "cafe.example")]);
            map.insert("sec-fetch-site", HeaderValue::from_static(site));
            assert!(cross_site_verdict(&map).is_err(), "{site}");
        }
    }

    #[test]
    fn origin_must_match_the_host_when_fetch_metadata_is_absent() {
        let same = headers(&[
            ("origin", "http://localhost:8080"),
            ("host", "localhost:8080"),
        ]);
        assert_eq!(cross_site_verdict(&same), Ok(()));
        let other = headers(&[
            ("origin", "https://evil.example"),
            ("host", "localhost:8080"),
        ]);
        assert!(cross_site_verdict(&other).is_err());
        let opaque = headers(&[("origin", "null"), ("host", "localhost:8080")]);
        assert!(cross_site_verdict(&opaque).is_err());
    }

    #[test]
    fn json_with_parameters_is_json() {
        assert!(is_json(&headers(&[(
            "content-type",
            "application/json; charset=utf-8"
        )])));
        assert!(!is_json(&headers(&[("content-type", "text/plain")])));
        assert!(!is_json(&headers(&[("content-type", "application/jsonx")])));
    }
}
