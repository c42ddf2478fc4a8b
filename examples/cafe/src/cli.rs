//! What `cafe serve` and `cafe token` need beyond parsing flags: reading a
//! secret, building the signing key ring, and choosing a verification key.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cafe::inspect::VerificationKey;
use jwt::keys::{KeyRing, MIN_HS256_SECRET_BYTES, SigningAlgorithm, SigningKey};
use std::ffi::OsString;
use std::path::Path;

/// Reads an HS256 secret from a file, dropping one trailing newline.
pub fn read_secret(path: &Path) -> Result<Vec<u8>, String> {
    let mut secret =
        std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if secret.last() == Some(&b'\n') {
        secret.pop();
    }
    Ok(secret)
}

/// The HS256 secret the operator gave: from `--jwt-secret-file`, else from
/// `CAFE_JWT_SECRET`, else none.
pub fn given_secret(
    secret_file: Option<&Path>,
    secret_from_env: Option<OsString>,
) -> Result<Option<Vec<u8>>, String> {
    match (secret_file, secret_from_env) {
        (Some(path), _) => read_secret(path).map(Some),
        (None, Some(secret)) => Ok(Some(secret.into_encoded_bytes())),
        (None, None) => Ok(None),
    }
}

/// The key ID the café gives its key of `algorithm`
/// ([`SigningAlgorithm::first_key_id`]).
pub fn key_id(algorithm: SigningAlgorithm) -> &'static str {
    algorithm.first_key_id()
}

/// The key ring `serve` signs with, and a line telling the operator what it
/// is. A given secret is for HS256 only, and must be at least 32 bytes; a
/// short one stops the server before it listens.
pub fn signing_keys(
    algorithm: SigningAlgorithm,
    secret_file: Option<&Path>,
    secret_from_env: Option<OsString>,
) -> Result<(KeyRing, String), String> {
    let given = given_secret(secret_file, secret_from_env)?;
    let kid = key_id(algorithm);
    let generate = || SigningKey::generate(kid, algorithm).map_err(|e| e.to_string());
    let (key, note) = match (algorithm, given) {
        (SigningAlgorithm::Hs256, Some(secret)) => (
            SigningKey::hs256(kid, &secret).map_err(|e| e.to_string())?,
            "HS256 with the given secret",
        ),
        (SigningAlgorithm::Hs256, None) => (
            generate()?,
            "HS256 with a random secret made now (no --jwt-secret-file or CAFE_JWT_SECRET): tokens end with this process",
        ),
        (_, Some(_)) => {
            return Err(
                "a secret is for --alg hs256; es256 and eddsa make their own key pair".to_owned(),
            );
        }
        (SigningAlgorithm::Es256, None) => (
            generate()?,
            "ES256 with a key pair made now; public key at /.well-known/jwks.json",
        ),
        (SigningAlgorithm::EdDsa, None) => (
            generate()?,
            "EdDSA with a key pair made now; public key at /.well-known/jwks.json",
        ),
    };
    Ok((KeyRing::new(key), note.to_owned()))
}

/// The HS256 secret several servers share: from a file, from
/// `CAFE_JWT_SECRET`, or 32 random bytes made now. Checked for length.
pub fn shared_hs256_secret(
    secret_file: Option<&Path>,
    secret_from_env: Option<OsString>,
) -> Result<Vec<u8>, String> {
    let secret = match given_secret(secret_file, secret_from_env)? {
        Some(secret) => secret,
        None => {
            let mut secret = vec![0u8; MIN_HS256_SECRET_BYTES];
            getrandom::fill(&mut secret).map_err(|e| e.to_string())?;
            secret
        }
    };
    SigningKey::hs256(key_id(SigningAlgorithm::Hs256), &secret).map_err(|e| e.to_string())?;
    Ok(secret)
}

/// The key `cafe token verify` checks with: a secret file, a base64url
/// secret, a JWK Set file, or `CAFE_JWT_SECRET`, in that order.
pub fn verification_key(
    secret_file: Option<&Path>,
    hs256_key_base64url: Option<&str>,
    jwks_file: Option<&Path>,
    secret_from_env: Option<OsString>,
) -> Result<VerificationKey, String> {
    if let Some(path) = secret_file {
        return Ok(VerificationKey::Hs256Secret(read_secret(path)?));
    }
    if let Some(k) = hs256_key_base64url {
        let secret = URL_SAFE_NO_PAD
            .decode(k.trim())
            .map_err(|_| "--hs256-key-base64url is not base64url".to_owned())?;
        return Ok(VerificationKey::Hs256Secret(secret));
    }
    if let Some(path) = jwks_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let set = serde_json::from_str(&text).map_err(|e| format!("not a JWK Set: {e}"))?;
        return Ok(VerificationKey::Jwks(set));
    }
    if let Some(secret) = secret_from_env {
        return Ok(VerificationKey::Hs256Secret(secret.into_encoded_bytes()));
    }
    Err(
        "give a key: --jwt-secret-file, --hs256-key-base64url, --jwks-file, or CAFE_JWT_SECRET"
            .to_owned(),
    )
}
