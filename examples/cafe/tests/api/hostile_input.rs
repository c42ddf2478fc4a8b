//! Property tests: arbitrary bytes as bearer tokens, cookies, JSON bodies
//! and header values, sent to the app in-process in every mode. Every answer
//! must be a refusal (4xx) or, for a well-formed order from a logged-in
//! member, a 201; nothing may panic, answer 5xx, or let anyone in.
//!
//! Each property tries 1,024 inputs in every mode, and asserts that each
//! one was sent to every mode: the generators make only bytes a header
//! value may hold, so no case is dropped on the way. `PROPTEST_CASES` sets
//! another number (CI runs the default).
//!
//! Last, raw bytes on a TCP socket to the real `cafe` binary: request
//! lines, headers and chunked bodies, whole or cut short, each answered by
//! anything but a 5xx, with the server still up at the end.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, Request, StatusCode};
use cafe::{AuthMode, Config};
use jwt::forge;
use proptest::prelude::*;
use tower::ServiceExt;

const MODES: [AuthMode; 3] = [AuthMode::Sessions, AuthMode::Jwt, AuthMode::Hybrid];

/// One app per mode, a logged-in alice's credential header for each, and a
/// runtime to drive them.
struct Apps {
    runtime: tokio::runtime::Runtime,
    apps: Vec<(AuthMode, Router, (HeaderName, HeaderValue))>,
}

impl Apps {
    fn new() -> Apps {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let apps = MODES
            .iter()
            .map(|&mode| {
                let app = cafe::app(Config::new(mode));
                let credential = runtime.block_on(log_in(&app));
                (mode, app, credential)
            })
            .collect();
        Apps { runtime, apps }
    }

    /// Sends the request `build` makes (given alice's credential) to every
    /// mode's app, and returns each status: one per mode, always (a case
    /// that could not be sent fails the test instead of vanishing).
    fn send_everywhere(
        &self,
        build: impl Fn(&(HeaderName, HeaderValue)) -> Request<Body>,
    ) -> Vec<(AuthMode, StatusCode)> {
        let statuses: Vec<_> = self
            .apps
            .iter()
            .map(|(mode, app, credential)| {
                let request = build(credential);
                let status = self
                    .runtime
                    .block_on(app.clone().oneshot(request))
                    .unwrap()
                    .status();
                (*mode, status)
            })
            .collect();
        assert_eq!(statuses.len(), MODES.len(), "every mode got the case");
        statuses
    }
}

async fn log_in(app: &Router) -> (HeaderName, HeaderValue) {
    let body = r#"{"username":"alice","password":"wonderland-42"}"#;
    let request = Request::post("/login")
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    if let Some(cookie) = response.headers().get("set-cookie")
        && cookie.as_bytes().starts_with(b"__Host-session=")
    {
        let pair = cookie.to_str().unwrap().split(';').next().unwrap();
        return (
            HeaderName::from_static("cookie"),
            HeaderValue::from_str(pair).unwrap(),
        );
    }
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let token = json["access_token"].as_str().unwrap();
    (
        HeaderName::from_static("authorization"),
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    )
}

/// `GET /me` with one header; `value` must be a valid header value (the
/// generators below make only those).
fn get_me_with(name: &'static str, value: &[u8]) -> Request<Body> {
    let value = HeaderValue::from_bytes(value).expect("the generator makes header bytes");
    Request::get("/me")
        .header(name, value)
        .body(Body::empty())
        .unwrap()
}

/// Bytes a header value may hold (RFC 9110 §5.5: visible characters,
/// space, tab and obs-text), so every generated case is a request that can
/// be sent: arbitrary bytes would be dropped by `HeaderValue` about 74
/// times in 75 before reaching the app.
fn header_bytes(longest: usize) -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![8 => 0x20u8..=0x7e, 1 => 0x80u8..=0xff, 1 => Just(b'\t')];
    prop::collection::vec(byte, 0..longest)
}

fn assert_all(statuses: &[(AuthMode, StatusCode)], allowed: &[u16], what: &str) {
    for (mode, status) in statuses {
        assert!(
            allowed.contains(&status.as_u16()),
            "{what} in {mode:?} mode got {status}"
        );
    }
}

/// A JWT-shaped token: header and claims are JSON objects with the fields
/// a verifier reads, filled with arbitrary values; the signature random.
fn jwt_shaped() -> impl Strategy<Value = String> {
    let known_or_any = |known: &[&'static str]| {
        prop_oneof![
            prop::sample::select(known.to_vec()).prop_map(str::to_owned),
            ".{0,8}",
        ]
    };
    let alg = known_or_any(&["none", "HS256", "ES256", "EdDSA", "RS256"]);
    let typ = known_or_any(&["at+jwt", "refresh+jwt", "JWT"]);
    let claim = prop_oneof![
        any::<i64>().prop_map(serde_json::Value::from),
        ".{0,16}".prop_map(serde_json::Value::from),
        Just(serde_json::Value::Null),
    ];
    let claims = prop::collection::btree_map(
        prop_oneof![
            Just("sub".to_owned()),
            Just("exp".to_owned()),
            Just("role".to_owned()),
            Just("iss".to_owned()),
            Just("aud".to_owned()),
            Just("ver".to_owned()),
            "[a-z]{1,4}",
        ],
        claim,
        0..8,
    );
    let signature = prop::collection::vec(any::<u8>(), 0..80);
    (alg, typ, ".{0,12}", claims, signature).prop_map(|(alg, typ, kid, claims, signature)| {
        let header = serde_json::json!({ "alg": alg, "typ": typ, "kid": kid });
        let claims = serde_json::Value::Object(claims.into_iter().collect());
        forge::assemble(&header, &claims, &forge::b64(&signature))
    })
}

fn apps() -> &'static Apps {
    static APPS: std::sync::OnceLock<Apps> = std::sync::OnceLock::new();
    APPS.get_or_init(Apps::new)
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(1024)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn any_bearer_token_is_refused(token in header_bytes(600)) {
        let value = [b"Bearer ".as_slice(), &token].concat();
        let statuses = apps().send_everywhere(|_| get_me_with("authorization", &value));
        assert_all(&statuses, &[401], "an arbitrary bearer token");
    }

    #[test]
    fn any_jwt_shaped_token_is_refused(token in jwt_shaped()) {
        let value = format!("Bearer {token}");
        let statuses = apps().send_everywhere(|_| get_me_with("authorization", value.as_bytes()));
        assert_all(&statuses, &[401], "a JWT-shaped token");
    }

    #[test]
    fn any_cookie_is_refused(cookie in header_bytes(600)) {
        let statuses = apps().send_everywhere(|_| get_me_with("cookie", &cookie));
        assert_all(&statuses, &[401], "an arbitrary cookie");
    }

    #[test]
    fn any_session_cookie_value_is_refused(value in "[ -~]{0,200}") {
        let cookie = format!("__Host-session={value}");
        let statuses = apps().send_everywhere(|_| get_me_with("cookie", cookie.as_bytes()));
        assert_all(&statuses, &[401], "an arbitrary session ID");
    }

    #[test]
    fn any_body_to_any_write_endpoint_is_refused_or_an_order(
        path in prop_oneof![Just("/login"), Just("/orders"), Just("/refresh"), Just("/logout"),
                            Just("/admin/users/alice/role")],
        body in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..300),
            "\\{\"(item|username|password|role|refresh_token)\": ?(\"[ \
                -~]{0,40}\"|[0-9]{1,3}|null|\\[\\]|\\{\\})\\}"
                .prop_map(String::into_bytes),
        ],
    ) {
        let statuses = apps().send_everywhere(|credential| {
            Request::post(path)
                .header("content-type", "application/json")
                .header(credential.0.clone(), credential.1.clone())
                .body(Body::from(body.clone()))
                .unwrap()
        });
        // 201: a well-formed order from alice; 204: her logout (the body is
        // ignored). Anything else must be a refusal.
        for (mode, status) in &statuses {
            let fine = status.is_client_error()
                || (path == "/orders" && *status == StatusCode::CREATED)
                || (path == "/logout" && *status == StatusCode::NO_CONTENT);
            prop_assert!(fine, "{path} in {mode:?} mode got {status}");
        }
    }

    #[test]
    fn any_origin_and_content_type_on_a_write_is_refused_or_an_order(
        origin in header_bytes(80),
        fetch_site in header_bytes(20),
        content_type in header_bytes(60),
    ) {
        let value = |bytes: &[u8]| HeaderValue::from_bytes(bytes).unwrap();
        let statuses = apps().send_everywhere(|credential| {
            Request::builder()
                .method(Method::POST)
                .uri("/orders")
                .header(credential.0.clone(), credential.1.clone())
                .header("origin", value(&origin))
                .header("sec-fetch-site", value(&fetch_site))
                .header("content-type", value(&content_type))
                .body(Body::from(r#"{"item":"latte"}"#))
                .unwrap()
        });
        for (mode, status) in &statuses {
            prop_assert!(
                status.is_client_error() || *status == StatusCode::CREATED,
                "{mode:?} mode got {status}"
            );
        }
    }
}

/// A request as raw bytes: a request line, headers and a body (plain or
/// chunked), each part well-formed or not, then perhaps cut short.
fn raw_request() -> impl Strategy<Value = Vec<u8>> {
    let method = prop_oneof![
        Just("GET".to_owned()),
        Just("POST".to_owned()),
        "[A-Z]{0,9}",
        "[!-~]{0,6}",
    ];
    let target = prop_oneof![
        Just("/me".to_owned()),
        Just("/login".to_owned()),
        Just("/orders".to_owned()),
        Just("/refresh".to_owned()),
        Just("/logout".to_owned()),
        "/[!-~]{0,60}",
        "[ -~]{0,20}",
    ];
    let version = prop_oneof![
        Just("HTTP/1.1".to_owned()),
        Just("HTTP/1.0".to_owned()),
        "HTTP/[0-9]\\.[0-9]",
        "[ -~]{0,10}",
    ];
    let name = prop_oneof![
        Just("Host".to_owned()),
        Just("Content-Length".to_owned()),
        Just("Transfer-Encoding".to_owned()),
        Just("Content-Type".to_owned()),
        Just("Cookie".to_owned()),
        Just("Authorization".to_owned()),
        Just("Origin".to_owned()),
        "[!-~]{0,20}",
    ];
    let value = prop_oneof![
        Just(b"chunked".to_vec()),
        Just(b"application/json".to_vec()),
        "[0-9]{1,12}".prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..80),
    ];
    let headers = prop::collection::vec((name, value), 0..10);
    let chunk = (0usize..300, prop::collection::vec(any::<u8>(), 0..64));
    let body = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..400),
        prop::collection::vec(chunk, 0..5).prop_map(|chunks| {
            let mut body = Vec::new();
            for (claimed, bytes) in chunks {
                body.extend(format!("{claimed:x}\r\n").into_bytes());
                body.extend(bytes);
                body.extend(b"\r\n");
            }
            body.extend(b"0\r\n\r\n");
            body
        }),
    ];
    let eol = prop_oneof![8 => Just("\r\n"), 1 => Just("\n"), 1 => Just("\r")];
    let cut = prop_oneof![3 => Just(None), 1 => any::<prop::sample::Index>().prop_map(Some)];
    (method, target, version, headers, body, eol, cut).prop_map(
        |(method, target, version, headers, body, eol, cut)| {
            let mut bytes = format!("{method} {target} {version}{eol}").into_bytes();
            for (name, value) in headers {
                bytes.extend(format!("{name}: ").into_bytes());
                bytes.extend(value);
                bytes.extend(eol.as_bytes());
            }
            bytes.extend(eol.as_bytes());
            bytes.extend(body);
            if let Some(index) = cut {
                bytes.truncate(index.index(bytes.len() + 1));
            }
            bytes
        },
    )
}

/// Writes `bytes` to a fresh connection to `address`, ends the writing
/// half (so a request cut short is not left waiting for the head
/// timeout), and reads the answer's status, if the server gave one before
/// closing: hyper drops a connection whose client has stopped sending, so
/// some complete requests go unanswered too. No case may take more than
/// the read timeout.
fn raw_exchange(address: &str, bytes: &[u8]) -> Option<u16> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    // The server may answer and close before reading everything (a bad
    // request line): a failed write is part of the exchange, not an error.
    stream.write_all(bytes).ok();
    stream.shutdown(std::net::Shutdown::Write).ok();
    let mut answer = Vec::new();
    if let Err(error) = stream.read_to_end(&mut answer) {
        assert_ne!(
            error.kind(),
            std::io::ErrorKind::WouldBlock,
            "no answer and no close within 10 s"
        );
    }
    let status_line = answer.split(|b| *b == b'\n').next()?;
    let status = std::str::from_utf8(status_line).ok()?.split(' ').nth(1)?;
    status.parse().ok()
}

/// Raw bytes to the real binary, in the two modes whose request paths
/// differ most: every answer is not a 5xx, every case is sent, and the
/// server still answers afterwards.
#[test]
fn raw_bytes_on_a_socket_never_get_a_server_error_and_the_server_stays_up() {
    use cafe_client::launch::CafeProcess;
    use proptest::test_runner::{Config, TestRunner};
    use std::sync::atomic::{AtomicU32, Ordering};
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_cafe"));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for auth in ["sessions", "jwt"] {
        let args = ["serve", "--addr", "127.0.0.1:0", "--auth", auth];
        let mut server = CafeProcess::start(binary, &args, "listening on http://").unwrap();
        server.drain_output();
        let (sent, answered) = (AtomicU32::new(0), AtomicU32::new(0));
        let mut runner = TestRunner::new(Config::with_cases(cases() / 2));
        runner
            .run(&raw_request(), |bytes| {
                let status = raw_exchange(&server.address, &bytes);
                sent.fetch_add(1, Ordering::Relaxed);
                if let Some(status) = status {
                    answered.fetch_add(1, Ordering::Relaxed);
                    prop_assert!(status < 500, "{auth}: {status} for {bytes:?}");
                }
                Ok(())
            })
            .unwrap();
        let (sent, answered) = (sent.into_inner(), answered.into_inner());
        eprintln!("{auth}: {sent} raw requests sent, {answered} answered with a status");
        assert_eq!(sent, cases() / 2, "every case was sent");
        let healthz = cafe_client::Client::new(&server.url()).unwrap();
        let alive = runtime.block_on(healthz.send(&cafe_client::Call::get("/healthz")));
        assert_eq!(
            alive.unwrap().status,
            200,
            "{auth}: the server still answers"
        );
    }
}
