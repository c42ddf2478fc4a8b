//! Unit tests for the module beside this folder: kept out of its file so
//! that the chapters, which include the whole file, stay light.

use super::*;
use sessions::id::SessionId;
use sessions::timeouts::{Timeouts, Verdict};
use std::sync::Arc;

fn record(user: &str, at: SystemTime) -> SessionRecord {
    SessionRecord {
        user: user.to_owned(),
        created_at: at,
        last_seen: at,
        login_id: format!("{user}-login"),
        device: sessions::Device::default(),
    }
}

#[tokio::test]
async fn records_past_their_ttl_are_swept_on_a_later_write() {
    let store = MemoryStore::new();
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    let ttl = Duration::from_secs(30 * 60);
    let old = SessionId::generate().unwrap().key();
    store
        .create(old, record("alice", start), ttl)
        .await
        .unwrap();
    // A write before the TTL has passed keeps it.
    let later = start + ttl - Duration::from_secs(1);
    let fresh = SessionId::generate().unwrap().key();
    store
        .create(fresh, record("admin", later), ttl)
        .await
        .unwrap();
    assert_eq!(store.len(), 2);
    // A write after it sweeps it out, and its user index with it.
    let after = start + ttl + SWEEP_INTERVAL;
    let newest = SessionId::generate().unwrap().key();
    store
        .create(newest, record("admin", after), ttl)
        .await
        .unwrap();
    assert_eq!(store.load(&old).await.unwrap(), None);
    assert_eq!(store.delete_all_for_user("alice").await.unwrap(), 0);
    assert_eq!(store.len(), 2);
}

#[tokio::test]
async fn touching_pushes_the_ttl_back() {
    let store = MemoryStore::new();
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    let ttl = Duration::from_secs(60);
    let key = SessionId::generate().unwrap().key();
    store
        .create(key, record("alice", start), ttl)
        .await
        .unwrap();
    store
        .touch(&key, start + Duration::from_secs(50), ttl)
        .await
        .unwrap();
    // Past the first TTL, before the renewed one: the sweep keeps it.
    let other = SessionId::generate().unwrap().key();
    let at = start + Duration::from_secs(100);
    store.create(other, record("admin", at), ttl).await.unwrap();
    assert!(store.load(&key).await.unwrap().is_some());
}

/// `--idle-timeout 300000000000y` once reached here as a TTL, and
/// `last_seen + ttl` panicked on the first login. A TTL past the end of the
/// clock keeps the record until it is deleted; the timeouts still judge it.
#[tokio::test]
async fn a_ttl_past_the_end_of_the_clock_keeps_the_record_and_never_panics() {
    let store = MemoryStore::new();
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let key = SessionId::generate().unwrap().key();
    store
        .create(key, record("alice", start), Duration::MAX)
        .await
        .unwrap();
    store
        .touch(&key, start + Duration::from_secs(60), Duration::MAX)
        .await
        .unwrap();
    // A later write sweeps, and keeps the record.
    let other = SessionId::generate().unwrap().key();
    let much_later = start + Duration::from_secs(10 * 365 * 24 * 60 * 60);
    store
        .create(other, record("admin", much_later), Duration::MAX)
        .await
        .unwrap();
    assert!(store.load(&key).await.unwrap().is_some());
    assert_eq!(store.len(), 2);
}

/// A memory store that takes [`SessionStore::resume`] in steps, as the
/// trait's default does for every store that does not override it.
struct InSteps(MemoryStore);

#[async_trait]
impl SessionStore for InSteps {
    async fn create(
        &self,
        key: SessionKey,
        record: SessionRecord,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        self.0.create(key, record, ttl).await
    }
    async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        self.0.load(key).await
    }
    async fn touch(
        &self,
        key: &SessionKey,
        now: SystemTime,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        self.0.touch(key, now, ttl).await
    }
    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.0.delete(key).await
    }
    async fn delete_all_for_user(&self, user: &str) -> Result<usize, StoreError> {
        self.0.delete_all_for_user(user).await
    }
    async fn list_for_user(
        &self,
        user: &str,
    ) -> Result<Vec<(SessionKey, SessionRecord)>, StoreError> {
        self.0.list_for_user(user).await
    }
}

/// Every record a memory store holds, with when it may be forgotten.
type Held = Vec<(SessionKey, SessionRecord, Option<SystemTime>)>;

fn held(store: &MemoryStore) -> Held {
    let records = store.lock();
    let mut all: Held = records
        .by_key
        .iter()
        .map(|(key, (record, forget))| (*key, record.clone(), *forget))
        .collect();
    all.sort_by_key(|(key, _, _)| *key);
    all
}

#[tokio::test]
async fn the_memory_store_resumes_in_one_step_exactly_as_the_steps_do() {
    let timeouts = Timeouts::default();
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    let minutes = |m: u64| start + Duration::from_secs(m * 60);
    let second = Duration::from_secs(1);
    let every_20_minutes_for_9_hours: Vec<SystemTime> = (0..=27).map(|n| minutes(n * 20)).collect();
    let requests: Vec<Vec<SystemTime>> = vec![
        vec![start, start + second, minutes(29) + 59 * second],
        vec![minutes(30)],
        vec![
            minutes(30) - second,
            minutes(60) - 2 * second,
            minutes(60) - second,
        ],
        every_20_minutes_for_9_hours,
        vec![minutes(8 * 60) - second, minutes(8 * 60)],
        // A clock that moved backwards counts as no time passing.
        vec![minutes(10), minutes(5), minutes(39)],
    ];
    for at in requests {
        let (one_step, in_steps) = (MemoryStore::new(), InSteps(MemoryStore::new()));
        let (key, other) = (
            SessionId::generate().unwrap().key(),
            SessionId::generate().unwrap().key(),
        );
        let ttl = timeouts.idle.min(timeouts.absolute);
        for store in [&one_step as &dyn SessionStore, &in_steps] {
            store
                .create(key, record("alice", start), ttl)
                .await
                .unwrap();
            store
                .create(other, record("admin", start), ttl)
                .await
                .unwrap();
        }
        let unknown = SessionId::generate().unwrap().key();
        for now in &at {
            let keep_for = |record: &SessionRecord| {
                (timeouts.judge(record, *now) == Verdict::Active)
                    .then(|| timeouts.remaining(record, *now))
            };
            for key in [key, unknown] {
                let answer = one_step.resume(&key, *now, &keep_for).await.unwrap();
                let expected = in_steps.resume(&key, *now, &keep_for).await.unwrap();
                assert_eq!(answer, expected, "{now:?} in {at:?}");
                assert_eq!(held(&one_step), held(&in_steps.0), "{now:?} in {at:?}");
            }
        }
    }
}

/// A request is being judged when a logout of its session arrives, on a
/// thread of its own: the steps let the logout end the session before the
/// touch; the memory store's one lock holds the logout until the touch is
/// done. Either way the request goes on as a request made before the
/// logout, and nothing brings the session back.
async fn a_logout_arrives_while_the_request_is_judged<S: SessionStore>(
    store: Arc<S>,
    memory: fn(&S) -> &MemoryStore,
    one_lock: bool,
) {
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    let key = SessionId::generate().unwrap().key();
    let ttl = Duration::from_secs(30 * 60);
    store
        .create(key, record("alice", start), ttl)
        .await
        .unwrap();
    let arrived = Arc::new(std::sync::Barrier::new(2));
    let logout = Mutex::new(None);
    let judged = std::sync::atomic::AtomicUsize::new(0);
    let keep_for = |_: &SessionRecord| {
        judged.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let (logging_out, at_the_door) = (Arc::clone(&store), Arc::clone(&arrived));
        let thread = std::thread::spawn(move || {
            at_the_door.wait();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            runtime.block_on(logging_out.delete(&key)).unwrap();
        });
        arrived.wait();
        if one_lock {
            // The store is locked while it judges: the logout waits.
            assert!(memory(&store).records.try_lock().is_err());
            *logout.lock().unwrap() = Some(thread);
        } else {
            // Between the load and the touch: the logout ends it now.
            thread.join().unwrap();
            assert!(memory(&store).is_empty());
        }
        Some(ttl)
    };
    let later = start + Duration::from_secs(60);
    let resumed = store.resume(&key, later, &keep_for).await.unwrap();
    if let Some(thread) = logout.lock().unwrap().take() {
        thread.join().unwrap();
    }
    assert_eq!(judged.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(
        resumed,
        Some(ActiveSession {
            user: "alice".to_owned(),
            login_id: "alice-login".to_owned(),
        })
    );
    assert!(memory(&store).is_empty(), "the logout ended it for good");
    assert_eq!(store.load(&key).await.unwrap(), None);
}

#[tokio::test]
async fn a_logout_during_a_request_ends_the_session_in_one_step_or_in_steps() {
    a_logout_arrives_while_the_request_is_judged(Arc::new(MemoryStore::new()), |s| s, true).await;
    let in_steps = Arc::new(InSteps(MemoryStore::new()));
    a_logout_arrives_while_the_request_is_judged(in_steps, |s| &s.0, false).await;
}
