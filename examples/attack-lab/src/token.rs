//! Attacks on the access token itself: forging, tampering, confusing the
//! verifier about the algorithm or the key, and tokens that are well signed
//! but wrong (expired, for someone else, of the wrong type).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use attack_lab::{
    Applies, Attack, Call, Family, Lab, LabError, LabResult, Outcome, Server, judge, judge_all,
    token_servers,
};
use jwt::keys::SigningAlgorithm;
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
pub fn attacks() -> Vec<Attack> {
    vec![
        FAMILY.attack(
            "jwt-alg-none",
            "an unsigned token (`alg: none`) claiming the admin role",
            "401: `none` is not on the algorithm allowlist",
            RFC_8725_ALGORITHMS,
            |lab| Box::pin(alg_none(lab)),
        ),
        FAMILY.attack(
            "jwt-alg-none-spellings",
            "`None`, `NONE`, `nOnE`: the same, for verifiers that compare case-sensitively",
            "401 for every spelling",
            RFC_8725_ALGORITHMS,
            |lab| Box::pin(alg_none_spellings(lab)),
        ),
        FAMILY.attack(
            "jwt-signature-stripped",
            "a real token's header and admin claims with the signature removed",
            "401: a token without a valid signature is nothing",
            "RFC 7515 §5.2; ASVS 5.0 9.1.1",
            |lab| Box::pin(signature_stripped(lab)),
        ),
        FAMILY.attack(
            "jwt-signature-truncated",
            "a real token with the end of its signature cut off",
            "401",
            "RFC 7515 §5.2; ASVS 5.0 9.1.1",
            |lab| Box::pin(signature_truncated(lab)),
        ),
        FAMILY.attack(
            "jwt-role-tampered",
            "a real token with `role` changed to admin, signature kept",
            "401: the signature no longer matches",
            "ASVS 5.0 9.1.1",
            |lab| Box::pin(role_tampered(lab)),
        ),
        FAMILY.attack(
            "jwt-subject-tampered",
            "a real token with `sub` changed to another user, signature kept",
            "401",
            "ASVS 5.0 9.1.1",
            |lab| Box::pin(subject_tampered(lab)),
        ),
        FAMILY.attack(
            "jwt-expiry-extended",
            "a real token with `exp` moved a year ahead, signature kept",
            "401",
            "ASVS 5.0 9.1.1, 9.2.1",
            |lab| Box::pin(expiry_extended(lab)),
        ),
        FAMILY.attack(
            "jwt-signed-with-attacker-key",
            "admin claims, correctly HS256-signed with a key the attacker made up",
            "401: only the server's keys count",
            "ASVS 5.0 9.1.1, 9.1.3",
            |lab| Box::pin(signed_with_attacker_key(lab)),
        ),
        FAMILY.attack(
            "jwt-empty-hmac-key",
            "admin claims HS256-signed with an empty key, under the server's `kid`",
            "401: an HS256 key is at least 256 bits, and an empty one is no key",
            "RFC 7518 §3.2; jwt_tool's blank-password check",
            |lab| Box::pin(empty_hmac_key(lab)),
        ),
        FAMILY.attack(
                "jwt-psychic-signature",
                "admin claims with the ES256 signature r = 0, s = 0",
                "401: r and s must lie in [1, n − 1] (CVE-2022-21449 accepted zeros)",
                "RFC 7518 §3.4; CVE-2022-21449",
                |lab| Box::pin(psychic_signature(lab)),
        ).only(es256_servers),
        FAMILY.attack(
                "jwt-weak-secret-wordlist",
                "crack the HS256 secret offline from one captured token with a wordlist",
                "no candidate matches: the café refuses to start with a secret under 256 bits",
                "RFC 8725 §3.5; RFC 7518 §3.2",
                |lab| Box::pin(weak_secret_wordlist(lab)),
        ).only(hs256_servers),
        FAMILY.attack(
                "jwt-algorithm-confusion",
                "admin claims HS256-signed with the server's published public key as the HMAC secret",
                "401: the key's algorithm is fixed; the header does not choose it",
                RFC_8725_ALGORITHMS,
                |lab| Box::pin(algorithm_confusion(lab)),
        ).only(public_key_servers),
        FAMILY.attack(
            "jwt-alg-swapped",
            "a real token relabelled with each other algorithm (HS256/384/512, RS256, PS256, ES256, EdDSA), signature kept",
            "401 for every label but the key's own",
            RFC_8725_ALGORITHMS,
            |lab| Box::pin(alg_swapped(lab)),
        ),
        FAMILY.attack(
            "jwt-header-jwk",
            "admin claims signed with the attacker's key, that key embedded in the header (`jwk`)",
            "401: keys come from the server's configuration, never from the token",
            RFC_8725_KEYS,
            |lab| Box::pin(header_jwk(lab)),
        ),
        FAMILY.attack(
            "jwt-header-jku",
            "admin claims signed with the attacker's key, `jku` pointing at the attacker's key set (a URL the lab watches)",
            "401, and nothing fetched",
            RFC_8725_KEYS,
            |lab| Box::pin(header_jku(lab)),
        ),
        FAMILY.attack(
            "jwt-header-x5u",
            "the same with `x5u`, a URL of the attacker's certificate",
            "401, and nothing fetched",
            RFC_8725_KEYS,
            |lab| Box::pin(header_x5u(lab)),
        ),
        FAMILY.attack(
            "jwt-header-x5c",
            "the same with `x5c`, a certificate chain in the header",
            "401",
            RFC_8725_KEYS,
            |lab| Box::pin(header_x5c(lab)),
        ),
        FAMILY.attack(
            "jwt-kid-path-traversal",
            "`kid: ../../../../dev/null` and a signature made with an empty key",
            "401: `kid` only picks among keys the server holds",
            "RFC 8725 §3.10; OWASP JWT Cheat Sheet",
            |lab| Box::pin(kid_path_traversal(lab)),
        ),
        FAMILY.attack(
            "jwt-kid-injection",
            "`kid: x' UNION SELECT 'attacker-key' --` and a signature made with that key",
            "401: `kid` is never used in a query or a path",
            "RFC 8725 §3.10",
            |lab| Box::pin(kid_injection(lab)),
        ),
        FAMILY.attack(
            "jwt-refresh-as-access",
            "the real refresh token sent as a bearer access token",
            "401: `typ` and `aud` differ (refresh+jwt, cafe-refresh)",
            "RFC 8725 §3.11, §3.12; ASVS 5.0 9.2.2",
            |lab| Box::pin(refresh_as_access(lab)),
        ),
        FAMILY.attack(
            "jwt-access-as-refresh",
            "the real access token sent to /refresh as a refresh token",
            "401",
            "RFC 8725 §3.11, §3.12; ASVS 5.0 9.2.2",
            |lab| Box::pin(access_as_refresh(lab)),
        ),
        FAMILY.attack(
            "jwt-oversized",
            "a 12 KiB token",
            "401 before any decoding (the café's cap is 4 KiB)",
            "OWASP Denial of Service Cheat Sheet",
            |lab| Box::pin(oversized(lab)),
        ),
        FAMILY.attack(
            "jwt-deeply-nested",
            "claims nested 1,000 arrays deep, for parsers that recurse without a limit",
            "401, no crash",
            "OWASP Denial of Service Cheat Sheet",
            |lab| Box::pin(deeply_nested(lab)),
        ),
        FAMILY.attack(
            "jwt-non-canonical-base64",
            "a real token whose signature is spelt differently: padding, unused bits set",
            "401: one token has one spelling, so a denylist of token strings could not be sidestepped",
            "RFC 7515 §2, Appendix C",
            |lab| Box::pin(non_canonical_base64(lab)),
        ),
        FAMILY.attack(
            "jwt-duplicate-claim",
            "signed with the server's key: `role` twice, member then admin",
            "401: JSON with a member twice is refused, not read first- or last-wins",
            "RFC 7519 §4",
            |lab| Box::pin(duplicate_claim(lab)),
        ),
        FAMILY.attack(
            "jwt-crit-unknown",
            "signed with the server's key: `crit` naming an extension the server does not know",
            "401",
            "RFC 7515 §4.1.11",
            |lab| Box::pin(crit_unknown(lab)),
        ),
        FAMILY.attack(
            "jwt-expired",
            "signed with the server's key: `exp` a minute past, beyond the 5 s leeway",
            "401",
            "RFC 7519 §4.1.4; ASVS 5.0 9.2.1",
            |lab| Box::pin(expired(lab)),
        ),
        FAMILY.attack(
            "jwt-not-yet-valid",
            "signed with the server's key: `nbf` an hour ahead",
            "401",
            "RFC 7519 §4.1.5; ASVS 5.0 9.2.1",
            |lab| Box::pin(not_yet_valid(lab)),
        ),
        FAMILY.attack(
            "jwt-wrong-issuer",
            "signed with the server's key: another `iss`",
            "401",
            "RFC 8725 §3.8",
            |lab| Box::pin(wrong_issuer(lab)),
        ),
        FAMILY.attack(
            "jwt-wrong-audience",
            "signed with the server's key: an `aud` for another service",
            "401",
            "RFC 8725 §3.9; ASVS 5.0 9.2.3",
            |lab| Box::pin(wrong_audience(lab)),
        ),
        FAMILY.attack(
            "jwt-missing-expiry",
            "signed with the server's key: no `exp` at all, a token that never ends",
            "401: `exp` is required",
            "RFC 7519 §4.1.4; ASVS 5.0 9.2.1",
            |lab| Box::pin(missing_expiry(lab)),
        ),
        FAMILY.attack(
            "jwt-untyped",
            "signed with the server's key: `typ: JWT` instead of `at+jwt`",
            "401: explicit typing keeps other JWTs from passing as access tokens",
            "RFC 8725 §3.11; RFC 9068 §2.1",
            |lab| Box::pin(untyped(lab)),
        ),
        FAMILY.attack(
                "jwt-ecdsa-malleability",
                "after logout, the token's twin: the same ECDSA signature with s replaced by n − s",
                "401: the denylist keys on `jti`, which the twin shares, not on the token's bytes",
                "RFC 7518 §3.4; RFC 7519 §4.1.7",
                |lab| Box::pin(ecdsa_malleability(lab)),
        ).only(es256_servers),
    ]
}

/// Applies to token servers signing with one of `algorithms`.
fn signing_with(server: &Server, algorithms: &[SigningAlgorithm], why: &'static str) -> Applies {
    match token_servers(server) {
        Applies::Yes => Applies::when(
            server.algorithm.is_some_and(|a| algorithms.contains(&a)),
            why,
        ),
        no => no,
    }
}

fn hs256_servers(server: &Server) -> Applies {
    let why = "no shared secret to guess";
    signing_with(server, &[SigningAlgorithm::Hs256], why)
}

fn public_key_servers(server: &Server) -> Applies {
    let why = "HS256 publishes no public key";
    signing_with(
        server,
        &[SigningAlgorithm::Es256, SigningAlgorithm::EdDsa],
        why,
    )
}

fn es256_servers(server: &Server) -> Applies {
    let why = "only ECDSA signatures have a twin";
    signing_with(server, &[SigningAlgorithm::Es256], why)
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn segment(value: &Value) -> String {
    b64(value.to_string().as_bytes())
}

/// A real access token, taken apart.
struct Captured {
    token: String,
    header: Value,
    claims: Value,
    signature: String,
}

impl Captured {
    /// The claims with `changes` made.
    fn claims_with(&self, changes: &[(&str, Value)]) -> Value {
        let mut claims = self.claims.clone();
        for (name, value) in changes {
            claims[*name] = value.clone();
        }
        claims
    }

    /// The claims with `role: admin`: what most forgeries are after.
    fn admin_claims(&self) -> Value {
        self.claims_with(&[("role", json!("admin"))])
    }

    /// When the server issued the token: its clock, not ours.
    fn issued_at(&self) -> i64 {
        self.claims["iat"].as_i64().unwrap_or(0)
    }
}

/// Logs alice in and takes her access token apart, as anyone holding it can.
async fn capture(lab: &Lab) -> Result<Captured, LabError> {
    let token = lab.log_in("alice").await?.access_token()?.to_owned();
    let (header, claims) = jwt::anatomy::decode_unverified(&token).map_err(|e| e.to_string())?;
    let signature = token.rsplit('.').next().unwrap_or_default().to_owned();
    Ok(Captured {
        token,
        header,
        claims,
        signature,
    })
}

fn assemble(header: &Value, claims: &Value, signature: &str) -> String {
    format!("{}.{}.{signature}", segment(header), segment(claims))
}

/// HS256 over `header.claims` with `key`: a correct signature, with the
/// wrong key.
fn hmac_signed(header: &Value, claims: &Value, key: &[u8]) -> String {
    let input = format!("{}.{}", segment(header), segment(claims));
    let signature = jwt::anatomy::hs256_signature(key, &input);
    format!("{input}.{signature}")
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
/// the key's `alg` and `kid` are added). `None` if the lab has no key.
fn key_holder_signed(
    lab: &Lab,
    header: Value,
    claims_text: &str,
) -> Option<Result<String, LabError>> {
    let key = lab.signing_key()?;
    let mut header = header;
    header["alg"] = json!(key.algorithm().as_str());
    header["kid"] = json!(key.kid());
    let input = format!("{}.{}", segment(&header), b64(claims_text.as_bytes()));
    Some(
        key.signature(&input)
            .map(|signature| format!("{input}.{signature}"))
            .map_err(|e| e.to_string()),
    )
}

fn needs_key() -> Outcome {
    Outcome::Skipped(
        "needs the server's signing key (`--jwt-secret-file`) to test the rules behind the signature"
            .to_owned(),
    )
}

/// Sends `token` as a bearer token to `path`; it must be refused with 401.
async fn presented(lab: &Lab, token: &str, path: &str) -> LabResult {
    let reply = lab.send(Call::get(path).bearer(token)).await?;
    judge(&reply, &[401], &format!("GET {path} accepted the token"))
}

/// The key holder's version of an attack: sign `claims` under an access
/// token header plus `extra_header`, and present it.
async fn key_holder_attack(lab: &Lab, extra_header: &[(&str, Value)], claims: String) -> LabResult {
    let mut header = json!({ "typ": "at+jwt" });
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
fn public_key_spellings(jwk: &Value) -> Vec<Vec<u8>> {
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

async fn refresh_as_access(lab: &Lab) -> LabResult {
    let login = lab.log_in("alice").await?;
    presented(lab, login.refresh_token()?, "/me").await
}

async fn access_as_refresh(lab: &Lab) -> LabResult {
    let login = lab.log_in("alice").await?;
    let reply = lab.send(lab.refresh_call(login.access_token()?)).await?;
    judge(&reply, &[401], "/refresh took an access token")
}

async fn oversized(lab: &Lab) -> LabResult {
    let captured = capture(lab).await?;
    let claims = captured.claims_with(&[("padding", json!("x".repeat(9 * 1024)))]);
    let token = assemble(&captured.header, &claims, &captured.signature);
    let reply = lab.send(Call::get("/me").bearer(&token)).await?;
    judge(&reply, &[401, 431], "the oversized token was accepted")
}

async fn deeply_nested(lab: &Lab) -> LabResult {
    let captured = capture(lab).await?;
    let depth = 1000;
    let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let mut claims_text = captured.claims.to_string();
    claims_text.pop();
    claims_text.push_str(&format!(",\"nested\":{nested}}}"));
    let token = format!(
        "{}.{}.{}",
        segment(&captured.header),
        b64(claims_text.as_bytes()),
        captured.signature
    );
    presented(lab, &token, "/me").await
}

/// Other spellings of the same signature bytes: `=` padding, and the last
/// character's unused low bits set (a lenient decoder reads both as the
/// original).
fn signature_respellings(signature: &str) -> Vec<String> {
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

async fn non_canonical_base64(lab: &Lab) -> LabResult {
    let captured = capture(lab).await?;
    let body = captured
        .token
        .rsplit_once('.')
        .map_or("", |(body, _)| body)
        .to_owned();
    let mut verdicts = Vec::new();
    for signature in signature_respellings(&captured.signature) {
        verdicts.push(presented(lab, &format!("{body}.{signature}"), "/me").await?);
    }
    judge_all(verdicts)
}

async fn duplicate_claim(lab: &Lab) -> LabResult {
    let captured = capture(lab).await?;
    let mut claims_text = captured.claims.to_string();
    claims_text.pop();
    claims_text.push_str(",\"role\":\"admin\"}");
    key_holder_attack(lab, &[], claims_text).await
}

async fn crit_unknown(lab: &Lab) -> LabResult {
    let captured = capture(lab).await?;
    let extra = [
        ("crit", json!(["cafe-ext"])),
        ("cafe-ext", json!("must be understood")),
    ];
    key_holder_attack(lab, &extra, captured.claims.to_string()).await
}

async fn expired(lab: &Lab) -> LabResult {
    let captured = capture(lab).await?;
    let then = captured.issued_at() - 960;
    let claims = captured.claims_with(&[
        ("iat", json!(then)),
        ("nbf", json!(then)),
        ("exp", json!(then + 900)),
    ]);
    key_holder_attack(lab, &[], claims.to_string()).await
}

async fn not_yet_valid(lab: &Lab) -> LabResult {
    let captured = capture(lab).await?;
    let later = captured.issued_at() + 3600;
    let claims = captured.claims_with(&[("nbf", json!(later)), ("exp", json!(later + 900))]);
    key_holder_attack(lab, &[], claims.to_string()).await
}

async fn wrong_issuer(lab: &Lab) -> LabResult {
    let captured = capture(lab).await?;
    let claims = captured.claims_with(&[("iss", json!("https://login.other.example"))]);
    key_holder_attack(lab, &[], claims.to_string()).await
}

async fn wrong_audience(lab: &Lab) -> LabResult {
    let captured = capture(lab).await?;
    let claims = captured.claims_with(&[("aud", json!("payments-api"))]);
    key_holder_attack(lab, &[], claims.to_string()).await
}

async fn missing_expiry(lab: &Lab) -> LabResult {
    let captured = capture(lab).await?;
    let mut claims = captured.claims.clone();
    if let Some(members) = claims.as_object_mut() {
        members.remove("exp");
    }
    key_holder_attack(lab, &[], claims.to_string()).await
}

async fn untyped(lab: &Lab) -> LabResult {
    let captured = capture(lab).await?;
    let claims = captured.claims.to_string();
    match key_holder_signed(lab, json!({ "typ": "JWT" }), &claims) {
        Some(token) => presented(lab, &token?, "/me").await,
        None => Ok(needs_key()),
    }
}

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

async fn ecdsa_malleability(lab: &Lab) -> LabResult {
    let login = lab.log_in("alice").await?;
    let token = login.access_token()?.to_owned();
    let twin = ecdsa_twin(&token).ok_or("not an ES256 token")?;
    let before = lab.send(Call::get("/me").bearer(&twin)).await?;
    lab.log_out(&login).await?;
    let original = lab.send(Call::get("/me").bearer(&token)).await?;
    if original.status == 200 {
        return Ok(Outcome::Skipped(
            "this server checks no denylist: the logged-out token itself still works \
             (see access-after-logout)"
                .to_owned(),
        ));
    }
    let after = lab.send(Call::get("/me").bearer(&twin)).await?;
    let twin_was = if before.status == 200 {
        "the twin verified while the login lasted"
    } else {
        "the verifier refused the twin outright"
    };
    match judge(&after, &[401], "the logged-out token's twin was accepted")? {
        Outcome::Refused(how) => Ok(Outcome::Refused(format!("{how}; {twin_was}"))),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests;
