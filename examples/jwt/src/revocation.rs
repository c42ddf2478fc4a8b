//! The server-side state that JWTs were supposed to make unnecessary, and
//! that revocation brings back: refresh families, a denylist of ended
//! logins (by `sid`), and per-user token versions. Each is a trait, so that a shared store
//! (Redis) can hold it for many servers; [`MemoryTokenStore`] holds all three
//! in this process.

use async_trait::async_trait;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// The store could not answer: the one error of every café store (the
/// `sessions` crate's session stores return it too), answered with 503.
pub use store_error::StoreError;

/// Where a login was made from, shown in the user's list of logins.
pub use store_error::Device;

/// How many live refresh families one user holds at once (the oldest goes
/// first).
pub use store_error::MAX_LIVE_LOGINS_PER_USER;

/// Why a refresh token was not swapped for a new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotationRefusal {
    /// No such family (never issued, or forgotten after it expired).
    Unknown,
    /// The family was revoked (logout, logout everywhere, a ban, earlier reuse).
    Revoked,
    /// A refresh token that was already used: someone holds a copy. The
    /// whole family is revoked now (RFC 9700 §4.14.2).
    Reused,
    /// The family went unrenewed for longer than the idle limit (ASVS 5.0
    /// requirement 7.3.1): revoked now, as a session idle as long would be.
    Idle,
}

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The presented token was the current one; `next_jti` is current now.
    Rotated {
        /// Whose login this is.
        user: String,
    },
    /// Refused, and why.
    Refused(RotationRefusal),
}

// ANCHOR: stores
/// Refresh families: one per login, each remembering the one refresh token
/// that may be used next.
#[async_trait]
pub trait RefreshFamilyStore: Send + Sync + 'static {
    /// Starts family `sid` for `user` at `now`, whose first refresh token is
    /// `jti`, ending at `expires` (NumericDate); `device` is kept for the
    /// user's list of logins.
    async fn start(
        &self,
        sid: &str,
        user: &str,
        jti: &str,
        expires: u64,
        now: u64,
        device: &Device,
    ) -> Result<(), StoreError>;

    /// Swaps the presented `jti` for `next_jti` at `now` as one atomic step
    /// (a compare-and-swap): of two requests presenting the same token,
    /// exactly one is `Rotated`. Any other token of the family is a reuse,
    /// and revokes the family inside the same step; so does a family last
    /// renewed `idle` seconds or more before `now` ([`RotationRefusal::Idle`]).
    /// A rotation notes `now` as the family's last renewal.
    async fn rotate(
        &self,
        sid: &str,
        jti: &str,
        next_jti: &str,
        now: u64,
        idle: u64,
    ) -> Result<Rotation, StoreError>;

    /// Revokes one family (logout).
    async fn revoke(&self, sid: &str) -> Result<(), StoreError>;

    /// Revokes family `sid` if it is `user`'s and still active, and returns
    /// it as it was just before, in one atomic step: a rotation either came
    /// before (and its renewal time is in the answer) or is refused.
    /// `None` for another user's family, an unknown or a revoked one.
    async fn end(&self, user: &str, sid: &str) -> Result<Option<FamilyRecord>, StoreError>;

    /// Revokes every active family of `user`: how many were active, and
    /// the id of every family of theirs it reached (the ones already
    /// revoked too, so that a caller denying their access tokens misses
    /// none, even after a retry).
    async fn revoke_all_for(&self, user: &str) -> Result<RevokedAll, StoreError>;

    /// The families of `user` that are not revoked, from the same per-user
    /// index, in no particular order: the caller judges their ends and idle
    /// limit.
    async fn list_for_user(&self, user: &str) -> Result<Vec<FamilyRecord>, StoreError>;
}

/// What [`RefreshFamilyStore::revoke_all_for`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevokedAll {
    /// How many families were active, and are revoked now.
    pub ended: usize,
    /// Every family of the user it reached, by id.
    pub sids: Vec<String>,
}

/// Logins whose access tokens are refused before they expire: logged
/// out, ended from another device, or ended with every login of their user.
/// Keyed by the login's `sid`, which every access token of the login
/// carries, so one entry refuses them all; filed under its user too, so
/// that a store may keep it beside the user's token version.
#[async_trait]
pub trait DenylistStore: Send + Sync + 'static {
    /// Refuses the access tokens of `user`'s login `sid` until `until`
    /// (NumericDate), after which every one of them is refused anyway and
    /// the entry may be forgotten.
    async fn deny(&self, user: &str, sid: &str, until: u64, now: u64) -> Result<(), StoreError>;

    /// Whether `user`'s login `sid` is denied at `now`.
    async fn is_denied(&self, user: &str, sid: &str, now: u64) -> Result<bool, StoreError>;
}

/// A counter per user, bumped when their role changes or they are logged out
/// everywhere: tokens carrying an older version are stale.
#[async_trait]
pub trait TokenVersionStore: Send + Sync + 'static {
    /// The user's current version (0 until first bumped).
    async fn current(&self, user: &str) -> Result<u64, StoreError>;

    /// Makes every token issued to `user` so far stale; returns the new version.
    async fn bump(&self, user: &str) -> Result<u64, StoreError>;
}

/// Both request-time checks in one step, for a store that keeps a user's
/// denylist entries beside their token version (Redis: one `MGET` of two
/// keys in the user's hash slot).
#[async_trait]
pub trait BothChecksStore: Send + Sync + 'static {
    /// Whether `user`'s login `sid` is denied at `now`, and `user`'s
    /// current token version, read together.
    async fn denied_and_version(
        &self,
        user: &str,
        sid: &str,
        now: u64,
    ) -> Result<(bool, u64), StoreError>;
}
// ANCHOR_END: stores

/// How often, at most, the memory store forgets expired families and
/// denylist entries. It does so on writes, so an idle server does no work.
const SWEEP_INTERVAL_SECONDS: u64 = 60;

/// One login's chain of refresh tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Family {
    user: String,
    /// The only refresh token id of this family that may still be used.
    current_jti: String,
    revoked: bool,
    /// When the login ends, whatever happens (NumericDate).
    expires: u64,
    /// When the login began (NumericDate).
    created: u64,
    /// The last refresh, or the login (NumericDate): the idle limit counts
    /// from here.
    last_used: u64,
    device: Device,
}

#[derive(Debug, Default)]
struct State {
    families: HashMap<String, Family>,
    /// Each user's family ids, so that listing or ending one user's logins
    /// never reads everyone's.
    by_user: HashMap<String, HashSet<String>>,
    denylist: HashMap<String, u64>,
    versions: HashMap<String, u64>,
    last_sweep: u64,
}

impl State {
    /// Forgets families and denylist entries past their end, at most once
    /// per [`SWEEP_INTERVAL_SECONDS`].
    fn sweep(&mut self, now: u64) {
        if now < self.last_sweep.saturating_add(SWEEP_INTERVAL_SECONDS) {
            return;
        }
        self.last_sweep = now;
        let ended: Vec<String> = self
            .families
            .iter()
            .filter(|(_, family)| family.expires <= now)
            .map(|(sid, _)| sid.clone())
            .collect();
        for sid in ended {
            if let Some(family) = self.families.remove(&sid) {
                self.unindex(&family.user, &sid);
            }
        }
        self.denylist.retain(|_, until| *until > now);
    }

    /// Marks family `sid` revoked and takes it out of its user's index:
    /// only live families count against the cap and are listed.
    fn revoke(&mut self, sid: &str) -> Option<FamilyRecord> {
        let family = self.families.get_mut(sid)?;
        let was = (!family.revoked).then(|| State::record(sid, family));
        family.revoked = true;
        let user = family.user.clone();
        self.unindex(&user, sid);
        was
    }

    fn unindex(&mut self, user: &str, sid: &str) {
        if let Some(sids) = self.by_user.get_mut(user) {
            sids.remove(sid);
            if sids.is_empty() {
                self.by_user.remove(user);
            }
        }
    }

    fn record(sid: &str, family: &Family) -> FamilyRecord {
        FamilyRecord {
            sid: sid.to_owned(),
            user: family.user.clone(),
            current_jti: family.current_jti.clone(),
            revoked: family.revoked,
            expires: family.expires,
            created: family.created,
            last_used: family.last_used,
            device: family.device.clone(),
        }
    }
}

/// One refresh family, as a user's list of logins and
/// [`MemoryTokenStore::snapshot`] show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyRecord {
    /// The family id (the tokens' `sid`).
    pub sid: String,
    /// Whose login it is.
    pub user: String,
    /// The one refresh token id that may be used next.
    pub current_jti: String,
    /// Ended by logout, a ban, an idle limit, or detected reuse.
    pub revoked: bool,
    /// When the login ends (NumericDate).
    pub expires: u64,
    /// When the login began (NumericDate).
    pub created: u64,
    /// The last refresh, or the login if there was none (NumericDate).
    pub last_used: u64,
    /// Where the login was made from.
    pub device: Device,
}

/// Everything a [`MemoryTokenStore`] holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSnapshot {
    /// The refresh families, by id.
    pub families: Vec<FamilyRecord>,
    /// Ended logins (`sid`s), and until when their access tokens are refused.
    pub denylist: Vec<(String, u64)>,
    /// Token versions, by user.
    pub versions: Vec<(String, u64)>,
}

/// Refresh families, the denylist and token versions, in this process.
#[derive(Debug, Default)]
pub struct MemoryTokenStore {
    state: Mutex<State>,
}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> MemoryTokenStore {
        MemoryTokenStore::default()
    }

    /// How many denylist entries are held: the state logout costs.
    pub fn denylist_len(&self) -> usize {
        self.lock().denylist.len()
    }

    /// Everything held, sorted: what a thief who copied this store would get.
    pub fn snapshot(&self) -> TokenSnapshot {
        let state = self.lock();
        let mut families: Vec<FamilyRecord> = state
            .families
            .iter()
            .map(|(sid, family)| State::record(sid, family))
            .collect();
        families.sort_by(|a, b| a.sid.cmp(&b.sid));
        let mut denylist: Vec<(String, u64)> = state
            .denylist
            .iter()
            .map(|(sid, until)| (sid.clone(), *until))
            .collect();
        denylist.sort();
        let mut versions: Vec<(String, u64)> = state
            .versions
            .iter()
            .map(|(user, v)| (user.clone(), *v))
            .collect();
        versions.sort();
        TokenSnapshot {
            families,
            denylist,
            versions,
        }
    }

    /// How many refresh families are held, revoked or not.
    pub fn family_count(&self) -> usize {
        self.lock().families.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Every update below is a single map operation: a panic elsewhere
        // cannot leave one half-done, so a poisoned lock is safe to keep using.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl RefreshFamilyStore for MemoryTokenStore {
    async fn start(
        &self,
        sid: &str,
        user: &str,
        jti: &str,
        expires: u64,
        now: u64,
        device: &Device,
    ) -> Result<(), StoreError> {
        let mut state = self.lock();
        state.sweep(now);
        // At the cap, the user's oldest family ends first, as in the Redis
        // store; it stays known (revoked) so a reuse of it is still told
        // apart, and leaves the index.
        // (Looked at only at the cap: no copy of the index on each login.)
        let oldest = state
            .by_user
            .get(user)
            .filter(|sids| sids.len() >= MAX_LIVE_LOGINS_PER_USER)
            .and_then(|sids| {
                sids.iter()
                    .filter_map(|sid| Some((state.families.get(sid)?.expires, sid.clone())))
                    .min()
            });
        if let Some((_, oldest)) = oldest {
            state.revoke(&oldest);
        }
        let family = Family {
            user: user.to_owned(),
            current_jti: jti.to_owned(),
            revoked: false,
            expires,
            created: now,
            last_used: now,
            device: device.clone(),
        };
        state
            .by_user
            .entry(user.to_owned())
            .or_default()
            .insert(sid.to_owned());
        state.families.insert(sid.to_owned(), family);
        Ok(())
    }

    // ANCHOR: rotate
    async fn rotate(
        &self,
        sid: &str,
        jti: &str,
        next_jti: &str,
        now: u64,
        idle: u64,
    ) -> Result<Rotation, StoreError> {
        // One lock around the compare and the swap: nothing can run between.
        let mut state = self.lock();
        let Some(family) = state.families.get_mut(sid) else {
            return Ok(Rotation::Refused(RotationRefusal::Unknown));
        };
        if family.revoked {
            return Ok(Rotation::Refused(RotationRefusal::Revoked));
        }
        if family.current_jti != jti {
            // The server cannot tell a thief's replay from the legitimate
            // client's, so it ends the login for both.
            state.revoke(sid);
            return Ok(Rotation::Refused(RotationRefusal::Reused));
        }
        if now >= family.last_used.saturating_add(idle) {
            // Nobody renewed this login for too long: it ends, as a
            // session left as long would.
            state.revoke(sid);
            return Ok(Rotation::Refused(RotationRefusal::Idle));
        }
        family.current_jti = next_jti.to_owned();
        family.last_used = family.last_used.max(now);
        Ok(Rotation::Rotated {
            user: family.user.clone(),
        })
    }
    // ANCHOR_END: rotate

    async fn revoke(&self, sid: &str) -> Result<(), StoreError> {
        self.lock().revoke(sid);
        Ok(())
    }

    async fn end(&self, user: &str, sid: &str) -> Result<Option<FamilyRecord>, StoreError> {
        let mut state = self.lock();
        if state
            .families
            .get(sid)
            .is_none_or(|family| family.user != user)
        {
            return Ok(None);
        }
        Ok(state.revoke(sid))
    }

    async fn revoke_all_for(&self, user: &str) -> Result<RevokedAll, StoreError> {
        let mut state = self.lock();
        let theirs = state.by_user.get(user).cloned().unwrap_or_default();
        let mut revoked = RevokedAll::default();
        for sid in theirs {
            let owned = state
                .families
                .get(&sid)
                .is_some_and(|family| family.user == user);
            if !owned {
                continue;
            }
            if state.revoke(&sid).is_some() {
                revoked.ended += 1;
            }
            revoked.sids.push(sid);
        }
        Ok(revoked)
    }

    async fn list_for_user(&self, user: &str) -> Result<Vec<FamilyRecord>, StoreError> {
        let state = self.lock();
        Ok(state
            .by_user
            .get(user)
            .into_iter()
            .flatten()
            .filter_map(|sid| Some((sid, state.families.get(sid)?)))
            .filter(|(_, family)| family.user == user && !family.revoked)
            .map(|(sid, family)| State::record(sid, family))
            .collect())
    }
}

#[async_trait]
impl DenylistStore for MemoryTokenStore {
    async fn deny(&self, _user: &str, sid: &str, until: u64, now: u64) -> Result<(), StoreError> {
        let mut state = self.lock();
        state.sweep(now);
        state.denylist.insert(sid.to_owned(), until);
        Ok(())
    }

    async fn is_denied(&self, _user: &str, sid: &str, now: u64) -> Result<bool, StoreError> {
        Ok(self
            .lock()
            .denylist
            .get(sid)
            .is_some_and(|&until| until > now))
    }
}

#[async_trait]
impl TokenVersionStore for MemoryTokenStore {
    async fn current(&self, user: &str) -> Result<u64, StoreError> {
        Ok(self.lock().versions.get(user).copied().unwrap_or(0))
    }

    async fn bump(&self, user: &str) -> Result<u64, StoreError> {
        let mut state = self.lock();
        let version = state.versions.entry(user.to_owned()).or_default();
        *version += 1;
        Ok(*version)
    }
}

#[cfg(test)]
mod tests;
