//! The café's JSON API. Every handler is the same whatever the mechanism;
//! the mechanism is reached only through [`AppState::mechanism`].

use crate::auth::{Admin, AppState, CurrentUser, Issued, Mechanism};
use crate::error::ApiError;
use crate::guards::{no_store, refuse_cross_site_writes, require_json_bodies};
use crate::orders::Order;
use crate::users::{Profile, Role};
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use serde::Deserialize;
use serde_json::{Value, json};

/// Bodies larger than this are refused with 413. The largest legitimate body
/// (a login) is well under 2 KiB.
pub const BODY_LIMIT_BYTES: usize = 16 * 1024;

/// Longest accepted user name and password. Argon2 accepts any length, but
/// hashing a megabyte on request is a gift to an attacker.
const MAX_NAME_BYTES: usize = 64;
const MAX_PASSWORD_BYTES: usize = 1024;
const MAX_ITEM_CHARS: usize = 100;

/// The app's routes over `state`.
pub fn router<M: Mechanism>(state: AppState<M>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/login", post(login::<M>))
        .route("/logout", post(logout::<M>))
        .route("/me", get(me))
        .route("/users", get(list_users::<M>))
        .route("/orders", get(my_orders::<M>).post(place_order::<M>))
        .route("/admin/users/{name}/role", post(change_role::<M>))
        .route(
            "/admin/users/{name}/logout-everywhere",
            post(logout_everywhere::<M>),
        )
        .merge(M::routes())
        .fallback(not_found)
        .layer(middleware::from_fn(require_json_bodies))
        .layer(middleware::from_fn(refuse_cross_site_writes))
        .layer(middleware::from_fn(no_store))
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .with_state(state)
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such endpoint")
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
    if let Err(wait) = state.throttle.check(&username, now) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too many failed logins; try later",
        )
        .with_header(RETRY_AFTER, HeaderValue::from(wait.as_secs())));
    }

    // Argon2 takes tens of milliseconds of CPU: keep it off the async workers.
    let users = state.users.clone();
    let name = username.clone();
    let checked = tokio::task::spawn_blocking(move || users.check_password(&name, &password))
        .await
        .map_err(ApiError::internal)?;
    let Some(profile) = checked else {
        state.throttle.failed(&username, now);
        // The same answer for an unknown name and a wrong password.
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "wrong username or password",
        ));
    };
    state.throttle.succeeded(&username);
    if profile.role == Role::Banned {
        return Err(ApiError::forbidden("this account is banned"));
    }

    let issued = state.mechanism.issue(&headers, &profile.name, now).await?;
    Ok(logged_in(&profile, issued))
}

/// `200 {"user": …}` plus whatever the mechanism issued.
pub fn logged_in(profile: &Profile, issued: Issued) -> Response {
    let mut body = serde_json::Map::new();
    body.insert("user".to_owned(), json!(profile));
    body.extend(issued.body.clone());
    with_issued(Json(body).into_response(), issued)
}
// ANCHOR_END: login

async fn logout<M: Mechanism>(
    State(state): State<AppState<M>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let issued = state.mechanism.revoke(&headers, state.clock.now()).await?;
    Ok(with_issued(StatusCode::NO_CONTENT.into_response(), issued))
}

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
) -> Json<Vec<Profile>> {
    Json(state.users.all())
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
    Ok((
        StatusCode::CREATED,
        Json(state.orders.place(&user.name, item)),
    ))
}

async fn my_orders<M: Mechanism>(
    user: CurrentUser,
    State(state): State<AppState<M>>,
) -> Json<Vec<Order>> {
    Json(state.orders.placed_by(&user.name))
}

#[derive(Deserialize)]
struct RoleChange {
    role: Role,
}

async fn change_role<M: Mechanism>(
    Admin(_): Admin,
    State(state): State<AppState<M>>,
    Path(name): Path<String>,
    body: Result<Json<RoleChange>, JsonRejection>,
) -> Result<Json<Profile>, ApiError> {
    let Json(RoleChange { role }) = body?;
    let profile = state
        .users
        .set_role(&name, role)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no such user"))?;
    state.mechanism.user_changed(&name);
    Ok(Json(profile))
}

async fn logout_everywhere<M: Mechanism>(
    Admin(_): Admin,
    State(state): State<AppState<M>>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if state.users.profile(&name).is_none() {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "no such user"));
    }
    let ended = state.mechanism.revoke_all(&name).await?;
    Ok(Json(json!({ "name": name, "ended": ended })))
}
