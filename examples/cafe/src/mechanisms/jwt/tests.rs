//! Unit tests for the module beside this folder: kept out of its file so
//! that the chapters, which include the whole file, stay light.

use super::*;
use cafe::{AuthMode, Config};
use jwt::Lifetimes;

/// A library caller may hand the app any lifetimes (the flags stop at a
/// year): `now + refresh` once overflowed while building the hybrid's
/// refresh cookie. It saturates, and the cookie's `Max-Age` stays positive.
#[tokio::test]
async fn lifetimes_past_the_end_of_time_issue_a_cookie_instead_of_panicking() {
    let mut config = Config::new(AuthMode::Hybrid);
    config.jwt_lifetimes = Lifetimes {
        access: u64::MAX,
        refresh: u64::MAX,
        refresh_idle: u64::MAX,
    };
    let state = cafe::token_state(config);
    let alice = Profile {
        name: "alice".to_owned(),
        role: Role::Member,
    };
    let issued = state
        .mechanism
        .issue(
            &HeaderMap::new(),
            &alice,
            Default::default(),
            SystemTime::now(),
        )
        .await
        .unwrap()
        .issued;
    let (_, cookie) = issued
        .headers
        .iter()
        .find(|(name, _)| name == SET_COOKIE)
        .unwrap();
    let cookie = cookie.to_str().unwrap();
    assert!(cookie.contains("Max-Age="), "{cookie}");
    assert!(!cookie.contains("Max-Age=-"), "{cookie}");
}
