//! Access and refresh tokens: what they claim, how they are signed, and how
//! every one of them is checked, with nothing left to a library default.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Header, Validation};
use jwt::keys::{KeyRing, SigningAlgorithm};
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;
use std::fmt;
use std::sync::LazyLock;

/// Who issues the café's tokens (`iss`).
pub const ISSUER: &str = "cafe";
/// Tokens longer than this are refused before any decoding (ours are under
/// 1 KiB): a megabyte of base64 should not cost a signature check.
pub const MAX_TOKEN_BYTES: usize = 4096;
/// Clock skew we forgive on `exp` and `nbf`, in seconds. jsonwebtoken's
/// default is 60, the usual reason an "expired" token still works for a
/// minute; ours is set here, on purpose, and small.
pub const LEEWAY_SECONDS: u64 = 5;

/// The two kinds of token. They differ in `typ` header and audience, so
/// neither can ever be accepted as the other (RFC 8725 §3.11 and §3.12).
/// Written `access` and `refresh` where it is serialized (the token lab's
/// vector file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TokenKind {
    /// Presented on every request, short-lived.
    Access,
    /// Presented only to `POST /refresh`, longer-lived, rotated on every use.
    Refresh,
}

impl TokenKind {
    /// Both kinds, in declaration order.
    pub const ALL: [TokenKind; 2] = [TokenKind::Access, TokenKind::Refresh];

    /// The `typ` header the café writes: `at+jwt` is RFC 9068's media type
    /// for access tokens, `refresh+jwt` the café's own for refresh tokens.
    pub fn typ(self) -> &'static str {
        match self {
            TokenKind::Access => "at+jwt",
            TokenKind::Refresh => "refresh+jwt",
        }
    }

    // ANCHOR: is_typ
    /// Whether a `typ` header names this kind. `typ` is a media type, not a
    /// string to compare byte for byte: RFC 7515 §4.1.9 has a recipient read
    /// a value without a `/` as if `application/` were in front of it, and
    /// media types ignore letter case (RFC 2045, which §4.1.9 cites); RFC
    /// 9068 §4 names both `at+jwt` and `application/at+jwt` for access
    /// tokens. So `AT+JWT` and `application/at+jwt` are access tokens too,
    /// while `text/at+jwt`, `at+jwt;charset=utf-8` and `refresh+jwt` in any
    /// spelling are not.
    pub fn is_typ(self, typ: &str) -> bool {
        const APPLICATION: &str = "application/";
        let subtype = match typ.split_at_checked(APPLICATION.len()) {
            Some((top_level, subtype)) if top_level.eq_ignore_ascii_case(APPLICATION) => subtype,
            _ => typ,
        };
        subtype.eq_ignore_ascii_case(self.typ())
    }
    // ANCHOR_END: is_typ

    /// The `aud` claim.
    pub fn audience(self) -> &'static str {
        match self {
            TokenKind::Access => "cafe-api",
            TokenKind::Refresh => "cafe-refresh",
        }
    }
}

// ANCHOR: claims
/// What an access token says. Times are seconds since 1970 (NumericDate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Issuer: always [`ISSUER`].
    pub iss: String,
    /// Subject: the user name.
    pub sub: String,
    /// Audience: `cafe-api`.
    pub aud: String,
    /// Issued at.
    #[serde(deserialize_with = "jwt::tokens::numeric_date")]
    pub iat: u64,
    /// Not valid before.
    #[serde(deserialize_with = "jwt::tokens::numeric_date")]
    pub nbf: u64,
    /// Expires at.
    #[serde(deserialize_with = "jwt::tokens::numeric_date")]
    pub exp: u64,
    /// Unique token id: what logout puts on the denylist.
    pub jti: String,
    /// The role when the token was issued. It does not change if the user's
    /// role does: that is the "stale role" problem.
    pub role: String,
    /// The login (refresh family) this token belongs to.
    pub sid: String,
    /// The user's token version when issued (see `--check-token-version`).
    pub ver: u64,
}

/// What a refresh token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshClaims {
    /// Issuer: always [`ISSUER`].
    pub iss: String,
    /// Subject: the user name.
    pub sub: String,
    /// Audience: `cafe-refresh`.
    pub aud: String,
    /// Issued at.
    #[serde(deserialize_with = "jwt::tokens::numeric_date")]
    pub iat: u64,
    /// Not valid before.
    #[serde(deserialize_with = "jwt::tokens::numeric_date")]
    pub nbf: u64,
    /// Expires at: the end of the login, however often it is refreshed.
    #[serde(deserialize_with = "jwt::tokens::numeric_date")]
    pub exp: u64,
    /// Unique token id: the server remembers the current one per family.
    pub jti: String,
    /// The refresh family: one per login.
    pub sid: String,
}
// ANCHOR_END: claims

// ANCHOR: numeric_date
/// Reads a time claim (`iat`, `nbf`, `exp`): a NumericDate, seconds since
/// 1970 (RFC 7519 §2), written as a JSON integer from 0 to `u64::MAX`.
/// Anything else is an error, never "absent": jsonwebtoken once read
/// `"exp": "1000000000"` as no `exp` at all, so the token never expired
/// (GHSA-h395-gr6q-cpjc). RFC 7519 allows fractions too; the café writes
/// whole seconds, and refuses a fraction rather than choose how to round it.
///
/// The one parser of time claims: the claim structs read theirs through it
/// (`deserialize_with`), and [`time_claim`] reads one from claims nobody
/// has checked yet, for `cafe token verify`.
pub fn numeric_date<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    struct WholeSeconds;
    impl Visitor<'_> for WholeSeconds {
        type Value = u64;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("whole seconds since 1970 (an integer, 0 or more)")
        }
        // Only this one: serde refuses every other type and names it.
        fn visit_u64<E: de::Error>(self, seconds: u64) -> Result<u64, E> {
            Ok(seconds)
        }
    }
    deserializer.deserialize_u64(WholeSeconds)
}

/// The time claim `claim` of decoded claims, read with [`numeric_date`]:
/// `Ok(None)` only when it is absent. A value of another type is
/// [`TokenError::BadClaims`], naming the claim and what it held.
pub fn time_claim(claims: &Value, claim: &str) -> Result<Option<u64>, TokenError> {
    let Some(value) = claims.get(claim) else {
        return Ok(None);
    };
    numeric_date(value)
        .map(Some)
        .map_err(|error| TokenError::BadClaims(format!("{claim}: {error}")))
}
// ANCHOR_END: numeric_date

/// The time claims every token has, for the checks made against our clock.
pub trait TimeClaims {
    /// `nbf`.
    fn not_before(&self) -> u64;
    /// `exp`.
    fn expires(&self) -> u64;
}

impl TimeClaims for AccessClaims {
    fn not_before(&self) -> u64 {
        self.nbf
    }
    fn expires(&self) -> u64 {
        self.exp
    }
}

impl TimeClaims for RefreshClaims {
    fn not_before(&self) -> u64 {
        self.nbf
    }
    fn expires(&self) -> u64 {
        self.exp
    }
}

/// The claims a check compares once they are parsed: `iss` and `aud`.
///
/// Only for claim structs whose `iss`, `sub`, `aud`, `exp` and `nbf` are
/// required members (not `Option`, no `default`), as both of the café's
/// are: for them a parse that succeeds has every claim the café requires,
/// so [`verify_hs256`] has only these two values left to compare, and
/// parses the claims once.
pub trait RegisteredClaims {
    /// `iss`.
    fn issuer(&self) -> &str;
    /// `aud`.
    fn audience(&self) -> &str;
}

impl RegisteredClaims for AccessClaims {
    fn issuer(&self) -> &str {
        &self.iss
    }
    fn audience(&self) -> &str {
        &self.aud
    }
}

impl RegisteredClaims for RefreshClaims {
    fn issuer(&self) -> &str {
        &self.iss
    }
    fn audience(&self) -> &str {
        &self.aud
    }
}

/// Why a token was refused. The API answers all of them with the same 401;
/// the variants are for tests, logs and `cafe token verify`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// Longer than [`MAX_TOKEN_BYTES`].
    TooLarge,
    /// Not three base64url segments of JSON, or an `alg` we do not know
    /// (including `none`, in any letter case), or a header member twice.
    Malformed,
    /// A header parameter the café never issues and will not act on (see
    /// [`check_header`]).
    ForbiddenHeader(&'static str),
    /// The `typ` header is not the one this kind of token carries.
    WrongType,
    /// No `kid`, or one the server does not hold.
    UnknownKey,
    /// The `alg` header is not the algorithm of the key the `kid` names.
    WrongAlgorithm,
    /// The signature does not match.
    BadSignature,
    /// A required claim is missing, or `iss`/`aud` is wrong.
    BadClaims(String),
    /// Past `exp` (plus the leeway).
    Expired,
    /// Before `nbf` (minus the leeway).
    NotYetValid,
    /// Signing failed (a key problem on our side).
    Signing(String),
    /// The operating system gave no random bytes for a token id.
    Random(String),
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenError::TooLarge => write!(f, "longer than {MAX_TOKEN_BYTES} bytes"),
            TokenError::Malformed => f.write_str("not a well-formed JWT with a known algorithm"),
            TokenError::ForbiddenHeader(name) => write!(f, "header parameter {name} not accepted"),
            TokenError::WrongType => f.write_str("wrong token type (typ header)"),
            TokenError::UnknownKey => f.write_str("no key with that kid"),
            TokenError::WrongAlgorithm => f.write_str("algorithm not allowed for that key"),
            TokenError::BadSignature => f.write_str("signature does not match"),
            TokenError::BadClaims(why) => write!(f, "claims rejected: {why}"),
            TokenError::Expired => f.write_str("expired"),
            TokenError::NotYetValid => f.write_str("not valid yet (nbf)"),
            TokenError::Signing(why) => write!(f, "could not sign: {why}"),
            TokenError::Random(why) => write!(f, "no random bytes: {why}"),
        }
    }
}

impl std::error::Error for TokenError {}

/// 128 random bits, base64url: token ids and family ids. The OS generator
/// can fail (very early in boot, in a sandbox): that is an error for the
/// request, never a panic.
pub fn random_id() -> Result<String, TokenError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| TokenError::Random(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

// ANCHOR: sign
/// Signs `claims` as a token of `kind` with the ring's current key.
pub fn sign<C: Serialize>(
    keys: &KeyRing,
    kind: TokenKind,
    claims: &C,
) -> Result<String, TokenError> {
    let key = keys.signing_key();
    let mut header = Header::new(key.algorithm().jwt_algorithm());
    header.typ = Some(kind.typ().to_owned());
    header.kid = Some(key.kid().to_owned());
    jsonwebtoken::encode(&header, claims, key.encoding())
        .map_err(|e| TokenError::Signing(e.to_string()))
}
// ANCHOR_END: sign

// ANCHOR: verify
/// Checks a token of `kind` at time `now` and returns its claims.
pub fn verify<C: DeserializeOwned + RegisteredClaims + TimeClaims>(
    keys: &KeyRing,
    kind: TokenKind,
    token: &str,
    now: u64,
) -> Result<C, TokenError> {
    let claims: C = verify_ignoring_time(keys, kind, token)?;
    check_time(&claims, now)?;
    Ok(claims)
}

/// Everything but `exp` and `nbf`: used on its own only to log out with a
/// token that has just expired, whose login must still end.
pub fn verify_ignoring_time<C: DeserializeOwned + RegisteredClaims>(
    keys: &KeyRing,
    kind: TokenKind,
    token: &str,
) -> Result<C, TokenError> {
    // The café's own HS256 tokens take the lean check, which parses each
    // part once; every other token, the general path. Same rules, same
    // verdicts (the `differential` tests).
    match verify_hs256(keys, kind, token) {
        Some(verdict) => verdict,
        None => verify_with_jsonwebtoken(keys, kind, token),
    }
}

/// Every rule but the clock, with jsonwebtoken: the general path, for any
/// algorithm and any header.
pub fn verify_with_jsonwebtoken<C: DeserializeOwned>(
    keys: &KeyRing,
    kind: TokenKind,
    token: &str,
) -> Result<C, TokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::TooLarge);
    }
    // Parsing `alg` into jsonwebtoken's enum refuses "none" and anything unknown.
    let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
    check_header(&header)?;
    if !header.typ.as_deref().is_some_and(|typ| kind.is_typ(typ)) {
        return Err(TokenError::WrongType);
    }
    // The kid picks among keys we hold, and nothing else does.
    let key = header
        .kid
        .as_deref()
        .and_then(|kid| keys.verification_key(kid))
        .ok_or(TokenError::UnknownKey)?;
    if header.alg != key.algorithm().jwt_algorithm() {
        return Err(TokenError::WrongAlgorithm);
    }
    let validation = validation(key.algorithm(), kind);

    let claims: C = jsonwebtoken::decode(token, key.decoding(), validation)
        .map_err(|error| match error.kind() {
            ErrorKind::InvalidSignature => TokenError::BadSignature,
            ErrorKind::InvalidAlgorithm => TokenError::WrongAlgorithm,
            ErrorKind::MissingRequiredClaim(claim) => TokenError::BadClaims(format!("no {claim}")),
            ErrorKind::InvalidIssuer => TokenError::BadClaims(WRONG_ISS.to_owned()),
            ErrorKind::InvalidAudience => TokenError::BadClaims(WRONG_AUD.to_owned()),
            ErrorKind::Json(_) => TokenError::BadClaims(MISTYPED_CLAIMS.to_owned()),
            _ => TokenError::Malformed,
        })?
        .claims;
    Ok(claims)
}

/// Why claims were refused, in [`TokenError::BadClaims`]: the same words
/// from either path.
const MISTYPED_CLAIMS: &str = "missing or mistyped claims";
const WRONG_ISS: &str = "wrong iss";
const WRONG_AUD: &str = "wrong aud";

// ANCHOR: validation
/// What jsonwebtoken checks for a token of `kind` signed with `algorithm`.
/// Built once per pair and kept: a `Validation` is a handful of small
/// allocations, and rebuilding it on every request cost more than the
/// HS256 signature check itself.
pub fn validation(algorithm: SigningAlgorithm, kind: TokenKind) -> &'static Validation {
    static RULES: LazyLock<[[Validation; 2]; 3]> = LazyLock::new(|| {
        SigningAlgorithm::ALL.map(|algorithm| TokenKind::ALL.map(|kind| rules(algorithm, kind)))
    });
    // `ALL` lists each enum in declaration order, so a variant's number is
    // its place in it.
    &RULES[algorithm as usize][kind as usize]
}

fn rules(algorithm: SigningAlgorithm, kind: TokenKind) -> Validation {
    let algorithm = algorithm.jwt_algorithm();
    let mut validation = Validation::new(algorithm);
    validation.algorithms = vec![algorithm]; // the allowlist: this key's algorithm only
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[kind.audience()]);
    validation.validate_aud = true;
    // jsonwebtoken compares exp and nbf with the system clock; we compare
    // them with the app's clock (see `check_time`), so tests can move time.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.leeway = 0;
    validation
}
// ANCHOR_END: validation

// ANCHOR: check_header
/// The JOSE header parameters of RFC 7515 §4.1, one decision each:
///
/// - `alg`, `kid`, `typ`: used (checked in [`verify_ignoring_time`]).
/// - `jku`, `jwk`, `x5u`, `x5c`: refused. Each names a key or where to fetch
///   one; trusting it lets the sender choose the key that verifies their
///   own forgery (RFC 8725 §3.10, ASVS 5.0 requirement 9.1.3). The café's
///   keys come from its key ring only, so a token carrying one is not ours.
/// - `x5t`, `x5t#S256`: refused; certificate thumbprints the café never
///   issues, and acting on them would mean fetching certificates.
/// - `cty`: refused. It marks a nested JWT (RFC 7519 §5.2), which the café
///   never issues and will not unwrap.
/// - `crit`: refused. RFC 7515 §4.1.11 says a recipient that does not
///   understand every extension listed there must reject the token, and
///   the café understands none.
/// - `enc`, `zip`: refused. They belong to encrypted JWTs (RFC 7516), and
///   compression before signing leaks content (RFC 8725 §3.6).
/// - Anything else is ignored, as RFC 7515 §4 requires of parameters a
///   recipient does not understand (unless `crit` names them, refused above).
pub fn check_header(header: &jsonwebtoken::Header) -> Result<(), TokenError> {
    let present = [
        ("jku", header.jku.is_some()),
        ("jwk", header.jwk.is_some()),
        ("x5u", header.x5u.is_some()),
        ("x5c", header.x5c.is_some()),
        ("x5t", header.x5t.is_some()),
        ("x5t#S256", header.x5t_s256.is_some()),
        ("cty", header.cty.is_some()),
        ("crit", header.crit.is_some()),
        ("enc", header.enc.is_some()),
        ("zip", header.zip.is_some()),
    ];
    match present.into_iter().find(|(_, is_present)| *is_present) {
        Some((name, _)) => Err(TokenError::ForbiddenHeader(name)),
        None => Ok(()),
    }
}
// ANCHOR_END: check_header

/// `exp` and `nbf` against the app's clock, with the small leeway.
pub fn check_time(claims: &impl TimeClaims, now: u64) -> Result<(), TokenError> {
    if now >= claims.expires().saturating_add(LEEWAY_SECONDS) {
        return Err(TokenError::Expired);
    }
    if claims.not_before() > now.saturating_add(LEEWAY_SECONDS) {
        return Err(TokenError::NotYetValid);
    }
    Ok(())
}
// ANCHOR_END: verify

// ANCHOR: verify_hs256
/// The header the café issues, exactly: `alg`, `typ` and `kid`, each once,
/// each a JSON string without escapes, and no other member. Borrowed from
/// the decoded bytes, so reading it allocates nothing.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IssuedHeader<'a> {
    alg: &'a str,
    typ: &'a str,
    kid: &'a str,
}

/// The longest a decoded segment of a token within [`MAX_TOKEN_BYTES`] can
/// be: base64url turns 4 characters into 3 bytes.
const MAX_SEGMENT_BYTES: usize = MAX_TOKEN_BYTES / 4 * 3;

/// The café's own HS256 tokens, checked close to the HMAC: the header
/// parsed once, the key prepared once, the signature checked before the
/// claims are read, the claims parsed once. The same rules as
/// [`verify_with_jsonwebtoken`], and the same verdicts
/// (`differential::` tests).
///
/// `None` when the token is not in the shape the café issues (three
/// segments; a header of `alg: HS256`, `typ` and `kid` and nothing else):
/// the general path decides those, as it always has.
pub fn verify_hs256<C: DeserializeOwned + RegisteredClaims>(
    keys: &KeyRing,
    kind: TokenKind,
    token: &str,
) -> Option<Result<C, TokenError>> {
    // The cap comes before any decoding.
    if token.len() > MAX_TOKEN_BYTES {
        return Some(Err(TokenError::TooLarge));
    }
    // Three segments, header.payload.signature (RFC 7515 §7.1).
    let (signing_input, signature) = token.rsplit_once('.')?;
    let (header, payload) = signing_input.split_once('.')?;
    if payload.contains('.') {
        return None;
    }
    // One buffer for each segment in turn. The engine is the strict one
    // jsonwebtoken uses: no `=` padding, no stray bits in the last
    // character (RFC 7515 §2), nothing outside the base64url alphabet.
    let mut buffer = [0u8; MAX_SEGMENT_BYTES];
    let length = URL_SAFE_NO_PAD.decode_slice(header, &mut buffer).ok()?;
    // Any other member, a duplicate, an escape, `null`: the general path's
    // `check_header` decides (it refuses what names a key, RFC 8725 §3.10,
    // and ignores what RFC 7515 §4 says to ignore).
    // An object only: serde's derived structs also read a JSON array, one
    // element per member in order, which RFC 7515 §5.2 does not allow.
    if !is_json_object(&buffer[..length]) {
        return None;
    }
    let header: IssuedHeader = serde_json::from_slice(&buffer[..length]).ok()?;
    // Any other `alg`, `none` among them: the general path refuses it, by
    // name (Malformed for a name jsonwebtoken does not know).
    if header.alg != SigningAlgorithm::Hs256.as_str() {
        return None;
    }
    // Explicit typing: an access token is never taken for a refresh token,
    // nor the other way round (RFC 8725 §3.11, RFC 9068 §4).
    if !kind.is_typ(header.typ) {
        return Some(Err(TokenError::WrongType));
    }
    // The kid picks among keys we hold, and nothing else does; the key's
    // algorithm is the only one allowed (RFC 8725 §3.1): `HS256` naming an
    // ES256 key is algorithm confusion.
    let Some(key) = keys.verification_key(header.kid) else {
        return Some(Err(TokenError::UnknownKey));
    };
    let Some(prepared) = key.hs256_mac() else {
        return Some(Err(TokenError::WrongAlgorithm));
    };
    Some(check_hs256(
        prepared,
        kind,
        signing_input,
        signature,
        payload,
        &mut buffer,
    ))
}

/// The signature over `header.payload` as sent, then the claims.
fn check_hs256<C: DeserializeOwned + RegisteredClaims>(
    prepared: &Hmac<Sha256>,
    kind: TokenKind,
    signing_input: &str,
    signature: &str,
    payload: &str,
    buffer: &mut [u8; MAX_SEGMENT_BYTES],
) -> Result<C, TokenError> {
    let length = URL_SAFE_NO_PAD
        .decode_slice(signature, buffer)
        .map_err(|_| TokenError::Malformed)?;
    let mut mac = prepared.clone();
    mac.update(signing_input.as_bytes());
    // `verify_slice` compares in constant time: how many leading bytes of
    // a guess were right never shows in the time taken.
    mac.verify_slice(&buffer[..length])
        .map_err(|_| TokenError::BadSignature)?;
    // Only a token we signed gets its claims read: no JSON an attacker
    // wrote is parsed, and no claim is looked at before it can be trusted.
    let length = URL_SAFE_NO_PAD
        .decode_slice(payload, buffer)
        .map_err(|_| TokenError::Malformed)?;
    // A JSON object (RFC 7519 §7.2 step 10), never an array read member by
    // member in order, as serde's derived structs would.
    if !is_json_object(&buffer[..length]) {
        return Err(TokenError::BadClaims(MISTYPED_CLAIMS.to_owned()));
    }
    let claims: C = serde_json::from_slice(&buffer[..length])
        .map_err(|_| TokenError::BadClaims(MISTYPED_CLAIMS.to_owned()))?;
    // Whose token, and for whom (RFC 8725 §3.8 and §3.9): `iss`, `aud`.
    if claims.issuer() != ISSUER {
        return Err(TokenError::BadClaims(WRONG_ISS.to_owned()));
    }
    if claims.audience() != kind.audience() {
        return Err(TokenError::BadClaims(WRONG_AUD.to_owned()));
    }
    Ok(claims)
}
// ANCHOR_END: verify_hs256

/// Whether JSON text is an object: its first byte after JSON's whitespace
/// (RFC 8259 §2) is `{`.
fn is_json_object(json: &[u8]) -> bool {
    json.iter()
        .find(|byte| !matches!(byte, b' ' | b'\t' | b'\n' | b'\r'))
        == Some(&b'{')
}

#[cfg(test)]
mod tests;
