//! A real `redis-server` for a test, from [`cafe_client::launch`]: started
//! on a free loopback port, with nothing saved to disk, and stopped when the
//! test ends. Without `redis-server` on the PATH the Redis tests say so and
//! pass, unless `REQUIRE_REDIS` is set (CI sets it), when they fail instead.

use cafe::redis_store::RedisStore;
use cafe_client::launch::{self, LaunchError};
use redis::aio::ConnectionManager;
use redis::cluster_async::ClusterConnection;

/// The launched server, or `None` after saying why when Redis is not
/// installed and not required; any other failure fails the test.
fn required<T>(launched: Result<T, LaunchError>) -> Option<T> {
    match launched {
        Ok(server) => Some(server),
        Err(LaunchError::NotInstalled(how)) => {
            assert!(
                std::env::var_os("REQUIRE_REDIS").is_none(),
                "REQUIRE_REDIS is set but {how}"
            );
            eprintln!("{how}: skipping (or set REQUIRE_REDIS=1 to fail instead)");
            None
        }
        Err(error) => panic!("{error}"),
    }
}

pub struct RedisServer(launch::RedisServer);

impl std::ops::Deref for RedisServer {
    type Target = launch::RedisServer;
    fn deref(&self) -> &launch::RedisServer {
        &self.0
    }
}

impl std::ops::DerefMut for RedisServer {
    fn deref_mut(&mut self) -> &mut launch::RedisServer {
        &mut self.0
    }
}

impl RedisServer {
    /// A fresh server, or `None` (after saying why) when Redis is not
    /// installed and not required.
    pub fn start() -> Option<RedisServer> {
        required(launch::RedisServer::start()).map(RedisServer)
    }

    /// A store on this server; `prefix` keeps tests sharing one apart.
    pub async fn store(&self, prefix: &str) -> RedisStore<ConnectionManager> {
        let store = RedisStore::connect(&self.url(), prefix).await.unwrap();
        store.seed_demo_users().await.unwrap();
        store
    }

    /// Starts it again on the same port, empty.
    pub fn restart(&mut self) {
        self.0.restart().unwrap();
    }
}

/// A Redis Cluster of three masters on loopback.
pub struct RedisCluster(launch::RedisCluster);

impl std::ops::Deref for RedisCluster {
    type Target = launch::RedisCluster;
    fn deref(&self) -> &launch::RedisCluster {
        &self.0
    }
}

impl std::ops::DerefMut for RedisCluster {
    fn deref_mut(&mut self) -> &mut launch::RedisCluster {
        &mut self.0
    }
}

impl RedisCluster {
    pub fn start() -> Option<RedisCluster> {
        required(launch::RedisCluster::start()).map(RedisCluster)
    }

    pub async fn store(&self, prefix: &str) -> RedisStore<ClusterConnection> {
        let store = RedisStore::connect_cluster(&self.urls(), prefix)
            .await
            .unwrap();
        store.seed_demo_users().await.unwrap();
        store
    }
}
