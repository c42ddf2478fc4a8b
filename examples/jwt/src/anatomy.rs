//! A JWT taken apart by hand: three base64url segments joined by dots.
//!
//! Nothing here is for production validation: the real mechanism uses the
//! `jsonwebtoken` crate with an explicit algorithm allowlist. This module
//! exists to show what that crate does for you.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use sha2::Sha256;
use std::collections::HashSet;
use subtle::ConstantTimeEq;

/// The HS256 example token of RFC 7515 (JSON Web Signature), Appendix A.1.
pub const RFC7515_A1_TOKEN: &str = concat!(
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9",
    ".",
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxl",
    "LmNvbS9pc19yb290Ijp0cnVlfQ",
    ".",
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
);

/// The symmetric key of RFC 7515 Appendix A.1, as the JWK `k` value (base64url).
pub const RFC7515_A1_KEY: &str =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";

/// Why a token could not be taken apart or did not verify.
#[derive(Debug, PartialEq, Eq)]
pub enum AnatomyError {
    /// A JWS in compact form has exactly three segments; this one had another count.
    SegmentCount(usize),
    /// A segment is not unpadded base64url.
    Base64 {
        /// Which segment: `header`, `payload` or `signature`.
        segment: &'static str,
    },
    /// A segment decoded to bytes that are not a JSON object.
    NotJsonObject {
        /// Which segment: `header` or `payload`.
        segment: &'static str,
    },
    /// A member written twice in one JSON object of the segment.
    DuplicateMember {
        /// Which segment: `header` or `payload`.
        segment: &'static str,
        /// The member's name.
        member: String,
    },
    /// The signature does not match the header and payload under this key.
    BadSignature,
}

impl std::fmt::Display for AnatomyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AnatomyError::SegmentCount(n) => write!(f, "a JWT has 3 segments, this one has {n}"),
            AnatomyError::Base64 { segment } => write!(f, "the {segment} is not base64url"),
            AnatomyError::NotJsonObject { segment } => {
                write!(f, "the {segment} is not a JSON object")
            }
            AnatomyError::DuplicateMember { segment, member } => {
                write!(f, "the {segment} has {member:?} twice")
            }
            AnatomyError::BadSignature => f.write_str("the signature does not match"),
        }
    }
}

impl std::error::Error for AnatomyError {}

/// The three dot-separated segments of a compact JWS, still encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segments<'a> {
    /// base64url of the JSON header (`alg`, `typ`, maybe `kid`).
    pub header: &'a str,
    /// base64url of the JSON claims (`sub`, `exp`, ...).
    pub payload: &'a str,
    /// base64url of the signature over `header.payload`.
    pub signature: &'a str,
}

impl Segments<'_> {
    /// The bytes the signature covers: `header.payload`, exactly as sent.
    pub fn signing_input(&self) -> String {
        format!("{}.{}", self.header, self.payload)
    }
}

// ANCHOR: split
/// Splits a compact JWS into its three segments; any other count is refused.
pub fn split(token: &str) -> Result<Segments<'_>, AnatomyError> {
    let parts: Vec<&str> = token.split('.').collect();
    match parts[..] {
        [header, payload, signature] => Ok(Segments {
            header,
            payload,
            signature,
        }),
        _ => Err(AnatomyError::SegmentCount(parts.len())),
    }
}

/// Decodes one segment: base64url without padding, then JSON, with no
/// member written twice (see [`first_duplicate_member`]).
pub fn decode_json(segment: &str, name: &'static str) -> Result<Value, AnatomyError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| AnatomyError::Base64 { segment: name })?;
    let value = match serde_json::from_slice(&bytes) {
        Ok(value @ Value::Object(_)) => value,
        _ => return Err(AnatomyError::NotJsonObject { segment: name }),
    };
    match first_duplicate_member(&bytes) {
        Some(member) => Err(AnatomyError::DuplicateMember {
            segment: name,
            member,
        }),
        None => Ok(value),
    }
}

/// Reads the header and the claims. Anyone can do this: it checks nothing.
pub fn decode_unverified(token: &str) -> Result<(Value, Value), AnatomyError> {
    let segments = split(token)?;
    let header = decode_json(segments.header, "header")?;
    let claims = decode_json(segments.payload, "payload")?;
    Ok((header, claims))
}
// ANCHOR_END: split

// ANCHOR: verify
/// The HS256 signature of `signing_input` under `key`, base64url-encoded.
pub fn hs256_signature(key: &[u8], signing_input: &str) -> String {
    // HMAC takes a key of any length (a long one is hashed first); the
    // `Result` is there for MACs that need an exact size.
    #[expect(clippy::expect_used, reason = "HMAC accepts keys of every length")]
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of every length");
    mac.update(signing_input.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// Checks an HS256 signature by recomputing it, comparing in constant time
/// so the time taken does not leak how many leading bytes were right.
pub fn verify_hs256(token: &str, key: &[u8]) -> Result<(), AnatomyError> {
    let segments = split(token)?;
    let expected = hs256_signature(key, &segments.signing_input());
    if expected
        .as_bytes()
        .ct_eq(segments.signature.as_bytes())
        .into()
    {
        Ok(())
    } else {
        Err(AnatomyError::BadSignature)
    }
}
// ANCHOR_END: verify

/// The first member written twice in one object of this JSON text, at any
/// depth, or `None` (also for text that is not JSON). RFC 7519 §4 lets a
/// parser reject such a token or keep the last copy; the café's server
/// rejects it, because serde refuses a field of its claim structs (and of
/// jsonwebtoken's `Header`) seen twice. A `serde_json::Value` keeps the last
/// copy instead, so `"exp": 1000000000, …, "exp": <later>` would read as
/// unexpired. Whoever reads a token through [`decode_json`] refuses it too,
/// whichever member is repeated: which copy counts is for no parser to guess.
pub fn first_duplicate_member(json: &[u8]) -> Option<String> {
    serde_json::from_slice::<FirstDuplicate>(json).ok()?.0
}

/// Walks a JSON value to its end (serde_json insists), remembering the
/// first member name that one object holds twice.
struct FirstDuplicate(Option<String>);

impl<'de> Deserialize<'de> for FirstDuplicate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FirstDuplicateVisitor)
    }
}

struct FirstDuplicateVisitor;

impl<'de> Visitor<'de> for FirstDuplicateVisitor {
    type Value = FirstDuplicate;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FirstDuplicate, A::Error> {
        let mut seen = HashSet::new();
        let mut first = None;
        while let Some(name) = map.next_key::<String>()? {
            let FirstDuplicate(inner) = map.next_value()?;
            if first.is_none() {
                first = if seen.contains(&name) {
                    Some(name)
                } else {
                    seen.insert(name);
                    inner
                };
            }
        }
        Ok(FirstDuplicate(first))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FirstDuplicate, A::Error> {
        let mut first = None;
        while let Some(FirstDuplicate(inner)) = seq.next_element()? {
            first = first.or(inner);
        }
        Ok(FirstDuplicate(first))
    }

    // Strings, numbers, booleans and null hold no members.
    fn visit_str<E: de::Error>(self, _: &str) -> Result<FirstDuplicate, E> {
        Ok(FirstDuplicate(None))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<FirstDuplicate, E> {
        Ok(FirstDuplicate(None))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<FirstDuplicate, E> {
        Ok(FirstDuplicate(None))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<FirstDuplicate, E> {
        Ok(FirstDuplicate(None))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<FirstDuplicate, E> {
        Ok(FirstDuplicate(None))
    }
    fn visit_unit<E: de::Error>(self) -> Result<FirstDuplicate, E> {
        Ok(FirstDuplicate(None))
    }
}

/// Decodes a base64url key, as found in a JWK's `k` member.
pub fn key_from_base64url(k: &str) -> Result<Vec<u8>, AnatomyError> {
    URL_SAFE_NO_PAD
        .decode(k)
        .map_err(|_| AnatomyError::Base64 { segment: "key" })
}

#[cfg(test)]
mod tests;
