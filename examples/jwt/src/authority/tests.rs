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
