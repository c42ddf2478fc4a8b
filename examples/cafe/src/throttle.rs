//! Slowing down password guessing, without letting a stranger lock the
//! owner out.
//!
//! Every login attempt is counted three times, *before* its password is
//! checked, each count over the same window:
//!
//! - per account **and** client (the peer address): a guesser at one
//!   account from one place gets `429` after a few tries, while the owner,
//!   somewhere else, logs in as usual;
//! - per client, whatever the names: one machine spraying a common password
//!   across many accounts is stopped too;
//! - per account, from every client the account does not know: past a
//!   ceiling, attempts are *spaced* (one every `window / max`), so a botnet
//!   that rotates addresses is slowed.
//!
//! A correct password clears the account-and-client count and is not
//! counted against the client or the account: only failures add up. And it
//! makes the client *known* to the account for a while: a known client is
//! never held back by the account's ceiling. That is what keeps strangers
//! from locking the owner out through it: an attacker who polls fast can
//! take every spaced slot, but only from clients the account does not know.
//! (OWASP Authentication Cheat Sheet, "Login Throttling" and "Account
//! Lockout", on lockout abuse; its "device cookies" idea, here by client
//! address; ASVS 5.0 requirement 6.3.1.) A client the owner has never
//! logged in from can still be held back while an attack lasts: the price
//! of a ceiling at all.

use cafe::store::{StoreError, ThrottleStore};
use std::time::{Duration, SystemTime};

/// What happens to an attempt past a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PastTheLimit {
    /// Refused until the oldest counted attempt leaves the window.
    Refuse,
    /// Let through one at a time, `window / max` apart: slowed, never
    /// locked.
    Space,
}

/// One count: at most `max` attempts inside `window`, then `past_the_limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Attempts allowed inside the window.
    pub max: usize,
    /// How far back attempts count.
    pub window: Duration,
    /// What happens to the next one.
    pub past_the_limit: PastTheLimit,
}

impl Limit {
    /// How far apart attempts are let through past a [`PastTheLimit::Space`]
    /// limit: the window shared out evenly (at least a millisecond).
    pub fn spacing(&self) -> Duration {
        let max = u32::try_from(self.max.max(1)).unwrap_or(u32::MAX);
        (self.window / max).max(Duration::from_millis(1))
    }
}

/// The throttle's three limits, and how long a client stays known to an
/// account after a correct password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Attempts at one account from one client: 5 per 15 minutes, then
    /// refused.
    pub per_account_and_client: Limit,
    /// Attempts from one client, at any accounts: 20 per 15 minutes, then
    /// refused (password spraying).
    pub per_client: Limit,
    /// Attempts at one account, from every client it does not know: 100 per
    /// 15 minutes, then one every 9 seconds.
    pub per_account: Limit,
    /// How long a client stays known to an account after a correct
    /// password from it: 30 days.
    pub known_for: Duration,
}

/// How many clients an account knows at once: the most recent ones.
pub const KNOWN_CLIENTS_PER_ACCOUNT: usize = 16;

impl Default for ThrottlePolicy {
    fn default() -> ThrottlePolicy {
        let window = Duration::from_secs(15 * 60);
        let limit = |max, past_the_limit| Limit {
            max,
            window,
            past_the_limit,
        };
        ThrottlePolicy {
            per_account_and_client: limit(5, PastTheLimit::Refuse),
            per_client: limit(20, PastTheLimit::Refuse),
            per_account: limit(100, PastTheLimit::Space),
            known_for: Duration::from_secs(30 * 24 * 60 * 60),
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
        /// Until the count lets one more through.
        retry_after: Duration,
    },
}

/// One attempt's entry in a count: when, and a random number that names it,
/// so it can be taken back, and so a reservation sent twice (after a
/// dropped connection) is found instead of counted again.
pub type CountedAttempt = (SystemTime, u64);

// ANCHOR: reserve
/// The decision itself, on one count's recent attempts: the same in every
/// store, so that a shared store runs exactly this inside its atomic step.
pub fn reserve(
    attempts: &mut Vec<CountedAttempt>,
    attempt: CountedAttempt,
    limit: Limit,
) -> Attempt {
    let (now, id) = attempt;
    let age = |t: SystemTime| now.duration_since(t).unwrap_or_default();
    attempts.retain(|(t, _)| age(*t) < limit.window);
    if attempts.iter().any(|(_, counted)| *counted == id) {
        return Attempt::Allowed;
    }
    let newest = attempts.iter().map(|(t, _)| *t).max();
    let frees_at = match limit.past_the_limit {
        _ if attempts.len() < limit.max => None,
        PastTheLimit::Space => newest
            .map(|newest| newest + limit.spacing())
            .filter(|next| *next > now),
        PastTheLimit::Refuse => attempts.iter().map(|(t, _)| *t + limit.window).min(),
    };
    match frees_at {
        None => {
            attempts.push(attempt);
            Attempt::Allowed
        }
        Some(frees_at) => Attempt::Refused {
            retry_after: frees_at
                .duration_since(now)
                .unwrap_or_default()
                .max(Duration::from_secs(1)),
        },
    }
}
// ANCHOR_END: reserve

/// The keys of one login attempt's counts: per client, per account and
/// client, per account (the account name is the login's own text: a `\n`
/// keeps the two parts apart, since a name cannot hold one and get this
/// far), and the account's known clients.
struct Keys {
    client: String,
    account_and_client: String,
    account: String,
    known: String,
}

impl Keys {
    fn new(account: &str, client: &str) -> Keys {
        Keys {
            client: format!("client:{client}"),
            account_and_client: format!("account-client:{account}\n{client}"),
            account: format!("account:{account}"),
            known: format!("known:{account}"),
        }
    }
}

/// A login attempt that the throttle let through: its password may now be
/// checked. Tell it how the check went with [`LoginAttempt::succeeded`], or
/// [`LoginAttempt::abandon`] it when no check ran; a failed attempt simply
/// stays counted.
pub struct LoginAttempt<'a> {
    store: &'a dyn ThrottleStore,
    keys: Keys,
    client: String,
    id: u64,
    now: SystemTime,
    policy: ThrottlePolicy,
    /// The counts this attempt is in so far, to take it back from.
    counted: Vec<String>,
}

impl<'a> LoginAttempt<'a> {
    /// Counts an attempt at `account` from `client`, one atomic step per
    /// count: the client's first (so a client past its limit adds nothing
    /// more anywhere), then the account-and-client count, then, unless the
    /// account knows the client, the account's. `Ok(Err(retry_after))` if
    /// one of them refuses it; then it is taken back from the counts that
    /// had let it through.
    pub async fn reserve(
        store: &'a dyn ThrottleStore,
        account: &str,
        client: &str,
        now: SystemTime,
        policy: ThrottlePolicy,
    ) -> Result<Result<LoginAttempt<'a>, Duration>, StoreError> {
        let mut id = [0u8; 8];
        getrandom::fill(&mut id).map_err(|e| StoreError(e.to_string()))?;
        let mut attempt = LoginAttempt {
            store,
            keys: Keys::new(account, client),
            client: client.to_owned(),
            id: u64::from_le_bytes(id),
            now,
            policy,
            counted: Vec::new(),
        };
        let known = store.remembers(&attempt.keys.known, client, now).await?;
        let mut counts = vec![
            (attempt.keys.client.clone(), policy.per_client),
            (
                attempt.keys.account_and_client.clone(),
                policy.per_account_and_client,
            ),
        ];
        if !known {
            counts.push((attempt.keys.account.clone(), policy.per_account));
        }
        for (key, limit) in counts {
            let decision = store.reserve_attempt(&key, (now, attempt.id), limit).await;
            match decision {
                Ok(Attempt::Allowed) => attempt.counted.push(key),
                Ok(Attempt::Refused { retry_after }) => {
                    attempt.abandon().await?;
                    return Ok(Err(retry_after));
                }
                Err(error) => {
                    // Best effort: the store failed, so may this.
                    attempt.abandon().await.ok();
                    return Err(error);
                }
            }
        }
        Ok(Ok(attempt))
    }

    /// The password was right: this client's count at this account starts
    /// again, the attempt is no failure for the client or the account, and
    /// the account knows this client from now on.
    pub async fn succeeded(self) -> Result<(), StoreError> {
        self.store.clear(&self.keys.account_and_client).await?;
        for key in [&self.keys.client, &self.keys.account] {
            if self.counted.contains(key) {
                self.store.release(key, self.id).await?;
            }
        }
        let known_for = self.policy.known_for;
        self.store
            .remember(&self.keys.known, &self.client, self.now, known_for)
            .await
    }

    /// No password was checked (every hashing slot was busy, say): the
    /// attempt is taken back from every count, so an overloaded server does
    /// not turn the owner's tries into failures.
    pub async fn abandon(self) -> Result<(), StoreError> {
        for key in &self.counted {
            self.store.release(key, self.id).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
