//! The café's API shape, spoken by the peer in both configurations, over
//! real HTTP on loopback.

mod common;

use common::{Peer, both, token};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn health_is_answered_without_a_login() {
    for peer in both().await {
        let reply = peer.client.get(peer.url("/healthz")).send().await.unwrap();
        assert_eq!(reply.status(), StatusCode::OK);
        assert_eq!(
            reply.json::<Value>().await.unwrap(),
            json!({"status": "ok"})
        );
    }
}

#[tokio::test]
async fn login_answers_the_token_response_and_the_user() {
    for peer in both().await {
        let answer = peer.log_in("alice").await;
        assert_eq!(answer["user"], json!({"name": "alice", "role": "member"}));
        assert_eq!(answer["token_type"], "Bearer");
        assert_eq!(answer["expires_in"], 900, "15 minutes");
        let refresh_token = token(&answer, "refresh_token");
        assert_eq!(refresh_token.len(), 43, "256 random bits, base64url");
        assert!(!refresh_token.contains('.'), "opaque, not a JWT");

        let me = peer.get("/me", token(&answer, "access_token")).await;
        assert_eq!(me.status(), StatusCode::OK, "{}", peer.name());
        assert_eq!(
            me.json::<Value>().await.unwrap(),
            json!({"name": "alice", "role": "member"})
        );
    }
}

#[tokio::test]
async fn answers_are_kept_out_of_caches_only_when_hardened() {
    for peer in both().await {
        let login = peer.try_log_in("alice", "wonderland-42").await;
        let login_cache = login.headers().get("cache-control").cloned();
        let answer: Value = login.json().await.unwrap();
        let me = peer.get("/me", token(&answer, "access_token")).await;
        let me_cache = me.headers().get("cache-control").cloned();
        if peer.hardened {
            assert_eq!(login_cache.unwrap(), "no-store");
            assert_eq!(me_cache.unwrap(), "no-store");
        } else {
            assert_eq!((login_cache, me_cache), (None, None));
        }
    }
}

/// Hardened only: the caps a reader adds (the default hashes whatever
/// comes: `findings::a_long_password_is_hashed_by_default_and_refused_unhashed_hardened`).
/// Counted: no Argon2 run for the refused two.
#[tokio::test]
async fn a_2_kib_password_is_422_and_a_1_mib_body_413_before_any_hashing() {
    {
        let peer = Peer::start(true).await;
        let long = peer.try_log_in("alice", &"x".repeat(2048)).await;
        assert_eq!(
            long.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            peer.name()
        );
        let huge = peer.try_log_in("alice", &"x".repeat(1024 * 1024)).await;
        assert_eq!(
            huge.status(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "{}",
            peer.name()
        );
        assert_eq!(peer.accounts.verifications(), 0);
        let longest = peer.try_log_in("alice", &"x".repeat(1024)).await;
        assert_eq!(
            longest.status(),
            StatusCode::UNAUTHORIZED,
            "1,024 bytes are checked"
        );
        assert_eq!(peer.accounts.verifications(), 1);
    }
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_401() {
    for peer in both().await {
        let wrong = peer.try_log_in("alice", "not-her-password").await;
        let unknown = peer.try_log_in("mallory", "wonderland-42").await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(wrong.text().await.unwrap(), unknown.text().await.unwrap());
    }
}

/// Hardened, `POST /logout` without a credential is 204 instead: it ends
/// nothing, as a revocation endpoint answers (see
/// `findings::logout_with_only_the_refresh_token_ends_the_login_only_hardened`).
#[tokio::test]
async fn without_a_token_every_authenticated_route_is_401() {
    for peer in both().await {
        let logout = peer
            .client
            .post(peer.url("/logout"))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        let expected = match peer.hardened {
            true => StatusCode::NO_CONTENT,
            false => StatusCode::UNAUTHORIZED,
        };
        assert_eq!(logout.status(), expected, "POST /logout ({})", peer.name());
        for (method, path) in [
            ("GET", "/me"),
            ("GET", "/orders"),
            ("POST", "/orders"),
            ("GET", "/users"),
            ("POST", "/admin/users/alice/role"),
            ("POST", "/admin/users/alice/logout-everywhere"),
        ] {
            let request = match method {
                "GET" => peer.client.get(peer.url(path)),
                _ => peer.client.post(peer.url(path)).json(&json!({})),
            };
            let reply = request.send().await.unwrap();
            assert_eq!(
                reply.status(),
                StatusCode::UNAUTHORIZED,
                "{method} {path} ({})",
                peer.name()
            );
        }
    }
}

#[tokio::test]
async fn orders_are_numbered_and_each_user_sees_their_own() {
    for peer in both().await {
        let alice = peer.log_in("alice").await;
        let admin = peer.log_in("admin").await;
        let alice_token = token(&alice, "access_token");
        let placed = peer
            .post("/orders", alice_token, json!({"item": "flat white"}))
            .await;
        assert_eq!(placed.status(), StatusCode::CREATED);
        assert_eq!(
            placed.json::<Value>().await.unwrap(),
            json!({"id": 1, "item": "flat white", "by": "alice"})
        );
        let admins = peer
            .post(
                "/orders",
                token(&admin, "access_token"),
                json!({"item": "espresso"}),
            )
            .await;
        assert_eq!(admins.json::<Value>().await.unwrap()["id"], 2);

        let listed = peer.get("/orders", alice_token).await;
        assert_eq!(listed.status(), StatusCode::OK);
        assert_eq!(
            listed.json::<Value>().await.unwrap(),
            json!([{"id": 1, "item": "flat white", "by": "alice"}])
        );
    }
}

#[tokio::test]
async fn an_empty_blank_long_or_control_character_item_is_422() {
    for peer in both().await {
        let alice = peer.log_in("alice").await;
        let access = token(&alice, "access_token");
        for item in ["", "   ", &"a".repeat(101), "flat\u{7}white", "flat\nwhite"] {
            let reply = peer.post("/orders", access, json!({ "item": item })).await;
            assert_eq!(
                reply.status(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "{item:?} ({})",
                peer.name()
            );
        }
        let longest = peer
            .post("/orders", access, json!({ "item": "é".repeat(100) }))
            .await;
        assert_eq!(longest.status(), StatusCode::CREATED, "100 characters fit");
        let orders: Value = peer.get("/orders", access).await.json().await.unwrap();
        assert_eq!(orders.as_array().unwrap().len(), 1);
    }
}

#[tokio::test]
async fn only_an_admin_lists_users_sorted_by_name() {
    for peer in both().await {
        let alice = peer.log_in("alice").await;
        let admin = peer.log_in("admin").await;
        let refused = peer.get("/users", token(&alice, "access_token")).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{}", peer.name());
        let listed = peer.get("/users", token(&admin, "access_token")).await;
        assert_eq!(listed.status(), StatusCode::OK);
        assert_eq!(
            listed.json::<Value>().await.unwrap(),
            json!([{"name": "admin", "role": "admin"}, {"name": "alice", "role": "member"}])
        );
    }
}

#[tokio::test]
async fn role_changes_need_an_admin_a_known_user_and_a_known_role() {
    for peer in both().await {
        let alice = peer.log_in("alice").await;
        let admin = peer.log_in("admin").await;
        let admin_token = token(&admin, "access_token");
        let body = json!({"role": "admin"});

        let by_member = peer
            .post(
                "/admin/users/alice/role",
                token(&alice, "access_token"),
                body.clone(),
            )
            .await;
        assert_eq!(by_member.status(), StatusCode::FORBIDDEN, "{}", peer.name());
        let unknown = peer
            .post("/admin/users/mallory/role", admin_token, body.clone())
            .await;
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
        let made_up = peer
            .post(
                "/admin/users/alice/role",
                admin_token,
                json!({"role": "owner"}),
            )
            .await;
        assert_eq!(made_up.status(), StatusCode::UNPROCESSABLE_ENTITY);

        let changed = peer
            .post("/admin/users/alice/role", admin_token, body)
            .await;
        assert_eq!(changed.status(), StatusCode::OK);
        assert_eq!(
            changed.json::<Value>().await.unwrap(),
            json!({"name": "alice", "role": "admin"})
        );
        let relogin = peer.log_in("alice").await;
        assert_eq!(
            relogin["user"]["role"], "admin",
            "a new login has the new role"
        );
    }
}

#[tokio::test]
async fn a_banned_user_cannot_log_in_or_refresh() {
    for peer in both().await {
        let alice = peer.log_in("alice").await;
        peer.set_role("alice", "banned").await;
        let login = peer.try_log_in("alice", "wonderland-42").await;
        assert_eq!(login.status(), StatusCode::FORBIDDEN, "{}", peer.name());
        let wrong_password = peer.try_log_in("alice", "guess").await;
        assert_eq!(
            wrong_password.status(),
            StatusCode::UNAUTHORIZED,
            "the ban shows only to the password's holder"
        );
        let refresh = peer.refresh(token(&alice, "refresh_token")).await;
        assert_eq!(refresh.status(), StatusCode::FORBIDDEN, "{}", peer.name());
    }
}

#[tokio::test]
async fn refresh_swaps_the_refresh_token_for_a_new_pair() {
    for peer in both().await {
        let alice = peer.log_in("alice").await;
        let reply = peer.refresh(token(&alice, "refresh_token")).await;
        assert_eq!(reply.status(), StatusCode::OK, "{}", peer.name());
        let renewed: Value = reply.json().await.unwrap();
        assert_ne!(renewed["refresh_token"], alice["refresh_token"]);
        assert_eq!(renewed["user"], json!({"name": "alice", "role": "member"}));
        let me = peer.get("/me", token(&renewed, "access_token")).await;
        assert_eq!(me.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn one_refresh_token_sent_eight_times_at_once_gives_exactly_one_new_pair() {
    for peer in both().await {
        let alice = peer.log_in("alice").await;
        let refresh_token = token(&alice, "refresh_token");
        let sends: Vec<_> = (0..8)
            .map(|_| {
                let request = peer
                    .client
                    .post(peer.url("/refresh"))
                    .json(&json!({ "refresh_token": refresh_token }));
                tokio::spawn(request.send())
            })
            .collect();
        let mut replies = Vec::new();
        for send in sends {
            replies.push(send.await.unwrap().unwrap());
        }
        let statuses: Vec<StatusCode> = replies.iter().map(|r| r.status()).collect();
        let granted = statuses.iter().filter(|s| **s == StatusCode::OK).count();
        assert_eq!(granted, 1, "{statuses:?} ({})", peer.name());
        assert!(
            statuses
                .iter()
                .all(|s| *s == StatusCode::OK || *s == StatusCode::UNAUTHORIZED)
        );
    }
}

#[tokio::test]
async fn logout_is_204_and_ends_the_refresh_token() {
    for peer in both().await {
        let alice = peer.log_in("alice").await;
        let reply = peer.log_out(token(&alice, "access_token")).await;
        assert_eq!(reply.status(), StatusCode::NO_CONTENT, "{}", peer.name());
        let refresh = peer.refresh(token(&alice, "refresh_token")).await;
        assert_eq!(
            refresh.status(),
            StatusCode::UNAUTHORIZED,
            "{}",
            peer.name()
        );
    }
}

#[tokio::test]
async fn logout_everywhere_counts_what_it_ended_and_knows_its_users() {
    for peer in both().await {
        let phone = peer.log_in("alice").await;
        let laptop = peer.log_in("alice").await;
        let admin = peer.log_in("admin").await;
        let admin_token = token(&admin, "access_token");
        let reply = peer
            .post(
                "/admin/users/alice/logout-everywhere",
                admin_token,
                json!({}),
            )
            .await;
        assert_eq!(reply.status(), StatusCode::OK, "{}", peer.name());
        assert_eq!(
            reply.json::<Value>().await.unwrap(),
            json!({"name": "alice", "ended": 2})
        );
        for login in [&phone, &laptop] {
            let refresh = peer.refresh(token(login, "refresh_token")).await;
            assert_eq!(refresh.status(), StatusCode::UNAUTHORIZED);
        }
        let unknown = peer
            .post(
                "/admin/users/mallory/logout-everywhere",
                admin_token,
                json!({}),
            )
            .await;
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
        let by_member = peer
            .post(
                "/admin/users/admin/logout-everywhere",
                token(&peer.log_in("alice").await, "access_token"),
                json!({}),
            )
            .await;
        assert_eq!(by_member.status(), StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn serve_answers_on_the_listener_it_is_given() {
    let peer = Peer::start(false).await;
    assert!(peer.base.starts_with("http://127.0.0.1:"));
    let reply = peer.client.get(peer.url("/healthz")).send().await.unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
}
