//! The café's web client, served by the app itself at `/`: one HTML page,
//! one JavaScript module and a style sheet, under a Content Security Policy
//! that runs no script but the café's own file.

use axum::Router;
use axum::http::HeaderValue;
use axum::http::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use axum::response::IntoResponse;
use axum::routing::get;
use cafe::AuthMode;

// ANCHOR: csp
/// Scripts, styles and requests from the café's own origin only: no inline
/// script, no `eval`, no other site's code, no framing (OWASP Content
/// Security Policy Cheat Sheet).
pub const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'";
// ANCHOR_END: csp

const PAGE: &str = include_str!("../web/index.html");
const SCRIPT: &str = include_str!("../web/app.js");
const STYLE: &str = include_str!("../web/app.css");

fn asset(content_type: &'static str, body: String) -> impl IntoResponse + Clone {
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CONTENT_SECURITY_POLICY_VALUE),
            ),
            (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        ],
        body,
    )
}

/// `/`, `/app.js` and `/app.css`, and with `xss_demo` the vulnerable demo
/// page. The page names the mode in a `<meta>` element, so the script knows
/// where to keep the login.
pub fn routes<S: Clone + Send + Sync + 'static>(auth: AuthMode, xss_demo: bool) -> Router<S> {
    let mode = match auth {
        AuthMode::Sessions => "sessions",
        AuthMode::Jwt => "jwt",
        AuthMode::Hybrid => "hybrid",
    };
    let page = asset("text/html; charset=utf-8", PAGE.replace("{{AUTH}}", mode));
    let script = asset("text/javascript; charset=utf-8", SCRIPT.to_owned());
    let style = asset("text/css; charset=utf-8", STYLE.to_owned());
    let router = Router::new()
        .route("/", get(move || async move { page }))
        .route("/app.js", get(move || async move { script }))
        .route("/app.css", get(move || async move { style }));
    if xss_demo {
        router.route("/xss-demo", get(deliberately_vulnerable_page))
    } else {
        router
    }
}

#[derive(serde::Deserialize)]
struct Search {
    #[serde(default)]
    q: String,
}

// ANCHOR: xss_demo
/// DELIBERATELY VULNERABLE, for the book's XSS demonstration only: echoes
/// the query into HTML without escaping, under a policy that allows inline
/// scripts, the opposite of the café's own. It exists only when the server
/// is started with `--enable-deliberately-vulnerable-xss-demo`.
async fn deliberately_vulnerable_page(
    axum::extract::Query(search): axum::extract::Query<Search>,
) -> impl IntoResponse {
    let page = format!(
        "<!doctype html><title>Search</title><p>You searched for {}</p>",
        search.q
    );
    let no_protection = HeaderValue::from_static("default-src * 'unsafe-inline'");
    (
        [(CONTENT_SECURITY_POLICY, no_protection)],
        axum::response::Html(page),
    )
}
// ANCHOR_END: xss_demo
