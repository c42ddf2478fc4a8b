//! Unit tests for the module beside this folder: kept out of its file so
//! that the chapters, which include the whole file, stay light.

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
