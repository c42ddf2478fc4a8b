//! Unit tests for the module beside this folder: kept out of its file so
//! that the chapters, which include the whole file, stay light.

use super::*;

#[tokio::test]
async fn a_family_rotates_and_a_reused_token_revokes_it() {
    let store = MemoryTokenStore::new();
    store.start("f", "alice", "r1", 1_000, 0).await.unwrap();
    let rotated = Rotation::Rotated {
        user: "alice".to_owned(),
    };
    assert_eq!(store.rotate("f", "r1", "r2").await.unwrap(), rotated);
    let refused = |why| Rotation::Refused(why);
    assert_eq!(
        store.rotate("f", "r1", "r3").await.unwrap(),
        refused(RotationRefusal::Reused)
    );
    assert_eq!(
        store.rotate("f", "r2", "r3").await.unwrap(),
        refused(RotationRefusal::Revoked)
    );
}

#[tokio::test]
async fn denylist_entries_hold_until_their_end_and_are_then_swept() {
    let store = MemoryTokenStore::new();
    store.deny("a", 100, 50).await.unwrap();
    assert!(store.is_denied("a", 99).await.unwrap());
    assert!(!store.is_denied("a", 100).await.unwrap());
    store.deny("b", 300, 200).await.unwrap();
    assert_eq!(store.denylist_len(), 1, "a was swept at 200");
}

#[tokio::test]
async fn expired_families_are_swept_on_a_later_login() {
    let store = MemoryTokenStore::new();
    store.start("old", "alice", "r1", 100, 0).await.unwrap();
    store.start("new", "alice", "r1", 500, 200).await.unwrap();
    assert_eq!(store.family_count(), 1);
    assert_eq!(
        store.rotate("old", "r1", "r2").await.unwrap(),
        Rotation::Refused(RotationRefusal::Unknown)
    );
}
