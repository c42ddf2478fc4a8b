//! The web client in a real headless Chromium, driven over the Chrome
//! DevTools Protocol. Chromium must be installed (Debian's `chromium`; CI
//! installs it); set `SKIP_BROWSER_TESTS=1` to skip these tests on purpose.

use crate::support::{Mode, TestApp, spawn_app};
use serde_json::{Value, json};
use std::time::Duration;

mod devtools;
pub use devtools::Browser;

/// A café in `mode`, and a browser with alice logged in through its page.
async fn alice_in_a_browser(mode: Mode) -> Option<(Browser, TestApp)> {
    let mut browser = Browser::start().await?;
    let app = spawn_app(mode).await;
    browser.open(&app).await;
    log_in_through_the_page(&mut browser).await;
    Some((browser, app))
}

async fn log_in_through_the_page(browser: &mut Browser) {
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

#[tokio::test]
async fn what_an_injected_script_reaches_in_each_mode() {
    let mut table = String::from(
        "# an injected script on the café's own origin, while alice is logged in\n\
         mode      reads the credential  orders as alice  \
         steals a usable credential  for how long\n",
    );
    for mode in [Mode::Sessions, Mode::Jwt, Mode::Hybrid] {
        let mut config = mode.config();
        config.xss_demo = true;
        let app = crate::support::spawn_app_with(mode, config).await;
        let Some(mut browser) = Browser::start().await else {
            return;
        };
        browser.open(&app).await;
        log_in_through_the_page(&mut browser).await;

        // Alice follows a link to the vulnerable page, on the café's origin.
        let payload = XSS_PAYLOAD.replace(['\n'], " ");
        let link = format!(
            "{}/xss-demo?q=%3Cscript%3E{}%3C/script%3E",
            app.address.replace("127.0.0.1", "localhost"),
            percent_encode(&payload)
        );
        browser
            .command("Page.navigate", json!({ "url": link }))
            .await;
        browser.wait_for("window.xss").await;
        let reach = browser.eval("window.xss").await;

        // The attacker, on another machine, with whatever the script sent home.
        let stolen = &reach["stolen"];
        let mut attacker = app.visitor();
        attacker.credential =
            stolen["access"]
                .as_str()
                .map(|access| crate::support::Credential::Bearer {
                    access: access.to_owned(),
                    refresh: stolen["refresh"].as_str().unwrap_or_default().to_owned(),
                });
        let works_elsewhere =
            attacker.credential.is_some() && attacker.get("/me").await.status == 200;
        // How long: until the stolen access token expires, or, with a
        // refresh token, for as long as the login lasts.
        let lasts = match (works_elsewhere, stolen["refresh"].is_string()) {
            (false, _) => "-".to_owned(),
            (true, true) => {
                app.wait(Duration::from_secs(60 * 60));
                assert_eq!(attacker.refresh().await.status, 200, "{mode:?}");
                let days = jwt::Lifetimes::default().refresh / 86_400;
                format!("{days} days from login (the refresh token)")
            }
            (true, false) => {
                let access = app.visitor().get("/me").await; // not logged in: a control
                assert_eq!(access.status, 401);
                let minutes = Mode::Hybrid.config().jwt_lifetimes.access / 60;
                app.wait(Duration::from_secs(
                    minutes * 60 + jwt::tokens::LEEWAY_SECONDS,
                ));
                assert_eq!(attacker.get("/me").await.status, 401, "{mode:?}");
                format!("{minutes} minutes (one access token)")
            }
        };
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
    crate::golden::check_golden("browser/xss.txt", &table);
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
