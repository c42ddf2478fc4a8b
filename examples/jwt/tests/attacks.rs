//! Every way the book knows to get a bad token accepted, tried against the
//! café's verifier. Each test names the attack; each must end in a refusal.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use jwt::forge;
use jwt::keys::{KeyRing, SigningAlgorithm, SigningKey};
use jwt::tokens::{
    AccessClaims, ISSUER, LEEWAY_SECONDS, MAX_TOKEN_BYTES, RefreshClaims, TokenError, TokenKind,
    random_id, sign, time_claim,
};
use serde_json::{Value, json};
use sha2::{Sha256, Sha384};

// A test binary's root looks for its modules beside itself, in tests/, where
// Cargo would take a file for a test binary of its own: hence the path.
#[path = "attacks/revocation.rs"]
mod revocation;

// Every token an attack here checks is checked by both paths, the café's
// (the lean HS256 check for its own tokens) and jsonwebtoken's, and the two
// verdicts must be equal: these wrappers stand in for `jwt::tokens`' own.
#[path = "differential/compare.rs"]
mod compare;

fn verify<C>(ring: &KeyRing, kind: TokenKind, token: &str, now: u64) -> Result<C, TokenError>
where
    C: serde::de::DeserializeOwned
        + jwt::tokens::RegisteredClaims
        + jwt::tokens::TimeClaims
        + PartialEq
        + std::fmt::Debug,
{
    compare::both_paths_at(ring, kind, token, now)
}

fn verify_ignoring_time<C>(ring: &KeyRing, kind: TokenKind, token: &str) -> Result<C, TokenError>
where
    C: serde::de::DeserializeOwned + jwt::tokens::RegisteredClaims + PartialEq + std::fmt::Debug,
{
    compare::both_paths(ring, kind, token).0
}

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

/// A token built by hand, HMAC-signed with `key` (or unsigned if `None`),
/// the way the attack lab builds its forgeries.
fn forge(header: Value, claims: Value, key: Option<&[u8]>) -> String {
    match key {
        Some(key) => forge::hmac_signed(&header, &claims, key),
        None => forge::unsigned(&header, &claims),
    }
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
    let tampered = format!("{}.{}.{}", parts[0], forge::segment(&promoted), parts[2]);
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
    let input = format!("{}.{}", forge::segment(&header), forge::segment(&claims()));
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
    let jwks = serde_json::to_value(ring.jwks()).unwrap();
    let jwk = &jwks["keys"][0];
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

/// JSON values that are not a time as the café writes one (whole seconds
/// since 1970, RFC 7519 §2): a fraction, a string, a negative number, a
/// boolean, null, an object, an array, and numbers past `u64::MAX`.
/// jsonwebtoken once read `"exp": "1000000000"` as no `exp` at all, so the
/// token never expired (GHSA-h395-gr6q-cpjc); each of these is an error.
fn mistyped_times() -> Vec<Value> {
    vec![
        json!(1_000_000_000.5),
        json!((NOW + 900) as f64),
        json!(1e300),
        json!("1000000000"),
        json!((NOW + 900).to_string()),
        json!(""),
        json!(-1),
        json!(true),
        json!(false),
        json!(null),
        json!({}),
        json!({ "seconds": NOW + 900 }),
        json!([NOW + 900]),
    ]
}

fn refresh_claims() -> Value {
    json!({
        "iss": ISSUER, "sub": "alice", "aud": "cafe-refresh",
        "iat": NOW, "nbf": NOW, "exp": NOW + 3600,
        "jti": "r1", "sid": "s1",
    })
}

fn refresh_header() -> Value {
    json!({ "alg": "HS256", "typ": "refresh+jwt", "kid": "k1" })
}

fn check_refresh(ring: &KeyRing, token: &str) -> Result<RefreshClaims, TokenError> {
    verify(ring, TokenKind::Refresh, token, NOW)
}

#[test]
fn a_time_claim_of_the_wrong_json_type_is_refused_never_read_as_absent() {
    let ring = hs256_ring();
    for claim in ["exp", "nbf", "iat"] {
        for value in mistyped_times() {
            let mut access = claims();
            access[claim] = value.clone();
            let token = forge(access_header(), access, Some(SECRET));
            assert!(
                matches!(check(&ring, &token), Err(TokenError::BadClaims(_))),
                "access token, {claim}: {value}"
            );
            // Logout's check skips exp and nbf, but not their types.
            let ignoring_time =
                verify_ignoring_time::<AccessClaims>(&ring, TokenKind::Access, &token);
            assert!(
                matches!(ignoring_time, Err(TokenError::BadClaims(_))),
                "access token ignoring time, {claim}: {value}"
            );

            let mut refresh = refresh_claims();
            refresh[claim] = value.clone();
            let token = forge(refresh_header(), refresh, Some(SECRET));
            assert!(
                matches!(check_refresh(&ring, &token), Err(TokenError::BadClaims(_))),
                "refresh token, {claim}: {value}"
            );
        }
    }
}

#[test]
fn the_time_claim_reader_tells_a_mistyped_claim_from_an_absent_one() {
    let claims = json!({ "exp": NOW + 900, "nbf": 0, "iat": u64::MAX });
    assert_eq!(time_claim(&claims, "exp"), Ok(Some(NOW + 900)));
    assert_eq!(time_claim(&claims, "nbf"), Ok(Some(0)));
    assert_eq!(time_claim(&claims, "iat"), Ok(Some(u64::MAX)));
    assert_eq!(time_claim(&json!({}), "exp"), Ok(None));
    for claim in ["exp", "nbf", "iat"] {
        for value in mistyped_times() {
            let mut claims = json!({});
            claims[claim] = value.clone();
            match time_claim(&claims, claim) {
                Err(TokenError::BadClaims(why)) => assert!(
                    why.starts_with(&format!("{claim}: ")),
                    "{claim}: {value} gave {why}"
                ),
                other => panic!("{claim}: {value} gave {other:?}"),
            }
        }
    }
}

/// RFC 9068 §4: a resource server accepts `at+jwt` or `application/at+jwt`.
/// RFC 7515 §4.1.9: `typ` is a media type, with `application/` left out
/// when nothing else has a `/`, and media types ignore letter case.
#[test]
fn typ_is_read_as_a_media_type_so_every_spelling_of_the_kind_is_accepted() {
    let ring = hs256_ring();
    for typ in [
        "at+jwt",
        "application/at+jwt",
        "AT+JWT",
        "at+JWT",
        "Application/At+Jwt",
        "APPLICATION/AT+JWT",
    ] {
        let mut header = access_header();
        header["typ"] = json!(typ);
        let token = forge(header, claims(), Some(SECRET));
        assert_eq!(
            check(&ring, &token).map(|c| c.sub),
            Ok("alice".to_owned()),
            "{typ}"
        );
    }
    for typ in [
        "refresh+jwt",
        "application/refresh+jwt",
        "REFRESH+JWT",
        "Refresh+Jwt",
        "Application/Refresh+JWT",
    ] {
        let mut header = refresh_header();
        header["typ"] = json!(typ);
        let token = forge(header, refresh_claims(), Some(SECRET));
        assert_eq!(
            check_refresh(&ring, &token).map(|c| c.sub),
            Ok("alice".to_owned()),
            "{typ}"
        );
    }
}

/// Reading `typ` as a media type widens it by letter case and the
/// `application/` prefix, and nothing else: the other kind, in any
/// spelling, and every near miss stay refused.
#[test]
fn no_spelling_of_one_kinds_typ_passes_for_the_other_nor_does_a_near_miss() {
    let ring = hs256_ring();
    let near_misses = |subtype: &str| {
        vec![
            Some(format!("text/{subtype}")),
            Some(format!("application/application/{subtype}")),
            Some(format!("x-application/{subtype}")),
            Some(format!("application:{subtype}")),
            Some(format!("/{subtype}")),
            Some(format!("application//{subtype}")),
            Some(format!(" {subtype}")),
            Some(format!("{subtype} ")),
            Some(format!("{subtype};charset=utf-8")),
            Some(format!("{subtype}\u{0}")),
            Some(format!("{subtype}/")),
            Some(subtype.replace('+', "-")),
            Some(subtype.replace('t', "\u{ff54}")), // fullwidth t: not ASCII case
            Some("application/".to_owned()),
            Some("jwt".to_owned()),
            Some("JWT".to_owned()),
            Some("application/jwt".to_owned()),
            Some(String::new()),
            None,
        ]
    };
    let refresh_spellings = [
        "refresh+jwt",
        "application/refresh+jwt",
        "REFRESH+JWT",
        "Application/Refresh+Jwt",
    ];
    let access_spellings = [
        "at+jwt",
        "application/at+jwt",
        "AT+JWT",
        "Application/At+Jwt",
    ];

    let as_access = refresh_spellings
        .map(|typ| Some(typ.to_owned()))
        .into_iter()
        .chain(near_misses("at+jwt"));
    for typ in as_access {
        let mut header = access_header();
        match &typ {
            Some(typ) => header["typ"] = json!(typ),
            None => drop(header.as_object_mut().unwrap().remove("typ")),
        }
        let token = forge(header, claims(), Some(SECRET));
        assert_eq!(check(&ring, &token), Err(TokenError::WrongType), "{typ:?}");
    }

    let as_refresh = access_spellings
        .map(|typ| Some(typ.to_owned()))
        .into_iter()
        .chain(near_misses("refresh+jwt"));
    for typ in as_refresh {
        let mut header = refresh_header();
        match &typ {
            Some(typ) => header["typ"] = json!(typ),
            None => drop(header.as_object_mut().unwrap().remove("typ")),
        }
        let token = forge(header, refresh_claims(), Some(SECRET));
        assert_eq!(
            check_refresh(&ring, &token),
            Err(TokenError::WrongType),
            "{typ:?}"
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
        jti: random_id().unwrap(),
        sid: random_id().unwrap(),
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
fn a_header_supplied_key_is_refused_even_with_a_valid_signature_by_it() {
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
    let signed_by_attacker = |header: Value| {
        let input = format!("{}.{}", forge::segment(&header), forge::segment(&claims()));
        let signature = attacker.sign(&rng, input.as_bytes()).unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
    };

    // The key itself in the header (jwk), or where to fetch it (jku).
    let with_jwk = json!({ "alg": "ES256", "typ": "at+jwt", "kid": "es", "jwk": attacker_jwk });
    assert_eq!(
        check(&ring, &signed_by_attacker(with_jwk)),
        Err(TokenError::ForbiddenHeader("jwk"))
    );
    let with_jku = json!({
        "alg": "ES256", "typ": "at+jwt", "kid": "es", "jku": "https://evil.example/jwks.json",
    });
    assert_eq!(
        check(&ring, &signed_by_attacker(with_jku)),
        Err(TokenError::ForbiddenHeader("jku"))
    );
    // Without those headers, the attacker's signature is simply wrong.
    let plain = json!({ "alg": "ES256", "typ": "at+jwt", "kid": "es" });
    assert_eq!(
        check(&ring, &signed_by_attacker(plain)),
        Err(TokenError::BadSignature)
    );
}

/// RFC 7515 §4.1 registers eleven header parameters; the café uses three
/// (`alg`, `kid`, `typ`) and refuses the others it could be tricked by.
/// Each token here is correctly signed with the server's own key, so only
/// the header decision can refuse it.
#[test]
fn every_registered_header_parameter_the_cafe_does_not_use_is_refused() {
    let certificate = STANDARD.encode(b"not really a certificate");
    let cases = [
        ("jku", json!("https://evil.example/jwks.json")),
        (
            "jwk",
            json!({ "kty": "oct", "k": URL_SAFE_NO_PAD.encode(SECRET) }),
        ),
        ("x5u", json!("https://evil.example/cert.pem")),
        ("x5c", json!([certificate])),
        ("x5t", json!(URL_SAFE_NO_PAD.encode([0u8; 20]))),
        ("x5t#S256", json!(URL_SAFE_NO_PAD.encode([0u8; 32]))),
        ("cty", json!("JWT")),
        ("crit", json!(["exp"])),
        ("zip", json!("DEF")),
    ];
    for (name, value) in cases {
        let mut header = access_header();
        header[name] = value;
        let token = forge(header, claims(), Some(SECRET));
        assert_eq!(
            check(&hs256_ring(), &token),
            Err(TokenError::ForbiddenHeader(name)),
            "{name}"
        );
    }
}

#[test]
fn crit_naming_an_extension_we_do_not_understand_is_refused() {
    // RFC 7515 §4.1.11: b64 (RFC 7797) changes what was signed; a recipient
    // that does not implement it must refuse, not ignore, the token.
    let mut header = access_header();
    header["b64"] = json!(false);
    header["crit"] = json!(["b64"]);
    let token = forge(header, claims(), Some(SECRET));
    assert_eq!(
        check(&hs256_ring(), &token),
        Err(TokenError::ForbiddenHeader("crit"))
    );
}

#[test]
fn unregistered_header_parameters_are_ignored_as_rfc_7515_requires() {
    let mut header = access_header();
    header["x-trace"] = json!("abc");
    header["b64"] = json!(false); // meaningless without crit, so ignored
    let token = forge(header, claims(), Some(SECRET));
    assert!(check(&hs256_ring(), &token).is_ok());
}

#[test]
fn a_header_with_a_member_twice_is_refused() {
    // Which alg would count? Some parsers take the first, some the last.
    let header = r#"{"alg":"none","typ":"at+jwt","kid":"k1","alg":"HS256"}"#;
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        forge::segment(&claims())
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET).unwrap();
    mac.update(input.as_bytes());
    let token = format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    );
    assert_eq!(check(&hs256_ring(), &token), Err(TokenError::Malformed));
}
