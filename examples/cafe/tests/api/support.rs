//! Starting the app on port 0 and talking to it like a client would.

use crate::probe::{Probe, probe_stores};
use cafe::clock::ManualClock;
use cafe::mechanisms::jwt::REFRESH_COOKIE;
use cafe::store::Stores;
use cafe::users::PasswordChecker;
use cafe::{AuthMode, Config};
use jwt::RevocationChecks;
use reqwest::header::{HeaderMap, SET_COOKIE};
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
    client: reqwest::Client,
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
        address,
        mode,
        clock,
        session_store: None,
        probe: Arc::new(Probe::default()),
        passwords: passwords.expect("at least one instance"),
        client: reqwest::Client::new(),
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
        address,
        mode,
        clock,
        session_store,
        probe,
        passwords,
        client: reqwest::Client::new(),
    }
}
// ANCHOR_END: spawn_app

impl TestApp {
    /// A client with no credential yet.
    pub fn visitor(&self) -> Visitor {
        Visitor {
            address: self.address.clone(),
            mode: self.mode,
            client: self.client.clone(),
            credential: None,
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

/// What a client attaches to prove who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A `Cookie` header value, as a browser (or `curl -b`) sends it.
    Cookie(String),
    /// JWTs: the access token goes in `Authorization: Bearer`, the refresh
    /// token only to `POST /refresh`.
    Bearer { access: String, refresh: String },
}

/// One HTTP request, kept as data so the transcripts can print it as a curl
/// command exactly as it was sent.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: reqwest::Method,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

impl Call {
    pub fn get(path: &str) -> Call {
        Call {
            method: reqwest::Method::GET,
            path: path.to_owned(),
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn post(path: &str) -> Call {
        Call {
            method: reqwest::Method::POST,
            ..Call::get(path)
        }
    }

    pub fn json(mut self, body: &Value) -> Call {
        self.headers
            .push(("content-type".to_owned(), "application/json".to_owned()));
        self.body = Some(body.to_string());
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Call {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn raw_body(mut self, body: impl Into<String>) -> Call {
        self.body = Some(body.into());
        self
    }
}

/// A response, read completely.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub version: String,
    pub headers: HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A client of the app: a browser, a phone app or curl, holding (or not) a credential.
#[derive(Clone)]
pub struct Visitor {
    pub address: String,
    pub mode: Mode,
    client: reqwest::Client,
    pub credential: Option<Credential>,
}

impl Visitor {
    /// Sends `call` with this visitor's credential attached.
    pub async fn send(&self, call: &Call) -> Answer {
        let mut request = self.client.request(
            call.method.clone(),
            format!("{}{}", self.address, call.path),
        );
        for (name, value) in &call.headers {
            request = request.header(name, value);
        }
        match &self.credential {
            Some(Credential::Cookie(cookie)) => request = request.header("cookie", cookie),
            Some(Credential::Bearer { access, .. }) => {
                request = request.header("authorization", format!("Bearer {access}"));
            }
            None => {}
        }
        if let Some(body) = &call.body {
            request = request.body(body.clone());
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let version = format!("{:?}", response.version());
        let headers = response.headers().clone();
        let text = response.text().await.expect("a readable body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            version,
            headers,
            text,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(&Call::get(path)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(&Call::post(path).json(&body)).await
    }

    /// Logs in, and on success keeps the credential the server issued.
    pub async fn log_in(&mut self, name: &str, password: &str) -> Answer {
        let call = login_call(name, password);
        let answer = self.send(&call).await;
        if answer.status == 200 {
            self.credential = Some(issued_credential(self.mode, &answer));
        }
        answer
    }

    /// JWT and hybrid: swaps the refresh token for a new pair, and keeps it
    /// on success. The hybrid's travels in its cookie, the JWT's in the body.
    pub async fn refresh(&mut self) -> Answer {
        let Some(Credential::Bearer { refresh, .. }) = &self.credential else {
            panic!("only a JWT visitor can refresh");
        };
        let call = if self.mode == Mode::Hybrid {
            Call::post("/refresh").header("cookie", &format!("{REFRESH_COOKIE}={refresh}"))
        } else {
            Call::post("/refresh").json(&serde_json::json!({ "refresh_token": refresh }))
        };
        let answer = self.send(&call).await;
        if answer.status == 200 {
            self.credential = Some(issued_credential(self.mode, &answer));
        }
        answer
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

pub fn login_call(name: &str, password: &str) -> Call {
    Call::post("/login").json(&serde_json::json!({ "username": name, "password": password }))
}

/// The credential a successful login handed out.
pub fn issued_credential(mode: Mode, answer: &Answer) -> Credential {
    match mode {
        Mode::Sessions => {
            let set_cookie = answer.headers.get(SET_COOKIE).expect("a Set-Cookie header");
            let pair = set_cookie.to_str().unwrap().split(';').next().unwrap();
            Credential::Cookie(pair.to_owned())
        }
        Mode::Jwt | Mode::JwtDenylist | Mode::JwtChecked => Credential::Bearer {
            access: answer.body["access_token"]
                .as_str()
                .expect("an access token")
                .to_owned(),
            refresh: answer.body["refresh_token"]
                .as_str()
                .expect("a refresh token")
                .to_owned(),
        },
        Mode::Hybrid => Credential::Bearer {
            access: answer.body["access_token"]
                .as_str()
                .expect("an access token")
                .to_owned(),
            refresh: refresh_cookie_of(answer).expect("a refresh cookie"),
        },
    }
}

/// The hybrid's refresh token, from the `Set-Cookie` that carries it.
pub fn refresh_cookie_of(answer: &Answer) -> Option<String> {
    answer
        .headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|cookie| cookie.split(';').next())
        .find_map(|pair| {
            pair.strip_prefix(&format!("{REFRESH_COOKIE}="))
                .map(str::to_owned)
        })
}

/// The session ID inside a `__Host-session=...` credential.
pub fn session_id_of(credential: &Credential) -> &str {
    match credential {
        Credential::Cookie(pair) => pair.strip_prefix("__Host-session=").expect("our cookie"),
        Credential::Bearer { .. } => panic!("a JWT credential has no session ID"),
    }
}
