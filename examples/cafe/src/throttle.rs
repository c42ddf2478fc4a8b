//! Slowing down password guessing against one account.
//!
//! Each login attempt for a name is counted *before* its password is
//! checked. Once `max_attempts` attempts for the same name fall within
//! `window`, further attempts are refused with 429 until the oldest leaves
//! the window; the password is not even checked. A correct login clears the
//! count. (OWASP Authentication Cheat Sheet, "Login Throttling"; ASVS 5.0
//! requirement 6.3.1.)

use std::time::{Duration, SystemTime};

/// The throttle's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Attempts allowed inside the window (a correct one clears them).
    pub max_attempts: usize,
    /// How far back attempts count.
    pub window: Duration,
}

impl Default for ThrottlePolicy {
    fn default() -> ThrottlePolicy {
        ThrottlePolicy {
            max_attempts: 5,
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// Whether an attempt may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Counted; check the password.
    Allowed,
    /// Too many: come back after this long.
    Refused {
        /// Until the oldest counted attempt leaves the window.
        retry_after: Duration,
    },
}

// ANCHOR: reserve
/// The decision itself, on one name's recent attempts: the same in every
/// store, so that a shared store runs exactly this inside its atomic step.
pub fn reserve(attempts: &mut Vec<SystemTime>, now: SystemTime, policy: ThrottlePolicy) -> Attempt {
    let within_window = |t: &SystemTime| now.duration_since(*t).unwrap_or_default() < policy.window;
    attempts.retain(within_window);
    if attempts.len() < policy.max_attempts {
        attempts.push(now);
        return Attempt::Allowed;
    }
    let oldest = attempts.iter().min().copied().unwrap_or(now);
    let frees_at = oldest + policy.window;
    Attempt::Refused {
        retry_after: frees_at
            .duration_since(now)
            .unwrap_or_default()
            .max(Duration::from_secs(1)),
    }
}
// ANCHOR_END: reserve

#[cfg(test)]
mod tests {
    use super::*;
    use cafe::store::{MemoryThrottle, ThrottleStore};

    #[test]
    fn the_sixth_attempt_waits_until_the_first_is_old() {
        let policy = ThrottlePolicy::default();
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut alice = Vec::new();
        for minute in 0..5 {
            let now = start + Duration::from_secs(minute * 60);
            assert_eq!(reserve(&mut alice, now, policy), Attempt::Allowed);
        }
        let now = start + Duration::from_secs(5 * 60);
        assert_eq!(
            reserve(&mut alice, now, policy),
            Attempt::Refused {
                retry_after: Duration::from_secs(10 * 60)
            }
        );
        let at_fifteen = start + Duration::from_secs(15 * 60);
        assert_eq!(reserve(&mut alice, at_fifteen, policy), Attempt::Allowed);
    }

    #[tokio::test]
    async fn names_are_counted_apart_and_a_clear_forgets_one() {
        let throttle = MemoryThrottle::default();
        let policy = ThrottlePolicy {
            max_attempts: 1,
            window: Duration::from_secs(60),
        };
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let attempt = |name| throttle.reserve_attempt(name, now, policy);
        assert_eq!(attempt("alice").await.unwrap(), Attempt::Allowed);
        assert!(matches!(
            attempt("alice").await.unwrap(),
            Attempt::Refused { .. }
        ));
        assert_eq!(attempt("admin").await.unwrap(), Attempt::Allowed);
        throttle.clear("alice").await.unwrap();
        assert_eq!(attempt("alice").await.unwrap(), Attempt::Allowed);
    }
}
