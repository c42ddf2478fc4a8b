//! Where session records live. The trait is what the app needs; the
//! in-memory store is the default, and a Redis store (for more than one
//! server) implements the same trait.

use crate::id::SessionKey;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::SystemTime;

/// What the server remembers about one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// The user the session belongs to. Roles are not copied here: the app
    /// reads them from the user directory on every request, so a role change
    /// applies at once.
    pub user: String,
    /// When the user logged in; the absolute timeout counts from here.
    pub created_at: SystemTime,
    /// The last request; the idle timeout counts from here.
    pub last_seen: SystemTime,
}

/// The store could not be reached or answered nonsense.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "session store: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

// ANCHOR: trait
/// The five things a session store must do. Every method is async and
/// fallible, because a real store (Redis, a database) is across a network.
pub trait SessionStore: Send + Sync + 'static {
    /// Files a new record under `key`.
    fn create(
        &self,
        key: SessionKey,
        record: SessionRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The record under `key`, if there is one.
    fn load(
        &self,
        key: &SessionKey,
    ) -> impl Future<Output = Result<Option<SessionRecord>, StoreError>> + Send;

    /// Notes a request at `now`, which restarts the idle timeout.
    fn touch(
        &self,
        key: &SessionKey,
        now: SystemTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Forgets one session (logout).
    fn delete(&self, key: &SessionKey) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Forgets every session of `user` ("log out everywhere"), returning how many.
    fn delete_all_for_user(
        &self,
        user: &str,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
}
// ANCHOR_END: trait

/// Sessions in a `HashMap` in this process: fast, and gone on restart.
#[derive(Debug, Default)]
pub struct MemoryStore {
    records: Mutex<HashMap<SessionKey, SessionRecord>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Everything the store holds, sorted by key: what a thief who copied it
    /// would get.
    pub fn snapshot(&self) -> Vec<(SessionKey, SessionRecord)> {
        let mut all: Vec<_> = self.lock().iter().map(|(k, r)| (*k, r.clone())).collect();
        all.sort_by_key(|(key, _)| *key);
        all
    }

    /// Drops every record `keep` rejects; returns how many went. The app
    /// calls this periodically with the timeouts, so abandoned sessions do
    /// not pile up in memory.
    pub fn retain(&self, keep: impl Fn(&SessionRecord) -> bool) -> usize {
        let mut records = self.lock();
        let before = records.len();
        records.retain(|_, record| keep(record));
        before - records.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SessionKey, SessionRecord>> {
        // A panic while holding the lock cannot leave a record half-written
        // (every update is a single map operation), so a poisoned lock is safe
        // to keep using.
        self.records
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl SessionStore for MemoryStore {
    async fn create(&self, key: SessionKey, record: SessionRecord) -> Result<(), StoreError> {
        self.lock().insert(key, record);
        Ok(())
    }

    async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self.lock().get(key).cloned())
    }

    async fn touch(&self, key: &SessionKey, now: SystemTime) -> Result<(), StoreError> {
        if let Some(record) = self.lock().get_mut(key) {
            record.last_seen = now;
        }
        Ok(())
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.lock().remove(key);
        Ok(())
    }

    async fn delete_all_for_user(&self, user: &str) -> Result<usize, StoreError> {
        Ok(self.retain(|record| record.user != user))
    }
}
