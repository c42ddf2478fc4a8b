//! `cafe token decode` and `cafe token verify`: the reader's own jwt.io,
//! offline. Decoding shows what anyone can read; verifying shows what only a
//! key holder can check.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::Value;
use std::collections::HashSet;

/// `2011-03-22T18:43:00Z` for a NumericDate (seconds since 1970, UTC).
pub fn utc(seconds: u64) -> String {
    let formatted = i64::try_from(seconds)
        .ok()
        .and_then(|seconds| time::OffsetDateTime::from_unix_timestamp(seconds).ok())
        .and_then(|time| {
            time.format(&time::format_description::well_known::Rfc3339)
                .ok()
        });
    formatted.unwrap_or_else(|| format!("{seconds} (out of range)"))
}

fn segment_json(segment: &str) -> Result<Value, String> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| "a segment is not unpadded base64url".to_owned())?;
    serde_json::from_slice(&bytes).map_err(|_| "a segment is not JSON".to_owned())
}

/// The header and claims, pretty-printed and marked unverified.
pub fn decode(token: &str) -> Result<String, String> {
    let segments: Vec<&str> = token.trim().split('.').collect();
    let [header, payload, _signature] = segments[..] else {
        return Err(format!("a JWT has 3 segments, this has {}", segments.len()));
    };
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
    Ok(format!(
        "header (NOT verified: anyone can write this):\n{}\nclaims (NOT verified: anyone can write this):\n{}\n",
        pretty(&segment_json(header)?),
        pretty(&segment_json(payload)?)
    ))
}

/// The key to verify with.
pub enum VerificationKey {
    /// An HS256 shared secret.
    Hs256Secret(Vec<u8>),
    /// A JWK Set, as served at `/.well-known/jwks.json`.
    Jwks(JwkSet),
}

/// What `verify` found: one line per check, and the verdict.
#[derive(Debug)]
pub struct Report {
    /// Human-readable lines.
    pub lines: Vec<String>,
    /// Signature valid and time claims satisfied at the given time.
    pub accepted: bool,
}

// ANCHOR: verify
/// Checks the signature with `key`, then `exp` and `nbf` at time `now`.
pub fn verify(token: &str, key: &VerificationKey, now: u64) -> Report {
    let mut lines = Vec::new();
    let refused = |mut lines: Vec<String>, why: String| {
        lines.push(format!("verdict: refused ({why})"));
        Report {
            lines,
            accepted: false,
        }
    };
    let token = token.trim();
    let header = match jsonwebtoken::decode_header(token) {
        Ok(header) => header,
        Err(error) => return refused(lines, format!("not a JWT with a known alg: {error}")),
    };
    let alg_name = serde_json::to_value(header.alg).unwrap_or_default();
    let alg_name = alg_name.as_str().unwrap_or("?");
    let decoding_key = match key {
        VerificationKey::Hs256Secret(secret) => {
            if header.alg != jsonwebtoken::Algorithm::HS256 {
                return refused(
                    lines,
                    format!("alg {alg_name}, but the key is an HS256 secret"),
                );
            }
            DecodingKey::from_secret(secret)
        }
        VerificationKey::Jwks(set) => {
            let Some(jwk) = header.kid.as_deref().and_then(|kid| set.find(kid)) else {
                return refused(lines, "no key in the JWKS has this token's kid".to_owned());
            };
            let jwk_alg = serde_json::to_value(jwk.common.key_algorithm).unwrap_or_default();
            if jwk_alg.as_str().is_some_and(|a| a != alg_name) {
                return refused(
                    lines,
                    format!("alg {alg_name}, but the key is for {jwk_alg}"),
                );
            }
            match DecodingKey::from_jwk(jwk) {
                Ok(key) => key,
                Err(error) => return refused(lines, format!("unusable JWK: {error}")),
            }
        }
    };

    // The signature only: time claims are checked below against `now`.
    let mut validation = Validation::new(header.alg);
    validation.algorithms = vec![header.alg];
    validation.required_spec_claims = HashSet::new();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.leeway = 0;
    let claims = match jsonwebtoken::decode::<Value>(token, &decoding_key, &validation) {
        Ok(data) => data.claims,
        Err(error) => return refused(lines, format!("signature check failed: {error}")),
    };
    lines.push(format!(
        "signature: valid ({alg_name}, kid {})",
        header.kid.as_deref().unwrap_or("none")
    ));
    if let Some(typ) = &header.typ {
        lines.push(format!("typ: {typ}"));
    }
    for claim in ["iss", "sub", "aud"] {
        if let Some(value) = claims.get(claim) {
            lines.push(format!("{claim}: {value}"));
        }
    }

    let mut accepted = true;
    match claims.get("exp").and_then(Value::as_u64) {
        Some(exp) if now >= exp => {
            lines.push(format!("exp: {exp} ({}): expired", utc(exp)));
            accepted = false;
        }
        Some(exp) => lines.push(format!("exp: {exp} ({}): not yet reached", utc(exp))),
        None => lines.push("exp: absent: this token never expires".to_owned()),
    }
    if let Some(nbf) = claims.get("nbf").and_then(Value::as_u64) {
        if nbf > now {
            lines.push(format!("nbf: {nbf} ({}): not valid yet", utc(nbf)));
            accepted = false;
        } else {
            lines.push(format!("nbf: {nbf} ({}): passed", utc(nbf)));
        }
    }
    lines.push(format!(
        "verdict: {} at {} ({})",
        if accepted { "accepted" } else { "refused" },
        now,
        utc(now)
    ));
    Report { lines, accepted }
}
// ANCHOR_END: verify

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_numeric_dates() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(1_300_819_380), "2011-03-22T18:43:00Z");
        assert_eq!(utc(1_767_258_000), "2026-01-01T09:00:00Z");
    }

    #[test]
    fn decode_refuses_what_is_not_three_segments() {
        assert!(decode("a.b").is_err());
        assert!(decode("a.b.c.d").is_err());
    }
}
