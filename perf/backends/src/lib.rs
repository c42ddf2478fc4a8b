//! A key and a token per algorithm, for comparing jsonwebtoken's crypto
//! backends: build with `--features aws_lc_rs` or `--features rust_crypto`,
//! never both.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// Claims shaped like the café's access token.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    iss: String,
    sub: String,
    aud: String,
    iat: u64,
    nbf: u64,
    exp: u64,
    jti: String,
    role: String,
}

/// Which backend this build uses.
pub const BACKEND: &str = if cfg!(feature = "aws_lc_rs") {
    "aws_lc_rs"
} else {
    "rust_crypto"
};

/// Everything one algorithm's verify needs, built once.
pub struct Verifier {
    /// `hs256`, `es256` or `eddsa`.
    pub name: &'static str,
    /// A valid token.
    pub token: String,
    /// The key that verifies it.
    pub key: DecodingKey,
    /// The rules: this algorithm only, issuer and audience required.
    pub validation: Validation,
}

impl Verifier {
    /// Checks the token once.
    pub fn verify(&self) -> Result<Claims, jsonwebtoken::errors::Error> {
        jsonwebtoken::decode::<Claims>(&self.token, &self.key, &self.validation)
            .map(|data| data.claims)
    }
}

/// One verifier per algorithm. The keys are throwaway test keys in `keys/`
/// (made with openssl), so both backends verify exactly the same tokens.
pub fn verifiers() -> Result<Vec<Verifier>, jsonwebtoken::errors::Error> {
    let secret = b"a benchmark secret of 32+ bytes!";
    let pairs = [
        (
            "hs256",
            Algorithm::HS256,
            EncodingKey::from_secret(secret),
            DecodingKey::from_secret(secret),
        ),
        (
            "es256",
            Algorithm::ES256,
            EncodingKey::from_ec_pem(include_bytes!("../keys/es256-private.pem"))?,
            DecodingKey::from_ec_pem(include_bytes!("../keys/es256-public.pem"))?,
        ),
        (
            "eddsa",
            Algorithm::EdDSA,
            EncodingKey::from_ed_pem(include_bytes!("../keys/eddsa-private.pem"))?,
            DecodingKey::from_ed_pem(include_bytes!("../keys/eddsa-public.pem"))?,
        ),
    ];
    let claims = Claims {
        iss: "cafe".into(),
        sub: "alice".into(),
        aud: "cafe-api".into(),
        iat: 1_700_000_000,
        nbf: 1_700_000_000,
        exp: 4_000_000_000,
        jti: "3q2-7wAAAAC0Ng8S0b9jVw".into(),
        role: "member".into(),
    };
    pairs
        .into_iter()
        .map(|(name, algorithm, encoding, key)| {
            let token = jsonwebtoken::encode(&Header::new(algorithm), &claims, &encoding)?;
            let mut validation = Validation::new(algorithm);
            validation.set_issuer(&["cafe"]);
            validation.set_audience(&["cafe-api"]);
            validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
            Ok(Verifier {
                name,
                token,
                key,
                validation,
            })
        })
        .collect()
}
