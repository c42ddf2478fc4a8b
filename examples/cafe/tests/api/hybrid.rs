//! What only the hybrid does, over real HTTP: a short access token in the
//! JSON body, the refresh token in a cookie that only `/refresh` and
//! `/logout` receive.

use crate::support::{Call, Credential, Mode, refresh_cookie_of, spawn_app};
use cafe::mechanisms::jwt::REFRESH_COOKIE;
use serde_json::json;
use std::time::Duration;

fn refresh_token_of(credential: &Option<Credential>) -> String {
    match credential {
        Some(Credential::Bearer { refresh, .. }) => refresh.clone(),
        _ => panic!("a hybrid visitor"),
    }
}

fn with_cookie(refresh: &str) -> Call {
    Call::post("/refresh").header("cookie", &format!("{REFRESH_COOKIE}={refresh}"))
}

#[tokio::test]
async fn login_puts_the_access_token_in_the_body_and_the_refresh_token_in_a_narrow_cookie() {
    let app = spawn_app(Mode::Hybrid).await;
    let answer = app.visitor().log_in("alice", "wonderland-42").await;
    assert_eq!(answer.status, 200);
    assert!(answer.body["access_token"].is_string());
    assert_eq!(answer.body["expires_in"], 300, "five minutes");
    assert!(
        answer.body.get("refresh_token").is_none(),
        "never in a body: {}",
        answer.body
    );

    let cookie = answer.header("set-cookie").expect("a refresh cookie");
    let attributes: Vec<&str> = cookie.split("; ").collect();
    assert!(
        attributes[0].starts_with("__Secure-cafe-refresh="),
        "{cookie}"
    );
    for expected in [
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/refresh",
        "Max-Age=604800",
    ] {
        assert!(
            attributes.contains(&expected),
            "{expected} missing from {cookie}"
        );
    }
    // The same cookie again for the other endpoint that reads it.
    let copies: Vec<&str> = answer
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap())
        .collect();
    assert_eq!(copies.len(), 2, "{copies:?}");
    let logout_copy = copies[1].replace("Path=/logout", "Path=/refresh");
    assert_eq!(logout_copy, cookie, "the same cookie but for its path");
    assert!(!cookie.contains("Domain"), "{cookie}");
}

#[tokio::test]
async fn refresh_reads_the_cookie_only_and_rotates_it() {
    let app = spawn_app(Mode::Hybrid).await;
    let alice = app.logged_in("alice", "wonderland-42").await;
    let refresh = refresh_token_of(&alice.credential);

    // The refresh token in a body, as `--auth jwt` takes it: not even read.
    let in_body = Call::post("/refresh").json(&json!({ "refresh_token": refresh }));
    assert_eq!(app.visitor().send(&in_body).await.status, 401);

    let renewed = app.visitor().send(&with_cookie(&refresh)).await;
    assert_eq!(renewed.status, 200);
    assert_eq!(renewed.body["user"]["name"], "alice");
    assert!(renewed.body["access_token"].is_string());
    assert!(renewed.body.get("refresh_token").is_none());
    let rotated = refresh_cookie_of(&renewed).expect("a new refresh cookie");
    assert_ne!(rotated, refresh);

    // The old cookie again: reuse, and the whole login ends.
    assert_eq!(app.visitor().send(&with_cookie(&refresh)).await.status, 401);
    assert_eq!(app.visitor().send(&with_cookie(&rotated)).await.status, 401);
}

#[tokio::test]
async fn a_cross_site_refresh_is_refused() {
    let app = spawn_app(Mode::Hybrid).await;
    let alice = app.logged_in("alice", "wonderland-42").await;
    let refresh = refresh_token_of(&alice.credential);
    // A browser would not even attach a SameSite=Strict cookie here; the
    // Fetch Metadata check refuses the request whatever it carries.
    let forged = with_cookie(&refresh).header("sec-fetch-site", "cross-site");
    assert_eq!(app.visitor().send(&forged).await.status, 403);
    let evil_origin = with_cookie(&refresh).header("origin", "https://evil.example");
    assert_eq!(app.visitor().send(&evil_origin).await.status, 403);
    // Neither attempt used up the refresh token.
    assert_eq!(app.visitor().send(&with_cookie(&refresh)).await.status, 200);
}

#[tokio::test]
async fn logout_ends_the_login_and_tells_the_browser_to_drop_the_cookie() {
    let app = spawn_app(Mode::Hybrid).await;
    let alice = app.logged_in("alice", "wonderland-42").await;
    let refresh = refresh_token_of(&alice.credential);
    let logout = alice.send(&Call::post("/logout")).await;
    assert_eq!(logout.status, 204);
    let cleared = logout.header("set-cookie").expect("a clearing cookie");
    assert!(cleared.starts_with("__Secure-cafe-refresh=;"), "{cleared}");
    assert!(cleared.contains("Max-Age=0") && cleared.contains("Path=/refresh"));
    let cleared_copies = logout.headers.get_all("set-cookie").iter().count();
    assert_eq!(cleared_copies, 2, "the /logout copy is dropped too");
    assert_eq!(app.visitor().send(&with_cookie(&refresh)).await.status, 401);
}

#[tokio::test]
async fn a_ban_reaches_a_hybrid_login_within_one_short_access_lifetime() {
    let app = spawn_app(Mode::Hybrid).await;
    let admin = app.logged_in("admin", "admin-secret-42").await;
    let mut alice = app.logged_in("alice", "wonderland-42").await;
    let ban = json!({ "role": "banned" });
    assert_eq!(admin.post("/admin/users/alice/role", ban).await.status, 200);
    assert_eq!(
        alice.get("/me").await.status,
        200,
        "the access token still says member"
    );
    assert_eq!(
        alice.refresh().await.status,
        403,
        "but it cannot be renewed"
    );
    app.wait(Duration::from_secs(5 * 60 + jwt::tokens::LEEWAY_SECONDS));
    assert_eq!(
        alice.get("/me").await.status,
        401,
        "five minutes later, nothing"
    );
}
