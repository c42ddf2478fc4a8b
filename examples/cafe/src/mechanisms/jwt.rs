//! JWTs behind the app's seam: an access token in the `Authorization`
//! header on every request, a refresh token sent only to `POST /refresh`.
//!
//! Two ways of handing out the refresh token, one mechanism: `--auth jwt`
//! puts it in the JSON body, for API clients that keep it themselves;
//! `--auth hybrid` puts it in an `HttpOnly` cookie that page scripts cannot
//! read and the browser sends to `/refresh` only.

use axum::extract::State;
use axum::http::header::{AUTHORIZATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use cafe::auth::{AppState, AuthFailure, Authenticated, Issued, Mechanism, Renewal};
use cafe::error::ApiError;
use cafe::store::AccountStore;
use cafe::users::{Profile, Role};
use cookie::{Cookie, SameSite};
use jsonwebtoken::jwk::JwkSet;
use jwt::{AccessRefusal, RefreshRefusal, Standing, TokenAuthority, TokenPair};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::SystemTime;

/// Seconds since 1970: JWT's NumericDate.
pub fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Where the refresh token travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshDelivery {
    /// In the JSON body of login and refresh, and back in the body of
    /// `POST /refresh` (`--auth jwt`).
    Body,
    /// In an `HttpOnly; Secure; SameSite=Strict` cookie scoped to `/refresh`,
    /// never in a body or a URL (`--auth hybrid`).
    Cookie,
}

/// JWT access and refresh tokens, issued and checked by a [`TokenAuthority`].
#[derive(Clone)]
pub struct JwtMechanism {
    authority: Arc<TokenAuthority>,
    /// Read at refresh only: "may this person still have tokens, and with
    /// which role?"
    accounts: Arc<dyn AccountStore>,
    delivery: RefreshDelivery,
}

impl JwtMechanism {
    /// Tokens from `authority`; `accounts` answers at each refresh; refresh
    /// tokens travel as `delivery` says.
    pub fn new(
        authority: Arc<TokenAuthority>,
        accounts: Arc<dyn AccountStore>,
        delivery: RefreshDelivery,
    ) -> JwtMechanism {
        JwtMechanism {
            authority,
            accounts,
            delivery,
        }
    }

    /// The response to a login or refresh: the access token in the body, the
    /// refresh token where `delivery` says.
    fn hand_out(&self, pair: TokenPair, now: u64, refresh_ends: u64) -> Result<Issued, ApiError> {
        let (refresh_token, headers) = match self.delivery {
            RefreshDelivery::Body => (Some(pair.refresh_token), Vec::new()),
            RefreshDelivery::Cookie => {
                let lifetime = refresh_ends.saturating_sub(now);
                let cookie = refresh_cookie(&pair.refresh_token, lifetime);
                let cookie = HeaderValue::try_from(cookie).map_err(ApiError::internal)?;
                (None, vec![(SET_COOKIE, cookie)])
            }
        };
        let response = TokenResponse {
            access_token: pair.access_token,
            token_type: "Bearer",
            expires_in: pair.expires_in,
            refresh_token,
        };
        match serde_json::to_value(response).map_err(ApiError::internal)? {
            serde_json::Value::Object(body) => Ok(Issued { headers, body }),
            _ => Err(ApiError::internal("a token response is a JSON object")),
        }
    }
}

/// The token response of RFC 6749 §5.1, as login and refresh send it.
#[derive(Debug, Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
}

// ANCHOR: refresh_cookie
/// The hybrid's refresh cookie. `__Host-` would be the stronger prefix, but
/// it demands `Path=/`, which would send the refresh token with every
/// request; `__Secure-` still demands `Secure` and allows a narrow path, so
/// the browser sends it to `/refresh` and nowhere else.
pub const REFRESH_COOKIE: &str = "__Secure-cafe-refresh";

/// `Set-Cookie` for a refresh token living `lifetime` more seconds: scripts
/// cannot read it (`HttpOnly`), other sites' pages never send it
/// (`SameSite=Strict`), and it outlives a browser restart only as long as the
/// login itself (`Max-Age`).
pub fn refresh_cookie(token: &str, lifetime: u64) -> String {
    let max_age = i64::try_from(lifetime).unwrap_or(i64::MAX);
    Cookie::build((REFRESH_COOKIE, token))
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Strict)
        .path("/refresh")
        .max_age(cookie::time::Duration::seconds(max_age))
        .build()
        .to_string()
}
// ANCHOR_END: refresh_cookie

/// `Set-Cookie` that makes the browser drop the refresh cookie.
pub fn expired_refresh_cookie() -> String {
    refresh_cookie("", 0)
}

/// The refresh token in the request's `Cookie` header, if any.
pub fn presented_refresh_cookie(headers: &HeaderMap) -> Option<String> {
    sessions::cookie::cookie_value(headers, REFRESH_COOKIE)
}

// ANCHOR: bearer
/// The token in `Authorization: Bearer <token>` (RFC 6750 §2.1). Tokens are
/// read from this header only: never from the URL, never from a cookie.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}
// ANCHOR_END: bearer

#[derive(Deserialize)]
struct RefreshRequest {
    refresh_token: String,
}

/// `{"refresh_token": "..."}`. Like the JSON extractor: bad syntax is 400,
/// the wrong shape 422.
fn read_refresh_body(body: &[u8]) -> Result<String, ApiError> {
    let request: RefreshRequest = serde_json::from_slice(body).map_err(|error| {
        let status = match error.classify() {
            serde_json::error::Category::Data => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError::new(status, "send {\"refresh_token\": \"...\"}")
    })?;
    Ok(request.refresh_token)
}

impl Mechanism for JwtMechanism {
    // ANCHOR: authenticate
    async fn authenticate(
        &self,
        request: &HeaderMap,
        now: SystemTime,
    ) -> Result<Authenticated, AuthFailure> {
        let token = bearer_token(request).ok_or(AuthFailure::Missing)?;
        let claims = match self.authority.authenticate(token, unix_seconds(now)).await {
            Ok(claims) => claims,
            Err(AccessRefusal::Unavailable(_)) => return Err(AuthFailure::Unavailable),
            Err(_) => return Err(AuthFailure::Invalid),
        };
        Ok(Authenticated {
            name: claims.sub,
            // The role the token was issued with, however the user's role
            // has changed since: no lookup, and so no news.
            role_claim: Some(Role::from_claim(&claims.role).ok_or(AuthFailure::Invalid)?),
        })
    }
    // ANCHOR_END: authenticate

    async fn issue(
        &self,
        request: &HeaderMap,
        user: &Profile,
        now: SystemTime,
    ) -> Result<Issued, ApiError> {
        let now = unix_seconds(now);
        // A token this client held before logging in again is ended.
        if let Some(token) = bearer_token(request) {
            self.authority.log_out_token(token, now).await?;
        }
        let pair = self
            .authority
            .log_in(&user.name, user.role.as_str(), now)
            .await?;
        let login_ends = now.saturating_add(self.authority.lifetimes().refresh);
        self.hand_out(pair, now, login_ends)
    }

    // ANCHOR: renew
    async fn renew(
        &self,
        request: &HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Renewal, ApiError> {
        let refresh_token = match self.delivery {
            RefreshDelivery::Body => read_refresh_body(body)?,
            // The cookie only: a refresh token in a body is not even looked at.
            RefreshDelivery::Cookie => presented_refresh_cookie(request)
                .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "no refresh cookie"))?,
        };
        let now = unix_seconds(now);
        let invalid = || ApiError::new(StatusCode::UNAUTHORIZED, "invalid refresh token");
        let claims = self
            .authority
            .check_refresh_token(&refresh_token, now)
            .map_err(|_| invalid())?;
        // The user's role and standing are read now, not copied from the old token.
        let account = self.accounts.account(&claims.sub).await?;
        let standing = match &account {
            Some(account) if account.role == Role::Banned => Standing::Banned,
            Some(account) => Standing::Active {
                role: account.role.as_str().to_owned(),
            },
            None => Standing::Gone,
        };
        match self.authority.refresh(&claims, standing, now).await {
            // Only an existing, unbanned account gets here.
            Ok(renewed) => Ok(Renewal {
                profile: Profile {
                    name: renewed.user,
                    role: account.map_or(Role::Member, |account| account.role),
                },
                issued: self.hand_out(renewed.pair, now, claims.exp)?,
            }),
            Err(RefreshRefusal::Banned) => Err(ApiError::forbidden("this account is banned")),
            Err(RefreshRefusal::Unavailable(error)) => Err(ApiError::unavailable(error)),
            Err(_) => Err(invalid()),
        }
    }
    // ANCHOR_END: renew

    // ANCHOR: revoke
    async fn revoke(&self, request: &HeaderMap, now: SystemTime) -> Result<Issued, ApiError> {
        if let Some(token) = bearer_token(request) {
            self.authority
                .log_out_token(token, unix_seconds(now))
                .await?;
        }
        let mut issued = Issued::default();
        if self.delivery == RefreshDelivery::Cookie {
            let gone =
                HeaderValue::try_from(expired_refresh_cookie()).map_err(ApiError::internal)?;
            issued.headers.push((SET_COOKIE, gone));
        }
        Ok(issued)
    }
    // ANCHOR_END: revoke

    async fn revoke_all(&self, user: &str) -> Result<usize, ApiError> {
        Ok(self.authority.log_out_everywhere(user).await?)
    }

    async fn user_changed(&self, user: &str) -> Result<(), ApiError> {
        Ok(self.authority.user_changed(user).await?)
    }

    fn challenge(&self, failure: AuthFailure) -> Option<HeaderValue> {
        Some(HeaderValue::from_static(match failure {
            // RFC 6750 §3.1: no error code when the request had no token at all.
            AuthFailure::Missing => "Bearer",
            AuthFailure::Invalid | AuthFailure::Unavailable => "Bearer error=\"invalid_token\"",
        }))
    }

    fn routes() -> Router<AppState<Self>> {
        Router::new().route("/.well-known/jwks.json", get(jwks))
    }
}

/// The public keys, so another service can verify the café's tokens
/// without ever holding a key that signs them (RFC 7517 §5).
async fn jwks(State(state): State<AppState<JwtMechanism>>) -> Json<JwkSet> {
    Json(state.mechanism.authority.jwks())
}

#[cfg(test)]
mod tests;
