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
//! - per account, from every client: past a ceiling, attempts are *spaced*
//!   (one every `window / max`), never refused for longer, so a botnet that
//!   rotates addresses is slowed and the owner waits seconds at most.
//!
//! A correct password clears the account-and-client count and is not
//! counted against the client or the account: only failures add up. (OWASP
//! Authentication Cheat Sheet, "Login Throttling" and "Account Lockout",
//! on lockout abuse; ASVS 5.0 requirement 6.3.1.)

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

/// The throttle's three limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Attempts at one account from one client: 5 per 15 minutes, then
    /// refused.
    pub per_account_and_client: Limit,
    /// Attempts from one client, at any accounts: 20 per 15 minutes, then
    /// refused (password spraying).
    pub per_client: Limit,
    /// Attempts at one account, from every client: 100 per 15 minutes, then
    /// one every 9 seconds.
    pub per_account: Limit,
}

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

/// The three counts one login attempt is filed under.
fn counts(account: &str, client: &str, policy: ThrottlePolicy) -> [(String, Limit); 3] {
    [
        // The account name is the login's own text: a `\n` keeps the two
        // parts apart, since a name cannot hold one and get this far.
        (
            format!("account-client:{account}\n{client}"),
            policy.per_account_and_client,
        ),
        (format!("client:{client}"), policy.per_client),
        (format!("account:{account}"), policy.per_account),
    ]
}

/// A login attempt that the throttle let through: its password may now be
/// checked. Tell it how the check went with [`LoginAttempt::succeeded`]; a
/// failed attempt simply stays counted.
pub struct LoginAttempt<'a> {
    store: &'a dyn ThrottleStore,
    counts: [(String, Limit); 3],
    id: u64,
}

impl<'a> LoginAttempt<'a> {
    /// Counts an attempt at `account` from `client` in all three counts,
    /// one atomic step each. `Ok(Err(retry_after))` if one of them refuses
    /// it; then it is taken back from the counts that had let it through.
    pub async fn reserve(
        store: &'a dyn ThrottleStore,
        account: &str,
        client: &str,
        now: SystemTime,
        policy: ThrottlePolicy,
    ) -> Result<Result<LoginAttempt<'a>, Duration>, StoreError> {
        let mut id = [0u8; 8];
        getrandom::fill(&mut id).map_err(|e| StoreError(e.to_string()))?;
        let attempt = LoginAttempt {
            store,
            counts: counts(account, client, policy),
            id: u64::from_le_bytes(id),
        };
        for (taken, (key, limit)) in attempt.counts.iter().enumerate() {
            let decision = store.reserve_attempt(key, (now, attempt.id), *limit);
            if let Attempt::Refused { retry_after } = decision.await? {
                for (key, _) in &attempt.counts[..taken] {
                    store.release(key, attempt.id).await?;
                }
                return Ok(Err(retry_after));
            }
        }
        Ok(Ok(attempt))
    }

    /// The password was right: this client's count at this account starts
    /// again, and the attempt is no failure for the client or the account.
    pub async fn succeeded(self) -> Result<(), StoreError> {
        let [(account_and_client, _), (client, _), (account, _)] = &self.counts;
        self.store.clear(account_and_client).await?;
        self.store.release(client, self.id).await?;
        self.store.release(account, self.id).await
    }
}

#[cfg(test)]
mod tests;
