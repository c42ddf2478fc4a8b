//! What the hardened configuration adds where tower-sessions and
//! axum-login have no setting: each piece says what it does, why, and the
//! rule it comes from. Four more live where they act: the per-user
//! session version behind logout-everywhere and bans (`users::Backend`'s
//! `auth_hash`), the Argon2 check for an unknown name (its
//! `authenticate`), the new session ID at every login (`web`'s `login`),
//! and the memory store that cannot bring a logged-out session back
//! (`store::LiveOnlyStore`).

use std::time::Duration as StdDuration;

use axum::{
    Json,
    extract::{Request, State},
    http::{HeaderValue, StatusCode, header::RETRY_AFTER},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde_json::json;
use time::{Duration, OffsetDateTime};
use tower_sessions_redis_store::fred::prelude::{
    ConnectionConfig, PerformanceConfig, ReconnectPolicy,
};

use peer_axum_login::users::AuthSession;

/// Where the login time is kept in the session.
pub const LOGGED_IN_AT: &str = "peer.logged_in_at_ms";

/// Now, in milliseconds since the Unix epoch, as the session stores it.
pub fn now_ms() -> i64 {
    // Milliseconds since 1970 fit an i64 for 292 million years.
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The absolute timeout. tower-sessions has only per-layer expiries: with
/// `always_save` an active session is saved, and so extended, on every
/// request forever. So the login time goes into the session at login
/// (`web`'s `login`) and every request checks it: past `limit` the session
/// is flushed (record deleted, cookie removed) and the request goes on as
/// anonymous, so the route guards answer 401. A logged-in session without
/// a login time is treated as too old. (ASVS 5.0 requirement 7.3.2; OWASP
/// Session Management Cheat Sheet, "Absolute Timeout".)
pub async fn end_old_logins(
    State(limit): State<Duration>,
    mut request: Request,
    next: Next,
) -> Response {
    if let Some(auth_session) = request.extensions_mut().get_mut::<AuthSession>()
        && auth_session.user.is_some()
    {
        let logged_in_at = match auth_session.session.get::<i64>(LOGGED_IN_AT).await {
            Ok(at) => at,
            Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        };
        let too_old = logged_in_at
            .is_none_or(|at| Duration::milliseconds(now_ms().saturating_sub(at)) > limit);
        // `logout` flushes the session and clears the user in the
        // request's `AuthSession`, which the guards and handlers read next.
        if too_old && auth_session.logout().await.is_err() {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    }
    next.run(request).await
}

/// Store errors answer 503, not 500. tower-sessions answers a failed save
/// with an empty 500 (`tower-sessions@0.14.0 src/service.rs:256-262`),
/// axum-login a failed load the same (`axum-login@0.18.0
/// src/service.rs:81-88`), and the handlers, as the example's, a failed
/// `login`/`logout` too. In this server nothing else answers 500 (the user
/// store is in memory and never fails), so the outermost layer turns every
/// 500 into 503 with `Retry-After`: the client did nothing wrong and may
/// try again shortly (RFC 9110 §15.6.4 and §10.2.3; the book's house rule
/// for a store that fails).
pub async fn store_down_is_503(response: Response) -> Response {
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let mut answer = (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({ "error": "the session store is unavailable; try again shortly" })),
    )
        .into_response();
    answer
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    answer
}

/// fred's settings for the hardened Redis pool. The example's defaults
/// have no command timeout (`default_command_timeout` 0 = wait forever)
/// and no reconnect policy (a dropped connection stays dropped). A request
/// must get its 503 within a second when Redis is away, and the server
/// must come back by itself when Redis does.
pub fn redis_settings() -> (PerformanceConfig, ConnectionConfig, ReconnectPolicy) {
    let performance = PerformanceConfig {
        default_command_timeout: StdDuration::from_secs(1),
        ..PerformanceConfig::default()
    };
    let connection = ConnectionConfig {
        connection_timeout: StdDuration::from_secs(1),
        // One try per command: a retry would only wait out the timeout
        // again while Redis is away.
        max_command_attempts: 1,
        ..ConnectionConfig::default()
    };
    // Retry forever, every 100 ms.
    let reconnect = ReconnectPolicy::new_constant(0, 100);
    (performance, connection, reconnect)
}
