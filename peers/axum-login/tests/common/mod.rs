//! What the peer's tests share: the server on a loopback port, a client
//! that keeps the session cookie by hand (so a test sees every Set-Cookie
//! and can send any cookie it likes), and a real `redis-server`.

#![allow(dead_code)] // Each test binary uses its own part of this module.

use std::{
    net::{SocketAddr, TcpListener, TcpStream},
    process::{Child, Command, Stdio},
    time::Duration,
};

use peer_axum_login::{PeerConfig, SessionStoreChoice, cookie_name};
use reqwest::{StatusCode, header::HeaderMap};
use serde_json::{Value, json};

/// The two configurations, by the name tests print.
pub fn config(hardened: bool, store: SessionStoreChoice) -> PeerConfig {
    if hardened {
        PeerConfig::hardened(store)
    } else {
        PeerConfig::docs_default(store)
    }
}

/// A peer serving on 127.0.0.1, in this process.
pub struct Peer {
    pub base: String,
    pub hardened: bool,
    http: reqwest::Client,
}

impl Peer {
    /// Builds the app for `config` and serves it on a free port.
    pub async fn start(config: PeerConfig) -> Peer {
        let hardened = config.hardened;
        let app = peer_axum_login::app(config).await.expect("the peer starts");
        Peer::serve(app, hardened).await
    }

    /// Serves `app` (built by the test) on a free port.
    pub async fn serve(app: axum::Router, hardened: bool) -> Peer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(peer_axum_login::serve(listener, app));
        Peer {
            base: format!("http://{address}"),
            hardened,
            http: reqwest::Client::builder()
                // A request that hangs fails the test instead of the run.
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
        }
    }

    /// A browser of its own, with no cookie yet.
    pub fn browser(&self) -> Browser {
        Browser {
            base: self.base.clone(),
            cookie_name: cookie_name(self.hardened),
            cookie: None,
            http: self.http.clone(),
        }
    }
}

/// One answer: status, headers, body (JSON or `Null`).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Answer {
    /// The `Set-Cookie` lines for the session cookie.
    pub fn session_set_cookies(&self, cookie_name: &str) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .filter(|line| line.starts_with(&format!("{cookie_name}=")))
            .map(str::to_owned)
            .collect()
    }
}

/// A client that keeps one session cookie, as a browser would, but by hand:
/// it keeps a Secure cookie over plain HTTP too (loopback), and a test can
/// read or replace the value.
pub struct Browser {
    base: String,
    pub cookie_name: &'static str,
    /// The session cookie's value, if the server set one.
    pub cookie: Option<String>,
    http: reqwest::Client,
}

impl Browser {
    /// Sends `method path` with an optional JSON body and the cookie, and
    /// applies the answer's Set-Cookie for the session cookie.
    pub async fn send(
        &mut self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Answer {
        self.try_send(method, path, body, None)
            .await
            .expect("the peer answers")
    }

    /// `GET path`, giving up after `timeout`: `Err` if no answer came.
    pub async fn try_get(&mut self, path: &str, timeout: Duration) -> reqwest::Result<Answer> {
        self.try_send(reqwest::Method::GET, path, None, Some(timeout))
            .await
    }

    async fn try_send(
        &mut self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        timeout: Option<Duration>,
    ) -> reqwest::Result<Answer> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(timeout) = timeout {
            request = request.timeout(timeout);
        }
        if let Some(value) = &self.cookie {
            request = request.header("cookie", format!("{}={value}", self.cookie_name));
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await?;
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        let answer = Answer {
            status,
            headers,
            body,
            text,
        };
        for line in answer.session_set_cookies(self.cookie_name) {
            let value = line[self.cookie_name.len() + 1..]
                .split(';')
                .next()
                .unwrap_or_default()
                .to_owned();
            let removed = value.is_empty() || line.contains("Max-Age=0") || line.contains("1970");
            self.cookie = if removed { None } else { Some(value) };
        }
        Ok(answer)
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&mut self, path: &str, body: Value) -> Answer {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    /// `POST /login` with the name and password.
    pub async fn login(&mut self, name: &str, password: &str) -> Answer {
        self.post("/login", json!({ "username": name, "password": password }))
            .await
    }

    pub async fn login_alice(&mut self) -> Answer {
        let answer = self.login("alice", "wonderland-42").await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        answer
    }

    pub async fn login_admin(&mut self) -> Answer {
        let answer = self.login("admin", "admin-secret-42").await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        answer
    }
}

/// A `redis-server` of the test's own on a free loopback port, stopped when
/// dropped. `None` (with the reason printed) where redis-server is not
/// installed, unless `REQUIRE_REDIS=1`, as in CI: then the test fails.
pub struct RedisServer {
    pub url: String,
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    pub fn start() -> Option<RedisServer> {
        let installed = Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !installed {
            if std::env::var("REQUIRE_REDIS").as_deref() == Ok("1") {
                panic!("REQUIRE_REDIS=1 but redis-server is not installed");
            }
            eprintln!("skipped: redis-server is not installed (REQUIRE_REDIS=1 makes this fail)");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = RedisServer {
            url: format!("redis://127.0.0.1:{port}"),
            port,
            child: None,
        };
        server.restart();
        Some(server)
    }

    /// Starts the server again on its port (empty: nothing is saved).
    pub fn restart(&mut self) {
        self.stop();
        let port = self.port;
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        let mut tries = 0;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            tries += 1;
            assert!(tries < 100, "redis-server did not listen on port {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child = Some(child);
    }

    /// Stops the server now (the store goes away under the peer).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A connection of the test's own, to read what the store wrote.
    pub async fn connection(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A `POST /orders` with `cookie` held open between its load and its save:
/// sent with `Expect: 100-continue` and no body, so the server answers
/// `100 Continue` only once the handler starts reading the body, that is
/// after axum-login has loaded the session (its layer runs first, then the
/// route guards). Nothing is timed: the test knows the session was loaded
/// when [`HeldRequest::start`] returns.
pub struct HeldRequest {
    stream: tokio::net::TcpStream,
    body: &'static [u8],
}

impl HeldRequest {
    pub async fn start(peer: &Peer, cookie_name: &str, cookie: &str) -> HeldRequest {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let address = peer.base.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        let body: &'static [u8] = br#"{"item":"flat white"}"#;
        let head = format!(
            "POST /orders HTTP/1.1\r\nhost: {address}\r\ncookie: {cookie_name}={cookie}\r\n\
             content-type: application/json\r\ncontent-length: {}\r\n\
             expect: 100-continue\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut interim = Vec::new();
        while !interim.ends_with(b"\r\n\r\n") {
            let mut byte = [0u8; 1];
            assert_eq!(
                stream.read(&mut byte).await.unwrap(),
                1,
                "connection closed"
            );
            interim.push(byte[0]);
        }
        let interim = String::from_utf8_lossy(&interim).into_owned();
        assert!(
            interim.starts_with("HTTP/1.1 100 Continue"),
            "the handler never read the body: {interim}"
        );
        HeldRequest { stream, body }
    }

    /// Sends the body and reads the final answer's status line and headers.
    pub async fn finish(mut self) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        self.stream.write_all(self.body).await.unwrap();
        let mut answer = Vec::new();
        while !answer.ends_with(b"\r\n\r\n") {
            let mut byte = [0u8; 1];
            assert_eq!(
                self.stream.read(&mut byte).await.unwrap(),
                1,
                "connection closed"
            );
            answer.push(byte[0]);
        }
        String::from_utf8_lossy(&answer).into_owned()
    }
}
