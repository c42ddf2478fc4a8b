//! The café's per-request checks beside the peers' on the same work, in
//! one run, measured as the café's own benches are (`bench-harness`:
//! criterion's median natively, callgrind's instructions per check).
//!
//! ```console
//! $ cargo bench -p peer-compare --bench peers
//! $ CAFE_REDIS_URL=redis://127.0.0.1:6379 cargo bench -p peer-compare --bench peers
//! ```
//!
//! Without `CAFE_REDIS_URL` the Redis rows are left out.
//! `cargo run --release -p perf -- checks` starts a Redis of its own, runs
//! this, and writes `book/performance/peers.md`.
//!
//! What each row includes:
//!
//! - The HS256 access-token check, all on one token the café issued (its
//!   claims, its `kid`, `typ: at+jwt`) with one 32-byte secret:
//!   - `hs256-cafe-verify`: the café's check (`jwt::tokens::verify`, the lean
//!     path the café runs: size cap, header allowlist, `kid`, `typ`, HMAC,
//!     claims, `iss`/`aud`, times), as jwt-layers' row of the same name;
//!   - `hs256-cafe-checked-memory`: the same check with the café's two
//!     revocation lookups on, in memory (`TokenAuthority::authenticate` with
//!     `RevocationChecks { denylist: true, token_version: true }` on
//!     `TokenStores::in_memory()`, as jwt-layers' `hs256-authority-both`
//!     and request_checks' `jwt-hs256-checked-memory` without the
//!     extractor): is this login ended (the denylist, keyed by `sid`), and
//!     is the token's `ver` the user's current one. That is the closest
//!     match to the axum-jwt-auth peer's two lookups (is its login, `sid`,
//!     still live; is its `ver` the user's), each one lock and one hash-map
//!     lookup; so neither map is empty, another login of alice's is ended
//!     first (the denylist holds one entry, as the peer's map of logins
//!     holds one) and alice's version is raised once (the map of versions
//!     holds hers, as the peer's accounts do). It is the axum-jwt-auth row's
//!     baseline;
//!   - `hs256-jsonwebtoken-decode`: bare `jsonwebtoken::decode` with the
//!     café's `Validation` (algorithm, `iss`, `aud`, required claims), no
//!     header rules of its own;
//!   - `hs256-jwt-simple`: `jwt-simple`'s `HS256Key::verify_token` with the
//!     same rules where it has a knob (size cap, `kid`, `typ`, `iss`, `aud`,
//!     five seconds of leeway);
//!   - `hs256-hmac-alone`: aws-lc-rs's HMAC-SHA-256 over `header.payload`
//!     with the key prepared once, compared with the signature: the floor
//!     no HS256 check goes below;
//!   - `hs256-axum-jwt-auth-hardened`: the axum-jwt-auth peer's hardened
//!     decoder (`CheckedDecoder`: header checks, axum-jwt-auth's
//!     `LocalDecoder`, the login and token-version lookups in memory), on a
//!     token of its own: its values (`iss`, `sid`, `ver` …) are not the
//!     café's, so the café's token would be refused. The peer's token
//!     carries the same ten claims and `typ: at+jwt` (no `kid`), and its
//!     length is within 16 bytes of the café's token (asserted at set-up).
//!     axum-jwt-auth verifies with jsonwebtoken 10 on RustCrypto, not
//!     aws-lc-rs.
//!
//!   Every HS256 row reads the clock on each call, as a server does per
//!   request (the café's rows `SystemTime::now`, jsonwebtoken its
//!   `get_current_timestamp`, axum-jwt-auth's decoder its `unix_now`),
//!   except `hs256-hmac-alone`, which checks no times. What remains uneven,
//!   each forced by a library's API and paid by a server using it too:
//!   jwt-simple reads `coarsetime`'s clock, cheaper than `SystemTime::now`;
//!   its `verify_token` takes its `VerificationOptions` by value, so each
//!   call clones them (two one-entry `HashSet`s, two `String`s); and
//!   axum-jwt-auth's decoder is an `async` trait returning a boxed future,
//!   driven here by `finish_now`, as the café's `authenticate` is.
//! - The session check:
//!   - `sessions-memory-cafe-extractor`: the café's `CurrentUser` extractor
//!     on a request with alice's cookie, as request_checks' `sessions-memory`;
//!   - `me-sessions-<store>-cafe` and `me-sessions-<store>-axum-login`: a
//!     whole `GET /me` with alice's cookie through each router
//!     (`tower::ServiceExt::oneshot`, no sockets): the café's `app()` in
//!     sessions mode, and the axum-login peer's hardened router (its
//!     tower-sessions layer loads the session, axum-login looks the user up
//!     and compares its auth hash, the absolute-timeout middleware reads the
//!     login time, and `always_save` writes the session back). Both include
//!     routing, middleware, the handler and the JSON answer; `memory` is
//!     each one's in-memory store, `redis` each one's Redis store on the
//!     same Redis. Instructions (callgrind) count the bench process only:
//!     on the Redis rows, redis-server's work is in the time, not in the
//!     instruction count.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use bench_harness::{Check, finish_now};
use cafe::auth::CurrentUser;
use cafe::redis_store::RedisStore;
use cafe::store::Stores;
use cafe::{AuthMode, Config};
use jwt::keys::{KeyRing, SigningKey};
use jwt::tokens::{AccessClaims, MAX_TOKEN_BYTES, TokenKind, verify};
use jwt::{Lifetimes, RevocationChecks, TokenAuthority, TokenStores};
use std::collections::HashSet;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::runtime::Runtime;
use tower::ServiceExt;

const SECRET: &[u8] = b"a benchmark secret of 32+ bytes!";
const KEY_ID: &str = "bench-1";

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

fn ring() -> KeyRing {
    KeyRing::new(SigningKey::hs256(KEY_ID, SECRET).expect("a key"))
}

/// An access token the café issues for alice at `now`.
fn cafe_token(now: u64) -> String {
    let authority = TokenAuthority::new(
        ring(),
        Lifetimes::default(),
        RevocationChecks::default(),
        TokenStores::in_memory(),
    );
    let member = async {
        Ok(jwt::Standing::Active {
            role: "member".into(),
        })
    };
    finish_now(authority.log_in("alice", &jwt::revocation::Device::default(), now, member))
        .expect("a login")
        .access_token
}

/// The claims jwt-simple leaves to the caller: the café's own.
#[derive(serde::Deserialize)]
#[allow(
    dead_code,
    reason = "deserialized as the café's claims are, never read"
)]
struct CafeExtras {
    role: String,
    sid: String,
    ver: u64,
}

fn hs256_checks() -> Vec<Check> {
    // Issued now: jwt-simple compares times with the system clock.
    let now = unix_now();
    let token = cafe_token(now);
    let mut checks = Vec::new();

    let cafe_ring = ring();
    let cafe_token = token.clone();
    // The clock read on each call, as the peers' checks read theirs.
    checks.push(Check::new("peers", "hs256-cafe-verify", move || {
        let now = unix_now();
        verify::<AccessClaims>(&cafe_ring, TokenKind::Access, black_box(&cafe_token), now)
            .expect("valid");
    }));

    let decoding = ring().signing_key().decoding().clone();
    let rules = jwt::tokens::validation(jwt::keys::SigningAlgorithm::Hs256, TokenKind::Access);
    let library_token = token.clone();
    checks.push(Check::new(
        "peers",
        "hs256-jsonwebtoken-decode",
        move || {
            jsonwebtoken::decode::<AccessClaims>(black_box(&library_token), &decoding, rules)
                .expect("valid");
        },
    ));

    checks.push(jwt_simple_check(&token));
    checks.push(cafe_checked_memory());
    checks.push(axum_jwt_auth_check(&token));
    checks.push(hmac_alone(&token));
    checks
}

/// The café's check with its denylist and token-version lookups in memory:
/// the work the axum-jwt-auth peer's hardened decoder does.
fn cafe_checked_memory() -> Check {
    let checks = RevocationChecks {
        denylist: true,
        token_version: true,
    };
    // `TokenStores::in_memory()`, with a handle kept to count its entries.
    let store = Arc::new(jwt::revocation::MemoryTokenStore::new());
    let authority = TokenAuthority::new(
        ring(),
        Lifetimes::default(),
        checks,
        TokenStores::all_in(store.clone()),
    );
    let now = unix_now();
    let log_in = || {
        let member = async {
            Ok(jwt::Standing::Active {
                role: "member".into(),
            })
        };
        let device = jwt::revocation::Device::default();
        finish_now(authority.log_in("alice", &device, now, member)).expect("a login")
    };
    // Another login of alice's, ended: the denylist holds one entry, as the
    // peer's map of logins holds one (the measured token's login is another).
    let other = log_in();
    let other = finish_now(authority.authenticate(&other.access_token, now)).expect("valid");
    finish_now(authority.log_out(&other, now)).expect("logged out");
    assert_eq!(store.denylist_len(), 1, "one ended login on the denylist");
    // And alice's version is held in the map, as the peer's accounts hold
    // hers: the lookup finds an entry rather than an empty map.
    use jwt::revocation::TokenVersionStore;
    let version = finish_now(store.bump("alice")).expect("a version");
    assert_eq!(version, 1);
    let token = log_in().access_token;
    let claims = finish_now(authority.authenticate(&token, now)).expect("alice's token is valid");
    assert_eq!(
        claims.ver, version,
        "checked against the version in the map"
    );
    Check::new("peers", "hs256-cafe-checked-memory", move || {
        let now = unix_now();
        let claims = finish_now(authority.authenticate(black_box(&token), now)).expect("valid");
        assert_eq!(claims.sub, "alice");
    })
}

fn jwt_simple_check(token: &str) -> Check {
    use jwt_simple::prelude::{Duration, HS256Key, MACLike, VerificationOptions};
    let key = HS256Key::from_bytes(SECRET);
    let options = VerificationOptions {
        max_token_length: Some(MAX_TOKEN_BYTES),
        required_key_id: Some(KEY_ID.to_owned()),
        required_signature_type: Some(TokenKind::Access.typ().to_owned()),
        allowed_issuers: Some(HashSet::from([jwt::tokens::ISSUER.to_owned()])),
        allowed_audiences: Some(HashSet::from([TokenKind::Access.audience().to_owned()])),
        time_tolerance: Some(Duration::from_secs(jwt::tokens::LEEWAY_SECONDS)),
        ..VerificationOptions::default()
    };
    let token = token.to_owned();
    Check::new("peers", "hs256-jwt-simple", move || {
        let claims = key
            .verify_token::<CafeExtras>(black_box(&token), Some(options.clone()))
            .expect("valid");
        assert_eq!(claims.custom.role, "member");
    })
}

/// The peer's hardened decoder as its `app` builds it, on a token its own
/// issuer signed for a login it started.
fn axum_jwt_auth_check(cafe_token: &str) -> Check {
    use peer_axum_jwt_auth::accounts::{Accounts, Role};
    use peer_axum_jwt_auth::refresh::RefreshFamilies;
    use peer_axum_jwt_auth::tokens::{CheckedDecoder, HardenedFields, TokenIssuer, unix_now};
    let accounts = Arc::new(Accounts::demo(true));
    let families = Arc::new(RefreshFamilies::new());
    let now = unix_now();
    let login = families.begin("alice", now).expect("a login");
    let (_, version) = accounts.standing("alice").expect("alice is a demo user");
    let fields = HardenedFields {
        sid: login.family,
        ver: version,
    };
    let token = TokenIssuer::new(SECRET)
        .access_token("alice", Role::Member, now, Some(fields))
        .expect("a token");
    assert!(
        token.len().abs_diff(cafe_token.len()) <= 16,
        "the peer's token ({} bytes) is not the size of the café's ({} bytes)",
        token.len(),
        cafe_token.len()
    );
    let decoder = CheckedDecoder::new(SECRET, accounts, families).expect("a decoder");
    Check::new("peers", "hs256-axum-jwt-auth-hardened", move || {
        let decoded = finish_now(axum_jwt_auth::JwtDecoder::decode(
            &decoder,
            black_box(&token),
        ));
        assert_eq!(decoded.expect("valid").claims.sub, "alice");
    })
}

/// HMAC-SHA-256 over the signing input with the key prepared once, as
/// jwt-layers' `hs256-hmac-alone`.
fn hmac_alone(token: &str) -> Check {
    use base64::Engine;
    let (signing_input, signature) = token.rsplit_once('.').expect("three parts");
    let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(signature)
        .expect("base64url");
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, SECRET);
    let signing_input = signing_input.to_owned();
    Check::new("peers", "hs256-hmac-alone", move || {
        aws_lc_rs::hmac::verify(&key, black_box(signing_input.as_bytes()), &signature)
            .expect("the signature matches");
    })
}

/// Logs alice in through `app` and returns the `name=value` pair of the
/// session cookie whose name starts with `cookie`.
async fn log_in(app: &Router, cookie: &str) -> String {
    let body = r#"{"username":"alice","password":"wonderland-42"}"#;
    let request = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .expect("a request");
    let response = app.clone().oneshot(request).await.expect("an answer");
    assert_eq!(response.status(), StatusCode::OK, "alice logs in");
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| value.split(';').next())
        .find(|pair| pair.starts_with(cookie))
        .expect("a session cookie")
        .to_owned()
}

fn me(cookie: &str) -> Request<Body> {
    Request::get("/me")
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .expect("a request")
}

/// A whole `GET /me` with alice's cookie through `app`, again and again.
fn whole_request(name: &str, runtime: &Arc<Runtime>, app: Router, cookie_name: &str) -> Check {
    let cookie = runtime.block_on(log_in(&app, cookie_name));
    let answer = runtime.block_on(async {
        let response = app.clone().oneshot(me(&cookie)).await.expect("an answer");
        axum::body::to_bytes(response.into_body(), 1 << 16).await
    });
    let answer = String::from_utf8_lossy(&answer.expect("a body")).into_owned();
    assert!(
        answer.contains("\"alice\""),
        "{name}: GET /me said {answer}"
    );
    let runtime = runtime.clone();
    Check::new("peers", name.to_owned(), move || {
        let response = runtime
            .block_on(app.clone().oneshot(me(black_box(&cookie))))
            .expect("an answer");
        assert_eq!(response.status(), StatusCode::OK);
    })
}

/// The café's extractor alone, as request_checks' `sessions-memory`.
fn cafe_extractor(runtime: &Arc<Runtime>) -> Check {
    use axum::extract::FromRequestParts;
    let state = cafe::session_state(Config::new(AuthMode::Sessions));
    let app = cafe::app(Config {
        stores: state.stores.clone(),
        ..Config::new(AuthMode::Sessions)
    });
    // Logged in through a router on the same stores: the cookie names a
    // session the extractor's state finds.
    let cookie = runtime.block_on(log_in(&app, "__Host-session="));
    let mut parts = me(&cookie).into_parts().0;
    let runtime = runtime.clone();
    Check::new("peers", "sessions-memory-cafe-extractor", move || {
        let user = runtime.block_on(CurrentUser::from_request_parts(&mut parts, &state));
        assert_eq!(black_box(user).expect("alice is logged in").name, "alice");
    })
}

fn cafe_app(stores: Stores) -> Router {
    cafe::app(Config {
        stores,
        ..Config::new(AuthMode::Sessions)
    })
}

fn peer_app(runtime: &Runtime, store: peer_axum_login::SessionStoreChoice) -> Router {
    let config = peer_axum_login::PeerConfig::hardened(store);
    runtime
        .block_on(peer_axum_login::app(config))
        .expect("the peer starts")
}

fn session_checks(runtime: &Arc<Runtime>, redis_url: Option<&str>) -> Vec<Check> {
    use peer_axum_login::{SessionStoreChoice, cookie_name};
    let peer_cookie = format!("{}=", cookie_name(true));
    let mut checks = vec![
        cafe_extractor(runtime),
        whole_request(
            "me-sessions-memory-cafe",
            runtime,
            cafe_app(Stores::in_memory()),
            "__Host-session=",
        ),
        whole_request(
            "me-sessions-memory-axum-login",
            runtime,
            peer_app(runtime, SessionStoreChoice::Memory),
            &peer_cookie,
        ),
    ];
    if let Some(url) = redis_url {
        let prefix = format!("bench-peers-{}:", std::process::id());
        let store = runtime
            .block_on(RedisStore::connect(url, &prefix))
            .expect("Redis at CAFE_REDIS_URL");
        runtime
            .block_on(store.seed_demo_users())
            .expect("demo users");
        let cafe = cafe_app(Stores::all_in(Arc::new(store)));
        checks.push(whole_request(
            "me-sessions-redis-cafe",
            runtime,
            cafe,
            "__Host-session=",
        ));
        let store = SessionStoreChoice::Redis {
            url: url.to_owned(),
        };
        checks.push(whole_request(
            "me-sessions-redis-axum-login",
            runtime,
            peer_app(runtime, store),
            &peer_cookie,
        ));
    }
    checks
}

fn main() {
    // One thread: the checks run one at a time, as a request does, and the
    // Redis clients' own tasks run on it while a check waits.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let runtime = Arc::new(runtime);
    let redis_url = std::env::var("CAFE_REDIS_URL").ok();
    let mut checks = hs256_checks();
    checks.extend(session_checks(&runtime, redis_url.as_deref()));
    bench_harness::main(checks);
}
