//! Unit tests for the module beside this folder: kept out of its file so
//! that the chapters, which include the whole file, stay light.

use super::*;

const DAY: u64 = 24 * 60 * 60;

#[tokio::test]
async fn a_family_rotates_and_a_reused_token_revokes_it() {
    let store = MemoryTokenStore::new();
    store
        .start("f", "alice", "r1", 1_000, 0, &Device::default())
        .await
        .unwrap();
    let rotated = Rotation::Rotated {
        user: "alice".to_owned(),
    };
    assert_eq!(
        store.rotate("f", "r1", "r2", 0, DAY).await.unwrap(),
        rotated
    );
    let refused = |why| Rotation::Refused(why);
    assert_eq!(
        store.rotate("f", "r1", "r3", 0, DAY).await.unwrap(),
        refused(RotationRefusal::Reused)
    );
    assert_eq!(
        store.rotate("f", "r2", "r3", 0, DAY).await.unwrap(),
        refused(RotationRefusal::Revoked)
    );
}

#[tokio::test]
async fn denylist_entries_hold_until_their_end_and_are_then_swept() {
    let store = MemoryTokenStore::new();
    store.deny("alice", "a", 100, 50).await.unwrap();
    assert!(store.is_denied("alice", "a", 99).await.unwrap());
    assert!(!store.is_denied("alice", "a", 100).await.unwrap());
    store.deny("alice", "b", 300, 200).await.unwrap();
    assert_eq!(store.denylist_len(), 1, "a was swept at 200");
}

#[tokio::test]
async fn expired_families_are_swept_on_a_later_login() {
    let store = MemoryTokenStore::new();
    store
        .start("old", "alice", "r1", 100, 0, &Device::default())
        .await
        .unwrap();
    store
        .start("new", "alice", "r1", 500, 200, &Device::default())
        .await
        .unwrap();
    assert_eq!(store.family_count(), 1);
    assert_eq!(
        store.rotate("old", "r1", "r2", 0, DAY).await.unwrap(),
        Rotation::Refused(RotationRefusal::Unknown)
    );
}

#[tokio::test]
async fn a_family_left_unrenewed_for_the_idle_limit_ends_and_a_renewal_restarts_it() {
    let store = MemoryTokenStore::new();
    let device = Device::new("192.0.2.7", Some("Phone"));
    store
        .start("f", "alice", "r1", 10_000, 0, &device)
        .await
        .unwrap();
    let rotated = Rotation::Rotated {
        user: "alice".to_owned(),
    };
    // 599 s after the login, within a 600 s limit: renewed, and the clock
    // restarts from here.
    assert_eq!(
        store.rotate("f", "r1", "r2", 599, 600).await.unwrap(),
        rotated
    );
    assert_eq!(
        store.rotate("f", "r2", "r3", 1_198, 600).await.unwrap(),
        rotated
    );
    let listed = store.list_for_user("alice").await.unwrap();
    assert_eq!((listed[0].created, listed[0].last_used), (0, 1_198));
    assert_eq!(listed[0].device, device);
    // Exactly 600 s after the last renewal: ended, and for good.
    assert_eq!(
        store.rotate("f", "r3", "r4", 1_798, 600).await.unwrap(),
        Rotation::Refused(RotationRefusal::Idle)
    );
    assert_eq!(
        store
            .rotate("f", "r3", "r4", 1_799, 1_000_000)
            .await
            .unwrap(),
        Rotation::Refused(RotationRefusal::Revoked)
    );
    assert!(store.list_for_user("alice").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_users_list_holds_only_their_live_families() {
    let store = MemoryTokenStore::new();
    let none = Device::default();
    store
        .start("a1", "alice", "r1", 1_000, 0, &none)
        .await
        .unwrap();
    store
        .start("a2", "alice", "r1", 1_000, 0, &none)
        .await
        .unwrap();
    store
        .start("b1", "admin", "r1", 1_000, 0, &none)
        .await
        .unwrap();
    store.revoke("a1").await.unwrap();
    let listed = store.list_for_user("alice").await.unwrap();
    let sids: Vec<&str> = listed.iter().map(|f| f.sid.as_str()).collect();
    assert_eq!(sids, ["a2"]);
    assert_eq!(store.revoke_all_for("alice").await.unwrap().ended, 1);
    assert_eq!(store.list_for_user("admin").await.unwrap().len(), 1);
}

#[tokio::test]
async fn ending_a_family_is_for_its_owner_only_and_answers_it_as_it_was() {
    let store = MemoryTokenStore::new();
    let none = Device::default();
    store
        .start("a1", "alice", "r1", 1_000, 0, &none)
        .await
        .unwrap();
    store.rotate("a1", "r1", "r2", 60, DAY).await.unwrap();
    assert_eq!(store.end("admin", "a1").await.unwrap(), None, "not admin's");
    let ended = store.end("alice", "a1").await.unwrap().unwrap();
    assert_eq!((ended.last_used, ended.revoked), (60, false));
    assert_eq!(store.end("alice", "a1").await.unwrap(), None, "once");
    assert_eq!(
        store.rotate("a1", "r2", "r3", 61, DAY).await.unwrap(),
        Rotation::Refused(RotationRefusal::Revoked)
    );
}

#[tokio::test]
async fn a_user_holds_at_most_the_cap_of_families_and_the_oldest_ends_first() {
    let store = MemoryTokenStore::new();
    let none = Device::default();
    let cap = MAX_LIVE_LOGINS_PER_USER as u64;
    for n in 0..=cap {
        let sid = format!("f{n}");
        store
            .start(&sid, "alice", "r1", 1_000 + n, n, &none)
            .await
            .unwrap();
    }
    assert_eq!(
        store.list_for_user("alice").await.unwrap().len(),
        MAX_LIVE_LOGINS_PER_USER
    );
    assert_eq!(
        store.rotate("f0", "r1", "r2", cap, DAY).await.unwrap(),
        Rotation::Refused(RotationRefusal::Revoked),
        "the oldest ended"
    );
    let rotated = Rotation::Rotated {
        user: "alice".to_owned(),
    };
    assert_eq!(
        store.rotate("f1", "r1", "r2", cap, DAY).await.unwrap(),
        rotated
    );
    // Revoked families leave the index: logging out makes room.
    store.revoke("f1").await.unwrap();
    assert_eq!(
        store.list_for_user("alice").await.unwrap().len(),
        MAX_LIVE_LOGINS_PER_USER - 1
    );
}
