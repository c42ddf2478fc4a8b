//! The whole JWT mechanism in one place: issuing a pair of tokens at login,
//! checking an access token, refreshing, and the three kinds of revocation.

use jsonwebtoken::jwk::JwkSet;
use jwt::keys::{KeyRing, SigningKey};
use jwt::revocation::{
    BothChecksStore, DenylistStore, Device, FamilyRecord, MemoryTokenStore, RefreshFamilyStore,
    Rotation, RotationRefusal, StoreError, TokenVersionStore,
};
use jwt::tokens::{
    AccessClaims, ISSUER, LEEWAY_SECONDS, RefreshClaims, TokenError, TokenKind, random_id, sign,
    verify, verify_ignoring_time,
};
use std::future::Future;
use std::sync::{Arc, RwLock};

/// How long tokens live, in seconds. A lifetime that would end past the
/// last NumericDate a `u64` holds ends there: times are added saturating,
/// never wrapping into a token that expired at birth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    /// Access tokens: default 15 minutes.
    pub access: u64,
    /// A login's refresh tokens: default 7 days from login, not extended by use.
    pub refresh: u64,
    /// A login not refreshed for this long ends (ASVS 5.0 requirement
    /// 7.3.1, an inactivity timeout): default 45 minutes, the café's 30-minute
    /// session idle timeout plus one access-token lifetime, because a token
    /// login's idle clock restarts at a refresh, and a client busy until its
    /// access token expires last refreshed up to one lifetime before its last
    /// request. So no login ends sooner than a session would, and an unused
    /// one ends at most one access lifetime later.
    pub refresh_idle: u64,
}

/// The café's session idle timeout, in seconds, which
/// [`Lifetimes::refresh_idle`] matches.
pub const SESSION_IDLE_SECONDS: u64 = 30 * 60;

impl Lifetimes {
    /// Access tokens living `access` seconds, refresh tokens 7 days, and the
    /// idle limit [`SESSION_IDLE_SECONDS`] past one access lifetime.
    pub fn with_access(access: u64) -> Lifetimes {
        Lifetimes {
            access,
            refresh: 7 * 24 * 60 * 60,
            refresh_idle: SESSION_IDLE_SECONDS.saturating_add(access),
        }
    }
}

impl Default for Lifetimes {
    fn default() -> Lifetimes {
        Lifetimes::with_access(15 * 60)
    }
}

// ANCHOR: checks
/// What an access-token check looks up besides the signature. Both are off
/// by default, as in most JWT deployments: the request is then authorised
/// from the token alone, with no lookup at all. Each one switched on costs
/// exactly one store lookup per request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RevocationChecks {
    /// Refuse the access tokens of a login that was ended: by a logout, by
    /// its user from another device, or with every login of its user (the
    /// login's `sid` is denylisted, so every access token it was given is
    /// refused, not only the one presented).
    pub denylist: bool,
    /// Refuse access tokens older than the user's current token version, so
    /// role changes, bans, "log out everywhere" and detected refresh-token
    /// theft apply at once.
    pub token_version: bool,
}
// ANCHOR_END: checks

/// Where the authority keeps its server-side state.
#[derive(Clone)]
pub struct TokenStores {
    /// Refresh families.
    pub families: Arc<dyn RefreshFamilyStore>,
    /// Ended logins, whose access tokens are refused.
    pub denylist: Arc<dyn DenylistStore>,
    /// Per-user token versions.
    pub versions: Arc<dyn TokenVersionStore>,
    /// Both request-time checks in one step, where the store keeps a
    /// user's denylist entries beside their version (Redis); `None`: one
    /// lookup each. Set it only to the store `denylist` and `versions` are.
    pub both: Option<Arc<dyn BothChecksStore>>,
}

impl TokenStores {
    /// All three in one store, for example one [`MemoryTokenStore`] or one
    /// connection to a shared store.
    pub fn all_in<S>(store: Arc<S>) -> TokenStores
    where
        S: RefreshFamilyStore + DenylistStore + TokenVersionStore,
    {
        TokenStores {
            families: store.clone(),
            denylist: store.clone(),
            versions: store,
            both: None,
        }
    }

    /// All three in this process's memory.
    pub fn in_memory() -> TokenStores {
        TokenStores::all_in(Arc::new(MemoryTokenStore::new()))
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
    /// The login (refresh family) both belong to: their `sid`, and the id
    /// the user's list of logins shows.
    pub sid: String,
}

/// A successful refresh: whose login it is, and the new pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renewed {
    /// The user the refresh family belongs to.
    pub user: String,
    /// The new tokens.
    pub pair: TokenPair,
}

/// What the accounts say about someone asking for a refresh.
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
    /// Its login was ended (its `sid` is on the denylist).
    LoggedOut,
    /// It predates the user's current token version.
    Outdated,
    /// A store it had to ask did not answer.
    Unavailable(StoreError),
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
    /// The store did not answer.
    Unavailable(StoreError),
}

impl From<StoreError> for RefreshRefusal {
    fn from(error: StoreError) -> RefreshRefusal {
        RefreshRefusal::Unavailable(error)
    }
}

/// Why a login or logout could not be completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssueError {
    /// Signing or drawing random ids failed.
    Token(TokenError),
    /// The store did not answer.
    Unavailable(StoreError),
    /// The account is banned: no tokens.
    Banned,
    /// The account no longer exists.
    Gone,
}

impl From<TokenError> for IssueError {
    fn from(error: TokenError) -> IssueError {
        IssueError::Token(error)
    }
}

impl From<StoreError> for IssueError {
    fn from(error: StoreError) -> IssueError {
        IssueError::Unavailable(error)
    }
}

impl std::fmt::Display for IssueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IssueError::Token(error) => error.fmt(f),
            IssueError::Unavailable(error) => error.fmt(f),
            IssueError::Banned => f.write_str("the account is banned"),
            IssueError::Gone => f.write_str("the account no longer exists"),
        }
    }
}

impl std::error::Error for IssueError {}

/// Issues and checks the café's tokens.
pub struct TokenAuthority {
    keys: RwLock<KeyRing>,
    lifetimes: Lifetimes,
    checks: RevocationChecks,
    stores: TokenStores,
}

impl std::fmt::Debug for TokenAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenAuthority")
            .field("lifetimes", &self.lifetimes)
            .field("checks", &self.checks)
            .finish_non_exhaustive()
    }
}

impl TokenAuthority {
    /// An authority signing with `keys`, keeping its state in `stores`, and
    /// checking access tokens as `checks` says.
    pub fn new(
        keys: KeyRing,
        lifetimes: Lifetimes,
        checks: RevocationChecks,
        stores: TokenStores,
    ) -> TokenAuthority {
        TokenAuthority {
            keys: RwLock::new(keys),
            lifetimes,
            checks,
            stores,
        }
    }

    fn keys(&self) -> std::sync::RwLockReadGuard<'_, KeyRing> {
        self.keys.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The lifetimes in force.
    pub fn lifetimes(&self) -> Lifetimes {
        self.lifetimes
    }

    /// The checks in force.
    pub fn checks(&self) -> RevocationChecks {
        self.checks
    }

    /// The public keys, for `/.well-known/jwks.json`.
    pub fn jwks(&self) -> JwkSet {
        self.keys().jwks()
    }

    /// Starts signing with `next`; see [`KeyRing::rotate`].
    pub fn rotate_keys(&self, next: SigningKey) {
        self.keys
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .rotate(next);
    }

    #[allow(clippy::too_many_arguments)] // every one is a claim of the pair
    fn pair(
        &self,
        user: &str,
        role: &str,
        version: u64,
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
            exp: now.saturating_add(self.lifetimes.access),
            jti: random_id()?,
            role: role.to_owned(),
            sid: sid.to_owned(),
            ver: version,
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
            sid: sid.to_owned(),
        })
    }

    /// The user's token version, read only when versions are checked: a
    /// server that never checks them never needs to store them.
    async fn version_of(&self, user: &str) -> Result<u64, StoreError> {
        if self.checks.token_version {
            self.stores.versions.current(user).await
        } else {
            Ok(0)
        }
    }

    // ANCHOR: log_in
    /// A password was right: a new login (refresh family) and its first pair.
    ///
    /// `standing` is the account lookup, not yet run: the user's token
    /// version is read first, and only then is `standing` awaited. A role
    /// change writes the role before it bumps the version, so a token is
    /// never newer in version than in role: a demotion landing mid-login
    /// gives either the old role with the old version (refused as outdated
    /// when versions are checked) or the new role. `device` is kept for the
    /// user's list of logins.
    pub async fn log_in(
        &self,
        user: &str,
        device: &Device,
        now: u64,
        standing: impl Future<Output = Result<Standing, StoreError>>,
    ) -> Result<TokenPair, IssueError> {
        let version = self.version_of(user).await?;
        let role = match standing.await? {
            Standing::Active { role } => role,
            Standing::Banned => return Err(IssueError::Banned),
            Standing::Gone => return Err(IssueError::Gone),
        };
        let (sid, refresh_jti) = (random_id()?, random_id()?);
        let ends = now.saturating_add(self.lifetimes.refresh);
        let families = &self.stores.families;
        families
            .start(&sid, user, &refresh_jti, ends, now, device)
            .await?;
        Ok(self.pair(user, &role, version, &sid, &refresh_jti, ends, now)?)
    }
    // ANCHOR_END: log_in

    // ANCHOR: authenticate
    /// Checks an access token: signature and claims, then only the lookups
    /// [`RevocationChecks`] switches on.
    pub async fn authenticate(&self, token: &str, now: u64) -> Result<AccessClaims, AccessRefusal> {
        let claims: AccessClaims =
            verify(&self.keys(), TokenKind::Access, token, now).map_err(AccessRefusal::Invalid)?;
        if let (true, true, Some(both)) = (
            self.checks.denylist,
            self.checks.token_version,
            &self.stores.both,
        ) {
            // Both checks, one lookup: the two answers are of one moment.
            return match both.denied_and_version(&claims.sub, &claims.sid, now).await {
                Ok((true, _)) => Err(AccessRefusal::LoggedOut),
                Ok((false, current)) if current == claims.ver => Ok(claims),
                Ok(_) => Err(AccessRefusal::Outdated),
                Err(error) => Err(AccessRefusal::Unavailable(error)),
            };
        }
        if self.checks.denylist {
            let denylist = &self.stores.denylist;
            match denylist.is_denied(&claims.sub, &claims.sid, now).await {
                Ok(false) => {}
                Ok(true) => return Err(AccessRefusal::LoggedOut),
                Err(error) => return Err(AccessRefusal::Unavailable(error)),
            }
        }
        if self.checks.token_version {
            let versions = &self.stores.versions;
            match versions.current(&claims.sub).await {
                Ok(current) if current == claims.ver => {}
                Ok(_) => return Err(AccessRefusal::Outdated),
                Err(error) => return Err(AccessRefusal::Unavailable(error)),
            }
        }
        Ok(claims)
    }
    // ANCHOR_END: authenticate

    /// Checks a refresh token's signature, type, audience and times, and
    /// returns its claims: the caller then looks up the user's [`Standing`].
    pub fn check_refresh_token(&self, token: &str, now: u64) -> Result<RefreshClaims, TokenError> {
        verify(&self.keys(), TokenKind::Refresh, token, now)
    }

    // ANCHOR: refresh
    /// Swaps a checked refresh token for a new pair, given the user's
    /// standing *now*: this is where a role change or a ban reaches a JWT
    /// login. As at login, the version is read before `standing` (the
    /// account lookup, not yet run) is awaited, so the new token's role is
    /// at least as new as its version. Returns the user the family belongs
    /// to, so nobody has to read it back out of the new token.
    pub async fn refresh(
        &self,
        claims: &RefreshClaims,
        now: u64,
        standing: impl Future<Output = Result<Standing, StoreError>>,
    ) -> Result<Renewed, RefreshRefusal> {
        let families = &self.stores.families;
        let version = self.version_of(&claims.sub).await?;
        let role = match standing.await? {
            Standing::Active { role } => role,
            Standing::Banned => {
                families.revoke(&claims.sid).await?;
                self.deny_login(&claims.sub, &claims.sid, now).await?;
                return Err(RefreshRefusal::Banned);
            }
            Standing::Gone => {
                families.revoke(&claims.sid).await?;
                self.deny_login(&claims.sub, &claims.sid, now).await?;
                return Err(RefreshRefusal::Gone);
            }
        };
        let next_jti = random_id().map_err(RefreshRefusal::Invalid)?;
        let idle = self.lifetimes.refresh_idle;
        let rotation = families
            .rotate(&claims.sid, &claims.jti, &next_jti, now, idle)
            .await?;
        let user = match rotation {
            Rotation::Rotated { user } => user,
            Rotation::Refused(RotationRefusal::Reused) => {
                // Someone else holds a copy of this login's refresh token, and
                // may hold its access tokens too: with versions checked, all
                // of the user's end now; with the denylist, this login's;
                // with neither, they live out their lifetime.
                if self.checks.token_version {
                    self.stores.versions.bump(&claims.sub).await?;
                }
                self.deny_login(&claims.sub, &claims.sid, now).await?;
                return Err(RefreshRefusal::Rotation(RotationRefusal::Reused));
            }
            Rotation::Refused(why) => return Err(RefreshRefusal::Rotation(why)),
        };
        let pair = self
            .pair(
                &user,
                &role,
                version,
                &claims.sid,
                &next_jti,
                claims.exp,
                now,
            )
            .map_err(RefreshRefusal::Invalid)?;
        Ok(Renewed { user, pair })
    }
    // ANCHOR_END: refresh

    // ANCHOR: log_out
    /// Logout: the login can no longer be refreshed, and, if the denylist is
    /// checked, every access token it was given is refused ([`Self::deny_login`]).
    pub async fn log_out(&self, claims: &AccessClaims, now: u64) -> Result<(), StoreError> {
        self.stores.families.revoke(&claims.sid).await?;
        // The presented token's own end counts too: one issued by a server
        // that gave longer lifetimes than this one is refused to its end.
        self.deny_until(&claims.sub, &claims.sid, now, claims.exp)
            .await
    }

    /// When the denylist is checked, refuses every access token of login
    /// `sid`, not only one: its `sid` is denylisted from `now` until the
    /// newest token it can hold expires. Its family is revoked before this
    /// runs, so no token is issued to it after `now`, and each one issued
    /// expires by `now` plus the access lifetime; the verifier's leeway is
    /// added, since it takes a token that long past its `exp`.
    async fn deny_login(&self, user: &str, sid: &str, now: u64) -> Result<(), StoreError> {
        self.deny_until(user, sid, now, 0).await
    }

    /// [`Self::deny_login`], and at least until a token expiring at
    /// `known_exp` (plus the leeway) would be refused anyway.
    async fn deny_until(
        &self,
        user: &str,
        sid: &str,
        now: u64,
        known_exp: u64,
    ) -> Result<(), StoreError> {
        if !self.checks.denylist {
            return Ok(());
        }
        let newest_exp = now.saturating_add(self.lifetimes.access).max(known_exp);
        let refused_anyway_at = newest_exp.saturating_add(LEEWAY_SECONDS);
        self.stores
            .denylist
            .deny(user, sid, refused_anyway_at, now)
            .await
    }

    /// Logout with the token as presented. A genuine token that has already
    /// expired still ends its login: a user who logs out after lunch must not
    /// leave a refresh token alive for a week. But only one that expired
    /// less than the idle limit ago: its login has idled out since, or was
    /// refreshed by whoever holds it now, and an old token found in a log or
    /// a backup must not end that holder's login (nor write a denylist entry
    /// again each time the last one lapses). Returns whether it was taken.
    pub async fn log_out_token(&self, token: &str, now: u64) -> Result<bool, StoreError> {
        let checked = verify_ignoring_time::<AccessClaims>(&self.keys(), TokenKind::Access, token);
        match checked {
            Ok(claims) if now < claims.exp.saturating_add(self.lifetimes.refresh_idle) => {
                self.log_out(&claims, now).await.map(|()| true)
            }
            _ => Ok(false),
        }
    }

    /// Logout with a refresh token (in a body, or the hybrid's cookie): its
    /// login can no longer be refreshed, nor (denylist checked) its access
    /// tokens used. Like [`Self::log_out_token`], an expired but genuine one
    /// still counts. Returns whether it was ours.
    pub async fn log_out_refresh_token(&self, token: &str, now: u64) -> Result<bool, StoreError> {
        let checked =
            verify_ignoring_time::<RefreshClaims>(&self.keys(), TokenKind::Refresh, token);
        let Ok(claims) = checked else {
            return Ok(false);
        };
        self.stores.families.revoke(&claims.sid).await?;
        self.deny_login(&claims.sub, &claims.sid, now).await?;
        Ok(true)
    }
    // ANCHOR_END: log_out

    /// Ends every login of `user`: no more refreshes, and no more requests
    /// with the access tokens already out there when versions are checked
    /// (all at once) or the denylist is (every login the revocation
    /// reached). Returns how many were active.
    pub async fn log_out_everywhere(&self, user: &str, now: u64) -> Result<usize, StoreError> {
        self.user_changed(user).await?;
        // The logins found are denied before anything is revoked, so that a
        // failed denial changes nothing and a retry finds them all again;
        // then those the revocation reached that were not found (made
        // meanwhile) are denied too.
        let mut denied = Vec::new();
        if self.checks.denylist {
            for family in self.stores.families.list_for_user(user).await? {
                self.deny_login(user, &family.sid, now).await?;
                denied.push(family.sid);
            }
        }
        let revoked = self.stores.families.revoke_all_for(user).await?;
        for sid in revoked.sids.iter().filter(|sid| !denied.contains(sid)) {
            self.deny_login(user, sid, now).await?;
        }
        Ok(revoked.ended)
    }

    /// `user`'s live logins at `now`, oldest first: the refresh families
    /// that are neither revoked, nor past their end, nor idle past
    /// [`Lifetimes::refresh_idle`] (ASVS 5.0 requirement 7.5.2). A token
    /// login's "last used" is its last refresh: requests that only present
    /// an access token leave no trace on the server.
    pub async fn logins(&self, user: &str, now: u64) -> Result<Vec<FamilyRecord>, StoreError> {
        let idle = self.lifetimes.refresh_idle;
        let mut live: Vec<FamilyRecord> = self
            .stores
            .families
            .list_for_user(user)
            .await?
            .into_iter()
            .filter(|family| family.user == user && !family.revoked)
            .filter(|family| family.expires > now && family.last_used.saturating_add(idle) > now)
            .collect();
        live.sort_by(|a, b| (a.created, &a.sid).cmp(&(b.created, &b.sid)));
        Ok(live)
    }

    /// Ends `user`'s login `sid`: it can no longer be refreshed, and, when
    /// the denylist is checked, its access tokens are refused at once. The
    /// login as it was, if it was one of their live logins; another user's
    /// is `None` and is left alone. Without the denylist its access tokens
    /// work until they expire (the newest at [`FamilyRecord::last_used`]
    /// plus the access lifetime): the version names every login of the
    /// user, not one.
    pub async fn end_login(
        &self,
        user: &str,
        sid: &str,
        now: u64,
    ) -> Result<Option<FamilyRecord>, StoreError> {
        // Theirs and live, first: another user's sid is never denied.
        let theirs = self.logins(user, now).await?;
        let Some(listed) = theirs.into_iter().find(|family| family.sid == sid) else {
            return Ok(None);
        };
        // Denied before it is revoked: should the denial fail, nothing has
        // changed, and the user's retry finds the login again.
        self.deny_login(user, sid, now).await?;
        // Ended and read in one step: a refresh that came in meanwhile is in
        // the answer's renewal time, and none can come after.
        let ended = self.stores.families.end(user, sid).await?;
        Ok(Some(ended.unwrap_or(listed)))
    }

    /// The user's role or standing changed: tokens issued before now carry
    /// stale facts. They stop working at once when versions are checked, and
    /// at the next refresh otherwise.
    pub async fn user_changed(&self, user: &str) -> Result<(), StoreError> {
        if self.checks.token_version {
            self.stores.versions.bump(user).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
