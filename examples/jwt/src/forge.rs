//! Building tokens by hand, as an attacker does: every forged, tampered or
//! re-spelt token the book's attacks send is made here, and the café's
//! verifier must refuse each one. The attack lab sends them to a running
//! café; the jwt crate's own attack tests hand them to the verifier
//! directly. Nothing here needs a key the attacker would not have, except
//! where a function takes one.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// `bytes` as unpadded base64url, the alphabet of every JWT segment.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A JSON value as a token segment: its compact text, base64url-encoded.
pub fn segment(value: &Value) -> String {
    b64(value.to_string().as_bytes())
}

/// `header.claims.signature`, with `signature` as given (empty for none).
pub fn assemble(header: &Value, claims: &Value, signature: &str) -> String {
    format!("{}.{}.{signature}", segment(header), segment(claims))
}

/// An unsigned token: `header.claims.` with an empty signature.
pub fn unsigned(header: &Value, claims: &Value) -> String {
    assemble(header, claims, "")
}

/// HS256 over `header.claims` with `key`: a correct signature, made with
/// whatever key the attacker chose.
pub fn hmac_signed(header: &Value, claims: &Value, key: &[u8]) -> String {
    let input = format!("{}.{}", segment(header), segment(claims));
    let signature = jwt::anatomy::hs256_signature(key, &input);
    format!("{input}.{signature}")
}

/// `claims` with each `(name, value)` of `changes` set.
pub fn with_claims(claims: &Value, changes: &[(&str, Value)]) -> Value {
    let mut claims = claims.clone();
    for (name, value) in changes {
        claims[*name] = value.clone();
    }
    claims
}

// ANCHOR: crack
/// The word from `words` that is the HS256 secret of `token`, if any: all
/// an attacker needs is one token and time, offline, unseen by the server.
pub fn crack_hs256<'w>(token: &str, words: &[&'w str]) -> Option<&'w str> {
    words
        .iter()
        .find(|word| jwt::anatomy::verify_hs256(token, word.as_bytes()).is_ok())
        .copied()
}
// ANCHOR_END: crack

// ANCHOR: twin
/// The P-256 group order n, big-endian.
const P256_ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// n − s, big-endian: (r, s) and (r, n − s) are both valid ECDSA
/// signatures of the same message under the same key.
fn negate_mod_order(s: &[u8]) -> Vec<u8> {
    let mut result = vec![0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut digit = i16::from(P256_ORDER[i]) - i16::from(s[i]) - borrow;
        borrow = i16::from(digit < 0);
        if digit < 0 {
            digit += 256;
        }
        result[i] = u8::try_from(digit).unwrap_or(0);
    }
    result
}

/// The token with its ES256 signature (r ‖ s) replaced by (r ‖ n − s).
pub fn ecdsa_twin(token: &str) -> Option<String> {
    let (body, signature) = token.rsplit_once('.')?;
    let bytes = URL_SAFE_NO_PAD.decode(signature).ok()?;
    if bytes.len() != 64 {
        return None;
    }
    let twin = [&bytes[..32], &negate_mod_order(&bytes[32..])].concat();
    Some(format!("{body}.{}", b64(&twin)))
}
// ANCHOR_END: twin

/// Other spellings of the same signature bytes, for decoders that are
/// lenient: with `=` padding, and with the unused low bits of the last
/// character set. RFC 7515 §2 allows neither.
pub fn signature_respellings(signature: &str) -> Vec<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut spellings = Vec::new();
    let padding = (4 - signature.len() % 4) % 4;
    if padding > 0 {
        spellings.push(format!("{signature}{}", "=".repeat(padding)));
    }
    let unused_bits = (signature.len() * 6) % 8;
    let last_index = signature
        .bytes()
        .last()
        .and_then(|last| ALPHABET.iter().position(|c| *c == last));
    if let (Some(index), true) = (last_index, unused_bits > 0) {
        // The lowest bit of the last character is always unused here.
        let mut respelt = signature[..signature.len() - 1].to_owned();
        respelt.push(char::from(ALPHABET[index | 1]));
        spellings.push(respelt);
    }
    spellings
}

/// The ways a verifier confused about algorithms might turn a published
/// public key (a JWK) into an HMAC secret: the JWK's JSON text, each
/// coordinate as text and as bytes, and the uncompressed point.
pub fn public_key_spellings(jwk: &Value) -> Vec<Vec<u8>> {
    let mut spellings = vec![jwk.to_string().into_bytes()];
    let decoded = |member: &str| {
        jwk[member]
            .as_str()
            .and_then(|text| URL_SAFE_NO_PAD.decode(text).ok())
    };
    for member in ["x", "y"] {
        if let Some(text) = jwk[member].as_str() {
            spellings.push(text.as_bytes().to_vec());
        }
        if let Some(bytes) = decoded(member) {
            spellings.push(bytes);
        }
    }
    if let (Some(x), Some(y)) = (decoded("x"), decoded("y")) {
        spellings.push([&[4u8][..], &x, &y].concat());
    }
    spellings
}

#[cfg(test)]
mod tests;
