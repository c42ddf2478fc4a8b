//! Property tests: arbitrary bytes as bearer tokens, cookies, JSON bodies
//! and header values, sent to the app in-process in every mode. Every answer
//! must be a refusal (4xx) or, for a well-formed order from a logged-in
//! member, a 201; nothing may panic, answer 5xx, or let anyone in.
//!
//! Each property tries 1,024 inputs in every mode; `PROPTEST_CASES` sets
//! another number (CI runs the default).

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, Request, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cafe::{AuthMode, Config};
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
    /// mode's app, and returns each status; `None` if the input is not a
    /// request at all (a header value with a newline, say).
    fn send_everywhere(
        &self,
        build: impl Fn(&(HeaderName, HeaderValue)) -> Option<Request<Body>>,
    ) -> Vec<(AuthMode, StatusCode)> {
        self.apps
            .iter()
            .filter_map(|(mode, app, credential)| {
                let request = build(credential)?;
                let status = self
                    .runtime
                    .block_on(app.clone().oneshot(request))
                    .unwrap()
                    .status();
                Some((*mode, status))
            })
            .collect()
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

fn get_me_with(name: &'static str, value: &[u8]) -> Option<Request<Body>> {
    let value = HeaderValue::from_bytes(value).ok()?;
    Request::get("/me")
        .header(name, value)
        .body(Body::empty())
        .ok()
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
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string()),
            URL_SAFE_NO_PAD.encode(signature)
        )
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
    fn any_bearer_token_is_refused(token in prop::collection::vec(any::<u8>(), 0..600)) {
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
    fn any_cookie_is_refused(cookie in prop::collection::vec(any::<u8>(), 0..600)) {
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
            "\\{\"(item|username|password|role|refresh_token)\": ?(\"[ -~]{0,40}\"|[0-9]{1,3}|null|\\[\\]|\\{\\})\\}"
                .prop_map(String::into_bytes),
        ],
    ) {
        let statuses = apps().send_everywhere(|credential| {
            Request::post(path)
                .header("content-type", "application/json")
                .header(credential.0.clone(), credential.1.clone())
                .body(Body::from(body.clone()))
                .ok()
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
        origin in prop::collection::vec(any::<u8>(), 0..80),
        fetch_site in prop::collection::vec(any::<u8>(), 0..20),
        content_type in prop::collection::vec(any::<u8>(), 0..60),
    ) {
        let statuses = apps().send_everywhere(|credential| {
            Request::builder()
                .method(Method::POST)
                .uri("/orders")
                .header(credential.0.clone(), credential.1.clone())
                .header("origin", HeaderValue::from_bytes(&origin).ok()?)
                .header("sec-fetch-site", HeaderValue::from_bytes(&fetch_site).ok()?)
                .header("content-type", HeaderValue::from_bytes(&content_type).ok()?)
                .body(Body::from(r#"{"item":"latte"}"#))
                .ok()
        });
        for (mode, status) in &statuses {
            prop_assert!(
                status.is_client_error() || *status == StatusCode::CREATED,
                "{mode:?} mode got {status}"
            );
        }
    }
}
