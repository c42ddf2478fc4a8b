//! Unit tests for the module beside this folder: kept out of its file so
//! that the chapters, which include the whole file, stay light.

use super::*;
use sessions::id::SessionId;
use sessions::timeouts::{Timeouts, Verdict};

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
