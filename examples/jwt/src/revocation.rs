//! The server-side state that JWTs were supposed to make unnecessary, and
//! that revocation brings back: refresh families, a denylist of access-token
//! ids, and per-user token versions.

use std::collections::HashMap;
use std::sync::Mutex;

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Every update below is a single map operation: a panic elsewhere cannot
    // leave one half-done, so a poisoned lock is safe to keep using.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Above this many families, those past their expiry are dropped at the
/// next login, so abandoned logins do not pile up in memory.
const FAMILIES_BEFORE_PRUNING: usize = 10_000;

/// One login's chain of refresh tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Family {
    user: String,
    /// The only refresh token id of this family that may still be used.
    current_jti: String,
    revoked: bool,
    /// When the login ends, whatever happens (NumericDate).
    expires: u64,
}

/// Why a refresh was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotationRefusal {
    /// No such family (never issued, or forgotten).
    Unknown,
    /// The family was revoked (logout, logout everywhere, earlier reuse).
    Revoked,
    /// A refresh token that was already used: someone holds a copy. The
    /// whole family is revoked now (RFC 9700 §4.14.2).
    Reused,
}

/// Refresh families, one per login.
#[derive(Debug, Default)]
pub struct RefreshFamilies {
    families: Mutex<HashMap<String, Family>>,
}

impl RefreshFamilies {
    /// Starts the family `sid` for `user`, whose first refresh token is
    /// `jti`, ending at `expires`.
    pub fn start(&self, sid: &str, user: &str, jti: &str, expires: u64, now: u64) {
        let family = Family {
            user: user.to_owned(),
            current_jti: jti.to_owned(),
            revoked: false,
            expires,
        };
        let mut families = lock(&self.families);
        if families.len() >= FAMILIES_BEFORE_PRUNING {
            families.retain(|_, family| family.expires > now);
        }
        families.insert(sid.to_owned(), family);
    }

    // ANCHOR: rotate
    /// Swaps the presented refresh token `jti` for `next_jti`, atomically:
    /// of two requests presenting the same token, exactly one succeeds. Any
    /// token of the family other than the current one is a reuse, and
    /// revokes the family: the server cannot tell a thief's replay from the
    /// legitimate client's, so it ends the login for both.
    pub fn rotate(&self, sid: &str, jti: &str, next_jti: &str) -> Result<String, RotationRefusal> {
        let mut families = lock(&self.families);
        let family = families.get_mut(sid).ok_or(RotationRefusal::Unknown)?;
        if family.revoked {
            return Err(RotationRefusal::Revoked);
        }
        if family.current_jti != jti {
            family.revoked = true;
            return Err(RotationRefusal::Reused);
        }
        family.current_jti = next_jti.to_owned();
        Ok(family.user.clone())
    }
    // ANCHOR_END: rotate

    /// Whether the family exists and is not revoked.
    pub fn is_active(&self, sid: &str) -> bool {
        lock(&self.families)
            .get(sid)
            .is_some_and(|family| !family.revoked)
    }

    /// Revokes one family (logout).
    pub fn revoke(&self, sid: &str) {
        if let Some(family) = lock(&self.families).get_mut(sid) {
            family.revoked = true;
        }
    }

    /// Revokes every active family of `user`, returning how many.
    pub fn revoke_all_for(&self, user: &str) -> usize {
        let mut ended = 0;
        for family in lock(&self.families).values_mut() {
            if family.user == user && !family.revoked {
                family.revoked = true;
                ended += 1;
            }
        }
        ended
    }
}

/// Access-token ids that were logged out, each kept until its token would
/// have expired anyway. Keyed by `jti`, never by the token's bytes: ECDSA
/// signatures are malleable, so one token can be re-encoded into another
/// string that verifies just as well.
#[derive(Debug, Default)]
pub struct Denylist {
    entries: Mutex<HashMap<String, u64>>,
}

impl Denylist {
    /// Refuses `jti` until `exp`; forgets entries whose tokens have expired.
    pub fn deny(&self, jti: &str, exp: u64, now: u64) {
        let mut entries = lock(&self.entries);
        entries.retain(|_, &mut until| until > now);
        entries.insert(jti.to_owned(), exp);
    }

    /// Whether `jti` was logged out.
    pub fn contains(&self, jti: &str) -> bool {
        lock(&self.entries).contains_key(jti)
    }

    /// How many ids are held: the state this costs.
    pub fn len(&self) -> usize {
        lock(&self.entries).len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A counter per user, bumped when their role changes or they are logged
/// out everywhere. A token carrying an older version is refused, if the
/// server checks (one lookup per request).
#[derive(Debug, Default)]
pub struct TokenVersions {
    versions: Mutex<HashMap<String, u64>>,
}

impl TokenVersions {
    /// The user's current version (0 until first bumped).
    pub fn current(&self, user: &str) -> u64 {
        lock(&self.versions).get(user).copied().unwrap_or(0)
    }

    /// Invalidates every token issued to `user` so far.
    pub fn bump(&self, user: &str) {
        *lock(&self.versions).entry(user.to_owned()).or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_family_rotates_and_a_reused_token_revokes_it() {
        let families = RefreshFamilies::default();
        families.start("f", "alice", "r1", 1_000, 0);
        assert_eq!(families.rotate("f", "r1", "r2"), Ok("alice".to_owned()));
        assert_eq!(
            families.rotate("f", "r1", "r3"),
            Err(RotationRefusal::Reused)
        );
        assert_eq!(
            families.rotate("f", "r2", "r3"),
            Err(RotationRefusal::Revoked)
        );
        assert!(!families.is_active("f"));
    }

    #[test]
    fn the_denylist_forgets_ids_once_their_tokens_expire() {
        let denylist = Denylist::default();
        denylist.deny("a", 100, 50);
        assert!(denylist.contains("a"));
        denylist.deny("b", 300, 200);
        assert!(!denylist.contains("a"), "a expired at 100");
        assert_eq!(denylist.len(), 1);
    }
}
