//! What only the JWT mechanism does, tested over real HTTP. The JWT
//! chapters name these tests; the attacks on the verifier itself are in
//! `examples/jwt/tests/attacks.rs`.

use crate::support::{
    Call, Credential, Mode, assert_exactly_one_winner, spawn_app, spawn_app_with, statuses_at_once,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jwt::keys::{KeyRing, SigningAlgorithm, SigningKey};
use serde_json::{Value, json};
use std::time::Duration;

const MINUTE: Duration = Duration::from_secs(60);

fn segment(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn tokens(credential: &Option<Credential>) -> (String, String) {
    match credential {
        Some(Credential::Bearer { access, refresh }) => (access.clone(), refresh.clone()),
        _ => panic!("a JWT visitor"),
    }
}

#[tokio::test]
async fn login_returns_a_bearer_pair_with_every_claim() {
    let app = spawn_app(Mode::Jwt).await;
    let answer = app.visitor().log_in("alice", "wonderland-42").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["token_type"], "Bearer");
    assert_eq!(answer.body["expires_in"], 900);
    assert_eq!(
        answer.body["user"],
        json!({ "name": "alice", "role": "member" })
    );

    let access = answer.body["access_token"].as_str().unwrap();
    let header = segment(access, 0);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "HS256");
    assert!(header["kid"].is_string());
    let claims = segment(access, 1);
    for claim in [
        "iss", "sub", "aud", "iat", "nbf", "exp", "jti", "role", "sid", "ver",
    ] {
        assert!(claims.get(claim).is_some(), "{claim} missing from {claims}");
    }
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        900
    );

    let refresh = answer.body["refresh_token"].as_str().unwrap();
    assert_eq!(segment(refresh, 0)["typ"], "refresh+jwt");
    assert_eq!(segment(refresh, 1)["aud"], "cafe-refresh");
}

#[tokio::test]
async fn bad_tokens_get_401_with_the_invalid_token_challenge() {
    let app = spawn_app(Mode::Jwt).await;
    let alice = app.logged_in("alice", "wonderland-42").await;
    let (access, refresh) = tokens(&alice.credential);
    let tampered = {
        let mut claims = segment(&access, 1);
        claims["role"] = json!("admin");
        let parts: Vec<&str> = access.split('.').collect();
        format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(claims.to_string()),
            parts[2]
        )
    };
    for token in [
        "garbage".to_owned(),
        "a.b".to_owned(),
        "a.b.c.d".to_owned(),
        tampered,
        refresh,
        "x".repeat(10_000),
        format!("{access}="),
    ] {
        let call = Call::get("/me").header("authorization", &format!("Bearer {token}"));
        let answer = app.visitor().send(&call).await;
        assert_eq!(answer.status, 401, "{token:.40}");
        assert_eq!(
            answer.header("www-authenticate"),
            Some(r#"Bearer error="invalid_token""#),
            "{token:.40}"
        );
    }
}

#[tokio::test]
async fn the_access_token_expires_and_a_refresh_brings_a_new_one() {
    let app = spawn_app(Mode::Jwt).await;
    let mut alice = app.logged_in("alice", "wonderland-42").await;
    app.wait(14 * MINUTE);
    assert_eq!(alice.get("/me").await.status, 200);
    app.wait(MINUTE + Duration::from_secs(jwt::tokens::LEEWAY_SECONDS));
    assert_eq!(
        alice.get("/me").await.status,
        401,
        "15 minutes and the leeway later"
    );
    assert_eq!(alice.refresh().await.status, 200);
    assert_eq!(alice.get("/me").await.status, 200);
}

#[tokio::test]
async fn a_malformed_refresh_body_is_400_and_the_wrong_shape_422() {
    let app = spawn_app(Mode::Jwt).await;
    let broken = Call::post("/refresh")
        .header("content-type", "application/json")
        .raw_body("{\"refresh_token\":");
    assert_eq!(app.visitor().send(&broken).await.status, 400);
    let wrong = Call::post("/refresh").json(&json!({ "token": "x" }));
    assert_eq!(app.visitor().send(&wrong).await.status, 422);
    let empty = Call::post("/refresh");
    assert_eq!(app.visitor().send(&empty).await.status, 400);
}

#[tokio::test]
async fn an_access_token_cannot_refresh() {
    let app = spawn_app(Mode::Jwt).await;
    let alice = app.logged_in("alice", "wonderland-42").await;
    let (access, _) = tokens(&alice.credential);
    let call = Call::post("/refresh").json(&json!({ "refresh_token": access }));
    assert_eq!(app.visitor().send(&call).await.status, 401);
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_refresh_token_ends_the_login() {
    let app = spawn_app(Mode::Jwt).await;
    let mut alice = app.logged_in("alice", "wonderland-42").await;
    let (_, first_refresh) = tokens(&alice.credential);
    assert_eq!(alice.refresh().await.status, 200);
    let (_, second_refresh) = tokens(&alice.credential);
    assert_ne!(first_refresh, second_refresh);

    // Mallory copied the first refresh token and tries it now.
    let stolen = Call::post("/refresh").json(&json!({ "refresh_token": first_refresh }));
    assert_eq!(app.visitor().send(&stolen).await.status, 401);
    // Reuse revoked the family: Alice's own, newer token is dead too.
    assert_eq!(alice.refresh().await.status, 401);
}

#[tokio::test]
async fn two_concurrent_refreshes_with_one_token_exactly_one_wins() {
    let app = spawn_app(Mode::Jwt).await;
    let alice = app.logged_in("alice", "wonderland-42").await;
    let (_, refresh) = tokens(&alice.credential);
    let call = Call::post("/refresh").json(&json!({ "refresh_token": refresh }));
    let sends = (0..6).map(|_| (app.visitor(), call.clone())).collect();
    assert_exactly_one_winner(&statuses_at_once(sends).await);
}

#[tokio::test]
async fn an_hs256_server_publishes_no_keys() {
    let app = spawn_app(Mode::Jwt).await;
    let jwks = app.visitor().get("/.well-known/jwks.json").await;
    assert_eq!(jwks.status, 200);
    assert_eq!(jwks.body, json!({ "keys": [] }));
}

#[tokio::test]
async fn a_second_service_verifies_es256_tokens_with_the_jwks_alone() {
    let mut config = Mode::Jwt.config();
    config.jwt_keys =
        KeyRing::new(SigningKey::generate("es256-1", SigningAlgorithm::Es256).unwrap());
    let app = spawn_app_with(Mode::Jwt, config).await;
    let alice = app.logged_in("alice", "wonderland-42").await;
    let (access, _) = tokens(&alice.credential);

    // The other service knows only the URL of the keys.
    let jwks = app.visitor().get("/.well-known/jwks.json").await.body;
    assert!(
        jwks["keys"][0].get("d").is_none(),
        "no private key is published"
    );
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks).unwrap();
    let kid = jsonwebtoken::decode_header(&access).unwrap().kid.unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(set.find(&kid).unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&["cafe-api"]);
    validation.set_issuer(&["cafe"]);
    validation.validate_exp = false; // the test clock is not the system clock
    let claims = jsonwebtoken::decode::<Value>(&access, &key, &validation)
        .unwrap()
        .claims;
    assert_eq!(claims["sub"], "alice");
}

#[tokio::test]
async fn an_eddsa_server_works_end_to_end() {
    let mut config = Mode::Jwt.config();
    config.jwt_keys = KeyRing::new(SigningKey::generate("ed-1", SigningAlgorithm::EdDsa).unwrap());
    let app = spawn_app_with(Mode::Jwt, config).await;
    let mut alice = app.logged_in("alice", "wonderland-42").await;
    assert_eq!(alice.get("/me").await.status, 200);
    assert_eq!(alice.refresh().await.status, 200);
    assert_eq!(
        app.visitor().get("/.well-known/jwks.json").await.body["keys"][0]["crv"],
        "Ed25519"
    );
}

/// How long a banned user keeps access, minute by minute, in each mode. The
/// book's "Expiry and revocation" chapter shows this table.
#[tokio::test]
async fn the_stale_role_window_is_at_most_the_access_lifetime() {
    let mut rows = vec![Vec::new(); 17];
    let mut windows = Vec::new();
    for mode in [Mode::Sessions, Mode::Jwt, Mode::JwtChecked] {
        let app = spawn_app(mode).await;
        let admin = app.logged_in("admin", "admin-secret-42").await;
        let alice = app.logged_in("alice", "wonderland-42").await;
        let ban = json!({ "role": "banned" });
        assert_eq!(admin.post("/admin/users/alice/role", ban).await.status, 200);
        let mut last_allowed = None;
        for (minute, row) in rows.iter_mut().enumerate() {
            let status = alice.get("/me").await.status;
            if status == 200 {
                last_allowed = Some(minute);
            }
            row.push(status);
            app.wait(MINUTE);
        }
        windows.push(last_allowed);
    }
    let mut table =
        String::from("# alice is banned at minute 0; what her GET /me gets, minute by minute\n");
    table.push_str("minute  sessions  jwt  jwt --check-token-version\n");
    for (minute, row) in rows.iter().enumerate() {
        table.push_str(&format!(
            "{minute:>6}  {:>8}  {:>3}  {:>25}\n",
            row[0], row[1], row[2]
        ));
    }
    // Sessions and checked tokens: not a single request. Plain JWT: until the
    // 15-minute access token expires.
    assert_eq!(windows, [None, Some(15), None], "\n{table}");
    crate::golden::check_golden("jwt/stale-role-window.txt", &table);
}

#[tokio::test]
async fn logging_out_with_an_expired_access_token_still_ends_the_login() {
    let app = spawn_app(Mode::Jwt).await;
    let mut alice = app.logged_in("alice", "wonderland-42").await;
    app.wait(60 * MINUTE);
    assert_eq!(
        alice.get("/me").await.status,
        401,
        "the access token has expired"
    );
    assert_eq!(alice.send(&Call::post("/logout")).await.status, 204);
    assert_eq!(
        alice.refresh().await.status,
        401,
        "and its refresh token died with the logout"
    );
}
