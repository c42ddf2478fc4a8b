//! Defects found by probing the café from outside, each pinned by a test
//! that drives the real server; and what each mode looks up per request.

use crate::golden::check_golden;
use crate::support::{Call, Mode, login_call, spawn_app, spawn_app_with};
use async_trait::async_trait;
use cafe::users::{HashingLimits, PasswordChecker};
use jwt::revocation::{StoreError, TokenVersionStore};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const MODES: [Mode; 5] = [
    Mode::Sessions,
    Mode::Jwt,
    Mode::JwtDenylist,
    Mode::JwtChecked,
    Mode::Hybrid,
];

/// Sends `calls` at once, each from its own client, and returns the statuses.
async fn all_at_once(app: &crate::support::TestApp, calls: Vec<Call>) -> Vec<u16> {
    let sends = calls
        .into_iter()
        .map(|call| (app.visitor(), call))
        .collect();
    crate::support::statuses_at_once(sends).await
}

#[tokio::test]
async fn twenty_parallel_guesses_get_five_password_checks() {
    let app = spawn_app(Mode::Sessions).await;
    let guesses = (0..20)
        .map(|n| login_call("alice", &format!("guess-{n}")))
        .collect();
    let statuses = all_at_once(&app, guesses).await;
    let checked = statuses.iter().filter(|&&s| s == 401).count();
    let throttled = statuses.iter().filter(|&&s| s == 429).count();
    assert_eq!((checked, throttled), (5, 15), "{statuses:?}");
    assert_eq!(app.passwords.verifications(), 5, "only five hashes ran");
}

#[tokio::test]
async fn an_unknown_name_costs_the_same_argon2_verification_as_a_wrong_password() {
    let app = spawn_app(Mode::Sessions).await;
    assert_eq!(app.visitor().log_in("alice", "wrong").await.status, 401);
    assert_eq!(app.passwords.verifications(), 1);
    assert_eq!(app.visitor().log_in("mallory", "wrong").await.status, 401);
    assert_eq!(
        app.passwords.verifications(),
        2,
        "no shortcut for a name that does not exist"
    );
}

#[tokio::test]
async fn logins_beyond_the_hashing_slots_wait_then_get_503_never_500() {
    let mut config = Mode::Sessions.config();
    let limits = HashingLimits {
        concurrent: 1,
        queue_wait: Duration::from_millis(20),
    };
    config.passwords = Arc::new(PasswordChecker::new(limits).unwrap());
    let app = spawn_app_with(Mode::Sessions, config).await;
    // Sixteen different unknown names: the throttle does not step in, and
    // every one would cost a full Argon2 check.
    let logins = (0..16)
        .map(|n| login_call(&format!("visitor-{n}"), "wonderland-42"))
        .collect();
    let statuses = all_at_once(&app, logins).await;
    assert!(
        statuses.iter().all(|&s| s == 401 || s == 503),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&503),
        "one slot cannot serve 16 at once: {statuses:?}"
    );
    let busy = app
        .visitor()
        .send(&login_call("alice", "wonderland-42"))
        .await;
    assert_eq!(busy.status, 200, "and the server recovers at once");
}

#[tokio::test]
async fn a_logged_out_access_token_stays_refused_through_the_leeway() {
    let app = spawn_app(Mode::JwtDenylist).await;
    let alice = app.logged_in("alice", "wonderland-42").await;
    // Two seconds before the token expires, alice logs out...
    app.wait(Duration::from_secs(15 * 60 - 2));
    assert_eq!(alice.send(&Call::post("/logout")).await.status, 204);
    // ...and four seconds later, past exp but inside the 5-second leeway
    // that the verifier still accepts, a copy of the token is replayed.
    app.wait(Duration::from_secs(4));
    assert_eq!(alice.get("/me").await.status, 401);
}

#[tokio::test]
async fn a_token_logged_out_inside_the_leeway_is_refused() {
    let app = spawn_app(Mode::JwtDenylist).await;
    let alice = app.logged_in("alice", "wonderland-42").await;
    app.wait(Duration::from_secs(15 * 60 + 1));
    assert_eq!(alice.get("/me").await.status, 200, "inside the leeway");
    assert_eq!(alice.send(&Call::post("/logout")).await.status, 204);
    assert_eq!(alice.get("/me").await.status, 401);
}

/// A token-version store that lets an admin change the user's role at the
/// worst moment: just after a refresh has read the version for its new token.
struct RoleChangeDuringRefresh {
    inner: Arc<dyn TokenVersionStore>,
    armed: AtomicBool,
}

#[async_trait]
impl TokenVersionStore for RoleChangeDuringRefresh {
    async fn current(&self, user: &str) -> Result<u64, StoreError> {
        let version = self.inner.current(user).await?;
        if self.armed.swap(false, Ordering::SeqCst) {
            self.inner.bump(user).await?;
        }
        Ok(version)
    }

    async fn bump(&self, user: &str) -> Result<u64, StoreError> {
        self.inner.bump(user).await
    }
}

#[tokio::test]
async fn a_role_change_during_a_refresh_never_turns_it_into_a_500() {
    let mut config = Mode::JwtChecked.config();
    let racing = Arc::new(RoleChangeDuringRefresh {
        inner: config.stores.tokens.versions.clone(),
        armed: AtomicBool::new(false),
    });
    config.stores.tokens.versions = racing.clone();
    let app = spawn_app_with(Mode::JwtChecked, config).await;
    let mut alice = app.logged_in("alice", "wonderland-42").await;
    racing.armed.store(true, Ordering::SeqCst);
    let refreshed = alice.refresh().await;
    assert_eq!(refreshed.status, 200, "{:?}", refreshed.body);
    assert_eq!(refreshed.body["user"]["name"], "alice");
    // The new access token predates the role change, so it is refused, and
    // the next refresh brings the current role: the ordinary stale-token path.
    assert_eq!(alice.get("/me").await.status, 401);
    assert_eq!(alice.refresh().await.status, 200);
    assert_eq!(alice.get("/me").await.status, 200);
}

#[tokio::test]
async fn refresh_token_reuse_ends_the_familys_access_tokens_when_versions_are_checked() {
    for mode in [Mode::Jwt, Mode::JwtChecked] {
        let app = spawn_app(mode).await;
        let mut alice = app.logged_in("alice", "wonderland-42").await;
        let stolen = alice.clone();
        assert_eq!(alice.refresh().await.status, 200);
        // Mallory replays the refresh token she copied before that refresh.
        let mut mallory = stolen;
        assert_eq!(mallory.refresh().await.status, 401);
        let after = alice.get("/me").await.status;
        match mode {
            Mode::JwtChecked => assert_eq!(after, 401, "every access token of alice ends"),
            _ => assert_eq!(after, 200, "the residual window: until the token expires"),
        }
    }
}

#[tokio::test]
async fn a_store_outage_is_a_503_and_lets_nobody_in() {
    for mode in MODES {
        let app = spawn_app(mode).await;
        let alice = app.logged_in("alice", "wonderland-42").await;
        app.probe.set_down(true);

        let me = alice.get("/me").await;
        match mode {
            // Nothing is looked up, so nothing can fail: the real
            // availability argument for self-contained tokens.
            Mode::Jwt | Mode::Hybrid => {
                assert_eq!(me.status, 200, "{mode:?}");
                assert_eq!(me.body, json!({ "name": "alice", "role": "member" }));
            }
            _ => {
                assert_eq!(me.status, 503, "{mode:?}");
                assert_eq!(me.header("retry-after"), Some("1"));
                assert!(me.body["error"].is_string());
            }
        }
        let login = app.visitor().log_in("admin", "admin-secret-42").await;
        assert_eq!(login.status, 503, "{mode:?}");
        let order = alice.post("/orders", json!({ "item": "flat white" })).await;
        assert_eq!(order.status, 503, "{mode:?}");
        let forged = app.visitor();
        assert_eq!(forged.get("/me").await.status, 401, "{mode:?}");

        app.probe.set_down(false);
        assert_eq!(alice.get("/me").await.status, 200, "{mode:?} recovers");
        assert_eq!(
            app.visitor()
                .log_in("admin", "admin-secret-42")
                .await
                .status,
            200
        );
    }
}

// ANCHOR: lookups
/// What one authenticated `GET /me` asks the stores, in each mode. The
/// chapters quote the table this writes.
#[tokio::test]
async fn each_mode_looks_up_exactly_what_its_chapter_says() {
    let mut table = String::from("# the store calls one authenticated GET /me makes\n");
    for mode in MODES {
        let app = spawn_app(mode).await;
        let alice = app.logged_in("alice", "wonderland-42").await;
        app.probe.take_calls();
        assert_eq!(alice.get("/me").await.status, 200);
        let calls = app.probe.take_calls();
        let expected: &[&str] = match mode {
            Mode::Sessions => &["sessions.load", "sessions.touch", "accounts.account"],
            Mode::Jwt | Mode::Hybrid => &[],
            Mode::JwtDenylist => &["denylist.is_denied"],
            Mode::JwtChecked => &["versions.current"],
        };
        assert_eq!(calls, expected, "{mode:?}");
        let name = match mode {
            Mode::Sessions => "sessions",
            Mode::Jwt => "jwt",
            Mode::JwtDenylist => "jwt --check-denylist",
            Mode::JwtChecked => "jwt --check-token-version",
            Mode::Hybrid => "hybrid",
        };
        let shown = if calls.is_empty() {
            "(none)".to_owned()
        } else {
            calls.join(", ")
        };
        table.push_str(&format!("{name:<26} {} lookups: {shown}\n", calls.len()));
    }
    check_golden("lookups-per-request.txt", &table);
}
// ANCHOR_END: lookups
