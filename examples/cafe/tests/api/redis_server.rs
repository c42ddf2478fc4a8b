//! A real `redis-server` for a test: started on a free loopback port, with
//! nothing saved to disk, and stopped when the test ends. Without
//! `redis-server` on the PATH the Redis tests say so and pass, unless
//! `REQUIRE_REDIS` is set (CI sets it), when they fail instead.

use cafe::redis_store::RedisStore;
use redis::aio::ConnectionManager;
use redis::cluster_async::ClusterConnection;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
    /// Extra arguments (cluster mode, and the folder its state file goes to).
    extra: Vec<String>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether `redis-server` is installed; if it is not and `REQUIRE_REDIS` is
/// set, that is a failure.
fn redis_installed() -> bool {
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
    }
    found
}

impl RedisServer {
    /// A fresh server, or `None` (after saying why) when Redis is not
    /// installed and not required.
    pub fn start() -> Option<RedisServer> {
        redis_installed().then(|| RedisServer::on(free_port(), Vec::new()))
    }

    fn on(port: u16, extra: Vec<String>) -> RedisServer {
        let mut server = RedisServer {
            child: None,
            port,
            extra,
        };
        server.run();
        server
    }

    fn run(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(&self.extra)
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

/// A Redis Cluster of three masters on loopback, made the way the Redis
/// documentation makes one: three `redis-server --cluster-enabled yes`, then
/// `redis-cli --cluster create`.
pub struct RedisCluster {
    pub nodes: Vec<RedisServer>,
    _state: TempDir,
}

/// A folder for the nodes' cluster state files, removed afterwards.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

impl RedisCluster {
    pub fn start() -> Option<RedisCluster> {
        if !redis_installed() {
            return None;
        }
        let state = std::env::temp_dir().join(format!("cafe-cluster-{}", free_port()));
        std::fs::create_dir_all(&state).unwrap();
        let nodes: Vec<RedisServer> = (0..3)
            .map(|_| {
                let port = free_port();
                let extra = vec![
                    "--cluster-enabled".to_owned(),
                    "yes".to_owned(),
                    "--cluster-config-file".to_owned(),
                    format!("nodes-{port}.conf"),
                    "--dir".to_owned(),
                    state.display().to_string(),
                ];
                RedisServer::on(port, extra)
            })
            .collect();
        let addresses: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let created = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("redis-cli runs");
        assert!(created.success(), "redis-cli --cluster create failed");
        // Every node must agree that all 16384 slots are served.
        let deadline = Instant::now() + Duration::from_secs(10);
        for node in &nodes {
            loop {
                let info = Command::new("redis-cli")
                    .args(["-p", &node.port.to_string(), "cluster", "info"])
                    .output()
                    .expect("redis-cli runs");
                if String::from_utf8_lossy(&info.stdout).contains("cluster_state:ok") {
                    break;
                }
                assert!(Instant::now() < deadline, "the cluster did not come up");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Some(RedisCluster {
            nodes,
            _state: TempDir(state),
        })
    }

    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    pub async fn store(&self, prefix: &str) -> RedisStore<ClusterConnection> {
        let store = RedisStore::connect_cluster(&self.urls(), prefix)
            .await
            .unwrap();
        store.seed_demo_users().await.unwrap();
        store
    }
}
