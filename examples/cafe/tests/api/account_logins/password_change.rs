//! `POST /me/password` in every mode: a fresh login for the caller, every
//! other login ended (at once, or as each mode can), the same throttle as a
//! login, and the new password's rules.

use super::{
    ADMIN, ALICE, LEEWAY, PHONE, access_lifetime, assert_access_token_works_until,
    assert_login_ended, assert_refused_until, change_password, log_in_on_device, logins_of, now,
    wait_until,
};
use crate::support::{Mode, Reply, for_every_mechanism, spawn_app, spawn_app_with};
use cafe::users::{Account, Role};
use cafe_client::Mechanism;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

/// Alice's password after a change.
const NEW_PASSWORD: &str = "through-the-looking-glass";

/// The members of a JSON object.
fn members(body: &Value) -> BTreeSet<String> {
    body.as_object()
        .expect("a JSON object")
        .keys()
        .cloned()
        .collect()
}

/// Each `Set-Cookie` of `answer` with its value blanked: the cookies'
/// names and attributes.
fn cookie_shapes(answer: &Reply) -> Vec<String> {
    answer
        .set_cookies()
        .map(|header| {
            let mut cookie = cookie::Cookie::parse(header)
                .expect("a cookie")
                .into_owned();
            cookie.set_value("");
            cookie.to_string()
        })
        .collect()
}

async fn a_change_answers_like_a_login_and_ends_every_other_login(mode: Mode) {
    let app = spawn_app(mode).await;
    let logged_in_at = now(&app);
    let phone = log_in_on_device(&app, "127.0.0.2", PHONE, ALICE).await;
    let mut laptop = app.visitor();
    let login = laptop.log_in(ALICE.0, ALICE.1).await;
    assert_eq!(login.status, 200);
    let laptop_before = laptop.clone();
    app.wait(Duration::from_secs(60));

    let changed = change_password(&mut laptop, ALICE.1, NEW_PASSWORD).await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    // Answered as the login was, plus how many logins ended: the phone's
    // and the laptop's own.
    assert_eq!(
        changed.body["user"],
        json!({ "name": "alice", "role": "member" })
    );
    assert_eq!(changed.body["logins_ended"], 2);
    let mut expected = members(&login.body);
    expected.insert("logins_ended".to_owned());
    assert_eq!(members(&changed.body), expected);
    assert_eq!(cookie_shapes(&changed), cookie_shapes(&login));
    // Sessions and the hybrid set a cookie; only `--auth jwt` sets none.
    assert_eq!(
        cookie_shapes(&changed).is_empty(),
        mode.mechanism() == Mechanism::Jwt
    );
    if mode.is_jwt() {
        assert_eq!(changed.body["expires_in"], access_lifetime(mode));
    }
    assert_ne!(
        laptop.credential, laptop_before.credential,
        "a new credential"
    );

    // The new credential works, and is the only login left.
    assert_eq!(laptop.get("/me").await.body["name"], "alice");
    let logins = logins_of(&laptop).await;
    assert_eq!(logins.len(), 1, "{logins:?}");
    assert_eq!(logins[0]["current"], true);
    if mode.is_jwt() {
        assert_eq!(laptop.refresh().await.status, 200, "its refresh token too");
    }

    // The laptop's old credential and the phone's have ended.
    assert_login_ended(mode, &laptop_before, true, true, "the caller's old login").await;
    assert_login_ended(mode, &phone, true, true, "the phone's login").await;
    let access_ends = logged_in_at + access_lifetime(mode) + LEEWAY;
    match mode {
        Mode::Sessions | Mode::JwtChecked => {}
        // Every login the change ended is on the denylist, the caller's
        // old one and the phone's: both access tokens are refused at once,
        // and for as long as they would have lived.
        Mode::JwtDenylist => {
            assert_refused_until(&app, &[&laptop_before, &phone], access_ends).await;
        }
        // Nothing is looked up per request: both old access tokens work
        // until they expire, to the second, and not a second longer.
        Mode::Jwt | Mode::Hybrid => {
            wait_until(&app, access_ends - 1);
            assert_eq!(laptop_before.get("/me").await.status, 200);
            assert_access_token_works_until(&app, &phone, access_ends).await;
            assert_eq!(laptop_before.get("/me").await.status, 401);
        }
    }
    // The caller's new login outlives them.
    assert_eq!(laptop.get("/me").await.status, 200);

    // The new password logs in; the old one no longer does.
    let mut elsewhere = app.visitor_from("127.0.0.3");
    assert_eq!(elsewhere.log_in(ALICE.0, ALICE.1).await.status, 401);
    assert_eq!(elsewhere.log_in(ALICE.0, NEW_PASSWORD).await.status, 200);
}

async fn a_wrong_current_password_is_403_and_counted_like_a_failed_login(mode: Mode) {
    let app = spawn_app(mode).await;
    let mut alice = app.logged_in(ALICE.0, ALICE.1).await;
    for attempt in 1..=5 {
        let answer = change_password(&mut alice, "not-her-password", NEW_PASSWORD).await;
        assert_eq!(answer.status, 403, "attempt {attempt}: {}", answer.text);
        assert!(answer.body["error"].is_string());
    }
    assert_eq!(
        app.passwords.verifications(),
        1 + 5,
        "a login and five checks"
    );
    // A 403 logs nobody out.
    assert_eq!(alice.get("/me").await.status, 200);

    // The sixth is refused before any check, even with the right password,
    // and so is a login from the same client: it is the login's count.
    let sixth = change_password(&mut alice, ALICE.1, NEW_PASSWORD).await;
    assert_eq!(sixth.status, 429, "{}", sixth.text);
    assert_eq!(sixth.header("retry-after"), Some("900"));
    let login = app.visitor().log_in(ALICE.0, ALICE.1).await;
    assert_eq!(login.status, 429);
    assert_eq!(app.passwords.verifications(), 6, "no check past the limit");

    // Nothing changed: from another client the old password logs in.
    let mut elsewhere = app.visitor_from("127.0.0.2");
    assert_eq!(elsewhere.log_in(ALICE.0, NEW_PASSWORD).await.status, 401);
    assert_eq!(elsewhere.log_in(ALICE.0, ALICE.1).await.status, 200);

    // Once the window has passed, the change goes through.
    app.wait(Duration::from_secs(15 * 60));
    if mode.is_jwt() {
        assert_eq!(alice.refresh().await.status, 200);
    }
    let answer = change_password(&mut alice, ALICE.1, NEW_PASSWORD).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
}

async fn a_new_password_that_breaks_a_rule_is_422_and_changes_nothing(mode: Mode) {
    // A member whose name is long enough to be a password.
    let config = mode.config();
    let hatter = Account::new("the-mad-hatter", "tea-party-at-six", Role::Member).unwrap();
    config.stores.accounts.insert(hatter).await.unwrap();
    let app = spawn_app_with(mode, config).await;
    let mut alice = app.logged_in(ALICE.0, ALICE.1).await;
    let mut hatter = app.logged_in("the-mad-hatter", "tea-party-at-six").await;
    let checks_before = app.passwords.verifications();

    let (bytes_1025, chars_513) = ("x".repeat(1025), "é".repeat(513));
    let alices = [
        (ALICE.1, "", "at least 8"),
        (ALICE.1, "latte-7", "at least 8"),
        // Seven characters in fourteen bytes: characters are counted.
        (ALICE.1, "ééééééé", "at least 8"),
        (ALICE.1, bytes_1025.as_str(), "at most 1024"),
        // 513 characters in 1,026 bytes: the limit is in bytes.
        (ALICE.1, chars_513.as_str(), "at most 1024"),
        (ALICE.1, ALICE.1, "current one"),
        (
            bytes_1025.as_str(),
            NEW_PASSWORD,
            "current_password too long",
        ),
    ];
    let hatters = [
        ("tea-party-at-six", "the-mad-hatter", "name"),
        ("tea-party-at-six", "The-Mad-Hatter", "name"),
        ("tea-party-at-six", "THE-MAD-HATTER", "name"),
    ];
    let mut refused = 0;
    for (visitor, cases) in [(&mut alice, &alices[..]), (&mut hatter, &hatters[..])] {
        for (current, new, reason) in cases {
            let answer = change_password(visitor, current, new).await;
            let shown: String = new.chars().take(20).collect();
            assert_eq!(answer.status, 422, "{shown:?}: {}", answer.text);
            let error = answer.json_str("error").expect("an error message");
            assert!(error.contains(reason), "{shown:?}: {error}");
            refused += 1;
        }
    }
    assert_eq!(refused, 10);
    assert_eq!(
        app.passwords.verifications(),
        checks_before,
        "a refused new password costs no password check"
    );

    // Ten refusals, none counted by the throttle, and nothing changed:
    // both still change with their current passwords, and the rules are
    // met by a password of exactly eight characters and one of 1,024 bytes.
    assert_eq!(alice.get("/me").await.status, 200);
    let eight = change_password(&mut alice, ALICE.1, "espresso").await;
    assert_eq!(eight.status, 200, "{}", eight.text);
    let long = "é".repeat(512);
    let answer = change_password(&mut hatter, "tea-party-at-six", &long).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let mut elsewhere = app.visitor_from("127.0.0.2");
    assert_eq!(elsewhere.log_in("the-mad-hatter", &long).await.status, 200);
}

async fn without_a_login_a_change_is_401(mode: Mode) {
    let app = spawn_app(mode).await;
    let body = json!({ "current_password": ALICE.1, "new_password": NEW_PASSWORD });
    let answer = app.visitor().post("/me/password", body).await;
    assert_eq!(answer.status, 401, "{}", answer.text);
    assert!(answer.header("www-authenticate").is_some());
    assert_eq!(app.passwords.verifications(), 0);
    let mut alice = app.visitor();
    assert_eq!(alice.log_in(ALICE.0, ALICE.1).await.status, 200);
}

async fn a_banned_user_cannot_change_the_password(mode: Mode) {
    let app = spawn_app(mode).await;
    let admin = app.logged_in(ADMIN.0, ADMIN.1).await;
    let mut alice = app.logged_in(ALICE.0, ALICE.1).await;
    let ban = json!({ "role": "banned" });
    assert_eq!(admin.post("/admin/users/alice/role", ban).await.status, 200);

    let answer = change_password(&mut alice, ALICE.1, NEW_PASSWORD).await;
    let expected = match mode {
        // The ban bumped her token version: her access token is refused
        // before the handler runs.
        Mode::JwtChecked => 401,
        // Sessions read the role on every request; the other token modes
        // learn of the ban from the account the change reads.
        Mode::Sessions | Mode::Jwt | Mode::JwtDenylist | Mode::Hybrid => 403,
    };
    assert_eq!(answer.status, expected, "{}", answer.text);

    // Refused, and nothing changed: once she is a member again, her old
    // password logs her in and the new one does not.
    let member = json!({ "role": "member" });
    assert_eq!(
        admin.post("/admin/users/alice/role", member).await.status,
        200
    );
    let mut elsewhere = app.visitor_from("127.0.0.2");
    let new = elsewhere.log_in(ALICE.0, NEW_PASSWORD).await;
    assert_eq!(new.status, 401, "the banned user's new password was stored");
    assert_eq!(elsewhere.log_in(ALICE.0, ALICE.1).await.status, 200);
}

for_every_mechanism!(
    a_change_answers_like_a_login_and_ends_every_other_login,
    a_wrong_current_password_is_403_and_counted_like_a_failed_login,
    a_new_password_that_breaks_a_rule_is_422_and_changes_nothing,
    without_a_login_a_change_is_401,
    a_banned_user_cannot_change_the_password,
);
