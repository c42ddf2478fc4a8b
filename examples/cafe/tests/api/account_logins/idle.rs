//! The refresh idle limit: a token login not refreshed for
//! `Lifetimes::refresh_idle` ends, as a session left idle does. Sessions
//! have no refresh at all: each request renews them.

use super::{ALICE, PHONE, access_lifetime, log_in_on_device, logins_of};
use crate::support::{Call, Mode, TestApp, spawn_app};
use std::time::Duration;

/// The default idle limit in `mode`: the session's 30 minutes plus one
/// access-token lifetime.
fn default_idle_limit(mode: Mode) -> u64 {
    let idle = ::jwt::Lifetimes::with_access(access_lifetime(mode)).refresh_idle;
    let expected = match mode {
        Mode::Hybrid => 35 * 60,
        Mode::Sessions | Mode::Jwt | Mode::JwtDenylist | Mode::JwtChecked => 45 * 60,
    };
    assert_eq!(idle, expected, "{mode:?}");
    idle
}

/// A refresh one second inside the limit works and starts it again; one
/// at exactly the limit is refused, and the login is over for good.
pub async fn a_login_left_unrefreshed_for_the_idle_limit_ends_for_good(app: &TestApp) {
    let mode = app.mode;
    let idle = default_idle_limit(mode);
    let mut alice = app.logged_in(ALICE.0, ALICE.1).await;
    let login_id = super::own_login_id(&alice).await;

    let mut renewed = 0;
    for _ in 0..2 {
        app.wait(Duration::from_secs(idle - 1));
        let refreshed = alice.refresh().await;
        assert_eq!(refreshed.status, 200, "{}", refreshed.text);
        renewed += 1;
    }
    // Twice the limit, less two seconds, since the login: each refresh
    // started the limit again.
    assert_eq!(renewed, 2);
    assert_eq!(super::own_login_id(&alice).await, login_id);

    app.wait(Duration::from_secs(idle));
    let idle_token = alice.clone();
    let refused = alice.refresh().await;
    assert_eq!(refused.status, 401, "{}", refused.text);
    if mode == Mode::Hybrid {
        // The browser is told to drop the cookie that no longer works.
        assert!(
            refused
                .set_cookie(cafe::mechanisms::jwt::REFRESH_COOKIE)
                .is_some()
        );
    }

    // Over for good: the same token again, even at once, is refused, and
    // the login is on nobody's list.
    for _ in 0..2 {
        assert_eq!(idle_token.clone().refresh().await.status, 401);
    }
    let phone = log_in_on_device(app, "127.0.0.2", PHONE, ALICE).await;
    let logins = logins_of(&phone).await;
    assert_eq!(logins.len(), 1, "only the phone's: {logins:?}");
    assert_ne!(logins[0]["id"], login_id.as_str());
}

#[tokio::test]
async fn jwt_a_login_left_unrefreshed_for_the_idle_limit_ends_for_good() {
    a_login_left_unrefreshed_for_the_idle_limit_ends_for_good(&spawn_app(Mode::Jwt).await).await;
}

#[tokio::test]
async fn hybrid_a_login_left_unrefreshed_for_the_idle_limit_ends_for_good() {
    let app = spawn_app(Mode::Hybrid).await;
    a_login_left_unrefreshed_for_the_idle_limit_ends_for_good(&app).await;
}

/// A session is renewed by every request, never by `/refresh`: there is
/// none, logged in or not.
#[tokio::test]
async fn sessions_have_no_refresh_endpoint() {
    let app = spawn_app(Mode::Sessions).await;
    let refresh = Call::post("/refresh");
    assert_eq!(app.visitor().send(&refresh).await.status, 404);
    let alice = app.logged_in(ALICE.0, ALICE.1).await;
    assert_eq!(alice.send(&refresh).await.status, 404);
    assert_eq!(alice.get("/me").await.status, 200);
}
