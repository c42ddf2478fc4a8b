//! The café's API works on the peer, in both configurations, on the memory
//! store: `api::docs_default::…` and `api::hardened::…` run the same test.

mod common;

use common::{Peer, config};
use peer_axum_login::SessionStoreChoice;
use reqwest::StatusCode;
use serde_json::json;

async fn peer(hardened: bool) -> Peer {
    Peer::start(config(hardened, SessionStoreChoice::Memory)).await
}

/// Runs each named test once per configuration, in a module named after it.
macro_rules! in_both_configurations {
    ($($name:ident),* $(,)?) => {
        mod docs_default {
            $(#[tokio::test] async fn $name() { super::$name(false).await })*
        }
        mod hardened {
            $(#[tokio::test] async fn $name() { super::$name(true).await })*
        }
    };
}

in_both_configurations!(
    health_answers_without_a_login,
    login_answers_the_user_and_sets_the_configured_cookie,
    a_wrong_password_and_an_unknown_name_get_the_same_401,
    me_needs_a_login,
    orders_are_placed_and_listed_per_user,
    bad_order_items_are_422,
    users_is_for_admins_only,
    a_role_change_applies_at_the_next_request,
    a_banned_user_cannot_log_in,
    logout_ends_the_session_in_the_store,
    logout_everywhere_exists_only_hardened,
);

async fn health_answers_without_a_login(hardened: bool) {
    let peer = peer(hardened).await;
    let answer = peer.browser().get("/healthz").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, json!({ "status": "ok" }));
    assert!(answer.headers.get("set-cookie").is_none());
}

async fn login_answers_the_user_and_sets_the_configured_cookie(hardened: bool) {
    let peer = peer(hardened).await;
    let mut alice = peer.browser();
    let answer = alice.login_alice().await;
    assert_eq!(
        answer.body,
        json!({ "user": { "name": "alice", "role": "member" } })
    );
    let lines = answer.session_set_cookies(alice.cookie_name);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let attributes: Vec<&str> = lines[0].split("; ").skip(1).collect();
    // The value: tower-sessions' 128-bit ID, base64url without padding.
    let id = alice.cookie.clone().unwrap();
    assert_eq!(id.len(), 22, "{id}");
    if hardened {
        assert!(lines[0].starts_with("__Host-id="));
        assert_eq!(
            attributes,
            [
                "HttpOnly",
                "SameSite=Strict",
                "Secure",
                "Path=/",
                "Max-Age=1800"
            ]
        );
    } else {
        // The docs' example: Secure off, a day's Max-Age.
        assert!(lines[0].starts_with("id="));
        assert_eq!(
            attributes,
            ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=86400"]
        );
    }
    let me = alice.get("/me").await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body, json!({ "name": "alice", "role": "member" }));
}

async fn a_wrong_password_and_an_unknown_name_get_the_same_401(hardened: bool) {
    let peer = peer(hardened).await;
    let wrong = peer.browser().login("alice", "wonderland-43").await;
    let unknown = peer.browser().login("bob", "wonderland-42").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!((unknown.status, &unknown.body), (wrong.status, &wrong.body));
    assert!(wrong.headers.get("set-cookie").is_none());
}

async fn me_needs_a_login(hardened: bool) {
    let peer = peer(hardened).await;
    let answer = peer.browser().get("/me").await;
    // `login_required!`'s answer: 401 with an empty body.
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.text, "");
}

async fn orders_are_placed_and_listed_per_user(hardened: bool) {
    let peer = peer(hardened).await;
    let mut alice = peer.browser();
    alice.login_alice().await;
    let mut admin = peer.browser();
    admin.login_admin().await;
    let placed = alice
        .post("/orders", json!({ "item": " flat white " }))
        .await;
    assert_eq!(placed.status, StatusCode::CREATED);
    assert_eq!(placed.body["item"], "flat white");
    assert_eq!(placed.body["by"], "alice");
    assert!(placed.body["id"].is_u64());
    admin.post("/orders", json!({ "item": "espresso" })).await;
    let mine = alice.get("/orders").await;
    assert_eq!(mine.status, StatusCode::OK);
    assert_eq!(mine.body, json!([placed.body]));
    assert_eq!(
        peer.browser().get("/orders").await.status,
        StatusCode::UNAUTHORIZED
    );
}

async fn bad_order_items_are_422(hardened: bool) {
    let peer = peer(hardened).await;
    let mut alice = peer.browser();
    alice.login_alice().await;
    for item in ["", "   ", &"a".repeat(101), "flat\nwhite", "flat\u{7}white"] {
        let answer = alice.post("/orders", json!({ "item": item })).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{item:?}");
        assert!(answer.body["error"].is_string(), "{}", answer.text);
    }
    let longest = alice
        .post("/orders", json!({ "item": "é".repeat(100) }))
        .await;
    assert_eq!(longest.status, StatusCode::CREATED);
}

async fn users_is_for_admins_only(hardened: bool) {
    let peer = peer(hardened).await;
    assert_eq!(
        peer.browser().get("/users").await.status,
        StatusCode::UNAUTHORIZED
    );
    let mut alice = peer.browser();
    alice.login_alice().await;
    // `permission_required!`'s answer: 403 with an empty body.
    let refused = alice.get("/users").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.text, "");
    let mut admin = peer.browser();
    admin.login_admin().await;
    let users = admin.get("/users").await;
    assert_eq!(users.status, StatusCode::OK);
    assert_eq!(
        users.body,
        json!([
            { "name": "admin", "role": "admin" },
            { "name": "alice", "role": "member" },
        ])
    );
}

async fn a_role_change_applies_at_the_next_request(hardened: bool) {
    let peer = peer(hardened).await;
    let mut alice = peer.browser();
    alice.login_alice().await;
    let mut admin = peer.browser();
    admin.login_admin().await;
    let path = "/admin/users/alice/role";
    assert_eq!(
        alice.post(path, json!({ "role": "admin" })).await.status,
        StatusCode::FORBIDDEN
    );
    let promoted = admin.post(path, json!({ "role": "admin" })).await;
    assert_eq!(promoted.status, StatusCode::OK);
    assert_eq!(promoted.body, json!({ "name": "alice", "role": "admin" }));
    // axum-login loads the user through `get_user` on every request.
    assert_eq!(alice.get("/users").await.status, StatusCode::OK);
    assert_eq!(alice.get("/me").await.body["role"], "admin");
    let demoted = admin.post(path, json!({ "role": "member" })).await;
    assert_eq!(demoted.status, StatusCode::OK);
    assert_eq!(alice.get("/users").await.status, StatusCode::FORBIDDEN);
    let unknown = admin
        .post("/admin/users/bob/role", json!({ "role": "member" }))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let no_such_role = admin.post(path, json!({ "role": "owner" })).await;
    assert_eq!(no_such_role.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn a_banned_user_cannot_log_in(hardened: bool) {
    let peer = peer(hardened).await;
    let mut admin = peer.browser();
    admin.login_admin().await;
    let banned = admin
        .post("/admin/users/alice/role", json!({ "role": "banned" }))
        .await;
    assert_eq!(banned.body, json!({ "name": "alice", "role": "banned" }));
    let mut alice = peer.browser();
    let answer = alice.login("alice", "wonderland-42").await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(alice.cookie.is_none());
}

async fn logout_ends_the_session_in_the_store(hardened: bool) {
    let peer = peer(hardened).await;
    let mut alice = peer.browser();
    alice.login_alice().await;
    let kept = alice.cookie.clone();
    let answer = alice.post("/logout", json!({})).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    // tower-sessions removes the cookie...
    let removal = answer.session_set_cookies(alice.cookie_name);
    assert_eq!(removal.len(), 1, "{removal:?}");
    assert!(removal[0].contains("Max-Age=0"), "{removal:?}");
    assert!(alice.cookie.is_none());
    // ...and the record is gone: a copy of the old cookie gets nothing.
    alice.cookie = kept;
    assert_eq!(alice.get("/me").await.status, StatusCode::UNAUTHORIZED);
    // Logging out without a login is a 204 too.
    let again = peer.browser().post("/logout", json!({})).await;
    assert_eq!(again.status, StatusCode::NO_CONTENT);
}

async fn logout_everywhere_exists_only_hardened(hardened: bool) {
    let peer = peer(hardened).await;
    let mut laptop = peer.browser();
    laptop.login_alice().await;
    let mut phone = peer.browser();
    phone.login_alice().await;
    let mut admin = peer.browser();
    admin.login_admin().await;
    let path = "/admin/users/alice/logout-everywhere";
    if !hardened {
        // axum-login has no such call, and the docs' server no such route.
        let answer = admin.post(path, json!({})).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND);
        assert_eq!(laptop.get("/me").await.status, StatusCode::OK);
        return;
    }
    assert_eq!(
        laptop.post(path, json!({})).await.status,
        StatusCode::FORBIDDEN
    );
    let answer = admin.post(path, json!({})).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, json!({ "name": "alice", "ended": null }));
    assert_eq!(laptop.get("/me").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(phone.get("/orders").await.status, StatusCode::UNAUTHORIZED);
    // The admin's own session is untouched, and alice can log in again.
    assert_eq!(admin.get("/users").await.status, StatusCode::OK);
    laptop.login_alice().await;
    assert_eq!(laptop.get("/me").await.status, StatusCode::OK);
    let unknown = admin
        .post("/admin/users/bob/logout-everywhere", json!({}))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}
