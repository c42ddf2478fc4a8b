//! The café's API, with axum-jwt-auth's `Claims<T>` extractor checking the
//! bearer token on every authenticated route, as the docs' example
//! (`examples/local/local.rs`) does.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRef, FromRequestParts, Path, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::map_response;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use axum_jwt_auth::{AuthError, Claims, Decoder};
use peer_axum_jwt_auth::accounts::{Accounts, LoginRefusal, Role};
use peer_axum_jwt_auth::refresh::{PlainRefreshTokens, RefreshFamilies, RefreshRefusal};
use peer_axum_jwt_auth::tokens::{
    ACCESS_TOKEN_SECONDS, AccessClaims, HardenedFields, TokenIssuer, unix_now,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// The longest order item, in characters.
pub const MAX_ITEM_CHARS: usize = 100;

/// Hardened: the largest request body read, as the café's: a login is
/// well under it. The default keeps axum's own limit, 2 MB.
pub const BODY_LIMIT_BYTES: usize = 16 * 1024;

/// Hardened: the longest password hashed. Long passphrases fit (ASVS 5.0
/// 6.2.9 asks for at least 64 characters); a megabyte is refused before
/// any hashing, so a request cannot buy a long Argon2 run. The default
/// hashes whatever fits axum's body limit.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Hardened: the longest user name looked up.
pub const MAX_NAME_BYTES: usize = 64;

/// The router's state, as the docs shape it: the decoder `Claims<T>` finds
/// through `FromRef`, beside the app's own data.
#[derive(Clone, FromRef)]
pub struct AppState {
    /// A `LocalDecoder` (default), or the [`CheckedDecoder`] around one
    /// (hardened).
    ///
    /// [`CheckedDecoder`]: peer_axum_jwt_auth::tokens::CheckedDecoder
    pub decoder: Decoder<AccessClaims>,
    /// Users, logins, orders.
    pub peer: Arc<Peer>,
}

/// Where the refresh tokens live, per configuration.
pub enum Logins {
    /// Default: tokens in clear, rotated, nothing more.
    Plain(PlainRefreshTokens),
    /// Hardened: hashed, one family per login, reuse detection; shared
    /// with the decoder, which refuses the access tokens of ended logins.
    Families(Arc<RefreshFamilies>),
}

/// Everything the handlers share.
pub struct Peer {
    /// Whether this is the hardened configuration.
    pub hardened: bool,
    /// Signs access tokens.
    pub issuer: TokenIssuer,
    /// The users.
    pub accounts: Arc<Accounts>,
    /// Refresh tokens.
    pub logins: Logins,
    /// Everyone's orders.
    orders: Mutex<Orders>,
}

impl Peer {
    /// A peer with no orders yet; with `hardened`, its logins are
    /// `families`.
    pub fn new(
        hardened: bool,
        issuer: TokenIssuer,
        accounts: Arc<Accounts>,
        families: Arc<RefreshFamilies>,
    ) -> Peer {
        let logins = if hardened {
            Logins::Families(families)
        } else {
            Logins::Plain(PlainRefreshTokens::new())
        };
        Peer {
            hardened,
            issuer,
            accounts,
            logins,
            orders: Mutex::new(Orders::default()),
        }
    }
}

/// The routes: the café's API shape.
pub fn router(state: AppState) -> Router {
    let hardened = state.peer.hardened;
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/login", post(login))
        .route("/refresh", post(refresh))
        .route(
            "/logout",
            if hardened {
                post(logout_with_either_token)
            } else {
                post(logout)
            },
        )
        .route("/me", get(me))
        .route("/orders", get(list_orders).post(place_order))
        .route("/users", get(list_users))
        .route("/admin/users/{name}/role", post(change_role))
        .route(
            "/admin/users/{name}/logout-everywhere",
            post(logout_everywhere),
        )
        .with_state(state);
    if hardened {
        router
            // A login is well under 16 KiB; axum's 2 MB default lets every
            // request make the server read and parse over a hundred times
            // more (413 above the limit, as the café).
            .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
            // Answers about a user, and tokens, must not sit in a shared
            // cache (ASVS 5.0 14.3.2; RFC 6749 §5.1 for token answers).
            .layer(map_response(no_store))
            .layer(map_response(challenge_every_401))
    } else {
        router
    }
}

async fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Hardened: every 401 carries a `WWW-Authenticate` challenge, as RFC 9110
/// §15.5.2 requires (the café does the same), `/login`'s and `/refresh`'s
/// included; a bearer-token refusal keeps its more precise one
/// ([`invalid_token`]).
async fn challenge_every_401(mut response: Response) -> Response {
    if response.status() == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .entry(WWW_AUTHENTICATE)
            .or_insert(HeaderValue::from_static("Bearer"));
    }
    response
}

/// An error the app's own handlers answer: a status and `{"error": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    message: &'static str,
}

impl ApiError {
    fn new(status: StatusCode, message: &'static str) -> ApiError {
        ApiError { status, message }
    }

    fn unavailable() -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "try again in a moment")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(json!({ "error": self.message }))).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

impl From<RefreshRefusal> for ApiError {
    fn from(refusal: RefreshRefusal) -> ApiError {
        match refusal {
            RefreshRefusal::Unknown | RefreshRefusal::Reused | RefreshRefusal::Expired => {
                ApiError::new(StatusCode::UNAUTHORIZED, "invalid refresh token")
            }
            RefreshRefusal::Unavailable => ApiError::unavailable(),
        }
    }
}

// ANCHOR: invalid_token
/// Hardened: every refusal of a bearer token is a 401 that says so
/// (RFC 6750 §3, §3.1). axum-jwt-auth answers a malformed token with 500
/// and never sends `WWW-Authenticate`; a request without any token gets
/// `Bearer` alone, since RFC 6750 §3.1 says not to name an error then.
fn invalid_token(rejection: AuthError) -> Response {
    let challenge = match rejection {
        AuthError::MissingToken => "Bearer",
        _ => "Bearer error=\"invalid_token\"",
    };
    let body = json!({ "error": "not logged in, or the login has ended" });
    let mut response = (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    response
        .headers_mut()
        .insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    response
}
// ANCHOR_END: invalid_token

// ANCHOR: caller
/// Whoever the bearer token names, checked by axum-jwt-auth's `Claims<T>`.
pub struct Caller {
    /// The token's claims.
    pub claims: AccessClaims,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, Response> {
        let checked = Claims::<AccessClaims>::from_request_parts(parts, state).await;
        if !state.peer.hardened {
            // As the docs leave it: the crate's own rejection, and the role
            // the token carries, whatever has happened since it was issued.
            return match checked {
                Ok(Claims { claims, .. }) => Ok(Caller { claims }),
                Err(rejection) => Err(rejection.into_response()),
            };
        }
        let claims = checked.map_err(invalid_token)?.claims;
        // A banned user is refused on every request, not when the token
        // expires (ASVS 5.0 7.4.2). The decoder already matched the token's
        // version, so the role in the token is the account's.
        match state.peer.accounts.standing(&claims.sub) {
            Some((Role::Banned, _)) => {
                Err(ApiError::new(StatusCode::FORBIDDEN, "this account is banned").into_response())
            }
            Some(_) => Ok(Caller { claims }),
            None => Err(invalid_token(AuthError::InvalidToken)),
        }
    }
}
// ANCHOR_END: caller

/// A caller whose token carries the admin role.
pub struct Admin(pub Caller);

impl FromRequestParts<AppState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Admin, Response> {
        let caller = Caller::from_request_parts(parts, state).await?;
        if caller.claims.role == Role::Admin.as_str() {
            Ok(Admin(caller))
        } else {
            Err(ApiError::new(StatusCode::FORBIDDEN, "admins only").into_response())
        }
    }
}

/// A user as the API shows one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    /// The name.
    pub name: String,
    /// The role.
    pub role: String,
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// `POST /login`'s body.
#[derive(Debug, Deserialize)]
pub struct LoginRequest {
    /// The user's name.
    pub username: String,
    /// The password.
    pub password: String,
}

/// `POST /refresh`'s body.
#[derive(Debug, Deserialize)]
pub struct RefreshRequest {
    /// The refresh token login or the last refresh gave.
    pub refresh_token: String,
}

/// What login and refresh answer: the token response of RFC 6749 §5.1 and
/// the user.
#[derive(Debug, Serialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: u64,
    refresh_token: String,
    token_type: &'static str,
    user: UserView,
}

/// Signs an access token and answers with both tokens.
fn hand_out(
    peer: &Peer,
    name: &str,
    role: Role,
    refresh_token: String,
    hardened: Option<HardenedFields>,
    now: u64,
) -> Result<Response, ApiError> {
    let access_token = peer
        .issuer
        .access_token(name, role, now, hardened)
        .ok_or_else(ApiError::unavailable)?;
    let answer = TokenAnswer {
        access_token,
        expires_in: ACCESS_TOKEN_SECONDS,
        refresh_token,
        token_type: "Bearer",
        user: UserView {
            name: name.to_owned(),
            role: role.as_str().to_owned(),
        },
    };
    Ok(Json(answer).into_response())
}

// ANCHOR: login
async fn login(
    State(peer): State<Arc<Peer>>,
    Json(request): Json<LoginRequest>,
) -> Result<Response, ApiError> {
    // Hardened: no Argon2 run for a name or password no user has.
    let too_long =
        request.username.len() > MAX_NAME_BYTES || request.password.len() > MAX_PASSWORD_BYTES;
    if peer.hardened && too_long {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "name or password too long",
        ));
    }
    let accounts = Arc::clone(&peer.accounts);
    let name = request.username.clone();
    // Argon2 takes tens of milliseconds: off the async threads.
    let verdict =
        tokio::task::spawn_blocking(move || accounts.log_in(&request.username, &request.password))
            .await
            .map_err(|_| ApiError::unavailable())?;
    let (role, version) = match verdict {
        Ok(standing) => standing,
        Err(LoginRefusal::BadCredentials) => {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "wrong name or password",
            ));
        }
        Err(LoginRefusal::Banned) => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "this account is banned",
            ));
        }
    };
    let now = unix_now();
    match &peer.logins {
        Logins::Plain(tokens) => {
            let refresh_token = tokens.issue(&name, now)?;
            hand_out(&peer, &name, role, refresh_token, None, now)
        }
        Logins::Families(families) => {
            let login = families.begin(&name, now)?;
            let fields = HardenedFields {
                sid: login.family,
                ver: version,
            };
            hand_out(&peer, &name, role, login.refresh_token, Some(fields), now)
        }
    }
}
// ANCHOR_END: login

// ANCHOR: refresh
async fn refresh(
    State(peer): State<Arc<Peer>>,
    Json(request): Json<RefreshRequest>,
) -> Result<Response, ApiError> {
    let now = unix_now();
    let (user, refresh_token, family) = match &peer.logins {
        Logins::Plain(tokens) => {
            let (user, fresh) = tokens.rotate(&request.refresh_token, now)?;
            (user, fresh, None)
        }
        Logins::Families(families) => {
            // A banned user's refresh is refused before it rotates, so it
            // ends nothing (lifting the ban ends the user's logins anyway).
            // The check after the rotation below still catches a ban that
            // lands in between.
            let owner = families.owner(&request.refresh_token, now);
            if owner.is_some_and(|user| {
                matches!(peer.accounts.standing(&user), Some((Role::Banned, _)))
            }) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "this account is banned",
                ));
            }
            let renewed = families.rotate(&request.refresh_token, now)?;
            (renewed.user, renewed.refresh_token, Some(renewed.family))
        }
    };
    // The one place the default configuration reads the account: the new
    // access token carries the role as it is now.
    let (role, version) = match peer.accounts.standing(&user) {
        Some((Role::Banned, _)) => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "this account is banned",
            ));
        }
        Some(standing) => standing,
        None => return Err(RefreshRefusal::Unknown.into()),
    };
    let fields = family.map(|sid| HardenedFields { sid, ver: version });
    hand_out(&peer, &user, role, refresh_token, fields, now)
}
// ANCHOR_END: refresh

// ANCHOR: logout
async fn logout(State(peer): State<Arc<Peer>>, caller: Caller) -> StatusCode {
    let claims = caller.claims;
    match &peer.logins {
        // Default: the docs' claims name no login, only the user, so the
        // plain logout deletes the user's refresh tokens. The access token
        // is untouched: it works until it expires.
        Logins::Plain(tokens) => {
            tokens.end_all(&claims.sub);
        }
        // The hardened router sends logout to `logout_with_either_token`.
        Logins::Families(families) => {
            if let Some(sid) = &claims.sid {
                families.end(sid);
            }
        }
    }
    StatusCode::NO_CONTENT
}
// ANCHOR_END: logout

// ANCHOR: logout_with_either_token
/// Hardened `POST /logout`: whichever credential the request carries names
/// the login to end, as the café's logout does. An access token 15 minutes
/// old has expired, and a logout that needs a live one would leave the
/// login's refresh token working for days: so a refresh token in the JSON
/// body (`{"refresh_token": "..."}`) ends its login, and an access token
/// that is genuine (signature, `typ`, `iss`, `aud`) but expired still
/// names its login. Ending a login ends its refresh family and every
/// access token it was given (ASVS 5.0 7.4.1). The answer is 204 whatever
/// was presented, as a revocation endpoint answers (RFC 7009 §2.2): an
/// unknown or unreadable token has nothing left to end.
async fn logout_with_either_token(
    State(peer): State<Arc<Peer>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let Logins::Families(families) = &peer.logins else {
        return StatusCode::NO_CONTENT;
    };
    if let Some(sid) = bearer_token(&headers).and_then(|token| peer.issuer.login_named_by(token)) {
        families.end(&sid);
    }
    if let Ok(request) = serde_json::from_slice::<RefreshRequest>(&body) {
        families.end_login_of(&request.refresh_token);
    }
    StatusCode::NO_CONTENT
}
// ANCHOR_END: logout_with_either_token

/// The token in `Authorization: Bearer <token>`, read as the library's
/// extractor reads it (headers' `Authorization<Bearer>`): the scheme in any
/// case (RFC 9110 §11.1: an auth scheme is case-insensitive), then any
/// amount of whitespace. A logout stricter than the other routes would
/// answer 204 to `bearer <token>` and end nothing.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(|c: char| c.is_ascii_whitespace())?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

async fn me(caller: Caller) -> Json<UserView> {
    Json(UserView {
        name: caller.claims.sub,
        role: caller.claims.role,
    })
}

/// One order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// Numbered from 1, across users.
    pub id: u64,
    /// What was ordered.
    pub item: String,
    /// Who ordered it.
    pub by: String,
}

#[derive(Debug, Default)]
struct Orders {
    last_id: u64,
    by_user: HashMap<String, Vec<Order>>,
}

impl Peer {
    fn orders(&self) -> std::sync::MutexGuard<'_, Orders> {
        // Each write is one push after one increment: a poisoned lock still
        // guards whole data.
        self.orders.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `POST /orders`'s body.
#[derive(Debug, Deserialize)]
pub struct OrderRequest {
    /// What to order, e.g. `flat white`.
    pub item: String,
}

/// An item must say something, fit on a receipt and hold no control
/// characters; else 422.
fn check_item(item: &str) -> Result<(), ApiError> {
    let refuse = |message| Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message));
    if item.trim().is_empty() {
        return refuse("the item is empty");
    }
    if item.chars().count() > MAX_ITEM_CHARS {
        return refuse("the item is longer than 100 characters");
    }
    if item.chars().any(char::is_control) {
        return refuse("the item holds control characters");
    }
    Ok(())
}

async fn list_orders(State(peer): State<Arc<Peer>>, caller: Caller) -> Json<Vec<Order>> {
    let orders = peer.orders();
    Json(
        orders
            .by_user
            .get(&caller.claims.sub)
            .cloned()
            .unwrap_or_default(),
    )
}

async fn place_order(
    State(peer): State<Arc<Peer>>,
    caller: Caller,
    Json(request): Json<OrderRequest>,
) -> Result<(StatusCode, Json<Order>), ApiError> {
    check_item(&request.item)?;
    let mut orders = peer.orders();
    orders.last_id += 1;
    let order = Order {
        id: orders.last_id,
        item: request.item,
        by: caller.claims.sub.clone(),
    };
    orders
        .by_user
        .entry(caller.claims.sub)
        .or_default()
        .push(order.clone());
    Ok((StatusCode::CREATED, Json(order)))
}

async fn list_users(State(peer): State<Arc<Peer>>, _admin: Admin) -> Json<Vec<UserView>> {
    let users = peer
        .accounts
        .list()
        .into_iter()
        .map(|(name, role)| UserView {
            name,
            role: role.as_str().to_owned(),
        })
        .collect();
    Json(users)
}

/// `POST /admin/users/{name}/role`'s body.
#[derive(Debug, Deserialize)]
pub struct RoleRequest {
    /// `member`, `admin` or `banned`.
    pub role: Role,
}

// ANCHOR: change_role
async fn change_role(
    State(peer): State<Arc<Peer>>,
    _admin: Admin,
    Path(name): Path<String>,
    Json(request): Json<RoleRequest>,
) -> Result<Json<UserView>, ApiError> {
    // Both configurations change the account. Only the hardened one reads
    // it per request: there a change raises the user's token version (see
    // `Accounts::set_role`), a ban is refused on every request, and lifting
    // one ends every login from before it (ASVS 5.0 7.4.2). By default,
    // tokens already issued keep their role until they expire.
    let role = request.role;
    let before = peer
        .accounts
        .set_role(&name, role)
        .ok_or(ApiError::new(StatusCode::NOT_FOUND, "no such user"))?;
    if let Logins::Families(families) = &peer.logins
        && before == Role::Banned
        && role != Role::Banned
    {
        families.end_all(&name);
    }
    Ok(Json(UserView {
        name,
        role: role.as_str().to_owned(),
    }))
}
// ANCHOR_END: change_role

// ANCHOR: logout_everywhere
async fn logout_everywhere(
    State(peer): State<Arc<Peer>>,
    _admin: Admin,
    Path(name): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if peer.accounts.standing(&name).is_none() {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "no such user"));
    }
    let ended = match &peer.logins {
        // Default: the refresh tokens go; access tokens work until expiry.
        Logins::Plain(tokens) => tokens.end_all(&name),
        // Hardened: every login ends, and a new token version ends every
        // access token issued before (ASVS 5.0 7.4.5).
        Logins::Families(families) => {
            peer.accounts.end_access_tokens(&name);
            families.end_all(&name)
        }
    };
    Ok(Json(json!({ "name": name, "ended": ended })))
}
// ANCHOR_END: logout_everywhere
