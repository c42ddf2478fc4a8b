//! JWTs behind the app's seam: an access token in the `Authorization`
//! header on every request, a refresh token sent only to `POST /refresh`.

use crate::auth::{AppState, AuthFailure, Authenticated, Issued, Mechanism};
use crate::error::ApiError;
use crate::routes::logged_in;
use crate::users::{Role, Users};
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use jwt::{RefreshRefusal, Standing, TokenAuthority, TokenPair};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::SystemTime;

/// Seconds since 1970: JWT's NumericDate.
pub fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The role as a token claim, and back.
fn role_claim(role: Role) -> &'static str {
    match role {
        Role::Member => "member",
        Role::Admin => "admin",
        Role::Banned => "banned",
    }
}

fn parse_role(claim: &str) -> Option<Role> {
    match claim {
        "member" => Some(Role::Member),
        "admin" => Some(Role::Admin),
        "banned" => Some(Role::Banned),
        _ => None,
    }
}

/// JWT access and refresh tokens, issued and checked by a [`TokenAuthority`].
#[derive(Clone)]
pub struct JwtMechanism {
    authority: Arc<TokenAuthority>,
    users: Arc<Users>,
}

impl JwtMechanism {
    /// Tokens from `authority`; `users` answers "may this person refresh?".
    pub fn new(authority: Arc<TokenAuthority>, users: Arc<Users>) -> JwtMechanism {
        JwtMechanism { authority, users }
    }

    fn token_body(pair: TokenPair) -> Issued {
        let mut body = serde_json::Map::new();
        body.insert("access_token".into(), json!(pair.access_token));
        body.insert("token_type".into(), json!("Bearer"));
        body.insert("expires_in".into(), json!(pair.expires_in));
        body.insert("refresh_token".into(), json!(pair.refresh_token));
        Issued {
            headers: Vec::new(),
            body,
        }
    }
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
        let claims = self
            .authority
            .authenticate(token, unix_seconds(now))
            .map_err(|_| AuthFailure::Invalid)?;
        Ok(Authenticated {
            name: claims.sub,
            // The role the token was issued with, however the user's role
            // has changed since: no lookup, and so no news.
            role_claim: Some(parse_role(&claims.role).ok_or(AuthFailure::Invalid)?),
        })
    }
    // ANCHOR_END: authenticate

    async fn issue(
        &self,
        request: &HeaderMap,
        user: &str,
        now: SystemTime,
    ) -> Result<Issued, ApiError> {
        let now = unix_seconds(now);
        // A token this client held before logging in again is ended.
        if let Some(token) = bearer_token(request) {
            self.authority.log_out_token(token, now);
        }
        let role = self.users.profile(user).map_or(Role::Member, |p| p.role);
        let pair = self
            .authority
            .log_in(user, role_claim(role), now)
            .map_err(ApiError::internal)?;
        Ok(Self::token_body(pair))
    }

    // ANCHOR: revoke
    async fn revoke(&self, request: &HeaderMap, now: SystemTime) -> Result<Issued, ApiError> {
        let now = unix_seconds(now);
        if let Some(token) = bearer_token(request) {
            self.authority.log_out_token(token, now);
        }
        Ok(Issued::default())
    }
    // ANCHOR_END: revoke

    async fn revoke_all(&self, user: &str) -> Result<usize, ApiError> {
        Ok(self.authority.log_out_everywhere(user))
    }

    fn user_changed(&self, user: &str) {
        self.authority.user_changed(user);
    }

    fn challenge(&self, failure: AuthFailure) -> Option<HeaderValue> {
        Some(HeaderValue::from_static(match failure {
            // RFC 6750 §3.1: no error code when the request had no token at all.
            AuthFailure::Missing => "Bearer",
            AuthFailure::Invalid | AuthFailure::Unavailable => "Bearer error=\"invalid_token\"",
        }))
    }

    fn routes() -> Router<AppState<Self>> {
        Router::new()
            .route("/refresh", post(refresh))
            .route("/.well-known/jwks.json", get(jwks))
    }
}

#[derive(Deserialize)]
struct RefreshRequest {
    refresh_token: String,
}

// ANCHOR: refresh
async fn refresh(
    State(state): State<AppState<JwtMechanism>>,
    body: Result<Json<RefreshRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(RefreshRequest { refresh_token }) = body?;
    let now = unix_seconds(state.clock.now());
    let users = &state.users;
    // The user's role and standing are read now, not copied from the old token.
    let standing = |name: &str| match users.profile(name) {
        Some(profile) if profile.role == Role::Banned => Standing::Banned,
        Some(profile) => Standing::Active {
            role: role_claim(profile.role).to_owned(),
        },
        None => Standing::Gone,
    };
    match state
        .mechanism
        .authority
        .refresh(&refresh_token, standing, now)
    {
        Ok(pair) => {
            let claims = state
                .mechanism
                .authority
                .authenticate(&pair.access_token, now);
            let name = claims
                .map(|c| c.sub)
                .map_err(|_| ApiError::internal("fresh token"))?;
            let profile = users.profile(&name).ok_or_else(ApiError::unauthenticated)?;
            Ok(logged_in(&profile, JwtMechanism::token_body(pair)))
        }
        Err(RefreshRefusal::Banned) => Err(ApiError::forbidden("this account is banned")),
        Err(_) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid refresh token",
        )),
    }
}
// ANCHOR_END: refresh

/// The public keys, so another service can verify the café's tokens
/// without ever holding a key that signs them (RFC 7517 §5).
async fn jwks(State(state): State<AppState<JwtMechanism>>) -> Json<Value> {
    Json(state.mechanism.authority.jwks())
}
