//! Starts the peer in-process on a loopback port and talks real HTTP to it,
//! holding its HS256 secret as a key holder (the attack lab) would.

#![allow(dead_code, reason = "each test binary uses part of this module")]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use peer_axum_jwt_auth::accounts::Accounts;
use peer_axum_jwt_auth::{PeerConfig, app_with_accounts, serve};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// The secret the test servers sign with: 34 bytes.
pub const SECRET: &[u8] = b"the-axum-jwt-auth-peer-test-secret";

/// The two configurations, named as the assertions' messages say them.
pub const CONFIGURATIONS: [(bool, &str); 2] = [(false, "default"), (true, "hardened")];

/// A peer listening on a free loopback port.
pub struct Peer {
    pub base: String,
    pub client: Client,
    pub hardened: bool,
    /// The peer's users, to count the passwords it checked.
    pub accounts: Arc<Accounts>,
}

impl Peer {
    pub async fn start(hardened: bool) -> Peer {
        let config = PeerConfig::new(hardened, SECRET.to_vec()).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let accounts = Arc::new(Accounts::demo(hardened));
        let router = app_with_accounts(config, Arc::clone(&accounts));
        tokio::spawn(async move { serve(listener, router).await });
        Peer {
            base,
            client: Client::new(),
            hardened,
            accounts,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `POST /login`, whatever the answer.
    pub async fn try_log_in(&self, user: &str, password: &str) -> Response {
        self.client
            .post(self.url("/login"))
            .json(&json!({ "username": user, "password": password }))
            .send()
            .await
            .unwrap()
    }

    /// Logs a demo user in: the login's JSON answer.
    pub async fn log_in(&self, user: &str) -> Value {
        let password = match user {
            "alice" => "wonderland-42",
            "admin" => "admin-secret-42",
            other => panic!("no demo user {other}"),
        };
        let reply = self.try_log_in(user, password).await;
        assert_eq!(reply.status(), StatusCode::OK, "{user} logs in");
        reply.json().await.unwrap()
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// `POST /refresh` with `refresh_token` in the body.
    pub async fn refresh(&self, refresh_token: &str) -> Response {
        self.client
            .post(self.url("/refresh"))
            .json(&json!({ "refresh_token": refresh_token }))
            .send()
            .await
            .unwrap()
    }

    /// `POST /logout` with the access token only, as the attack lab sends it.
    pub async fn log_out(&self, access_token: &str) -> Response {
        self.client
            .post(self.url("/logout"))
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap()
    }

    /// `POST /logout` with only `{"refresh_token": ...}` in the body.
    pub async fn log_out_with_refresh_token(&self, refresh_token: &str) -> Response {
        self.client
            .post(self.url("/logout"))
            .json(&json!({ "refresh_token": refresh_token }))
            .send()
            .await
            .unwrap()
    }

    /// An admin sets `user`'s role; asserts it worked.
    pub async fn set_role(&self, user: &str, role: &str) {
        let admin = self.log_in("admin").await;
        let reply = self
            .post(
                &format!("/admin/users/{user}/role"),
                token(&admin, "access_token"),
                json!({ "role": role }),
            )
            .await;
        assert_eq!(reply.status(), StatusCode::OK, "{user} becomes {role}");
    }

    /// A configuration's name, for assertion messages.
    pub fn name(&self) -> &'static str {
        if self.hardened { "hardened" } else { "default" }
    }
}

/// Both configurations, started.
pub async fn both() -> [Peer; 2] {
    [Peer::start(false).await, Peer::start(true).await]
}

pub fn token<'a>(answer: &'a Value, field: &str) -> &'a str {
    answer[field].as_str().unwrap()
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .try_into()
        .unwrap()
}

/// A token's header and claims, read without checking anything.
pub fn parts(token: &str) -> (Value, Value) {
    let mut segments = token.split('.');
    let mut read = || {
        let bytes = URL_SAFE_NO_PAD.decode(segments.next().unwrap()).unwrap();
        serde_json::from_slice(&bytes).unwrap()
    };
    (read(), read())
}

/// `header` and `claims` signed HS256 with `key`: any JSON, as a key holder
/// can make it (jsonwebtoken's own HMAC over exactly these bytes).
pub fn sign(header: &Value, claims: &Value, key: &[u8]) -> String {
    let encode = |value: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap());
    let input = format!("{}.{}", encode(header), encode(claims));
    let key = jsonwebtoken10::EncodingKey::from_secret(key);
    let signature =
        jsonwebtoken10::crypto::sign(input.as_bytes(), &key, jsonwebtoken10::Algorithm::HS256)
            .unwrap();
    format!("{input}.{signature}")
}

/// A real token with its header and claims changed by `change`, signed
/// again with the server's secret: what a holder of the key can send.
pub fn resign(token: &str, change: impl FnOnce(&mut Value, &mut Value)) -> String {
    let (mut header, mut claims) = parts(token);
    change(&mut header, &mut claims);
    sign(&header, &claims, SECRET)
}

/// The `WWW-Authenticate` header, if any.
pub fn challenge(reply: &Response) -> Option<String> {
    reply
        .headers()
        .get("www-authenticate")
        .map(|value| value.to_str().unwrap().to_owned())
}
