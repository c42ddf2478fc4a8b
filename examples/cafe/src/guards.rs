//! Checks every request passes before it reaches a handler.

use axum::extract::{Request, State};
use axum::http::HeaderName;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_LENGTH, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ORIGIN, REFERRER_POLICY,
    STRICT_TRANSPORT_SECURITY, TRANSFER_ENCODING, WWW_AUTHENTICATE, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cafe::cross_site::{CookieSites, CrossSiteOrigins};
use cafe::error::ApiError;
use cafe::mechanisms::jwt::REFRESH_COOKIE;
use std::sync::Arc;

/// Methods that must not change anything, and so need no CSRF check.
fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The origins (scheme, host and port) the café's own pages are served
/// from: `http://localhost:8080`, `https://cafe.example`; and the pages on
/// other sites the operator named with `--cross-site-origin`, if any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedOrigins {
    own: Vec<String>,
    cross_site: CrossSiteOrigins,
}

impl AllowedOrigins {
    /// These origins, written as browsers write them in `Origin` headers
    /// (lower case, no trailing slash, no default port).
    pub fn new<I: IntoIterator<Item = S>, S: AsRef<str>>(origins: I) -> AllowedOrigins {
        AllowedOrigins {
            own: origins
                .into_iter()
                .map(|origin| origin.as_ref().trim_end_matches('/').to_ascii_lowercase())
                .collect(),
            cross_site: CrossSiteOrigins::default(),
        }
    }

    /// These, and pages on other sites at exactly `cross_site`.
    pub fn with_cross_site(self, cross_site: CrossSiteOrigins) -> AllowedOrigins {
        AllowedOrigins { cross_site, ..self }
    }

    /// Whether `origin` is one of them, exactly: scheme, host and port.
    pub fn allows(&self, origin: &str) -> bool {
        self.own.iter().any(|own| own.eq_ignore_ascii_case(origin))
            || self.cross_site.allows(origin)
    }

    /// Whether `origin` is a page on another site the operator named.
    pub fn allows_cross_site(&self, origin: &str) -> bool {
        self.cross_site.allows(origin)
    }

    /// Whether the café's cookies go with requests from other sites too.
    fn cookies_go_cross_site(&self) -> bool {
        self.cross_site.cookie_sites() == CookieSites::CrossSite
    }
}

/// The cookies that carry a login: the session, and the hybrid's refresh
/// token.
const CAFE_COOKIES: [&str; 2] = [sessions::cookie::COOKIE_NAME, REFRESH_COOKIE];

/// Whether the request's `Cookie` headers carry one of [`CAFE_COOKIES`]
/// with a value (an empty one carries no credential).
fn carries_a_cafe_cookie(headers: &HeaderMap) -> bool {
    CAFE_COOKIES
        .iter()
        .any(|name| sessions::cookie::cookie_value(headers, name).is_some())
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
    // `Some(None)`: an Origin that is not text, which matches no origin.
    let origin = headers.get(ORIGIN).map(|origin| origin.to_str().ok());
    // A page on another site passes only if the operator named its exact
    // origin (`--cross-site-origin`); by default none is named.
    let named_other_site = origin
        .flatten()
        .is_some_and(|origin| allowed.allows_cross_site(origin));
    // Every current browser sends Sec-Fetch-Site; page scripts cannot set it.
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.as_bytes() {
            b"same-origin" | b"none" => Ok(()),
            _ if named_other_site => Ok(()),
            _ => Err("cross-site request refused"),
        };
    }
    // Older browsers: the Origin must be one of ours, scheme, host and port
    // alike. Comparing the host alone would let http://cafe.example (which
    // anyone on the network can impersonate) write to https://cafe.example.
    if let Some(origin) = origin {
        return match origin {
            Some(origin) if allowed.allows(origin) => Ok(()),
            _ => Err("cross-origin request refused"),
        };
    }
    // Neither header: not a browser (curl, a mobile app), so no cookie was
    // attached behind the user's back. Unless the café's cookies are
    // `SameSite=None` (`--cross-site-origin`): then one may have come from
    // any site with a browser that sends neither header, so a request that
    // carries one must say where it comes from.
    if allowed.cookies_go_cross_site() && carries_a_cafe_cookie(headers) {
        return Err("a request with the café's cookie must send Origin");
    }
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

// ANCHOR: security_headers
/// The headers every response carries (ASVS 5.0 3.4, OWASP HTTP Headers
/// Cheat Sheet). A response that sets its own Content-Security-Policy (the
/// café's pages) keeps it; every other one gets the strictest.
const SECURITY_HEADERS: [(HeaderName, &str); 7] = [
    // Answers about who you are must not be kept by caches along the way
    // (ASVS 5.0 14.3.2; OWASP Session Management Cheat Sheet).
    (CACHE_CONTROL, "no-store"),
    // A JSON answer is never run as a script or shown as HTML (3.4.4).
    (X_CONTENT_TYPE_OPTIONS, "nosniff"),
    // Links from the café tell other sites nothing about where they came
    // from (3.4.5).
    (REFERRER_POLICY, "no-referrer"),
    // No other window keeps a handle on the café's (3.4.8).
    (
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    ),
    // Other sites cannot embed the café's answers (3.5.8).
    (
        HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    ),
    // HTTPS only, for a year, subdomains too (3.4.1). Browsers ignore it
    // over plain HTTP, so the loopback demo is unaffected.
    (
        STRICT_TRANSPORT_SECURITY,
        "max-age=31536000; includeSubDomains",
    ),
    // Nothing loads, nothing frames (3.4.3, 3.4.6).
    (
        CONTENT_SECURITY_POLICY,
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
    ),
];

/// Adds [`SECURITY_HEADERS`] to every response that lacks them.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    response
}
// ANCHOR_END: security_headers

/// Gives every 401 a `WWW-Authenticate` challenge, as RFC 9110 §15.5.2
/// requires: the mechanism's own, where the handler did not set a more
/// precise one.
pub async fn challenge_every_401(
    State(challenge): State<HeaderValue>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    if response.status() == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .entry(WWW_AUTHENTICATE)
            .or_insert(challenge);
    }
    response
}

#[cfg(test)]
mod tests;
