//! The café app: log in, see yourself, order coffee, and an admin who
//! changes roles — one JSON API, served with whichever authentication
//! mechanism the [`Config`] names.
//!
//! Run it:
//!
//! ```console
//! $ cargo run -p cafe -- serve --auth sessions
//! listening on http://127.0.0.1:8080
//! ```
//!
//! and talk to it:
//!
//! ```console
//! $ curl -i localhost:8080/login -H 'content-type: application/json' \
//!        -d '{"username":"alice","password":"wonderland-42"}'
//! ```
//!
//! Tests and the book build the same app in-process with [`app`], or start
//! it on a free port with [`serve`].

pub mod auth;
pub mod clock;
pub mod duration;
pub mod error;
mod guards;
pub mod inspect;
pub mod mechanisms;
pub mod orders;
mod routes;
pub mod throttle;
pub mod users;

pub use guards::cross_site_verdict;
pub use routes::BODY_LIMIT_BYTES;

use auth::AppState;
use axum::Router;
use clock::{Clock, SystemClock};
use jwt::keys::{KeyRing, SigningAlgorithm, SigningKey};
use jwt::{Lifetimes, TokenAuthority};
use mechanisms::jwt::JwtMechanism;
use mechanisms::sessions::SessionMechanism;
use orders::Orders;
use sessions::{MemoryStore, Sessions, Timeouts, Verdict};
use std::sync::Arc;
use std::time::Duration;
use throttle::{LoginThrottle, ThrottlePolicy};
use tokio::net::TcpListener;
use users::Users;

/// Which mechanism remembers who is logged in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// Server-side sessions: a random ID in a cookie, the record on the server.
    Sessions,
    /// JWTs: a signed access token on every request, a refresh token to renew it.
    Jwt,
}

/// Everything the app is built from. [`Config::new`] gives the defaults the
/// book describes; tests replace the parts they need to watch or steer (the
/// clock, the session store).
pub struct Config {
    /// The mechanism.
    pub auth: AuthMode,
    /// The accounts (the demo users by default).
    pub users: Arc<Users>,
    /// Where sessions live.
    pub session_store: Arc<MemoryStore>,
    /// Idle and absolute session timeouts.
    pub session_timeouts: Timeouts,
    /// Failed-login limits.
    pub throttle: ThrottlePolicy,
    /// The keys that sign JWTs (a random HS256 secret by default).
    pub jwt_keys: KeyRing,
    /// Access and refresh token lifetimes (15 minutes, 7 days).
    pub jwt_lifetimes: Lifetimes,
    /// Check each access token's version against the user's current one, so
    /// a role change, ban or "log out everywhere" applies at once (one lookup
    /// per request). Off by default, as in most JWT deployments.
    pub check_token_version: bool,
    /// The time.
    pub clock: Arc<dyn Clock>,
}

impl Config {
    /// The defaults: demo users, in-memory sessions, 30 min idle and 8 h
    /// absolute timeouts, 5 failed logins per 15 min, JWTs signed with a
    /// random HS256 secret and living 15 min (access) and 7 days (refresh),
    /// the system clock.
    pub fn new(auth: AuthMode) -> Config {
        let random_secret = SigningKey::generate("hs256-1", SigningAlgorithm::Hs256)
            .expect("the OS random number generator is available");
        Config {
            auth,
            users: Arc::new(Users::with_demo_users()),
            session_store: Arc::new(MemoryStore::new()),
            session_timeouts: Timeouts::default(),
            throttle: ThrottlePolicy::default(),
            jwt_keys: KeyRing::new(random_secret),
            jwt_lifetimes: Lifetimes::default(),
            check_token_version: false,
            clock: Arc::new(SystemClock),
        }
    }
}

// ANCHOR: app
/// The app as an axum [`Router`], ready to serve or to call in-process.
pub fn app(config: Config) -> Router {
    let Config {
        auth,
        users,
        session_store,
        session_timeouts,
        throttle,
        jwt_keys,
        jwt_lifetimes,
        check_token_version,
        clock,
    } = config;
    // Everything but the mechanism is the same in every mode.
    let shared = AppState {
        mechanism: (),
        users,
        orders: Arc::new(Orders::default()),
        throttle: Arc::new(LoginThrottle::new(throttle)),
        clock,
    };
    match auth {
        AuthMode::Sessions => {
            let sessions = Sessions::new(session_store, session_timeouts);
            routes::router(shared.with_mechanism(SessionMechanism::new(sessions)))
        }
        AuthMode::Jwt => {
            let authority = TokenAuthority::new(jwt_keys, jwt_lifetimes, check_token_version);
            let mechanism = JwtMechanism::new(Arc::new(authority), Arc::clone(&shared.users));
            routes::router(shared.with_mechanism(mechanism))
        }
    }
}
// ANCHOR_END: app

/// How often expired sessions are swept out of memory.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Serves the app on `listener` until the process ends, sweeping expired
/// sessions out of the in-memory store once a minute.
pub async fn serve(listener: TcpListener, config: Config) -> std::io::Result<()> {
    let store = Arc::clone(&config.session_store);
    let timeouts = config.session_timeouts;
    let clock = Arc::clone(&config.clock);
    tokio::spawn(async move {
        let mut every_minute = tokio::time::interval(SWEEP_EVERY);
        loop {
            every_minute.tick().await;
            let now = clock.now();
            store.retain(|record| timeouts.judge(record, now) == Verdict::Active);
        }
    });
    axum::serve(listener, app(config)).await
}
