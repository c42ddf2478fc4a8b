//! The listing, ending and idle scenarios again, with every store in one
//! real Redis: the per-user index, the login records and the idle check in
//! the rotation script are Redis's own code, not the memory store's.

use super::{ending, idle, listing};
use crate::redis_server::RedisServer;
use crate::support::{Mode, TestApp, opening_time, spawn_app_sharing};
use cafe::clock::ManualClock;
use cafe::store::Stores;
use std::sync::Arc;

/// A café in `mode` on `redis`, its keys under a prefix of their own.
async fn on_redis(redis: &RedisServer, mode: Mode, prefix: &str) -> TestApp {
    let store = redis.store(&format!("{prefix}:{mode:?}:")).await;
    let clock = Arc::new(ManualClock::starting_at(opening_time()));
    spawn_app_sharing(mode, Stores::all_in(Arc::new(store)), clock).await
}

#[tokio::test]
async fn listing_and_ending_logins_in_every_mode() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let mut scenarios = 0;
    for mode in [Mode::Sessions, Mode::Jwt, Mode::JwtChecked, Mode::Hybrid] {
        let app = on_redis(&redis, mode, "listed").await;
        listing::devices_listed(&app).await;
        let app = on_redis(&redis, mode, "last-used").await;
        listing::last_used_noted(&app).await;
        let app = on_redis(&redis, mode, "another").await;
        ending::another_device_cut_off(&app).await;
        let app = on_redis(&redis, mode, "not-own").await;
        ending::ids_not_ones_own(&app).await;
        let app = on_redis(&redis, mode, "own").await;
        ending::own_login_ended(&app).await;
        scenarios += 5;
    }
    assert_eq!(scenarios, 20);
}

/// The current password that ending a login asks for, with the throttle's
/// counts in Redis: a wrong one counts, a thief's guesses end nothing, and
/// ids are looked at only after the right one.
#[tokio::test]
async fn ending_a_login_asks_for_the_password_in_every_mode() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    for mode in [Mode::Sessions, Mode::Jwt, Mode::JwtChecked, Mode::Hybrid] {
        let app = on_redis(&redis, mode, "wrong").await;
        ending::a_wrong_password_counted(&app).await;
        let app = on_redis(&redis, mode, "thief").await;
        ending::a_stolen_credential_ends_no_other_login(&app).await;
        let app = on_redis(&redis, mode, "probe").await;
        ending::ids_looked_at_only_after_the_password(&app).await;
    }
}

#[tokio::test]
async fn the_refresh_idle_limit_in_jwt_and_hybrid() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    for mode in [Mode::Jwt, Mode::Hybrid] {
        let app = on_redis(&redis, mode, "idle").await;
        idle::a_login_left_unrefreshed_for_the_idle_limit_ends_for_good(&app).await;
    }
}
