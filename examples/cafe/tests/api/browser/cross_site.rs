//! A single-page app on one site calling the café on another
//! (`--cross-site-origin`), in a real Chromium. The app is served from
//! `http://localhost:PORT`, the café from `http://127.0.0.1:PORT`: a site is
//! a scheme and a registrable domain, and `localhost` and `127.0.0.1` are
//! two hosts, so every call the app makes is a cross-site `fetch`, as from
//! `https://app.example` to `https://cafe.example`.

use super::Browser;
use crate::golden::check_golden;
use crate::support::{Call, Mode, spawn_app_with};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::middleware::{self, Next};
use axum::response::{Html, Response};
use cafe::cli::{ServeArgs, serve_config};
use cafe::cross_site::CrossSiteOrigins;
use cafe::users::DEMO_USERS;
use cafe_client::launch::CafeProcess;
use clap::{Args, FromArgMatches};
use cookie::{Cookie, SameSite};
use serde_json::{Value, json};
use std::process::Command;
use std::sync::{Arc, Mutex};

/// The app: one page, one function. `call` sends a request to the café
/// named in the page's query (`?api=http://127.0.0.1:PORT`) with the
/// browser's cookies (`credentials: 'include'`, which a cross-site `fetch`
/// needs to send or keep any), and answers the status, or `no answer` when
/// the browser kept the answer from the page. Tokens (`--auth jwt`, and the
/// hybrid's access token) stay in the page's memory.
const SPA: &str = r#"<!doctype html>
<meta charset="utf-8">
<title>The café, from another site</title>
<script>
// ANCHOR: call
const api = new URLSearchParams(location.search).get('api');
let accessToken = null;
window.call = async (method, path, body, contentType) => {
  const headers = {};
  if (contentType) headers['content-type'] = contentType;
  if (accessToken && path !== '/refresh') headers.authorization = `Bearer ${accessToken}`;
  try {
    const answer = await fetch(api + path, { method, headers, body, credentials: 'include' });
    window.lastBody = await answer.text();
    if (answer.ok && window.lastBody.includes('access_token')) {
      accessToken = JSON.parse(window.lastBody).access_token;
    }
    return answer.status;
  } catch (refused) {
    return 'no answer';
  }
};
// ANCHOR_END: call
</script>
"#;

const LOG_IN: &str = "call('POST', '/login', \
    JSON.stringify({ username: 'alice', password: 'wonderland-42' }), 'application/json')";

/// One request as the café received and answered it, seen by the test's
/// own layer around the café.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    /// Where the browser said it came from (`Sec-Fetch-Site`).
    site: Option<String>,
    /// The names of the cookies that came with it.
    cookies: Vec<String>,
    status: u16,
    /// Whether the answer let the page read it (`Access-Control-Allow-Origin`).
    readable: bool,
}

type Log = Arc<Mutex<Vec<Seen>>>;

async fn record(State(log): State<Log>, request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let site = request
        .headers()
        .get("sec-fetch-site")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let cookies = request
        .headers()
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .map(|cookie| cookie.name().to_owned())
        .collect();
    let response = next.run(request).await;
    let readable = response
        .headers()
        .contains_key("access-control-allow-origin");
    log.lock().unwrap().push(Seen {
        method,
        path,
        site,
        cookies,
        status: response.status().as_u16(),
        readable,
    });
    response
}

/// What the test does to the café's cookies on their way out, to show
/// what other attributes would do. The café itself only ever sets its
/// cookies as they are without the flag, or as the flag sets them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rewrite {
    /// Leave them as the café set them.
    Nothing,
    /// Back to this `SameSite` and no `Partitioned`: the café's cookies as
    /// they are without the flag (`Lax` for the session, `Strict` for the
    /// hybrid's refresh cookie), with the flag's CORS and origin check.
    SameSite(SameSite),
    /// `SameSite=None` without `Partitioned`: the advice of guides written
    /// before CHIPS.
    Unpartitioned,
}

fn rewrite_cookies(mut response: Response, rewrite: Rewrite) -> Response {
    if rewrite == Rewrite::Nothing {
        return response;
    }
    let rewritten: Vec<HeaderValue> = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|value| {
            let mut cookie = Cookie::parse(value.to_str().unwrap().to_owned()).unwrap();
            cookie.set_partitioned(None);
            if let Rewrite::SameSite(same_site) = rewrite {
                cookie.set_same_site(same_site);
            }
            HeaderValue::try_from(cookie.to_string()).unwrap()
        })
        .collect();
    let headers = response.headers_mut();
    headers.remove(SET_COOKIE);
    for value in rewritten {
        headers.append(SET_COOKIE, value);
    }
    response
}

/// A café started as `cafe serve` would be with `flags`, on a free
/// loopback port, behind the test's recorder (and rewriter).
struct Cafe {
    /// `http://127.0.0.1:PORT`.
    address: String,
    log: Log,
}

impl Cafe {
    async fn start(flags: &[String], rewrite: Rewrite) -> Cafe {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let mut words = flags.to_vec();
        words.extend(["--allowed-origin".to_owned(), address.clone()]);
        let serve = ServeArgs::augment_args(clap::Command::new("serve").no_binary_name(true));
        let matches = serve.try_get_matches_from(&words).unwrap();
        let args = ServeArgs::from_arg_matches(&matches).unwrap();
        let (config, _) = serve_config(args).await.unwrap();
        let limits = cafe::ConnectionLimits::of(&config);
        let log = Log::default();
        let app = cafe::app(config)
            .layer(middleware::map_response(move |response| async move {
                rewrite_cookies(response, rewrite)
            }))
            .layer(middleware::from_fn_with_state(log.clone(), record));
        tokio::spawn(cafe::serve_router(listener, app, limits));
        Cafe { address, log }
    }

    /// The last `method path` the café received, if any.
    fn last(&self, method: &str, path: &str) -> Option<Seen> {
        let log = self.log.lock().unwrap();
        log.iter()
            .rev()
            .find(|seen| seen.method == method && seen.path == path)
            .cloned()
    }
}

/// Serves [`SPA`] on a free loopback port; its origin as the browser
/// names it, `http://localhost:PORT`.
async fn serve_the_spa() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let router = Router::new().route("/", axum::routing::get(|| async { Html(SPA) }));
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://localhost:{port}")
}

/// Loads the app from `origin`, talking to `cafe`.
async fn open_the_spa(browser: &mut Browser, origin: &str, cafe: &Cafe) {
    open_the_spa_at(browser, origin, &cafe.address).await;
}

/// Loads the app from `origin`, talking to the café at `api`.
async fn open_the_spa_at(browser: &mut Browser, origin: &str, api: &str) {
    browser.navigate(&format!("{origin}/?api={api}")).await;
    browser.wait_for("typeof window.call === 'function'").await;
}

/// What the page saw of a request, and, when the browser kept the answer
/// from it, what the café had answered.
fn outcome(page: &Value, cafe: &Cafe, method: &str, path: &str) -> String {
    match (page, cafe.last(method, path)) {
        (Value::Number(status), _) => status.to_string(),
        (_, Some(seen)) => format!("no answer (café: {})", seen.status),
        (_, None) => "no answer (never sent)".to_owned(),
    }
}

/// Whether the browser kept a cookie called `name`, and under which key.
async fn kept(browser: &mut Browser, name: &str) -> &'static str {
    let all = browser.command("Network.getAllCookies", json!({})).await;
    let found = all["cookies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|cookie| cookie["name"] == name)
        .cloned();
    match found {
        None => "no",
        Some(cookie) if cookie.get("partitionKey").is_some() => "partitioned",
        Some(_) => "yes",
    }
}

/// One mode of the café, as the app uses it.
struct Setup {
    auth: &'static str,
    /// The cookie that carries the login, if the mode has one.
    cookie: Option<&'static str>,
    /// Its `SameSite` without the flag.
    same_site: SameSite,
    /// The request that needs the login after it: `/me` with whatever
    /// credential the mode has, or the hybrid's `/refresh`.
    next: (&'static str, &'static str),
}

const SESSIONS: Setup = Setup {
    auth: "sessions",
    cookie: Some("__Host-session"),
    same_site: SameSite::Lax,
    next: ("GET", "/me"),
};
const HYBRID: Setup = Setup {
    auth: "hybrid",
    cookie: Some("__Secure-cafe-refresh"),
    same_site: SameSite::Strict,
    next: ("POST", "/refresh"),
};
const JWT: Setup = Setup {
    auth: "jwt",
    cookie: None,
    same_site: SameSite::Lax,
    next: ("GET", "/me"),
};

/// One row of the table: alice logs in through the app, and the app sends
/// the request that needs the login.
struct Row {
    login: String,
    kept: &'static str,
    next: String,
    cookie_came: &'static str,
}

async fn try_one(setup: &Setup, flag: bool, rewrite: Rewrite, third_party: bool) -> Option<Row> {
    let spa = serve_the_spa().await;
    let mut flags = vec!["--auth".to_owned(), setup.auth.to_owned()];
    if flag {
        flags.extend(["--cross-site-origin".to_owned(), spa.clone()]);
    }
    let cafe = Cafe::start(&flags, rewrite).await;
    let mut browser = Browser::start_with_third_party_cookies(third_party).await?;
    open_the_spa(&mut browser, &spa, &cafe).await;

    let login = browser.eval(LOG_IN).await;
    let login = outcome(&login, &cafe, "POST", "/login");
    let kept = match setup.cookie {
        Some(name) => kept(&mut browser, name).await,
        None => "-",
    };
    let (method, path) = setup.next;
    let next = browser.eval(&format!("call('{method}', '{path}')")).await;
    let next = outcome(&next, &cafe, method, path);
    let seen = cafe
        .last(method, path)
        .expect("the request reached the café");
    let cookie_came = match setup.cookie {
        Some(name) if seen.cookies.iter().any(|came| came == name) => "yes",
        Some(_) => "no",
        None => "-",
    };
    Some(Row {
        login,
        kept,
        next: format!("{method} {path} {next}"),
        cookie_came,
    })
}

/// The whole table, per mode: without the flag, nothing the app sends is
/// let through; with it, the login works everywhere, and what follows
/// depends on the cookie's attributes and the user's third-party-cookie
/// setting; the bearer token needs no cookie at all.
#[tokio::test]
async fn an_app_on_another_site_needs_the_flag_and_a_partitioned_cookie() {
    if std::env::var_os("SKIP_BROWSER_TESTS").is_some() {
        return;
    }
    let mut table = String::from(
        "# the app at http://localhost:PORT, the café at http://127.0.0.1:PORT: two sites\n\
         mode      flag  cookie as the browser got it  third-party  login                   \
         cookie kept  then\n",
    );
    let mut footnotes = String::new();
    for setup in [SESSIONS, HYBRID, JWT] {
        let mut cases = vec![(false, Rewrite::Nothing, true)];
        if setup.cookie.is_some() {
            cases.extend([
                (true, Rewrite::SameSite(setup.same_site), true),
                (true, Rewrite::Unpartitioned, true),
                (true, Rewrite::Unpartitioned, false),
                (true, Rewrite::Nothing, true),
                (true, Rewrite::Nothing, false),
            ]);
        } else {
            cases.push((true, Rewrite::Nothing, false));
        }
        for (flag, rewrite, third_party) in cases {
            let Some(row) = try_one(&setup, flag, rewrite, third_party).await else {
                return;
            };
            let cookie = match (setup.cookie, flag, rewrite) {
                (None, _, _) => "none (bearer token)".to_owned(),
                (Some(_), false, _) => "none (no login)".to_owned(),
                (Some(_), true, Rewrite::SameSite(same_site)) => {
                    format!("SameSite={same_site} (1)")
                }
                (Some(_), true, Rewrite::Unpartitioned) => "SameSite=None (2)".to_owned(),
                (Some(_), true, Rewrite::Nothing) => "SameSite=None; Partitioned".to_owned(),
            };
            let third_party = if third_party { "allowed" } else { "blocked" };
            let flag = if flag { "on" } else { "off" };
            let sent = format!("(cookie sent: {})", row.cookie_came);
            table.push_str(&format!(
                "{:<9} {flag:<5} {cookie:<29} {third_party:<12} {:<23} {:<12} {} {sent}\n",
                setup.auth, row.login, row.kept, row.next
            ));
            let works = row.next.ends_with(" 200");
            let expected = match (setup.cookie, flag, rewrite, third_party) {
                (_, "off", _, _) => false,
                (None, _, _, _) => true,
                (_, _, Rewrite::Nothing, _) => true,
                (_, _, Rewrite::Unpartitioned, "allowed") => true,
                _ => false,
            };
            assert_eq!(works, expected, "{}: {table}", setup.auth);
            if flag == "on" {
                assert_eq!(row.login, "200", "{}: {table}", setup.auth);
            }
        }
    }
    footnotes.push_str(
        "\n\"no answer\": the browser kept the answer from the page (the café's, in brackets)\n\
         (1) the café's own attribute, as without the flag, put back by the test\n\
         (2) Partitioned taken off by the test\n",
    );
    table.push_str(&footnotes);
    check_golden("browser/cross-site.txt", &table);
}

/// With the flag on, alice logged in through the listed app, a page the
/// operator did not list (at another port of the same host: the same
/// site as the app, so it shares the app's cookie partition, and the
/// browser attaches alice's cookie to what it sends) tries to act as
/// her. CORS answers it nothing it may read, and the origin check refuses
/// every write that reaches the café, cookie and all, with 403.
#[tokio::test]
async fn a_page_not_listed_is_refused_though_the_browser_sends_the_cookie() {
    if std::env::var_os("SKIP_BROWSER_TESTS").is_some() {
        return;
    }
    let mut transcript = String::from(
        "# alice logged in through the listed app at http://localhost:PORT; a page at\n\
         # http://localhost:OTHER-PORT, not listed (the same site, so the same cookie\n\
         # partition), tries in the same browser, third-party cookies blocked:\n\
         mode      request                              page sees  cookie came  café answered\n",
    );
    for setup in [SESSIONS, HYBRID] {
        let spa = serve_the_spa().await;
        let stranger = serve_the_spa().await;
        let flags = [
            "--auth".to_owned(),
            setup.auth.to_owned(),
            "--cross-site-origin".to_owned(),
            spa.clone(),
        ];
        let cafe = Cafe::start(&flags, Rewrite::Nothing).await;
        let Some(mut browser) = Browser::start_with_third_party_cookies(false).await else {
            return;
        };
        open_the_spa(&mut browser, &spa, &cafe).await;
        assert_eq!(browser.eval(LOG_IN).await, json!(200));

        browser.open_tab().await;
        open_the_spa(&mut browser, &stranger, &cafe).await;
        let order = "JSON.stringify({ item: 'forty espressos' })";
        let mut attempts = vec![
            (
                "POST /orders, application/json",
                "POST",
                "/orders",
                format!("call('POST', '/orders', {order}, 'application/json')"),
            ),
            (
                "POST /orders, text/plain",
                "POST",
                "/orders",
                format!("call('POST', '/orders', {order}, 'text/plain')"),
            ),
            (
                "POST /logout",
                "POST",
                "/logout",
                "call('POST', '/logout')".to_owned(),
            ),
        ];
        if setup.auth == "hybrid" {
            attempts.push((
                "POST /refresh",
                "POST",
                "/refresh",
                "call('POST', '/refresh')".to_owned(),
            ));
        }
        for (label, method, path, script) in attempts {
            let before = cafe.log.lock().unwrap().len();
            let page = browser.eval(&script).await;
            assert_eq!(page, json!("no answer"), "{label}");
            let reached: Vec<Seen> = cafe.log.lock().unwrap()[before..].to_vec();
            assert!(reached.iter().all(|seen| !seen.readable), "{label}");
            let write = reached
                .iter()
                .find(|seen| seen.method == method && seen.path == path);
            let (came, answered) = match write {
                Some(seen) => {
                    // Wherever alice's cookie goes (the session to every
                    // path, the hybrid's refresh cookie to /refresh and
                    // /logout only), it came: only the origin check stood
                    // between the request and her account.
                    assert_eq!(seen.status, 403, "{label}");
                    let name = setup.cookie.unwrap();
                    let came = seen.cookies.iter().any(|came| came == name);
                    let goes_there = setup.auth == "sessions" || path != "/orders";
                    assert_eq!(came, goes_there, "{label}: {seen:?}");
                    let came = if came { "yes" } else { "no (path)" };
                    (came, "403 cross-site request refused".to_owned())
                }
                None => {
                    let preflight = reached
                        .iter()
                        .find(|seen| seen.method == "OPTIONS")
                        .expect("a preflight");
                    (
                        "never sent",
                        format!(
                            "its preflight only: {}, no Access-Control-Allow-Origin",
                            preflight.status
                        ),
                    )
                }
            };
            transcript.push_str(&format!(
                "{:<9} {label:<36} no answer  {came:<12} {answered}\n",
                setup.auth
            ));
        }

        // Back in the app: alice is still logged in, and ordered nothing.
        browser.use_tab(0);
        let me = browser.eval("call('GET', '/me')").await;
        let orders = browser
            .eval("call('GET', '/orders').then(() => window.lastBody)")
            .await;
        assert_eq!(me, json!(200), "{}", setup.auth);
        assert_eq!(orders, json!("[]"), "{}", setup.auth);
        transcript.push_str(&format!(
            "{:<9} then the app: GET /me {me}, GET /orders {}\n",
            setup.auth,
            orders.as_str().unwrap()
        ));
    }
    transcript.push_str(
        "\n\"no (path)\": the hybrid's refresh cookie goes to /refresh and /logout only\n",
    );
    check_golden("browser/cross-site-forgery.txt", &transcript);
}

/// The same defence without a browser, header by header: with
/// `--cross-site-origin https://app.example`, the café's cookies are
/// `SameSite=None; Partitioned`, so a browser may attach them to a request
/// from any page in the app's partition; the origin check refuses every
/// write whose `Origin` is not the listed one, whatever cookie or token it
/// carries, and CORS answers no other origin.
#[tokio::test]
async fn with_samesite_none_cookies_the_origin_check_still_refuses_other_sites() {
    let app_origin = "https://app.example";
    for mode in [Mode::Sessions, Mode::Hybrid] {
        let mut config = mode.config();
        config.cross_site_origins = CrossSiteOrigins::parse([app_origin]).unwrap();
        let app = spawn_app_with(mode, config).await;
        let mut alice = app.visitor();
        let login = alice.log_in("alice", "wonderland-42").await;
        assert_eq!(login.status, 200);
        let cookies: Vec<&str> = login.set_cookies().collect();
        assert!(!cookies.is_empty(), "{mode:?}");
        for cookie in &cookies {
            assert!(
                cookie.contains("SameSite=None")
                    && cookie.contains("Partitioned")
                    && cookie.contains("Secure")
                    && cookie.contains("HttpOnly"),
                "{mode:?}: {cookie}"
            );
        }
        // The cookie a browser would attach to a request from any page in
        // the app's partition: the session, or the hybrid's refresh token.
        let name = match mode {
            Mode::Sessions => "__Host-session",
            _ => "__Secure-cafe-refresh",
        };
        assert!(
            cookies[0].starts_with(&format!("{name}=")),
            "{}",
            cookies[0]
        );
        let value = login.cookie_value(name).unwrap();
        let stranger_with_the_cookie = app.visitor();

        let from = |origin: &str, call: Call| {
            call.header("origin", origin)
                .header("sec-fetch-site", "cross-site")
        };
        let order = json!({ "item": "a latte" });
        // The listed app may write, and read the answer.
        let ordered = alice
            .send(&from(app_origin, Call::post("/orders").json(&order)))
            .await;
        assert_eq!(ordered.status, 201, "{mode:?}: {}", ordered.text);
        assert_eq!(
            ordered.header("access-control-allow-origin"),
            Some(app_origin)
        );
        assert_eq!(
            ordered.header("access-control-allow-credentials"),
            Some("true")
        );
        assert!(
            ordered.header("vary").unwrap().contains("origin"),
            "{mode:?}"
        );

        // Every other origin: 403 before anything is looked at, as JSON
        // or as a form would send it, with the cookie attached.
        for stranger in [
            "https://evil.example",
            "http://app.example",
            "https://app.example:8443",
            "null",
        ] {
            for call in [
                Call::post("/orders").json(&order),
                Call::post("/orders").body("text/plain", &order.to_string()),
                Call::post("/logout"),
                Call::post("/refresh"),
            ] {
                let call = call.cookie(name, &value);
                let answer = stranger_with_the_cookie
                    .send(&from(stranger, call.clone()))
                    .await;
                assert_eq!(answer.status, 403, "{mode:?} {stranger} {}", call.path);
                assert_eq!(answer.header("access-control-allow-origin"), None);
                let vary = answer.header("vary").unwrap_or_default();
                assert!(vary.contains("origin"), "{mode:?} {stranger}: {vary}");
                // Without fetch metadata (an older browser), the same.
                let bare = stranger_with_the_cookie
                    .send(&call.clone().header("origin", stranger))
                    .await;
                assert_eq!(bare.status, 403, "{mode:?} {stranger} {}", call.path);
            }
            // A GET goes through with the cookie, as a browser that
            // ignores `Partitioned` would send it: answered, and the
            // page may read none of it.
            let read = stranger_with_the_cookie
                .send(&from(stranger, Call::get("/me").cookie(name, &value)))
                .await;
            if mode == Mode::Sessions {
                assert_eq!(read.status, 200, "{stranger}: {}", read.text);
            }
            assert_eq!(read.header("access-control-allow-origin"), None);
            assert_eq!(
                read.header("cross-origin-resource-policy"),
                Some("same-origin")
            );
            // Its preflight is answered, but allows it nothing.
            let preflight = alice
                .send(
                    &Call::new(cafe_client::Method::OPTIONS, "/orders")
                        .header("origin", stranger)
                        .header("access-control-request-method", "POST")
                        .header("access-control-request-headers", "content-type"),
                )
                .await;
            assert_eq!(preflight.header("access-control-allow-origin"), None);
            assert_eq!(preflight.header("access-control-allow-credentials"), None);
        }
        // The listed app's preflight is allowed, for ten minutes.
        let preflight = alice
            .send(
                &Call::new(cafe_client::Method::OPTIONS, "/orders")
                    .header("origin", app_origin)
                    .header("access-control-request-method", "POST")
                    .header(
                        "access-control-request-headers",
                        "content-type, authorization",
                    ),
            )
            .await;
        assert_eq!(preflight.status, 200);
        assert_eq!(
            preflight.header("access-control-allow-origin"),
            Some(app_origin)
        );
        assert_eq!(preflight.header("access-control-max-age"), Some("600"));
        let allowed = preflight.header("access-control-allow-headers").unwrap();
        assert!(allowed.contains("content-type") && allowed.contains("authorization"));

        // alice ordered once, from the app.
        let orders = alice.get("/orders").await;
        assert_eq!(orders.body.as_array().map(Vec::len), Some(1), "{mode:?}");

        // Error answers vary by Origin too, and the listed app may read them.
        let missing = alice
            .send(&from(app_origin, Call::get("/nonexistent")))
            .await;
        assert_eq!(missing.status, 404);
        assert_eq!(
            missing.header("access-control-allow-origin"),
            Some(app_origin)
        );
        assert!(missing.header("vary").unwrap().contains("origin"));

        // Every cookie the café sets from here on has the same cross-site
        // form as the login's: rotated, re-issued and cleared alike.
        let cross_site_form = |answer: &crate::support::Reply, what: &str| {
            let cookies: Vec<&str> = answer.set_cookies().collect();
            assert!(!cookies.is_empty(), "{mode:?} {what}: {}", answer.text);
            for cookie in cookies {
                for attribute in ["SameSite=None", "Partitioned", "Secure", "HttpOnly"] {
                    assert!(cookie.contains(attribute), "{mode:?} {what}: {cookie}");
                }
            }
        };
        let mut value = value;
        if mode == Mode::Hybrid {
            let rotated = stranger_with_the_cookie
                .send(&from(
                    app_origin,
                    Call::post("/refresh").cookie(name, &value),
                ))
                .await;
            assert_eq!(rotated.status, 200, "{}", rotated.text);
            cross_site_form(&rotated, "refresh");
            value = rotated.cookie_value(name).unwrap();
            let refused = stranger_with_the_cookie
                .send(&from(
                    app_origin,
                    Call::post("/refresh").cookie(name, "not-a-refresh-token"),
                ))
                .await;
            assert_eq!(refused.status, 401, "{}", refused.text);
            cross_site_form(&refused, "refused refresh");
        }
        let change = json!({
            "current_password": "wonderland-42",
            "new_password": "through-the-looking-glass",
        });
        let changed = alice
            .send(&from(
                app_origin,
                Call::post("/me/password")
                    .json(&change)
                    .cookie(name, &value),
            ))
            .await;
        assert_eq!(changed.status, 200, "{mode:?}: {}", changed.text);
        cross_site_form(&changed, "password change");
        let value = changed.cookie_value(name).unwrap();
        let logout = stranger_with_the_cookie
            .send(&from(
                app_origin,
                Call::post("/logout").cookie(name, &value),
            ))
            .await;
        assert_eq!(logout.status, 204, "{mode:?}: {}", logout.text);
        cross_site_form(&logout, "logout");
    }
}

/// With the flag, the café's cookies may come from any site, and a browser
/// that honours `SameSite=None` but sends neither `Origin` nor
/// `Sec-Fetch-Site` (Firefox 60 to 69 on a body-less `POST`) would give
/// the origin check nothing to look at. So a write that carries a café
/// cookie and neither header is refused 403, as the security review's curl
/// showed it was not; a client with no café cookie (curl or a phone app
/// with a bearer token) writes as before, and without the flag so does one
/// with the cookie.
#[tokio::test]
async fn with_the_flag_a_write_with_the_cookie_and_neither_header_is_refused() {
    // `curl -X POST $CAFE/logout -H "Cookie: …" -H 'Content-Type:
    // application/x-www-form-urlencoded' -H 'Content-Length: 0'`.
    let body_less = |path: &str, name: &str, value: &str| {
        Call::post(path)
            .cookie(name, value)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("content-length", "0")
    };
    for mode in [Mode::Sessions, Mode::Hybrid] {
        let name = match mode {
            Mode::Sessions => "__Host-session",
            _ => "__Secure-cafe-refresh",
        };
        for flag in [true, false] {
            let mut config = mode.config();
            if flag {
                config.cross_site_origins =
                    CrossSiteOrigins::parse(["https://app.example"]).unwrap();
            }
            let app = spawn_app_with(mode, config).await;
            let mut alice = app.visitor();
            let login = alice.log_in("alice", "wonderland-42").await;
            let value = login.cookie_value(name).unwrap();
            let curl = app.visitor();
            let refresh = curl.send(&body_less("/refresh", name, &value)).await;
            let logout = curl.send(&body_less("/logout", name, &value)).await;
            if flag {
                assert_eq!(refresh.status, 403, "{mode:?}: {}", refresh.text);
                assert_eq!(logout.status, 403, "{mode:?}: {}", logout.text);
                assert!(logout.text.contains("Origin"), "{mode:?}: {}", logout.text);
                assert_eq!(alice.get("/me").await.status, 200, "{mode:?}");
                // No café cookie: the bearer token (the hybrid) or no
                // credential at all (a login) passes with neither header.
                if mode == Mode::Hybrid {
                    let order = json!({ "item": "a flat white" });
                    let ordered = alice.post("/orders", order).await;
                    assert_eq!(ordered.status, 201, "{}", ordered.text);
                }
                let mut bob = app.visitor();
                assert_eq!(bob.log_in("admin", "admin-secret-42").await.status, 200);
            } else {
                assert_ne!(refresh.status, 403, "{mode:?}: {}", refresh.text);
                assert_eq!(logout.status, 204, "{mode:?}: {}", logout.text);
            }
        }
    }
}

/// Only a real preflight (`OPTIONS` with `Origin` and
/// `Access-Control-Request-Method`, Fetch standard, "CORS-preflight
/// request") gets CORS's answer; any other `OPTIONS` is answered as without
/// the flag: 404 where there is no such endpoint, 405 where there is.
#[tokio::test]
async fn with_the_flag_only_a_real_preflight_gets_the_preflight_answer() {
    let app_origin = "https://app.example";
    let options = |path: &str| Call::new(cafe_client::Method::OPTIONS, path);
    for flag in [false, true] {
        let mut config = Mode::Sessions.config();
        if flag {
            config.cross_site_origins = CrossSiteOrigins::parse([app_origin]).unwrap();
        }
        let app = spawn_app_with(Mode::Sessions, config).await;
        let visitor = app.visitor();
        for (call, status) in [
            (options("/nonexistent"), 404),
            (options("/login"), 405),
            (options("/login").header("origin", app_origin), 405),
            (
                options("/login").header("access-control-request-method", "POST"),
                405,
            ),
        ] {
            let answer = visitor.send(&call).await;
            let what = format!("flag {flag}: {call:?}");
            assert_eq!(answer.status, status, "{what}: {}", answer.text);
            assert_eq!(answer.header("access-control-allow-origin"), None, "{what}");
            assert_eq!(answer.header("access-control-max-age"), None, "{what}");
        }
        let preflight = options("/login")
            .header("origin", app_origin)
            .header("access-control-request-method", "POST");
        let answer = visitor.send(&preflight).await;
        let granted = answer.header("access-control-allow-origin");
        if flag {
            assert_eq!(answer.status, 200, "{}", answer.text);
            assert_eq!(granted, Some(app_origin));
        } else {
            assert_eq!(answer.status, 405, "{}", answer.text);
            assert_eq!(granted, None);
        }
    }
}

/// Without the flag nothing changes: no CORS header to anyone, cookies as
/// the chapters show them.
#[tokio::test]
async fn without_the_flag_the_cookies_stay_same_site_and_no_cors_header_is_sent() {
    for mode in [Mode::Sessions, Mode::Hybrid] {
        let app = spawn_app_with(mode, mode.config()).await;
        let mut alice = app.visitor();
        let login = alice.log_in("alice", "wonderland-42").await;
        for cookie in login.set_cookies() {
            assert!(!cookie.contains("SameSite=None"), "{mode:?}: {cookie}");
            assert!(!cookie.contains("Partitioned"), "{mode:?}: {cookie}");
        }
        let preflight = alice
            .send(
                &Call::new(cafe_client::Method::OPTIONS, "/orders")
                    .header("origin", "http://localhost:5173")
                    .header("access-control-request-method", "POST"),
            )
            .await;
        assert!(
            preflight
                .headers
                .keys()
                .all(|name| !name.as_str().starts_with("access-control-")),
            "{mode:?}"
        );
    }
}

/// Why the book cannot show the subdomain case (the app at
/// `app.example.com`, the API at `api.example.com`: one site) on loopback:
/// Chromium takes `app.localhost` and `api.localhost`, which it resolves to
/// this machine, for two sites, and says so in `Sec-Fetch-Site`.
#[tokio::test]
async fn subdomains_of_localhost_are_two_sites_to_chromium() {
    let Some(mut browser) = Browser::start_with_third_party_cookies(true).await else {
        return;
    };
    let app = serve_the_spa().await.replace("localhost", "app.localhost");
    let flags = [
        "--auth".to_owned(),
        "sessions".to_owned(),
        "--cross-site-origin".to_owned(),
        app.clone(),
    ];
    let cafe = Cafe::start(&flags, Rewrite::Nothing).await;
    let api = cafe.address.replace("127.0.0.1", "api.localhost");
    open_the_spa_at(&mut browser, &app, &api).await;
    assert_eq!(browser.eval(LOG_IN).await, json!(200));
    let login = cafe.last("POST", "/login").unwrap();
    assert_eq!(login.site.as_deref(), Some("cross-site"));
}

/// A body that comes too slowly gets `408 Request Timeout` from
/// `cafe::serve`, and with the flag that answer, like every other, carries
/// CORS for the listed app (so its script sees a 408, not a network error),
/// `Vary: Origin` and the security headers.
#[tokio::test]
async fn the_408_for_a_slow_body_carries_cors_and_the_security_headers() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let second = std::time::Duration::from_secs(1);
    let mut config = cafe::Config {
        connection_timeouts: cafe::ConnectionTimeouts {
            request_head: second,
            request_body: second,
            response_write: second,
        },
        ..cafe::Config::new(cafe::AuthMode::Sessions)
    };
    config.cross_site_origins = CrossSiteOrigins::parse(["https://app.example"]).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(cafe::serve(listener, config));
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let half = "POST /login HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\n\
        Sec-Fetch-Site: cross-site\r\nContent-Type: application/json\r\n\
        Content-Length: 100\r\n\r\n{\"username\":";
    stream.write_all(half.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    let bound = 5 * second;
    tokio::time::timeout(bound, stream.read_to_end(&mut received))
        .await
        .expect("closed within the body timeout")
        .unwrap();
    let response = String::from_utf8_lossy(&received).to_ascii_lowercase();
    assert!(response.starts_with("http/1.1 408 "), "{response}");
    for header in [
        "access-control-allow-origin: https://app.example",
        "access-control-allow-credentials: true",
        "vary: origin",
        "x-content-type-options: nosniff",
        "cache-control: no-store",
        "cross-origin-resource-policy: same-origin",
        "content-security-policy: default-src 'none'",
        "connection: close",
    ] {
        assert!(response.contains(header), "{header}: {response}");
    }
}

/// The page's own commands, run as a reader runs them: the real `cafe
/// serve` with the flag, whose start lines name the listed origin, then,
/// with the real curl, the preflight a browser sends before the app's JSON
/// login. The café is at `127.0.0.1`: an app on `localhost:5173` calling
/// `localhost:8080` would be same-site. The printed command and the one
/// run are built from the same words; only the port differs (8080 on the
/// page, a free one here).
#[test]
fn the_pages_preflight_with_curl_is_approved_for_the_listed_origin() {
    const APP: &str = "http://localhost:5173";
    let serve = ["serve", "--auth", "sessions", "--cross-site-origin", APP];
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_cafe"));
    let args = [&serve[..], &["--addr", "127.0.0.1:0"]].concat();
    let mut cafe = CafeProcess::start(binary, &args, "listening on http://").unwrap();
    let mut start = vec!["listening on http://127.0.0.1:8080".to_owned()];
    while start.last().is_none_or(|line| line != "demo users:") {
        start.push(cafe.next_line().expect("the café prints its start lines"));
    }
    for _ in DEMO_USERS {
        start.push(cafe.next_line().expect("a line per demo user"));
    }
    cafe.drain_output();
    let named = format!("cross-site origins (CORS with credentials): {APP}");
    assert!(start.contains(&named), "{start:?}");

    let origin = format!("origin: {APP}");
    let headers = [
        origin.as_str(),
        "access-control-request-method: POST",
        "access-control-request-headers: content-type",
    ];
    let curl = |host: &str| -> Vec<String> {
        let mut words = ["-i", "-X", "OPTIONS"].map(str::to_owned).to_vec();
        words.push(format!("{host}/login"));
        for header in headers {
            words.extend(["-H".to_owned(), header.to_owned()]);
        }
        words
    };
    let output = Command::new("curl")
        .args(curl(&cafe.address))
        .output()
        .expect("curl is installed (the book's curl examples need it)");
    assert!(output.status.success(), "{output:?}");
    let answer = String::from_utf8(output.stdout)
        .unwrap()
        .replace("\r\n", "\n");
    // What every transcript leaves out (the date, the security headers).
    let left_out = crate::transcripts::LEFT_OUT;
    let shown: Vec<&str> = answer
        .lines()
        .filter(|line| {
            let name = line.split(':').next().unwrap_or_default();
            !left_out.contains(&name.to_ascii_lowercase().as_str())
        })
        .collect();
    assert!(shown[0].starts_with("HTTP/1.1 200 "), "{answer}");
    for granted in [
        format!("access-control-allow-origin: {APP}"),
        "access-control-allow-credentials: true".to_owned(),
    ] {
        assert!(shown.contains(&granted.as_str()), "{granted}: {answer}");
    }

    // As the page prints it: the café at the default port, a header a line.
    let mut printed = String::from("$ curl");
    for word in curl("127.0.0.1:8080") {
        if word == "-H" {
            printed.push_str(" \\\n    -H");
        } else if word.contains(' ') {
            printed.push_str(&format!(" '{word}'"));
        } else {
            printed.push_str(&format!(" {word}"));
        }
    }
    let transcript = format!(
        "$ cargo run -p cafe -- {}\n{}\n\n\
            # From another terminal, the preflight before the app's login:\n\
            {printed}\n{}\n",
        serve.join(" "),
        start.join("\n"),
        shown.join("\n").trim_end(),
    );
    check_golden("browser/cross-site-preflight.txt", &transcript);
}
