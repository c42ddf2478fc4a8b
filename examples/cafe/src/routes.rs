//! The café's JSON API. Every handler is the same whatever the mechanism;
//! the mechanism is reached only through [`AppState::mechanism`].

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, State};
use axum::http::header::{LINK, RETRY_AFTER, USER_AGENT};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Extension, Json, Router, middleware};
use cafe::auth::{
    Admin, AppState, AuthFailure, CurrentUser, Device, Issued, LoggedIn, Login, LoginEnded,
    Mechanism, Presented, TokenResponse, admit,
};
use cafe::cross_site::real_preflights_only;
use cafe::error::ApiError;
use cafe::guards::{
    AllowedOrigins, challenge_every_401, refuse_cross_site_writes, require_json_bodies,
    security_headers,
};
use cafe::orders::{MAX_ORDERS_PER_PAGE, Order};
use cafe::throttle::LoginAttempt;
use cafe::users::{Account, Profile, Role};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use tower::util::option_layer;
use tower_http::cors::CorsLayer;
use tower_http::trace::TraceLayer;

/// Bodies larger than this are refused with 413. The largest legitimate body
/// (a login) is well under 2 KiB.
pub const BODY_LIMIT_BYTES: usize = 16 * 1024;

/// Longest accepted user name, in bytes: a longer one is refused before
/// anything is looked up or hashed.
pub const MAX_NAME_BYTES: usize = 64;
/// Longest accepted password, in bytes. Argon2 accepts any length, but
/// hashing a megabyte on request is a gift to an attacker.
pub const MAX_PASSWORD_BYTES: usize = 1024;
const MAX_ITEM_CHARS: usize = 100;

/// The app's routes over `state`, and the `web` client's;
/// state-changing requests must come from one of `origins` (or from no
/// browser at all), and `cors`, if any, lets pages on other sites read the
/// answers (`--cross-site-origin`).
pub fn router<M: Mechanism>(
    state: AppState<M>,
    origins: AllowedOrigins,
    cors: Option<CorsLayer>,
    web: Router<AppState<M>>,
) -> Router {
    // The mechanism's challenge, for the 401s no credential check wrote
    // (a wrong password).
    let challenge = state.mechanism.challenge(AuthFailure::Missing);
    Router::new()
        .merge(web)
        .route("/healthz", get(healthz))
        .route("/login", post(login::<M>))
        .route("/refresh", post(refresh::<M>))
        .route("/logout", post(logout::<M>))
        .route("/me", get(me))
        .route("/me/password", post(change_password::<M>))
        .route("/me/logins", get(my_logins::<M>))
        .route("/me/logins/{id}", delete(end_my_login::<M>))
        .route("/users", get(list_users::<M>))
        .route("/orders", get(my_orders::<M>).post(place_order::<M>))
        .route("/admin/users/{name}/role", post(change_role::<M>))
        .route(
            "/admin/users/{name}/logout-everywhere",
            post(logout_everywhere::<M>),
        )
        .merge(M::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(wrong_method)
        // Innermost, so its 408 gets every header the layers below add.
        .layer(middleware::from_fn(cafe::answer_late_bodies))
        .layer(middleware::from_fn(require_json_bodies))
        .layer(middleware::from_fn_with_state(
            Arc::new(origins),
            refuse_cross_site_writes,
        ))
        .layer(middleware::from_fn_with_state(
            challenge,
            challenge_every_401,
        ))
        // Outside the origin check, so it answers preflights itself and
        // adds its headers to refusals too; inside the security headers,
        // which every answer gets. No layer at all by default.
        .layer(option_layer(cors.map(|cors| {
            middleware::from_fn_with_state(cors, real_preflights_only)
        })))
        .layer(middleware::from_fn(security_headers))
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such endpoint")
}

/// A known path asked with a method it does not take: JSON, like every
/// other error (axum sends the `Allow` header by itself).
async fn wrong_method() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "this endpoint takes another method",
    )
}

/// A path segment that is not text (`%FF`): 400 in JSON, like every other
/// error, rather than axum's plain-text answer.
fn path_error(rejection: PathRejection) -> ApiError {
    ApiError::new(rejection.status(), rejection.body_text())
}

/// A response with a mechanism's headers added.
fn with_issued(mut response: Response, issued: Issued) -> Response {
    for (name, value) in issued.headers {
        response.headers_mut().append(name, value);
    }
    response
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

// ANCHOR: login
async fn login<M: Mechanism>(
    State(state): State<AppState<M>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Result<Json<Credentials>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(Credentials { username, password }) = body?;
    if username.len() > MAX_NAME_BYTES || password.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "username or password too long",
        ));
    }
    let now = state.clock.now();
    // The attempt is counted before the password is checked, one atomic
    // step per count: a thousand guesses sent at once still get five
    // checks. Counted per account and client, so a stranger's guesses do
    // not lock the owner out (see `cafe::throttle`).
    let client = client_of(&state, peer, &headers);
    let attempt = counted(&state, &username, &client, now, "login").await?;

    // Until a password is checked, the attempt is taken back on any error:
    // an overloaded or failing server must not count the owner's tries.
    let account = match state.stores.accounts.account(&username).await {
        Ok(account) => account,
        Err(error) => {
            attempt.abandon().await.ok();
            return Err(error.into());
        }
    };
    let Ok(matches) = state.passwords.check(account.as_ref(), &password).await else {
        attempt.abandon().await?;
        return Err(ApiError::unavailable("every password-check slot is busy"));
    };
    let Some(account) = account.filter(|_| matches) else {
        // The same answer for an unknown name and a wrong password.
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "wrong username or password",
        ));
    };
    attempt.succeeded().await?;
    let profile = admit(Some(account.profile()))?;

    let device = device(&client, &headers);
    let login = state
        .mechanism
        .issue(&headers, &profile, device, now)
        .await?;
    // A password change may have landed between the check and the issue:
    // its "end every login" ran before this login existed. So the hash is
    // read again now that the login exists; if it moved, this login ends
    // here. (A change that writes its hash after this read ends every login
    // after it, this one included.)
    let unchanged = state.stores.accounts.account(&username).await?;
    if unchanged.is_none_or(|now| now.password_hash != account.password_hash) {
        state
            .mechanism
            .end_login(&profile.name, &login.login, now)
            .await?;
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "wrong username or password",
        ));
    }
    Ok(logged_in(login, None))
}

/// Where a login comes from, for the user's list of logins: the client the
/// throttle counts, and the request's `User-Agent`, shortened.
fn device(client: &str, headers: &HeaderMap) -> Device {
    let user_agent = headers
        .get(USER_AGENT)
        .and_then(|value| value.to_str().ok());
    Device::new(client, user_agent)
}

/// A password attempt on `account` from `client`, counted by the throttle
/// before any password is checked; past its limits, `429` with
/// `Retry-After` ("too many `what` attempts").
async fn counted<'a, M>(
    state: &'a AppState<M>,
    account: &str,
    client: &str,
    now: std::time::SystemTime,
    what: &str,
) -> Result<LoginAttempt<'a>, ApiError> {
    let throttle = state.stores.throttle.as_ref();
    match LoginAttempt::reserve(throttle, account, client, now, state.throttle).await? {
        Ok(attempt) => Ok(attempt),
        Err(retry_after) => Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!("too many {what} attempts; try later"),
        )
        .with_header(RETRY_AFTER, HeaderValue::from(whole_seconds(retry_after)))),
    }
}

/// `Retry-After` in whole seconds, rounded up: a client that waits as long
/// as it is told is not refused again for arriving early.
fn whole_seconds(wait: std::time::Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

/// A login's or refresh's answer: `{"user": …}`, and the tokens if the
/// mechanism hands out tokens; after a password change, how many logins
/// it ended.
#[derive(Serialize)]
struct LoginAnswer {
    #[serde(flatten)]
    tokens: Option<TokenResponse>,
    user: Profile,
    #[serde(skip_serializing_if = "Option::is_none")]
    logins_ended: Option<usize>,
}

/// `200` with a [`LoginAnswer`], plus the headers the mechanism added.
fn logged_in(
    LoggedIn {
        profile, issued, ..
    }: LoggedIn,
    logins_ended: Option<usize>,
) -> Response {
    let answer = LoginAnswer {
        tokens: issued.tokens,
        user: profile,
        logins_ended,
    };
    let issued = Issued {
        headers: issued.headers,
        tokens: None,
    };
    with_issued(Json(answer).into_response(), issued)
}
// ANCHOR_END: login

/// `POST /refresh`: the mechanism swaps its renewal credential, if it has one.
async fn refresh<M: Mechanism>(
    State(state): State<AppState<M>>,
    request: Presented,
) -> Result<Response, ApiError> {
    let renewed = state.mechanism.renew(&request, state.clock.now()).await?;
    Ok(logged_in(renewed, None))
}

/// `POST /logout`: ends the login named by whichever credential the request
/// carries. Always 204: there is nothing to tell a caller whose login had
/// already ended.
async fn logout<M: Mechanism>(
    State(state): State<AppState<M>>,
    request: Presented,
) -> Result<Response, ApiError> {
    let issued = state.mechanism.revoke(&request, state.clock.now()).await?;
    let mut response = with_issued(StatusCode::NO_CONTENT.into_response(), issued);
    response
        .headers_mut()
        .insert(CLEAR_SITE_DATA, HeaderValue::from_static(FORGET_EVERYTHING));
    Ok(response)
}

/// The `Clear-Site-Data` header (W3C Clear Site Data).
const CLEAR_SITE_DATA: HeaderName = HeaderName::from_static("clear-site-data");

/// What a logout's answer tells the browser to forget: its cache, its
/// cookies and its storage (`localStorage` too, where `--auth jwt` keeps its
/// tokens), in every mode, since every mode leaves something there (ASVS
/// 5.0 14.3.1). The browser clears the whole site's cookies and storage, so
/// an app that shares its registrable domain with others clears theirs too.
const FORGET_EVERYTHING: &str = "\"cache\", \"cookies\", \"storage\"";

// ANCHOR: change_password
/// `POST /me/password`.
#[derive(Deserialize)]
struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// The shortest new password, in characters: ASVS 5.0 requirement 6.2.1
/// asks for at least 8 (and recommends 15).
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Why a new password is refused, or `None`. Length only, never
/// composition rules (ASVS 5.0 6.2.5), counted in characters as typed, never
/// truncated or case-folded (6.2.8); up to [`MAX_PASSWORD_BYTES`] bytes,
/// which is at least 256 characters (6.2.9 asks for 64). Not the current
/// one, nor the account's own name (6.2.11).
fn new_password_problem(name: &str, current: &str, new: &str) -> Option<String> {
    if new.chars().count() < MIN_PASSWORD_CHARS {
        Some(format!(
            "a new password has at least {MIN_PASSWORD_CHARS} characters"
        ))
    } else if new.len() > MAX_PASSWORD_BYTES {
        Some(format!(
            "a new password has at most {MAX_PASSWORD_BYTES} bytes"
        ))
    } else if new == current {
        Some("the new password is the current one".to_owned())
    } else if new.eq_ignore_ascii_case(name) {
        Some("a password cannot be the account's name".to_owned())
    } else {
        None
    }
}

/// Changes the caller's password (ASVS 5.0 6.2.2, 6.2.3): the current one is
/// checked as a login checks it ([`reauthenticate`]), the new one is hashed
/// in the same slots and stored only if the stored hash is still the one
/// checked, every login of the account ends (7.4.3), this one included,
/// and the caller gets a fresh one, answered as a login is.
async fn change_password<M: Mechanism>(
    user: CurrentUser,
    State(state): State<AppState<M>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Result<Json<PasswordChange>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(PasswordChange {
        current_password,
        new_password,
    }) = body?;
    if let Some(problem) = new_password_problem(&user.name, &current_password, &new_password) {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, problem));
    }
    let now = state.clock.now();
    let client = client_of(&state, peer, &headers);
    let (account, profile) = reauthenticate(&state, &user, &client, &current_password).await?;
    let Ok(new_hash) = state.passwords.hash(&new_password).await else {
        return Err(ApiError::unavailable("every password-check slot is busy"));
    };
    let new_hash = new_hash.map_err(ApiError::internal)?;
    // Every login ends before the new hash is written and again after it,
    // and only then does the caller get a fresh one. Before: should the
    // write or anything after it fail, no login made before the change
    // survives it (the caller logs in again; a thief cannot). After: a
    // login made with the old password while the hash was being written is
    // caught here, or by its own re-read of the hash (see `login`).
    // The clock is read again: hashing may have waited for a slot, and a
    // denial must count from when the logins end, not from the request.
    let mut ended = state
        .mechanism
        .revoke_all(&user.name, state.clock.now())
        .await?;
    let changed = state
        .stores
        .accounts
        .set_password(&user.name, &account.password_hash, &new_hash)
        .await?;
    if !changed {
        // Another change with the same current password won the race. (Its
        // fresh login may have been ended by this one's first pass: its
        // owner logs in again, with the password that won.)
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "the password was changed meanwhile; log in with the new one",
        ));
    }
    ended += state
        .mechanism
        .revoke_all(&user.name, state.clock.now())
        .await?;
    let device = device(&client, &headers);
    let login = state
        .mechanism
        .issue(&headers, &profile, device, now)
        .await?;
    Ok(logged_in(login, Some(ended)))
}
// ANCHOR_END: change_password

// ANCHOR: reauthenticate
/// Checks the caller's current password as a login checks it: the same
/// throttle counts (per account and client), the same hashing slots, and
/// the account as it is now, not as a token's claims remember it (a user
/// banned since their access token was issued is refused). ASVS 5.0 asks
/// for it before a password change (6.2.3) and before ending a login
/// (7.5.2: "having authenticated again with at least one factor"), so a
/// thief holding only a credential can do neither. Returns the account as
/// checked.
async fn reauthenticate<M: Mechanism>(
    state: &AppState<M>,
    user: &CurrentUser,
    client: &str,
    current_password: &str,
) -> Result<(Account, Profile), ApiError> {
    if current_password.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "current_password too long",
        ));
    }
    let now = state.clock.now();
    let attempt = counted(state, &user.name, client, now, "password").await?;
    let account = match state.stores.accounts.account(&user.name).await {
        Ok(account) => account,
        Err(error) => {
            attempt.abandon().await.ok();
            return Err(error.into());
        }
    };
    let profile = match admit(account.as_ref().map(Account::profile)) {
        Ok(profile) => profile,
        Err(barred) => {
            attempt.abandon().await.ok();
            return Err(barred.into());
        }
    };
    let Some(account) = account else {
        return Err(ApiError::unauthenticated()); // `admit` refused `None` already
    };
    let Ok(matches) = state
        .passwords
        .check(Some(&account), current_password)
        .await
    else {
        attempt.abandon().await?;
        return Err(ApiError::unavailable("every password-check slot is busy"));
    };
    if !matches {
        // 403, not 401: the caller is logged in, and stays so; what they
        // sent is not enough for this (RFC 9110 §15.5.4). The attempt
        // stays counted, as a wrong password at login does.
        return Err(ApiError::forbidden("the current password is wrong"));
    }
    attempt.succeeded().await?;
    Ok((account, profile))
}

/// The client a request comes from, as the throttle counts it.
fn client_of<M>(
    state: &AppState<M>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: &HeaderMap,
) -> String {
    let peer = peer.map(|Extension(ConnectInfo(peer))| peer.ip());
    state.trusted_proxies.client(peer, headers)
}
// ANCHOR_END: reauthenticate

// ANCHOR: logins
/// `GET /me/logins`: the caller's live logins, oldest first, the caller's
/// own marked `current` (ASVS 5.0 7.5.2).
async fn my_logins<M: Mechanism>(
    user: CurrentUser,
    State(state): State<AppState<M>>,
) -> Result<Json<Vec<Login>>, ApiError> {
    let mut logins = state
        .mechanism
        .logins(&user.name, state.clock.now())
        .await?;
    for login in &mut logins {
        login.current = login.id == user.login;
    }
    Ok(Json(logins))
}

/// `DELETE /me/logins/{id}` with `{"current_password": "…"}`.
#[derive(Deserialize)]
struct Reauthentication {
    current_password: String,
}

/// `DELETE /me/logins/{id}`: ends one of the caller's logins, once the
/// caller has given the current password again ([`reauthenticate`]; ASVS 5.0
/// 7.5.2), so that a thief holding a stolen credential cannot end the
/// owner's logins and keep their own. Another user's id, an unknown one and
/// one already ended are all 404: the answer tells nobody whose ids exist.
async fn end_my_login<M: Mechanism>(
    user: CurrentUser,
    State(state): State<AppState<M>>,
    id: Result<Path<String>, PathRejection>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Result<Json<Reauthentication>, JsonRejection>,
) -> Result<Json<LoginEnded>, ApiError> {
    let Path(id) = id.map_err(path_error)?;
    let Json(Reauthentication { current_password }) = body?;
    let client = client_of(&state, peer, &headers);
    reauthenticate(&state, &user, &client, &current_password).await?;
    let now = state.clock.now();
    state
        .mechanism
        .end_login(&user.name, &id, now)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "you have no such login"))
}
// ANCHOR_END: logins

// ANCHOR: me
async fn me(user: CurrentUser) -> Json<Profile> {
    Json(Profile {
        name: user.name,
        role: user.role,
    })
}
// ANCHOR_END: me

async fn list_users<M: Mechanism>(
    Admin(_): Admin,
    State(state): State<AppState<M>>,
) -> Result<Json<Vec<Profile>>, ApiError> {
    Ok(Json(state.stores.accounts.all().await?))
}

#[derive(Deserialize)]
struct NewOrder {
    item: String,
}

async fn place_order<M: Mechanism>(
    user: CurrentUser,
    State(state): State<AppState<M>>,
    body: Result<Json<NewOrder>, JsonRejection>,
) -> Result<(StatusCode, Json<Order>), ApiError> {
    let Json(NewOrder { item }) = body?;
    let item = item.trim();
    let length = item.chars().count();
    if length == 0 || length > MAX_ITEM_CHARS || item.chars().any(char::is_control) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("an item is 1 to {MAX_ITEM_CHARS} printable characters"),
        ));
    }
    let most = state.max_orders_per_user;
    let Some(order) = state.stores.orders.place(&user.name, item, most).await? else {
        // 409 Conflict (RFC 9110 §15.5.10): the request is fine, but it
        // conflicts with the state of the caller's orders, which are full,
        // and the message says why. Not 422 (§15.5.21: the same order is
        // fine from anyone else), not 429 (RFC 6585 §4: waiting would not
        // help) and not 403 (§15.5.4: alice may order, just not more).
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("an account keeps at most {most} orders, and this one has {most}"),
        ));
    };
    Ok((StatusCode::CREATED, Json(order)))
}

/// `GET /orders?after=<id>&limit=<n>`: which page of the caller's orders.
#[derive(Deserialize)]
struct OrdersPage {
    /// The last id of the page before; 0 (the default) for the first page.
    #[serde(default)]
    after: u64,
    /// How many orders, 1 to [`MAX_ORDERS_PER_PAGE`] (the default).
    limit: Option<usize>,
}

/// The caller's orders, oldest first, a page at a time. The body stays a
/// JSON array of orders; while there are more, a `Link: <…>; rel="next"`
/// header (RFC 8288 §3) gives the next page's address.
async fn my_orders<M: Mechanism>(
    user: CurrentUser,
    State(state): State<AppState<M>>,
    page: Result<Query<OrdersPage>, QueryRejection>,
) -> Result<(HeaderMap, Json<Vec<Order>>), ApiError> {
    let Query(OrdersPage { after, limit }) =
        page.map_err(|rejection| ApiError::new(StatusCode::BAD_REQUEST, rejection.body_text()))?;
    let count = limit.unwrap_or(MAX_ORDERS_PER_PAGE);
    if !(1..=MAX_ORDERS_PER_PAGE).contains(&count) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("limit is 1 to {MAX_ORDERS_PER_PAGE}"),
        ));
    }
    // One more than the page: if it comes back, there is a next page.
    let mut orders = state
        .stores
        .orders
        .placed_by(&user.name, after, count + 1)
        .await?;
    let mut headers = HeaderMap::new();
    if orders.len() > count {
        orders.truncate(count);
        let last = orders.last().map_or(after, |order| order.id);
        let next = match limit {
            Some(limit) => format!("</orders?after={last}&limit={limit}>; rel=\"next\""),
            None => format!("</orders?after={last}>; rel=\"next\""),
        };
        headers.insert(
            LINK,
            HeaderValue::try_from(next).map_err(ApiError::internal)?,
        );
    }
    Ok((headers, Json(orders)))
}

#[derive(Deserialize)]
struct RoleChange {
    role: Role,
}

async fn change_role<M: Mechanism>(
    Admin(_): Admin,
    State(state): State<AppState<M>>,
    name: Result<Path<String>, PathRejection>,
    body: Result<Json<RoleChange>, JsonRejection>,
) -> Result<Json<Profile>, ApiError> {
    let Path(name) = name.map_err(path_error)?;
    let Json(RoleChange { role }) = body?;
    let profile = state
        .stores
        .accounts
        .set_role(&name, role)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no such user"))?;
    state.mechanism.user_changed(&name).await?;
    Ok(Json(profile))
}

async fn logout_everywhere<M: Mechanism>(
    Admin(_): Admin,
    State(state): State<AppState<M>>,
    name: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(name) = name.map_err(path_error)?;
    if state.stores.accounts.account(&name).await?.is_none() {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "no such user"));
    }
    let ended = state.mechanism.revoke_all(&name, state.clock.now()).await?;
    Ok(Json(json!({ "name": name, "ended": ended })))
}
