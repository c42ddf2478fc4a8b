//! The four operations an app needs, on top of any [`SessionStore`].

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sessions::id::{RandomError, SessionId};
use sessions::store::{ActiveSession, Device, SessionRecord, SessionStore, StoreError};
use sessions::timeouts::{Timeouts, Verdict};
use std::sync::Arc;
use std::time::SystemTime;

/// A login's public handle: 128 random bits, base64url, drawn at login
/// beside the session ID and unrelated to it. It names the session in the
/// user's list of logins and in `DELETE /me/logins/{id}`, so that a page
/// can show and end a login without ever holding its ID or the ID's hash.
pub fn login_id() -> Result<String, RandomError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

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
    /// fixation; ASVS 5.0 requirement 7.2.4). `device` is kept for the
    /// user's list of logins. Returns the ID (for the cookie) and the
    /// record filed under its hash.
    pub async fn start(
        &self,
        user: &str,
        device: Device,
        now: SystemTime,
    ) -> Result<(SessionId, SessionRecord), SessionError> {
        let shard = self.store.shard_for(user);
        let id = SessionId::generate_in(shard).map_err(SessionError::Random)?;
        let record = SessionRecord {
            user: user.to_owned(),
            created_at: now,
            last_seen: now,
            login_id: login_id().map_err(SessionError::Random)?,
            device,
        };
        self.store
            .create(
                id.key(),
                record.clone(),
                self.timeouts.idle.min(self.timeouts.absolute),
            )
            .await?;
        Ok((id, record))
    }
    // ANCHOR_END: start

    // ANCHOR: resume
    /// The session behind a presented ID, if it exists and has not expired.
    /// An expired session is deleted on sight; an active one is touched, which
    /// restarts its idle timeout. The store takes the steps (looking the
    /// record up under the ID's hash); the timeouts decide.
    pub async fn resume(
        &self,
        presented: &SessionId,
        now: SystemTime,
    ) -> Result<Option<ActiveSession>, StoreError> {
        let keep_for = |record: &SessionRecord| match self.timeouts.judge(record, now) {
            Verdict::Active => Some(self.timeouts.remaining(record, now)),
            Verdict::IdleExpired | Verdict::AbsoluteExpired => None,
        };
        self.store.resume(&presented.key(), now, &keep_for).await
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

    /// `user`'s sessions that are still active at `now`, oldest login first
    /// (ASVS 5.0 requirement 7.5.2: a user can see their active sessions).
    /// Reading the list touches none of them.
    pub async fn list(
        &self,
        user: &str,
        now: SystemTime,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let mut active: Vec<SessionRecord> = self
            .store
            .list_for_user(user)
            .await?
            .into_iter()
            .map(|(_, record)| record)
            // The index is the user's, but a record is checked once more:
            // a list must never show anyone else's login. A record without
            // a login id (stored by an older café) cannot be named, so it
            // is not listed; it still ends with its timeouts.
            .filter(|record| record.user == user && !record.login_id.is_empty())
            .filter(|record| self.timeouts.judge(record, now) == Verdict::Active)
            .collect();
        active.sort_by(|a, b| (a.created_at, &a.login_id).cmp(&(b.created_at, &b.login_id)));
        Ok(active)
    }

    /// Ends the session of `user` whose public handle is `login_id`
    /// (ASVS 5.0 requirement 7.5.2: and can end any of them). Whether there
    /// was one still active at `now`: another user's handle, an unknown one
    /// and an ended or expired one are all `false`, so the answer tells
    /// nobody whose handles exist.
    pub async fn end_login(
        &self,
        user: &str,
        login_id: &str,
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        let theirs = self.store.list_for_user(user).await?;
        let Some((key, record)) = theirs
            .into_iter()
            .find(|(_, record)| record.user == user && record.login_id == login_id)
        else {
            return Ok(false);
        };
        self.store.delete(&key).await?;
        // One that had expired was over already: deleted all the same, but
        // not reported as ended, as the list does not show it either.
        Ok(self.timeouts.judge(&record, now) == Verdict::Active)
    }
}

#[cfg(test)]
mod tests;
