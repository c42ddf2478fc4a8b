//! Unit tests for the module beside this folder: kept out of its file so
//! that the chapters, which include the whole file, stay light.

use super::*;

const NOW: u64 = 1_700_000_000;

fn member() -> Standing {
    Standing::Active {
        role: "member".to_owned(),
    }
}

fn authority(lifetimes: Lifetimes) -> TokenAuthority {
    let key = SigningKey::hs256("hs256-1", &[7u8; 32]).unwrap();
    TokenAuthority::new(
        KeyRing::new(key),
        lifetimes,
        RevocationChecks::default(),
        TokenStores::in_memory(),
    )
}

/// `--access-ttl` and `--refresh-ttl` are bounded at start, but the library
/// takes any `Lifetimes`: `now + lifetime` past `u64::MAX` once panicked (in
/// debug builds) or wrapped into a token expired at birth (in release). It
/// saturates: such a token lives to the end of NumericDate.
#[tokio::test]
async fn lifetimes_past_the_end_of_time_saturate_instead_of_overflowing() {
    let authority = authority(Lifetimes {
        access: u64::MAX,
        refresh: u64::MAX,
        refresh_idle: u64::MAX,
    });
    let pair = authority
        .log_in("alice", &Device::default(), NOW, async { Ok(member()) })
        .await
        .unwrap();
    let claims = authority
        .authenticate(&pair.access_token, NOW + 60)
        .await
        .unwrap();
    assert_eq!(claims.exp, u64::MAX);
    let refresh = authority
        .check_refresh_token(&pair.refresh_token, NOW + 60)
        .unwrap();
    assert_eq!(refresh.exp, u64::MAX);
    let renewed = authority
        .refresh(&refresh, NOW + 60, async { Ok(member()) })
        .await;
    assert!(renewed.is_ok(), "{renewed:?}");
}

async fn logged_in(authority: &TokenAuthority, user: &str) -> TokenPair {
    let device = Device::default();
    authority
        .log_in(user, &device, NOW, async { Ok(member()) })
        .await
        .unwrap()
}

fn checked_authority(denylist: bool, store: Arc<MemoryTokenStore>) -> TokenAuthority {
    let key = SigningKey::hs256("hs256-1", &[7u8; 32]).unwrap();
    let checks = RevocationChecks {
        denylist,
        token_version: false,
    };
    TokenAuthority::new(
        KeyRing::new(key),
        Lifetimes::default(),
        checks,
        TokenStores::all_in(store),
    )
}

/// Every way a login ends puts one entry on the denylist, named by the
/// login's `sid` (not a token's `jti`), which lasts until the newest access
/// token the login could hold has expired and the verifier's leeway has
/// passed: the moment it ended plus the access lifetime plus the leeway.
/// With the denylist unchecked, nothing is written.
#[tokio::test]
async fn each_ended_login_is_denied_by_sid_until_its_newest_token_has_expired() {
    for denylist in [false, true] {
        let store = Arc::new(MemoryTokenStore::new());
        let authority = checked_authority(denylist, store.clone());
        let by_access = logged_in(&authority, "alice").await;
        let by_refresh = logged_in(&authority, "alice").await;
        let ended_elsewhere = logged_in(&authority, "alice").await;
        let everywhere = [
            logged_in(&authority, "admin").await,
            logged_in(&authority, "admin").await,
        ];

        let claims = authority
            .authenticate(&by_access.access_token, NOW)
            .await
            .unwrap();
        authority.log_out(&claims, NOW + 10).await.unwrap();
        let ours = authority
            .log_out_refresh_token(&by_refresh.refresh_token, NOW + 20)
            .await
            .unwrap();
        assert!(ours);
        let ended = authority
            .end_login("alice", &ended_elsewhere.sid, NOW + 30)
            .await
            .unwrap();
        assert!(ended.is_some());
        let count = authority
            .log_out_everywhere("admin", NOW + 40)
            .await
            .unwrap();
        assert_eq!(count, 2);

        let until = |at: u64| at + Lifetimes::default().access + LEEWAY_SECONDS;
        let mut expected = vec![
            (by_access.sid.clone(), until(NOW + 10)),
            (by_refresh.sid.clone(), until(NOW + 20)),
            (ended_elsewhere.sid.clone(), until(NOW + 30)),
            (everywhere[0].sid.clone(), until(NOW + 40)),
            (everywhere[1].sid.clone(), until(NOW + 40)),
        ];
        expected.sort();
        let denied = store.snapshot().denylist;
        if denylist {
            assert_eq!(denied, expected);
        } else {
            assert!(denied.is_empty(), "{denied:?}");
        }
    }
}
