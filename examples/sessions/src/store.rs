//! Where session records live. The trait is what the app needs; the
//! in-memory store is the default, and a shared store (Redis, for more than
//! one server) implements the same trait.

use async_trait::async_trait;
use sessions::id::SessionKey;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// What the server remembers about one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// The user the session belongs to. Roles are not copied here: the app
    /// reads them from the accounts on every request, so a role change
    /// applies at once.
    pub user: String,
    /// When the user logged in; the absolute timeout counts from here.
    pub created_at: SystemTime,
    /// The last request; the idle timeout counts from here.
    pub last_seen: SystemTime,
    /// The login's public handle ([`sessions::login_id`]): what the user's
    /// list of logins shows, never the session ID or its hash.
    pub login_id: String,
    /// Where the login was made from.
    pub device: Device,
}

/// A session a request may go on with, as [`SessionStore::resume`] returns
/// it: whose it is and which login. Only these two are copied on each
/// request; the device and the times stay in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveSession {
    /// The user the session belongs to (the role is read from the account).
    pub user: String,
    /// The login's public handle.
    pub login_id: String,
}

/// The store could not answer: the one error of every café store (the
/// `jwt` crate's stores return it too), answered with 503.
pub use store_error::StoreError;

/// Where a login was made from: the client's address and a short
/// `User-Agent`, shown in the user's list of logins.
pub use store_error::Device;

/// How many sessions one user holds at once (the oldest-ending goes first).
pub use store_error::MAX_LIVE_LOGINS_PER_USER;

// ANCHOR: trait
/// What a session store must do. Every method is async and fallible,
/// because a real store (Redis, a database) is across a network.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Files a new record under `key`, to be forgotten after `ttl` unless
    /// touched.
    async fn create(
        &self,
        key: SessionKey,
        record: SessionRecord,
        ttl: Duration,
    ) -> Result<(), StoreError>;

    /// The record under `key`, if there is one.
    async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError>;

    /// Notes a request at `now`, which restarts the idle timeout; the record
    /// is now forgotten after `ttl`.
    async fn touch(
        &self,
        key: &SessionKey,
        now: SystemTime,
        ttl: Duration,
    ) -> Result<(), StoreError>;

    /// Forgets one session (logout).
    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError>;

    /// Forgets every session of `user` ("log out everywhere"), returning
    /// how many. Stores keep a per-user index, so this never scans them all.
    async fn delete_all_for_user(&self, user: &str) -> Result<usize, StoreError>;

    /// Every record of `user` the store still holds, from the same
    /// per-user index, in no particular order; expired ones may be among
    /// them (the timeouts judge them).
    async fn list_for_user(
        &self,
        user: &str,
    ) -> Result<Vec<(SessionKey, SessionRecord)>, StoreError>;

    /// A request presents `key` at `now`: the session, if `keep_for` finds
    /// it still active and says for how long to keep it (then it is touched
    /// in the same call, which restarts its idle timeout); else `None`, and
    /// an expired record is deleted. By default in three store calls
    /// ([`resume_in_steps`]); a store that can take them at once does (the
    /// memory store: under one lock).
    async fn resume(
        &self,
        key: &SessionKey,
        now: SystemTime,
        keep_for: &KeepFor<'_>,
    ) -> Result<Option<ActiveSession>, StoreError> {
        resume_in_steps(self, key, now, keep_for).await
    }

    /// The shard a new session of `user` is filed in, for a store that
    /// keeps each user's state together (Redis: the hash slot of the user's
    /// keys, so that one script reaches the session and the account at
    /// once). The session ID names it ([`SessionId::generate_in`]). None by
    /// default.
    ///
    /// [`SessionId::generate_in`]: sessions::SessionId::generate_in
    fn shard_for(&self, _user: &str) -> Option<u32> {
        None
    }
}
// ANCHOR_END: trait

// ANCHOR: resume
/// How long a request keeps the record it found, if the record is still
/// active: the session manager's judgement ([`Sessions::resume`]), which
/// the store applies. It may run under the store's lock (the memory
/// store's), so it only judges: a call back into the store would deadlock.
///
/// [`Sessions::resume`]: sessions::Sessions::resume
pub type KeepFor<'a> = dyn Fn(&SessionRecord) -> Option<Duration> + Send + Sync + 'a;

/// [`SessionStore::resume`] in three store calls, for any store: the record
/// under `key` is loaded and judged; an active one is touched, which
/// restarts its idle timeout; an expired one is deleted on sight.
pub async fn resume_in_steps<S: SessionStore + ?Sized>(
    store: &S,
    key: &SessionKey,
    now: SystemTime,
    keep_for: &KeepFor<'_>,
) -> Result<Option<ActiveSession>, StoreError> {
    let Some(record) = store.load(key).await? else {
        return Ok(None); // unknown or forged: never adopted
    };
    match keep_for(&record) {
        Some(ttl) => {
            store.touch(key, now, ttl).await?;
            Ok(Some(ActiveSession {
                user: record.user,
                login_id: record.login_id,
            }))
        }
        None => {
            store.delete(key).await?;
            Ok(None)
        }
    }
}
// ANCHOR_END: resume

/// How often, at most, the memory store sweeps out records whose TTL has
/// passed. Sweeping happens on writes, so an idle server does no work.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// When a record written at `at` with `ttl` may be forgotten: `None` for a
/// TTL past the end of the clock, which keeps the record until it is deleted
/// (the timeouts still judge it at every request).
fn forget_at(at: SystemTime, ttl: Duration) -> Option<SystemTime> {
    at.checked_add(ttl)
}

#[derive(Debug, Default)]
struct Records {
    by_key: HashMap<SessionKey, (SessionRecord, Option<SystemTime>)>,
    by_user: HashMap<String, HashSet<SessionKey>>,
    last_sweep: Option<SystemTime>,
}

impl Records {
    fn remove(&mut self, key: &SessionKey) -> bool {
        let Some((record, _)) = self.by_key.remove(key) else {
            return false;
        };
        if let Some(keys) = self.by_user.get_mut(&record.user) {
            keys.remove(key);
            if keys.is_empty() {
                self.by_user.remove(&record.user);
            }
        }
        true
    }

    /// Drops every record whose TTL has passed, at most once per
    /// [`SWEEP_INTERVAL`]: the store's own job, so the app never has to
    /// remember to do it.
    fn sweep(&mut self, now: SystemTime) {
        let due = self
            .last_sweep
            .is_none_or(|last| now.duration_since(last).unwrap_or_default() >= SWEEP_INTERVAL);
        if !due {
            return;
        }
        self.last_sweep = Some(now);
        let expired: Vec<SessionKey> = self
            .by_key
            .iter()
            .filter(|(_, (_, forget_at))| forget_at.is_some_and(|at| at <= now))
            .map(|(key, _)| *key)
            .collect();
        for key in expired {
            self.remove(&key);
        }
    }
}

/// Sessions in a `HashMap` in this process: fast, and gone on restart.
#[derive(Debug, Default)]
pub struct MemoryStore {
    records: Mutex<Records>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Everything the store holds, sorted by key: what a thief who copied it
    /// would get.
    pub fn snapshot(&self) -> Vec<(SessionKey, SessionRecord)> {
        let records = self.lock();
        let mut all: Vec<_> = records
            .by_key
            .iter()
            .map(|(key, (record, _))| (*key, record.clone()))
            .collect();
        all.sort_by_key(|(key, _)| *key);
        all
    }

    /// How many records are held, expired or not.
    pub fn len(&self) -> usize {
        self.lock().by_key.len()
    }

    /// Whether the store holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Records> {
        // Every update leaves the maps consistent before it can panic, so a
        // poisoned lock is safe to keep using.
        self.records
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn create(
        &self,
        key: SessionKey,
        record: SessionRecord,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let mut records = self.lock();
        records.sweep(record.last_seen);
        let forget_at = forget_at(record.last_seen, ttl);
        // At the cap, the user's session nearest its end (the one used
        // least recently) ends first, as in the Redis store.
        // (Looked at only at the cap: no copy of the index on each login.)
        let nearest_end = records
            .by_user
            .get(&record.user)
            .filter(|keys| keys.len() >= MAX_LIVE_LOGINS_PER_USER)
            .and_then(|keys| {
                keys.iter()
                    .filter_map(|key| Some((records.by_key.get(key)?.1, *key)))
                    .min()
            });
        if let Some((_, key)) = nearest_end {
            records.remove(&key);
        }
        records
            .by_user
            .entry(record.user.clone())
            .or_default()
            .insert(key);
        records.by_key.insert(key, (record, forget_at));
        Ok(())
    }

    async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self
            .lock()
            .by_key
            .get(key)
            .map(|(record, _)| record.clone()))
    }

    async fn touch(
        &self,
        key: &SessionKey,
        now: SystemTime,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        if let Some((record, forget)) = self.lock().by_key.get_mut(key) {
            record.last_seen = now;
            *forget = forget_at(now, ttl);
        }
        Ok(())
    }

    async fn resume(
        &self,
        key: &SessionKey,
        now: SystemTime,
        keep_for: &KeepFor<'_>,
    ) -> Result<Option<ActiveSession>, StoreError> {
        // The steps of `resume_in_steps` (load, touch, delete), under one
        // lock: one future instead of two and only the user and the login
        // copied, on every request. Nothing (a logout, another request) can
        // come between the judging and the touch, as in Redis's script.
        let mut records = self.lock();
        let Some((record, forget)) = records.by_key.get_mut(key) else {
            return Ok(None); // unknown or forged: never adopted
        };
        match keep_for(record) {
            Some(ttl) => {
                record.last_seen = now;
                *forget = forget_at(now, ttl);
                Ok(Some(ActiveSession {
                    user: record.user.clone(),
                    login_id: record.login_id.clone(),
                }))
            }
            None => {
                records.remove(key);
                Ok(None)
            }
        }
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.lock().remove(key);
        Ok(())
    }

    async fn delete_all_for_user(&self, user: &str) -> Result<usize, StoreError> {
        let mut records = self.lock();
        let keys = records.by_user.remove(user).unwrap_or_default();
        for key in &keys {
            records.by_key.remove(key);
        }
        Ok(keys.len())
    }

    async fn list_for_user(
        &self,
        user: &str,
    ) -> Result<Vec<(SessionKey, SessionRecord)>, StoreError> {
        let records = self.lock();
        let Some(keys) = records.by_user.get(user) else {
            return Ok(Vec::new());
        };
        Ok(keys
            .iter()
            .filter_map(|key| {
                let (record, _) = records.by_key.get(key)?;
                Some((*key, record.clone()))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests;
