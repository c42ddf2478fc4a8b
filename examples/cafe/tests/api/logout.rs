//! Logout ends the login named by whichever credential the request carries:
//! the access token, the refresh token in a body (`--auth jwt`), or the
//! refresh cookie (`--auth hybrid`). A client whose access token is gone
//! (expired, or lost with a page reload) can still log out. With
//! `--check-denylist`, whichever credential it presents, the logout refuses
//! every access token the login was given, not only the one presented.

use crate::account_logins::{
    LEEWAY, access_lifetime, assert_access_token_works_until, assert_refused_until, now,
};
use crate::support::{Call, Credential, Mode, TestApp, Visitor, spawn_app, spawn_app_with};
use cafe::mechanisms::jwt::REFRESH_COOKIE;
use serde_json::json;
use std::time::Duration;

fn refresh_token_of(credential: &Option<Credential>) -> String {
    match credential {
        Some(Credential::Bearer { refresh, .. }) => refresh.clone(),
        _ => panic!("a token visitor"),
    }
}

fn refresh_with_cookie(refresh: &str) -> Call {
    Call::post("/refresh").cookie(REFRESH_COOKIE, refresh)
}

/// Every `Set-Cookie` of `answer` that drops the refresh cookie.
fn cleared_refresh_cookies(answer: &crate::support::Reply) -> Vec<String> {
    answer
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter(|cookie| cookie.starts_with(&format!("{REFRESH_COOKIE}=;")))
        .filter(|cookie| cookie.contains("Max-Age=0"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn a_jwt_logout_with_only_the_refresh_token_ends_that_login() {
    let app = spawn_app(Mode::Jwt).await;
    let alice = app.logged_in("alice", "wonderland-42").await;
    let refresh = refresh_token_of(&alice.credential);
    let logout = Call::post("/logout").json(&json!({ "refresh_token": refresh }));
    assert_eq!(app.visitor().send(&logout).await.status, 204);
    let renew = Call::post("/refresh").json(&json!({ "refresh_token": refresh }));
    assert_eq!(app.visitor().send(&renew).await.status, 401);
}

#[tokio::test]
async fn a_jwt_logout_with_a_bad_body_is_refused_and_ends_nothing() {
    let app = spawn_app(Mode::Jwt).await;
    let alice = app.logged_in("alice", "wonderland-42").await;
    let refresh = refresh_token_of(&alice.credential);
    let not_a_token = Call::post("/logout").json(&json!({ "refresh_token": "made-up" }));
    assert_eq!(app.visitor().send(&not_a_token).await.status, 204);
    let wrong_shape = Call::post("/logout").json(&json!({ "refresh_token": 42 }));
    assert_eq!(app.visitor().send(&wrong_shape).await.status, 422);
    let renew = Call::post("/refresh").json(&json!({ "refresh_token": refresh }));
    assert_eq!(app.visitor().send(&renew).await.status, 200);
}

#[tokio::test]
async fn a_hybrid_logout_with_only_the_cookie_ends_the_login_and_clears_it() {
    let app = spawn_app(Mode::Hybrid).await;
    let alice = app.logged_in("alice", "wonderland-42").await;
    let refresh = refresh_token_of(&alice.credential);
    // The page was reloaded: no access token, only the cookie the browser
    // attaches to `/logout`.
    let logout = Call::post("/logout").cookie(REFRESH_COOKIE, &refresh);
    let answer = app.visitor().send(&logout).await;
    assert_eq!(answer.status, 204);
    assert_eq!(
        cleared_refresh_cookies(&answer).len(),
        2,
        "both copies dropped: {:?}",
        answer.headers
    );
    // A copy of the cookie taken before the logout refreshes nothing.
    let replayed = app.visitor().send(&refresh_with_cookie(&refresh)).await;
    assert_eq!(replayed.status, 401);
}

#[tokio::test]
async fn the_hybrid_refresh_cookie_reaches_logout_and_refresh_only() {
    let app = spawn_app(Mode::Hybrid).await;
    let answer = app.visitor().log_in("alice", "wonderland-42").await;
    let mut paths: Vec<&str> = answer
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter(|cookie| cookie.starts_with(&format!("{REFRESH_COOKIE}=")))
        .flat_map(|cookie| cookie.split("; "))
        .filter_map(|attribute| attribute.strip_prefix("Path="))
        .collect();
    paths.sort_unstable();
    assert_eq!(paths, ["/logout", "/refresh"]);
}

#[tokio::test]
async fn a_refresh_with_a_bad_cookie_is_401_and_clears_it() {
    let app = spawn_app(Mode::Hybrid).await;
    let mut alice = app.logged_in("alice", "wonderland-42").await;
    let first = refresh_token_of(&alice.credential);
    assert_eq!(alice.refresh().await.status, 200);
    for cookie in ["made-up", "e30.e30.e30", first.as_str()] {
        let answer = app.visitor().send(&refresh_with_cookie(cookie)).await;
        assert_eq!(answer.status, 401, "{cookie}");
        assert_eq!(
            cleared_refresh_cookies(&answer).len(),
            2,
            "{cookie}: {:?}",
            answer.headers
        );
    }
    // No cookie at all: nothing to clear.
    let bare = app.visitor().send(&Call::post("/refresh")).await;
    assert_eq!(bare.status, 401);
    assert!(cleared_refresh_cookies(&bare).is_empty());
}

/// Alice logs in, and 100 s later refreshes once: she holds an older and a
/// newer access token of the same login. Returns the visitor holding the
/// older one, the one holding the newer pair, and when each would stop
/// being accepted (`exp` plus the leeway).
async fn an_older_and_a_newer_access_token(app: &TestApp) -> (Visitor, Visitor, u64, u64) {
    let logged_in_at = now(app);
    let older = app.logged_in("alice", "wonderland-42").await;
    app.wait(Duration::from_secs(100));
    let mut newer = older.clone();
    assert_eq!(newer.refresh().await.status, 200);
    assert_ne!(newer.credential, older.credential, "a new pair");
    let lifetime = access_lifetime(app.mode);
    let older_until = logged_in_at + lifetime + LEEWAY;
    let newer_until = older_until + 100;
    (older, newer, older_until, newer_until)
}

/// A logout presenting the newer access token, in each token mode. With
/// `--check-denylist` the login's `sid` goes on the denylist: the older
/// token is refused at once as well as the one presented, and both stay
/// refused the last second the newer would have been accepted. Without it,
/// nothing per request names the login: both work until they expire, to
/// the second, and the refresh token is refused at once either way.
async fn a_logout_reaches_every_access_token_of_the_login_or_none(mode: Mode) {
    let app = spawn_app(mode).await;
    let (older, newer, older_until, newer_until) = an_older_and_a_newer_access_token(&app).await;
    assert_eq!(newer.send(&Call::post("/logout")).await.status, 204);
    assert_eq!(
        newer.clone().refresh().await.status,
        401,
        "the refresh token"
    );
    match mode {
        Mode::JwtDenylist => assert_refused_until(&app, &[&older, &newer], newer_until).await,
        Mode::Jwt | Mode::JwtChecked | Mode::Hybrid => {
            assert_access_token_works_until(&app, &older, older_until).await;
            assert_access_token_works_until(&app, &newer, newer_until).await;
        }
        Mode::Sessions => unreachable!("a token mode"),
    }
}

mod jwt {
    #[tokio::test]
    async fn a_logout_reaches_every_access_token_of_the_login_or_none() {
        super::a_logout_reaches_every_access_token_of_the_login_or_none(super::Mode::Jwt).await;
    }
}

mod jwt_denylist {
    #[tokio::test]
    async fn a_logout_reaches_every_access_token_of_the_login_or_none() {
        let mode = super::Mode::JwtDenylist;
        super::a_logout_reaches_every_access_token_of_the_login_or_none(mode).await;
    }
}

mod jwt_checked {
    #[tokio::test]
    async fn a_logout_reaches_every_access_token_of_the_login_or_none() {
        let mode = super::Mode::JwtChecked;
        super::a_logout_reaches_every_access_token_of_the_login_or_none(mode).await;
    }
}

mod hybrid {
    #[tokio::test]
    async fn a_logout_reaches_every_access_token_of_the_login_or_none() {
        super::a_logout_reaches_every_access_token_of_the_login_or_none(super::Mode::Hybrid).await;
    }
}

/// `--auth jwt --check-denylist`: a logout whose body carries only the
/// refresh token (no access token at all) ends the login's access tokens
/// too, the older and the newer, at once and for as long as they would
/// have lived.
#[tokio::test]
async fn with_the_denylist_a_jwt_logout_with_only_the_refresh_token_refuses_every_access_token() {
    let app = spawn_app(Mode::JwtDenylist).await;
    let (older, newer, _, newer_until) = an_older_and_a_newer_access_token(&app).await;
    let refresh = refresh_token_of(&newer.credential);
    let logout = Call::post("/logout").json(&json!({ "refresh_token": refresh }));
    assert_eq!(app.visitor().send(&logout).await.status, 204);
    assert_eq!(
        newer.clone().refresh().await.status,
        401,
        "the refresh token"
    );
    assert_refused_until(&app, &[&older, &newer], newer_until).await;
}

/// `--auth hybrid` with `--check-denylist`: the page was reloaded, so the
/// logout carries only the refresh cookie; the login's access tokens, the
/// older and the newer, are refused at once and for as long as they would
/// have lived.
#[tokio::test]
async fn with_the_denylist_a_hybrid_logout_with_only_the_cookie_refuses_every_access_token() {
    let mut config = Mode::Hybrid.config();
    config.revocation_checks.denylist = true;
    let app = spawn_app_with(Mode::Hybrid, config).await;
    let (older, newer, _, newer_until) = an_older_and_a_newer_access_token(&app).await;
    let refresh = refresh_token_of(&newer.credential);
    let logout = Call::post("/logout").cookie(REFRESH_COOKIE, &refresh);
    let answer = app.visitor().send(&logout).await;
    assert_eq!(answer.status, 204);
    assert_eq!(cleared_refresh_cookies(&answer).len(), 2);
    let replayed = app.visitor().send(&refresh_with_cookie(&refresh)).await;
    assert_eq!(replayed.status, 401, "the refresh cookie");
    assert_refused_until(&app, &[&older, &newer], newer_until).await;
}
