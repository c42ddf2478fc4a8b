//! The seam between the app and its authentication mechanisms.
//!
//! The app never looks at a cookie or a token itself. It asks its
//! [`Mechanism`]: who sent this request, issue a credential for this user,
//! renew it, end it, end all of this user's credentials, this user changed —
//! and each mechanism answers its own way.

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::header::WWW_AUTHENTICATE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use cafe::clock::Clock;
use cafe::error::ApiError;
use cafe::store::Stores;
use cafe::users::{PasswordChecker, Profile, Role};
use std::future::Future;
use std::sync::Arc;
use std::time::SystemTime;

/// Who a credential says the caller is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// The account name.
    pub name: String,
    /// The role the credential itself carries (a JWT claim), or `None` when
    /// the app should read the current role from the accounts (sessions).
    pub role_claim: Option<Role>,
}

/// What a mechanism adds to a response: headers (`Set-Cookie`) and fields of
/// the JSON body (`access_token`).
#[derive(Debug, Default)]
pub struct Issued {
    /// Headers to add.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Fields to add to the JSON body.
    pub body: serde_json::Map<String, serde_json::Value>,
}

/// A renewed login: whose it is, and the new credential.
#[derive(Debug)]
pub struct Renewal {
    /// The user, with the role in force now.
    pub profile: Profile,
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

// ANCHOR: mechanism
/// One way of remembering who is logged in.
pub trait Mechanism: Clone + Send + Sync + 'static {
    /// Who sent this request, according to its credential?
    fn authenticate(
        &self,
        request: &HeaderMap,
        now: SystemTime,
    ) -> impl Future<Output = Result<Authenticated, AuthFailure>> + Send;

    /// The password was right: issue a credential for `user`. Any credential
    /// the request already carries is ended first.
    fn issue(
        &self,
        request: &HeaderMap,
        user: &Profile,
        now: SystemTime,
    ) -> impl Future<Output = Result<Issued, ApiError>> + Send;

    /// `POST /refresh`: swap a renewal credential for a fresh one. Sessions
    /// have none (every request renews the idle timeout): 404.
    fn renew(
        &self,
        _request: &HeaderMap,
        _body: &[u8],
        _now: SystemTime,
    ) -> impl Future<Output = Result<Renewal, ApiError>> + Send {
        async { Err(ApiError::new(StatusCode::NOT_FOUND, "no such endpoint")) }
    }

    /// Log out: end the credential this request carries, if any.
    fn revoke(
        &self,
        request: &HeaderMap,
        now: SystemTime,
    ) -> impl Future<Output = Result<Issued, ApiError>> + Send;

    /// Log `user` out everywhere; returns how many logins were ended.
    fn revoke_all(&self, user: &str) -> impl Future<Output = Result<usize, ApiError>> + Send;

    /// An admin changed `user`'s role: credentials that carry the old one
    /// are now stale. Sessions carry no role, and need do nothing.
    fn user_changed(&self, _user: &str) -> impl Future<Output = Result<(), ApiError>> + Send {
        async { Ok(()) }
    }
    // ANCHOR_END: mechanism

    /// The `WWW-Authenticate` challenge to send with a 401, if the
    /// mechanism has a standard one (Bearer, RFC 6750 §3).
    fn challenge(&self, _failure: AuthFailure) -> Option<HeaderValue> {
        None
    }

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
}

// ANCHOR: current_user
impl<M: Mechanism> FromRequestParts<AppState<M>> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState<M>,
    ) -> Result<Self, Self::Rejection> {
        let now = state.clock.now();
        let who = match state.mechanism.authenticate(&parts.headers, now).await {
            Ok(who) => who,
            Err(AuthFailure::Unavailable) => return Err(ApiError::unavailable("credential store")),
            Err(failure @ (AuthFailure::Missing | AuthFailure::Invalid)) => {
                let mut error = ApiError::unauthenticated();
                if let Some(challenge) = state.mechanism.challenge(failure) {
                    error = error.with_header(WWW_AUTHENTICATE, challenge);
                }
                return Err(error);
            }
        };
        let role = match who.role_claim {
            // A self-contained token: believed as it stands, no lookup.
            Some(role) => role,
            // A reference: the current role comes from the accounts, and an
            // account deleted since the login is nobody.
            None => {
                let account = state.stores.accounts.account(&who.name).await?;
                account.ok_or_else(ApiError::unauthenticated)?.role
            }
        };
        if role == Role::Banned {
            return Err(ApiError::forbidden("this account is banned"));
        }
        Ok(CurrentUser {
            name: who.name,
            role,
        })
    }
}
// ANCHOR_END: current_user

/// A logged-in admin: a member gets 403.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admin(pub CurrentUser);

impl<M: Mechanism> FromRequestParts<AppState<M>> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState<M>,
    ) -> Result<Self, Self::Rejection> {
        let user = CurrentUser::from_request_parts(parts, state).await?;
        if user.role == Role::Admin {
            Ok(Admin(user))
        } else {
            Err(ApiError::forbidden("admins only"))
        }
    }
}
