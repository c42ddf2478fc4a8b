//! Refresh, logout and key rotation: the attacks a token's lifetime invites,
//! tried against the café's `TokenAuthority` (and, for rotation, its key
//! ring). Each must end in a refusal, or in the residual window the test
//! names.

use super::{NOW, check, claims, hs256_ring};
use jwt::keys::{KeyRing, SigningAlgorithm, SigningKey};
use jwt::revocation::{Device, RotationRefusal};
use jwt::tokens::{LEEWAY_SECONDS, TokenError, TokenKind, sign};
use jwt::{
    AccessRefusal, Lifetimes, RefreshRefusal, RevocationChecks, Standing, TokenAuthority,
    TokenPair, TokenStores,
};

fn authority(checks: RevocationChecks) -> TokenAuthority {
    TokenAuthority::new(
        hs256_ring(),
        Lifetimes::default(),
        checks,
        TokenStores::in_memory(),
    )
}

const PLAIN: RevocationChecks = RevocationChecks {
    denylist: false,
    token_version: false,
};
const DENYLIST: RevocationChecks = RevocationChecks {
    denylist: true,
    token_version: false,
};
const VERSIONS: RevocationChecks = RevocationChecks {
    denylist: false,
    token_version: true,
};

/// The account lookup the café passes to `log_in`: here, a role known in
/// advance.
async fn active(role: &str) -> Result<Standing, jwt::revocation::StoreError> {
    Ok(Standing::Active { role: role.into() })
}

/// `user` logged in with `role` at `NOW`: the login's first pair.
async fn logged_in(authority: &TokenAuthority, user: &str, role: &str) -> TokenPair {
    authority
        .log_in(user, &Device::default(), NOW, active(role))
        .await
        .unwrap()
}

fn member() -> Standing {
    Standing::Active {
        role: "member".into(),
    }
}

/// What the café's `/refresh` does: check the token, then rotate it.
async fn refresh(
    authority: &TokenAuthority,
    token: &str,
    standing: Standing,
    now: u64,
) -> Result<TokenPair, RefreshRefusal> {
    let claims = authority
        .check_refresh_token(token, now)
        .map_err(RefreshRefusal::Invalid)?;
    let renewed = authority
        .refresh(&claims, now, async { Ok(standing) })
        .await?;
    assert_eq!(renewed.user, claims.sub);
    Ok(renewed.pair)
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let authority = authority(PLAIN);
    let first = logged_in(&authority, "alice", "member").await;
    let second = refresh(&authority, &first.refresh_token, member(), NOW + 60)
        .await
        .unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);
    // The first refresh token again: a copy is in someone else's hands.
    assert_eq!(
        refresh(&authority, &first.refresh_token, member(), NOW + 120).await,
        Err(RefreshRefusal::Rotation(RotationRefusal::Reused))
    );
    // And the legitimate newest token dies with the family.
    assert_eq!(
        refresh(&authority, &second.refresh_token, member(), NOW + 180).await,
        Err(RefreshRefusal::Rotation(RotationRefusal::Revoked))
    );
}

/// A refresh token stolen and kept unused (from a backup, a laptop left
/// asleep) used to be good for the login's seven days. Now the login ends
/// once nobody has refreshed it for the idle limit, whoever holds it.
#[tokio::test]
async fn a_refresh_token_left_idle_past_the_limit_is_refused_and_ends_its_login() {
    let authority = authority(PLAIN);
    let idle = Lifetimes::default().refresh_idle;
    assert_eq!(
        idle,
        45 * 60,
        "the session's 30 minutes plus a 15-minute access token"
    );
    let first = logged_in(&authority, "alice", "member").await;
    // Refreshed a second before the limit: renewed, and the limit restarts.
    let second = refresh(&authority, &first.refresh_token, member(), NOW + idle - 1)
        .await
        .unwrap();
    let listed = authority.logins("alice", NOW + idle).await.unwrap();
    assert_eq!(listed.len(), 1, "alive, and listed");
    let later = NOW + idle - 1 + idle;
    assert!(
        authority.logins("alice", later).await.unwrap().is_empty(),
        "not listed once idle"
    );
    assert_eq!(
        refresh(&authority, &second.refresh_token, member(), later).await,
        Err(RefreshRefusal::Rotation(RotationRefusal::Idle))
    );
    // The refusal ended the login: a refresh dated back is refused too.
    assert_eq!(
        refresh(&authority, &second.refresh_token, member(), later - 60).await,
        Err(RefreshRefusal::Rotation(RotationRefusal::Revoked))
    );
}

#[tokio::test]
async fn a_user_ends_one_of_their_logins_and_not_anyone_elses() {
    for checks in [PLAIN, DENYLIST] {
        let authority = authority(checks);
        let phone = logged_in(&authority, "alice", "member").await;
        let laptop = logged_in(&authority, "alice", "member").await;
        let admin = logged_in(&authority, "admin", "admin").await;
        assert!(
            authority
                .end_login("alice", &admin.sid, NOW)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            authority
                .end_login("alice", &phone.sid, NOW)
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(
            refresh(&authority, &phone.refresh_token, member(), NOW + 60).await,
            Err(RefreshRefusal::Rotation(RotationRefusal::Revoked))
        );
        // Its access token: with the denylist, the ended login's sid is on
        // it, so refused at once; without a lookup, it works until it
        // expires.
        let phone_access = authority.authenticate(&phone.access_token, NOW + 60).await;
        if checks.denylist {
            assert_eq!(phone_access, Err(AccessRefusal::LoggedOut));
        } else {
            assert!(phone_access.is_ok());
        }
        // Neither the laptop's login nor the admin's (whose id alice named)
        // is reached.
        for other in [&laptop, &admin] {
            let access = authority.authenticate(&other.access_token, NOW + 60).await;
            assert!(access.is_ok(), "{access:?}");
        }
        assert!(
            refresh(&authority, &laptop.refresh_token, member(), NOW + 60)
                .await
                .is_ok()
        );
        let admin_logins = authority.logins("admin", NOW + 60).await.unwrap();
        assert_eq!(admin_logins.len(), 1);
    }
}

#[tokio::test]
async fn reuse_ends_the_familys_access_tokens_at_once_when_versions_or_the_denylist_are_checked() {
    for checks in [PLAIN, VERSIONS, DENYLIST] {
        let authority = authority(checks);
        let first = logged_in(&authority, "alice", "member").await;
        let second = refresh(&authority, &first.refresh_token, member(), NOW + 60)
            .await
            .unwrap();
        // Mallory replays the first refresh token: reuse is detected.
        assert!(
            refresh(&authority, &first.refresh_token, member(), NOW + 61)
                .await
                .is_err()
        );
        // The access token minted at the last good refresh...
        let result = authority.authenticate(&second.access_token, NOW + 62).await;
        if checks.token_version {
            assert_eq!(result, Err(AccessRefusal::Outdated), "ends at once");
        } else if checks.denylist {
            // The reused login is denied: every access token it was given.
            assert_eq!(result, Err(AccessRefusal::LoggedOut), "ends at once");
            let older = authority.authenticate(&first.access_token, NOW + 62).await;
            assert_eq!(older, Err(AccessRefusal::LoggedOut));
        } else {
            assert!(
                result.is_ok(),
                "lives until it expires: the residual window"
            );
        }
    }
}

#[tokio::test]
async fn two_concurrent_refreshes_with_one_token_exactly_one_wins() {
    let authority = std::sync::Arc::new(authority(PLAIN));
    let pair = logged_in(&authority, "alice", "member").await;
    let attempts: Vec<_> = (0..8)
        .map(|_| {
            let (authority, token) = (authority.clone(), pair.refresh_token.clone());
            tokio::spawn(
                async move { refresh(&authority, &token, member(), NOW + 1).await.is_ok() },
            )
        })
        .collect();
    let mut winners = 0;
    for attempt in attempts {
        winners += usize::from(attempt.await.unwrap());
    }
    assert_eq!(winners, 1);
}

#[tokio::test]
async fn a_banned_user_cannot_refresh() {
    let authority = authority(PLAIN);
    let pair = logged_in(&authority, "alice", "member").await;
    assert_eq!(
        refresh(&authority, &pair.refresh_token, Standing::Banned, NOW + 1).await,
        Err(RefreshRefusal::Banned)
    );
    assert_eq!(
        refresh(&authority, &pair.refresh_token, member(), NOW + 2).await,
        Err(RefreshRefusal::Rotation(RotationRefusal::Revoked)),
        "and the login is over, even if the ban is lifted"
    );
}

#[tokio::test]
async fn refresh_tokens_expire_at_the_end_of_the_login_however_often_used() {
    let authority = authority(PLAIN);
    let mut pair = logged_in(&authority, "alice", "member").await;
    let day = 24 * 3600;
    // A refresh a minute inside every idle limit, for the whole week.
    let step = Lifetimes::default().refresh_idle - 60;
    let mut refreshes = 0;
    let mut at = NOW + step;
    while at < NOW + 7 * day {
        pair = refresh(&authority, &pair.refresh_token, member(), at)
            .await
            .unwrap();
        refreshes += 1;
        at += step;
    }
    assert_eq!(
        refreshes,
        7 * day / step,
        "{refreshes} refreshes, every one renewed"
    );
    let late = refresh(
        &authority,
        &pair.refresh_token,
        member(),
        NOW + 7 * day + LEEWAY_SECONDS,
    )
    .await;
    assert_eq!(late, Err(RefreshRefusal::Invalid(TokenError::Expired)));
}

/// Alice's login holds two access tokens (one from the login, one from a
/// refresh a minute later), and she logs out presenting the newer. With the
/// denylist the login's `sid` goes on it, so the older is refused too; her
/// other login (the laptop's) is not reached.
#[tokio::test]
async fn logout_denylists_every_access_token_of_the_login_only_when_the_denylist_is_checked() {
    for checks in [PLAIN, DENYLIST] {
        let authority = authority(checks);
        let older = logged_in(&authority, "alice", "member").await;
        let laptop = logged_in(&authority, "alice", "member").await;
        let newer = refresh(&authority, &older.refresh_token, member(), NOW + 60)
            .await
            .unwrap();
        let claims = authority
            .authenticate(&newer.access_token, NOW + 60)
            .await
            .unwrap();
        authority.log_out(&claims, NOW + 60).await.unwrap();
        for token in [&older.access_token, &newer.access_token] {
            let after = authority.authenticate(token, NOW + 61).await;
            if checks.denylist {
                assert_eq!(after, Err(AccessRefusal::LoggedOut));
            } else {
                assert!(after.is_ok(), "stateless: nothing to look up, so no news");
            }
        }
        let laptop_access = authority.authenticate(&laptop.access_token, NOW + 61).await;
        assert!(laptop_access.is_ok(), "{laptop_access:?}");
        assert!(
            refresh(&authority, &newer.refresh_token, member(), NOW + 61)
                .await
                .is_err(),
            "either way, the login cannot be refreshed"
        );
    }
}

/// A logout presenting the login's older access token still refuses the
/// newer one through its whole life: the entry lasts until the newest
/// token the login can hold has expired and the leeway passed, not until
/// the presented token's `exp`.
#[tokio::test]
async fn a_logout_with_an_older_token_refuses_the_newest_through_its_leeway() {
    let authority = authority(DENYLIST);
    let older = logged_in(&authority, "alice", "member").await;
    let access = Lifetimes::default().access;
    let refreshed_at = NOW + access - 60;
    let newer = refresh(&authority, &older.refresh_token, member(), refreshed_at)
        .await
        .unwrap();
    let older_claims = authority
        .authenticate(&older.access_token, refreshed_at)
        .await
        .unwrap();
    authority
        .log_out(&older_claims, refreshed_at)
        .await
        .unwrap();
    // The newer token's last accepted second, were it not for the denylist.
    let newer_last = refreshed_at + access + LEEWAY_SECONDS - 1;
    assert_eq!(
        authority
            .authenticate(&newer.access_token, newer_last)
            .await,
        Err(AccessRefusal::LoggedOut)
    );
}

/// A logout with only the refresh token (in a body, or the hybrid's
/// cookie) ends the login's access tokens too when the denylist is
/// checked, the older and the newer; without it, they work until they
/// expire.
#[tokio::test]
async fn a_refresh_token_logout_refuses_the_logins_access_tokens_only_when_the_denylist_is_checked()
{
    for checks in [PLAIN, DENYLIST] {
        let authority = authority(checks);
        let older = logged_in(&authority, "alice", "member").await;
        let newer = refresh(&authority, &older.refresh_token, member(), NOW + 60)
            .await
            .unwrap();
        assert!(
            authority
                .log_out_refresh_token(&newer.refresh_token, NOW + 60)
                .await
                .unwrap()
        );
        for token in [&older.access_token, &newer.access_token] {
            let after = authority.authenticate(token, NOW + 61).await;
            if checks.denylist {
                assert_eq!(after, Err(AccessRefusal::LoggedOut));
            } else {
                assert!(after.is_ok(), "{after:?}");
            }
        }
        assert_eq!(
            refresh(&authority, &newer.refresh_token, member(), NOW + 61).await,
            Err(RefreshRefusal::Rotation(RotationRefusal::Revoked))
        );
    }
}

/// "Log out everywhere": with the denylist, each login it ends is on it, so
/// every access token of every one of them is refused at once; with the
/// version check, they are outdated; with neither, they work until they
/// expire. Another user's login is not reached.
#[tokio::test]
async fn logging_out_everywhere_refuses_every_logins_access_tokens_when_a_check_is_on() {
    for checks in [PLAIN, DENYLIST, VERSIONS] {
        let authority = authority(checks);
        let phone = logged_in(&authority, "alice", "member").await;
        let laptop = logged_in(&authority, "alice", "member").await;
        let admin = logged_in(&authority, "admin", "admin").await;
        let phone_newer = refresh(&authority, &phone.refresh_token, member(), NOW + 60)
            .await
            .unwrap();
        let ended = authority
            .log_out_everywhere("alice", NOW + 60)
            .await
            .unwrap();
        assert_eq!(ended, 2, "{checks:?}");
        let tokens = [
            &phone.access_token,
            &phone_newer.access_token,
            &laptop.access_token,
        ];
        for token in tokens {
            let after = authority.authenticate(token, NOW + 61).await;
            match (checks.denylist, checks.token_version) {
                (true, _) => assert_eq!(after, Err(AccessRefusal::LoggedOut)),
                (false, true) => assert_eq!(after, Err(AccessRefusal::Outdated)),
                (false, false) => assert!(after.is_ok(), "{after:?}"),
            }
        }
        let admin_access = authority.authenticate(&admin.access_token, NOW + 61).await;
        assert!(admin_access.is_ok(), "{checks:?}: {admin_access:?}");
    }
}

#[tokio::test]
async fn a_logged_out_token_stays_refused_through_the_leeway() {
    let authority = authority(DENYLIST);
    let alice = logged_in(&authority, "alice", "member").await;
    let admin = logged_in(&authority, "admin", "admin").await;
    let exp = NOW + Lifetimes::default().access;
    let alice_claims = authority
        .authenticate(&alice.access_token, NOW)
        .await
        .unwrap();
    let admin_claims = authority
        .authenticate(&admin.access_token, NOW)
        .await
        .unwrap();
    authority.log_out(&alice_claims, exp - 2).await.unwrap();
    // Another logout just after exp gives the store a chance to sweep.
    authority.log_out(&admin_claims, exp + 1).await.unwrap();
    // The verifier still accepts the signature and time until exp + leeway,
    // so the denylist must still say no.
    assert_eq!(
        authority.authenticate(&alice.access_token, exp + 2).await,
        Err(AccessRefusal::LoggedOut)
    );
}

#[tokio::test]
async fn a_token_logged_out_inside_the_leeway_is_refused_too() {
    let authority = authority(DENYLIST);
    let alice = logged_in(&authority, "alice", "member").await;
    let exp = NOW + Lifetimes::default().access;
    // Past exp, inside the leeway: the token still works...
    let claims = authority
        .authenticate(&alice.access_token, exp + 1)
        .await
        .unwrap();
    // ...until it is logged out.
    authority.log_out(&claims, exp + 1).await.unwrap();
    assert_eq!(
        authority.authenticate(&alice.access_token, exp + 2).await,
        Err(AccessRefusal::LoggedOut)
    );
}

#[tokio::test]
async fn token_versions_end_old_access_tokens_at_once_only_when_checked() {
    for checks in [PLAIN, VERSIONS] {
        let authority = authority(checks);
        let pair = logged_in(&authority, "alice", "member").await;
        authority.user_changed("alice").await.unwrap();
        let result = authority.authenticate(&pair.access_token, NOW + 1).await;
        if checks.token_version {
            assert_eq!(result, Err(AccessRefusal::Outdated));
        } else {
            assert!(
                result.is_ok(),
                "unchecked: the stale token works until it expires"
            );
        }
    }
}

#[test]
fn after_key_rotation_old_tokens_verify_until_the_old_key_is_retired() {
    let mut ring = KeyRing::new(SigningKey::generate("2026-01", SigningAlgorithm::Es256).unwrap());
    let old = sign(&ring, TokenKind::Access, &claims()).unwrap();
    ring.rotate(SigningKey::generate("2026-02", SigningAlgorithm::Es256).unwrap());
    let new = sign(&ring, TokenKind::Access, &claims()).unwrap();
    assert_eq!(
        jsonwebtoken::decode_header(&new).unwrap().kid.as_deref(),
        Some("2026-02")
    );
    assert!(check(&ring, &old).is_ok());
    assert!(check(&ring, &new).is_ok());
    ring.retire("2026-01");
    assert_eq!(check(&ring, &old), Err(TokenError::UnknownKey));
}

#[tokio::test]
async fn logout_with_an_expired_access_token_still_ends_the_login() {
    let authority = authority(DENYLIST);
    let pair = logged_in(&authority, "alice", "member").await;
    // 40 minutes on: the 15-minute token has expired, the login has not
    // idled out (45 minutes).
    let after_lunch = NOW + 40 * 60;
    assert!(
        authority
            .authenticate(&pair.access_token, after_lunch)
            .await
            .is_err(),
        "expired"
    );
    assert!(
        authority
            .log_out_token(&pair.access_token, after_lunch)
            .await
            .unwrap()
    );
    assert_eq!(
        refresh(&authority, &pair.refresh_token, member(), after_lunch).await,
        Err(RefreshRefusal::Rotation(RotationRefusal::Revoked))
    );
    assert!(
        !authority
            .log_out_token("not a token", after_lunch)
            .await
            .unwrap()
    );
}

/// An access token that expired longer ago than the idle limit ends
/// nothing: its login has idled out since, or was refreshed by whoever
/// holds it now, and an old token found in a log must neither end that
/// login nor write a denylist entry each time the last one lapses.
#[tokio::test]
async fn an_access_token_expired_past_the_idle_limit_ends_no_login() {
    let authority = authority(DENYLIST);
    let first = logged_in(&authority, "alice", "member").await;
    let lifetimes = Lifetimes::default();
    // Alice keeps her login alive, refreshing inside every idle limit.
    let step = lifetimes.refresh_idle - 60;
    let mut current = first.clone();
    let mut at = NOW;
    while at < NOW + lifetimes.access + lifetimes.refresh_idle {
        at += step;
        current = refresh(&authority, &current.refresh_token, member(), at)
            .await
            .unwrap();
    }
    // The first access token expired more than the idle limit ago.
    assert!(at >= NOW + lifetimes.access + lifetimes.refresh_idle);
    assert!(
        !authority
            .log_out_token(&first.access_token, at)
            .await
            .unwrap()
    );
    assert!(
        authority
            .authenticate(&current.access_token, at)
            .await
            .is_ok()
    );
    assert!(
        refresh(&authority, &current.refresh_token, member(), at + 1)
            .await
            .is_ok(),
        "alice's login lives on"
    );
}
