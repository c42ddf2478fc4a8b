//! The whole JWT mechanism in one place: issuing a pair of tokens at login,
//! checking an access token, refreshing, and the three kinds of revocation.

use jwt::keys::{KeyRing, SigningKey};
use jwt::revocation::{Denylist, RefreshFamilies, RotationRefusal, TokenVersions};
use jwt::tokens::{
    AccessClaims, ISSUER, RefreshClaims, TokenError, TokenKind, random_id, sign, verify,
    verify_ignoring_time,
};
use serde_json::Value;
use std::sync::RwLock;

/// How long tokens live, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    /// Access tokens: default 15 minutes.
    pub access: u64,
    /// A login's refresh tokens: default 7 days from login, not extended by use.
    pub refresh: u64,
}

impl Default for Lifetimes {
    fn default() -> Lifetimes {
        Lifetimes {
            access: 15 * 60,
            refresh: 7 * 24 * 60 * 60,
        }
    }
}

/// What login and refresh hand the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPair {
    /// Sent as `Authorization: Bearer` on every request.
    pub access_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Sent only to `POST /refresh`.
    pub refresh_token: String,
}

/// What the user directory says about someone asking for a refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// May refresh; the new access token carries this role.
    Active {
        /// The role now.
        role: String,
    },
    /// Banned: no new tokens.
    Banned,
    /// The account no longer exists.
    Gone,
}

/// Why an access token was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessRefusal {
    /// It failed verification.
    Invalid(TokenError),
    /// It was logged out (its `jti` is on the denylist).
    LoggedOut,
    /// It predates the user's current token version.
    Outdated,
}

/// Why a refresh was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshRefusal {
    /// The refresh token failed verification.
    Invalid(TokenError),
    /// Unknown, revoked, or reused (and now revoked).
    Rotation(RotationRefusal),
    /// The user is banned; the login is ended.
    Banned,
    /// The user no longer exists.
    Gone,
}

/// Issues and checks the café's tokens.
#[derive(Debug)]
pub struct TokenAuthority {
    keys: RwLock<KeyRing>,
    lifetimes: Lifetimes,
    check_token_version: bool,
    families: RefreshFamilies,
    denylist: Denylist,
    versions: TokenVersions,
}

impl TokenAuthority {
    /// An authority signing with `keys`. With `check_token_version`, every
    /// request also compares the token's version with the user's current one.
    pub fn new(keys: KeyRing, lifetimes: Lifetimes, check_token_version: bool) -> TokenAuthority {
        TokenAuthority {
            keys: RwLock::new(keys),
            lifetimes,
            check_token_version,
            families: RefreshFamilies::default(),
            denylist: Denylist::default(),
            versions: TokenVersions::default(),
        }
    }

    fn keys(&self) -> std::sync::RwLockReadGuard<'_, KeyRing> {
        self.keys.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The lifetimes in force.
    pub fn lifetimes(&self) -> Lifetimes {
        self.lifetimes
    }

    /// The public keys, for `/.well-known/jwks.json`.
    pub fn jwks(&self) -> Value {
        self.keys().jwks()
    }

    /// Starts signing with `next`; see [`KeyRing::rotate`].
    pub fn rotate_keys(&self, next: SigningKey) {
        self.keys
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .rotate(next);
    }

    /// How many logged-out access tokens the denylist holds.
    pub fn denylist_len(&self) -> usize {
        self.denylist.len()
    }

    fn pair(
        &self,
        user: &str,
        role: &str,
        sid: &str,
        refresh_jti: &str,
        refresh_exp: u64,
        now: u64,
    ) -> Result<TokenPair, TokenError> {
        let access = AccessClaims {
            iss: ISSUER.to_owned(),
            sub: user.to_owned(),
            aud: TokenKind::Access.audience().to_owned(),
            iat: now,
            nbf: now,
            exp: now + self.lifetimes.access,
            jti: random_id(),
            role: role.to_owned(),
            sid: sid.to_owned(),
            ver: self.versions.current(user),
        };
        let refresh = RefreshClaims {
            iss: ISSUER.to_owned(),
            sub: user.to_owned(),
            aud: TokenKind::Refresh.audience().to_owned(),
            iat: now,
            nbf: now,
            exp: refresh_exp,
            jti: refresh_jti.to_owned(),
            sid: sid.to_owned(),
        };
        let keys = self.keys();
        Ok(TokenPair {
            access_token: sign(&keys, TokenKind::Access, &access)?,
            expires_in: self.lifetimes.access,
            refresh_token: sign(&keys, TokenKind::Refresh, &refresh)?,
        })
    }

    // ANCHOR: log_in
    /// A password was right: a new login (refresh family) and its first pair.
    pub fn log_in(&self, user: &str, role: &str, now: u64) -> Result<TokenPair, TokenError> {
        let (sid, refresh_jti) = (random_id(), random_id());
        let ends = now + self.lifetimes.refresh;
        self.families.start(&sid, user, &refresh_jti, ends, now);
        self.pair(user, role, &sid, &refresh_jti, ends, now)
    }
    // ANCHOR_END: log_in

    // ANCHOR: authenticate
    /// Checks an access token: signature and claims, then the denylist, then
    /// (if enabled) the token version.
    pub fn authenticate(&self, token: &str, now: u64) -> Result<AccessClaims, AccessRefusal> {
        let claims: AccessClaims =
            verify(&self.keys(), TokenKind::Access, token, now).map_err(AccessRefusal::Invalid)?;
        if self.denylist.contains(&claims.jti) {
            return Err(AccessRefusal::LoggedOut);
        }
        if self.check_token_version && claims.ver != self.versions.current(&claims.sub) {
            return Err(AccessRefusal::Outdated);
        }
        Ok(claims)
    }
    // ANCHOR_END: authenticate

    // ANCHOR: refresh
    /// Swaps a refresh token for a new pair, reading the user's standing
    /// *now*: this is where a role change or a ban reaches a JWT login.
    pub fn refresh(
        &self,
        token: &str,
        standing: impl FnOnce(&str) -> Standing,
        now: u64,
    ) -> Result<TokenPair, RefreshRefusal> {
        let claims: RefreshClaims = verify(&self.keys(), TokenKind::Refresh, token, now)
            .map_err(RefreshRefusal::Invalid)?;
        let next_jti = random_id();
        let user = self
            .families
            .rotate(&claims.sid, &claims.jti, &next_jti)
            .map_err(RefreshRefusal::Rotation)?;
        let role = match standing(&user) {
            Standing::Active { role } => role,
            Standing::Banned => {
                self.families.revoke(&claims.sid);
                return Err(RefreshRefusal::Banned);
            }
            Standing::Gone => {
                self.families.revoke(&claims.sid);
                return Err(RefreshRefusal::Gone);
            }
        };
        self.pair(&user, &role, &claims.sid, &next_jti, claims.exp, now)
            .map_err(RefreshRefusal::Invalid)
    }
    // ANCHOR_END: refresh

    // ANCHOR: log_out
    /// Logout: the access token is refused from now until it would have
    /// expired, and its login can no longer be refreshed.
    pub fn log_out(&self, claims: &AccessClaims, now: u64) {
        if claims.exp > now {
            self.denylist.deny(&claims.jti, claims.exp, now);
        }
        self.families.revoke(&claims.sid);
    }

    /// Logout with the token as presented. A genuine token that has already
    /// expired still ends its login: a user who logs out after lunch must not
    /// leave a refresh token alive for a week. Returns whether it was ours.
    pub fn log_out_token(&self, token: &str, now: u64) -> bool {
        match verify_ignoring_time::<AccessClaims>(&self.keys(), TokenKind::Access, token) {
            Ok(claims) => {
                self.log_out(&claims, now);
                true
            }
            Err(_) => false,
        }
    }
    // ANCHOR_END: log_out

    /// Ends every login of `user`: no more refreshes, and (when versions are
    /// checked) no more requests with the access tokens already out there.
    pub fn log_out_everywhere(&self, user: &str) -> usize {
        self.versions.bump(user);
        self.families.revoke_all_for(user)
    }

    /// The user's role or standing changed: tokens issued before now carry
    /// stale facts. They stop working at once when versions are checked, and
    /// at the next refresh otherwise.
    pub fn user_changed(&self, user: &str) {
        self.versions.bump(user);
    }
}
