//! Your account's logins, in every mode: changing the password ends every
//! other login, a user lists their logins and ends one, and a token login
//! left unrefreshed past the idle limit ends.
//!
//! `password_change`, `listing`, `ending` and `idle` run against every
//! mechanism (`idle` against the token modes); `on_redis` runs the listing,
//! ending and idle scenarios again on a real Redis; `races` forces a login
//! and a password change, or two changes, into each other with a store
//! wrapper that stops a request at a chosen store call.

mod ending;
mod idle;
mod listing;
mod on_redis;
mod password_change;
mod races;

use crate::support::{Credential, Mode, Reply, TestApp, Visitor, issued_credential, login_call};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cafe::clock::{Clock, unix_seconds};
use serde_json::Value;
use std::time::Duration;

pub use crate::conformance::{ADMIN, ALICE};

/// The verifier's leeway past `exp`, in seconds.
pub const LEEWAY: u64 = ::jwt::tokens::LEEWAY_SECONDS;

/// A laptop's browser, as its `User-Agent` says.
pub const LAPTOP: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0";

/// A phone app whose `User-Agent` is longer than the server keeps and
/// carries a tab, which the list must not show.
pub const PHONE: &str = concat!(
    "CafePhone/2.1\t(iPhone; iOS 18.2; build 4711; locale en-GB; ",
    "screen 1179x2556; network wifi; theme dark; orders flat white)",
);

/// The server's clock, in seconds since 1970.
pub fn now(app: &TestApp) -> u64 {
    unix_seconds(app.clock.now())
}

/// Moves the server's clock forward to `moment` (seconds since 1970).
pub fn wait_until(app: &TestApp, moment: u64) {
    let now = now(app);
    assert!(moment >= now, "{moment} is {} s in the past", now - moment);
    app.wait(Duration::from_secs(moment - now));
}

/// A visitor from `address` (127.0.0.x: another machine, as the server
/// sees it) whose requests say `User-Agent: agent`, logged in as `user`.
pub async fn log_in_on_device(
    app: &TestApp,
    address: &str,
    agent: &str,
    (name, password): (&str, &str),
) -> Visitor {
    let mut visitor = app.visitor_from(address);
    let login = login_call(name, password).header("user-agent", agent);
    let answer = visitor.send(&login).await;
    assert_eq!(answer.status, 200, "{name} from {address}: {}", answer.text);
    visitor.credential = Some(issued_credential(app.mode, &answer));
    visitor
}

/// `POST /me/password` as `visitor`, which keeps the fresh credential of
/// a 200 (`cafe_client::Visitor::change_password`).
pub async fn change_password(visitor: &mut Visitor, current: &str, new: &str) -> Reply {
    visitor
        .change_password(current, new)
        .await
        .expect("the server answers")
}

/// `GET /me/logins`, which must answer 200 with an array.
pub async fn logins_of(visitor: &Visitor) -> Vec<Value> {
    let list = visitor.get("/me/logins").await;
    assert_eq!(list.status, 200, "{}", list.text);
    list.body.as_array().expect("a JSON array").clone()
}

/// The id of the login `visitor` holds, from its own list.
pub async fn own_login_id(visitor: &Visitor) -> String {
    let logins = logins_of(visitor).await;
    let current: Vec<&Value> = logins.iter().filter(|l| l["current"] == true).collect();
    assert_eq!(current.len(), 1, "exactly one current login: {logins:?}");
    current[0]["id"].as_str().expect("a string id").to_owned()
}

/// The seconds an access token lives in `mode`: 15 minutes, 5 for the
/// hybrid (`Config::new`).
pub fn access_lifetime(mode: Mode) -> u64 {
    match mode {
        Mode::Hybrid => 5 * 60,
        Mode::Sessions | Mode::Jwt | Mode::JwtDenylist | Mode::JwtChecked => 15 * 60,
    }
}

/// A claim of a JWT, read without checking anything (the test's own
/// eyes, not the server's).
pub fn unverified_claim(token: &str, claim: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT has three parts");
    let payload = URL_SAFE_NO_PAD.decode(payload).expect("base64url");
    let claims: Value = serde_json::from_slice(&payload).expect("JSON claims");
    claims[claim].clone()
}

/// Every string that would let someone act as `visitor`, or find its
/// record: the cookie and the session ID with its SHA-256 (the store's
/// key), or the access and refresh tokens with their ids (`jti`).
pub fn credential_material(visitor: &Visitor) -> Vec<String> {
    match visitor.credential.as_ref().expect("a logged-in visitor") {
        Credential::Cookie(cookie) => {
            let id = cookie
                .split_once('=')
                .map(|(_, id)| id)
                .expect("name=value");
            let key = ::sessions::id::SessionId::parse(id)
                .expect("a session ID of the issued shape")
                .key()
                .to_hex();
            vec![cookie.clone(), id.to_owned(), key]
        }
        Credential::Bearer { access, refresh } => {
            let jti = |token: &str| unverified_claim(token, "jti").as_str().unwrap().to_owned();
            vec![access.clone(), refresh.clone(), jti(access), jti(refresh)]
        }
    }
}

/// What a visitor whose login has ended can still do, by mode. Sessions:
/// nothing (its cookie is refused at once). Token modes: its refresh token
/// is refused at once; its access token is refused at once where the
/// server checks the denylist and `denied` (the login was found and its
/// `sid` put on the list), or token versions and `version_bumped` (a
/// password change, "log out everywhere"), and otherwise works until it
/// expires (checked separately, with the clock).
pub async fn assert_login_ended(
    mode: Mode,
    visitor: &Visitor,
    version_bumped: bool,
    denied: bool,
    context: &str,
) {
    match mode {
        Mode::Sessions => {
            let me = visitor.get("/me").await.status;
            assert_eq!(me, 401, "{context}: its session cookie still works");
        }
        Mode::Jwt | Mode::JwtDenylist | Mode::JwtChecked | Mode::Hybrid => {
            let refreshed = visitor.clone().refresh().await;
            assert_eq!(
                refreshed.status, 401,
                "{context}: its refresh token still works: {}",
                refreshed.text
            );
            if mode == Mode::JwtDenylist && denied {
                let me = visitor.get("/me").await.status;
                assert_eq!(
                    me, 401,
                    "{context}: a denied login's access token still works"
                );
            }
            if mode == Mode::JwtChecked && version_bumped {
                let me = visitor.get("/me").await.status;
                assert_eq!(me, 401, "{context}: an outdated access token still works");
            }
        }
    }
}

/// With the denylist checked: each of `visitors`' access tokens (every
/// one a token of an ended login) is refused now, and still one second
/// before `until` (seconds since 1970), the last moment the newest of them
/// would have been accepted without the denylist: the login's entry
/// outlives every token it names. Moves the clock to `until - 1`.
pub async fn assert_refused_until(app: &TestApp, visitors: &[&Visitor], until: u64) {
    for (n, visitor) in visitors.iter().enumerate() {
        let now = visitor.get("/me").await;
        assert_eq!(now.status, 401, "access token {n}, at once: {}", now.text);
    }
    wait_until(app, until - 1);
    for (n, visitor) in visitors.iter().enumerate() {
        let later = visitor.get("/me").await;
        assert_eq!(
            later.status, 401,
            "access token {n}, 1 s before {until}: {}",
            later.text
        );
    }
}

/// In a token mode: `visitor`'s access token works one second before
/// `until` (seconds since 1970) and is refused from `until` on. Moves the
/// clock to `until`.
pub async fn assert_access_token_works_until(app: &TestApp, visitor: &Visitor, until: u64) {
    wait_until(app, until - 1);
    let before = visitor.get("/me").await;
    assert_eq!(before.status, 200, "1 s before {until}: {}", before.text);
    app.wait(Duration::from_secs(1));
    let at = visitor.get("/me").await;
    assert_eq!(at.status, 401, "at {until}: {}", at.text);
}
