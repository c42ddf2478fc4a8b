//! Unit tests for the module beside this folder: kept out of its file so
//! that the chapters, which include the whole file, stay light.

use super::*;

#[test]
fn short_secrets_are_refused() {
    assert_eq!(
        SigningKey::hs256("k", b"hunter2").unwrap_err(),
        KeyError::SecretTooShort(7)
    );
    assert!(SigningKey::hs256("k", &[7u8; 32]).is_ok());
}

use serde_json::json;

#[test]
fn the_jwks_holds_public_keys_only() {
    let ring = KeyRing::new(SigningKey::generate("es-1", SigningAlgorithm::Es256).unwrap());
    let jwks = serde_json::to_value(ring.jwks()).unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "EC");
    assert_eq!(key["kid"], "es-1");
    assert!(key.get("d").is_none(), "no private part");
    let hmac = KeyRing::new(SigningKey::generate("hs-1", SigningAlgorithm::Hs256).unwrap());
    assert_eq!(
        serde_json::to_value(hmac.jwks()).unwrap(),
        json!({ "keys": [] })
    );
}

#[test]
fn rotation_keeps_old_keys_for_verification_until_retired() {
    let mut ring = KeyRing::new(SigningKey::generate("one", SigningAlgorithm::EdDsa).unwrap());
    ring.rotate(SigningKey::generate("two", SigningAlgorithm::EdDsa).unwrap());
    assert_eq!(ring.signing_key().kid(), "two");
    assert!(ring.verification_key("one").is_some());
    ring.retire("one");
    assert!(ring.verification_key("one").is_none());
    assert_eq!(ring.jwks().keys.len(), 1);
}

#[test]
fn a_key_pair_from_its_parts_is_the_key_pair_from_pkcs8_and_a_bad_public_key_is_refused() {
    for algorithm in [SigningAlgorithm::Es256, SigningAlgorithm::EdDsa] {
        let pkcs8 = SigningKey::generate_pkcs8(algorithm).unwrap();
        let derived = SigningKey::from_pkcs8("k-1", algorithm, &pkcs8).unwrap();
        let jwk = serde_json::to_value(KeyRing::new(derived).jwks()).unwrap();
        let x = jwk["keys"][0]["x"].as_str().unwrap();
        let decode = |part: &str| {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .unwrap()
        };
        let public_key = match algorithm {
            SigningAlgorithm::Es256 => {
                let y = jwk["keys"][0]["y"].as_str().unwrap();
                [vec![0x04], decode(x), decode(y)].concat()
            }
            _ => decode(x),
        };
        let from_parts = SigningKey::from_key_pair("k-1", algorithm, &pkcs8, &public_key).unwrap();
        assert_eq!(
            serde_json::to_value(KeyRing::new(from_parts).jwks()).unwrap(),
            jwk
        );
        for bad in [
            &public_key[1..],
            &[public_key.as_slice(), &[0]].concat()[..],
            &[],
        ] {
            let refused = SigningKey::from_key_pair("k-1", algorithm, &pkcs8, bad);
            assert!(matches!(refused, Err(KeyError::Crypto(_))), "{algorithm:?}");
        }
    }
    let refused = SigningKey::from_key_pair("k-1", SigningAlgorithm::Hs256, b"", b"");
    assert!(refused.is_err());
}
