//! The café's API served by tower-sessions and axum-login doing the work,
//! written the way axum-login's own `permissions` example does it: an
//! `AuthnBackend`/`AuthzBackend` for users and permissions, the
//! `AuthSession` extractor, `login_required!`/`permission_required!` route
//! guards, a `SessionManagerLayer` and an `AuthManagerLayerBuilder`.
//!
//! Two configurations ([`PeerConfig::docs_default`],
//! [`PeerConfig::hardened`]) on two stores ([`SessionStoreChoice`]):
//!
//! ```console
//! $ cargo run -p peer-axum-login -- --hardened --store redis --redis-url redis://127.0.0.1:6379
//! listening on http://127.0.0.1:8081
//! ```
//!
//! Tests build the same server with [`app`] and run it with [`serve`] on a
//! loopback listener.

// A request must never panic its way out: every path reachable from one
// returns an error instead.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

// Lets this crate's files name it `peer_axum_login::…`, as the book's
// listings do.
extern crate self as peer_axum_login;

pub mod hardening;
pub mod layer;
pub mod store;
pub mod users;
pub mod web;

use std::fmt;

use axum::Router;
use axum_login::AuthManagerLayerBuilder;
use time::Duration;
use tower_sessions::{MemoryStore, SessionStore};
use tower_sessions_redis_store::{
    RedisStore,
    fred::prelude::{ClientLike, Config, Pool},
};

use peer_axum_login::{layer::session_layer, store::LiveOnlyStore, users::Backend};

/// Where the sessions live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionStoreChoice {
    /// tower-sessions' `MemoryStore`, as in axum-login's examples.
    Memory,
    /// `tower-sessions-redis-store` on this Redis URL: what several servers
    /// share.
    Redis {
        /// `redis://host:port`.
        url: String,
    },
}

/// How the server is configured.
#[derive(Debug, Clone)]
pub struct PeerConfig {
    /// `false`: as the docs leave it; `true`: the library's knobs turned to
    /// what the book recommends, plus the minimum the library has no knob
    /// for (see [`hardening`]).
    pub hardened: bool,
    /// Where the sessions live.
    pub store: SessionStoreChoice,
    /// `Expiry::OnInactivity`: how long a session lives after it was last
    /// *saved* (tower-sessions counts a save as activity, a read not).
    pub idle_timeout: Duration,
    /// How long after login a session ends whatever its activity; `None`:
    /// never (tower-sessions has no such setting). Only the hardened
    /// configuration sets one.
    pub absolute_timeout: Option<Duration>,
}

impl PeerConfig {
    /// As the docs leave it: axum-login's `permissions` example
    /// (`examples/permissions/src/web/app.rs:32-34` at v0.18.0) sets
    /// `with_secure(false)` and `Expiry::OnInactivity(Duration::days(1))`
    /// and leaves everything else at tower-sessions' defaults.
    pub fn docs_default(store: SessionStoreChoice) -> PeerConfig {
        PeerConfig {
            hardened: false,
            store,
            idle_timeout: Duration::days(1),
            absolute_timeout: None,
        }
    }

    /// The book's settings. Idle 30 minutes and absolute 8 hours: OWASP
    /// Session Management Cheat Sheet, "Session Expiration" (15-30 minutes
    /// idle for low-risk applications; 4 to 8 hours absolute for a working
    /// day); ASVS 5.0 requirements 7.3.1 and 7.3.2.
    pub fn hardened(store: SessionStoreChoice) -> PeerConfig {
        PeerConfig {
            hardened: true,
            store,
            idle_timeout: Duration::minutes(30),
            absolute_timeout: Some(Duration::hours(8)),
        }
    }
}

/// The session cookie's name in each configuration.
pub fn cookie_name(hardened: bool) -> &'static str {
    if hardened {
        // ASVS 5.0 requirements 3.3.1 and 3.3.3: the `__Host-` prefix makes
        // the browser refuse the cookie unless it is Secure, Path=/ and has
        // no Domain, so a sibling subdomain cannot plant or shadow it.
        // tower-sessions never adds a prefix itself.
        "__Host-id"
    } else {
        // tower-sessions' default (`tower-sessions@0.14.0 src/service.rs:132`).
        "id"
    }
}

/// The server could not start.
#[derive(Debug)]
pub enum StartError {
    /// Redis could not be reached or the URL is not one.
    Redis(String),
    /// Hashing the demo users' passwords did not finish.
    Users(String),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Redis(err) => write!(f, "--redis-url: {err}"),
            StartError::Users(err) => write!(f, "could not prepare the demo users: {err}"),
        }
    }
}

impl std::error::Error for StartError {}

/// The whole server for `config`: routes, the session layer, the auth layer
/// and (hardened) the additions. Connects to Redis first if asked to.
pub async fn app(config: PeerConfig) -> Result<Router, StartError> {
    Ok(app_and_backend(config).await?.0)
}

/// [`app`], and a handle on its users, which a test keeps to count the
/// password checks ([`Backend::verifications`]).
pub async fn app_and_backend(config: PeerConfig) -> Result<(Router, Backend), StartError> {
    let backend = Backend::with_demo_users(config.hardened)
        .await
        .map_err(StartError::Users)?;
    let app = app_on_store(&config, backend.clone()).await?;
    Ok((app, backend))
}

/// The server for `config` on `backend`, on the store `config` names.
async fn app_on_store(config: &PeerConfig, backend: Backend) -> Result<Router, StartError> {
    match &config.store {
        // Hardened: a memory store whose save cannot bring a logged-out
        // session back (see `store`).
        SessionStoreChoice::Memory if config.hardened => {
            Ok(app_on(LiveOnlyStore::default(), backend, config))
        }
        SessionStoreChoice::Memory => Ok(app_on(MemoryStore::default(), backend, config)),
        SessionStoreChoice::Redis { url } => {
            let pool = connect_redis(url, config.hardened)
                .await
                .map_err(StartError::Redis)?;
            Ok(app_on(RedisStore::new(pool), backend, config))
        }
    }
}

/// Serves `app` on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, app: Router) -> std::io::Result<()> {
    axum::serve(listener, app).await
}

/// A fred pool, as the Redis store's example makes it
/// (`tower-sessions-stores` `redis-store/examples/redis.rs`: `Pool::new`
/// with the default config and 6 connections, then `connect` and
/// `wait_for_connect`). Hardened adds timeouts and reconnection
/// ([`hardening::redis_settings`]).
///
/// Both refuse to start when Redis does not answer within 5 seconds: with
/// a reconnect policy, `wait_for_connect` can otherwise wait for good for a
/// server that is not there (seen with the hardened pool and nothing
/// listening on the port).
async fn connect_redis(url: &str, hardened: bool) -> Result<Pool, String> {
    let config = Config::from_url(url).map_err(|err| err.to_string())?;
    let pool = if hardened {
        let (performance, connection, reconnect) = hardening::redis_settings();
        Pool::new(
            config,
            Some(performance),
            Some(connection),
            Some(reconnect),
            6,
        )
    } else {
        Pool::new(config, None, None, None, 6)
    }
    .map_err(|err| err.to_string())?;
    // The task that drives the connections runs on its own; the pool is
    // usable once `wait_for_connect` returns.
    let _connections = pool.connect();
    match tokio::time::timeout(REDIS_START_WAIT, pool.wait_for_connect()).await {
        Ok(Ok(())) => Ok(pool),
        Ok(Err(err)) => Err(err.to_string()),
        Err(_) => Err(format!(
            "no connection to {url} within {REDIS_START_WAIT:?}"
        )),
    }
}

/// How long the server waits for Redis at start.
const REDIS_START_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The routes on `store`, with the auth layer around them. Public so a
/// test can serve the hardened layer on the library's own `MemoryStore`.
pub fn app_on<S: SessionStore + Clone>(store: S, backend: Backend, config: &PeerConfig) -> Router {
    let auth_layer = AuthManagerLayerBuilder::new(backend, session_layer(store, config)).build();
    let routes = web::router(config.hardened);
    if !config.hardened {
        return routes.layer(auth_layer);
    }
    let routes = match config.absolute_timeout {
        Some(limit) => routes.layer(axum::middleware::from_fn_with_state(
            limit,
            hardening::end_old_logins,
        )),
        None => routes,
    };
    routes
        .layer(auth_layer)
        .layer(axum::middleware::map_response(hardening::store_down_is_503))
}
