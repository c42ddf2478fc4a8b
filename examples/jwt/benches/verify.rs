//! What checking an access token costs, layer by layer, per algorithm: a
//! bare `jsonwebtoken::decode`, the café's own check (`tokens::verify`,
//! with its header rules), and the authority's check with each revocation
//! lookup; and what issuing a pair of tokens costs.
//!
//! ```console
//! $ cargo bench -p jwt --bench verify
//! ```
//!
//! `cargo run --release -p perf` runs this (and counts its instructions
//! under callgrind) to make the book's tables.

use bench_harness::{Check, finish_now};
use jsonwebtoken::{DecodingKey, Validation};
use jwt::keys::{KeyRing, SigningAlgorithm, SigningKey};
use jwt::tokens::{
    AccessClaims, TokenKind, check_time, validation, verify, verify_with_jsonwebtoken,
};
use jwt::{Lifetimes, RevocationChecks, TokenAuthority, TokenStores};
use std::hint::black_box;
use std::sync::Arc;

const NOW: u64 = 1_700_000_000;

/// One key, built from the same material as often as asked: the authority
/// owns its ring, and the lower layers get a ring of their own.
struct KeyMaterial {
    algorithm: SigningAlgorithm,
    bytes: Vec<u8>,
}

impl KeyMaterial {
    fn new(algorithm: SigningAlgorithm) -> KeyMaterial {
        let bytes = match algorithm {
            SigningAlgorithm::Hs256 => b"a benchmark secret of 32+ bytes!".to_vec(),
            _ => SigningKey::generate_pkcs8(algorithm).expect("a key pair"),
        };
        KeyMaterial { algorithm, bytes }
    }

    fn ring(&self) -> KeyRing {
        let key = match self.algorithm {
            SigningAlgorithm::Hs256 => SigningKey::hs256("bench-1", &self.bytes),
            algorithm => SigningKey::from_pkcs8("bench-1", algorithm, &self.bytes),
        };
        KeyRing::new(key.expect("a key"))
    }

    fn authority(&self, checks: RevocationChecks) -> Arc<TokenAuthority> {
        let stores = TokenStores::in_memory();
        Arc::new(TokenAuthority::new(
            self.ring(),
            Lifetimes::default(),
            checks,
            stores,
        ))
    }
}

fn access_token(authority: &TokenAuthority) -> String {
    finish_now(
        authority.log_in("alice", &jwt::revocation::Device::default(), NOW, async {
            Ok(jwt::Standing::Active {
                role: "member".into(),
            })
        }),
    )
    .expect("a login")
    .access_token
}

fn name(algorithm: SigningAlgorithm) -> &'static str {
    match algorithm {
        SigningAlgorithm::Hs256 => "hs256",
        SigningAlgorithm::Es256 => "es256",
        SigningAlgorithm::EdDsa => "eddsa",
    }
}

/// Three layers of the same check, per algorithm.
fn access_checks() -> Vec<Check> {
    let mut checks = Vec::new();
    for algorithm in SigningAlgorithm::ALL {
        let key = KeyMaterial::new(algorithm);
        let authority = key.authority(RevocationChecks::default());
        let token = access_token(&authority);

        // The library alone, with the same rules, built once.
        let decoding: DecodingKey = key.ring().signing_key().decoding().clone();
        let rules: &Validation = validation(algorithm, TokenKind::Access);
        let library_token = token.clone();
        checks.push(Check::new(
            "jwt_layers",
            format!("{}-jsonwebtoken-decode", name(algorithm)),
            move || {
                jsonwebtoken::decode::<AccessClaims>(black_box(&library_token), &decoding, rules)
                    .expect("valid");
            },
        ));

        // The cryptography alone: HMAC-SHA-256 over the signing input, with
        // the key prepared once. What no HS256 check can go below.
        if algorithm == SigningAlgorithm::Hs256 {
            checks.push(hmac_alone(&key.bytes, &token));
            checks.push(hmac_sha2_prepared(&key.bytes, &token));
            // The café's rules on jsonwebtoken's path, as before the lean
            // check: what the lean check is measured against.
            let ring = key.ring();
            let general_token = token.clone();
            checks.push(Check::new(
                "jwt_lean",
                "hs256-cafe-verify-jsonwebtoken",
                move || {
                    let claims: AccessClaims = verify_with_jsonwebtoken(
                        &ring,
                        TokenKind::Access,
                        black_box(&general_token),
                    )
                    .expect("valid");
                    check_time(&claims, NOW).expect("in time");
                },
            ));
        }

        // The café's check: size cap, header rules, kid, typ, then the above.
        let ring = key.ring();
        let verify_token = token.clone();
        checks.push(Check::new(
            "jwt_layers",
            format!("{}-cafe-verify", name(algorithm)),
            move || {
                verify::<AccessClaims>(&ring, TokenKind::Access, black_box(&verify_token), NOW)
                    .expect("valid");
            },
        ));

        // The authority: the same, behind its lock, with no lookups.
        checks.push(Check::new(
            "jwt_layers",
            format!("{}-authority", name(algorithm)),
            move || {
                finish_now(authority.authenticate(black_box(&token), NOW)).expect("valid");
            },
        ));
    }
    checks
}

fn hmac_alone(secret: &[u8], token: &str) -> Check {
    use base64::Engine;
    let (signing_input, signature) = token.rsplit_once('.').expect("three parts");
    let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(signature)
        .expect("base64url");
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let signing_input = signing_input.to_owned();
    Check::new("jwt_layers", "hs256-hmac-alone", move || {
        aws_lc_rs::hmac::verify(&key, black_box(signing_input.as_bytes()), &signature)
            .expect("the signature matches");
    })
}

/// The same HMAC with the crate the lean check uses (RustCrypto's `hmac`
/// and `sha2`, on every target), its key prepared once and cloned per
/// check, as `SigningKey` keeps it.
fn hmac_sha2_prepared(secret: &[u8], token: &str) -> Check {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let (signing_input, signature) = token.rsplit_once('.').expect("three parts");
    let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(signature)
        .expect("base64url");
    let prepared = Hmac::<sha2::Sha256>::new_from_slice(secret).expect("any key length");
    let signing_input = signing_input.to_owned();
    Check::new("jwt_lean", "hs256-hmac-sha2-prepared", move || {
        let mut mac = prepared.clone();
        mac.update(black_box(signing_input.as_bytes()));
        mac.verify_slice(&signature).expect("the signature matches");
    })
}

/// The lookups that make a JWT revocable, in memory.
fn revocation_lookups() -> Vec<Check> {
    let variants = [
        ("denylist", true, false),
        ("token-version", false, true),
        ("both", true, true),
    ];
    variants
        .into_iter()
        .map(|(variant, denylist, token_version)| {
            let checks = RevocationChecks {
                denylist,
                token_version,
            };
            let authority = KeyMaterial::new(SigningAlgorithm::Hs256).authority(checks);
            let token = access_token(&authority);
            Check::new(
                "jwt_layers",
                format!("hs256-authority-{variant}"),
                move || {
                    finish_now(authority.authenticate(black_box(&token), NOW)).expect("valid");
                },
            )
        })
        .collect()
}

/// A login's token work: a refresh family started, two tokens signed.
fn token_pairs() -> Vec<Check> {
    SigningAlgorithm::ALL
        .into_iter()
        .map(|algorithm| {
            let authority = KeyMaterial::new(algorithm).authority(RevocationChecks::default());
            Check::new(
                "jwt_issue",
                format!("{}-pair", name(algorithm)),
                move || {
                    finish_now(authority.log_in(
                        "alice",
                        &jwt::revocation::Device::default(),
                        NOW,
                        async {
                            Ok(jwt::Standing::Active {
                                role: "member".into(),
                            })
                        },
                    ))
                    .expect("a pair");
                },
            )
        })
        .collect()
}

fn main() {
    let checks = [access_checks(), revocation_lookups(), token_pairs()];
    bench_harness::main(checks.into_iter().flatten().collect());
}
