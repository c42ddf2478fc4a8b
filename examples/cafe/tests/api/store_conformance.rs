//! What every implementation of the store traits must do, checked through
//! the traits alone: the memory stores run it here, and a shared store
//! (Redis) runs the very same function against a real server.

use cafe::orders::MAX_ORDERS_PER_USER;
use cafe::orders::Order;
use cafe::store::{OrderStore, Stores};
use cafe::throttle::{Attempt, Limit, PastTheLimit};
use cafe::users::{Account, Role};
use jwt::revocation::{Device, Rotation, RotationRefusal};
use sessions::{SessionId, SessionRecord};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const NOW: u64 = 1_767_258_000;
const DAY: u64 = 24 * 60 * 60;

fn at(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds)
}

/// Runs every check against `stores`. Each check uses names of its own
/// (`conformance-…`), so a store that already holds data is fine.
pub async fn check_every_store(stores: &Stores) {
    sessions_are_filed_touched_and_ended(stores).await;
    refresh_rotation_is_a_compare_and_swap(stores).await;
    families_are_listed_and_end_when_left_idle(stores).await;
    denylist_entries_end_when_they_say(stores).await;
    token_versions_only_go_up(stores).await;
    accounts_orders_and_the_throttle(stores).await;
    orders_stop_at_1000_per_user_and_come_in_pages(stores).await;
}

async fn sessions_are_filed_touched_and_ended(stores: &Stores) {
    let store = &stores.sessions;
    let ttl = Duration::from_secs(1800);
    let user = "conformance-sessions";
    let record = SessionRecord {
        user: user.to_owned(),
        created_at: at(NOW),
        last_seen: at(NOW),
        login_id: "conformance-login".to_owned(),
        device: Device::new("192.0.2.7", Some("Conformance/1.0")),
    };
    // In the user's shard, where the store files their sessions (Redis).
    let new_key = || SessionId::generate_in(store.shard_for(user)).unwrap().key();
    let (phone, laptop) = (new_key(), new_key());
    store.create(phone, record.clone(), ttl).await.unwrap();
    store.create(laptop, record.clone(), ttl).await.unwrap();
    assert_eq!(store.load(&phone).await.unwrap(), Some(record.clone()));
    // The user's list comes from the same index, every field as written.
    let mut listed = store.list_for_user(user).await.unwrap();
    listed.sort_by_key(|(key, _)| *key);
    let mut expected = vec![(phone, record.clone()), (laptop, record.clone())];
    expected.sort_by_key(|(key, _)| *key);
    assert_eq!(listed, expected);
    assert!(
        store
            .list_for_user("conformance-nobody")
            .await
            .unwrap()
            .is_empty()
    );

    store.touch(&phone, at(NOW + 60), ttl).await.unwrap();
    let touched = store.load(&phone).await.unwrap().unwrap();
    assert_eq!(touched.last_seen, at(NOW + 60));
    assert_eq!(
        touched.created_at,
        at(NOW),
        "touch never moves the login time"
    );

    store.delete(&phone).await.unwrap();
    assert_eq!(store.load(&phone).await.unwrap(), None);
    store.delete(&phone).await.unwrap(); // twice is harmless
    assert_eq!(
        store.delete_all_for_user(user).await.unwrap(),
        1,
        "only the laptop is left"
    );
    assert_eq!(store.load(&laptop).await.unwrap(), None);
    assert_eq!(store.delete_all_for_user(user).await.unwrap(), 0);
}

async fn refresh_rotation_is_a_compare_and_swap(stores: &Stores) {
    let families = &stores.tokens.families;
    let user = "conformance-refresh";
    families
        .start(
            "conformance-f1",
            user,
            "r1",
            NOW + 3600,
            NOW,
            &Device::default(),
        )
        .await
        .unwrap();
    families
        .start(
            "conformance-f2",
            user,
            "r1",
            NOW + 3600,
            NOW,
            &Device::default(),
        )
        .await
        .unwrap();

    // Eight swaps of the same token at once: exactly one wins.
    let attempts: Vec<_> = (0..8)
        .map(|n| {
            let families = families.clone();
            tokio::spawn(async move {
                families
                    .rotate("conformance-f1", "r1", &format!("r2-{n}"), NOW, DAY)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut rotated = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Rotation::Rotated { user: owner } => {
                assert_eq!(owner, user);
                rotated += 1;
            }
            Rotation::Refused(why) => {
                assert!(matches!(
                    why,
                    RotationRefusal::Reused | RotationRefusal::Revoked
                ));
            }
        }
    }
    assert_eq!(rotated, 1);
    // The losers were reuses: the family is revoked.
    assert_eq!(
        families
            .rotate("conformance-f1", "r1", "r3", NOW, DAY)
            .await
            .unwrap(),
        Rotation::Refused(RotationRefusal::Revoked)
    );
    assert_eq!(
        families
            .rotate("conformance-none", "r1", "r2", NOW, DAY)
            .await
            .unwrap(),
        Rotation::Refused(RotationRefusal::Unknown)
    );
    assert_eq!(
        families.revoke_all_for(user).await.unwrap().ended,
        1,
        "f2 was still active"
    );
    assert_eq!(
        families
            .rotate("conformance-f2", "r1", "r2", NOW, DAY)
            .await
            .unwrap(),
        Rotation::Refused(RotationRefusal::Revoked)
    );
}

async fn families_are_listed_and_end_when_left_idle(stores: &Stores) {
    let families = &stores.tokens.families;
    let user = "conformance-idle";
    let phone = Device::new("192.0.2.7", Some("Phone/2.0"));
    families
        .start("conformance-i1", user, "r1", NOW + DAY, NOW, &phone)
        .await
        .unwrap();
    families
        .start(
            "conformance-i2",
            user,
            "r1",
            NOW + DAY,
            NOW,
            &Device::default(),
        )
        .await
        .unwrap();
    let mut listed = families.list_for_user(user).await.unwrap();
    listed.sort_by(|a, b| a.sid.cmp(&b.sid));
    assert_eq!(listed.len(), 2);
    let first = &listed[0];
    assert_eq!(
        (
            first.sid.as_str(),
            first.user.as_str(),
            first.created,
            first.last_used
        ),
        ("conformance-i1", user, NOW, NOW)
    );
    assert_eq!((first.expires, &first.device), (NOW + DAY, &phone));

    // Renewed 599 s in, inside a 600 s limit; then left 600 s: ended.
    let rotated = Rotation::Rotated {
        user: user.to_owned(),
    };
    let i1 = "conformance-i1";
    assert_eq!(
        families
            .rotate(i1, "r1", "r2", NOW + 599, 600)
            .await
            .unwrap(),
        rotated
    );
    let renewed = families.list_for_user(user).await.unwrap();
    let renewed = renewed.iter().find(|f| f.sid == i1).unwrap();
    assert_eq!(renewed.last_used, NOW + 599);
    assert_eq!(
        families
            .rotate(i1, "r2", "r3", NOW + 1199, 600)
            .await
            .unwrap(),
        Rotation::Refused(RotationRefusal::Idle)
    );
    assert_eq!(
        families
            .rotate(i1, "r2", "r3", NOW + 1199, DAY)
            .await
            .unwrap(),
        Rotation::Refused(RotationRefusal::Revoked),
        "ended for good"
    );
    let left: Vec<String> = families
        .list_for_user(user)
        .await
        .unwrap()
        .into_iter()
        .map(|family| family.sid)
        .collect();
    assert_eq!(left, ["conformance-i2"]);
    // Ending one is for its owner only, and answers it as it was.
    let i2 = "conformance-i2";
    assert_eq!(families.end("conformance-someone", i2).await.unwrap(), None);
    let ended = families.end(user, i2).await.unwrap().unwrap();
    assert_eq!(
        (ended.sid.as_str(), ended.last_used, ended.expires),
        (i2, NOW, NOW + DAY)
    );
    assert_eq!(families.end(user, i2).await.unwrap(), None, "once");
    assert_eq!(
        families.rotate(i2, "r1", "r2", NOW + 1, DAY).await.unwrap(),
        Rotation::Refused(RotationRefusal::Revoked)
    );
    assert_eq!(families.revoke_all_for(user).await.unwrap().ended, 0);
    assert!(families.list_for_user(user).await.unwrap().is_empty());
}

async fn denylist_entries_end_when_they_say(stores: &Stores) {
    let denylist = &stores.tokens.denylist;
    assert!(
        !denylist
            .is_denied("conformance-denied", "conformance-j1", NOW)
            .await
            .unwrap()
    );
    denylist
        .deny("conformance-denied", "conformance-j1", NOW + 905, NOW)
        .await
        .unwrap();
    assert!(
        denylist
            .is_denied("conformance-denied", "conformance-j1", NOW + 904)
            .await
            .unwrap()
    );
    assert!(
        !denylist
            .is_denied("conformance-denied", "conformance-j1", NOW + 905)
            .await
            .unwrap()
    );
}

async fn token_versions_only_go_up(stores: &Stores) {
    let versions = &stores.tokens.versions;
    let user = "conformance-versions";
    let start = versions.current(user).await.unwrap();
    assert_eq!(versions.bump(user).await.unwrap(), start + 1);
    assert_eq!(versions.current(user).await.unwrap(), start + 1);
}

async fn accounts_orders_and_the_throttle(stores: &Stores) {
    let name = "conformance-barista";
    let account = Account::new(name, "espresso-all-day", Role::Member).unwrap();
    stores.accounts.insert(account.clone()).await.unwrap();
    assert_eq!(stores.accounts.account(name).await.unwrap(), Some(account));
    let admin = stores
        .accounts
        .set_role(name, Role::Admin)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(admin.role, Role::Admin);
    assert_eq!(
        stores
            .accounts
            .set_role("conformance-nobody", Role::Admin)
            .await
            .unwrap(),
        None
    );
    assert!(stores.accounts.all().await.unwrap().contains(&admin));

    // A password change is a compare-and-swap on the hash: of two changes
    // made with the same current hash, only the first lands; sent again
    // after a lost answer, the same change is still a success.
    let accounts = &stores.accounts;
    let (old, new, rival) = ("$old-hash", "$new-hash", "$rival-hash");
    let mut with_old = Account::new(name, "unused", Role::Admin).unwrap();
    old.clone_into(&mut with_old.password_hash);
    accounts.insert(with_old).await.unwrap();
    assert!(accounts.set_password(name, old, new).await.unwrap());
    assert!(!accounts.set_password(name, old, rival).await.unwrap());
    let stored = accounts.account(name).await.unwrap().unwrap();
    assert_eq!(
        (stored.password_hash.as_str(), stored.role),
        (new, Role::Admin)
    );
    assert!(
        !accounts
            .set_password("conformance-nobody", old, new)
            .await
            .unwrap()
    );
    assert_eq!(accounts.account("conformance-nobody").await.unwrap(), None);

    let first = stores
        .orders
        .place(name, "flat white", MAX_ORDERS_PER_USER)
        .await
        .unwrap();
    let second = stores
        .orders
        .place(name, "cortado", MAX_ORDERS_PER_USER)
        .await
        .unwrap();
    let (first, second) = (first.unwrap(), second.unwrap());
    assert!(second.id > first.id, "ids grow");
    assert_eq!(
        stores.orders.placed_by(name, 0, 100).await.unwrap(),
        [first, second]
    );

    // Twenty attempts at once against a limit of five: exactly five allowed.
    let limit = Limit {
        max: 5,
        window: Duration::from_secs(900),
        past_the_limit: PastTheLimit::Refuse,
    };
    let key = &format!("account:{name}");
    let attempts: Vec<_> = (0..20)
        .map(|id| {
            let (throttle, key) = (stores.throttle.clone(), key.clone());
            tokio::spawn(async move {
                let attempt = throttle.reserve_attempt(&key, (at(NOW), id), limit).await;
                (id, attempt.unwrap())
            })
        })
        .collect();
    let mut allowed = Vec::new();
    for attempt in attempts {
        if let (id, Attempt::Allowed) = attempt.await.unwrap() {
            allowed.push(id);
        }
    }
    assert_eq!(allowed.len(), 5);
    let again = stores
        .throttle
        .reserve_attempt(key, (at(NOW), allowed[0]), limit);
    assert_eq!(
        again.await.unwrap(),
        Attempt::Allowed,
        "sent twice, counted once"
    );
    let sixth = stores.throttle.reserve_attempt(key, (at(NOW), 99), limit);
    assert!(matches!(sixth.await.unwrap(), Attempt::Refused { .. }));
    // One taken back makes room for one.
    stores.throttle.release(key, allowed[0]).await.unwrap();
    let after_release = stores.throttle.reserve_attempt(key, (at(NOW), 100), limit);
    assert_eq!(after_release.await.unwrap(), Attempt::Allowed);
    stores.throttle.clear(key).await.unwrap();
    let after_clear = stores.throttle.reserve_attempt(key, (at(NOW), 101), limit);
    assert_eq!(after_clear.await.unwrap(), Attempt::Allowed);

    // Past a spacing limit: one more each window / max, never a lockout.
    let spaced = Limit {
        max: 2,
        window: Duration::from_secs(900),
        past_the_limit: PastTheLimit::Space,
    };
    let key = &format!("spaced:{name}");
    for (id, seconds) in [(1, 0), (2, 1)] {
        let attempt = stores
            .throttle
            .reserve_attempt(key, (at(NOW + seconds), id), spaced);
        assert_eq!(attempt.await.unwrap(), Attempt::Allowed);
    }
    let early = stores
        .throttle
        .reserve_attempt(key, (at(NOW + 2), 3), spaced);
    assert_eq!(
        early.await.unwrap(),
        Attempt::Refused {
            retry_after: Duration::from_secs(449)
        }
    );
    let spaced_out = stores
        .throttle
        .reserve_attempt(key, (at(NOW + 451), 4), spaced);
    assert_eq!(spaced_out.await.unwrap(), Attempt::Allowed);

    // Known clients: remembered for a while, the most recent few only.
    let known = &format!("known:{name}");
    let month = Duration::from_secs(30 * 24 * 3600);
    let throttle = &stores.throttle;
    assert!(
        !throttle
            .remembers(known, "203.0.113.4", at(NOW))
            .await
            .unwrap()
    );
    throttle
        .remember(known, "203.0.113.4", at(NOW), month)
        .await
        .unwrap();
    assert!(
        throttle
            .remembers(known, "203.0.113.4", at(NOW + 60))
            .await
            .unwrap()
    );
    assert!(
        !throttle
            .remembers(known, "198.51.100.7", at(NOW + 60))
            .await
            .unwrap()
    );
    let lapsed = at(NOW + month.as_secs() + 1);
    assert!(
        !throttle
            .remembers(known, "203.0.113.4", lapsed)
            .await
            .unwrap()
    );
    for n in 0..=cafe::throttle::KNOWN_CLIENTS_PER_ACCOUNT {
        let client = format!("192.0.2.{n}");
        let when = at(NOW + 1 + u64::try_from(n).unwrap());
        throttle
            .remember(known, &client, when, month)
            .await
            .unwrap();
    }
    let oldest = throttle.remembers(known, "192.0.2.0", at(NOW + 100));
    assert!(!oldest.await.unwrap(), "only the most recent are kept");
    let newest = throttle.remembers(known, "192.0.2.1", at(NOW + 100));
    assert!(newest.await.unwrap());
}

/// A user name no earlier run against the same store has used: the
/// limit counts every order a name ever placed.
fn fresh_name(what: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("conformance-{what}-{nanos}")
}

async fn orders_stop_at_1000_per_user_and_come_in_pages(stores: &Stores) {
    let orders = &stores.orders;
    let name = &fresh_name("regular");
    let mut placed = Vec::new();
    let mut calls = 0;
    while calls < 1000 {
        calls += 1;
        placed.push(
            orders
                .place(name, "flat white", MAX_ORDERS_PER_USER)
                .await
                .unwrap()
                .unwrap(),
        );
    }
    assert_eq!((calls, placed.len()), (1000, 1000));
    assert_eq!(
        orders
            .place(name, "cortado", MAX_ORDERS_PER_USER)
            .await
            .unwrap(),
        None,
        "the 1001st is refused"
    );
    assert_eq!(
        orders
            .place(name, "cortado", MAX_ORDERS_PER_USER)
            .await
            .unwrap(),
        None
    );
    assert!(
        orders
            .place(&fresh_name("other"), "cortado", MAX_ORDERS_PER_USER)
            .await
            .unwrap()
            .is_some(),
        "the limit is per user"
    );

    assert_eq!(
        every_order(orders, name).await,
        placed,
        "every order once, oldest first"
    );
    let three = orders.placed_by(name, placed[10].id, 3).await.unwrap();
    assert_eq!(three, placed[11..14]);
    assert_eq!(orders.placed_by(name, 0, 0).await.unwrap(), []);
    assert_eq!(
        orders
            .placed_by(&fresh_name("nobody"), 0, 100)
            .await
            .unwrap(),
        []
    );

    // Eight orders at once for a user with 999: exactly one is placed.
    let name = &fresh_name("racing");
    for _ in 0..999 {
        orders
            .place(name, "flat white", MAX_ORDERS_PER_USER)
            .await
            .unwrap()
            .unwrap();
    }
    let racing: Vec<_> = (0..8)
        .map(|_| {
            let (orders, name) = (orders.clone(), name.clone());
            tokio::spawn(async move {
                orders
                    .place(&name, "cortado", MAX_ORDERS_PER_USER)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut won = 0;
    for order in racing {
        if order.await.unwrap().is_some() {
            won += 1;
        }
    }
    assert_eq!(won, 1);
    assert_eq!(every_order(orders, name).await.len(), 1000);
}

/// Every order `name` placed, read a page of 100 at a time, each page
/// after the last id of the one before.
async fn every_order(orders: &Arc<dyn OrderStore>, name: &str) -> Vec<Order> {
    let mut listed = Vec::new();
    let mut after = 0;
    loop {
        let page = orders.placed_by(name, after, 100).await.unwrap();
        assert!(page.len() <= 100);
        let Some(last) = page.last() else {
            return listed;
        };
        after = last.id;
        listed.extend(page);
    }
}

#[tokio::test]
async fn the_memory_stores_conform() {
    check_every_store(&Stores::in_memory()).await;
}
