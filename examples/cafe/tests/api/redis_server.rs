//! A real `redis-server` for a test: started on a free loopback port, with
//! nothing saved to disk, and stopped when the test ends. Without
//! `redis-server` on the PATH the Redis tests say so and pass, unless
//! `REQUIRE_REDIS` is set (CI sets it), when they fail instead.

use cafe::redis_store::RedisStore;
use redis::aio::ConnectionManager;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
}

impl RedisServer {
    /// A fresh server, or `None` (after saying why) when Redis is not
    /// installed and not required.
    pub fn start() -> Option<RedisServer> {
        let found = Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok();
        if !found {
            assert!(
                std::env::var_os("REQUIRE_REDIS").is_none(),
                "REQUIRE_REDIS is set but redis-server is not installed: apt-get install redis-server"
            );
            eprintln!(
                "redis-server is not installed: skipping (install it, or set REQUIRE_REDIS=1 to fail instead)"
            );
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = RedisServer { child: None, port };
        server.run();
        Some(server)
    }

    fn run(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not listen");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// A store on this server; `prefix` keeps tests sharing one apart.
    pub async fn store(&self, prefix: &str) -> RedisStore<ConnectionManager> {
        let store = RedisStore::connect(&self.url(), prefix).await.unwrap();
        store.seed_demo_users().await.unwrap();
        store
    }

    /// Stops the server, as a crash or an outage would.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait().ok();
        }
    }

    /// Starts it again on the same port, empty.
    pub fn restart(&mut self) {
        self.stop();
        self.run();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
