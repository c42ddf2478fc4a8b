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
pub mod client_address;
pub mod clock;
pub mod cluster;
pub mod cross_site;
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
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::header::CONNECTION;
use axum::http::{HeaderValue, Request, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use client_address::TrustedProxies;
use clock::{Clock, SystemClock};
use cross_site::CrossSiteOrigins;
use error::ApiError;
use hyper::body::{Body as HttpBody, Bytes, Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use jwt::keys::{KeyRing, SigningAlgorithm, SigningKey};
use jwt::{Lifetimes, RevocationChecks, TokenAuthority};
use mechanisms::jwt::{JwtMechanism, RefreshDelivery};
use mechanisms::sessions::SessionMechanism;
use sessions::{Sessions, Timeouts};
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use store::Stores;
use throttle::ThrottlePolicy;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::Sleep;
use tokio_io_timeout::TimeoutStream;
use tower::ServiceExt;
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
    /// Proxies whose `X-Forwarded-For` names the client for the throttle:
    /// none unless `--trusted-proxy` says otherwise.
    pub trusted_proxies: TrustedProxies,
    /// How many orders one account keeps:
    /// [`orders::MAX_ORDERS_PER_USER`] unless `--max-orders-per-user` says
    /// otherwise (the benchmarks order for minutes on end).
    pub max_orders_per_user: usize,
    /// Checks passwords, a bounded number at a time.
    pub passwords: Arc<PasswordChecker>,
    /// The keys that sign JWTs (a random HS256 secret by default).
    pub jwt_keys: KeyRing,
    /// Access and refresh token lifetimes (15 minutes, 7 days; the hybrid's
    /// access tokens 5 minutes), and the idle limit of a login's refresh
    /// tokens (30 minutes past one access lifetime: 45 and 35 minutes).
    pub jwt_lifetimes: Lifetimes,
    /// What an access-token check looks up besides the signature: nothing by
    /// default (`--check-denylist`, `--check-token-version` add one lookup each).
    pub revocation_checks: RevocationChecks,
    /// Where the café's own pages are served from; state-changing requests
    /// from any other origin are refused. Empty: [`serve`] allows
    /// `http://localhost:PORT` and `http://127.0.0.1:PORT` of its listener.
    pub allowed_origins: AllowedOrigins,
    /// Pages on other sites that may call the café with the user's
    /// credentials: none unless `--cross-site-origin` names some (see
    /// [`cross_site`]).
    pub cross_site_origins: CrossSiteOrigins,
    /// Serve `/xss-demo`, a page with a deliberate cross-site scripting hole,
    /// so the book can show what an injected script reaches in each mode.
    /// Off unless `--enable-deliberately-vulnerable-xss-demo` says otherwise.
    pub xss_demo: bool,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// How long [`serve`] waits for a request's head, for its body, and for
    /// the client to take its response before it closes the connection.
    pub connection_timeouts: ConnectionTimeouts,
    /// How many connections [`serve`] serves at once: [`MAX_CONNECTIONS`]
    /// unless a test says otherwise.
    pub max_connections: usize,
    /// How many connections one client may hold at once; the next is closed
    /// at once ([`MAX_CONNECTIONS_PER_CLIENT`]).
    pub max_connections_per_client: usize,
}

impl Config {
    /// The defaults: demo users and every store in memory, 30 min idle and
    /// 8 h absolute session timeouts, 5 login attempts per 15 min, one
    /// password check per core, JWTs signed with a random HS256 secret and
    /// living 15 min (access; 5 min for the hybrid) and 7 days (refresh), the
    /// system clock, 20 s each for a request's head, its body and any stalled
    /// response write, and at most 4,096 connections at once.
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
            trusted_proxies: TrustedProxies::default(),
            max_orders_per_user: orders::MAX_ORDERS_PER_USER,
            passwords: Arc::new(passwords),
            jwt_keys: KeyRing::new(random_secret),
            jwt_lifetimes: match auth {
                // The hybrid refreshes silently, so it can afford a short
                // access token: a ban reaches it within five minutes.
                AuthMode::Hybrid => Lifetimes::with_access(5 * 60),
                AuthMode::Sessions | AuthMode::Jwt => Lifetimes::default(),
            },
            revocation_checks: RevocationChecks::default(),
            allowed_origins: AllowedOrigins::default(),
            cross_site_origins: CrossSiteOrigins::default(),
            xss_demo: false,
            clock: Arc::new(SystemClock),
            connection_timeouts: ConnectionTimeouts::default(),
            max_connections: MAX_CONNECTIONS,
            max_connections_per_client: MAX_CONNECTIONS_PER_CLIENT,
        }
    }
}

// ANCHOR: app
/// The app as an axum [`Router`], ready to serve or to call in-process.
pub fn app(config: Config) -> Router {
    let cross_site = config.cross_site_origins.clone();
    let origins = config
        .allowed_origins
        .clone()
        .with_cross_site(cross_site.clone());
    let (auth, xss_demo) = (config.auth, config.xss_demo);
    match auth {
        AuthMode::Sessions => {
            let pages = web::routes(auth, xss_demo);
            routes::router(session_state(config), origins, cross_site.cors(), pages)
        }
        AuthMode::Jwt | AuthMode::Hybrid => {
            let pages = web::routes(auth, xss_demo);
            routes::router(token_state(config), origins, cross_site.cors(), pages)
        }
    }
}

/// What the handlers of `--auth sessions` reach: the session store behind
/// a cookie, and everything every mode shares.
pub fn session_state(config: Config) -> AppState<SessionMechanism> {
    let sessions = Sessions::new(config.stores.sessions.clone(), config.session_timeouts);
    AppState {
        mechanism: SessionMechanism::new(sessions, config.stores.accounts.clone())
            .with_check(config.stores.session_check.clone())
            .with_cookie_sites(config.cross_site_origins.cookie_sites()),
        stores: config.stores,
        passwords: config.passwords,
        throttle: config.throttle,
        trusted_proxies: config.trusted_proxies,
        max_orders_per_user: config.max_orders_per_user,
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
    let mechanism = JwtMechanism::new(Arc::new(authority), accounts, delivery)
        .with_cookie_sites(config.cross_site_origins.cookie_sites());
    AppState {
        mechanism,
        stores: config.stores,
        passwords: config.passwords,
        throttle: config.throttle,
        trusted_proxies: config.trusted_proxies,
        max_orders_per_user: config.max_orders_per_user,
        clock: config.clock,
    }
}
// ANCHOR_END: app

/// How long a client may take over each part of a request, and over taking
/// its response, before [`serve`] closes its connection. Without them, a
/// client that sends half a request and stalls, or asks for many responses
/// and reads none, holds a connection, a task and a file descriptor for as
/// long as it likes, and a few thousand such clients ("slowloris") take
/// every connection the server can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionTimeouts {
    /// From when the server starts waiting for a request to the end of its
    /// head (request line and headers). The wait starts when the connection
    /// opens and again after each response, so this is also how long a
    /// kept-alive connection may sit idle: hyper runs one timer for both.
    pub request_head: Duration,
    /// From the end of the head to the end of the body: one deadline for the
    /// whole body, not one per read, so sending it a byte at a time does not
    /// stretch it. Past it, the answer is `408 Request Timeout` and the
    /// connection closes.
    pub request_body: Duration,
    /// How long a write of a response may go without the client taking a
    /// single byte: the clock restarts with every write that goes through,
    /// so a slow reader that keeps reading keeps its connection, and one
    /// that stops (say, after pipelining hundreds of requests) loses it.
    pub response_write: Duration,
}

/// The default [`ConnectionTimeouts::request_head`]: 20 s, the first
/// deadline Apache httpd's `mod_reqtimeout` gives a request's headers by
/// default (`header=20-40`), and inside the 30 s hyper would use if told
/// nothing. A café request head is a few hundred bytes, which every real
/// client sends at once.
pub const REQUEST_HEAD_TIMEOUT: Duration = Duration::from_secs(20);

/// The default [`ConnectionTimeouts::request_body`]: 20 s, `mod_reqtimeout`'s
/// default for a body (`body=20`). The café's bodies are at most
/// [`BODY_LIMIT_BYTES`] of JSON, a login well under 2 KiB.
pub const REQUEST_BODY_TIMEOUT: Duration = Duration::from_secs(20);

/// The default [`ConnectionTimeouts::response_write`]: 20 s, like the
/// others. nginx's `send_timeout` measures the same thing ("only between two
/// successive write operations") with 60 s; a café response is a few KiB,
/// which a client that reads at all takes in far less.
pub const RESPONSE_WRITE_TIMEOUT: Duration = Duration::from_secs(20);

/// The default [`Config::max_connections`]: 4,096 at once. Each connection
/// holds a task, hyper's buffers (8 KiB to start) and a file descriptor, so
/// the cap bounds memory and keeps descriptors for the stores and the
/// listener. Past it, new connections wait in the kernel's listen backlog
/// until one closes; the timeouts close a stalled one within 20 s. The
/// process's own limit (`ulimit -n`, often 1,024 in a shell) may be lower:
/// then accepting fails first, and [`serve`] waits and tries again.
pub const MAX_CONNECTIONS: usize = 4096;

/// The default [`Config::max_connections_per_client`]: 256 at once from one
/// client (an IPv4 address or an IPv6 /64; trusted proxies are not
/// limited). Without it, one client could hold every one of the
/// [`MAX_CONNECTIONS`] with a request every 20 s and nobody else would be
/// served; now it takes sixteen clients. Browsers open six per site.
pub const MAX_CONNECTIONS_PER_CLIENT: usize = 256;

impl Default for ConnectionTimeouts {
    fn default() -> ConnectionTimeouts {
        ConnectionTimeouts {
            request_head: REQUEST_HEAD_TIMEOUT,
            request_body: REQUEST_BODY_TIMEOUT,
            response_write: RESPONSE_WRITE_TIMEOUT,
        }
    }
}

/// Serves the app on `listener` until the process ends. Expired state is
/// the stores' own business: the memory stores sweep it out as they go.
///
/// HTTP/1.1 straight from hyper, not through `axum::serve`, which has no
/// timeouts: see [`serve_router`].
pub async fn serve(listener: TcpListener, mut config: Config) -> std::io::Result<()> {
    if config.allowed_origins == AllowedOrigins::default() {
        let port = listener.local_addr()?.port();
        config.allowed_origins = AllowedOrigins::new([
            format!("http://localhost:{port}"),
            format!("http://127.0.0.1:{port}"),
        ]);
    }
    let limits = ConnectionLimits::of(&config);
    serve_router(listener, app(config), limits).await
}

/// Serves `app` on `listener` until the process ends: the café's own app,
/// or `cafe cluster`'s balancer. Every connection gets `timeouts`, at most
/// `max_connections` are served at once, and handlers may ask for the
/// client's address (`ConnectInfo<SocketAddr>`, as `axum::serve` gives it).
pub async fn serve_router(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
) -> std::io::Result<()> {
    let ConnectionLimits {
        timeouts,
        total,
        per_client,
        trusted_proxies,
    } = limits;
    // At least one, or nothing would ever be served.
    let slots = Arc::new(Semaphore::new(total.clamp(1, Semaphore::MAX_PERMITS)));
    let held = Arc::new(std::sync::Mutex::new(HashMap::<String, usize>::new()));
    loop {
        // A slot first, then a connection: at the cap, new clients wait in
        // the kernel's backlog, costing the server nothing, and are served as
        // soon as a connection closes. (Accepting and closing them would
        // refuse every client, honest ones too, for as long as a flood
        // lasts, and spend a system call on each attempt.)
        let slot = slots
            .clone()
            .acquire_owned()
            .await
            .map_err(std::io::Error::other)?;
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) if is_connection_error(&error) => continue, // that client is gone
            Err(error) => {
                // Out of file descriptors, say: wait for some to close
                // rather than stop serving, as `axum::serve` does.
                tracing::warn!(%error, "could not accept a connection");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        // One client may hold only so many: past them its connection is
        // closed at once, so it cannot take every slot from everyone else.
        let client =
            (!trusted_proxies.trusts(peer.ip())).then(|| client_address::peer_client(peer.ip()));
        if let Some(client) = &client {
            let mut held = held.lock().unwrap_or_else(|p| p.into_inner());
            let count = held.entry(client.clone()).or_default();
            if *count >= per_client.max(1) {
                continue; // dropping the stream closes it, and frees the slot
            }
            *count += 1;
        }
        let release = HeldBy {
            held: Arc::clone(&held),
            client,
        };
        let app = app.clone();
        let service =
            service_fn(move |request| respond(app.clone(), request, peer, timeouts.request_body));
        // A write that makes no progress fails with `TimedOut`, and hyper
        // closes the connection. (The wrapper holds a timer, which must not
        // move, so it goes to hyper boxed.)
        let mut stream = TimeoutStream::new(stream);
        stream.set_write_timeout(Some(timeouts.response_write));
        tokio::spawn(async move {
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(timeouts.request_head)
                .keep_alive(true)
                .serve_connection(TokioIo::new(Box::pin(stream)), service);
            if let Err(error) = connection.await {
                tracing::debug!(%error, %peer, "connection closed");
            }
            drop(slot); // the connection is closed: the next may come in
            drop(release);
        });
    }
}

/// What [`serve_router`] holds each connection to.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// The timeouts of each connection.
    pub timeouts: ConnectionTimeouts,
    /// Connections served at once.
    pub total: usize,
    /// Connections one client may hold at once.
    pub per_client: usize,
    /// Proxies exempt from the per-client limit: every client behind one
    /// comes from its address.
    pub trusted_proxies: TrustedProxies,
}

impl ConnectionLimits {
    /// The limits `config` sets.
    pub fn of(config: &Config) -> ConnectionLimits {
        ConnectionLimits {
            timeouts: config.connection_timeouts,
            total: config.max_connections,
            per_client: config.max_connections_per_client,
            trusted_proxies: config.trusted_proxies.clone(),
        }
    }
}

/// One client's hold on a connection, given back when the connection ends.
struct HeldBy {
    held: Arc<std::sync::Mutex<HashMap<String, usize>>>,
    client: Option<String>,
}

impl Drop for HeldBy {
    fn drop(&mut self) {
        let Some(client) = &self.client else { return };
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = held.get_mut(client) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                held.remove(client);
            }
        }
    }
}

fn is_connection_error(error: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    )
}

/// One request through the app, with the peer's address for the handlers
/// that ask (`ConnectInfo`, as `axum::serve` provides it) and a deadline on
/// its body. If the body missed it, the answer is 408 whatever the app
/// made of the cut-off body, and the connection closes.
async fn respond(
    app: Router,
    request: Request<Incoming>,
    peer: SocketAddr,
    body_timeout: Duration,
) -> Result<Response, Infallible> {
    let (mut parts, body) = request.into_parts();
    parts.extensions.insert(ConnectInfo(peer));
    if body.is_end_stream() {
        // No body (a GET, say): nothing to wait for.
        let request = Request::from_parts(parts, Body::new(body));
        return app.oneshot(request).await;
    }
    let missed = Arc::new(AtomicBool::new(false));
    let body = DeadlineBody {
        body,
        deadline: Box::pin(tokio::time::sleep(body_timeout)),
        missed: missed.clone(),
    };
    parts.extensions.insert(BodyDeadline(missed.clone()));
    let response = app
        .oneshot(Request::from_parts(parts, Body::new(body)))
        .await?;
    // The café's router made its 408 itself ([`answer_late_bodies`]), with
    // the headers every answer gets; a router without that layer (`cafe
    // cluster`'s balancer) gets a bare one.
    if missed.load(Ordering::Relaxed) && response.status() != StatusCode::REQUEST_TIMEOUT {
        return Ok(late_body());
    }
    Ok(response)
}

/// What [`serve`] puts on a request with a body: whether that body missed
/// its deadline, which only the app's reading it can tell.
#[derive(Debug, Clone)]
pub struct BodyDeadline(Arc<AtomicBool>);

/// Answers `408 Request Timeout`, and closes the connection, when the
/// request's body missed its deadline, whatever the app made of the cut-off
/// body. A layer of the café's router, inside the ones that add CORS and
/// the security headers: a page on another site (`--cross-site-origin`)
/// sees a 408, not a network error, and the 408 is as hard to misuse as
/// any other answer.
pub async fn answer_late_bodies(request: Request<Body>, next: Next) -> Response {
    let deadline = request.extensions().get::<BodyDeadline>().cloned();
    let response = next.run(request).await;
    match deadline {
        Some(BodyDeadline(missed)) if missed.load(Ordering::Relaxed) => late_body(),
        _ => response,
    }
}

/// `408`, the connection to be closed: the rest of the body is not waited
/// for.
fn late_body() -> Response {
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "the request body came too slowly",
    )
    .with_header(CONNECTION, HeaderValue::from_static("close"))
    .into_response()
}

/// A request body that fails once its deadline has passed, and says so in
/// `missed`.
struct DeadlineBody {
    body: Incoming,
    deadline: Pin<Box<Sleep>>,
    missed: Arc<AtomicBool>,
}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::BoxError>>> {
        let this = &mut *self;
        if this.deadline.as_mut().poll(cx).is_ready() {
            this.missed.store(true, Ordering::Relaxed);
            // An error, not an early end: a cut-off body must never pass
            // for a whole one and be acted on.
            return Poll::Ready(Some(Err("the request body came too slowly".into())));
        }
        Pin::new(&mut this.body)
            .poll_frame(cx)
            .map_err(axum::BoxError::from)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
