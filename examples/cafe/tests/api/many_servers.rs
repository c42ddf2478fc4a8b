//! More than one café server: what each mechanism needs to share, shown
//! with real servers and a real Redis.

use crate::redis_server::{RedisCluster, RedisServer};
use crate::store_conformance::check_every_store;
use crate::support::{
    Call, Credential, Mode, opening_time, spawn_app, spawn_app_sharing, spawn_app_with,
};
use cafe::clock::ManualClock;
use cafe::store::Stores;
use jwt::keys::{KeyRing, SigningAlgorithm, SigningKey};
use serde_json::json;
use std::sync::Arc;

const SECRET: &[u8] = b"a secret the servers share, 32+ bytes long";

async fn redis_stores(redis: &RedisServer, prefix: &str) -> Stores {
    Stores::all_in(Arc::new(redis.store(prefix).await))
}

#[tokio::test]
async fn the_redis_store_conforms() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    check_every_store(&redis_stores(&redis, "conformance:").await).await;
}

#[tokio::test]
async fn with_memory_stores_a_session_is_unknown_to_the_next_server() {
    let a = spawn_app(Mode::Sessions).await;
    let b = spawn_app(Mode::Sessions).await;
    let mut alice = a.logged_in("alice", "wonderland-42").await;
    assert_eq!(alice.get("/me").await.status, 200);
    // The load balancer sends her next request to B.
    alice.moves_to(&b);
    assert_eq!(alice.get("/me").await.status, 401);
}

#[tokio::test]
async fn with_redis_every_server_knows_every_session() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let stores = redis_stores(&redis, "cafe:").await;
    let clock = Arc::new(ManualClock::starting_at(opening_time()));
    let a = spawn_app_sharing(Mode::Sessions, stores.clone(), clock.clone()).await;
    let b = spawn_app_sharing(Mode::Sessions, stores.clone(), clock.clone()).await;
    let c = spawn_app_sharing(Mode::Sessions, stores, clock).await;

    let mut alice = a.logged_in("alice", "wonderland-42").await;
    let admin = b.logged_in("admin", "admin-secret-42").await;
    alice.moves_to(&b);
    assert_eq!(alice.get("/me").await.body["role"], "member", "B knows her");

    // A role change made through C is seen through A at once.
    let mut admin_on_c = admin.clone();
    admin_on_c.moves_to(&c);
    let promote = json!({ "role": "admin" });
    assert_eq!(
        admin_on_c
            .post("/admin/users/alice/role", promote)
            .await
            .status,
        200
    );
    alice.moves_to(&a);
    assert_eq!(alice.get("/me").await.body["role"], "admin");

    // Logging out through C ends the session everywhere.
    alice.moves_to(&c);
    assert_eq!(alice.send(&Call::post("/logout")).await.status, 204);
    for server in [&a, &b] {
        alice.moves_to(server);
        assert_eq!(alice.get("/me").await.status, 401);
    }
}

#[tokio::test]
async fn a_restarted_server_forgets_memory_sessions_but_not_redis_ones() {
    // Memory: the process that held the sessions is gone.
    let before = spawn_app(Mode::Sessions).await;
    let mut alice = before.logged_in("alice", "wonderland-42").await;
    let after = spawn_app(Mode::Sessions).await;
    alice.moves_to(&after);
    assert_eq!(alice.get("/me").await.status, 401, "memory: logged out");

    let Some(redis) = RedisServer::start() else {
        return;
    };
    let clock = Arc::new(ManualClock::starting_at(opening_time()));
    let stores = redis_stores(&redis, "cafe:").await;
    let before = spawn_app_sharing(Mode::Sessions, stores, clock.clone()).await;
    let mut alice = before.logged_in("alice", "wonderland-42").await;
    drop(before);
    let stores = redis_stores(&redis, "cafe:").await;
    let after = spawn_app_sharing(Mode::Sessions, stores, clock).await;
    alice.moves_to(&after);
    assert_eq!(alice.get("/me").await.status, 200, "redis: still logged in");
}

#[tokio::test]
async fn any_server_with_the_key_verifies_a_jwt_with_nothing_shared_but_the_key() {
    let mut configs = [Mode::Jwt.config(), Mode::Jwt.config()];
    for config in &mut configs {
        config.jwt_keys = KeyRing::new(SigningKey::hs256("hs256-1", SECRET).unwrap());
    }
    let [config_a, config_b] = configs;
    let a = spawn_app_with(Mode::Jwt, config_a).await;
    let b = spawn_app_with(Mode::Jwt, config_b).await;
    let mut alice = a.logged_in("alice", "wonderland-42").await;
    alice.moves_to(&b);
    assert_eq!(
        alice.get("/me").await.status,
        200,
        "B has its own memory stores"
    );
    // Refreshing is another matter: the refresh family lives on A.
    assert_eq!(alice.refresh().await.status, 401);
}

#[tokio::test]
async fn two_refreshes_with_one_token_on_two_servers_exactly_one_wins() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let clock = Arc::new(ManualClock::starting_at(opening_time()));
    let mut servers = Vec::new();
    for _ in 0..2 {
        let stores = redis_stores(&redis, "cafe:").await;
        let mut config = Mode::Jwt.config();
        config.stores = stores;
        config.jwt_keys = KeyRing::new(SigningKey::hs256("hs256-1", SECRET).unwrap());
        servers.push(crate::support::spawn_configured(Mode::Jwt, config, clock.clone()).await);
    }
    let alice = servers[0].logged_in("alice", "wonderland-42").await;
    let Some(Credential::Bearer { refresh, .. }) = alice.credential.clone() else {
        panic!("a JWT login");
    };
    let call = Call::post("/refresh").json(&json!({ "refresh_token": refresh }));
    let sends = (0..6)
        .map(|n| (servers[n % 2].visitor(), call.clone()))
        .collect();
    crate::support::assert_exactly_one_winner(&crate::support::statuses_at_once(sends).await);
}

#[tokio::test]
async fn a_redis_outage_is_a_503_until_redis_returns_and_a_plain_jwt_keeps_working() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let clock = Arc::new(ManualClock::starting_at(opening_time()));
    let sessions = spawn_app_sharing(
        Mode::Sessions,
        redis_stores(&redis, "s:").await,
        clock.clone(),
    )
    .await;
    let mut config = Mode::Jwt.config();
    config.stores = redis_stores(&redis, "j:").await;
    let jwt = crate::support::spawn_configured(Mode::Jwt, config, clock).await;
    let session_alice = sessions.logged_in("alice", "wonderland-42").await;
    let jwt_alice = jwt.logged_in("alice", "wonderland-42").await;

    redis.stop();
    let me = session_alice.get("/me").await;
    assert_eq!(me.status, 503, "never a 500, never let in");
    assert_eq!(me.header("retry-after"), Some("1"));
    assert_eq!(
        sessions
            .visitor()
            .log_in("admin", "admin-secret-42")
            .await
            .status,
        503
    );
    assert_eq!(jwt_alice.get("/me").await.status, 200, "nothing to look up");

    // Redis is back (empty: it kept nothing on disk), and so is the café,
    // without a restart.
    redis.restart();
    let stores = redis.store("s:").await; // seeds the accounts again
    drop(stores);
    let mut answer = sessions.visitor().log_in("alice", "wonderland-42").await;
    for _ in 0..20 {
        if answer.status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        answer = sessions.visitor().log_in("alice", "wonderland-42").await;
    }
    assert_eq!(answer.status, 200);
}

#[tokio::test]
async fn the_redis_store_conforms_on_a_three_master_cluster() {
    let Some(cluster) = RedisCluster::start() else {
        return;
    };
    let stores = Stores::all_in(Arc::new(cluster.store("conformance:").await));
    check_every_store(&stores).await;
}

/// Alice's sessions are all in her hash slot (749, which `redis-cli
/// --cluster create` gives the first of three masters), beside her account:
/// losing another master leaves her requests working, losing hers fails
/// them with 503, and nothing ever lets anyone in.
#[tokio::test]
async fn on_a_cluster_losing_one_master_fails_only_its_keys_and_never_lets_anyone_in() {
    let Some(mut cluster) = RedisCluster::start() else {
        return;
    };
    let clock = Arc::new(ManualClock::starting_at(opening_time()));
    let stores = Stores::all_in(Arc::new(cluster.store("cafe:").await));
    let a = spawn_app_sharing(Mode::Sessions, stores.clone(), clock.clone()).await;
    let b = spawn_app_sharing(Mode::Sessions, stores, clock).await;
    let mut visitors = Vec::new();
    for _ in 0..10 {
        let mut alice = a.logged_in("alice", "wonderland-42").await;
        alice.moves_to(&b);
        assert_eq!(
            alice.get("/me").await.status,
            200,
            "shared through the cluster"
        );
        visitors.push(alice);
    }

    cluster.nodes[2].stop();
    let mut statuses = Vec::new();
    for alice in &visitors {
        statuses.push(alice.get("/me").await.status);
    }
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");

    cluster.nodes[0].stop();
    let mut statuses = Vec::new();
    for alice in &visitors {
        statuses.push(alice.get("/me").await.status);
    }
    assert!(statuses.iter().all(|&s| s == 503), "{statuses:?}");
}

/// The chapter's memory table is written by
/// `cargo run -p cafe --example memory_per_login`; this checks that it is
/// there and covers every store and every kind of state, with a number each.
#[test]
fn the_memory_table_covers_every_store_and_state() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/measurements/memory-per-login.md"
    );
    let table = std::fs::read_to_string(path).unwrap();
    for store in ["memory", "Redis"] {
        for state in ["a session record", "a refresh family", "a denylist entry"] {
            let row = table
                .lines()
                .find(|line| line.starts_with(&format!("| {store} | {state}")))
                .unwrap_or_else(|| panic!("no row for {store}, {state}:\n{table}"));
            let bytes = row.trim_end_matches(" |").rsplit("| ").next().unwrap();
            let bytes: u64 = bytes
                .parse()
                .unwrap_or_else(|_| panic!("not a number: {row}"));
            assert!(bytes > 0, "{row}");
        }
    }
    assert!(table.contains("Measured with 1000000 of each"), "{table}");
}

/// An ES256 key every server is given, from the same private key.
fn es256(kid: &str, pkcs8: &[u8]) -> SigningKey {
    SigningKey::from_pkcs8(kid, SigningAlgorithm::Es256, pkcs8).unwrap()
}

async fn es256_server(ring: KeyRing) -> crate::support::TestApp {
    let mut config = Mode::Jwt.config();
    config.jwt_keys = ring;
    spawn_app_with(Mode::Jwt, config).await
}

/// A rolling key rotation over two ES256 servers: publish the next key
/// everywhere, then switch signing one server at a time. Nobody is logged
/// out; switching before publishing would have.
#[tokio::test]
async fn a_rolling_es256_key_rotation_logs_nobody_out_when_the_next_key_is_published_first() {
    let first = SigningKey::generate_pkcs8(SigningAlgorithm::Es256).unwrap();
    let next = SigningKey::generate_pkcs8(SigningAlgorithm::Es256).unwrap();

    // Both servers sign with the first key: a token from one works on the other.
    let a = es256_server(KeyRing::new(es256("2026-01", &first))).await;
    let b = es256_server(KeyRing::new(es256("2026-01", &first))).await;
    let mut old_token = a.logged_in("alice", "wonderland-42").await;
    old_token.moves_to(&b);
    assert_eq!(old_token.get("/me").await.status, 200);
    let jwks = |app: &crate::support::TestApp| {
        let visitor = app.visitor();
        async move { visitor.get("/.well-known/jwks.json").await.body }
    };
    assert_eq!(jwks(&a).await, jwks(&b).await, "one key, published by both");

    // Step 1: every server learns the next key, and still signs with the first.
    let published = || {
        let mut ring = KeyRing::new(es256("2026-01", &first));
        ring.also_verify(es256("2026-02", &next));
        ring
    };
    let b = es256_server(published()).await;
    assert_eq!(jwks(&b).await["keys"].as_array().unwrap().len(), 2);

    // Step 2, server by server: A signs with the next key, B not yet.
    let mut switched = KeyRing::new(es256("2026-01", &first));
    switched.rotate(es256("2026-02", &next));
    let a = es256_server(switched).await;
    let mut new_token = a.logged_in("alice", "wonderland-42").await;
    new_token.moves_to(&b);
    assert_eq!(
        new_token.get("/me").await.status,
        200,
        "B already knew the next key"
    );
    old_token.moves_to(&a);
    assert_eq!(
        old_token.get("/me").await.status,
        200,
        "A still verifies the first key"
    );

    // The mistake the order avoids: a server that never learnt the next key.
    let unprepared = es256_server(KeyRing::new(es256("2026-01", &first))).await;
    new_token.moves_to(&unprepared);
    assert_eq!(new_token.get("/me").await.status, 401);
}
