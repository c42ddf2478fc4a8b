//! Unit tests for the module beside this folder: kept out of its file so
//! that the chapters, which include the whole file, stay light.

use super::*;
use jwt::keys::{SigningAlgorithm, SigningKey};

const NOW: u64 = 1_767_258_000;

fn ring(algorithm: SigningAlgorithm) -> KeyRing {
    KeyRing::new(SigningKey::generate("k1", algorithm).unwrap())
}

fn access(now: u64) -> AccessClaims {
    AccessClaims {
        iss: ISSUER.into(),
        sub: "alice".into(),
        aud: "cafe-api".into(),
        iat: now,
        nbf: now,
        exp: now + 900,
        jti: random_id().unwrap(),
        role: "member".into(),
        sid: random_id().unwrap(),
        ver: 0,
    }
}

#[test]
fn every_algorithm_really_signs_and_verifies() {
    // A missing or doubled crypto backend compiles and panics here.
    for algorithm in [
        SigningAlgorithm::Hs256,
        SigningAlgorithm::Es256,
        SigningAlgorithm::EdDsa,
    ] {
        let keys = ring(algorithm);
        let token = sign(&keys, TokenKind::Access, &access(NOW)).unwrap();
        let claims: AccessClaims = verify(&keys, TokenKind::Access, &token, NOW).unwrap();
        assert_eq!(claims.sub, "alice", "{algorithm:?}");
    }
}

#[test]
fn expiry_and_not_before_use_the_given_clock_and_the_small_leeway() {
    let keys = ring(SigningAlgorithm::Hs256);
    let token = sign(&keys, TokenKind::Access, &access(NOW)).unwrap();
    let check = |now| verify::<AccessClaims>(&keys, TokenKind::Access, &token, now);
    assert!(check(NOW + 900 + LEEWAY_SECONDS - 1).is_ok());
    assert_eq!(check(NOW + 900 + LEEWAY_SECONDS), Err(TokenError::Expired));
    assert_eq!(
        check(NOW - LEEWAY_SECONDS - 1),
        Err(TokenError::NotYetValid)
    );
}

#[test]
fn each_algorithm_and_kind_gets_its_own_kept_validation() {
    for algorithm in SigningAlgorithm::ALL {
        for kind in TokenKind::ALL {
            let rules = validation(algorithm, kind);
            assert_eq!(rules.algorithms, [algorithm.jwt_algorithm()]);
            let audience = rules.aud.as_ref().expect("an audience is required");
            assert_eq!(audience.iter().collect::<Vec<_>>(), [kind.audience()]);
            assert_eq!(rules.leeway, 0, "the leeway is ours, applied in check_time");
            // Built once: asking again gives the very same rules.
            assert!(std::ptr::eq(rules, validation(algorithm, kind)));
        }
    }
}

/// RFC 9068 (JWT access tokens for OAuth 2.0) asks for `typ: at+jwt` (§2.1)
/// and the claims `iss`, `exp`, `aud`, `sub`, `client_id`, `iat`, `jti`
/// (§2.2). The café's access tokens carry all of them but `client_id`: it
/// has no OAuth clients, only its own login.
#[test]
fn access_tokens_follow_rfc_9068_except_client_id() {
    let keys = ring(SigningAlgorithm::Hs256);
    let token = sign(&keys, TokenKind::Access, &access(NOW)).unwrap();
    let (header, claims) = crate::anatomy::decode_unverified(&token).unwrap();
    assert_eq!(header["typ"], "at+jwt");
    for claim in ["iss", "exp", "aud", "sub", "iat", "jti"] {
        assert!(claims.get(claim).is_some(), "{claim} is missing");
    }
    assert!(claims.get("client_id").is_none());
}
