//! The page's "Your logins" panel and its change-password form, driven in
//! Chromium in every mode, with alice also logged in from other machines.

use super::{Browser, alice_in_a_browser};
use crate::support::{Mode, TestApp, Visitor, issued_credential, login_call};
use serde_json::{Value, json};
use std::time::Duration;

const PASSWORD: &str = "wonderland-42";
const NEW_PASSWORD: &str = "through-the-looking-glass";
/// What alice's phone app sends as its `User-Agent`.
const PHONE: &str = "CafeApp/2.1 (iPhone; iOS 18.2)";

/// alice, logged in from another machine (`address`) with another
/// `User-Agent`.
async fn alice_elsewhere(app: &TestApp, address: &str, user_agent: &str) -> Visitor {
    let mut visitor = app.visitor_from(address);
    let call = login_call("alice", PASSWORD).header("user-agent", user_agent);
    let answer = visitor.send(&call).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    visitor.credential = Some(issued_credential(app.mode, &answer));
    visitor
}

/// The panel as the page shows it: one entry per login.
async fn panel(browser: &mut Browser) -> Vec<Value> {
    let entries = browser
        .eval(
            "Array.from(document.querySelectorAll('#logins li'), (item) => ({ \
               id: item.dataset.login, \
               agent: item.querySelector('.user-agent').textContent, \
               thisDevice: item.querySelector('.this-device') !== null, \
               text: item.textContent, \
               times: Array.from(item.querySelectorAll('time'), (time) => time.dateTime) }))",
        )
        .await;
    entries.as_array().unwrap().clone()
}

/// Clicks "Reload the list" and waits until the panel shows `count`
/// logins.
async fn reload_the_list(browser: &mut Browser, count: usize) {
    browser
        .eval("document.getElementById('reload-logins').click()")
        .await;
    browser
        .wait_for(&format!(
            "document.querySelectorAll('#logins li').length === {count}"
        ))
        .await;
}

/// Fills the change-password form and submits it; returns what the page
/// then says.
async fn change_password(browser: &mut Browser, current: &str, new: &str) -> String {
    browser
        .eval(&format!(
            "document.getElementById('status').textContent = ''; \
             document.querySelector('#password [name=current_password]').value = {}; \
             document.querySelector('#password [name=new_password]').value = {}; \
             document.getElementById('password').requestSubmit()",
            json!(current),
            json!(new)
        ))
        .await;
    status_line(browser).await
}

/// Whether `visitor`'s login has ended, as far as the server can tell at
/// once: a session cookie is refused; a refresh token no longer refreshes
/// (its access token lives until it expires, checked by the caller).
async fn has_ended(visitor: &mut Visitor) -> bool {
    match visitor.mode {
        Mode::Sessions => visitor.get("/me").await.status == 401,
        _ => visitor.refresh().await.status == 401,
    }
}

/// The panel's entry for the login on another device (the phone's).
const ANOTHER_DEVICES_ENTRY: &str = "Array.from(document.querySelectorAll('#logins li'))\
     .find((item) => item.querySelector('.this-device') === null)";
/// The panel's entry for the page's own login.
const THIS_DEVICES_ENTRY: &str = "document.querySelector('#logins .this-device').parentElement";

/// Clicks End on the login `entry` selects and waits for the prompt that
/// asks for the current password under it.
async fn open_the_prompt(browser: &mut Browser, entry: &str) {
    browser
        .eval(&format!("{entry}.querySelector('button.end').click()"))
        .await;
    browser
        .wait_for(&format!("{entry}.querySelector('.end-prompt') !== null"))
        .await;
}

/// Types `password` into the open prompt under `entry` and confirms;
/// returns what the page then says.
async fn confirm_in_the_prompt(browser: &mut Browser, entry: &str, password: &str) -> String {
    browser
        .eval(&format!(
            "document.getElementById('status').textContent = ''; \
             {entry}.querySelector('.end-prompt [name=current_password]').value = {}; \
             {entry}.querySelector('.end-prompt').requestSubmit()",
            json!(password)
        ))
        .await;
    status_line(browser).await
}

#[tokio::test]
async fn the_page_lists_and_ends_logins_and_changes_the_password_in_every_mode() {
    for mode in [Mode::Sessions, Mode::Jwt, Mode::Hybrid] {
        let Some((mut browser, app)) = alice_in_a_browser(mode).await else {
            return;
        };
        let access_lifetime = mode.config().jwt_lifetimes.access;
        // A minute later, from her phone.
        app.wait(Duration::from_secs(60));
        let mut phone = alice_elsewhere(&app, "127.0.0.2", PHONE).await;

        // Both logins listed, oldest first, "this device" on the page's own.
        reload_the_list(&mut browser, 2).await;
        let listed = panel(&mut browser).await;
        let [here, there] = &listed[..] else {
            panic!("{mode:?}: two logins");
        };
        assert!(here["thisDevice"] == json!(true), "{mode:?}: {here}");
        // Chromium's User-Agent, cut to the first 80 characters.
        let chromium = browser
            .eval("navigator.userAgent.slice(0, 80).trim()")
            .await;
        assert_eq!(here["agent"], chromium, "{mode:?}");
        assert_eq!(there["thisDevice"], json!(false), "{mode:?}");
        assert_eq!(there["agent"], json!(PHONE), "{mode:?}");
        assert!(
            there["text"].as_str().unwrap().contains("from 127.0.0.2"),
            "{mode:?}: {there}"
        );
        // Created and last used, from the server's clock (the test opens at
        // 09:00 UTC), shown in local time with the exact moment kept.
        assert_eq!(
            there["times"],
            json!(["2026-01-01T09:01:00.000Z", "2026-01-01T09:01:00.000Z"]),
            "{mode:?}"
        );
        assert_eq!(
            here["times"][0],
            json!("2026-01-01T09:00:00.000Z"),
            "{mode:?}"
        );
        // The phone sees the same two logins, and itself as current.
        let seen_by_the_phone = phone.get("/me/logins").await.body;
        let current: Vec<_> = seen_by_the_phone
            .as_array()
            .unwrap()
            .iter()
            .map(|login| (login["id"].clone(), login["current"].clone()))
            .collect();
        assert_eq!(
            current,
            [
                (here["id"].clone(), json!(false)),
                (there["id"].clone(), json!(true))
            ],
            "{mode:?}"
        );

        // End the phone's login from the panel: End asks for the current
        // password first, in a form of its own under that login.
        open_the_prompt(&mut browser, ANOTHER_DEVICES_ENTRY).await;
        let field = browser
            .eval(&format!(
                "Array.from({ANOTHER_DEVICES_ENTRY}\
                 .querySelectorAll('.end-prompt input:not([hidden])'), \
                 (input) => [input.type, input.autocomplete])"
            ))
            .await;
        assert_eq!(field, json!([["password", "current-password"]]), "{mode:?}");
        if mode == Mode::Sessions && std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
            browser.screenshot("logins").await;
        }
        // A wrong password: refused in the café's words, and nothing ends.
        assert_eq!(
            confirm_in_the_prompt(&mut browser, ANOTHER_DEVICES_ENTRY, "queen-of-hearts").await,
            "the current password is wrong",
            "{mode:?}"
        );
        assert_eq!(panel(&mut browser).await.len(), 2, "{mode:?}");
        let still_open = browser
            .eval(&format!(
                "{ANOTHER_DEVICES_ENTRY}.querySelector('.end-prompt [name=current_password]').value"
            ))
            .await;
        assert_eq!(still_open, "", "{mode:?}: the prompt open again, emptied");
        assert_eq!(phone.get("/me").await.status, 200, "{mode:?}");
        assert!(!has_ended(&mut phone).await, "{mode:?}: the phone's login");
        // The right one: the phone's login ends.
        let said = confirm_in_the_prompt(&mut browser, ANOTHER_DEVICES_ENTRY, PASSWORD).await;
        assert!(said.starts_with("The login has ended"), "{mode:?}: {said}");
        browser
            .wait_for("document.querySelectorAll('#logins li').length === 1")
            .await;
        assert!(has_ended(&mut phone).await, "{mode:?}: the phone's login");
        if mode != Mode::Sessions {
            // What the page told alice: the phone's access token lives on
            // until it expires, and then it is refused too.
            assert!(said.contains("works until"), "{mode:?}: {said}");
            app.wait(Duration::from_secs(
                access_lifetime + jwt::tokens::LEEWAY_SECONDS,
            ));
            assert_eq!(phone.get("/me").await.status, 401, "{mode:?}");
        }

        // A laptop logs in too; then alice changes her password in the
        // form. The café's refusals are shown in its own words.
        let mut laptop = alice_elsewhere(&app, "127.0.0.3", "curl/8.14.1").await;
        reload_the_list(&mut browser, 2).await;
        let tokens_before = browser.eval("localStorage.getItem('cafe-tokens')").await;
        assert_eq!(
            change_password(&mut browser, "queen-of-hearts", NEW_PASSWORD).await,
            "the current password is wrong",
            "{mode:?}"
        );
        assert_eq!(
            change_password(&mut browser, PASSWORD, "rabbit").await,
            "a new password has at least 8 characters",
            "{mode:?}"
        );
        let said = change_password(&mut browser, PASSWORD, NEW_PASSWORD).await;
        assert!(
            said.starts_with("Password changed. 2 logins ended"),
            "{mode:?}: {said}"
        );
        browser
            .wait_for("document.querySelectorAll('#logins li').length === 1")
            .await;
        let listed = panel(&mut browser).await;
        assert_eq!(listed[0]["thisDevice"], json!(true), "{mode:?}: {listed:?}");
        assert!(has_ended(&mut laptop).await, "{mode:?}: the laptop's login");

        // The new credential is kept where this mode keeps it.
        let tokens_after = browser.eval("localStorage.getItem('cafe-tokens')").await;
        match mode {
            Mode::Jwt => {
                let after = tokens_after.as_str().unwrap();
                assert!(after.contains("refresh"), "{after}");
                assert_ne!(tokens_after, tokens_before, "new tokens stored");
            }
            _ => assert_eq!(tokens_after, Value::Null, "{mode:?}"),
        }
        // The page goes on working once its access token has expired too,
        // so on what the change issued (the old refresh token and session
        // have ended): an order through the form, then /me.
        app.wait(Duration::from_secs(
            access_lifetime + jwt::tokens::LEEWAY_SECONDS,
        ));
        browser
            .eval("document.getElementById('order').requestSubmit()")
            .await;
        browser
            .wait_for("document.querySelectorAll('#orders li').length === 1")
            .await;
        let me = browser
            .eval("window.cafe.api('/me').then((answer) => answer.json())")
            .await;
        assert_eq!(me["name"], "alice", "{mode:?}");

        // Ending this device's own login, with the new password, logs the
        // page out.
        open_the_prompt(&mut browser, THIS_DEVICES_ENTRY).await;
        let said = confirm_in_the_prompt(&mut browser, THIS_DEVICES_ENTRY, NEW_PASSWORD).await;
        assert!(said.contains("logged out"), "{mode:?}: {said}");
        browser
            .wait_for("!document.getElementById('login').hidden && localStorage.length === 0")
            .await;

        // The old password no longer logs in; the new one does, and its
        // login is then alice's only one.
        let mut visitor = app.visitor();
        assert_eq!(visitor.log_in("alice", PASSWORD).await.status, 401);
        assert_eq!(visitor.log_in("alice", NEW_PASSWORD).await.status, 200);
        let logins = visitor.get("/me/logins").await.body;
        assert_eq!(logins.as_array().unwrap().len(), 1, "{mode:?}: {logins}");
    }
}

/// A client names itself: its `User-Agent` is whatever it sent, here
/// markup with a script in it. The panel shows it as text.
#[tokio::test]
async fn a_user_agent_in_the_logins_panel_is_text_never_markup() {
    const HOSTILE: &str = r#"<img src=x onerror="window.pwned=1">"#;
    let Some((mut browser, app)) = alice_in_a_browser(Mode::Sessions).await else {
        return;
    };
    alice_elsewhere(&app, "127.0.0.2", HOSTILE).await;
    reload_the_list(&mut browser, 2).await;
    // Long enough for an image that failed to load to have said so.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        browser
            .eval("document.querySelectorAll('img').length")
            .await,
        0
    );
    assert_eq!(browser.eval("typeof window.pwned").await, "undefined");
    let shown: Vec<_> = panel(&mut browser)
        .await
        .into_iter()
        .map(|login| login["agent"].clone())
        .collect();
    assert!(shown.contains(&json!(HOSTILE)), "{shown:?}");
}

/// Guessing the current password through the form is throttled as a login
/// is, and the page says so in the café's words, with when to try again.
#[tokio::test]
async fn the_password_form_shows_the_throttles_answer() {
    let Some((mut browser, _app)) = alice_in_a_browser(Mode::Sessions).await else {
        return;
    };
    let mut said = Vec::new();
    for _ in 0..10 {
        said.push(change_password(&mut browser, "queen-of-hearts", NEW_PASSWORD).await);
        if said.last().unwrap() != "the current password is wrong" {
            break;
        }
    }
    let last = said.last().unwrap();
    assert!(
        last.starts_with("too many password attempts; try later (in ") && last.ends_with(" s)"),
        "{said:?}"
    );
}

/// Ending a login asks for the current password, and the prompt handles
/// every refusal in the café's words, keeping the login listed: Cancel sends
/// nothing; a password over 1024 bytes is 422; guessing is throttled as a
/// login is, with when to try again.
#[tokio::test]
async fn the_end_prompt_can_be_cancelled_and_shows_the_throttles_answer() {
    let Some((mut browser, app)) = alice_in_a_browser(Mode::Sessions).await else {
        return;
    };
    let phone = alice_elsewhere(&app, "127.0.0.2", PHONE).await;
    reload_the_list(&mut browser, 2).await;

    open_the_prompt(&mut browser, ANOTHER_DEVICES_ENTRY).await;
    browser
        .eval("document.querySelector('.end-prompt button.cancel').click()")
        .await;
    let after_cancel = browser
        .eval(
            "[document.querySelectorAll('.end-prompt').length, \
              document.getElementById('status').textContent]",
        )
        .await;
    assert_eq!(after_cancel, json!([0, ""]));

    open_the_prompt(&mut browser, ANOTHER_DEVICES_ENTRY).await;
    assert_eq!(
        confirm_in_the_prompt(&mut browser, ANOTHER_DEVICES_ENTRY, &"x".repeat(1025)).await,
        "current_password too long"
    );
    let mut said = Vec::new();
    for _ in 0..10 {
        said.push(
            confirm_in_the_prompt(&mut browser, ANOTHER_DEVICES_ENTRY, "queen-of-hearts").await,
        );
        if said.last().unwrap() != "the current password is wrong" {
            break;
        }
    }
    let last = said.last().unwrap();
    assert!(
        last.starts_with("too many password attempts; try later (in ") && last.ends_with(" s)"),
        "{said:?}"
    );
    assert_eq!(panel(&mut browser).await.len(), 2);
    assert_eq!(phone.get("/me").await.status, 200, "the phone's login");
}

/// What the page's status line says, once it says anything.
async fn status_line(browser: &mut Browser) -> String {
    browser
        .wait_for("document.getElementById('status').textContent !== ''")
        .await;
    let said = browser
        .eval("document.getElementById('status').textContent")
        .await;
    said.as_str().unwrap().to_owned()
}
