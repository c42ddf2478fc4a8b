//! The lab itself: demo keys, taking a token apart and putting it together
//! again, and the café's verdict.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jwt::anatomy;
use jwt::keys::{KeyRing, SigningAlgorithm, SigningKey};
use jwt::tokens::{self, AccessClaims, RefreshClaims, TokenKind};
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;
use token_lab::json_text;

/// The demo HS256 secret. It is printed in the book, so it protects nothing:
/// a published key is no key, which is the lab's first lesson.
pub const DEMO_HS256_SECRET: &str = "the token lab's demo secret: it is printed in the book";

// The two key pairs were made once with `SigningKey::generate_pkcs8`;
// `tests::the_demo_keys_public_halves_belong_to_their_private_keys` checks
// that each public half is the one its private key derives.

/// The demo ES256 private key (PKCS#8 DER, base64) and its public point.
const DEMO_ES256_PKCS8: &str = concat!(
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgD1W1rk8Ysju9aFVvV3i0Nmx97OUEQ3IMmr+3TBnu",
    "qBKhRANCAAT4w5/oqynpd/9nomLw8wC0fTrImmGp+BU/4VrvxZILOpoh3oCqrTfqxEH/u0dQwxL9w4aomgLKs6uQ",
    "AOdpLEG0",
);
const DEMO_ES256_X: &str = "-MOf6Ksp6Xf_Z6Ji8PMAtH06yJphqfgVP-Fa78WSCzo";
const DEMO_ES256_Y: &str = "miHegKqtN-rEQf-7R1DDEv3DhqiaAsqzq5AA52ksQbQ";
/// The demo Ed25519 private key (PKCS#8 DER, base64) and its public key.
const DEMO_EDDSA_PKCS8: &str = concat!(
    "MFECAQEwBQYDK2VwBCIEIAjT+Sra6E7C5TPGsTeZGewbtmRmD41cIHNI0F6HNCKRgSEA5Su0Yyec90rcTZksNMRr94I+",
    "wj1gtDFIllRPLWoMymY=",
);
const DEMO_EDDSA_X: &str = "5Su0Yyec90rcTZksNMRr94I-wj1gtDFIllRPLWoMymY";

/// The key an attacker signs with when the page's "another key" is chosen.
pub const ATTACKER_SECRET: &[u8] = b"the attacker's own key, 32 bytes or more";

/// The demo key for `algorithm`.
pub fn demo_key(algorithm: SigningAlgorithm) -> Result<SigningKey, String> {
    // The kid the café gives its first key, so the attack lab's tokens name
    // keys this ring holds.
    let kid = algorithm.first_key_id();
    let bytes = |base64: &str| STANDARD.decode(base64).map_err(|e| e.to_string());
    let url_bytes = |base64: &str| URL_SAFE_NO_PAD.decode(base64).map_err(|e| e.to_string());
    let key = match algorithm {
        SigningAlgorithm::Hs256 => SigningKey::hs256(kid, DEMO_HS256_SECRET.as_bytes()),
        SigningAlgorithm::Es256 => {
            let point = [
                vec![0x04],
                url_bytes(DEMO_ES256_X)?,
                url_bytes(DEMO_ES256_Y)?,
            ]
            .concat();
            SigningKey::from_key_pair(kid, algorithm, &bytes(DEMO_ES256_PKCS8)?, &point)
        }
        SigningAlgorithm::EdDsa => SigningKey::from_key_pair(
            kid,
            algorithm,
            &bytes(DEMO_EDDSA_PKCS8)?,
            &url_bytes(DEMO_EDDSA_X)?,
        ),
    };
    key.map_err(|e| e.to_string())
}

/// The lab's key ring: all three demo keys, so a token may name any of them.
fn demo_keys() -> Result<&'static KeyRing, String> {
    static RING: LazyLock<Result<KeyRing, String>> = LazyLock::new(|| {
        let mut ring = KeyRing::new(demo_key(SigningAlgorithm::Hs256)?);
        ring.also_verify(demo_key(SigningAlgorithm::Es256)?);
        ring.also_verify(demo_key(SigningAlgorithm::EdDsa)?);
        Ok(ring)
    });
    RING.as_ref().map_err(Clone::clone)
}

/// A token's three parts: header and payload decoded and laid out for
/// editing, the signature as sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Parts {
    /// The header's JSON, one member per line.
    pub header: String,
    /// The claims' JSON, one member per line.
    pub payload: String,
    /// The third segment, still base64url.
    pub signature: String,
}

/// Takes a token apart, as anyone holding it can: nothing is checked.
pub fn take_apart(token: &str) -> Result<Parts, String> {
    let segments = anatomy::split(token.trim()).map_err(|e| e.to_string())?;
    let text = |segment: &str, name: &str| {
        let bytes = URL_SAFE_NO_PAD
            .decode(segment)
            .map_err(|_| format!("the {name} is not base64url"))?;
        String::from_utf8(bytes).map_err(|_| format!("the {name} is not text"))
    };
    Ok(Parts {
        header: json_text::pretty(&text(segments.header, "header")?),
        payload: json_text::pretty(&text(segments.payload, "payload")?),
        signature: segments.signature.to_owned(),
    })
}

/// What to put in the third segment when a token is put together again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Signature {
    /// The signature the token had: stale once anything is edited.
    Keep,
    /// None at all.
    Strip,
    /// Signed again with the demo key the header's `kid` names, with that
    /// key's algorithm: what a key holder could sign.
    DemoKey,
    /// HS256 with [`ATTACKER_SECRET`]: a correct signature, with a key the
    /// café does not hold.
    AttackerKey,
}

// ANCHOR: put_together
/// A token from edited header and payload text. The JSON is packed as
/// typed (order and duplicates kept), then base64url-encoded; `kept` is the
/// signature [`Signature::Keep`] keeps.
pub fn put_together(
    header: &str,
    payload: &str,
    signature: Signature,
    kept: &str,
) -> Result<String, String> {
    let encode = |text: &str| URL_SAFE_NO_PAD.encode(json_text::compact(text));
    let signing_input = format!("{}.{}", encode(header), encode(payload));
    let signature = match signature {
        Signature::Keep => kept.to_owned(),
        Signature::Strip => String::new(),
        Signature::DemoKey => {
            let kid = serde_json::from_str::<serde_json::Value>(header)
                .ok()
                .and_then(|header| header.get("kid")?.as_str().map(str::to_owned))
                .ok_or("to sign with a demo key, the header needs a kid naming one")?;
            let key = demo_keys()?
                .verification_key(&kid)
                .ok_or(format!("no demo key has kid {kid:?}"))?;
            key.signature(&signing_input).map_err(|e| e.to_string())?
        }
        Signature::AttackerKey => anatomy::hs256_signature(ATTACKER_SECRET, &signing_input),
    };
    Ok(format!("{signing_input}.{signature}"))
}
// ANCHOR_END: put_together

/// The café's answer to a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// Whether the café would accept it.
    pub accepted: bool,
    /// `valid`, or why it was refused, in the words of `jwt::tokens`.
    pub reason: String,
}

// ANCHOR: check
/// What the café's token checks say of `token` as a token of `kind` at
/// `now` (seconds since 1970): the server's own `jwt::tokens::verify`, with
/// its allowlist, `typ`, `iss`/`aud`, required claims, header rules, size
/// cap and leeway. Only the store lookups (denylist, token version, refresh
/// family) are missing: the page has no server.
pub fn check(token: &str, kind: TokenKind, now: u64) -> Verdict {
    let outcome = demo_keys().and_then(|keys| {
        let token = token.trim();
        let checked = match kind {
            TokenKind::Access => tokens::verify::<AccessClaims>(keys, kind, token, now).map(drop),
            TokenKind::Refresh => tokens::verify::<RefreshClaims>(keys, kind, token, now).map(drop),
        };
        checked.map_err(|refusal| refusal.to_string())
    });
    match outcome {
        Ok(()) => Verdict {
            accepted: true,
            reason: "valid".to_owned(),
        },
        Err(reason) => Verdict {
            accepted: false,
            reason,
        },
    }
}
// ANCHOR_END: check

/// The file of tokens the attack lab sent, with the café's verdicts:
/// `book/attacks/token-lab/vectors.json`, the page's presets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VectorFile {
    /// How to make it again.
    pub generated_by: String,
    /// The tokens.
    pub vectors: Vec<Vector>,
}

impl VectorFile {
    /// Reads [`VECTOR_FILE`] (natively: the page fetches it).
    pub fn load() -> Result<VectorFile, String> {
        let text = std::fs::read_to_string(VECTOR_FILE).map_err(|e| e.to_string())?;
        serde_json::from_str(&text).map_err(|e| format!("{VECTOR_FILE}: {e}"))
    }

    /// The token of `kind` an ordinary login got from a café signing with
    /// `algorithm` (`HS256`, `ES256` or `EdDSA`).
    pub fn login_token(&self, algorithm: &str, kind: TokenKind) -> Option<&Vector> {
        self.vectors
            .iter()
            .find(|v| v.attack == "valid" && v.algorithm == algorithm && v.kind == kind)
    }
}

/// One token the attack lab sent to a café signing with a demo key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vector {
    /// The attack's name in the lab (`jwt-alg-none`), or `valid` for the
    /// tokens of an ordinary login.
    pub attack: String,
    /// What the attack does, from the lab's catalogue.
    pub description: String,
    /// The café's signing algorithm: `HS256`, `ES256` or `EdDSA`.
    pub algorithm: String,
    /// Sent as an access token (a bearer token) or a refresh token.
    pub kind: TokenKind,
    /// The café's clock when it was sent.
    pub now: u64,
    /// The token.
    pub token: String,
    /// What [`check`] says of it, natively.
    pub verdict: Verdict,
}

/// The vector file, as the page fetches it.
pub const VECTOR_FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../book/attacks/token-lab/vectors.json"
);

#[cfg(test)]
mod tests;
