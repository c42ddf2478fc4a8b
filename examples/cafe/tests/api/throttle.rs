//! The login throttle, in every mode: a guesser is stopped, the owner is
//! not, and one client spraying many names is stopped too
//! ([`cafe::throttle`]).

use crate::conformance::{ADMIN, ALICE};
use crate::support::{Mode, for_every_mechanism, spawn_app};
use std::time::Duration;

async fn repeated_failures_are_throttled(mode: Mode) {
    let app = spawn_app(mode).await;
    for _ in 0..5 {
        assert_eq!(app.visitor().log_in("alice", "guess").await.status, 401);
    }
    let throttled = app.visitor().log_in("alice", "guess").await;
    assert_eq!(throttled.status, 429);
    assert_eq!(throttled.header("retry-after"), Some("900"));
    // Even the right password waits: the throttle acts before checking it.
    assert_eq!(app.visitor().log_in(ALICE.0, ALICE.1).await.status, 429);
    // Other accounts are not affected, and the lock lifts with time.
    assert_eq!(app.visitor().log_in(ADMIN.0, ADMIN.1).await.status, 200);
    // A name nobody has is throttled the same way: the 429 reveals nothing.
    for _ in 0..5 {
        assert_eq!(
            app.visitor().log_in("nobody-here", "guess").await.status,
            401
        );
    }
    let unknown = app.visitor().log_in("nobody-here", "guess").await;
    assert_eq!(unknown.status, 429);
    assert_eq!(unknown.header("retry-after"), Some("900"));
    app.wait(Duration::from_secs(15 * 60));
    assert_eq!(app.visitor().log_in(ALICE.0, ALICE.1).await.status, 200);
}

/// Six wrong passwords for admin from one machine lock that machine out of
/// admin, not admin out of the café: the owner, elsewhere, logs in.
async fn a_strangers_failures_do_not_lock_the_owner_out(mode: Mode) {
    let app = spawn_app(mode).await;
    let stranger = app.visitor_from("127.0.0.2");
    for _ in 0..5 {
        assert_eq!(stranger.clone().log_in(ADMIN.0, "guess").await.status, 401);
    }
    assert_eq!(stranger.clone().log_in(ADMIN.0, "guess").await.status, 429);
    let mut owner = app.visitor_from("127.0.0.3");
    assert_eq!(owner.log_in(ADMIN.0, ADMIN.1).await.status, 200);
    // And a forged X-Forwarded-For does not make the stranger someone else.
    let forged =
        crate::support::login_call(ADMIN.0, "guess").header("x-forwarded-for", "192.0.2.1");
    assert_eq!(stranger.send(&forged).await.status, 429);
}

/// One machine spraying one password across many names is stopped after
/// twenty failures, whatever the names; another machine is not.
async fn one_client_spraying_many_names_is_throttled(mode: Mode) {
    let app = spawn_app(mode).await;
    let sprayer = app.visitor_from("127.0.0.4");
    let mut statuses = Vec::new();
    for n in 0..21 {
        let name = format!("spray-{n}");
        statuses.push(sprayer.clone().log_in(&name, "Summer2026!").await.status);
    }
    assert_eq!(statuses[..20], [401; 20], "{statuses:?}");
    assert_eq!(statuses[20], 429, "{statuses:?}");
    // The sprayer's right password waits too; alice elsewhere does not.
    assert_eq!(sprayer.clone().log_in(ALICE.0, ALICE.1).await.status, 429);
    let mut alice = app.visitor_from("127.0.0.5");
    assert_eq!(alice.log_in(ALICE.0, ALICE.1).await.status, 200);
}

for_every_mechanism!(
    repeated_failures_are_throttled,
    a_strangers_failures_do_not_lock_the_owner_out,
    one_client_spraying_many_names_is_throttled,
);
