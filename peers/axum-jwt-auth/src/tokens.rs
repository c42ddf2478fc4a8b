//! Access tokens: the claims, how they are signed (`jsonwebtoken::encode`:
//! axum-jwt-auth issues nothing), and how axum-jwt-auth checks them in each
//! configuration.

use axum_jwt_auth::{Decoder, Error as DecoderError, JwtDecoder, LocalDecoder};
use jsonwebtoken10::errors::ErrorKind;
use jsonwebtoken10::{Algorithm, DecodingKey, EncodingKey, Header, TokenData, Validation};
use peer_axum_jwt_auth::accounts::{Accounts, Role};
use peer_axum_jwt_auth::refresh::RefreshFamilies;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds an access token lives: 15 minutes, as the café's.
pub const ACCESS_TOKEN_SECONDS: u64 = 15 * 60;

/// The `aud` every token carries and every check insists on
/// (`LocalDecoder::new` refuses a `Validation` without one).
pub const AUDIENCE: &str = "cafe-api";

/// Hardened only: the `iss` tokens carry and the check insists on.
pub const ISSUER: &str = "peer-axum-jwt-auth";

/// Hardened only: the `typ` header of an access token (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// Hardened only: clock skew allowed on `exp` and `nbf`, in seconds (the
/// café's value). jsonwebtoken's default is 60 (`Validation::new`).
pub const HARDENED_LEEWAY_SECONDS: u64 = 5;

/// The claims of an access token. The first five are the docs' example
/// (`examples/local/local.rs`: `iat`, `aud`, `exp`) plus who and which role;
/// the rest only the hardened configuration writes and reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user's name.
    pub sub: String,
    /// The user's role when the token was issued.
    pub role: String,
    /// Expiry, Unix seconds.
    pub exp: u64,
    /// Issued at, Unix seconds.
    pub iat: u64,
    /// Audience: [`AUDIENCE`].
    pub aud: String,
    /// Hardened: issuer, [`ISSUER`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Hardened: not before, Unix seconds (the issue time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// Hardened: this token's ID (RFC 9068 §2.2 requires one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// Hardened: the login (refresh family) this token belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Hardened: the user's token version at issue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ver: Option<u64>,
}

/// What the hardened claims add for one login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HardenedFields {
    /// The login's refresh family.
    pub sid: String,
    /// The user's token version now.
    pub ver: u64,
}

/// Signs access tokens with the HS256 secret.
#[derive(Clone)]
pub struct TokenIssuer {
    key: EncodingKey,
    /// The same secret, to read back which login a token names at logout.
    verifying: DecodingKey,
}

impl TokenIssuer {
    /// An issuer signing with `secret`.
    pub fn new(secret: &[u8]) -> TokenIssuer {
        TokenIssuer {
            key: EncodingKey::from_secret(secret),
            verifying: DecodingKey::from_secret(secret),
        }
    }

    /// Hardened logout: the login (`sid`) a genuine access token names,
    /// expired or not. Everything [`hardened_validation`] and the header
    /// check require but `exp`: an expired access token still proves which
    /// login its holder had, and may end it (the café's logout does the
    /// same). It opens nothing: the only use is ending that login.
    pub fn login_named_by(&self, token: &str) -> Option<String> {
        CheckedDecoder::check_header(token).ok()?;
        let mut validation = hardened_validation();
        validation.validate_exp = false;
        jsonwebtoken10::decode::<AccessClaims>(token, &self.verifying, &validation)
            .ok()?
            .claims
            .sid
    }

    /// A signed access token for `name` with `role`, issued at `now`; with
    /// `hardened`, the typed header and the claims the hardened check
    /// requires. `None` if signing fails (it does not with an HMAC key) or
    /// the OS gives no randomness for the token's ID.
    pub fn access_token(
        &self,
        name: &str,
        role: Role,
        now: u64,
        hardened: Option<HardenedFields>,
    ) -> Option<String> {
        let mut header = Header::new(Algorithm::HS256);
        let mut claims = AccessClaims {
            sub: name.to_owned(),
            role: role.as_str().to_owned(),
            exp: now + ACCESS_TOKEN_SECONDS,
            iat: now,
            aud: AUDIENCE.to_owned(),
            iss: None,
            nbf: None,
            jti: None,
            sid: None,
            ver: None,
        };
        if let Some(fields) = hardened {
            // Explicit typing, so an access token cannot pass for any other
            // JWT signed with the same key (RFC 8725 §3.11, RFC 9068 §2.1).
            header.typ = Some(ACCESS_TOKEN_TYPE.to_owned());
            claims.iss = Some(ISSUER.to_owned());
            claims.nbf = Some(now);
            claims.jti = Some(random_id()?);
            claims.sid = Some(fields.sid);
            claims.ver = Some(fields.ver);
        }
        jsonwebtoken10::encode(&header, &claims, &self.key).ok()
    }
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// 128 random bits, base64url: token IDs and login IDs. `None` if the OS
/// gives no randomness: the request then fails rather than issue a
/// guessable ID.
pub fn random_id() -> Option<String> {
    random_token(16)
}

/// `bytes` random bytes from the OS, base64url without padding.
pub fn random_token(bytes: usize) -> Option<String> {
    use base64::Engine;
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).ok()?;
    Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buffer))
}

// ANCHOR: default_validation
/// The check as the docs' example writes it: one algorithm and an audience,
/// everything else jsonwebtoken's defaults (`exp` required, leeway 60 s,
/// `nbf` not checked, `iss` and `typ` never looked at).
pub fn default_validation() -> Validation {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_audience(&[AUDIENCE]);
    validation
}
// ANCHOR_END: default_validation

// ANCHOR: hardened_validation
/// The same check with every knob jsonwebtoken has turned to what the book
/// recommends.
pub fn hardened_validation() -> Validation {
    // One algorithm, the one the server signs with (RFC 8725 §3.1).
    let mut validation = Validation::new(Algorithm::HS256);
    // A token for another audience or issuer is not for us
    // (RFC 8725 §3.8, §3.9; ASVS 5.0 9.2.3).
    validation.set_audience(&[AUDIENCE]);
    validation.set_issuer(&[ISSUER]);
    // Without this, a token that simply omits `aud` or `iss` skips those
    // checks: jsonwebtoken compares them only when present.
    validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
    // Off by default: a token "not valid before" next week would pass
    // (ASVS 5.0 9.2.1).
    validation.validate_nbf = true;
    // Clock skew between servers, not a minute of grace (default 60 s).
    validation.leeway = HARDENED_LEEWAY_SECONDS;
    validation
}
// ANCHOR_END: hardened_validation

/// The decoder as the docs build it: a `LocalDecoder` with the secret.
pub fn local_decoder(secret: &[u8], validation: Validation) -> Result<LocalDecoder, DecoderError> {
    LocalDecoder::builder()
        .keys(vec![DecodingKey::from_secret(secret)])
        .validation(validation)
        .build()
}

/// The default configuration's decoder.
pub fn default_decoder(secret: &[u8]) -> Result<Decoder<AccessClaims>, DecoderError> {
    Ok(Arc::new(local_decoder(secret, default_validation())?))
}

// ANCHOR: checked_decoder
/// Hardened: what the library leaves to the reader, added through the one
/// hook it offers, its public `JwtDecoder` trait. `LocalDecoder` checks the
/// signature and the claims jsonwebtoken knows; this wrapper then checks
/// the header and the server's own state.
pub struct CheckedDecoder {
    inner: LocalDecoder,
    accounts: Arc<Accounts>,
    logins: Arc<RefreshFamilies>,
}

impl CheckedDecoder {
    /// Wraps a `LocalDecoder` built with [`hardened_validation`].
    pub fn new(
        secret: &[u8],
        accounts: Arc<Accounts>,
        logins: Arc<RefreshFamilies>,
    ) -> Result<CheckedDecoder, DecoderError> {
        Ok(CheckedDecoder {
            inner: local_decoder(secret, hardened_validation())?,
            accounts,
            logins,
        })
    }

    /// The header checks jsonwebtoken never makes.
    fn check_header(token: &str) -> Result<(), DecoderError> {
        let header = jsonwebtoken10::decode_header(token)?;
        // Explicit typing: only an access token is accepted where an access
        // token is expected (RFC 8725 §3.11; RFC 9068 §4 names `at+jwt` and
        // `application/at+jwt`, media types compared without case,
        // RFC 7515 §4.1.9; ASVS 5.0 9.2.2). jsonwebtoken reads only `alg`.
        let typed = header.typ.as_deref().is_some_and(|typ| {
            let typ = typ.to_ascii_lowercase();
            typ == ACCESS_TOKEN_TYPE || typ == format!("application/{ACCESS_TOKEN_TYPE}")
        });
        // `crit` lists extensions the recipient must understand or refuse
        // the token (RFC 7515 §4.1.11); this server understands none.
        // jsonwebtoken parses `crit` and never enforces it.
        if !typed || header.crit.is_some() {
            return Err(refused());
        }
        Ok(())
    }

    /// The server-side state a self-contained token cannot carry.
    fn check_standing(&self, claims: &AccessClaims, now: u64) -> Result<(), DecoderError> {
        // `jti` is required of an access token (RFC 9068 §2.2); `sid` and
        // `ver` are this server's, so a token without them is not its own.
        let (Some(_jti), Some(sid), Some(ver)) = (&claims.jti, &claims.sid, claims.ver) else {
            return Err(refused());
        };
        // Logout, a reused refresh token, "log out everywhere" or lifting a
        // ban ends the login (its refresh family), and with it every access
        // token the login was given, not only the one presented
        // (ASVS 5.0 7.4.1).
        if !self.logins.is_live(sid, now) {
            return Err(refused());
        }
        // A role change or "log out everywhere" raises the user's version,
        // ending every token issued before (ASVS 5.0 7.4.2, 7.4.5). An
        // unknown user has no tokens.
        match self.accounts.standing(&claims.sub) {
            Some((_, current)) if current == ver => Ok(()),
            _ => Err(refused()),
        }
    }
}

/// A refusal axum-jwt-auth turns into its `InvalidToken` (401).
fn refused() -> DecoderError {
    DecoderError::Jwt(ErrorKind::InvalidToken.into())
}

impl JwtDecoder<AccessClaims> for CheckedDecoder {
    fn decode<'a>(
        &'a self,
        token: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<TokenData<AccessClaims>, DecoderError>> + Send + 'a>>
    {
        Box::pin(async move {
            CheckedDecoder::check_header(token)?;
            let data = JwtDecoder::<AccessClaims>::decode(&self.inner, token).await?;
            self.check_standing(&data.claims, unix_now())?;
            Ok(data)
        })
    }
}
// ANCHOR_END: checked_decoder
