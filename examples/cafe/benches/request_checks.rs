//! What the café does per request to know who is asking, in each mode, as
//! the app does it: the `CurrentUser` extractor run on a request's headers
//! (credential parsed and checked, the account's role loaded where the mode
//! loads it). And, for scale, what one login's password check costs.
//!
//! ```console
//! $ cargo bench -p cafe --bench request_checks
//! $ CAFE_REDIS_URL=redis://127.0.0.1:6379 cargo bench -p cafe --bench request_checks
//! ```
//!
//! Without `CAFE_REDIS_URL` the Redis rows are left out.
//! `cargo run --release -p perf` starts a Redis of its own, runs this, and
//! counts its instructions under callgrind to make the book's tables.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, Request, header};
use bench_harness::Check;
use cafe::auth::{AppState, CurrentUser, Mechanism};
use cafe::mechanisms::jwt::REFRESH_COOKIE;
use cafe::redis_store::RedisStore;
use cafe::store::Stores;
use cafe::throttle::LoginAttempt;
use cafe::users::{Profile, Role};
use cafe::{AuthMode, Config};
use jwt::keys::{KeyRing, SigningAlgorithm, SigningKey};
use jwt::{Lifetimes, RevocationChecks};
use std::hint::black_box;
use std::sync::Arc;
use std::time::SystemTime;
use tokio::runtime::Runtime;

/// One café mode, as a row of the table.
struct Mode {
    name: &'static str,
    auth: AuthMode,
    algorithm: SigningAlgorithm,
    checks: RevocationChecks,
    redis: bool,
}

/// `--check-denylist --check-token-version`, or neither.
const BOTH: RevocationChecks = RevocationChecks {
    denylist: true,
    token_version: true,
};
const NONE: RevocationChecks = RevocationChecks {
    denylist: false,
    token_version: false,
};
const IN_REDIS: bool = true;
const IN_MEMORY: bool = false;

const MODES: [Mode; 10] = {
    use AuthMode::{Hybrid, Jwt, Sessions};
    use SigningAlgorithm::{EdDsa, Es256, Hs256};
    [
        mode("sessions-memory", Sessions, Hs256, NONE, IN_MEMORY),
        mode("sessions-redis", Sessions, Hs256, NONE, IN_REDIS),
        mode("jwt-hs256", Jwt, Hs256, NONE, IN_MEMORY),
        mode("jwt-es256", Jwt, Es256, NONE, IN_MEMORY),
        mode("jwt-eddsa", Jwt, EdDsa, NONE, IN_MEMORY),
        mode("jwt-hs256-checked-memory", Jwt, Hs256, BOTH, IN_MEMORY),
        mode("jwt-hs256-checked-redis", Jwt, Hs256, BOTH, IN_REDIS),
        mode("hybrid-hs256", Hybrid, Hs256, NONE, IN_MEMORY),
        mode("hybrid-es256", Hybrid, Es256, NONE, IN_MEMORY),
        mode("hybrid-eddsa", Hybrid, EdDsa, NONE, IN_MEMORY),
    ]
};

const fn mode(
    name: &'static str,
    auth: AuthMode,
    algorithm: SigningAlgorithm,
    checks: RevocationChecks,
    redis: bool,
) -> Mode {
    Mode {
        name,
        auth,
        algorithm,
        checks,
        redis,
    }
}

fn config(mode: &Mode, stores: Stores) -> Config {
    let key = SigningKey::generate("bench-1", mode.algorithm).expect("a key");
    Config {
        stores,
        jwt_keys: KeyRing::new(key),
        jwt_lifetimes: Lifetimes::default(),
        revocation_checks: mode.checks,
        ..Config::new(mode.auth)
    }
}

/// Logs alice in with `state`'s mechanism and returns the request parts a
/// client would then send: a cookie, or a bearer token.
fn logged_in_request<M: Mechanism>(runtime: &Runtime, state: &AppState<M>) -> Parts {
    let alice = Profile {
        name: "alice".to_owned(),
        role: Role::Member,
    };
    let issued = runtime
        .block_on(state.mechanism.issue(
            &Default::default(),
            &alice,
            Default::default(),
            SystemTime::now(),
        ))
        .expect("a credential")
        .issued;
    let mut request = Request::get("/me");
    if let Some(tokens) = &issued.tokens {
        let bearer = format!("Bearer {}", tokens.access_token);
        request = request.header(header::AUTHORIZATION, bearer);
    }
    for (name, value) in &issued.headers {
        let cookie = value
            .to_str()
            .expect("ASCII")
            .split(';')
            .next()
            .expect("a pair");
        if name == header::SET_COOKIE && !cookie.starts_with(REFRESH_COOKIE) {
            request = request.header(header::COOKIE, HeaderValue::from_str(cookie).expect("ok"));
        }
    }
    request.body(()).expect("a request").into_parts().0
}

/// The extractor every authenticated handler runs, on `parts`, again and again.
fn current_user<M: Mechanism>(
    name: &'static str,
    runtime: Arc<Runtime>,
    state: AppState<M>,
) -> Check {
    let mut parts = logged_in_request(&runtime, &state);
    Check::new("request_check", name, move || {
        let user = runtime.block_on(CurrentUser::from_request_parts(&mut parts, &state));
        assert_eq!(black_box(user).expect("alice is logged in").name, "alice");
    })
}

fn request_checks(runtime: &Arc<Runtime>, redis_url: Option<&str>) -> Vec<Check> {
    let mut checks = Vec::new();
    for (n, mode) in MODES.iter().enumerate() {
        let stores = match (mode.redis, redis_url) {
            (false, _) => Stores::in_memory(),
            (true, Some(url)) => {
                let prefix = format!("bench-{n}-{}:", std::process::id());
                let store = runtime
                    .block_on(RedisStore::connect(url, &prefix))
                    .expect("Redis at CAFE_REDIS_URL");
                runtime
                    .block_on(store.seed_demo_users())
                    .expect("demo users");
                Stores::all_in(Arc::new(store))
            }
            (true, None) => continue,
        };
        let config = config(mode, stores);
        checks.push(match mode.auth {
            AuthMode::Sessions => {
                current_user(mode.name, runtime.clone(), cafe::session_state(config))
            }
            AuthMode::Jwt | AuthMode::Hybrid => {
                current_user(mode.name, runtime.clone(), cafe::token_state(config))
            }
        });
    }
    checks
}

/// One Argon2id verification of alice's password, through the bounded checker.
fn login_check(runtime: &Arc<Runtime>) -> Check {
    let state = cafe::session_state(Config::new(AuthMode::Sessions));
    let runtime = runtime.clone();
    let alice = runtime
        .block_on(state.stores.accounts.account("alice"))
        .expect("memory answers")
        .expect("alice is a demo user");
    Check::new("login", "argon2id-password-check", move || {
        let matches = runtime.block_on(state.passwords.check(Some(&alice), "wonderland-42"));
        assert!(matches.expect("a free hashing slot"));
    })
}

/// The throttle's work for one login (three counts reserved, then a
/// success released), with `tracked` counts already kept: a flood of
/// made-up names must not make a login slower.
fn throttle_check(runtime: &Arc<Runtime>, tracked: usize) -> Check {
    let throttle = cafe::store::MemoryThrottle::default();
    let policy = cafe::throttle::ThrottlePolicy::default();
    let now = SystemTime::now();
    for n in 0..tracked {
        let name = format!("made-up-{n}");
        let attempt = LoginAttempt::reserve(&throttle, &name, "flood", now, policy);
        runtime.block_on(attempt).expect("memory answers").ok();
    }
    let runtime = runtime.clone();
    let mut n = 0u64;
    Check::new("throttle", format!("memory-{tracked}-counts"), move || {
        n += 1;
        let name = format!("visitor-{n}");
        let attempt = LoginAttempt::reserve(&throttle, &name, "203.0.113.4", now, policy);
        let attempt = runtime.block_on(attempt).expect("memory answers");
        let attempt = attempt.expect("never throttled: a new name and client each time");
        runtime
            .block_on(attempt.succeeded())
            .expect("memory answers");
    })
}

fn main() {
    // One worker thread: the checks run one at a time, as a request does.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let runtime = Arc::new(runtime);
    let redis_url = std::env::var("CAFE_REDIS_URL").ok();
    let mut checks = request_checks(&runtime, redis_url.as_deref());
    checks.push(login_check(&runtime));
    for tracked in [10, 100_000] {
        checks.push(throttle_check(&runtime, tracked));
    }
    bench_harness::main(checks);
}
