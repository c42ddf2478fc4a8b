//! A probe between the app and its stores: it writes down every store call
//! (so a test can say exactly what one request looked up) and can take the
//! stores down (so a test can watch an outage). The stores behind it are the
//! real memory stores; nothing is faked but the outage itself.

use async_trait::async_trait;
use cafe::orders::Order;
use cafe::store::{
    AccountStore, CheckedSession, OrderStore, SessionCheck, StoreError, Stores, ThrottleStore,
};
use cafe::throttle::{Attempt, CountedAttempt, Limit};
use cafe::users::{Account, Profile, Role};
use jwt::TokenStores;
use jwt::revocation::{
    BothChecksStore, DenylistStore, Device, FamilyRecord, RefreshFamilyStore, RevokedAll, Rotation,
    StoreError as TokenStoreError, TokenVersionStore,
};
use sessions::{ActiveSession, KeepFor, SessionKey, SessionRecord, SessionStore, Timeouts};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// What the stores were asked, and whether they answer.
#[derive(Default)]
pub struct Probe {
    calls: Mutex<Vec<&'static str>>,
    down: AtomicBool,
}

impl Probe {
    fn note(&self, call: &'static str) -> Result<(), String> {
        self.calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(call);
        if self.down.load(Ordering::SeqCst) {
            Err("connection refused (the test took the store down)".to_owned())
        } else {
            Ok(())
        }
    }

    /// The calls since the last `take_calls`, in order.
    pub fn take_calls(&self) -> Vec<&'static str> {
        std::mem::take(&mut *self.calls.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Every store call fails from now on, or works again.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }
}

/// A store of type `T` behind the probe.
pub struct Probed<T: ?Sized> {
    inner: Arc<T>,
    probe: Arc<Probe>,
}

fn probed<T: ?Sized>(inner: Arc<T>, probe: &Arc<Probe>) -> Arc<Probed<T>> {
    Arc::new(Probed {
        inner,
        probe: Arc::clone(probe),
    })
}

/// `stores`, every one of them behind `probe`.
pub fn probe_stores(stores: Stores, probe: &Arc<Probe>) -> Stores {
    Stores {
        sessions: probed(stores.sessions, probe),
        tokens: TokenStores {
            families: probed(stores.tokens.families, probe),
            denylist: probed(stores.tokens.denylist, probe),
            versions: probed(stores.tokens.versions, probe),
            both: stores
                .tokens
                .both
                .map(|both| probed(both, probe) as Arc<dyn BothChecksStore>),
        },
        accounts: probed(stores.accounts, probe),
        orders: probed(stores.orders, probe),
        throttle: probed(stores.throttle, probe),
        session_check: stores
            .session_check
            .map(|check| probed(check, probe) as Arc<dyn SessionCheck>),
    }
}

impl<T: ?Sized> Probed<T> {
    fn note(&self, call: &'static str) -> Result<(), StoreError> {
        self.probe.note(call).map_err(StoreError)
    }

    fn note_token(&self, call: &'static str) -> Result<(), TokenStoreError> {
        self.probe.note(call).map_err(TokenStoreError)
    }
}

#[async_trait]
impl SessionStore for Probed<dyn SessionStore> {
    async fn create(
        &self,
        key: SessionKey,
        record: SessionRecord,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        self.note("sessions.create")?;
        self.inner.create(key, record, ttl).await
    }
    async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        self.note("sessions.load")?;
        self.inner.load(key).await
    }
    async fn touch(
        &self,
        key: &SessionKey,
        now: SystemTime,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        self.note("sessions.touch")?;
        self.inner.touch(key, now, ttl).await
    }
    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.note("sessions.delete")?;
        self.inner.delete(key).await
    }
    /// Handed to the store behind, so that the app's tests run the store's
    /// own `resume` (the memory store's: one lock), not the trait's steps;
    /// written down as the steps it takes: the load, then the touch or the
    /// delete, as `keep_for` decided.
    async fn resume(
        &self,
        key: &SessionKey,
        now: SystemTime,
        keep_for: &KeepFor<'_>,
    ) -> Result<Option<ActiveSession>, StoreError> {
        self.note("sessions.load")?;
        // 0: nothing found; 1: kept, so touched; 2: expired, so deleted.
        let judged = AtomicU8::new(0);
        let watched = |record: &SessionRecord| {
            let kept = keep_for(record);
            judged.store(if kept.is_some() { 1 } else { 2 }, Ordering::SeqCst);
            kept
        };
        let resumed = self.inner.resume(key, now, &watched).await?;
        match judged.load(Ordering::SeqCst) {
            1 => self.note("sessions.touch")?,
            2 => self.note("sessions.delete")?,
            _ => {}
        }
        Ok(resumed)
    }
    async fn delete_all_for_user(&self, user: &str) -> Result<usize, StoreError> {
        self.note("sessions.delete_all_for_user")?;
        self.inner.delete_all_for_user(user).await
    }
    async fn list_for_user(
        &self,
        user: &str,
    ) -> Result<Vec<(SessionKey, SessionRecord)>, StoreError> {
        self.note("sessions.list_for_user")?;
        self.inner.list_for_user(user).await
    }
    fn shard_for(&self, user: &str) -> Option<u32> {
        self.inner.shard_for(user)
    }
}

#[async_trait]
impl RefreshFamilyStore for Probed<dyn RefreshFamilyStore> {
    async fn start(
        &self,
        sid: &str,
        user: &str,
        jti: &str,
        expires: u64,
        now: u64,
        device: &Device,
    ) -> Result<(), TokenStoreError> {
        self.note_token("families.start")?;
        self.inner.start(sid, user, jti, expires, now, device).await
    }
    async fn rotate(
        &self,
        sid: &str,
        jti: &str,
        next_jti: &str,
        now: u64,
        idle: u64,
    ) -> Result<Rotation, TokenStoreError> {
        self.note_token("families.rotate")?;
        self.inner.rotate(sid, jti, next_jti, now, idle).await
    }
    async fn revoke(&self, sid: &str) -> Result<(), TokenStoreError> {
        self.note_token("families.revoke")?;
        self.inner.revoke(sid).await
    }
    async fn end(&self, user: &str, sid: &str) -> Result<Option<FamilyRecord>, TokenStoreError> {
        self.note_token("families.end")?;
        self.inner.end(user, sid).await
    }
    async fn revoke_all_for(&self, user: &str) -> Result<RevokedAll, TokenStoreError> {
        self.note_token("families.revoke_all_for")?;
        self.inner.revoke_all_for(user).await
    }
    async fn list_for_user(&self, user: &str) -> Result<Vec<FamilyRecord>, TokenStoreError> {
        self.note_token("families.list_for_user")?;
        self.inner.list_for_user(user).await
    }
}

#[async_trait]
impl DenylistStore for Probed<dyn DenylistStore> {
    async fn deny(
        &self,
        user: &str,
        sid: &str,
        until: u64,
        now: u64,
    ) -> Result<(), TokenStoreError> {
        self.note_token("denylist.deny")?;
        self.inner.deny(user, sid, until, now).await
    }
    async fn is_denied(&self, user: &str, sid: &str, now: u64) -> Result<bool, TokenStoreError> {
        self.note_token("denylist.is_denied")?;
        self.inner.is_denied(user, sid, now).await
    }
}

#[async_trait]
impl BothChecksStore for Probed<dyn BothChecksStore> {
    async fn denied_and_version(
        &self,
        user: &str,
        sid: &str,
        now: u64,
    ) -> Result<(bool, u64), TokenStoreError> {
        self.note_token("denylist_and_version.read")?;
        self.inner.denied_and_version(user, sid, now).await
    }
}

#[async_trait]
impl SessionCheck for Probed<dyn SessionCheck> {
    async fn check(
        &self,
        key: &SessionKey,
        now: SystemTime,
        timeouts: Timeouts,
    ) -> Result<Option<CheckedSession>, StoreError> {
        self.note("sessions_and_accounts.check")?;
        self.inner.check(key, now, timeouts).await
    }
}

#[async_trait]
impl TokenVersionStore for Probed<dyn TokenVersionStore> {
    async fn current(&self, user: &str) -> Result<u64, TokenStoreError> {
        self.note_token("versions.current")?;
        self.inner.current(user).await
    }
    async fn bump(&self, user: &str) -> Result<u64, TokenStoreError> {
        self.note_token("versions.bump")?;
        self.inner.bump(user).await
    }
}

#[async_trait]
impl AccountStore for Probed<dyn AccountStore> {
    async fn insert(&self, account: Account) -> Result<(), StoreError> {
        self.note("accounts.insert")?;
        self.inner.insert(account).await
    }
    async fn account(&self, name: &str) -> Result<Option<Account>, StoreError> {
        self.note("accounts.account")?;
        self.inner.account(name).await
    }
    async fn set_role(&self, name: &str, role: Role) -> Result<Option<Profile>, StoreError> {
        self.note("accounts.set_role")?;
        self.inner.set_role(name, role).await
    }
    async fn set_password(
        &self,
        name: &str,
        current_hash: &str,
        new_hash: &str,
    ) -> Result<bool, StoreError> {
        self.note("accounts.set_password")?;
        self.inner.set_password(name, current_hash, new_hash).await
    }
    async fn all(&self) -> Result<Vec<Profile>, StoreError> {
        self.note("accounts.all")?;
        self.inner.all().await
    }
}

#[async_trait]
impl OrderStore for Probed<dyn OrderStore> {
    async fn place(&self, by: &str, item: &str, most: usize) -> Result<Option<Order>, StoreError> {
        self.note("orders.place")?;
        self.inner.place(by, item, most).await
    }
    async fn placed_by(
        &self,
        by: &str,
        after: u64,
        count: usize,
    ) -> Result<Vec<Order>, StoreError> {
        self.note("orders.placed_by")?;
        self.inner.placed_by(by, after, count).await
    }
}

#[async_trait]
impl ThrottleStore for Probed<dyn ThrottleStore> {
    async fn reserve_attempt(
        &self,
        key: &str,
        attempt: CountedAttempt,
        limit: Limit,
    ) -> Result<Attempt, StoreError> {
        self.note("throttle.reserve_attempt")?;
        self.inner.reserve_attempt(key, attempt, limit).await
    }
    async fn release(&self, key: &str, id: u64) -> Result<(), StoreError> {
        self.note("throttle.release")?;
        self.inner.release(key, id).await
    }
    async fn clear(&self, key: &str) -> Result<(), StoreError> {
        self.note("throttle.clear")?;
        self.inner.clear(key).await
    }
    async fn remember(
        &self,
        key: &str,
        client: &str,
        now: SystemTime,
        known_for: Duration,
    ) -> Result<(), StoreError> {
        self.note("throttle.remember")?;
        self.inner.remember(key, client, now, known_for).await
    }
    async fn remembers(
        &self,
        key: &str,
        client: &str,
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        self.note("throttle.remembers")?;
        self.inner.remembers(key, client, now).await
    }
}

/// The real memory store, counting which of its calls a request's session
/// check takes: its own `resume`, or the steps.
#[derive(Default)]
struct CountingResumes {
    inner: sessions::MemoryStore,
    resumes: std::sync::atomic::AtomicUsize,
    steps: std::sync::atomic::AtomicUsize,
}

#[async_trait]
impl SessionStore for CountingResumes {
    async fn create(
        &self,
        key: SessionKey,
        record: SessionRecord,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        self.inner.create(key, record, ttl).await
    }
    async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        self.steps.fetch_add(1, Ordering::SeqCst);
        self.inner.load(key).await
    }
    async fn touch(
        &self,
        key: &SessionKey,
        now: SystemTime,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        self.steps.fetch_add(1, Ordering::SeqCst);
        self.inner.touch(key, now, ttl).await
    }
    async fn resume(
        &self,
        key: &SessionKey,
        now: SystemTime,
        keep_for: &KeepFor<'_>,
    ) -> Result<Option<ActiveSession>, StoreError> {
        self.resumes.fetch_add(1, Ordering::SeqCst);
        self.inner.resume(key, now, keep_for).await
    }
    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.steps.fetch_add(1, Ordering::SeqCst);
        self.inner.delete(key).await
    }
    async fn delete_all_for_user(&self, user: &str) -> Result<usize, StoreError> {
        self.inner.delete_all_for_user(user).await
    }
    async fn list_for_user(
        &self,
        user: &str,
    ) -> Result<Vec<(SessionKey, SessionRecord)>, StoreError> {
        self.inner.list_for_user(user).await
    }
}

/// The app's tests run the memory store's own `resume` (one lock), as
/// `cafe serve --auth sessions` does, not the trait's three steps: the
/// probe hands the call on, and still writes down the load and the touch
/// (or, past the idle timeout, the delete).
#[tokio::test]
async fn the_probe_hands_the_session_check_to_the_stores_own_resume() {
    use crate::support::{Mode, opening_time, spawn_configured};
    let store = Arc::new(CountingResumes::default());
    let mut config = Mode::Sessions.config();
    config.stores.sessions = store.clone();
    let clock = Arc::new(cafe::clock::ManualClock::starting_at(opening_time()));
    let app = spawn_configured(Mode::Sessions, config, clock.clone()).await;
    let alice = app.logged_in("alice", "wonderland-42").await;
    app.probe.take_calls();
    assert_eq!(alice.get("/me").await.status, 200);
    assert_eq!(
        app.probe.take_calls(),
        ["sessions.load", "sessions.touch", "accounts.account"]
    );
    clock.advance(Timeouts::default().idle);
    assert_eq!(alice.get("/me").await.status, 401);
    assert_eq!(app.probe.take_calls(), ["sessions.load", "sessions.delete"]);
    assert_eq!(store.resumes.load(Ordering::SeqCst), 2);
    assert_eq!(store.steps.load(Ordering::SeqCst), 0, "no step taken alone");
    assert!(store.inner.is_empty(), "the expired session was deleted");
}
