//! The hardened configuration's memory store: tower-sessions'
//! `MemoryStore`, except that `save` updates only a record that still
//! exists.
//!
//! Why: with `always_save` (see [`layer`](peer_axum_login::layer)) every
//! request saves the session it loaded when it ends, and the library's
//! `MemoryStore::save` is an unconditional insert
//! (`tower-sessions-memory-store@0.14.0 src/lib.rs:36-39`). A request that
//! loaded the session before a logout deleted it, and ends after, writes
//! the deleted record back: a stolen cookie that keeps one request open
//! across the victim's logout works again. tower-sessions warns that a
//! session loaded by two requests at once is not safe to mutate
//! (`tower-sessions@0.14.0 src/lib.rs:313-321`, "Data races under
//! concurrent conditions"); `peers/RESEARCH.md` §2 and §7 predicted this
//! case. The Redis store does not have it: its `save` is `SET … XX`, which
//! writes only a key that exists (`tower-sessions-redis-store@0.16.0
//! src/lib.rs:105-106`). This wrapper gives the memory store the same rule. Unlike
//! the Redis store, a save that finds no record is not an error: the
//! request that raced the logout gets its answer, and the next request
//! with that cookie is anonymous. (A logout must end the session on the
//! server: ASVS 5.0 requirement 7.4.1.)
//!
//! `create`, `load` and `delete` are the inner store's. Its map sits
//! behind its own lock, which the wrapper cannot take across a `load` and
//! a `save`; so the wrapper's own lock makes "is it there? then save" one
//! step with respect to `delete`.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Mutex;
use tower_sessions::{
    MemoryStore, SessionStore,
    session::{Id, Record},
    session_store,
};

/// `MemoryStore` whose `save` never brings a deleted (or expired) record
/// back.
#[derive(Debug, Clone, Default)]
pub struct LiveOnlyStore {
    inner: MemoryStore,
    /// Held by `save` and `delete`, so neither runs inside the other.
    writes: Arc<Mutex<()>>,
}

#[async_trait]
impl SessionStore for LiveOnlyStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A fresh ID (the inner store draws again on a collision): nothing
        // to race with.
        self.inner.create(record).await
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let _writing = self.writes.lock().await;
        // `load` answers `None` for a record deleted or past its expiry,
        // as Redis forgets an expired key.
        if self.inner.load(&record.id).await?.is_some() {
            self.inner.save(record).await?;
        }
        Ok(())
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        self.inner.load(session_id).await
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        let _writing = self.writes.lock().await;
        self.inner.delete(session_id).await
    }
}
