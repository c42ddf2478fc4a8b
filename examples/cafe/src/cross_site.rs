//! A page on another site calling the café: `--cross-site-origin`.
//!
//! Off by default: the café's pages are served by the café itself, and no
//! other site's script may read its answers or send it the user's cookies.
//! An operator who serves a single-page app from another site (the app at
//! `https://app.example`, the API at `https://cafe.example`) names the app's
//! exact origins, and for those, and only those, the café
//!
//! - answers CORS requests with credentials ([`CrossSiteOrigins::cors`]);
//! - lets their state-changing requests through the origin check
//!   ([`cafe::guards::cross_site_verdict`]), which still refuses every
//!   other site's;
//! - sets its cookies `SameSite=None; Partitioned` ([`cross_site_form`]),
//!   since a `Lax` or `Strict` cookie never goes with a cross-site `fetch`.

use axum::extract::{Request, State};
use axum::http::header::{
    ACCESS_CONTROL_REQUEST_METHOD, AUTHORIZATION, CONTENT_TYPE, LINK, ORIGIN, RETRY_AFTER,
};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use cafe::error::ApiError;
use cookie::{Cookie, SameSite};
use std::time::Duration;
use tower::{Layer, ServiceExt};
use tower_http::cors::{AllowCredentials, AllowOrigin, CorsLayer};
use url::{Host, ParseError, Url};

/// How long a browser may reuse a preflight's answer before it asks again:
/// ten minutes, where browsers allow that much (Chromium caps it at two
/// hours, Firefox at one day). Said explicitly: without the header,
/// browsers ask before every request after five seconds.
pub const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(10 * 60);

/// The exact origins of the pages on other sites that may call the café
/// with the user's credentials. Empty unless `--cross-site-origin` says
/// otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrossSiteOrigins(Vec<String>);

impl CrossSiteOrigins {
    /// These origins, each checked by [`parse_origin`]: the first that is
    /// not a plain `scheme://host[:port]` is the error.
    pub fn parse<I: IntoIterator<Item = S>, S: AsRef<str>>(
        origins: I,
    ) -> Result<CrossSiteOrigins, String> {
        let origins = origins
            .into_iter()
            .map(|origin| parse_origin(origin.as_ref()))
            .collect::<Result<_, _>>()?;
        Ok(CrossSiteOrigins(origins))
    }

    /// Whether no origin was named: the café serves its own pages only.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The origins, as browsers write them in `Origin` headers.
    pub fn origins(&self) -> &[String] {
        &self.0
    }

    // ANCHOR: cors
    /// CORS for exactly these origins, with credentials (Fetch standard,
    /// "CORS protocol"; OWASP HTML5 Security Cheat Sheet, "Cross Origin
    /// Resource Sharing"): a listed origin's script may read the answers
    /// and send the cookies; any other origin's request gets no
    /// `Access-Control-Allow-Origin`, so the browser keeps the answer from
    /// its script, and no preflight it sends is approved. Answers vary by
    /// `Origin` (and by the preflight's headers), so no cache hands one
    /// origin's answer to another. `None` when no origin is listed: then no
    /// CORS header is ever sent.
    pub fn cors(&self) -> Option<CorsLayer> {
        if self.is_empty() {
            return None;
        }
        let listed = self.clone();
        let is_listed = move |origin: &HeaderValue, _: &axum::http::request::Parts| {
            origin.to_str().is_ok_and(|origin| listed.allows(origin))
        };
        let layer = CorsLayer::new()
            .allow_origin(AllowOrigin::predicate(is_listed.clone()))
            // Never `*` with credentials (the Fetch standard forbids it),
            // and only to a listed origin.
            .allow_credentials(AllowCredentials::predicate(is_listed))
            .allow_methods([Method::GET, Method::POST, Method::DELETE])
            // JSON bodies and bearer tokens: the two headers a client sends.
            .allow_headers([CONTENT_TYPE, AUTHORIZATION])
            // What a client reads besides the body: when to try again after
            // 429/503, and the next page of orders.
            .expose_headers([RETRY_AFTER, LINK])
            .max_age(PREFLIGHT_MAX_AGE);
        Some(layer)
    }
    // ANCHOR_END: cors

    /// Whether `origin` is one of them, exactly: scheme, host and port.
    pub fn allows(&self, origin: &str) -> bool {
        self.0
            .iter()
            .any(|listed| listed.eq_ignore_ascii_case(origin))
    }

    /// How the café's cookies must be set for these pages.
    pub fn cookie_sites(&self) -> CookieSites {
        if self.is_empty() {
            CookieSites::SameSiteOnly
        } else {
            CookieSites::CrossSite
        }
    }
}

/// [`CrossSiteOrigins::cors`] for every request but an `OPTIONS` that is
/// not a preflight. tower-http answers every `OPTIONS` as a preflight, 200
/// and empty, even one with no `Origin` and no
/// `Access-Control-Request-Method`; such a request is no part of CORS
/// (Fetch standard, "CORS-preflight request"), so it is answered as without
/// the flag, 404 or 405.
pub async fn real_preflights_only(
    State(cors): State<CorsLayer>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let preflight =
        headers.contains_key(ORIGIN) && headers.contains_key(ACCESS_CONTROL_REQUEST_METHOD);
    if request.method() == Method::OPTIONS && !preflight {
        return next.run(request).await;
    }
    let answer = cors.layer(next).oneshot(request).await;
    answer.unwrap_or_else(|never| match never {})
}

/// `text` as an origin a browser writes in an `Origin` header
/// (`https://app.example`, `http://localhost:5173`), or why it is not one.
/// Read as browsers read URLs (the `url` crate follows the WHATWG URL
/// Standard), then held to the exact form a browser would send: only
/// `http` and `https`; one exact host name (letters, digits and hyphens,
/// RFC 1123 §2.1; no wildcard: every listed origin may act as the user) or
/// address; no user name, no path, query or trailing slash, and no default
/// port (browsers leave it out, so `:443` would never match). Anything a
/// browser would write otherwise (`127.1`, `[0:0::1]`, `café.example`) is
/// refused with the form it does write. Plain `http` only on this machine:
/// the value of `--cross-site-origin`.
pub fn parse_origin(text: &str) -> Result<String, String> {
    let refuse = |why: &str| {
        format!(
            "{text:?} is not an origin: {why}; write scheme://host[:port] as a browser's \
             Origin header does, e.g. https://app.example or http://localhost:5173"
        )
    };
    let url = match Url::parse(text) {
        Ok(url) => url,
        Err(ParseError::RelativeUrlWithoutBase) if !text.is_empty() => {
            return Err(refuse("the scheme must be http or https"));
        }
        Err(error) => return Err(refuse(&format!("not a URL ({error})"))),
    };
    if !matches!(url.scheme(), "http" | "https") {
        return Err(refuse("the scheme must be http or https"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refuse("it must carry no user name or password"));
    }
    if let Some(Host::Domain(name)) = url.host()
        && !is_host_name(name)
    {
        return Err(refuse(
            "the host must be one exact name or address, no wildcard",
        ));
    }
    let origin = url.origin().ascii_serialization();
    let written = text.to_ascii_lowercase();
    if written != origin {
        let after_host = written.strip_prefix(&origin);
        let why = if after_host.is_some_and(|rest| rest.starts_with(':')) {
            "leave out the default port, as browsers do".to_owned()
        } else if after_host.is_some() || url.query().is_some() || url.fragment().is_some() {
            "nothing may follow the host and port (no path, query or /)".to_owned()
        } else if !text.is_ascii() {
            format!("browsers send a name beyond ASCII in its xn-- form, {origin}")
        } else {
            format!("browsers send this origin as {origin}")
        };
        return Err(refuse(&why));
    }
    if url.scheme() == "http" && !is_this_machine(url.host()) {
        return Err(format!(
            "{text:?} is refused: anyone on the network can pretend to be a plain http:// \
             page, so use https://; http:// only for localhost, *.localhost, 127.0.0.0/8 or \
             [::1], which only this machine answers"
        ));
    }
    Ok(origin)
}

/// A host name as DNS writes it (RFC 1123 §2.1): dot-separated labels of
/// 1 to 63 letters, digits and hyphens, no label starting or ending with a
/// hyphen. The URL Standard lets more through (`app..example`, `-`, `*`).
fn is_host_name(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Whether `host` is one W3C Secure Contexts calls potentially trustworthy
/// although reached over plain `http` ("Is origin potentially
/// trustworthy?"): a loopback address, or `localhost` and its subdomains,
/// which browsers resolve to this machine. No one on the network can
/// answer for them.
fn is_this_machine(host: Option<Host<&str>>) -> bool {
    match host {
        Some(Host::Domain(name)) => name == "localhost" || name.ends_with(".localhost"),
        Some(Host::Ipv4(address)) => address.is_loopback(),
        Some(Host::Ipv6(address)) => address.is_loopback(),
        None => false,
    }
}

/// Which pages the café's cookies go with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CookieSites {
    /// The café's own: the session cookie `SameSite=Lax`, the hybrid's
    /// refresh cookie `SameSite=Strict`, as the book's chapters show them.
    #[default]
    SameSiteOnly,
    /// Listed pages on other sites too: every cookie in its
    /// [`cross_site_form`].
    CrossSite,
}

impl CookieSites {
    /// `set_cookie` (a `Set-Cookie` value) as these sites need it.
    pub fn apply(self, set_cookie: String) -> Result<String, ApiError> {
        match self {
            CookieSites::SameSiteOnly => Ok(set_cookie),
            CookieSites::CrossSite => cross_site_form(&set_cookie),
        }
    }
}

// ANCHOR: cross_site_form
/// The same cookie for a page on another site (RFC 6265bis §4.1.2.7,
/// "The SameSite Attribute"; CHIPS): `SameSite=None`, because a `Lax` or
/// `Strict` cookie is never sent with a cross-site `fetch`; and
/// `Partitioned`, because a browser that blocks third-party cookies still
/// keeps a partitioned one, filed under the site of the page on top (the
/// app's), and sends it only from pages of that site. Everything else stays
/// as it was: `HttpOnly`, `Secure`, the path, and the `__Host-` prefix,
/// which `Partitioned` does not conflict with.
pub fn cross_site_form(set_cookie: &str) -> Result<String, ApiError> {
    let mut cookie = Cookie::parse(set_cookie).map_err(ApiError::internal)?;
    cookie.set_same_site(SameSite::None);
    cookie.set_partitioned(true);
    Ok(cookie.to_string())
}
// ANCHOR_END: cross_site_form

#[cfg(test)]
mod tests;
