//! `cafe token decode` and `cafe token verify`: the reader's own jwt.io,
//! offline. Decoding shows what anyone can read; verifying shows what only a
//! key holder can check.

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::JwkSet;
use jwt::anatomy::{AnatomyError, decode_json, decode_unverified, split};
use jwt::tokens::time_claim;
use serde_json::Value;

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

/// The header and claims, pretty-printed and marked unverified.
pub fn decode(token: &str) -> Result<String, String> {
    let (header, claims) = decode_unverified(token.trim()).map_err(|error| error.to_string())?;
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
    Ok(format!(
        "header (NOT verified: anyone can write this):\n{}\nclaims (NOT verified: anyone can write \
            this):\n{}\n",
        pretty(&header),
        pretty(&claims)
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
/// Checks the signature with `key`, then `exp` and `nbf` at time `now`; a
/// time claim that is not whole seconds (`iat` too), or a member written
/// twice in the header or the claims, refuses the token.
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
    // A member twice, in the header or (below) the claims, is refused before
    // any copy of it is read: the server refuses every member it reads when
    // written twice, and this tool refuses them all, whoever reads them.
    let header_segment = split(token).and_then(|segments| decode_json(segments.header, "header"));
    if let Err(error @ AnatomyError::DuplicateMember { .. }) = header_segment {
        return refused(lines, error.to_string());
    }
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

    // The signature over `header.payload`, exactly as sent, and only then
    // the claims: jsonwebtoken's `decode` would also parse and judge the
    // time claims on its own terms, where this tool reports them itself.
    let segments = match split(token) {
        Ok(segments) => segments,
        Err(error) => return refused(lines, error.to_string()),
    };
    let signing_input = segments.signing_input();
    let signature = jsonwebtoken::crypto::verify(
        segments.signature,
        signing_input.as_bytes(),
        &decoding_key,
        header.alg,
    );
    match signature {
        Ok(true) => {}
        Ok(false) => {
            return refused(
                lines,
                format!("signature check failed: {}", AnatomyError::BadSignature),
            );
        }
        Err(error) => return refused(lines, format!("signature check failed: {error}")),
    }
    let claims = match decode_json(segments.payload, "payload") {
        Ok(claims) => claims,
        Err(error) => return refused(lines, error.to_string()),
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

    // Absent is not the same as unreadable: `"exp": "1000000000"` is an
    // error, not a token that never expires. The server reads its time
    // claims with the same parser.
    let times = (
        time_claim(&claims, "exp"),
        time_claim(&claims, "nbf"),
        time_claim(&claims, "iat"),
    );
    let (exp, nbf, iat) = match times {
        (Ok(exp), Ok(nbf), Ok(iat)) => (exp, nbf, iat),
        (Err(error), _, _) | (_, Err(error), _) | (_, _, Err(error)) => {
            return refused(lines, error.to_string());
        }
    };
    let mut accepted = true;
    match exp {
        Some(exp) if now >= exp => {
            lines.push(format!("exp: {exp} ({}): expired", utc(exp)));
            accepted = false;
        }
        Some(exp) => lines.push(format!("exp: {exp} ({}): not yet reached", utc(exp))),
        None => lines.push("exp: absent: this token never expires".to_owned()),
    }
    if let Some(nbf) = nbf {
        if nbf > now {
            lines.push(format!("nbf: {nbf} ({}): not valid yet", utc(nbf)));
            accepted = false;
        } else {
            lines.push(format!("nbf: {nbf} ({}): passed", utc(nbf)));
        }
    }
    if let Some(iat) = iat {
        lines.push(format!("iat: {iat} ({})", utc(iat)));
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
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

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

    #[test]
    fn decode_refuses_a_segment_that_is_not_a_json_object() {
        // What `jwt::anatomy::decode_unverified` refuses, `cafe token decode` refuses.
        let object = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256"}"#);
        for not_an_object in ["[1]", "\"alice\"", "42", "null"] {
            let segment = URL_SAFE_NO_PAD.encode(not_an_object);
            let header_wrong = format!("{segment}.{object}.c2ln");
            let claims_wrong = format!("{object}.{segment}.c2ln");
            for token in [header_wrong, claims_wrong] {
                assert!(
                    decode(&token).is_err_and(|why| why.contains("not a JSON object")),
                    "{not_an_object}"
                );
            }
        }
    }

    const SECRET: &[u8] = b"the cafe's HS256 secret, for tests";
    const NOW: u64 = 1_767_258_000;

    /// An HS256 token over `claims`, signed with [`SECRET`].
    fn hs256_token(claims: &Value) -> String {
        let header = serde_json::json!({ "alg": "HS256", "typ": "JWT" });
        hs256_token_from_text(&header.to_string(), &claims.to_string())
    }

    /// An HS256 token over a header and claims written as JSON text, so
    /// that a member can be written twice; signed with [`SECRET`].
    fn hs256_token_from_text(header: &str, claims: &str) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let signature = jwt::anatomy::hs256_signature(SECRET, &input);
        format!("{input}.{signature}")
    }

    fn verify_hs256(claims: &Value) -> Report {
        let key = VerificationKey::Hs256Secret(SECRET.to_vec());
        verify(&hs256_token(claims), &key, NOW)
    }

    #[test]
    fn a_time_claim_of_the_wrong_json_type_is_refused_never_called_absent() {
        use serde_json::json;
        let mistyped = [
            json!(1_000_000_000.5),
            json!((NOW + 900) as f64),
            json!("1000000000"),
            json!((NOW + 900).to_string()),
            json!(-1),
            json!(true),
            json!(null),
            json!({}),
            json!([NOW + 900]),
        ];
        for claim in ["exp", "nbf", "iat"] {
            for value in &mistyped {
                let mut claims = json!({ "iss": "cafe", "sub": "alice", "exp": NOW + 900 });
                claims[claim] = value.clone();
                let report = verify_hs256(&claims);
                let text = report.lines.join("\n");
                assert!(!report.accepted, "{claim}: {value}\n{text}");
                assert!(!text.contains("absent"), "{claim}: {value}\n{text}");
                let verdict = report.lines.last().map(String::as_str).unwrap_or("");
                assert!(
                    verdict.starts_with(&format!("verdict: refused (claims rejected: {claim}: ")),
                    "{claim}: {value}\n{text}"
                );
            }
        }
    }

    #[test]
    fn a_wrong_signature_is_refused_before_any_claim_is_read() {
        let token = hs256_token(&serde_json::json!({ "exp": "never" }));
        let other_key = VerificationKey::Hs256Secret(b"another secret".to_vec());
        let report = verify(&token, &other_key, NOW);
        assert!(!report.accepted);
        assert_eq!(
            report.lines,
            ["verdict: refused (signature check failed: the signature does not match)"]
        );
    }

    #[test]
    fn a_claim_written_twice_is_refused_naming_it() {
        // The lab's `jwt-duplicate-claim`, signed with the key: read
        // last-wins, the first token would pass as unexpired and the second
        // as an admin's. The server refuses both; so does the reader's tool.
        let expired = 1_000_000_000;
        let valid = NOW + 900;
        let payloads = [
            (
                "exp",
                format!(r#"{{"sub":"alice","exp":{expired},"role":"member","exp":{valid}}}"#),
            ),
            (
                "role",
                format!(r#"{{"sub":"alice","exp":{valid},"role":"member","role":"admin"}}"#),
            ),
        ];
        let key = VerificationKey::Hs256Secret(SECRET.to_vec());
        for (claim, payload) in payloads {
            let token = hs256_token_from_text(r#"{"alg":"HS256","typ":"JWT"}"#, &payload);
            let report = verify(&token, &key, NOW);
            assert!(!report.accepted, "{payload}\n{:?}", report.lines);
            assert_eq!(
                report.lines,
                [format!(
                    "verdict: refused (the payload has \"{claim}\" twice)"
                )],
                "{payload}"
            );
            // `cafe token decode` shows no last-wins reading either.
            assert_eq!(
                decode(&token),
                Err(format!("the payload has \"{claim}\" twice"))
            );
        }
    }

    #[test]
    fn a_header_member_written_twice_is_refused_naming_it() {
        // One the server reads (`kid`) and one nobody reads (`x-trace`):
        // which copy counts is for no parser to guess.
        let key = VerificationKey::Hs256Secret(SECRET.to_vec());
        let claims = format!(r#"{{"sub":"alice","exp":{}}}"#, NOW + 900);
        for member in ["kid", "x-trace"] {
            let header = format!(r#"{{"alg":"HS256","{member}":"k1","{member}":"k2"}}"#);
            let report = verify(&hs256_token_from_text(&header, &claims), &key, NOW);
            assert!(!report.accepted, "{header}\n{:?}", report.lines);
            assert_eq!(
                report.lines,
                [format!(
                    "verdict: refused (the header has \"{member}\" twice)"
                )],
                "{header}"
            );
        }
    }

    #[test]
    fn well_typed_time_claims_are_read_and_only_a_missing_exp_is_absent() {
        use serde_json::json;
        let report = verify_hs256(&json!({ "exp": NOW + 900, "nbf": NOW, "iat": NOW }));
        assert!(report.accepted, "{:?}", report.lines);
        assert!(report.lines.contains(&format!(
            "exp: {} (2026-01-01T09:15:00Z): not yet reached",
            NOW + 900
        )));
        assert!(
            report
                .lines
                .contains(&format!("nbf: {NOW} (2026-01-01T09:00:00Z): passed"))
        );
        assert!(
            report
                .lines
                .contains(&format!("iat: {NOW} (2026-01-01T09:00:00Z)"))
        );

        let expired = verify_hs256(&json!({ "exp": NOW }));
        assert!(!expired.accepted, "{:?}", expired.lines);

        let immortal = verify_hs256(&json!({ "sub": "alice" }));
        assert!(immortal.accepted, "{:?}", immortal.lines);
        assert!(
            immortal
                .lines
                .contains(&"exp: absent: this token never expires".to_owned())
        );
    }
}
