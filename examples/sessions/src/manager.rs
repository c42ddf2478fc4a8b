//! The four operations an app needs, on top of any [`SessionStore`].

use sessions::id::{RandomError, SessionId};
use sessions::store::{SessionRecord, SessionStore, StoreError};
use sessions::timeouts::{Timeouts, Verdict};
use std::sync::Arc;
use std::time::SystemTime;

/// Why a session could not be started.
#[derive(Debug)]
pub enum SessionError {
    /// The operating system gave no random bytes.
    Random(RandomError),
    /// The store failed.
    Store(StoreError),
}

impl std::fmt::Display for SessionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionError::Random(error) => write!(f, "no random bytes: {error}"),
            SessionError::Store(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for SessionError {}

impl From<StoreError> for SessionError {
    fn from(error: StoreError) -> SessionError {
        SessionError::Store(error)
    }
}

/// Sessions kept in a [`SessionStore`], expiring by `timeouts`.
#[derive(Clone)]
pub struct Sessions {
    store: Arc<dyn SessionStore>,
    timeouts: Timeouts,
}

impl Sessions {
    /// Sessions in `store`, judged by `timeouts`.
    pub fn new(store: Arc<dyn SessionStore>, timeouts: Timeouts) -> Sessions {
        Sessions { store, timeouts }
    }

    /// The timeouts in force.
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    // ANCHOR: start
    /// Logs `user` in: a brand-new ID, whatever the browser sent before, so an
    /// ID an attacker planted before login is worthless after it (session
    /// fixation; ASVS 5.0 requirement 7.2.4).
    pub async fn start(&self, user: &str, now: SystemTime) -> Result<SessionId, SessionError> {
        let id = SessionId::generate().map_err(SessionError::Random)?;
        let record = SessionRecord {
            user: user.to_owned(),
            created_at: now,
            last_seen: now,
        };
        self.store
            .create(
                id.key(),
                record,
                self.timeouts.idle.min(self.timeouts.absolute),
            )
            .await?;
        Ok(id)
    }
    // ANCHOR_END: start

    // ANCHOR: resume
    /// The session behind a presented ID, if it exists and has not expired.
    /// An expired session is deleted on sight; an active one is touched, which
    /// restarts its idle timeout.
    pub async fn resume(
        &self,
        presented: &SessionId,
        now: SystemTime,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let key = presented.key();
        let Some(record) = self.store.load(&key).await? else {
            return Ok(None); // unknown or forged: never adopted
        };
        match self.timeouts.judge(&record, now) {
            Verdict::Active => {
                let ttl = self.timeouts.remaining(&record, now);
                self.store.touch(&key, now, ttl).await?;
                Ok(Some(record))
            }
            Verdict::IdleExpired | Verdict::AbsoluteExpired => {
                self.store.delete(&key).await?;
                Ok(None)
            }
        }
    }
    // ANCHOR_END: resume

    /// Logs the presented session out.
    pub async fn end(&self, presented: &SessionId) -> Result<(), StoreError> {
        self.store.delete(&presented.key()).await
    }

    /// Logs `user` out of every session, returning how many there were.
    pub async fn end_all_for(&self, user: &str) -> Result<usize, StoreError> {
        self.store.delete_all_for_user(user).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sessions::store::MemoryStore;
    use std::time::Duration;

    fn sessions() -> (Sessions, Arc<MemoryStore>) {
        let store = Arc::new(MemoryStore::new());
        (Sessions::new(store.clone(), Timeouts::default()), store)
    }

    fn noon() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    #[tokio::test]
    async fn a_started_session_resumes_and_the_store_holds_only_its_hash() {
        let (sessions, store) = sessions();
        let id = sessions.start("alice", noon()).await.unwrap();
        let record = sessions.resume(&id, noon()).await.unwrap().unwrap();
        assert_eq!(record.user, "alice");
        let stored = store.snapshot();
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].0, id.key());
        assert!(!format!("{stored:?}").contains(id.as_str()));
    }

    #[tokio::test]
    async fn each_login_gets_a_new_id() {
        let (sessions, _store) = sessions();
        let first = sessions.start("alice", noon()).await.unwrap();
        let second = sessions.start("alice", noon()).await.unwrap();
        assert_ne!(first, second);
    }

    #[tokio::test]
    async fn an_id_that_was_never_issued_is_not_adopted() {
        let (sessions, store) = sessions();
        let forged = SessionId::generate().unwrap();
        assert_eq!(sessions.resume(&forged, noon()).await.unwrap(), None);
        assert!(store.snapshot().is_empty());
    }

    #[tokio::test]
    async fn an_idle_session_expires_and_is_deleted() {
        let (sessions, store) = sessions();
        let id = sessions.start("alice", noon()).await.unwrap();
        let later = noon() + Timeouts::default().idle;
        assert_eq!(sessions.resume(&id, later).await.unwrap(), None);
        assert!(store.snapshot().is_empty());
    }

    #[tokio::test]
    async fn requests_keep_a_session_alive_until_the_absolute_timeout() {
        let (sessions, _store) = sessions();
        let id = sessions.start("alice", noon()).await.unwrap();
        let step = Duration::from_secs(20 * 60);
        let mut now = noon();
        while now + step < noon() + Timeouts::default().absolute {
            now += step;
            assert!(
                sessions.resume(&id, now).await.unwrap().is_some(),
                "{now:?}"
            );
        }
        now += step;
        assert_eq!(sessions.resume(&id, now).await.unwrap(), None);
    }

    #[tokio::test]
    async fn ending_all_of_a_users_sessions_leaves_others_alone() {
        let (sessions, _store) = sessions();
        let alice_phone = sessions.start("alice", noon()).await.unwrap();
        let alice_laptop = sessions.start("alice", noon()).await.unwrap();
        let admin = sessions.start("admin", noon()).await.unwrap();
        assert_eq!(sessions.end_all_for("alice").await.unwrap(), 2);
        assert_eq!(sessions.resume(&alice_phone, noon()).await.unwrap(), None);
        assert_eq!(sessions.resume(&alice_laptop, noon()).await.unwrap(), None);
        assert!(sessions.resume(&admin, noon()).await.unwrap().is_some());
    }
}
