//! Signing keys, each with a `kid`, in a key ring that rotates.
//!
//! The newest key signs; older keys stay in the ring only to verify tokens
//! they signed until those expire. A token's `kid` header picks among keys
//! the server already holds, and nothing else: a `jku` or `jwk` header that
//! points at some other key is never followed (RFC 8725 §3.10).

#[cfg(not(target_arch = "wasm32"))]
use aws_lc_rs::{
    rand::SystemRandom,
    signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair},
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters,
    EllipticCurveKeyType, Jwk, JwkSet, KeyAlgorithm, OctetKeyPairParameters, OctetKeyPairType,
    PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use sha2::Sha256;

/// HS256 secrets shorter than this are refused: RFC 7518 §3.2 asks for a
/// key at least as long as the hash output, 256 bits.
pub const MIN_HS256_SECRET_BYTES: usize = 32;

/// The algorithms the café can sign with. With the `clap` feature, also a
/// command-line value: `hs256`, `es256`, `eddsa` (the `alg` names in lower
/// case; each variant's doc is its help).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum SigningAlgorithm {
    /// HMAC-SHA-256: one shared secret signs and verifies.
    Hs256,
    /// ECDSA on P-256: a private key signs, the public key verifies
    /// (published at /.well-known/jwks.json).
    Es256,
    /// Ed25519: a private key signs, the public key verifies (published at
    /// /.well-known/jwks.json).
    #[cfg_attr(feature = "clap", value(name = "eddsa"))]
    EdDsa,
}

impl SigningAlgorithm {
    /// Every algorithm, in declaration order.
    pub const ALL: [SigningAlgorithm; 3] = [
        SigningAlgorithm::Hs256,
        SigningAlgorithm::Es256,
        SigningAlgorithm::EdDsa,
    ];

    /// The key ID the café gives its first key of this algorithm. It is in
    /// every token's header, so anything that measures or rebuilds the
    /// café's tokens (the benchmarks, the book's token lab) uses it too.
    pub fn first_key_id(self) -> &'static str {
        match self {
            SigningAlgorithm::Hs256 => "hs256-1",
            SigningAlgorithm::Es256 => "es256-1",
            SigningAlgorithm::EdDsa => "eddsa-1",
        }
    }

    /// The `alg` header value as JOSE writes it (RFC 7518 §3.1, RFC 8037
    /// §3.1): `HS256`, `ES256`, `EdDSA`.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlgorithm::Hs256 => "HS256",
            SigningAlgorithm::Es256 => "ES256",
            SigningAlgorithm::EdDsa => "EdDSA",
        }
    }

    /// The `alg` header value.
    pub fn jwt_algorithm(self) -> Algorithm {
        match self {
            SigningAlgorithm::Hs256 => Algorithm::HS256,
            SigningAlgorithm::Es256 => Algorithm::ES256,
            SigningAlgorithm::EdDsa => Algorithm::EdDSA,
        }
    }
}

impl std::fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `alg` names are case-sensitive (RFC 7515 §4.1.1): `hs256` is not one.
impl std::str::FromStr for SigningAlgorithm {
    type Err = String;

    fn from_str(alg: &str) -> Result<SigningAlgorithm, String> {
        SigningAlgorithm::ALL
            .into_iter()
            .find(|algorithm| algorithm.as_str() == alg)
            .ok_or_else(|| format!("the café does not sign with {alg:?}"))
    }
}

/// Why a key could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// An HS256 secret shorter than [`MIN_HS256_SECRET_BYTES`].
    SecretTooShort(usize),
    /// The OS random generator or the crypto library failed.
    Crypto(String),
}

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyError::SecretTooShort(n) => write!(
                f,
                "an HS256 secret needs at least {MIN_HS256_SECRET_BYTES} bytes (256 bits); this \
                    one has {n}"
            ),
            KeyError::Crypto(why) => write!(f, "key generation failed: {why}"),
        }
    }
}

impl std::error::Error for KeyError {}

/// One key: its id, its algorithm, and both halves.
pub struct SigningKey {
    kid: String,
    algorithm: SigningAlgorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// For HS256, the secret prepared for HMAC once: the inner and outer
    /// padded keys already hashed (RFC 2104 §2), so a check clones this
    /// state and hashes only the token. `None` for the other algorithms.
    /// This state signs as well as the secret does, and the hmac crate does
    /// not wipe it from memory when dropped (jsonwebtoken wipes its keys):
    /// we accept that, as the secret itself passes through unwiped buffers
    /// when the server reads its file.
    hs256_mac: Option<Hmac<Sha256>>,
    /// The public half as a JWK, for `/.well-known/jwks.json`; `None` for
    /// HS256, whose only key is the secret.
    public_jwk: Option<Jwk>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// An HS256 key from a secret of at least 256 bits.
    pub fn hs256(kid: &str, secret: &[u8]) -> Result<SigningKey, KeyError> {
        if secret.len() < MIN_HS256_SECRET_BYTES {
            return Err(KeyError::SecretTooShort(secret.len()));
        }
        let mac = Hmac::<Sha256>::new_from_slice(secret)
            .map_err(|e| KeyError::Crypto(format!("HMAC-SHA-256 key: {e}")))?;
        Ok(SigningKey {
            kid: kid.to_owned(),
            algorithm: SigningAlgorithm::Hs256,
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            hs256_mac: Some(mac),
            public_jwk: None,
        })
    }

    /// An ES256 or EdDSA key from its PKCS#8 DER private key and the public
    /// key that goes with it: for ES256 the uncompressed P-256 point (65
    /// bytes: 0x04, then x and y), for EdDSA the 32-byte Ed25519 key. Nothing
    /// here checks that the two belong together; [`SigningKey::from_pkcs8`]
    /// derives the public half itself and then calls this.
    pub fn from_key_pair(
        kid: &str,
        algorithm: SigningAlgorithm,
        pkcs8: &[u8],
        public_key: &[u8],
    ) -> Result<SigningKey, KeyError> {
        let jwt_error = |e: jsonwebtoken::errors::Error| KeyError::Crypto(e.to_string());
        let not_a_public_key = |expected: &str| {
            KeyError::Crypto(format!(
                "{expected}; this one has {} bytes",
                public_key.len()
            ))
        };
        match algorithm {
            SigningAlgorithm::Es256 => {
                let point = match public_key {
                    [0x04, point @ ..] if point.len() == 64 => point,
                    _ => {
                        return Err(not_a_public_key(
                            "an ES256 public key is 65 bytes: 0x04, then x and y",
                        ));
                    }
                };
                let (x, y) = (
                    URL_SAFE_NO_PAD.encode(&point[..32]),
                    URL_SAFE_NO_PAD.encode(&point[32..]),
                );
                Ok(SigningKey {
                    kid: kid.to_owned(),
                    algorithm,
                    encoding: EncodingKey::from_ec_der(pkcs8),
                    decoding: DecodingKey::from_ec_components(&x, &y).map_err(jwt_error)?,
                    hs256_mac: None,
                    public_jwk: Some(public_jwk(
                        kid,
                        KeyAlgorithm::ES256,
                        AlgorithmParameters::EllipticCurve(EllipticCurveKeyParameters {
                            key_type: EllipticCurveKeyType::EC,
                            curve: EllipticCurve::P256,
                            x,
                            y,
                        }),
                    )),
                })
            }
            SigningAlgorithm::EdDsa => {
                if public_key.len() != 32 {
                    return Err(not_a_public_key("an Ed25519 public key is 32 bytes"));
                }
                let x = URL_SAFE_NO_PAD.encode(public_key);
                Ok(SigningKey {
                    kid: kid.to_owned(),
                    algorithm,
                    encoding: EncodingKey::from_ed_der(pkcs8),
                    decoding: DecodingKey::from_ed_components(&x).map_err(jwt_error)?,
                    hs256_mac: None,
                    public_jwk: Some(public_jwk(
                        kid,
                        KeyAlgorithm::EdDSA,
                        AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
                            key_type: OctetKeyPairType::OctetKeyPair,
                            curve: EllipticCurve::Ed25519,
                            x,
                        }),
                    )),
                })
            }
            SigningAlgorithm::Hs256 => Err(not_a_key_pair()),
        }
    }

    /// The key id written into the `kid` header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm this key is for, and the only one it verifies.
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.algorithm
    }

    /// The half that signs.
    pub fn encoding(&self) -> &EncodingKey {
        &self.encoding
    }

    /// The half that verifies.
    pub fn decoding(&self) -> &DecodingKey {
        &self.decoding
    }

    /// For an HS256 key, its secret prepared for HMAC-SHA-256 (see
    /// `jwt::tokens::verify_hs256`); `None` for a key pair.
    pub fn hs256_mac(&self) -> Option<&Hmac<Sha256>> {
        self.hs256_mac.as_ref()
    }

    /// The signature of `signing_input` (`header.payload`, exactly as sent)
    /// under this key, base64url-encoded: a token's third segment.
    pub fn signature(&self, signing_input: &str) -> Result<String, KeyError> {
        jsonwebtoken::crypto::sign(
            signing_input.as_bytes(),
            &self.encoding,
            self.algorithm.jwt_algorithm(),
        )
        .map_err(|e| KeyError::Crypto(e.to_string()))
    }
}

/// Making keys: random secrets and new key pairs, and the public half of a
/// private key. aws-lc-rs does all three and does not build for
/// WebAssembly, so the book's in-browser token lab, which signs with fixed
/// demo keys only, goes without them.
#[cfg(not(target_arch = "wasm32"))]
impl SigningKey {
    /// A fresh key: 256 random bits for HS256, a new key pair otherwise.
    pub fn generate(kid: &str, algorithm: SigningAlgorithm) -> Result<SigningKey, KeyError> {
        match algorithm {
            SigningAlgorithm::Hs256 => {
                let mut secret = [0u8; MIN_HS256_SECRET_BYTES];
                getrandom::fill(&mut secret).map_err(|e| KeyError::Crypto(e.to_string()))?;
                SigningKey::hs256(kid, &secret)
            }
            SigningAlgorithm::Es256 | SigningAlgorithm::EdDsa => {
                SigningKey::from_pkcs8(kid, algorithm, &SigningKey::generate_pkcs8(algorithm)?)
            }
        }
    }

    /// A new ES256 or EdDSA private key, as PKCS#8 DER: what several servers
    /// that sign with one key are each given.
    pub fn generate_pkcs8(algorithm: SigningAlgorithm) -> Result<Vec<u8>, KeyError> {
        let crypto = |e: aws_lc_rs::error::Unspecified| KeyError::Crypto(e.to_string());
        let rng = SystemRandom::new();
        let document = match algorithm {
            SigningAlgorithm::Es256 => {
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                    .map_err(crypto)?
            }
            SigningAlgorithm::EdDsa => Ed25519KeyPair::generate_pkcs8(&rng).map_err(crypto)?,
            SigningAlgorithm::Hs256 => return Err(not_a_key_pair()),
        };
        Ok(document.as_ref().to_vec())
    }

    /// An ES256 or EdDSA key from its PKCS#8 DER private key.
    pub fn from_pkcs8(
        kid: &str,
        algorithm: SigningAlgorithm,
        pkcs8: &[u8],
    ) -> Result<SigningKey, KeyError> {
        let crypto = |e: aws_lc_rs::error::KeyRejected| KeyError::Crypto(e.to_string());
        let public_key = match algorithm {
            SigningAlgorithm::Es256 => {
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8)
                    .map_err(crypto)?
                    .public_key()
                    .as_ref()
                    .to_vec()
            }
            SigningAlgorithm::EdDsa => Ed25519KeyPair::from_pkcs8(pkcs8)
                .map_err(crypto)?
                .public_key()
                .as_ref()
                .to_vec(),
            SigningAlgorithm::Hs256 => return Err(not_a_key_pair()),
        };
        SigningKey::from_key_pair(kid, algorithm, pkcs8, &public_key)
    }
}

fn not_a_key_pair() -> KeyError {
    KeyError::Crypto("HS256 has a secret, not a key pair".to_owned())
}

/// A public key as a JWK for signatures (`"use": "sig"`), with its id and
/// algorithm, so a verifier never has to guess either (RFC 7517 §4).
fn public_jwk(kid: &str, algorithm: KeyAlgorithm, parameters: AlgorithmParameters) -> Jwk {
    Jwk {
        common: CommonParameters {
            public_key_use: Some(PublicKeyUse::Signature),
            key_algorithm: Some(algorithm),
            key_id: Some(kid.to_owned()),
            ..CommonParameters::default()
        },
        algorithm: parameters,
    }
}

/// The keys a server holds: one signs, all verify.
#[derive(Debug)]
pub struct KeyRing {
    signing: SigningKey,
    /// Keys that verify but do not sign: the previous ones, until their
    /// tokens expire, and the next one, published before it signs.
    verifying: Vec<SigningKey>,
}

impl KeyRing {
    /// A ring with one key.
    pub fn new(signing: SigningKey) -> KeyRing {
        KeyRing {
            signing,
            verifying: Vec::new(),
        }
    }

    // ANCHOR: rotate
    /// A new key signs from now on; the old one keeps verifying the tokens it
    /// already signed, until [`KeyRing::retire`] drops it after they expire.
    /// Rotating ends nothing by itself; retiring does.
    pub fn rotate(&mut self, next: SigningKey) {
        self.verifying.retain(|key| key.kid != next.kid);
        let previous = std::mem::replace(&mut self.signing, next);
        self.verifying.push(previous);
    }

    /// Drops a key that no longer signs: tokens it signed no longer verify.
    pub fn retire(&mut self, kid: &str) {
        self.verifying.retain(|key| key.kid != kid);
    }

    /// Verifies with `key` too, without signing with it: how the *next* key
    /// reaches every server before any of them signs with it, so that a
    /// rolling rotation logs nobody out.
    pub fn also_verify(&mut self, key: SigningKey) {
        self.verifying.push(key);
    }
    // ANCHOR_END: rotate

    /// The key that signs new tokens.
    pub fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    /// The key with this `kid`, if the ring holds it.
    pub fn verification_key(&self, kid: &str) -> Option<&SigningKey> {
        std::iter::once(&self.signing)
            .chain(&self.verifying)
            .find(|key| key.kid == kid)
    }

    /// The public keys as a JWK Set (RFC 7517 §5), for
    /// `/.well-known/jwks.json`. Empty for HS256: a shared secret is never
    /// published.
    pub fn jwks(&self) -> JwkSet {
        let keys = std::iter::once(&self.signing)
            .chain(&self.verifying)
            .filter_map(|key| key.public_jwk.clone())
            .collect();
        JwkSet { keys }
    }
}

#[cfg(test)]
mod tests;
