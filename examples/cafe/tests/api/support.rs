//! Starting the app on port 0 and talking to it like a client would.

use crate::probe::{Probe, probe_stores};
use cafe::clock::ManualClock;
use cafe::mechanisms::jwt::REFRESH_COOKIE;
use cafe::store::Stores;
use cafe::users::PasswordChecker;
use cafe::{AuthMode, Config};
use cafe_client::Mechanism;
use jwt::RevocationChecks;
use serde_json::Value;
use sessions::MemoryStore;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// A number no other call in this test run has had: for names of
/// temporary folders.
pub fn unique_number() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// 2026-01-01T09:00:00Z: every test starts its clock here.
pub fn opening_time() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_258_000)
}

/// The ways the conformance suite runs the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Server-side sessions.
    Sessions,
    /// JWTs, as most deployments run them: no per-request lookup.
    Jwt,
    /// JWTs with `--check-denylist`: one lookup per request.
    JwtDenylist,
    /// JWTs with `--check-token-version`: one lookup per request.
    JwtChecked,
    /// The hybrid: a 5-minute access token, the refresh token in a cookie.
    Hybrid,
}

impl Mode {
    pub fn config(self) -> Config {
        let mut config = Config::new(match self {
            Mode::Sessions => AuthMode::Sessions,
            Mode::Jwt | Mode::JwtDenylist | Mode::JwtChecked => AuthMode::Jwt,
            Mode::Hybrid => AuthMode::Hybrid,
        });
        config.revocation_checks = RevocationChecks {
            denylist: self == Mode::JwtDenylist,
            token_version: self == Mode::JwtChecked,
        };
        config
    }

    pub fn is_jwt(self) -> bool {
        self != Mode::Sessions
    }

    /// The mechanism a client sees in this mode.
    pub fn mechanism(self) -> Mechanism {
        match self {
            Mode::Sessions => Mechanism::Sessions,
            Mode::Jwt | Mode::JwtDenylist | Mode::JwtChecked => Mechanism::Jwt,
            Mode::Hybrid => Mechanism::Hybrid,
        }
    }
}

/// A running server, with handles on the parts tests steer or inspect.
pub struct TestApp {
    pub address: String,
    pub mode: Mode,
    pub clock: Arc<ManualClock>,
    /// The in-memory session store, to look inside (apps on a shared store
    /// have none).
    session_store: Option<Arc<MemoryStore>>,
    /// Between the app and every store: what was asked, and outages.
    pub probe: Arc<Probe>,
    /// The password checker, to count its Argon2 verifications.
    pub passwords: Arc<PasswordChecker>,
    client: cafe_client::Client,
}

// ANCHOR: spawn_app
/// Starts the real server on a free loopback port, with a clock the test moves.
pub async fn spawn_app(mode: Mode) -> TestApp {
    spawn_app_with(mode, mode.config()).await
}

/// The same, with a configuration the test has adjusted.
pub async fn spawn_app_with(mode: Mode, mut config: Config) -> TestApp {
    let session_store = Arc::new(MemoryStore::new());
    config.stores.sessions = session_store.clone();
    let clock = Arc::new(ManualClock::starting_at(opening_time()));
    start(mode, config, clock, Some(session_store)).await
}

/// One more server on `stores`, shared with other servers, and on their
/// `clock`: what a deployment behind a load balancer looks like.
pub async fn spawn_app_sharing(mode: Mode, stores: Stores, clock: Arc<ManualClock>) -> TestApp {
    let mut config = mode.config();
    config.stores = stores;
    spawn_configured(mode, config, clock).await
}

/// A server with exactly this configuration (its stores too), on `clock`.
pub async fn spawn_configured(mode: Mode, config: Config, clock: Arc<ManualClock>) -> TestApp {
    start(mode, config, clock, None).await
}

/// `cafe cluster` in-process: one server per entry of `stores`, behind the
/// round-robin balancer. The app returned is the balancer's address.
pub async fn spawn_cluster(mode: Mode, stores: Vec<Stores>, clock: Arc<ManualClock>) -> TestApp {
    let balancer = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", balancer.local_addr().unwrap());
    let port = balancer.local_addr().unwrap().port();
    let mut instances = Vec::new();
    let mut passwords = None;
    for stores in stores {
        let mut config = mode.config();
        config.stores = stores;
        config.clock = clock.clone();
        config.allowed_origins = cafe::AllowedOrigins::new([format!("http://localhost:{port}")]);
        passwords.get_or_insert_with(|| Arc::clone(&config.passwords));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        instances.push((listener, config));
    }
    tokio::spawn(cafe::cluster::run(balancer, instances));
    TestApp {
        client: cafe_client::Client::new(&address).unwrap(),
        address,
        mode,
        clock,
        session_store: None,
        probe: Arc::new(Probe::default()),
        passwords: passwords.expect("at least one instance"),
    }
}

async fn start(
    mode: Mode,
    mut config: Config,
    clock: Arc<ManualClock>,
    session_store: Option<Arc<MemoryStore>>,
) -> TestApp {
    config.clock = clock.clone();
    let probe = Arc::new(Probe::default());
    config.stores = probe_stores(config.stores, &probe);
    let passwords = Arc::clone(&config.passwords);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(cafe::serve(listener, config));

    TestApp {
        client: cafe_client::Client::new(&address).unwrap(),
        address,
        mode,
        clock,
        session_store,
        probe,
        passwords,
    }
}
// ANCHOR_END: spawn_app

impl TestApp {
    /// A client with no credential yet.
    pub fn visitor(&self) -> Visitor {
        Visitor {
            mode: self.mode,
            inner: cafe_client::Visitor::of(self.client.clone(), self.mode.mechanism()),
        }
    }

    /// A client with no credential yet, whose connections come from
    /// `address` (127.0.0.2, 127.0.0.3, …): another machine, as the
    /// server sees it.
    pub fn visitor_from(&self, address: &str) -> Visitor {
        let address = address.parse().expect("an IP address");
        let client = cafe_client::Client::from_address(&self.address, address).unwrap();
        Visitor {
            mode: self.mode,
            inner: cafe_client::Visitor::of(client, self.mode.mechanism()),
        }
    }

    /// A client logged in as `name`; panics if the login fails.
    pub async fn logged_in(&self, name: &str, password: &str) -> Visitor {
        let mut visitor = self.visitor();
        let response = visitor.log_in(name, password).await;
        assert_eq!(
            response.status, 200,
            "logging in as {name}: {:?}",
            response.body
        );
        visitor
    }

    /// The in-memory session store, to look inside.
    pub fn memory_sessions(&self) -> &MemoryStore {
        self.session_store
            .as_deref()
            .expect("an app with its own memory session store")
    }

    /// Moves the server's clock.
    pub fn wait(&self, duration: Duration) {
        self.clock.advance(duration);
    }
}

pub use cafe_client::{Call, Credential, Reply, login_call};

/// A client of the app: a browser, a phone app or curl, holding (or not) a
/// credential. The test suite's face of [`cafe_client::Visitor`]: a call
/// that gets no answer fails the test, and the mode is the test's own.
#[derive(Clone)]
pub struct Visitor {
    pub mode: Mode,
    inner: cafe_client::Visitor,
}

impl std::ops::Deref for Visitor {
    type Target = cafe_client::Visitor;
    fn deref(&self) -> &cafe_client::Visitor {
        &self.inner
    }
}

impl std::ops::DerefMut for Visitor {
    fn deref_mut(&mut self) -> &mut cafe_client::Visitor {
        &mut self.inner
    }
}

impl Visitor {
    /// Sends the next calls, credential and all, to `app` instead: what a
    /// load balancer does when it picks another server.
    pub fn moves_to(&mut self, app: &TestApp) {
        self.inner.client = app.client.clone();
    }

    /// Sends `call` with this visitor's credential attached.
    pub async fn send(&self, call: &Call) -> Reply {
        self.inner.send(call).await.expect("the server answers")
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(&Call::get(path)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(&Call::post(path).json(&body)).await
    }

    /// Logs in, and on success keeps the credential the server issued.
    pub async fn log_in(&mut self, name: &str, password: &str) -> Reply {
        self.inner
            .log_in(name, password)
            .await
            .expect("the server answers")
    }

    /// JWT and hybrid: swaps the refresh token for a new pair, and keeps it
    /// on success. The hybrid's travels in its cookie, the JWT's in the body.
    pub async fn refresh(&mut self) -> Reply {
        self.inner.refresh().await.expect("the server answers")
    }
}

/// Sends every `(visitor, call)` at once, each on its own task, and returns
/// the statuses in order: how the tests make requests race.
pub async fn statuses_at_once(sends: Vec<(Visitor, Call)>) -> Vec<u16> {
    let tasks: Vec<_> = sends
        .into_iter()
        .map(|(visitor, call)| tokio::spawn(async move { visitor.send(&call).await.status }))
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    statuses
}

/// Exactly one of `statuses` is 200 and the rest 401: one refresh won.
pub fn assert_exactly_one_winner(statuses: &[u16]) {
    assert_eq!(
        statuses.iter().filter(|&&s| s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|&s| s == 200 || s == 401),
        "{statuses:?}"
    );
}

/// The credential a successful login handed out.
pub fn issued_credential(mode: Mode, answer: &Reply) -> Credential {
    Credential::issued(mode.mechanism(), answer).expect("the answer carries a credential")
}

/// The hybrid's refresh token, from the `Set-Cookie` that carries it.
pub fn refresh_cookie_of(answer: &Reply) -> Option<String> {
    answer.cookie_value(REFRESH_COOKIE)
}

/// The session ID inside a `__Host-session=...` credential.
pub fn session_id_of(credential: &Credential) -> &str {
    credential
        .session_id()
        .expect("a session credential, in the café's cookie")
}

/// Runs each listed test (an `async fn(Mode)` beside the call) once per
/// mode, as `<mode>::<test>` in the calling module.
macro_rules! for_every_mechanism {
    ($($test:ident),* $(,)?) => {
        for_every_mechanism!(@mode sessions, Sessions, $($test),*);
        for_every_mechanism!(@mode jwt, Jwt, $($test),*);
        for_every_mechanism!(@mode jwt_denylist, JwtDenylist, $($test),*);
        for_every_mechanism!(@mode jwt_checked, JwtChecked, $($test),*);
        for_every_mechanism!(@mode hybrid, Hybrid, $($test),*);
    };
    (@mode $module:ident, $mode:ident, $($test:ident),*) => {
        mod $module {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(crate::support::Mode::$mode).await;
                }
            )*
        }
    };
}

pub(crate) use for_every_mechanism;
