//! Unit tests for the module beside this folder: kept out of its file so
//! that the chapters, which include the whole file, stay light.

use super::*;
use sessions::id::SessionId;

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
