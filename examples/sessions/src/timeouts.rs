//! Session expiry, decided on the server at every request.
//!
//! OWASP's Session Management Cheat Sheet asks for both kinds: an *idle*
//! timeout (no request for a while ends the session) and an *absolute* one
//! (a session ends after a fixed time however busy it is), enforced on the
//! server, never by trusting a cookie's `Expires`.

use sessions::store::SessionRecord;
use std::time::{Duration, SystemTime};

/// How long a session may sit unused, and how long it may live at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// No request for this long ends the session. The café's default: 30 minutes.
    pub idle: Duration,
    /// The session ends this long after login, however active. Default: 8 hours.
    pub absolute: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            idle: Duration::from_secs(30 * 60),
            absolute: Duration::from_secs(8 * 60 * 60),
        }
    }
}

/// What the timeouts say about a session at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Still valid.
    Active,
    /// Unused for longer than the idle timeout.
    IdleExpired,
    /// Older than the absolute timeout.
    AbsoluteExpired,
}

// ANCHOR: judge
impl Timeouts {
    /// Judges `record` at `now`. A clock that moved backwards counts as no
    /// time passing, never as a reason to extend a session.
    pub fn judge(&self, record: &SessionRecord, now: SystemTime) -> Verdict {
        let age = now.duration_since(record.created_at).unwrap_or_default();
        let idle_for = now.duration_since(record.last_seen).unwrap_or_default();
        if age >= self.absolute {
            Verdict::AbsoluteExpired
        } else if idle_for >= self.idle {
            Verdict::IdleExpired
        } else {
            Verdict::Active
        }
    }

    /// How long the store should keep `record` after a request at `now`:
    /// until the idle timeout, or the absolute one if that comes first.
    pub fn remaining(&self, record: &SessionRecord, now: SystemTime) -> Duration {
        let age = now.duration_since(record.created_at).unwrap_or_default();
        self.idle.min(self.absolute.saturating_sub(age))
    }
}
// ANCHOR_END: judge

#[cfg(test)]
mod tests;
