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

// A request must never panic its way out: every path reachable from one
// returns an error instead (start-up code opts out, one function at a time).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

// Lets this crate's own files name it `cafe::…`, as the book's listings
// do: a chapter can then compile a whole source file as a doctest and show
// one anchored part of it (`{{#rustdoc_include}}`).
extern crate self as cafe;

pub mod auth;
pub mod cli;
pub mod clock;
pub mod cluster;
pub mod duration;
pub mod error;
pub mod guards;
pub mod inspect;
pub mod mechanisms;
pub mod orders;
pub mod redis_store;
pub mod routes;
pub mod store;
pub mod throttle;
pub mod users;
pub mod web;

pub use guards::{AllowedOrigins, cross_site_verdict};
pub use routes::BODY_LIMIT_BYTES;

use auth::AppState;
use axum::Router;
use clock::{Clock, SystemClock};
use jwt::keys::{KeyRing, SigningAlgorithm, SigningKey};
use jwt::{Lifetimes, RevocationChecks, TokenAuthority};
use mechanisms::jwt::{JwtMechanism, RefreshDelivery};
use mechanisms::sessions::SessionMechanism;
use sessions::{Sessions, Timeouts};
use std::sync::Arc;
use store::Stores;
use throttle::ThrottlePolicy;
use tokio::net::TcpListener;
use users::{HashingLimits, PasswordChecker};

/// Which mechanism remembers who is logged in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// Server-side sessions: a random ID in a cookie, the record on the server.
    Sessions,
    /// JWTs: a signed access token on every request, a refresh token to renew it.
    Jwt,
    /// A short-lived JWT access token in memory, and the refresh token in an
    /// `HttpOnly` cookie that only `/refresh` receives.
    Hybrid,
}

/// Everything the app is built from. [`Config::new`] gives the defaults the
/// book describes; tests replace the parts they need to watch or steer (the
/// clock, the stores).
pub struct Config {
    /// The mechanism.
    pub auth: AuthMode,
    /// Where every piece of server state lives (memory by default, with the
    /// demo accounts).
    pub stores: Stores,
    /// Idle and absolute session timeouts.
    pub session_timeouts: Timeouts,
    /// Login-attempt limits.
    pub throttle: ThrottlePolicy,
    /// Checks passwords, a bounded number at a time.
    pub passwords: Arc<PasswordChecker>,
    /// The keys that sign JWTs (a random HS256 secret by default).
    pub jwt_keys: KeyRing,
    /// Access and refresh token lifetimes (15 minutes, 7 days; the hybrid's
    /// access tokens 5 minutes).
    pub jwt_lifetimes: Lifetimes,
    /// What an access-token check looks up besides the signature: nothing by
    /// default (`--check-denylist`, `--check-token-version` add one lookup each).
    pub revocation_checks: RevocationChecks,
    /// Where the café's own pages are served from; state-changing requests
    /// from any other origin are refused. Empty: [`serve`] allows
    /// `http://localhost:PORT` and `http://127.0.0.1:PORT` of its listener.
    pub allowed_origins: AllowedOrigins,
    /// Serve `/xss-demo`, a page with a deliberate cross-site scripting hole,
    /// so the book can show what an injected script reaches in each mode.
    /// Off unless `--enable-deliberately-vulnerable-xss-demo` says otherwise.
    pub xss_demo: bool,
    /// The time.
    pub clock: Arc<dyn Clock>,
}

impl Config {
    /// The defaults: demo users and every store in memory, 30 min idle and
    /// 8 h absolute session timeouts, 5 login attempts per 15 min, one
    /// password check per core, JWTs signed with a random HS256 secret and
    /// living 15 min (access; 5 min for the hybrid) and 7 days (refresh), the
    /// system clock.
    ///
    /// # Panics
    ///
    /// If the OS random generator gives no bytes for the secret: at start-up,
    /// before any request, where stopping is the right answer.
    #[allow(clippy::expect_used)] // start-up, not a request path
    pub fn new(auth: AuthMode) -> Config {
        let random_secret = SigningKey::generate(
            cli::key_id(SigningAlgorithm::Hs256),
            SigningAlgorithm::Hs256,
        )
        .expect("the OS random number generator is available");
        let passwords = PasswordChecker::new(HashingLimits::default())
            .expect("the OS random number generator is available");
        Config {
            auth,
            stores: Stores::in_memory(),
            session_timeouts: Timeouts::default(),
            throttle: ThrottlePolicy::default(),
            passwords: Arc::new(passwords),
            jwt_keys: KeyRing::new(random_secret),
            jwt_lifetimes: match auth {
                // The hybrid refreshes silently, so it can afford a short
                // access token: a ban reaches it within five minutes.
                AuthMode::Hybrid => Lifetimes {
                    access: 5 * 60,
                    ..Lifetimes::default()
                },
                AuthMode::Sessions | AuthMode::Jwt => Lifetimes::default(),
            },
            revocation_checks: RevocationChecks::default(),
            allowed_origins: AllowedOrigins::default(),
            xss_demo: false,
            clock: Arc::new(SystemClock),
        }
    }
}

// ANCHOR: app
/// The app as an axum [`Router`], ready to serve or to call in-process.
pub fn app(config: Config) -> Router {
    let origins = config.allowed_origins.clone();
    let (auth, xss_demo) = (config.auth, config.xss_demo);
    match auth {
        AuthMode::Sessions => {
            let pages = web::routes(auth, xss_demo);
            routes::router(session_state(config), origins, pages)
        }
        AuthMode::Jwt | AuthMode::Hybrid => {
            let pages = web::routes(auth, xss_demo);
            routes::router(token_state(config), origins, pages)
        }
    }
}

/// What the handlers of `--auth sessions` reach: the session store behind
/// a cookie, and everything every mode shares.
pub fn session_state(config: Config) -> AppState<SessionMechanism> {
    let sessions = Sessions::new(config.stores.sessions.clone(), config.session_timeouts);
    AppState {
        mechanism: SessionMechanism::new(sessions),
        stores: config.stores,
        passwords: config.passwords,
        throttle: config.throttle,
        clock: config.clock,
    }
}

/// What the handlers of `--auth jwt` and `--auth hybrid` reach: a token
/// authority with the configured keys, lifetimes and checks.
pub fn token_state(config: Config) -> AppState<JwtMechanism> {
    let authority = TokenAuthority::new(
        config.jwt_keys,
        config.jwt_lifetimes,
        config.revocation_checks,
        config.stores.tokens.clone(),
    );
    let delivery = match config.auth {
        AuthMode::Hybrid => RefreshDelivery::Cookie,
        AuthMode::Sessions | AuthMode::Jwt => RefreshDelivery::Body,
    };
    let accounts = config.stores.accounts.clone();
    let mechanism = JwtMechanism::new(Arc::new(authority), accounts, delivery);
    AppState {
        mechanism,
        stores: config.stores,
        passwords: config.passwords,
        throttle: config.throttle,
        clock: config.clock,
    }
}
// ANCHOR_END: app

/// Serves the app on `listener` until the process ends. Expired state is
/// the stores' own business: the memory stores sweep it out as they go.
pub async fn serve(listener: TcpListener, mut config: Config) -> std::io::Result<()> {
    if config.allowed_origins == AllowedOrigins::default() {
        let port = listener.local_addr()?.port();
        config.allowed_origins = AllowedOrigins::new([
            format!("http://localhost:{port}"),
            format!("http://127.0.0.1:{port}"),
        ]);
    }
    axum::serve(listener, app(config)).await
}
