use super::*;
use cafe::store::MemoryThrottle;

const START: u64 = 1_000_000;

fn at(seconds: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(START + seconds)
}

fn refuse(max: usize) -> Limit {
    Limit {
        max,
        window: Duration::from_secs(15 * 60),
        past_the_limit: PastTheLimit::Refuse,
    }
}

#[test]
fn the_sixth_attempt_waits_until_the_first_is_old() {
    let limit = refuse(5);
    let mut alice = Vec::new();
    for minute in 0..5 {
        assert_eq!(
            reserve(&mut alice, (at(minute * 60), minute), limit),
            Attempt::Allowed
        );
    }
    assert_eq!(
        reserve(&mut alice, (at(5 * 60), 5), limit),
        Attempt::Refused {
            retry_after: Duration::from_secs(10 * 60)
        }
    );
    assert_eq!(
        reserve(&mut alice, (at(15 * 60), 6), limit),
        Attempt::Allowed
    );
}

#[test]
fn the_same_attempt_sent_twice_is_counted_once() {
    let limit = refuse(2);
    let mut alice = Vec::new();
    assert_eq!(reserve(&mut alice, (at(0), 7), limit), Attempt::Allowed);
    assert_eq!(reserve(&mut alice, (at(0), 7), limit), Attempt::Allowed);
    assert_eq!(alice.len(), 1);
    assert_eq!(reserve(&mut alice, (at(1), 8), limit), Attempt::Allowed);
    assert!(matches!(
        reserve(&mut alice, (at(2), 9), limit),
        Attempt::Refused { .. }
    ));
}

#[test]
fn past_a_spacing_limit_attempts_are_slowed_never_locked() {
    let limit = Limit {
        max: 3,
        window: Duration::from_secs(900),
        past_the_limit: PastTheLimit::Space,
    };
    assert_eq!(limit.spacing(), Duration::from_secs(300));
    let mut account = Vec::new();
    for n in 0..3 {
        assert_eq!(reserve(&mut account, (at(n), n), limit), Attempt::Allowed);
    }
    // The fourth must wait for the spacing after the newest: 300 s after
    // the attempt at 2 s, not until the window frees a slot.
    assert_eq!(
        reserve(&mut account, (at(3), 3), limit),
        Attempt::Refused {
            retry_after: Duration::from_secs(299)
        }
    );
    assert_eq!(reserve(&mut account, (at(302), 4), limit), Attempt::Allowed);
    // And the next waits for the spacing again, however many are counted.
    assert_eq!(
        reserve(&mut account, (at(303), 5), limit),
        Attempt::Refused {
            retry_after: Duration::from_secs(299)
        }
    );
    assert!(account.len() <= 2 * limit.max);
}

/// A stranger's failures at alice, from one address, do not stop alice
/// from another; and twenty failures from one address stop that address,
/// whatever the names.
#[tokio::test]
async fn a_strangers_failures_stop_the_stranger_not_the_owner() {
    let store = MemoryThrottle::default();
    let policy = ThrottlePolicy::default();
    let now = at(0);
    for _ in 0..5 {
        let attempt = LoginAttempt::reserve(&store, "alice", "198.51.100.7", now, policy);
        assert!(attempt.await.unwrap().is_ok());
    }
    let stranger = LoginAttempt::reserve(&store, "alice", "198.51.100.7", now, policy);
    assert!(stranger.await.unwrap().is_err(), "the stranger is refused");
    let owner = LoginAttempt::reserve(&store, "alice", "203.0.113.4", now, policy);
    owner.await.unwrap().unwrap().succeeded().await.unwrap();

    for n in 0..15 {
        let name = format!("name-{n}");
        let attempt = LoginAttempt::reserve(&store, &name, "198.51.100.7", now, policy);
        assert!(attempt.await.unwrap().is_ok(), "failure {}", n + 6);
    }
    let spraying = LoginAttempt::reserve(&store, "bob", "198.51.100.7", now, policy);
    assert!(spraying.await.unwrap().is_err(), "the 21st is refused");
}

/// Successes add nothing: a user may log in from one place all day.
#[tokio::test]
async fn a_correct_password_counts_against_nobody() {
    let store = MemoryThrottle::default();
    let policy = ThrottlePolicy::default();
    for n in 0..100 {
        let attempt = LoginAttempt::reserve(&store, "alice", "203.0.113.4", at(n), policy);
        let attempt = attempt.await.unwrap().expect("never throttled");
        attempt.succeeded().await.unwrap();
    }
}

/// The numbers the book states: 5 per account and client and 20 per client
/// in 15 minutes, then refused; 100 per account, then one every 9 seconds.
#[test]
fn the_default_policy_is_the_one_the_book_states() {
    let policy = ThrottlePolicy::default();
    let fifteen_minutes = Duration::from_secs(15 * 60);
    for (limit, max, past_the_limit) in [
        (policy.per_account_and_client, 5, PastTheLimit::Refuse),
        (policy.per_client, 20, PastTheLimit::Refuse),
        (policy.per_account, 100, PastTheLimit::Space),
    ] {
        assert_eq!((limit.max, limit.window), (max, fifteen_minutes));
        assert_eq!(limit.past_the_limit, past_the_limit);
    }
    assert_eq!(policy.per_account.spacing(), Duration::from_secs(9));
    // A correct password makes its client known for thirty days.
    assert_eq!(policy.known_for, Duration::from_secs(30 * 24 * 60 * 60));
}

/// Strangers who fill the account's ceiling and then poll for every spaced
/// slot hold back only clients the account does not know: the owner, from
/// where they logged in before, is never held back by it.
#[tokio::test]
async fn a_filled_account_ceiling_holds_back_strangers_not_a_known_client() {
    let store = MemoryThrottle::default();
    let policy = ThrottlePolicy::default();
    let owner = LoginAttempt::reserve(&store, "admin", "203.0.113.4", at(0), policy);
    owner.await.unwrap().unwrap().succeeded().await.unwrap();
    // Twenty addresses, five failures each: the ceiling of 100 is full.
    for stranger in 0..20 {
        for _ in 0..5 {
            let client = format!("198.51.100.{stranger}");
            let attempt = LoginAttempt::reserve(&store, "admin", &client, at(1), policy);
            assert!(attempt.await.unwrap().is_ok());
        }
    }
    // A new stranger waits for a spaced slot; the owner does not.
    let poller = LoginAttempt::reserve(&store, "admin", "192.0.2.1", at(2), policy);
    assert!(poller.await.unwrap().is_err(), "past the ceiling: spaced");
    let owner = LoginAttempt::reserve(&store, "admin", "203.0.113.4", at(2), policy);
    owner.await.unwrap().expect("the owner is known");
    // Known for thirty days, then a stranger like any other.
    let later = at(2 + 30 * 24 * 60 * 60 + 1);
    for stranger in 0..20 {
        for _ in 0..5 {
            let client = format!("198.51.100.{stranger}");
            let attempt = LoginAttempt::reserve(&store, "admin", &client, later, policy);
            assert!(attempt.await.unwrap().is_ok());
        }
    }
    let forgotten = LoginAttempt::reserve(&store, "admin", "203.0.113.4", later, policy);
    assert!(forgotten.await.unwrap().is_err());
}

/// One address flooding made-up names is stopped at its own count before
/// any other count is touched, so it adds no keys and cannot push another
/// client's count out of a full map.
#[tokio::test]
async fn a_flood_of_names_from_one_client_cannot_evict_another_clients_count() {
    let store = MemoryThrottle::keeping(64);
    let policy = ThrottlePolicy::default();
    for _ in 0..5 {
        let guesser = LoginAttempt::reserve(&store, "admin", "198.51.100.7", at(0), policy);
        assert!(guesser.await.unwrap().is_ok());
    }
    for n in 0..10_000 {
        let name = format!("made-up-{n}");
        let flood = LoginAttempt::reserve(&store, &name, "192.0.2.1", at(1), policy);
        let flooded = flood.await.unwrap().is_ok();
        assert_eq!(flooded, n < 20, "attempt {n}");
    }
    let guesser = LoginAttempt::reserve(&store, "admin", "198.51.100.7", at(2), policy);
    assert!(
        guesser.await.unwrap().is_err(),
        "the guesser's count survived"
    );
}

/// An attempt whose password was never checked is taken back everywhere.
#[tokio::test]
async fn an_abandoned_attempt_counts_for_nothing() {
    let store = MemoryThrottle::default();
    let policy = ThrottlePolicy::default();
    for _ in 0..10 {
        let attempt = LoginAttempt::reserve(&store, "alice", "203.0.113.4", at(0), policy);
        attempt.await.unwrap().unwrap().abandon().await.unwrap();
    }
    let attempt = LoginAttempt::reserve(&store, "alice", "203.0.113.4", at(0), policy);
    assert!(attempt.await.unwrap().is_ok());
}
