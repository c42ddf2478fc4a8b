//! The seam between the app and its authentication mechanisms.
//!
//! The app never looks at a cookie or a token itself. It asks its
//! [`Mechanism`]: who sent this request, issue a credential for this user,
//! renew it, end it, end all of this user's credentials, this user changed —
//! and each mechanism answers its own way.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::WWW_AUTHENTICATE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use cafe::clock::Clock;
use cafe::error::ApiError;
use cafe::store::Stores;
use cafe::users::{PasswordChecker, Profile, Role};
use serde::{Deserialize, Serialize};
pub use sessions::Device;
use std::future::Future;
use std::sync::Arc;
use std::time::SystemTime;

/// How the role in force for a request was learned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleSource {
    /// Read from the account on this request (sessions; and the admin
    /// routes in every mode): as current as the account store.
    Account,
    /// The role a token was issued with, believed without a lookup: as old
    /// as the token.
    Claim,
}

/// Who sent a request, resolved by the mechanism: the account name and the
/// role in force, with how that role was learned, and which of the
/// account's logins the credential belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// The account name.
    pub name: String,
    /// The role in force for this request.
    pub role: Role,
    /// Where [`Authenticated::role`] came from.
    pub source: RoleSource,
    /// The login's public id, as `GET /me/logins` lists it.
    pub login: String,
}

/// One of a user's logins, as `GET /me/logins` lists it (ASVS 5.0
/// requirement 7.5.2): never the credential, nor its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Login {
    /// The login's public id: `DELETE /me/logins/{id}` ends it.
    pub id: String,
    /// When the user logged in (seconds since 1970).
    pub created_at: u64,
    /// Sessions: the last request. Tokens: the last refresh, since a
    /// request with an access token leaves no trace on the server.
    pub last_used_at: u64,
    /// The client's address at login.
    pub client: String,
    /// The first characters of its `User-Agent`.
    pub user_agent: String,
    /// Whether this is the login the request came with.
    pub current: bool,
}

/// What `DELETE /me/logins/{id}` ended, and what it could not reach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoginEnded {
    /// The id of the login that ended.
    pub ended: String,
    /// Token modes without `--check-denylist`: the login's newest access
    /// token keeps working until this moment (its `exp` plus the verifier's
    /// leeway, seconds since 1970). Absent where the login's every
    /// credential stopped working at once: sessions, and the denylist.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_token_works_until: Option<u64>,
    /// The same, in words.
    pub note: &'static str,
}

/// Why an account may not act, or be given a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Barred {
    /// The account is banned: 403.
    Banned,
    /// There is no such account (any more): 401.
    Gone,
}

// ANCHOR: admit
/// The one place the app decides who may act: an account that exists and
/// is not banned. A login, a refresh and every authenticated request ask it.
pub fn admit(account: Option<Profile>) -> Result<Profile, Barred> {
    match account {
        Some(profile) if profile.role == Role::Banned => Err(Barred::Banned),
        Some(profile) => Ok(profile),
        None => Err(Barred::Gone),
    }
}
// ANCHOR_END: admit

impl From<Barred> for ApiError {
    fn from(barred: Barred) -> ApiError {
        match barred {
            Barred::Banned => ApiError::forbidden("this account is banned"),
            Barred::Gone => ApiError::unauthenticated(),
        }
    }
}

/// The token response of RFC 6749 §5.1, as login and refresh send it in
/// their JSON body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenResponse {
    /// Sent back as `Authorization: Bearer` on every request.
    pub access_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Absent where the refresh token travels in a cookie.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Always `Bearer`.
    pub token_type: &'static str,
}

/// What a mechanism adds to a response: headers (`Set-Cookie`) and, for
/// tokens, the token response in the JSON body.
#[derive(Debug, Default)]
pub struct Issued {
    /// Headers to add.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Tokens for the body, if the mechanism hands out tokens.
    pub tokens: Option<TokenResponse>,
}

/// A login begun or renewed: whose it is (with the role its credential
/// carries), which login, and what to send back.
#[derive(Debug)]
pub struct LoggedIn {
    /// The user, with the role in force now.
    pub profile: Profile,
    /// The login's public id.
    pub login: String,
    /// What to send back.
    pub issued: Issued,
}

/// Why a request is not authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// The request carries no credential: 401.
    Missing,
    /// It carries one that is unknown, forged, expired or revoked: 401.
    Invalid,
    /// A store the check needs did not answer: 503, and nobody is let in.
    Unavailable,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshBody {
    refresh_token: Option<String>,
}

/// What a request to `/refresh` or `/logout` presents, read once: its
/// headers (a cookie, a bearer token) and a refresh token in a JSON body
/// (`{"refresh_token": "..."}`), if it sent one. An empty body is fine; a
/// body that is not that shape is refused like any JSON body (bad syntax
/// 400, wrong shape 422).
#[derive(Debug, Clone, Default)]
pub struct Presented {
    /// The request's headers.
    pub headers: HeaderMap,
    /// The refresh token from the body.
    pub refresh_token: Option<String>,
}

impl<S: Send + Sync> FromRequest<S> for Presented {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let headers = request.headers().clone();
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| ApiError::new(rejection.status(), rejection.body_text()))?;
        if body.is_empty() {
            return Ok(Presented {
                headers,
                refresh_token: None,
            });
        }
        let body: RefreshBody = serde_json::from_slice(&body).map_err(|error| {
            let status = match error.classify() {
                serde_json::error::Category::Data => StatusCode::UNPROCESSABLE_ENTITY,
                _ => StatusCode::BAD_REQUEST,
            };
            ApiError::new(status, "send {\"refresh_token\": \"...\"}")
        })?;
        Ok(Presented {
            headers,
            refresh_token: body.refresh_token,
        })
    }
}

// ANCHOR: mechanism
/// One way of remembering who is logged in.
pub trait Mechanism: Clone + Send + Sync + 'static {
    /// Who sent this request, according to its credential, and with which
    /// role?
    fn authenticate(
        &self,
        request: &HeaderMap,
        now: SystemTime,
    ) -> impl Future<Output = Result<Authenticated, AuthFailure>> + Send;

    /// The password of `user` was right: issue a credential, for a new
    /// login made from `device`. Any credential the request already carries
    /// is ended first.
    fn issue(
        &self,
        request: &HeaderMap,
        user: &Profile,
        device: Device,
        now: SystemTime,
    ) -> impl Future<Output = Result<LoggedIn, ApiError>> + Send;

    /// `POST /refresh`: swap a renewal credential for a fresh one. Sessions
    /// have none (every request renews the idle timeout): 404.
    fn renew(
        &self,
        _request: &Presented,
        _now: SystemTime,
    ) -> impl Future<Output = Result<LoggedIn, ApiError>> + Send {
        async { Err(ApiError::new(StatusCode::NOT_FOUND, "no such endpoint")) }
    }

    /// Log out: end the login named by whichever credential the request
    /// carries, if any.
    fn revoke(
        &self,
        request: &Presented,
        now: SystemTime,
    ) -> impl Future<Output = Result<Issued, ApiError>> + Send;

    /// Log `user` out everywhere at `now`; returns how many logins were
    /// ended.
    fn revoke_all(
        &self,
        user: &str,
        now: SystemTime,
    ) -> impl Future<Output = Result<usize, ApiError>> + Send;

    /// `user`'s live logins at `now`, oldest first; none is marked current.
    fn logins(
        &self,
        user: &str,
        now: SystemTime,
    ) -> impl Future<Output = Result<Vec<Login>, ApiError>> + Send;

    /// Ends `user`'s login `id`; `None` if they have no live login of that
    /// id (another user's included).
    fn end_login(
        &self,
        user: &str,
        id: &str,
        now: SystemTime,
    ) -> impl Future<Output = Result<Option<LoginEnded>, ApiError>> + Send;

    /// An admin changed `user`'s role: credentials that carry the old one
    /// are now stale. Sessions carry no role, and need do nothing.
    fn user_changed(&self, _user: &str) -> impl Future<Output = Result<(), ApiError>> + Send {
        async { Ok(()) }
    }
    // ANCHOR_END: mechanism

    /// The `WWW-Authenticate` challenge every 401 carries (RFC 9110
    /// §15.5.2): the mechanism's is the only one the app sends.
    fn challenge(&self, failure: AuthFailure) -> HeaderValue;

    /// Routes only this mechanism has (JWT: the JWKS).
    fn routes() -> Router<AppState<Self>> {
        Router::new()
    }
}

/// Everything a request handler can reach.
#[derive(Clone)]
pub struct AppState<M> {
    /// The authentication mechanism.
    pub mechanism: M,
    /// The accounts, orders and login counters (and the mechanism's stores).
    pub stores: Stores,
    /// Checks passwords, a few at a time.
    pub passwords: Arc<PasswordChecker>,
    /// Login-throttle limits.
    pub throttle: cafe::throttle::ThrottlePolicy,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: cafe::client_address::TrustedProxies,
    /// How many orders one account keeps.
    pub max_orders_per_user: usize,
    /// The time.
    pub clock: Arc<dyn Clock>,
}

/// The logged-in caller. Handlers that take one are authenticated endpoints:
/// no credential is a 401, a banned account is a 403.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentUser {
    /// The account name.
    pub name: String,
    /// The role in force for this request.
    pub role: Role,
    /// How that role was learned.
    pub source: RoleSource,
    /// Which of the account's logins the request came with.
    pub login: String,
}

// ANCHOR: current_user
impl<M: Mechanism> FromRequestParts<AppState<M>> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState<M>,
    ) -> Result<Self, Self::Rejection> {
        let now = state.clock.now();
        let caller = match state.mechanism.authenticate(&parts.headers, now).await {
            Ok(caller) => caller,
            Err(AuthFailure::Unavailable) => return Err(ApiError::unavailable("credential store")),
            Err(failure @ (AuthFailure::Missing | AuthFailure::Invalid)) => {
                let challenge = state.mechanism.challenge(failure);
                return Err(ApiError::unauthenticated().with_header(WWW_AUTHENTICATE, challenge));
            }
        };
        let profile = admit(Some(Profile {
            name: caller.name,
            role: caller.role,
        }))?;
        Ok(CurrentUser {
            name: profile.name,
            role: profile.role,
            source: caller.source,
            login: caller.login,
        })
    }
}
// ANCHOR_END: current_user

// ANCHOR: admin
/// A logged-in admin: a member gets 403. Whatever the credential says, the
/// role is read from the account here, in every mode: a demoted admin's
/// token, still saying `admin` until it expires, cannot use the admin
/// routes, nor promote itself back. One lookup, on these routes only; the
/// ordinary ones keep each mode's own cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admin(pub CurrentUser);

impl<M: Mechanism> FromRequestParts<AppState<M>> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState<M>,
    ) -> Result<Self, Self::Rejection> {
        let mut user = CurrentUser::from_request_parts(parts, state).await?;
        if user.source == RoleSource::Claim {
            let account = state.stores.accounts.account(&user.name).await?;
            let current = admit(account.map(|account| account.profile()))?;
            // The lesser of the two: a promotion still waits for a new
            // token, as everywhere else in the token modes.
            if user.role == Role::Admin {
                user.role = current.role;
            }
            user.source = RoleSource::Account;
        }
        if user.role == Role::Admin {
            Ok(Admin(user))
        } else {
            Err(ApiError::forbidden("admins only"))
        }
    }
}
// ANCHOR_END: admin
