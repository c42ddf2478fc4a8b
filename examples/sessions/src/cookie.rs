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
    first_cookie(headers, COOKIE_NAME).and_then(SessionId::parse)
}

/// The value of the first cookie called `name` in the request's `Cookie`
/// headers, if it is not empty.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    first_cookie(headers, name).map(str::to_owned)
}

/// [`cookie_value`], borrowed from the headers. A `Cookie` header is
/// `name=value` pairs separated by `;` (RFC 6265 §4.2.1): each pair is
/// read as the `cookie` crate's `Cookie::split_parse` reads it (a piece
/// without `=` or with an empty name skipped, name and value trimmed,
/// nothing percent-decoded), and a test holds the two to the same answers.
/// Not the crate itself here: it builds a whole `Cookie`, with room for the
/// attributes only a `Set-Cookie` carries, for every pair of every request,
/// a fifth of a session check's time in memory.
fn first_cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.split_once('='))
        .map(|(pair_name, value)| (pair_name.trim(), value.trim()))
        .find(|(pair_name, value)| !pair_name.is_empty() && *pair_name == name && !value.is_empty())
        .map(|(_, value)| value)
}
// ANCHOR_END: presented

#[cfg(test)]
mod tests;
