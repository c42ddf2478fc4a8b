//! The session cookie, with every attribute written out.
//!
//! `__Host-session=<ID>; HttpOnly; SameSite=Lax; Secure; Path=/`
//!
//! - `__Host-` prefix: browsers accept the cookie only if it is `Secure`, has
//!   `Path=/` and no `Domain`, so a sibling subdomain cannot plant or
//!   overwrite it (RFC 6265bis §4.1.3.2).
//! - `HttpOnly`: page scripts cannot read it, so an XSS bug cannot steal it
//!   (it can still *use* it while the page is open).
//! - `Secure`: sent over HTTPS only. Browsers treat `http://localhost` as
//!   secure, so the demo works there; curl keeps it only with `-c`/`-b` and
//!   `localhost` in the URL, or you pass it yourself with `-H 'Cookie: …'`.
//! - `SameSite=Lax`: not sent on cross-site subrequests or cross-site POSTs;
//!   sent cross-site only on top-level navigations with a safe method (GET,
//!   HEAD), which is why GETs must not change state.
//! - No `Max-Age`/`Expires`: the browser forgets it when it closes, and the
//!   server decides expiry anyway.

use cookie::{Cookie, SameSite};
use http::HeaderMap;
use http::header::COOKIE;
use sessions::id::SessionId;

/// The cookie's name. The `__Host-` prefix is part of the name.
pub const COOKIE_NAME: &str = "__Host-session";

// ANCHOR: set_cookie
/// The `Set-Cookie` value that hands the browser a new session ID.
pub fn login_cookie(id: &SessionId) -> String {
    Cookie::build((COOKIE_NAME, id.as_str()))
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Lax)
        .path("/")
        .build()
        .to_string()
}
// ANCHOR_END: set_cookie

/// The `Set-Cookie` value that makes the browser drop the session cookie.
pub fn logout_cookie() -> String {
    Cookie::build((COOKIE_NAME, ""))
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Lax)
        .path("/")
        .max_age(cookie::time::Duration::ZERO)
        .expires(cookie::time::OffsetDateTime::UNIX_EPOCH)
        .build()
        .to_string()
}

// ANCHOR: presented
/// The session ID the request presents in its `Cookie` header, if it has
/// one of the right shape. IDs anywhere else (the URL, a header of our own
/// invention) are never looked at.
pub fn presented_id(headers: &HeaderMap) -> Option<SessionId> {
    cookie_value(headers, COOKIE_NAME).and_then(|value| SessionId::parse(&value))
}

/// The value of the first cookie called `name` in the request's `Cookie`
/// headers, if it is not empty.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == name && !cookie.value().is_empty())
        .map(|cookie| cookie.value().to_owned())
}
// ANCHOR_END: presented

#[cfg(test)]
mod tests;
