//! The web client in a real headless Chromium, driven over the Chrome
//! DevTools Protocol. Chromium must be installed (Debian's `chromium`; CI
//! installs it); set `SKIP_BROWSER_TESTS=1` to skip these tests on purpose.

use crate::support::{Mode, TestApp, spawn_app};
use serde_json::{Value, json};
use std::time::Duration;

mod cross_site;
mod devtools;
mod logins;
pub use devtools::Browser;

/// A café in `mode`, and a browser with alice logged in through its page.
async fn alice_in_a_browser(mode: Mode) -> Option<(Browser, TestApp)> {
    let mut browser = Browser::start().await?;
    let app = spawn_app(mode).await;
    browser.open(&app).await;
    log_in_through_the_page(&mut browser).await;
    Some((browser, app))
}

pub(crate) async fn log_in_through_the_page(browser: &mut Browser) {
    browser
        .eval(
            "document.querySelector('#login [name=password]').value = 'wonderland-42'; \
             document.getElementById('login').requestSubmit()",
        )
        .await;
    browser
        .wait_for("document.getElementById('who').textContent === 'alice'")
        .await;
}

#[tokio::test]
async fn the_page_logs_in_orders_and_logs_out_in_every_mode() {
    for mode in [Mode::Sessions, Mode::Jwt, Mode::Hybrid] {
        let Some(mut browser) = Browser::start().await else {
            return;
        };
        let app = spawn_app(mode).await;
        browser.open(&app).await;
        browser
            .wait_for("!document.getElementById('login').hidden")
            .await;
        log_in_through_the_page(&mut browser).await;

        browser
            .eval("document.getElementById('order').requestSubmit()")
            .await;
        browser
            .wait_for("document.querySelectorAll('#orders li').length === 1")
            .await;
        let order = browser
            .eval("document.querySelector('#orders li').textContent")
            .await;
        assert_eq!(order, "#1 flat white", "{mode:?}");
        if std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
            browser
                .screenshot(&format!("{mode:?}").to_lowercase())
                .await;
        }

        // Where the login lives, as each mode's chapter says.
        let stored = browser.eval("localStorage.getItem('cafe-tokens')").await;
        let readable_cookies = browser.eval("document.cookie").await;
        assert_eq!(readable_cookies, "", "{mode:?}: HttpOnly cookies only");
        match mode {
            Mode::Jwt => assert!(stored.as_str().unwrap().contains("refresh"), "{mode:?}"),
            _ => assert_eq!(stored, Value::Null, "{mode:?}: nothing in localStorage"),
        }

        browser
            .eval("document.getElementById('logout').click()")
            .await;
        browser
            .wait_for("!document.getElementById('login').hidden")
            .await;
        assert_eq!(
            browser.eval("localStorage.getItem('cafe-tokens')").await,
            Value::Null
        );
    }
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_once_for_ten_requests_and_the_user_sees_no_error() {
    for mode in [Mode::Jwt, Mode::Hybrid] {
        let Some((mut browser, app)) = alice_in_a_browser(mode).await else {
            return;
        };

        // The access token expires while the page is open...
        app.wait(Duration::from_secs(16 * 60));
        app.probe.take_calls();
        // ...and ten requests meet the 401 at once.
        let statuses = browser
            .eval(
                "Promise.all(Array.from({ length: 10 }, () => window.cafe.api('/me')))\
                 .then((answers) => answers.map((answer) => answer.status))",
            )
            .await;
        assert_eq!(statuses, json!(vec![200; 10]), "{mode:?}");
        let rotations = app
            .probe
            .take_calls()
            .into_iter()
            .filter(|call| *call == "families.rotate")
            .count();
        assert_eq!(
            rotations, 1,
            "{mode:?}: exactly one /refresh reached the server"
        );
    }
}

#[tokio::test]
async fn the_page_is_served_under_a_strict_content_security_policy() {
    let app = spawn_app(Mode::Hybrid).await;
    let page = app.visitor().get("/").await;
    assert_eq!(page.status, 200);
    let policy = page.header("content-security-policy").unwrap();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(
            policy.contains(directive),
            "{directive} missing from {policy}"
        );
    }
    assert!(!policy.contains("unsafe-inline") && !policy.contains("unsafe-eval"));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert!(
        page.text
            .contains(r#"<meta name="cafe-auth" content="hybrid">"#)
    );
    // No inline script for the policy to have to allow.
    assert!(
        !page.text.contains("<script>") && !page.text.contains(" on"),
        "{}",
        page.text
    );
    let script = app.visitor().get("/app.js").await;
    assert_eq!(
        script.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
}

fn rotations(app: &TestApp) -> usize {
    app.probe
        .take_calls()
        .into_iter()
        .filter(|call| *call == "families.rotate")
        .count()
}

/// Two tabs of one browser, both meeting an expired token at once: the
/// Web Lock lets one refresh at a time, so neither presents a refresh token
/// the other has already used, and nobody is logged out for "reuse".
#[tokio::test]
async fn two_tabs_refreshing_at_once_never_look_like_theft() {
    for mode in [Mode::Jwt, Mode::Hybrid] {
        let Some((mut browser, app)) = alice_in_a_browser(mode).await else {
            return;
        };
        let second = browser.open_tab().await;
        browser.open(&app).await;
        browser
            .wait_for("document.getElementById('who').textContent === 'alice'")
            .await;

        app.wait(Duration::from_secs(16 * 60));
        app.probe.take_calls();
        // Both tabs start their requests before either has an answer.
        let fire = "window.pending = Promise.all(\
                    Array.from({ length: 5 }, () => window.cafe.api('/me'))\
                    ).then((answers) => answers.map((answer) => answer.status)); true";
        browser.use_tab(0);
        browser.eval(fire).await;
        browser.use_tab(second);
        browser.eval(fire).await;
        for tab in [0, second] {
            browser.use_tab(tab);
            assert_eq!(
                browser.eval("window.pending").await,
                json!(vec![200; 5]),
                "{mode:?}"
            );
        }
        // Still logged in, in both tabs, after the dust settles.
        for tab in [0, second] {
            browser.use_tab(tab);
            let status = browser
                .eval("window.cafe.api('/me').then((a) => a.status)")
                .await;
            assert_eq!(status, 200, "{mode:?}, tab {tab}");
        }
        let refreshed = rotations(&app);
        match mode {
            // One tab refreshed; the other found the new tokens in storage.
            Mode::Jwt => assert_eq!(refreshed, 1),
            // Each tab keeps its access token in its own memory, so each
            // refreshes, one after the other, each with the newest cookie.
            _ => assert_eq!(refreshed, 2),
        }
    }
}

/// How many cookies the browser keeps, HttpOnly ones included.
async fn cookies_kept(browser: &mut Browser) -> usize {
    let all = browser.command("Network.getAllCookies", json!({})).await;
    all["cookies"].as_array().map_or(0, Vec::len)
}

/// Logout's `Clear-Site-Data` makes the browser forget what it kept for the
/// site, in every mode: cookies (HttpOnly ones too, read here through the
/// DevTools protocol, which sees them) and storage, including what the
/// page's own logout code would never touch.
#[tokio::test]
async fn logout_clears_the_cookies_and_storage_the_browser_kept() {
    for mode in [Mode::Sessions, Mode::Jwt, Mode::Hybrid] {
        let Some((mut browser, _app)) = alice_in_a_browser(mode).await else {
            return;
        };
        browser
            .eval(
                "localStorage.setItem('left-behind', 'x'); \
                 document.cookie = 'left-behind=x; path=/'; true",
            )
            .await;
        let before = cookies_kept(&mut browser).await;
        assert!(before > 0, "{mode:?}: cookies before logout");
        browser
            .eval("document.getElementById('logout').click()")
            .await;
        browser
            .wait_for("!document.getElementById('login').hidden && localStorage.length === 0")
            .await;
        assert_eq!(
            cookies_kept(&mut browser).await,
            0,
            "{mode:?}: every cookie forgotten"
        );
    }
}

/// A page on another origin tries to order on alice's behalf, with a form
/// and with `fetch`: no order is placed in any mode.
#[tokio::test]
async fn a_page_from_another_origin_cannot_order_for_alice() {
    for mode in [Mode::Sessions, Mode::Jwt, Mode::Hybrid] {
        let Some((mut browser, app)) = alice_in_a_browser(mode).await else {
            return;
        };
        let cafe = app.address.replace("127.0.0.1", "localhost");

        // The attacker's site: another origin, and another site too
        // (127.0.0.1 is not localhost), serving a page of its own.
        let evil = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let evil_address = format!("http://{}", evil.local_addr().unwrap());
        let page = format!(
            "<!doctype html><form id=f method=post action='{cafe}/orders' enctype='text/plain'>\
             <input name='{{\"item\":\"forty espressos\",\"x\":\"' value='\"}}'></form>"
        );
        let router = axum::Router::new().route(
            "/",
            axum::routing::get(move || async move { axum::response::Html(page) }),
        );
        tokio::spawn(async move { axum::serve(evil, router).await });

        browser.open_tab().await;
        browser
            .command(
                "Page.navigate",
                json!({ "url": format!("{evil_address}/") }),
            )
            .await;
        browser.wait_for("document.getElementById('f')").await;
        let by_fetch = browser
            .eval(&format!(
                "fetch('{cafe}/orders', {{ method: 'POST', credentials: 'include', \
                 headers: {{ 'content-type': 'text/plain' }}, body: '{{\"item\":\"a latte\"}}' }})\
                 .then((answer) => answer.status, () => 'blocked')"
            ))
            .await;
        // The café answers without the CORS headers that would let the
        // attacker's script read it: the fetch fails as far as the page can
        // tell, whatever the café did with it.
        assert_eq!(by_fetch, json!("blocked"), "{mode:?}");
        browser
            .eval("document.getElementById('f').submit(); true")
            .await;
        // The form's request reached the café, which refused it as
        // cross-site (403, before any credential is looked at): the tab
        // now shows the café's answer to it.
        browser
            .wait_for(&format!(
                "location.href === '{cafe}/orders' && document.body \
                 && document.body.innerText.includes('cross-site request refused')"
            ))
            .await;

        // Back in the café's tab, alice's own orders: none.
        browser.use_tab(0);
        let orders = browser
            .eval("window.cafe.api('/orders').then((answer) => answer.json())")
            .await;
        assert_eq!(orders, json!([]), "{mode:?}");
    }
}

/// CORS is never opened: a foreign origin asking to read answers with the
/// user's credentials gets no `Access-Control-Allow-*` header, so the
/// browser keeps the answer from its script.
#[tokio::test]
async fn no_foreign_origin_may_read_answers_with_credentials() {
    for mode in [Mode::Sessions, Mode::Jwt, Mode::Hybrid] {
        let app = spawn_app(mode).await;
        let alice = app.logged_in("alice", "wonderland-42").await;
        let preflight = crate::support::Call {
            method: cafe_client::Method::OPTIONS,
            ..crate::support::Call::get("/orders")
        }
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type, authorization",
        );
        let read = crate::support::Call::get("/me").header("origin", "https://evil.example");
        for call in [preflight, read] {
            let answer = alice.send(&call).await;
            let cors: Vec<_> = answer
                .headers
                .keys()
                .filter(|name| name.as_str().starts_with("access-control-"))
                .collect();
            assert!(cors.is_empty(), "{mode:?}: {cors:?}");
        }
    }
}

/// What the script an attacker injects into the café's origin does, in one
/// go: read what it can, order as alice while the page is open, and try to
/// obtain a credential it could use from anywhere (with no token in reach,
/// by asking `/refresh`, which any same-origin script may call). It travels
/// as one line, so it holds no `//` comments.
const XSS_PAYLOAD: &str = r#"
(async () => {
  const stored = localStorage.getItem('cafe-tokens');
  const readable = document.cookie || stored || '';
  let bearer = stored ? JSON.parse(stored).access : null;
  let stolen = stored ? JSON.parse(stored) : null;
  if (!stored) {
    const answer = await fetch('/refresh', { method: 'POST' });
    if (answer.ok) {
      bearer = (await answer.json()).access_token;
      stolen = { access: bearer };
    }
  }
  const headers = { 'content-type': 'application/json' };
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  const order = await fetch('/orders', {
    method: 'POST', headers, body: JSON.stringify({ item: 'ordered by the attacker' }),
  });
  window.xss = { readable: readable !== '', ordered: order.status === 201, stolen };
})()
"#;

/// A script injected into alice's page, and the attacker it reports to.
struct Theft<'a> {
    mode: Mode,
    browser: &'a mut Browser,
    app: &'a TestApp,
    /// The link that runs [`XSS_PAYLOAD`] on the café's origin.
    link: String,
    /// The attacker, on another machine, holding what the script sent home.
    attacker: crate::support::Visitor,
}

/// What the injected script does when it stays in the hybrid's page: asks
/// `/refresh` again (the browser attaches the HttpOnly cookie) and sends
/// the fresh access token home.
const SCRIPT_REFRESHES_AGAIN: &str = "fetch('/refresh', { method: 'POST' })\
     .then(async (answer) => (answer.ok ? (await answer.json()).access_token : null))";

impl Theft<'_> {
    /// Alice logs in through the page and follows the link; the script runs
    /// and the attacker takes whatever it obtained. Returns what the script
    /// reached.
    async fn alice_follows_the_link(&mut self) -> Value {
        self.browser.open(self.app).await;
        self.browser
            .wait_for("!document.getElementById('login').hidden")
            .await;
        log_in_through_the_page(self.browser).await;
        self.browser.navigate(&self.link).await;
        self.browser.wait_for("window.xss").await;
        let reach = self.browser.eval("window.xss").await;
        let stolen = &reach["stolen"];
        self.attacker.credential =
            stolen["access"]
                .as_str()
                .map(|access| crate::support::Credential::Bearer {
                    access: access.to_owned(),
                    refresh: stolen["refresh"].as_str().unwrap_or_default().to_owned(),
                });
        reach
    }

    /// Whether what the attacker holds gets them in, from their machine.
    async fn works_elsewhere(&self) -> bool {
        self.attacker.credential.is_some() && self.attacker.get("/me").await.status == 200
    }

    /// The attacker renews the login: with the stolen refresh token, from
    /// anywhere (jwt), or through the script still in alice's tab, which
    /// calls `/refresh` and sends the new access token home (hybrid).
    /// Whether it worked, checked by using what it gave from elsewhere.
    async fn renew(&mut self) -> bool {
        if self.mode == Mode::Jwt {
            let status = self.attacker.refresh().await.status;
            assert!(status == 200 || status == 401, "{status}");
            return status == 200 && self.works_elsewhere().await;
        }
        let fresh = self.browser.eval(SCRIPT_REFRESHES_AGAIN).await;
        let Some(access) = fresh.as_str() else {
            return false;
        };
        self.attacker.credential = Some(crate::support::Credential::Bearer {
            access: access.to_owned(),
            refresh: String::new(),
        });
        self.works_elsewhere().await
    }
}

#[tokio::test]
async fn what_an_injected_script_reaches_in_each_mode() {
    let mut table = String::from(
        "# an injected script on the café's own origin, while alice is logged in\n\
         mode      reads the credential  orders as alice  \
         steals a usable credential  for how long\n",
    );
    let mut notes = String::new();
    for mode in [Mode::Sessions, Mode::Jwt, Mode::Hybrid] {
        let mut config = mode.config();
        config.xss_demo = true;
        let lifetimes = config.jwt_lifetimes;
        let app = crate::support::spawn_app_with(mode, config).await;
        let Some(mut browser) = Browser::start().await else {
            return;
        };
        // Alice follows a link to the vulnerable page, on the café's origin.
        let payload = XSS_PAYLOAD.replace(['\n'], " ");
        let link = format!(
            "{}/xss-demo?q=%3Cscript%3E{}%3C/script%3E",
            app.address.replace("127.0.0.1", "localhost"),
            percent_encode(&payload)
        );
        let mut theft = Theft {
            mode,
            browser: &mut browser,
            app: &app,
            link,
            attacker: app.visitor(),
        };
        let reach = theft.alice_follows_the_link().await;
        let works_elsewhere = theft.works_elsewhere().await;

        // How long: what the attacker can do with it, not only what the
        // script did once. Every number comes from the lifetimes the café
        // runs with.
        let days = lifetimes.refresh / 86_400;
        let idle_minutes = lifetimes.refresh_idle / 60;
        let access_minutes = lifetimes.access / 60;
        let lasts = match mode {
            _ if !works_elsewhere => "-".to_owned(),
            Mode::Jwt => {
                notes.push_str(&format!(
                    "(1) with the stolen refresh token, from anywhere, refreshed at least every \
                     {idle_minutes} minutes,\n    until alice's page refreshes too: the server \
                     takes that for reuse and ends the login\n"
                ));
                format!("up to {days} days from login (1)")
            }
            _ => {
                notes.push_str(&format!(
                    "(2) while alice's tab stays open, the script can take another from \
                     /refresh, at least\n    every {idle_minutes} minutes, up to {days} days \
                     from login\n"
                ));
                format!("{access_minutes} minutes per access token (2)")
            }
        };
        if mode != Mode::Sessions {
            a_renewed_theft_lasts_as_long_as_the_login(&mut theft, lifetimes).await;
        }
        let name = match mode {
            Mode::Sessions => "sessions",
            Mode::Jwt => "jwt",
            _ => "hybrid",
        };
        let yes_no = |value: bool| if value { "yes" } else { "no" };
        table.push_str(&format!(
            "{name:<9} {:<21} {:<16} {:<27} {lasts}\n",
            yes_no(reach["readable"] == json!(true)),
            yes_no(reach["ordered"] == json!(true)),
            yes_no(works_elsewhere),
        ));
    }
    table.push('\n');
    table.push_str(&notes);
    crate::golden::check_golden("browser/xss.txt", &table);
}

/// The token modes' "for how long", asserted: renewed within every idle
/// window, a stolen login lasts to its end; left idle past the limit, it
/// ends; and in `--auth jwt`, once alice's page refreshes too, the reuse
/// ends it for both.
async fn a_renewed_theft_lasts_as_long_as_the_login(
    theft: &mut Theft<'_>,
    lifetimes: jwt::Lifetimes,
) {
    let mode = theft.mode;
    let app = theft.app;
    let leeway = jwt::tokens::LEEWAY_SECONDS;
    // A minute inside the idle limit, every time.
    let step = lifetimes.refresh_idle - 60;

    // Renewed in time, to the login's end.
    let mut since_login = 0;
    let mut renewals = 0;
    while since_login + step < lifetimes.refresh {
        app.wait(Duration::from_secs(step));
        since_login += step;
        assert!(theft.renew().await, "{mode:?}: renewal {renewals}");
        renewals += 1;
    }
    assert!(renewals > 200, "{mode:?}: {renewals}");
    // Past the login's end, though less than the idle limit after the
    // last renewal: refused.
    app.wait(Duration::from_secs(
        lifetimes.refresh + leeway - since_login,
    ));
    assert!(!theft.renew().await, "{mode:?}: renewed past the end");

    // What was stolen, unrenewed, lasts one access lifetime. Renewed a
    // minute inside the idle limit: works; then left idle for exactly the
    // limit: refused, long before the login's end.
    theft.alice_follows_the_link().await;
    let access_expired = lifetimes.access + leeway;
    app.wait(Duration::from_secs(access_expired));
    assert!(!theft.works_elsewhere().await, "{mode:?}: access token");
    app.wait(Duration::from_secs(step - access_expired));
    assert!(theft.renew().await, "{mode:?}");
    app.wait(Duration::from_secs(lifetimes.refresh_idle));
    assert!(!theft.renew().await, "{mode:?}: renewed after idling");

    if mode == Mode::Jwt {
        // The thief refreshes; then alice opens the café, her page meets
        // an expired access token and refreshes with the refresh token it
        // kept, which the thief's refresh has already replaced: the server
        // takes it for reuse, alice is logged out, and so is the thief.
        theft.alice_follows_the_link().await;
        app.wait(Duration::from_secs(step));
        assert!(theft.renew().await);
        theft.browser.open(app).await;
        theft
            .browser
            .wait_for("!document.getElementById('login').hidden")
            .await;
        assert!(!theft.renew().await, "the thief kept it after the reuse");
    }
}

/// Percent-encodes everything but letters and digits, for a URL's query.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() {
                (byte as char).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn the_xss_demo_page_does_not_exist_unless_asked_for() {
    let app = spawn_app(Mode::Sessions).await;
    assert_eq!(app.visitor().get("/xss-demo?q=hi").await.status, 404);
}
