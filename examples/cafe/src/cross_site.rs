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

use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, LINK, RETRY_AFTER};
use axum::http::{HeaderValue, Method, Uri};
use cafe::error::ApiError;
use cookie::{Cookie, SameSite};
use std::time::Duration;
use tower_http::cors::{AllowCredentials, AllowOrigin, CorsLayer};

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

/// `text` as an origin a browser writes in an `Origin` header
/// (`https://app.example`, `http://localhost:5173`), or why it is not one:
/// only `http` and `https`, one exact host (no wildcard: every listed
/// origin may act as the user), no user name, no path, query or trailing
/// slash, and no default port (browsers leave it out, so `:443` would never
/// match). The value of `--cross-site-origin`.
pub fn parse_origin(text: &str) -> Result<String, String> {
    let refuse = |why: &str| {
        format!(
            "{text:?} is not an origin: {why}; write scheme://host[:port] as a browser's \
             Origin header does, e.g. https://app.example or http://localhost:5173"
        )
    };
    let uri: Uri = text.parse().map_err(|_| refuse("not a URL"))?;
    let scheme = match uri.scheme_str() {
        Some(scheme) if scheme.eq_ignore_ascii_case("http") => "http",
        Some(scheme) if scheme.eq_ignore_ascii_case("https") => "https",
        _ => return Err(refuse("the scheme must be http or https")),
    };
    let authority = uri.authority().ok_or_else(|| refuse("it names no host"))?;
    if authority.as_str().contains('@') {
        return Err(refuse("it must carry no user name or password"));
    }
    let host = authority.host().to_ascii_lowercase();
    let hostname_like = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.');
    let ipv6_like = host.starts_with('[') && host.ends_with(']');
    if host.is_empty() || !(ipv6_like || host.chars().all(hostname_like)) {
        return Err(refuse(
            "the host must be one exact name or address, no wildcard",
        ));
    }
    let default_port = if scheme == "https" { 443 } else { 80 };
    let origin = match authority.port_u16() {
        Some(port) if port == default_port => {
            return Err(refuse("leave out the default port, as browsers do"));
        }
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    };
    if !text.eq_ignore_ascii_case(&origin) {
        return Err(refuse(
            "nothing may follow the host and port (no path, query or /)",
        ));
    }
    Ok(origin)
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
