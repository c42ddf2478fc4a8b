//! Unit tests for the module beside this folder: kept out of its file so
//! that the chapters, which include the whole file, stay light.

use super::*;

use cafe::store::{AccountStore, MemoryAccounts};

fn checker() -> PasswordChecker {
    PasswordChecker::new(HashingLimits::default()).unwrap()
}

#[tokio::test]
async fn the_demo_passwords_work_and_others_do_not() {
    let accounts = MemoryAccounts::with_demo_users();
    let checker = checker();
    let alice = accounts.account("alice").await.unwrap();
    let admin = accounts.account("admin").await.unwrap();
    assert_eq!(
        checker.check(alice.as_ref(), "wonderland-42").await,
        Ok(true)
    );
    assert_eq!(
        checker.check(admin.as_ref(), "admin-secret-42").await,
        Ok(true)
    );
    assert_eq!(
        checker.check(alice.as_ref(), "admin-secret-42").await,
        Ok(false)
    );
    assert_eq!(checker.check(None, "wonderland-42").await, Ok(false));
    assert_eq!(accounts.account("Alice").await.unwrap(), None);
}

#[test]
fn hashes_are_argon2id_with_the_owasp_parameters_and_a_salt_each() {
    let first = hash_password("wonderland-42").unwrap();
    let second = hash_password("wonderland-42").unwrap();
    assert!(
        first.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{first}"
    );
    assert_ne!(first, second, "each hash has its own salt");
}

#[tokio::test]
async fn an_unknown_name_costs_a_full_argon2_verification() {
    // Counted, not timed: one verification for a wrong password, one
    // for a name that does not exist, with the same parameters.
    let accounts = MemoryAccounts::with_demo_users();
    let checker = checker();
    let alice = accounts.account("alice").await.unwrap();
    checker
        .check(alice.as_ref(), "not-her-password")
        .await
        .unwrap();
    assert_eq!(checker.verifications(), 1);
    checker.check(None, "not-her-password").await.unwrap();
    assert_eq!(checker.verifications(), 2);
    let parameters = |hash: &str| hash.split('$').take(4).collect::<Vec<_>>().join("$");
    assert_eq!(
        parameters(&checker.dummy_hash),
        parameters(&alice.unwrap().password_hash)
    );
}

#[tokio::test]
async fn a_check_that_cannot_start_in_time_is_busy_not_queued_forever() {
    let limits = HashingLimits {
        concurrent: 1,
        queue_wait: Duration::from_millis(1),
    };
    let checker = Arc::new(PasswordChecker::new(limits).unwrap());
    let held = checker.permits.clone().acquire_owned().await.unwrap();
    assert_eq!(checker.check(None, "anything").await, Err(Busy));
    drop(held);
    assert_eq!(checker.check(None, "anything").await, Ok(false));
}

/// A password change hashes in the checker's slots, with the same
/// parameters and a fresh salt, and the hash it makes is one the checker
/// accepts, for that password only.
#[tokio::test]
async fn a_hash_made_in_a_slot_checks_like_one_made_at_start_up() {
    let checker = checker();
    let hash = checker.hash("a-new-flat-white").await.unwrap().unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    let again = checker.hash("a-new-flat-white").await.unwrap().unwrap();
    assert_ne!(hash, again, "a fresh salt each time");
    let account = Account {
        name: "alice".to_owned(),
        role: Role::Member,
        password_hash: hash,
    };
    assert_eq!(
        checker.check(Some(&account), "a-new-flat-white").await,
        Ok(true)
    );
    assert_eq!(
        checker.check(Some(&account), "wonderland-42").await,
        Ok(false)
    );
}
