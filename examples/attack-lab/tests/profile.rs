//! The lab against a server whose paths are not the café's: the café
//! itself behind a front that answers other paths (`/v2/session` for
//! `/login`, `/v2/people/{name}/role` for the role change, …) and lacks a
//! few endpoints, described by a target profile. Each attack must reach the
//! profile's paths only, end as it does against the café, and be skipped,
//! unsent, where the profile names no path it needs.

use attack_lab::{Lab, Outcome, Profile};
use axum::Router;
use axum::body::Body;
use cafe::{AuthMode, Config, ConnectionLimits};
use http::{Request, Uri};
use jwt::keys::{KeyRing, SigningAlgorithm, SigningKey};

const SECRET: &[u8] = b"an attack-lab test secret of 32+ bytes";

/// The front's paths, as (theirs, the café's). `{}` is one path segment,
/// passed on. No orders, no password change, no list of logins.
const FRONT: [(&str, &str); 7] = [
    ("/v2/session", "/login"),
    ("/v2/session/end", "/logout"),
    ("/v2/whoami", "/me"),
    ("/v2/tokens", "/refresh"),
    ("/v2/people", "/users"),
    ("/v2/people/{}/role", "/admin/users/{}/role"),
    (
        "/v2/people/{}/sessions/end",
        "/admin/users/{}/logout-everywhere",
    ),
];

/// The profile a reader would write for the front.
const PROFILE: &str = r#"
name = "the café behind /v2"
target = "http://127.0.0.1:9"
[paths]
login = "/v2/session"
logout = "/v2/session/end"
me = "/v2/whoami"
refresh = "/v2/tokens"
users = "/v2/people"
change_role = "/v2/people/{name}/role"
logout_everywhere = "/v2/people/{name}/sessions/end"
[token]
issuer = "cafe"
audience = "cafe-api"
type = "at+jwt"
[[accounts]]
name = "alice"
password = "wonderland-42"
role = "member"
[[accounts]]
name = "admin"
password = "admin-secret-42"
role = "admin"
"#;

/// `path` on the front as the café names it, or `None` (the front answers
/// 404 to anything else, the café's own paths included).
fn to_cafe(path: &str) -> Option<String> {
    let theirs: Vec<&str> = path.split('/').collect();
    FRONT.iter().find_map(|(front, cafe)| {
        let pattern: Vec<&str> = front.split('/').collect();
        if pattern.len() != theirs.len() {
            return None;
        }
        let mut segment = None;
        for (want, got) in pattern.iter().zip(&theirs) {
            match *want {
                "{}" => segment = Some(*got),
                literal if literal == *got => {}
                _ => return None,
            }
        }
        Some(cafe.replace("{}", segment.unwrap_or_default()))
    })
}

/// A `--auth jwt` café, served at a free loopback port, either as it is
/// or behind the front.
async fn serve(front: bool) -> String {
    let mut config = Config::new(AuthMode::Jwt);
    let algorithm = SigningAlgorithm::Hs256;
    config.jwt_keys = KeyRing::new(SigningKey::hs256(algorithm.first_key_id(), SECRET).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let limits = ConnectionLimits::of(&config);
    let cafe = cafe::app(config);
    let app = if front {
        let rewritten = tower::ServiceExt::map_request(cafe, |mut request: Request<Body>| {
            let uri = request.uri();
            let path = to_cafe(uri.path()).unwrap_or_else(|| "/not-on-the-front".to_owned());
            let query = uri
                .query()
                .map_or(String::new(), |query| format!("?{query}"));
            *request.uri_mut() = Uri::try_from(format!("{path}{query}")).unwrap();
            request
        });
        Router::new().fallback_service(rewritten)
    } else {
        cafe
    };
    tokio::spawn(cafe::serve_router(listener, app, limits));
    address
}

/// Attacks that use the front's every path, and two that need what it
/// lacks.
const ATTACKS: [&str; 8] = [
    "jwt-alg-none",
    "jwt-refresh-as-access",
    "refresh-reuse-after-rotation",
    "access-after-ban",
    "access-after-logout-everywhere",
    "refresh-after-logout",
    "csrf-fetch-json",
    "credential-after-password-change",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lab_speaks_the_profiles_paths_and_skips_what_it_lacks() {
    let profile = Profile::from_toml(PROFILE, "front.toml").unwrap();
    let front = serve(true).await;
    let cafe = serve(false).await;
    let by_profile = Lab::connect_with(&profile, Some(&front)).await.unwrap();
    let plain = Lab::connect(&cafe).await.unwrap();
    assert_eq!(by_profile.server(), plain.server());

    for name in ATTACKS {
        let attack = attack_lab::find(name).unwrap();
        let outcome = by_profile.run(&attack).await.unwrap();
        let exchanges = by_profile.take_exchanges();
        for exchange in &exchanges {
            let path = exchange.request_line.split_once(&front).unwrap().1;
            assert!(
                path.starts_with("/v2/"),
                "{name}: {} went to a path the profile does not name",
                exchange.request_line
            );
        }
        let expected = plain.run(&attack).await.unwrap();
        match name {
            "csrf-fetch-json" => assert_eq!(
                outcome,
                Outcome::Skipped("the profile names no orders path".to_owned())
            ),
            "credential-after-password-change" => assert_eq!(
                outcome,
                Outcome::Skipped("the profile names no change_password path".to_owned())
            ),
            _ => {
                // The same verdict, down to the reason.
                assert_eq!(outcome, expected, "{name}");
                assert!(!exchanges.is_empty(), "{name} sent nothing");
            }
        }
    }
}

/// The front itself: the café's paths are not on it, so a lab that sent
/// one would get a 404, not an answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_front_answers_only_its_own_paths() {
    let front = serve(true).await;
    let client = cafe_client::Client::new(&front).unwrap();
    let login = cafe_client::login_call("alice", "wonderland-42");
    assert_eq!(client.send(&login).await.unwrap().status, 404);
    let routed = client.routed_by(Profile::from_toml(PROFILE, "front.toml").unwrap());
    assert_eq!(routed.send(&login).await.unwrap().status, 200);
}

/// A `Visitor` (the client the café's tests use) whose client is routed by
/// the profile logs in, calls, refreshes and logs out on the front's paths.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_routed_by_the_profile_logs_in_refreshes_and_logs_out() {
    let front = serve(true).await;
    let profile = Profile::from_toml(PROFILE, "front.toml").unwrap();
    let client = cafe_client::Client::for_profile(&profile, Some(&front)).unwrap();
    let mut alice = cafe_client::Visitor::new(client);
    assert_eq!(
        alice.log_in("alice", "wonderland-42").await.unwrap().status,
        200
    );
    assert_eq!(alice.mechanism, Some(attack_lab::Mechanism::Jwt));
    assert_eq!(alice.get("/me").await.unwrap().status, 200);
    assert_eq!(alice.refresh().await.unwrap().status, 200);
    assert_eq!(alice.get("/me").await.unwrap().status, 200);
    assert_eq!(alice.log_out().await.unwrap().status, 204);
    let orders = alice.get("/orders").await.unwrap_err();
    assert_eq!(orders.0, "GET /orders: the profile names no orders path");
}
