use super::*;
use jwt::keys::{SigningAlgorithm, SigningKey};
use serde_json::json;

/// Secrets from tutorials; the attack lab's list is longer.
const WORDS: &[&str] = &["secret", "password", "secret123", "your-256-bit-secret"];

fn signed_by(key: &SigningKey) -> String {
    let header = json!({ "alg": "ES256", "typ": "at+jwt", "kid": key.kid() });
    let input = format!(
        "{}.{}",
        segment(&header),
        segment(&json!({ "sub": "alice" }))
    );
    format!("{input}.{}", key.signature(&input).unwrap())
}

fn verifies(key: &SigningKey, token: &str) -> bool {
    let (input, signature) = token.rsplit_once('.').unwrap();
    jsonwebtoken::crypto::verify(
        signature,
        input.as_bytes(),
        key.decoding(),
        key.algorithm().jwt_algorithm(),
    )
    .unwrap_or(false)
}

#[test]
fn a_token_signed_with_a_word_from_the_list_is_cracked_at_once() {
    let header = json!({ "alg": "HS256", "typ": "at+jwt" });
    let token = hmac_signed(&header, &json!({ "sub": "alice" }), b"secret123");
    // One HMAC per word, offline and unseen by the server: a real wordlist
    // is millions of words, each as cheap as these.
    assert_eq!(crack_hs256(&token, WORDS), Some("secret123"));
}

#[test]
fn a_random_256_bit_secret_is_not_in_any_wordlist() {
    let header = json!({ "alg": "HS256", "typ": "at+jwt" });
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).unwrap();
    let token = hmac_signed(&header, &json!({ "sub": "alice" }), &secret);
    assert_eq!(crack_hs256(&token, WORDS), None);
}

#[test]
fn an_ecdsa_signature_has_a_twin_that_verifies_too() {
    let key = SigningKey::generate("es256-1", SigningAlgorithm::Es256).unwrap();
    let token = signed_by(&key);
    let twin = ecdsa_twin(&token).unwrap();
    assert_ne!(twin, token, "a different string");
    // Why a denylist must not key on the token's bytes: the twin is a
    // second valid token with the same claims.
    assert!(verifies(&key, &token));
    assert!(verifies(&key, &twin));
    assert_eq!(ecdsa_twin(&twin).unwrap(), token, "n − (n − s) = s");
}

#[test]
fn respellings_differ_from_the_signature_but_decode_leniently_to_it() {
    let signature = b64(&[0xA5; 32]);
    let respellings = signature_respellings(&signature);
    assert_eq!(respellings.len(), 2, "padding, and the unused bits");
    for respelt in respellings {
        assert_ne!(respelt, signature);
        let lenient = base64::engine::GeneralPurpose::new(
            &base64::alphabet::URL_SAFE,
            base64::engine::GeneralPurposeConfig::new()
                .with_decode_allow_trailing_bits(true)
                .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
        );
        assert_eq!(lenient.decode(&respelt).unwrap(), vec![0xA5; 32]);
    }
}

#[test]
fn an_unsigned_token_is_the_signed_one_without_its_signature() {
    let (header, claims) = (json!({ "alg": "none" }), json!({ "sub": "alice" }));
    let signed = hmac_signed(&header, &claims, b"key");
    let (input, _) = signed.rsplit_once('.').unwrap();
    assert_eq!(unsigned(&header, &claims), format!("{input}."));
    let promoted = with_claims(&claims, &[("role", json!("admin"))]);
    assert_eq!(promoted, json!({ "sub": "alice", "role": "admin" }));
}
