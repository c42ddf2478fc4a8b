//! What tower-sessions 0.14 and axum-login 0.18 leave to you, as
//! `peers/RESEARCH.md` §2, §3 and §7 predict from their code, checked on
//! the running server (memory store; the Redis findings are in
//! `tests/redis.rs`). Each finding has a test per configuration:
//! `findings::docs_default::…` and `findings::hardened::…`.
//!
//! Timeouts are shortened (seconds instead of a day, 30 minutes or 8
//! hours) through `PeerConfig`'s fields; everything else is the
//! configuration as `main.rs` builds it.

mod common;

use std::time::Duration as StdDuration;

use common::{HeldRequest, Peer, config};
use peer_axum_login::{PeerConfig, SessionStoreChoice};
use reqwest::StatusCode;
use serde_json::json;
use time::Duration;

fn memory(hardened: bool) -> PeerConfig {
    config(hardened, SessionStoreChoice::Memory)
}

async fn sleep_ms(ms: u64) {
    tokio::time::sleep(StdDuration::from_millis(ms)).await;
}

mod docs_default {
    use super::*;

    /// axum-login cycles the ID at login only when the session is not
    /// logged in yet (`axum-login@0.18.0 src/session.rs:115-118`): a
    /// cookie already logged in as alice keeps its value when admin logs in
    /// on it, and whoever holds that value is now admin (session fixation
    /// with a planted logged-in cookie; ASVS 5.0 7.2.4).
    #[tokio::test]
    async fn a_login_on_a_logged_in_session_keeps_its_id() {
        let peer = Peer::start(memory(false)).await;
        let mut victim = peer.browser();
        victim.login_alice().await;
        let planted = victim.cookie.clone().unwrap();
        let answer = victim.login_admin().await;
        assert_eq!(victim.cookie.as_deref(), Some(planted.as_str()));
        assert_eq!(answer.session_set_cookies("id").len(), 1);
        let mut attacker = peer.browser();
        attacker.cookie = Some(planted);
        let me = attacker.get("/me").await;
        assert_eq!(me.body, json!({ "name": "admin", "role": "admin" }));
    }

    /// The first login on a fresh session does get a new ID.
    #[tokio::test]
    async fn a_first_login_gets_a_new_id() {
        let peer = Peer::start(memory(false)).await;
        let first = peer.browser().login_alice().await;
        let mut browser = peer.browser();
        browser.login_alice().await;
        let lines = first.session_set_cookies("id");
        assert!(!lines[0].contains(browser.cookie.as_deref().unwrap()));
    }

    /// Without `always_save`, tower-sessions saves a session only when it
    /// changes, and with axum-login an ordinary request only reads it: the
    /// expiry stays "idle timeout after login", whatever the activity.
    /// (`tower-sessions-core@0.14.0 src/session.rs:959-964`,
    /// `tower-sessions@0.14.0 src/service.rs:251-277`.) So the docs'
    /// `OnInactivity(1 day)` is in effect a one-day absolute lifetime with
    /// no idle timeout. Here the day is 3 seconds.
    #[tokio::test]
    async fn activity_does_not_extend_the_session() {
        let mut config = memory(false);
        config.idle_timeout = Duration::seconds(3);
        let peer = Peer::start(config).await;
        let mut alice = peer.browser();
        alice.login_alice().await;
        for _ in 0..2 {
            sleep_ms(1_000).await;
            let me = alice.get("/me").await;
            assert_eq!(me.status, StatusCode::OK);
            // Nothing was saved: no new cookie, no new expiry.
            assert!(me.session_set_cookies("id").is_empty());
        }
        // 3.5 s after login, 1.5 s after the last request.
        sleep_ms(1_500).await;
        assert_eq!(alice.get("/me").await.status, StatusCode::UNAUTHORIZED);
    }

    /// No absolute timeout: the docs' server has none, and a session that
    /// is saved (here: a re-login by the same cookie as someone else, which
    /// changes the session) starts a new full lifetime from that save.
    #[tokio::test]
    async fn a_save_starts_the_lifetime_again() {
        let mut config = memory(false);
        config.idle_timeout = Duration::seconds(3);
        let peer = Peer::start(config).await;
        let mut browser = peer.browser();
        browser.login_alice().await;
        sleep_ms(2_000).await;
        browser.login_admin().await;
        // 4 s after the first login, 2 s after the save.
        sleep_ms(2_000).await;
        assert_eq!(browser.get("/me").await.status, StatusCode::OK);
        sleep_ms(1_500).await;
        assert_eq!(browser.get("/me").await.status, StatusCode::UNAUTHORIZED);
    }

    /// axum-login re-reads the user per request, so a ban applies at the
    /// banned user's next request (403 from `permission_required!`); the
    /// session itself lives on in the store: the docs' `session_auth_hash`
    /// is the password hash, which a ban does not change.
    #[tokio::test]
    async fn a_ban_refuses_the_session_but_keeps_it() {
        let peer = Peer::start(memory(false)).await;
        let mut alice = peer.browser();
        alice.login_alice().await;
        let mut admin = peer.browser();
        admin.login_admin().await;
        admin
            .post("/admin/users/alice/role", json!({ "role": "banned" }))
            .await;
        assert_eq!(alice.get("/me").await.status, StatusCode::FORBIDDEN);
        assert_eq!(alice.get("/orders").await.status, StatusCode::FORBIDDEN);
        admin
            .post("/admin/users/alice/role", json!({ "role": "member" }))
            .await;
        // Unbanned: the very same session works again.
        assert_eq!(alice.get("/me").await.status, StatusCode::OK);
    }

    /// A cookie that is not a session ID is ignored (not a 400 or 500), and
    /// a well-formed but unknown ID is not adopted: login makes a fresh one
    /// (`tower-sessions@0.14.0 src/service.rs:206-217`,
    /// `tower-sessions-core@0.14.0 src/session.rs:123-131`).
    #[tokio::test]
    async fn a_malformed_or_unknown_cookie_is_ignored() {
        super::a_malformed_or_unknown_cookie_is_ignored(false).await;
    }

    /// A request that loaded the session before the victim's logout and
    /// finishes after it saves nothing here: the docs' server saves only a
    /// changed session, and placing an order does not change it. The
    /// logout holds. (The interleaving is forced, not timed: see
    /// `common::HeldRequest`.)
    #[tokio::test]
    async fn a_request_racing_a_logout_does_not_bring_the_session_back() {
        let peer = Peer::start(memory(false)).await;
        assert_eq!(super::race_a_logout(&peer).await, StatusCode::UNAUTHORIZED);
    }
}

mod hardened {
    use super::*;
    use peer_axum_login::users::Backend;
    use tower_sessions::MemoryStore;

    /// The hardened login calls `cycle_id()` before `login()`: the planted
    /// cookie is deleted, and the victim gets a new one.
    #[tokio::test]
    async fn a_login_on_a_logged_in_session_gets_a_new_id() {
        let peer = Peer::start(memory(true)).await;
        let mut victim = peer.browser();
        victim.login_alice().await;
        let planted = victim.cookie.clone().unwrap();
        victim.login_admin().await;
        assert_ne!(victim.cookie.as_deref(), Some(planted.as_str()));
        assert_eq!(victim.get("/me").await.body["name"], "admin");
        let mut attacker = peer.browser();
        attacker.cookie = Some(planted);
        assert_eq!(attacker.get("/me").await.status, StatusCode::UNAUTHORIZED);
    }

    /// With `always_save`, every request saves the session and so pushes
    /// its expiry: `OnInactivity` is a real idle timeout. Without the
    /// added cap (`absolute_timeout: None`), nothing in the library ends a
    /// session that stays active: here it outlives twice its idle timeout,
    /// then ends after the idle timeout passes with no request.
    #[tokio::test]
    async fn without_the_added_cap_an_active_session_outlives_its_idle_timeout() {
        let mut config = memory(true);
        config.idle_timeout = Duration::seconds(3);
        config.absolute_timeout = None;
        let peer = Peer::start(config).await;
        let mut alice = peer.browser();
        alice.login_alice().await;
        for _ in 0..6 {
            sleep_ms(1_000).await;
            let me = alice.get("/me").await;
            assert_eq!(me.status, StatusCode::OK);
            // Saved again, with a fresh Max-Age.
            assert_eq!(me.session_set_cookies("__Host-id").len(), 1);
        }
        sleep_ms(3_500).await;
        assert_eq!(alice.get("/me").await.status, StatusCode::UNAUTHORIZED);
    }

    /// The added absolute timeout ends an active session at its limit
    /// (here 4 s, idle 3 s, a request every second), deletes the record
    /// and removes the cookie.
    #[tokio::test]
    async fn an_active_session_ends_at_the_absolute_timeout() {
        let mut config = memory(true);
        config.idle_timeout = Duration::seconds(3);
        config.absolute_timeout = Some(Duration::seconds(4));
        let peer = Peer::start(config).await;
        let mut alice = peer.browser();
        alice.login_alice().await;
        let first_cookie = alice.cookie.clone();
        for _ in 0..3 {
            sleep_ms(1_000).await;
            assert_eq!(alice.get("/me").await.status, StatusCode::OK);
        }
        sleep_ms(1_500).await;
        // 4.5 s after login, 1.5 s after the last request.
        let ended = alice.get("/me").await;
        assert_eq!(ended.status, StatusCode::UNAUTHORIZED);
        assert!(ended.session_set_cookies("__Host-id")[0].contains("Max-Age=0"));
        alice.cookie = first_cookie;
        assert_eq!(alice.get("/me").await.status, StatusCode::UNAUTHORIZED);
        // A new login starts a new lifetime.
        alice.login_alice().await;
        assert_eq!(alice.get("/me").await.status, StatusCode::OK);
    }

    /// A ban bumps the user's session version: the session's saved
    /// `session_auth_hash` no longer matches, axum-login flushes it, and
    /// the banned user is anonymous (401), for good.
    #[tokio::test]
    async fn a_ban_ends_the_session() {
        let peer = Peer::start(memory(true)).await;
        let mut alice = peer.browser();
        alice.login_alice().await;
        let old_cookie = alice.cookie.clone();
        let mut admin = peer.browser();
        admin.login_admin().await;
        admin
            .post("/admin/users/alice/role", json!({ "role": "banned" }))
            .await;
        assert_eq!(alice.get("/me").await.status, StatusCode::UNAUTHORIZED);
        assert!(alice.cookie.is_none(), "the cookie is removed");
        admin
            .post("/admin/users/alice/role", json!({ "role": "member" }))
            .await;
        // Unbanned, the old session stays ended: its record was deleted.
        alice.cookie = old_cookie;
        assert_eq!(alice.get("/me").await.status, StatusCode::UNAUTHORIZED);
    }

    /// `always_save` saves the session at the end of every request, and
    /// the library's `MemoryStore::save` is an unconditional insert
    /// (`tower-sessions-memory-store@0.14.0 src/lib.rs:36-39`): a request
    /// with a stolen cookie that loaded the session before the victim's
    /// logout writes the deleted record back when it ends, and the stolen
    /// cookie works again (for up to the absolute timeout).
    #[tokio::test]
    async fn on_the_librarys_memory_store_a_racing_request_brings_the_session_back() {
        let config = memory(true);
        let backend = Backend::with_demo_users(true).await.unwrap();
        let app = peer_axum_login::app_on(MemoryStore::default(), backend, &config);
        let peer = Peer::serve(app, true).await;
        assert_eq!(super::race_a_logout(&peer).await, StatusCode::OK);
    }

    /// The hardened server's store (`store::LiveOnlyStore`) saves only a
    /// record that still exists, as the Redis store's `SET … XX` does: the
    /// held request is answered (its order was placed) and the logout
    /// holds.
    #[tokio::test]
    async fn a_request_racing_a_logout_does_not_bring_the_session_back() {
        let peer = Peer::start(memory(true)).await;
        assert_eq!(super::race_a_logout(&peer).await, StatusCode::UNAUTHORIZED);
    }

    /// As in the docs' configuration: the hardened settings change nothing
    /// here.
    #[tokio::test]
    async fn a_malformed_or_unknown_cookie_is_ignored() {
        super::a_malformed_or_unknown_cookie_is_ignored(true).await;
    }
}

/// The race of review finding H1, forced: alice logs in; a thief with a
/// copy of her cookie sends `POST /orders` and holds it open after the
/// session was loaded; alice logs out (204); the held request finishes
/// (201: its order is placed); then the thief's `GET /me`. Returns that
/// last status: 401 when the logout held, 200 when the session came back.
async fn race_a_logout(peer: &Peer) -> StatusCode {
    let mut alice = peer.browser();
    alice.login_alice().await;
    let stolen = alice.cookie.clone().unwrap();
    let held = HeldRequest::start(peer, alice.cookie_name, &stolen).await;
    assert_eq!(
        alice.post("/logout", json!({})).await.status,
        StatusCode::NO_CONTENT
    );
    let answer = held.finish().await;
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    let mut thief = peer.browser();
    thief.cookie = Some(stolen);
    thief.get("/me").await.status
}

async fn a_malformed_or_unknown_cookie_is_ignored(hardened: bool) {
    let peer = Peer::start(memory(hardened)).await;
    let unknown = "AAAAAAAAAAAAAAAAAAAAAA";
    for value in ["not a session id", "%00%ff", "AAAA", unknown] {
        let mut browser = peer.browser();
        browser.cookie = Some(value.to_owned());
        let me = browser.get("/me").await;
        assert_eq!(me.status, StatusCode::UNAUTHORIZED, "{value:?}");
        browser.cookie = Some(value.to_owned());
        browser.login_alice().await;
        let issued = browser.cookie.clone().unwrap();
        assert_ne!(issued, value);
        assert_eq!(issued.len(), 22);
        assert_eq!(browser.get("/me").await.status, StatusCode::OK);
    }
}

/// The example's `authenticate` answers an unknown name without checking a
/// password: the answer's timing tells which names exist. The hardened
/// backend checks a dummy hash instead. Counted, not timed: one Argon2
/// verification per login attempt, known name or not.
#[tokio::test]
async fn an_unknown_name_costs_an_argon2_check_only_hardened() {
    use axum_login::AuthnBackend;
    use peer_axum_login::users::{Backend, Credentials};
    for (hardened, unknown_name_checks) in [(false, 0), (true, 1)] {
        let backend = Backend::with_demo_users(hardened).await.unwrap();
        let attempt = |name: &str| Credentials {
            username: name.to_owned(),
            password: "not-her-password".to_owned(),
        };
        assert!(
            backend
                .authenticate(attempt("alice"))
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(backend.verifications(), 1);
        assert!(
            backend
                .authenticate(attempt("bob"))
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            backend.verifications(),
            1 + unknown_name_checks,
            "hardened: {hardened}"
        );
    }
}
