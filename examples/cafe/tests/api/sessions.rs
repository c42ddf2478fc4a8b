//! What only server-side sessions do, tested over real HTTP. The book's
//! "Session attacks and defences" chapter names these tests.

use crate::support::{Call, Credential, Mode, session_id_of, spawn_app};
use sessions::{SessionId, Sessions, Timeouts};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

const MINUTE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn fixation_a_planted_id_is_replaced_at_login_and_never_logged_in() {
    let app = spawn_app(Mode::Sessions).await;
    // Mallory plants a well-formed ID of her choosing in Alice's browser...
    let planted = SessionId::generate().unwrap();
    let mut alice = app.visitor();
    alice.credential = Some(Credential::Cookie(format!(
        "__Host-session={}",
        planted.as_str()
    )));
    // ...and Alice logs in with it.
    assert_eq!(alice.log_in("alice", "wonderland-42").await.status, 200);

    let issued = alice.credential.clone().unwrap();
    assert_ne!(
        session_id_of(&issued),
        planted.as_str(),
        "login issued a fresh ID"
    );
    let mut mallory = app.visitor();
    mallory.credential = Some(Credential::Cookie(format!(
        "__Host-session={}",
        planted.as_str()
    )));
    assert_eq!(
        mallory.get("/me").await.status,
        401,
        "the planted ID is not Alice"
    );
    assert_eq!(alice.get("/me").await.status, 200);
}

#[tokio::test]
async fn fixation_logging_in_over_a_live_session_ends_that_session() {
    let app = spawn_app(Mode::Sessions).await;
    // Mallory logs in herself (as admin here) and plants her own live ID.
    let mallory = app.logged_in("admin", "admin-secret-42").await;
    let mut alice = app.visitor();
    alice.credential = mallory.credential.clone();
    assert_eq!(alice.log_in("alice", "wonderland-42").await.status, 200);

    assert_ne!(alice.credential, mallory.credential);
    assert_eq!(
        mallory.get("/me").await.status,
        401,
        "the old session ended at login"
    );
    assert_eq!(alice.get("/me").await.body["name"], "alice");
}

#[tokio::test]
async fn forged_and_malformed_ids_are_never_adopted() {
    let app = spawn_app(Mode::Sessions).await;
    let forged = SessionId::generate().unwrap();
    for cookie in [
        format!("__Host-session={}", forged.as_str()),
        "__Host-session=alice".to_owned(),
        "__Host-session=".to_owned(),
        format!("__Host-session={}AAAA", forged.as_str()),
    ] {
        let mut visitor = app.visitor();
        visitor.credential = Some(Credential::Cookie(cookie.clone()));
        assert_eq!(visitor.get("/me").await.status, 401, "{cookie}");
    }
    assert!(
        app.memory_sessions().snapshot().is_empty(),
        "nothing was created"
    );
}

#[tokio::test]
async fn an_id_in_the_url_or_another_header_is_ignored() {
    let app = spawn_app(Mode::Sessions).await;
    let alice = app.logged_in("alice", "wonderland-42").await;
    let id = session_id_of(alice.credential.as_ref().unwrap()).to_owned();
    let anonymous = app.visitor();
    assert_eq!(
        anonymous.get(&format!("/me?session={id}")).await.status,
        401
    );
    assert_eq!(
        anonymous
            .get(&format!("/me?__Host-session={id}"))
            .await
            .status,
        401
    );
    let header = Call::get("/me").header("x-session-id", &id);
    assert_eq!(anonymous.send(&header).await.status, 401);
}

#[tokio::test]
async fn the_cookie_has_every_protective_attribute() {
    let app = spawn_app(Mode::Sessions).await;
    let answer = app.visitor().log_in("alice", "wonderland-42").await;
    let cookie = answer.header("set-cookie").unwrap();
    let attributes: Vec<&str> = cookie.split("; ").collect();
    assert!(attributes[0].starts_with("__Host-session="));
    for expected in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(
            attributes.contains(&expected),
            "{expected} missing from {cookie}"
        );
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
    assert!(
        !cookie.contains("Expires") && !cookie.contains("Max-Age"),
        "{cookie}"
    );
}

#[tokio::test]
async fn logout_sends_an_expired_cookie() {
    let app = spawn_app(Mode::Sessions).await;
    let alice = app.logged_in("alice", "wonderland-42").await;
    let answer = alice.send(&Call::post("/logout")).await;
    let cookie = answer.header("set-cookie").unwrap();
    assert!(cookie.starts_with("__Host-session=;"), "{cookie}");
    assert!(cookie.contains("Max-Age=0"), "{cookie}");
    assert!(app.memory_sessions().snapshot().is_empty());
}

#[tokio::test]
async fn the_store_holds_only_the_hash_of_the_id() {
    let app = spawn_app(Mode::Sessions).await;
    let alice = app.logged_in("alice", "wonderland-42").await;
    let id = SessionId::parse(session_id_of(alice.credential.as_ref().unwrap())).unwrap();

    let stored = app.memory_sessions().snapshot();
    assert_eq!(stored.len(), 1);
    let (key, record) = &stored[0];
    assert_eq!(*key, id.key(), "filed under SHA-256(ID)");
    assert_eq!(record.user, "alice");
    assert!(
        !format!("{stored:?}").contains(id.as_str()),
        "the ID itself is nowhere"
    );
}

#[tokio::test]
async fn an_idle_session_expires_after_the_idle_timeout() {
    let app = spawn_app(Mode::Sessions).await;
    let alice = app.logged_in("alice", "wonderland-42").await;
    app.wait(29 * MINUTE);
    assert_eq!(
        alice.get("/me").await.status,
        200,
        "29 minutes idle is fine"
    );
    app.wait(29 * MINUTE);
    assert_eq!(
        alice.get("/me").await.status,
        200,
        "the last request restarted the count"
    );
    app.wait(30 * MINUTE);
    assert_eq!(
        alice.get("/me").await.status,
        401,
        "30 minutes idle ends it"
    );
    assert!(
        app.memory_sessions().snapshot().is_empty(),
        "and it is deleted"
    );
}

#[tokio::test]
async fn an_active_session_still_ends_at_the_absolute_timeout() {
    let app = spawn_app(Mode::Sessions).await;
    let alice = app.logged_in("alice", "wonderland-42").await;
    // A request every 20 minutes for almost eight hours...
    for _ in 0..23 {
        app.wait(20 * MINUTE);
        assert_eq!(alice.get("/me").await.status, 200);
    }
    // ...and at eight hours the session ends anyway.
    app.wait(20 * MINUTE);
    assert_eq!(alice.get("/me").await.status, 401);
}

/// A smoke test, and only that: it catches a broken encoder, a constant, a
/// counter or a truncated ID. It cannot tell a cryptographically secure
/// generator from a weak one — any PRNG passes it, and no statistical test
/// can prove unpredictability. That the IDs come from the OS CSPRNG is a
/// fact of the code (`SessionId::generate` calls `getrandom::fill`), checked
/// by review, not by this test.
#[tokio::test]
async fn ten_thousand_ids_are_distinct_and_use_the_whole_alphabet_evenly() {
    let store = Arc::new(sessions::MemoryStore::new());
    let sessions = Sessions::new(store, Timeouts::default());
    let now = crate::support::opening_time();
    let mut ids = HashSet::new();
    let mut symbol_counts: HashMap<char, u32> = HashMap::new();
    for _ in 0..10_000 {
        let (id, _) = sessions
            .start("alice", Default::default(), now)
            .await
            .unwrap();
        // The 43rd character holds only 4 random bits; count the first 42.
        for symbol in id.as_str().chars().take(42) {
            *symbol_counts.entry(symbol).or_default() += 1;
        }
        assert!(ids.insert(id.as_str().to_owned()), "a repeated ID");
    }
    assert_eq!(ids.len(), 10_000);
    assert_eq!(symbol_counts.len(), 64, "every base64url symbol appears");

    // 420,000 symbols over 64 values: each about 6,562 times if the bits are
    // uniform. Measured entropy per symbol should be within a hair of 6 bits.
    let total: f64 = symbol_counts.values().map(|&n| f64::from(n)).sum();
    let entropy: f64 = symbol_counts
        .values()
        .map(|&n| f64::from(n) / total)
        .map(|p| -p * p.log2())
        .sum();
    assert!(entropy > 5.99, "{entropy} bits per symbol");
    for (&symbol, &count) in &symbol_counts {
        assert!((5_900..7_250).contains(&count), "{symbol}: {count}");
    }
}

#[tokio::test]
async fn a_cross_site_logout_cannot_log_anyone_out() {
    let app = spawn_app(Mode::Sessions).await;
    let alice = app.logged_in("alice", "wonderland-42").await;
    let forged = Call::post("/logout").header("sec-fetch-site", "cross-site");
    assert_eq!(alice.send(&forged).await.status, 403);
    assert_eq!(alice.get("/me").await.status, 200);
    // A cross-site GET (following a link) is allowed: GETs change nothing.
    let link = Call::get("/me").header("sec-fetch-site", "cross-site");
    assert_eq!(alice.send(&link).await.status, 200);
}
