//! Every way the book knows to get a bad token accepted, tried against the
//! café's verifier. Each test names the attack; each must end in a refusal.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use jwt::keys::{KeyRing, SigningAlgorithm, SigningKey};
use jwt::revocation::RotationRefusal;
use jwt::tokens::{
    AccessClaims, ISSUER, LEEWAY_SECONDS, MAX_TOKEN_BYTES, RefreshClaims, TokenError, TokenKind,
    random_id, sign, verify,
};
use jwt::{AccessRefusal, Lifetimes, RefreshRefusal, Standing, TokenAuthority};
use serde_json::{Value, json};
use sha2::{Sha256, Sha384};

const NOW: u64 = 1_767_258_000;
const SECRET: &[u8] = b"an example secret of thirty-two+ bytes, for tests only";

fn hs256_ring() -> KeyRing {
    KeyRing::new(SigningKey::hs256("k1", SECRET).unwrap())
}

fn claims() -> Value {
    json!({
        "iss": ISSUER, "sub": "alice", "aud": "cafe-api",
        "iat": NOW, "nbf": NOW, "exp": NOW + 900,
        "jti": "j1", "role": "member", "sid": "s1", "ver": 0,
    })
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// A token built by hand, HMAC-signed with `key` (or unsigned if `None`).
fn forge(header: Value, claims: Value, key: Option<&[u8]>) -> String {
    let input = format!("{}.{}", b64(&header), b64(&claims));
    let signature = match key {
        Some(key) => {
            let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
            mac.update(input.as_bytes());
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        }
        None => String::new(),
    };
    format!("{input}.{signature}")
}

fn access_header() -> Value {
    json!({ "alg": "HS256", "typ": "at+jwt", "kid": "k1" })
}

fn check(ring: &KeyRing, token: &str) -> Result<AccessClaims, TokenError> {
    verify(ring, TokenKind::Access, token, NOW)
}

#[test]
fn a_correctly_forged_token_is_accepted_so_the_forge_itself_is_right() {
    let token = forge(access_header(), claims(), Some(SECRET));
    assert_eq!(check(&hs256_ring(), &token).unwrap().sub, "alice");
}

#[test]
fn a_tampered_payload_fails_the_signature() {
    let token = forge(access_header(), claims(), Some(SECRET));
    let parts: Vec<&str> = token.split('.').collect();
    let mut promoted = claims();
    promoted["role"] = json!("admin");
    let tampered = format!("{}.{}.{}", parts[0], b64(&promoted), parts[2]);
    assert_eq!(
        check(&hs256_ring(), &tampered),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn a_signature_made_with_another_key_fails() {
    let token = forge(
        access_header(),
        claims(),
        Some(b"some other secret, also long enough!"),
    );
    assert_eq!(check(&hs256_ring(), &token), Err(TokenError::BadSignature));
}

#[test]
fn alg_none_is_refused_in_any_letter_case() {
    for none in ["none", "None", "NONE", "nOnE"] {
        let header = json!({ "alg": none, "typ": "at+jwt", "kid": "k1" });
        let unsigned = forge(header.clone(), claims(), None);
        assert_eq!(
            check(&hs256_ring(), &unsigned),
            Err(TokenError::Malformed),
            "{none}"
        );
        let signed = forge(header, claims(), Some(SECRET));
        assert_eq!(
            check(&hs256_ring(), &signed),
            Err(TokenError::Malformed),
            "{none}"
        );
    }
}

#[test]
fn an_algorithm_outside_the_allowlist_is_refused() {
    // HS384, correctly signed with the real secret: still refused, because
    // the key named by the kid is an HS256 key.
    let header = json!({ "alg": "HS384", "typ": "at+jwt", "kid": "k1" });
    let input = format!("{}.{}", b64(&header), b64(&claims()));
    let mut mac = Hmac::<Sha384>::new_from_slice(SECRET).unwrap();
    mac.update(input.as_bytes());
    let token = format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    );
    assert_eq!(
        check(&hs256_ring(), &token),
        Err(TokenError::WrongAlgorithm)
    );
}

#[test]
fn algorithm_confusion_an_hs256_token_keyed_with_the_public_key_is_refused() {
    let ring = KeyRing::new(SigningKey::generate("es", SigningAlgorithm::Es256).unwrap());
    let jwk = &ring.jwks()["keys"][0];
    // Everything an attacker can know about the public key, tried as an HMAC secret.
    let x = URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap();
    let y = URL_SAFE_NO_PAD.decode(jwk["y"].as_str().unwrap()).unwrap();
    let point = [&[4u8][..], &x, &y].concat();
    let candidates: Vec<Vec<u8>> = vec![
        point.clone(),
        jwk.to_string().into_bytes(),
        STANDARD.encode(&point).into_bytes(),
    ];
    for secret in candidates {
        let header = json!({ "alg": "HS256", "typ": "at+jwt", "kid": "es" });
        let token = forge(header, claims(), Some(&secret));
        assert_eq!(check(&ring, &token), Err(TokenError::WrongAlgorithm));
    }
}

#[test]
fn an_expired_token_is_refused_beyond_the_leeway() {
    let mut expired = claims();
    expired["exp"] = json!(NOW - LEEWAY_SECONDS);
    let token = forge(access_header(), expired, Some(SECRET));
    assert_eq!(check(&hs256_ring(), &token), Err(TokenError::Expired));
    let mut just = claims();
    just["exp"] = json!(NOW - LEEWAY_SECONDS + 1);
    assert!(check(&hs256_ring(), &forge(access_header(), just, Some(SECRET))).is_ok());
}

#[test]
fn a_token_not_valid_yet_is_refused() {
    let mut future = claims();
    future["nbf"] = json!(NOW + 3600);
    let token = forge(access_header(), future, Some(SECRET));
    assert_eq!(check(&hs256_ring(), &token), Err(TokenError::NotYetValid));
}

#[test]
fn wrong_or_missing_issuer_audience_or_expiry_is_refused() {
    let cases: Vec<(&str, Value)> = vec![
        ("iss", json!("someone-else")),
        ("aud", json!("another-api")),
        ("aud", json!(["another-api", "yet-another"])),
    ];
    for (claim, value) in cases {
        let mut bad = claims();
        bad[claim] = value.clone();
        let token = forge(access_header(), bad, Some(SECRET));
        assert!(
            matches!(check(&hs256_ring(), &token), Err(TokenError::BadClaims(_))),
            "{claim}={value}"
        );
    }
    for claim in ["iss", "aud", "exp", "nbf", "sub"] {
        let mut missing = claims();
        missing.as_object_mut().unwrap().remove(claim);
        let token = forge(access_header(), missing, Some(SECRET));
        assert!(
            matches!(check(&hs256_ring(), &token), Err(TokenError::BadClaims(_))),
            "no {claim}"
        );
    }
}

#[test]
fn a_refresh_token_is_not_an_access_token_and_the_reverse() {
    let ring = hs256_ring();
    let refresh = RefreshClaims {
        iss: ISSUER.into(),
        sub: "alice".into(),
        aud: "cafe-refresh".into(),
        iat: NOW,
        nbf: NOW,
        exp: NOW + 3600,
        jti: random_id(),
        sid: random_id(),
    };
    let refresh_token = sign(&ring, TokenKind::Refresh, &refresh).unwrap();
    assert_eq!(check(&ring, &refresh_token), Err(TokenError::WrongType));

    let access_token = forge(access_header(), claims(), Some(SECRET));
    let as_refresh = verify::<RefreshClaims>(&ring, TokenKind::Refresh, &access_token, NOW);
    assert_eq!(as_refresh, Err(TokenError::WrongType));

    // Even with the typ header rewritten, the audience still tells them apart.
    let mut relabelled = claims();
    relabelled["aud"] = json!("cafe-refresh");
    let token = forge(access_header(), relabelled, Some(SECRET));
    assert!(matches!(
        check(&ring, &token),
        Err(TokenError::BadClaims(_))
    ));
}

#[test]
fn an_oversized_token_is_refused_before_decoding() {
    let mut fat = claims();
    fat["padding"] = json!("x".repeat(MAX_TOKEN_BYTES));
    let token = forge(access_header(), fat, Some(SECRET));
    assert_eq!(check(&hs256_ring(), &token), Err(TokenError::TooLarge));
}

#[test]
fn malformed_encodings_are_refused() {
    let good = forge(access_header(), claims(), Some(SECRET));
    let parts: Vec<&str> = good.split('.').collect();
    let padded = format!("{}==.{}.{}", parts[0], parts[1], parts[2]);
    let padded_payload = format!("{}.{}=.{}", parts[0], parts[1], parts[2]);
    let standard_alphabet = good.replace('-', "+").replace('_', "/");
    let cases = [
        padded,
        padded_payload,
        format!("{}.{}", parts[0], parts[1]),
        format!("{good}.{}", parts[2]),
        "not a token".to_owned(),
        String::new(),
        "..".to_owned(),
    ];
    for token in cases
        .iter()
        .chain(std::iter::once(&standard_alphabet).filter(|t| **t != good))
    {
        assert!(check(&hs256_ring(), token).is_err(), "{token}");
    }
}

#[test]
fn an_unknown_or_missing_kid_is_refused() {
    let unknown = forge(
        json!({ "alg": "HS256", "typ": "at+jwt", "kid": "k9" }),
        claims(),
        Some(SECRET),
    );
    assert_eq!(check(&hs256_ring(), &unknown), Err(TokenError::UnknownKey));
    let missing = forge(
        json!({ "alg": "HS256", "typ": "at+jwt" }),
        claims(),
        Some(SECRET),
    );
    assert_eq!(check(&hs256_ring(), &missing), Err(TokenError::UnknownKey));
}

#[test]
fn jku_and_jwk_headers_are_ignored() {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};

    // The server's key ring, and an attacker with an ES256 key of their own.
    let ring = KeyRing::new(SigningKey::generate("es", SigningAlgorithm::Es256).unwrap());
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let attacker =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
    let point = attacker.public_key().as_ref();
    let attacker_jwk = json!({
        "kty": "EC", "crv": "P-256",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
    });

    for kid in ["es", "attacker"] {
        // A correct ES256 signature by the attacker's key, which the header
        // helpfully embeds (jwk) and links to (jku).
        let header = json!({
            "alg": "ES256", "typ": "at+jwt", "kid": kid,
            "jwk": attacker_jwk, "jku": "https://evil.example/jwks.json",
        });
        let input = format!("{}.{}", b64(&header), b64(&claims()));
        let signature = attacker.sign(&rng, input.as_bytes()).unwrap();
        let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()));
        let refused = check(&ring, &token);
        let expected = if kid == "es" {
            TokenError::BadSignature
        } else {
            TokenError::UnknownKey
        };
        assert_eq!(refused, Err(expected), "kid {kid}");
    }
}

fn authority(check_token_version: bool) -> TokenAuthority {
    TokenAuthority::new(hs256_ring(), Lifetimes::default(), check_token_version)
}

fn member(_: &str) -> Standing {
    Standing::Active {
        role: "member".into(),
    }
}

#[test]
fn refresh_rotates_and_reuse_revokes_the_family() {
    let authority = authority(false);
    let first = authority.log_in("alice", "member", NOW).unwrap();
    let second = authority
        .refresh(&first.refresh_token, member, NOW + 60)
        .unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);
    // The first refresh token again: a copy is in someone else's hands.
    assert_eq!(
        authority.refresh(&first.refresh_token, member, NOW + 120),
        Err(RefreshRefusal::Rotation(RotationRefusal::Reused))
    );
    // And the legitimate newest token dies with the family.
    assert_eq!(
        authority.refresh(&second.refresh_token, member, NOW + 180),
        Err(RefreshRefusal::Rotation(RotationRefusal::Revoked))
    );
}

#[test]
fn two_concurrent_refreshes_with_one_token_exactly_one_wins() {
    let authority = std::sync::Arc::new(authority(false));
    let pair = authority.log_in("alice", "member", NOW).unwrap();
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (authority, barrier, token) = (
                authority.clone(),
                barrier.clone(),
                pair.refresh_token.clone(),
            );
            std::thread::spawn(move || {
                barrier.wait();
                authority.refresh(&token, member, NOW + 1).is_ok()
            })
        })
        .collect();
    let winners = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter(|&won| won)
        .count();
    assert_eq!(winners, 1);
}

#[test]
fn a_banned_user_cannot_refresh() {
    let authority = authority(false);
    let pair = authority.log_in("alice", "member", NOW).unwrap();
    assert_eq!(
        authority.refresh(&pair.refresh_token, |_| Standing::Banned, NOW + 1),
        Err(RefreshRefusal::Banned)
    );
}

#[test]
fn refresh_tokens_expire_at_the_end_of_the_login_however_often_used() {
    let authority = authority(false);
    let mut pair = authority.log_in("alice", "member", NOW).unwrap();
    let day = 24 * 3600;
    for d in 1..7 {
        pair = authority
            .refresh(&pair.refresh_token, member, NOW + d * day)
            .unwrap();
    }
    let late = authority.refresh(&pair.refresh_token, member, NOW + 7 * day + LEEWAY_SECONDS);
    assert_eq!(late, Err(RefreshRefusal::Invalid(TokenError::Expired)));
}

#[test]
fn logout_denylists_the_access_token_until_it_expires() {
    let authority = authority(false);
    let pair = authority.log_in("alice", "member", NOW).unwrap();
    let claims = authority.authenticate(&pair.access_token, NOW).unwrap();
    authority.log_out(&claims, NOW);
    assert_eq!(
        authority.authenticate(&pair.access_token, NOW + 1),
        Err(AccessRefusal::LoggedOut)
    );
    assert!(
        authority
            .refresh(&pair.refresh_token, member, NOW + 1)
            .is_err()
    );
    assert_eq!(authority.denylist_len(), 1);
}

#[test]
fn token_versions_end_old_access_tokens_at_once_only_when_checked() {
    for checked in [false, true] {
        let authority = authority(checked);
        let pair = authority.log_in("alice", "member", NOW).unwrap();
        authority.user_changed("alice");
        let result = authority.authenticate(&pair.access_token, NOW + 1);
        if checked {
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

#[test]
fn logout_with_an_expired_access_token_still_ends_the_login() {
    let authority = authority(false);
    let pair = authority.log_in("alice", "member", NOW).unwrap();
    let after_lunch = NOW + 3600;
    assert!(
        authority
            .authenticate(&pair.access_token, after_lunch)
            .is_err(),
        "expired"
    );
    assert!(authority.log_out_token(&pair.access_token, after_lunch));
    assert_eq!(
        authority.refresh(&pair.refresh_token, member, after_lunch),
        Err(RefreshRefusal::Rotation(RotationRefusal::Revoked))
    );
    assert_eq!(
        authority.denylist_len(),
        0,
        "nothing to deny: the token is dead already"
    );
    assert!(!authority.log_out_token("not a token", after_lunch));
}
