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
