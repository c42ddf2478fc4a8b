//! Unit tests for the module beside this folder: kept out of its file so
//! that the chapters, which include the whole file, stay light.

use super::*;
use sessions::store::{Device, MemoryStore};
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
    let id = sessions
        .start("alice", Device::default(), noon())
        .await
        .unwrap()
        .0;
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
    let first = sessions
        .start("alice", Device::default(), noon())
        .await
        .unwrap()
        .0;
    let second = sessions
        .start("alice", Device::default(), noon())
        .await
        .unwrap()
        .0;
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
    let id = sessions
        .start("alice", Device::default(), noon())
        .await
        .unwrap()
        .0;
    let later = noon() + Timeouts::default().idle;
    assert_eq!(sessions.resume(&id, later).await.unwrap(), None);
    assert!(store.snapshot().is_empty());
}

#[tokio::test]
async fn requests_keep_a_session_alive_until_the_absolute_timeout() {
    let (sessions, _store) = sessions();
    let id = sessions
        .start("alice", Device::default(), noon())
        .await
        .unwrap()
        .0;
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
    let alice_phone = sessions
        .start("alice", Device::default(), noon())
        .await
        .unwrap()
        .0;
    let alice_laptop = sessions
        .start("alice", Device::default(), noon())
        .await
        .unwrap()
        .0;
    let admin = sessions
        .start("admin", Device::default(), noon())
        .await
        .unwrap()
        .0;
    assert_eq!(sessions.end_all_for("alice").await.unwrap(), 2);
    assert_eq!(sessions.resume(&alice_phone, noon()).await.unwrap(), None);
    assert_eq!(sessions.resume(&alice_laptop, noon()).await.unwrap(), None);
    assert!(sessions.resume(&admin, noon()).await.unwrap().is_some());
}

#[tokio::test]
async fn a_user_lists_their_own_active_sessions_and_ends_one_by_its_handle() {
    let (sessions, _store) = sessions();
    let phone = Device::new("192.0.2.7", Some("Phone"));
    let (alice_phone, phone_record) = sessions
        .start("alice", phone.clone(), noon())
        .await
        .unwrap();
    let later = noon() + Duration::from_secs(60);
    let (alice_laptop, _) = sessions
        .start("alice", Device::default(), later)
        .await
        .unwrap();
    let (_, admin_record) = sessions
        .start("admin", Device::default(), noon())
        .await
        .unwrap();

    let listed = sessions.list("alice", later).await.unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(
        listed[0], phone_record,
        "oldest login first, with its device"
    );
    assert_eq!(listed[0].device, phone);
    // A handle is neither the ID nor anything derived from it.
    assert!(!listed[0].login_id.contains(alice_phone.as_str()));
    assert_ne!(listed[0].login_id, alice_phone.key().to_hex());

    // Another user's handle ends nothing, and says so as an unknown one does.
    assert!(
        !sessions
            .end_login("alice", &admin_record.login_id, later)
            .await
            .unwrap()
    );
    assert!(
        !sessions
            .end_login("alice", "no-such-login", later)
            .await
            .unwrap()
    );
    assert_eq!(sessions.list("admin", later).await.unwrap().len(), 1);

    assert!(
        sessions
            .end_login("alice", &phone_record.login_id, later)
            .await
            .unwrap()
    );
    assert_eq!(sessions.resume(&alice_phone, later).await.unwrap(), None);
    assert!(
        sessions
            .resume(&alice_laptop, later)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        !sessions
            .end_login("alice", &phone_record.login_id, later)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn an_expired_session_is_not_listed() {
    let (sessions, _store) = sessions();
    sessions
        .start("alice", Device::default(), noon())
        .await
        .unwrap();
    let idle_past = noon() + Timeouts::default().idle;
    assert!(sessions.list("alice", idle_past).await.unwrap().is_empty());
}

#[tokio::test]
async fn an_expired_session_is_not_reported_as_ended() {
    let (sessions, store) = sessions();
    let (_, record) = sessions
        .start("alice", Device::default(), noon())
        .await
        .unwrap();
    let idle_past = noon() + Timeouts::default().idle;
    assert!(
        !sessions
            .end_login("alice", &record.login_id, idle_past)
            .await
            .unwrap()
    );
    assert!(store.snapshot().is_empty(), "deleted all the same");
}

#[tokio::test]
async fn a_user_holds_at_most_the_cap_and_the_least_recently_used_goes_first() {
    let (sessions, store) = sessions();
    let cap = sessions::store::MAX_LIVE_LOGINS_PER_USER;
    let mut ids = Vec::new();
    for n in 0..cap {
        let at = noon() + Duration::from_secs(n as u64);
        ids.push(
            sessions
                .start("alice", Device::default(), at)
                .await
                .unwrap()
                .0,
        );
    }
    // The first login is used now: the second becomes the least recent.
    let later = noon() + Duration::from_secs(cap as u64);
    assert!(sessions.resume(&ids[0], later).await.unwrap().is_some());
    sessions
        .start("alice", Device::default(), later)
        .await
        .unwrap();
    assert_eq!(store.len(), cap);
    assert!(sessions.resume(&ids[1], later).await.unwrap().is_none());
    assert!(sessions.resume(&ids[0], later).await.unwrap().is_some());
    sessions
        .start("admin", Device::default(), later)
        .await
        .unwrap();
    assert_eq!(
        store.len(),
        cap + 1,
        "another user's logins are not counted"
    );
}
