//! Slowing down password guessing against one account.
//!
//! After `max_failures` wrong passwords for the same name within `window`,
//! further attempts for that name are refused with 429 until the oldest
//! failure leaves the window; the password is not even checked. A correct
//! login clears the count. (OWASP Authentication Cheat Sheet; ASVS 5.0 V6.3.)

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// Above this many tracked names, names whose failures are all old are dropped.
const TRACKED_NAMES_BEFORE_PRUNING: usize = 10_000;

/// The throttle's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures allowed inside the window.
    pub max_failures: usize,
    /// How far back failures count.
    pub window: Duration,
}

impl Default for ThrottlePolicy {
    fn default() -> ThrottlePolicy {
        ThrottlePolicy {
            max_failures: 5,
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// Recent failed logins, per submitted name (known or not, so the throttle
/// does not reveal which names exist).
#[derive(Debug, Default)]
pub struct LoginThrottle {
    policy: ThrottlePolicy,
    failures: Mutex<HashMap<String, Vec<SystemTime>>>,
}

impl LoginThrottle {
    /// A throttle with these limits.
    pub fn new(policy: ThrottlePolicy) -> LoginThrottle {
        LoginThrottle {
            policy,
            failures: Mutex::default(),
        }
    }

    /// `Err(wait)` when `name` has used up its failures; `wait` is how long
    /// until the next attempt is allowed.
    pub fn check(&self, name: &str, now: SystemTime) -> Result<(), Duration> {
        let mut failures = self.lock();
        let Some(times) = failures.get_mut(name) else {
            return Ok(());
        };
        times.retain(|&t| self.within_window(t, now));
        if times.len() < self.policy.max_failures {
            return Ok(());
        }
        let oldest = times.iter().min().copied().unwrap_or(now);
        let frees_at = oldest + self.policy.window;
        Err(frees_at
            .duration_since(now)
            .unwrap_or_default()
            .max(Duration::from_secs(1)))
    }

    /// Notes a wrong password for `name`.
    pub fn failed(&self, name: &str, now: SystemTime) {
        let mut failures = self.lock();
        if failures.len() >= TRACKED_NAMES_BEFORE_PRUNING {
            failures.retain(|_, times| times.iter().any(|&t| self.within_window(t, now)));
        }
        failures.entry(name.to_owned()).or_default().push(now);
    }

    /// Clears `name`'s failures after a correct password.
    pub fn succeeded(&self, name: &str) {
        self.lock().remove(name);
    }

    fn within_window(&self, failure: SystemTime, now: SystemTime) -> bool {
        now.duration_since(failure).unwrap_or_default() < self.policy.window
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<SystemTime>>> {
        self.failures.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sixth_attempt_waits_until_the_first_failure_is_old() {
        let throttle = LoginThrottle::new(ThrottlePolicy::default());
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        for minute in 0..5 {
            let now = start + Duration::from_secs(minute * 60);
            assert_eq!(throttle.check("alice", now), Ok(()));
            throttle.failed("alice", now);
        }
        let now = start + Duration::from_secs(5 * 60);
        assert_eq!(
            throttle.check("alice", now),
            Err(Duration::from_secs(10 * 60))
        );
        assert_eq!(
            throttle.check("admin", now),
            Ok(()),
            "other names are not affected"
        );
        assert_eq!(
            throttle.check("alice", start + Duration::from_secs(15 * 60)),
            Ok(())
        );
    }

    #[test]
    fn a_correct_password_clears_the_count() {
        let throttle = LoginThrottle::new(ThrottlePolicy::default());
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        for _ in 0..4 {
            throttle.failed("alice", now);
        }
        throttle.succeeded("alice");
        throttle.failed("alice", now);
        assert_eq!(throttle.check("alice", now), Ok(()));
    }
}
