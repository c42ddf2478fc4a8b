//! The café's API: routes, guards and handlers. The guards are axum-login's
//! macros, layered as its `permissions` example layers them; the handlers
//! read the user from the `AuthSession` extractor.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use axum_login::{login_required, permission_required};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::RwLock;

use peer_axum_login::{
    hardening::{self, LOGGED_IN_AT},
    users::{AuthSession, Backend, Credentials, Role, User},
};

/// The longest order item, in characters (the café's limit).
const MAX_ITEM_CHARS: usize = 100;

/// What the handlers share.
#[derive(Clone)]
struct AppState {
    hardened: bool,
    orders: Arc<Orders>,
}

/// Every user's orders, in memory.
#[derive(Default)]
struct Orders {
    next_id: AtomicU64,
    by_user: RwLock<HashMap<String, Vec<Order>>>,
}

/// One order, as the café answers it.
#[derive(Clone, Serialize)]
struct Order {
    id: u64,
    item: String,
    by: String,
}

/// The routes. Two guards, outermost first: `login_required!` answers 401
/// when nobody is logged in, then `permission_required!` 403 when the
/// user's role lacks the permission (a banned user has none). Without the
/// first, `permission_required!` alone would answer 403 to an anonymous
/// caller too (`axum-login@0.18.0 src/middleware.rs:111-131`).
pub fn router(hardened: bool) -> Router {
    let state = AppState {
        hardened,
        orders: Arc::default(),
    };
    let mut admin = Router::new()
        .route("/users", get(list_users))
        .route("/admin/users/{name}/role", post(change_role));
    if hardened {
        // axum-login has no way to end another user's sessions; the
        // hardened server adds one (`users::Backend`'s session version).
        admin = admin.route(
            "/admin/users/{name}/logout-everywhere",
            post(logout_everywhere),
        );
    }
    let admin = admin
        .route_layer(permission_required!(Backend, "users"))
        .route_layer(login_required!(Backend));
    let members = Router::new()
        .route("/me", get(me))
        .route("/orders", get(my_orders).post(place_order))
        .route_layer(permission_required!(Backend, "orders"))
        .route_layer(login_required!(Backend));
    Router::new()
        .merge(admin)
        .merge(members)
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/healthz", get(healthz))
        .with_state(state)
}

/// `{"error": "..."}` with `status`, as the café answers errors.
fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// A session operation failed (the store): the example's answer, an empty
/// 500. The hardened server's outermost layer makes it a 503.
fn store_failed() -> Response {
    StatusCode::INTERNAL_SERVER_ERROR.into_response()
}

fn profile(user: &User) -> serde_json::Value {
    json!({ "name": user.name, "role": user.role })
}

/// `POST /login`.
async fn login(
    State(state): State<AppState>,
    mut auth_session: AuthSession,
    Json(creds): Json<Credentials>,
) -> Response {
    let user = match auth_session.authenticate(creds).await {
        Ok(Some(user)) => user,
        // One answer for a wrong password and an unknown name.
        Ok(None) => return error(StatusCode::UNAUTHORIZED, "wrong name or password"),
        Err(_) => return store_failed(),
    };
    if user.role == Role::Banned {
        return error(StatusCode::FORBIDDEN, "this account is banned");
    }
    // ANCHOR: cycle_id
    if state.hardened {
        // A new session ID at *every* login. axum-login's `login` cycles
        // the ID only when the session is not logged in yet
        // (`axum-login@0.18.0 src/session.rs:115-118`), so a session
        // already logged in (as anyone) keeps its ID when someone else logs
        // in on it: a fixation an attacker who planted a logged-in cookie
        // can use. ASVS 5.0 requirement 7.2.4: a new session token on every
        // authentication, including re-authentication; OWASP Session
        // Management Cheat Sheet, "Renew the Session ID After Any Privilege
        // Level Change".
        if auth_session.session.cycle_id().await.is_err() {
            return store_failed();
        }
    }
    if auth_session.login(&user).await.is_err() {
        return store_failed();
    }
    // ANCHOR_END: cycle_id
    if state.hardened {
        // The login time, for the absolute timeout
        // (`hardening::end_old_logins`).
        let now = hardening::now_ms();
        if auth_session
            .session
            .insert(LOGGED_IN_AT, now)
            .await
            .is_err()
        {
            return store_failed();
        }
    }
    Json(json!({ "user": profile(&user) })).into_response()
}

/// `POST /logout`: axum-login's `logout` flushes the session (the record is
/// deleted from the store) and tower-sessions removes the cookie. 204
/// whether or not anyone was logged in, as the café.
async fn logout(mut auth_session: AuthSession) -> Response {
    match auth_session.logout().await {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(_) => store_failed(),
    }
}

/// `GET /me`.
async fn me(auth_session: AuthSession) -> Response {
    match auth_session.user {
        Some(user) => Json(profile(&user)).into_response(),
        // The guard let nobody through without a user.
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

/// `GET /orders`: the caller's orders.
async fn my_orders(State(state): State<AppState>, auth_session: AuthSession) -> Response {
    let Some(user) = auth_session.user else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let orders = state.orders.by_user.read().await;
    Json(orders.get(&user.name).cloned().unwrap_or_default()).into_response()
}

/// What `POST /orders` carries.
#[derive(Deserialize)]
struct NewOrder {
    item: String,
}

/// `POST /orders`: 1 to 100 printable characters, as the café.
async fn place_order(
    State(state): State<AppState>,
    auth_session: AuthSession,
    Json(NewOrder { item }): Json<NewOrder>,
) -> Response {
    let Some(user) = auth_session.user else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let item = item.trim();
    let length = item.chars().count();
    if length == 0 || length > MAX_ITEM_CHARS || item.chars().any(char::is_control) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("an item is 1 to {MAX_ITEM_CHARS} printable characters"),
        );
    }
    let order = Order {
        id: state.orders.next_id.fetch_add(1, Ordering::Relaxed) + 1,
        item: item.to_owned(),
        by: user.name.clone(),
    };
    let mut orders = state.orders.by_user.write().await;
    orders.entry(user.name).or_default().push(order.clone());
    (StatusCode::CREATED, Json(order)).into_response()
}

/// `GET /users` (admins): every user, sorted by name.
async fn list_users(auth_session: AuthSession) -> Response {
    let users: Vec<_> = auth_session
        .backend
        .list()
        .await
        .into_iter()
        .map(|(name, role)| json!({ "name": name, "role": role }))
        .collect();
    Json(users).into_response()
}

/// What `POST /admin/users/{name}/role` carries.
#[derive(Deserialize)]
struct NewRole {
    role: Role,
}

/// `POST /admin/users/{name}/role` (admins). The new role applies at the
/// user's next request: axum-login loads the user through `get_user` on
/// every request.
async fn change_role(
    auth_session: AuthSession,
    Path(name): Path<String>,
    Json(NewRole { role }): Json<NewRole>,
) -> Response {
    match auth_session.backend.set_role(&name, role).await {
        Some(role) => Json(json!({ "name": name, "role": role })).into_response(),
        None => error(StatusCode::NOT_FOUND, "no such user"),
    }
}

/// `POST /admin/users/{name}/logout-everywhere` (admins, hardened only).
/// `ended` is `null`: the sessions end at their next request, and no store
/// can count a user's sessions.
async fn logout_everywhere(auth_session: AuthSession, Path(name): Path<String>) -> Response {
    if auth_session.backend.end_sessions(&name).await {
        Json(json!({ "name": name, "ended": null })).into_response()
    } else {
        error(StatusCode::NOT_FOUND, "no such user")
    }
}

/// `GET /healthz`.
async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}
