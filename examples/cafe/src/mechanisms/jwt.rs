//! JWTs behind the app's seam: an access token in the `Authorization`
//! header on every request, a refresh token sent only to `POST /refresh`.
//!
//! Two ways of handing out the refresh token, one mechanism: `--auth jwt`
//! puts it in the JSON body, for API clients that keep it themselves;
//! `--auth hybrid` puts it in an `HttpOnly` cookie that page scripts cannot
//! read and the browser sends to `/refresh` and `/logout` only.

use axum::extract::State;
use axum::http::header::{AUTHORIZATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use cafe::auth::{
    AppState, AuthFailure, Authenticated, Barred, Device, Issued, LoggedIn, Login, LoginEnded,
    Mechanism, Presented, RoleSource, TokenResponse, admit,
};
use cafe::clock::unix_seconds;
use cafe::cross_site::CookieSites;
use cafe::error::ApiError;
use cafe::store::{AccountStore, StoreError};
use cafe::users::{Profile, Role};
use cookie::{Cookie, SameSite};
use jsonwebtoken::jwk::JwkSet;
use jwt::tokens::LEEWAY_SECONDS;
use jwt::{AccessRefusal, RefreshRefusal, Standing, TokenAuthority, TokenPair};
use std::sync::Arc;
use std::time::SystemTime;

/// Where the refresh token travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshDelivery {
    /// In the JSON body of login and refresh, and back in the body of
    /// `POST /refresh` (`--auth jwt`).
    Body,
    /// In an `HttpOnly; Secure; SameSite=Strict` cookie scoped to `/refresh`
    /// and `/logout`, never in a body or a URL (`--auth hybrid`).
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
    /// The café's own pages only, unless `--cross-site-origin` names others.
    cookie_sites: CookieSites,
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
            cookie_sites: CookieSites::SameSiteOnly,
        }
    }

    /// The same, with the refresh cookie set for `sites`.
    pub fn with_cookie_sites(self, sites: CookieSites) -> JwtMechanism {
        JwtMechanism {
            cookie_sites: sites,
            ..self
        }
    }

    /// `Set-Cookie` headers, one per cookie, each as `cookie_sites` needs it.
    fn set_cookies(
        &self,
        cookies: Vec<String>,
    ) -> Result<Vec<(HeaderName, HeaderValue)>, ApiError> {
        cookies
            .into_iter()
            .map(|cookie| {
                let cookie = self.cookie_sites.apply(cookie)?;
                let value = HeaderValue::try_from(cookie).map_err(ApiError::internal)?;
                Ok((SET_COOKIE, value))
            })
            .collect()
    }

    /// The response to a login or refresh: the access token in the body, the
    /// refresh token where `delivery` says.
    fn hand_out(&self, pair: TokenPair, now: u64, refresh_ends: u64) -> Result<Issued, ApiError> {
        let (refresh_token, headers) = match self.delivery {
            RefreshDelivery::Body => (Some(pair.refresh_token), Vec::new()),
            RefreshDelivery::Cookie => {
                let lifetime = refresh_ends.saturating_sub(now);
                let cookies = refresh_cookies(&pair.refresh_token, lifetime);
                (None, self.set_cookies(cookies)?)
            }
        };
        let tokens = TokenResponse {
            access_token: pair.access_token,
            token_type: "Bearer",
            expires_in: pair.expires_in,
            refresh_token,
        };
        Ok(Issued {
            headers,
            tokens: Some(tokens),
        })
    }

    /// Whether the request carries the hybrid's refresh cookie.
    fn carries_cookie(&self, request: &Presented) -> bool {
        self.delivery == RefreshDelivery::Cookie
            && presented_refresh_cookie(&request.headers).is_some()
    }

    /// The refresh token this request presents, where `delivery` says it
    /// travels: the hybrid never looks at a body's, nor `--auth jwt` at a
    /// cookie's.
    fn presented_refresh_token(&self, request: &Presented) -> Option<String> {
        match self.delivery {
            RefreshDelivery::Body => request.refresh_token.clone(),
            RefreshDelivery::Cookie => presented_refresh_cookie(&request.headers),
        }
    }

    // ANCHOR: renew
    /// `POST /refresh`, before a refused cookie is cleared.
    async fn try_renew(&self, request: &Presented, now: SystemTime) -> Result<LoggedIn, ApiError> {
        let Some(refresh_token) = self.presented_refresh_token(request) else {
            return Err(match self.delivery {
                RefreshDelivery::Body => {
                    ApiError::new(StatusCode::BAD_REQUEST, "send {\"refresh_token\": \"...\"}")
                }
                RefreshDelivery::Cookie => {
                    ApiError::new(StatusCode::UNAUTHORIZED, "no refresh cookie")
                }
            });
        };
        let now = unix_seconds(now);
        let invalid = || ApiError::new(StatusCode::UNAUTHORIZED, "invalid refresh token");
        let claims = self
            .authority
            .check_refresh_token(&refresh_token, now)
            .map_err(|_| invalid())?;
        // The user's role and standing are read now, not copied from the old
        // token, and after the token version (see `issue`).
        let mut renewed_for = None;
        let standing = standing_now(self.accounts.as_ref(), &claims.sub, &mut renewed_for);
        match self.authority.refresh(&claims, now, standing).await {
            // Only an existing, unbanned account gets here.
            Ok(renewed) => Ok(LoggedIn {
                profile: renewed_for
                    .ok_or_else(|| ApiError::internal("a refresh without a role"))?,
                login: claims.sid.clone(),
                issued: self.hand_out(renewed.pair, now, claims.exp)?,
            }),
            Err(RefreshRefusal::Banned) => Err(Barred::Banned.into()),
            Err(RefreshRefusal::Unavailable(error)) => Err(ApiError::unavailable(error)),
            Err(_) => Err(invalid()),
        }
    }
    // ANCHOR_END: renew
}

/// `error` with these headers added.
fn with_headers(error: ApiError, headers: Vec<(HeaderName, HeaderValue)>) -> ApiError {
    headers
        .into_iter()
        .fold(error, |error, (name, value)| error.with_header(name, value))
}

/// The account lookup a login or a refresh hands the authority, which
/// runs it only after reading the token version (see
/// [`TokenAuthority::log_in`]); `read` keeps the profile it found.
async fn standing_now(
    accounts: &dyn AccountStore,
    name: &str,
    read: &mut Option<Profile>,
) -> Result<Standing, StoreError> {
    let account = accounts.account(name).await?;
    Ok(match admit(account.map(|account| account.profile())) {
        Ok(profile) => {
            let role = profile.role.as_str().to_owned();
            *read = Some(profile);
            Standing::Active { role }
        }
        Err(Barred::Banned) => Standing::Banned,
        Err(Barred::Gone) => Standing::Gone,
    })
}

// ANCHOR: refresh_cookie
/// The hybrid's refresh cookie. `__Host-` would be the stronger prefix, but
/// it demands `Path=/`, which would send the refresh token with every
/// request; `__Secure-` still demands `Secure` and allows a narrow path.
pub const REFRESH_COOKIE: &str = "__Secure-cafe-refresh";

/// The paths the refresh cookie is set on: the two endpoints that read it.
/// A cookie has one path, and the only path that both `/refresh` and
/// `/logout` path-match (RFC 6265bis §5.1.4) is `/`, which would send a
/// week-long credential with every request, to every handler and into
/// every log of request headers. So the same cookie is set once per path:
/// the browser keeps two copies (a cookie is named by name, domain *and*
/// path) and sends each to its own endpoint only. The cost: two
/// `Set-Cookie` headers each time it is issued, rotated or cleared, always
/// together.
pub const REFRESH_COOKIE_PATHS: [&str; 2] = ["/refresh", "/logout"];

/// `Set-Cookie` for a refresh token living `lifetime` more seconds, once per
/// path of [`REFRESH_COOKIE_PATHS`]: scripts cannot read it (`HttpOnly`),
/// other sites' pages never send it (`SameSite=Strict`), and it outlives a
/// browser restart only as long as the login itself (`Max-Age`).
pub fn refresh_cookies(token: &str, lifetime: u64) -> Vec<String> {
    let max_age = i64::try_from(lifetime).unwrap_or(i64::MAX);
    REFRESH_COOKIE_PATHS
        .iter()
        .map(|path| {
            Cookie::build((REFRESH_COOKIE, token))
                .http_only(true)
                .secure(true)
                .same_site(SameSite::Strict)
                .path(*path)
                .max_age(cookie::time::Duration::seconds(max_age))
                .build()
                .to_string()
        })
        .collect()
}
// ANCHOR_END: refresh_cookie

/// `Set-Cookie` headers that make the browser drop both copies of the
/// refresh cookie.
pub fn expired_refresh_cookies() -> Vec<String> {
    refresh_cookies("", 0)
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
            role: Role::from_claim(&claims.role).ok_or(AuthFailure::Invalid)?,
            source: RoleSource::Claim,
            login: claims.sid,
        })
    }
    // ANCHOR_END: authenticate

    async fn issue(
        &self,
        request: &HeaderMap,
        user: &Profile,
        device: Device,
        now: SystemTime,
    ) -> Result<LoggedIn, ApiError> {
        let now = unix_seconds(now);
        // A token this client held before logging in again is ended.
        if let Some(token) = bearer_token(request) {
            self.authority.log_out_token(token, now).await?;
        }
        // The role is read again, after the token version: a token says
        // what the account said at one moment, never half of two.
        let mut minted_for = None;
        let standing = standing_now(self.accounts.as_ref(), &user.name, &mut minted_for);
        let pair = self
            .authority
            .log_in(&user.name, &device, now, standing)
            .await?;
        let profile = minted_for.ok_or_else(|| ApiError::internal("a login without a role"))?;
        let login_ends = now.saturating_add(self.authority.lifetimes().refresh);
        Ok(LoggedIn {
            profile,
            login: pair.sid.clone(),
            issued: self.hand_out(pair, now, login_ends)?,
        })
    }

    // ANCHOR: renew_clears_cookie
    async fn renew(&self, request: &Presented, now: SystemTime) -> Result<LoggedIn, ApiError> {
        match self.try_renew(request, now).await {
            // A refresh cookie that was refused is of no more use: the
            // browser is told to drop it.
            Err(error) if error.status().is_client_error() && self.carries_cookie(request) => Err(
                with_headers(error, self.set_cookies(expired_refresh_cookies())?),
            ),
            renewed => renewed,
        }
    }
    // ANCHOR_END: renew_clears_cookie

    // ANCHOR: revoke
    async fn revoke(&self, request: &Presented, now: SystemTime) -> Result<Issued, ApiError> {
        let now = unix_seconds(now);
        // Whichever credential the request carries names the login to end:
        // the access token, the refresh token, or both.
        if let Some(token) = bearer_token(&request.headers) {
            self.authority.log_out_token(token, now).await?;
        }
        if let Some(token) = self.presented_refresh_token(request) {
            self.authority.log_out_refresh_token(&token, now).await?;
        }
        let headers = match self.delivery {
            RefreshDelivery::Cookie => self.set_cookies(expired_refresh_cookies())?,
            RefreshDelivery::Body => Vec::new(),
        };
        Ok(Issued {
            headers,
            tokens: None,
        })
    }
    // ANCHOR_END: revoke

    async fn revoke_all(&self, user: &str, now: SystemTime) -> Result<usize, ApiError> {
        Ok(self
            .authority
            .log_out_everywhere(user, unix_seconds(now))
            .await?)
    }

    async fn logins(&self, user: &str, now: SystemTime) -> Result<Vec<Login>, ApiError> {
        let families = self.authority.logins(user, unix_seconds(now)).await?;
        Ok(families
            .into_iter()
            .map(|family| Login {
                id: family.sid,
                created_at: family.created,
                last_used_at: family.last_used,
                client: family.device.client,
                user_agent: family.device.user_agent,
                current: false,
            })
            .collect())
    }

    async fn end_login(
        &self,
        user: &str,
        id: &str,
        now: SystemTime,
    ) -> Result<Option<LoginEnded>, ApiError> {
        let ended = self
            .authority
            .end_login(user, id, unix_seconds(now))
            .await?;
        if self.authority.checks().denylist {
            return Ok(ended.map(|family| LoginEnded {
                ended: family.sid,
                access_token_works_until: None,
                note: "the login has ended: its refresh token and every access token it was \
                       given are refused from now on",
            }));
        }
        let access = self.authority.lifetimes().access;
        Ok(ended.map(|family| LoginEnded {
            ended: family.sid,
            // Its newest access token came with its last refresh (or the
            // login), and the verifier takes it until `exp` plus the leeway.
            access_token_works_until: Some(
                family
                    .last_used
                    .saturating_add(access)
                    .saturating_add(LEEWAY_SECONDS),
            ),
            note: "the login can no longer be refreshed, but an access token it already \
                   holds works until it expires (access_token_works_until)",
        }))
    }

    async fn user_changed(&self, user: &str) -> Result<(), ApiError> {
        Ok(self.authority.user_changed(user).await?)
    }

    fn challenge(&self, failure: AuthFailure) -> HeaderValue {
        HeaderValue::from_static(match failure {
            // RFC 6750 §3.1: no error code when the request had no token at all.
            AuthFailure::Missing => "Bearer",
            AuthFailure::Invalid | AuthFailure::Unavailable => "Bearer error=\"invalid_token\"",
        })
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
