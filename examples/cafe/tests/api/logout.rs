//! Logout ends the login named by whichever credential the request carries:
//! the access token, the refresh token in a body (`--auth jwt`), or the
//! refresh cookie (`--auth hybrid`). A client whose access token is gone
//! (expired, or lost with a page reload) can still log out.

use crate::support::{Call, Credential, Mode, spawn_app};
use cafe::mechanisms::jwt::REFRESH_COOKIE;
use serde_json::json;

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
