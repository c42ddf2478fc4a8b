//! The Redis store under the things that go wrong in production: a Redis
//! restart under running servers, a connection cut between the commands of
//! one write, a user with thousands of logins, two logins of one user
//! interleaved step by step. Each test forces its situation (a real restart,
//! a wire that stops after a chosen command, a pause before a chosen round
//! trip) rather than hoping a timing loop finds it.

use crate::redis_server::RedisServer;
use crate::support::{Call, Mode, opening_time, spawn_configured};
use cafe::clock::ManualClock;
use cafe::redis_store::{RedisStore, TOUCH_EVERY};
use cafe::store::Stores;
use jwt::keys::{KeyRing, SigningKey};
use jwt::revocation::Device;
use jwt::revocation::{RefreshFamilyStore, Rotation, RotationRefusal};
use redis::aio::{ConnectionLike, MultiplexedConnection};
use sessions::{SessionId, SessionKey, SessionRecord, SessionStore};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

mod wire;
use wire::{WRITES, Wire, prepare, write};

const SECRET: &[u8] = b"a secret the servers share, 32+ bytes long";

/// Every test here ends within this, whatever Redis does.
const PATIENCE: Duration = Duration::from_secs(120);

/// A café of `mode` whose every store is on `redis` under `prefix`, with
/// its clock at the opening time; `adjust` changes its configuration first.
async fn on_redis(
    redis: &RedisServer,
    prefix: &str,
    mode: Mode,
    adjust: impl FnOnce(&mut cafe::Config),
) -> (crate::support::TestApp, Arc<ManualClock>) {
    let mut config = mode.config();
    config.stores = Stores::all_in(Arc::new(redis.store(prefix).await));
    adjust(&mut config);
    let clock = Arc::new(ManualClock::starting_at(opening_time()));
    (spawn_configured(mode, config, clock.clone()).await, clock)
}

async fn bounded<T>(test: impl Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, test)
        .await
        .expect("the test finished in time")
}

async fn plain_connection(redis: &RedisServer) -> MultiplexedConnection {
    redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// Restarts Redis as a persistent one restarts: the process and every
/// connection to it go, the data stays (copied out with `DUMP` and back in
/// with `RESTORE`, TTLs and all, since the test server saves nothing).
async fn restart_keeping_data(redis: &mut RedisServer) {
    let mut connection = plain_connection(redis).await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut connection)
        .await
        .unwrap();
    let mut saved = Vec::new();
    for key in keys {
        let dump: Vec<u8> = redis::cmd("DUMP")
            .arg(&key)
            .query_async(&mut connection)
            .await
            .unwrap();
        let ttl: i64 = redis::cmd("PTTL")
            .arg(&key)
            .query_async(&mut connection)
            .await
            .unwrap();
        saved.push((key, dump, ttl.max(0)));
    }
    drop(connection);
    redis.restart();
    let mut connection = plain_connection(redis).await;
    for (key, dump, ttl) in saved {
        let _: () = redis::cmd("RESTORE")
            .arg(&key)
            .arg(ttl)
            .arg(dump)
            .query_async(&mut connection)
            .await
            .unwrap();
    }
}

/// Two café servers, each on its own connection to one Redis; alice logs in
/// through the first and is seen by both; Redis restarts; her very next
/// request through each server must work. Before the fix, each server's
/// first request after the restart answered 503: the connection manager
/// only notices a dead connection by failing a command on it.
async fn a_redis_restart_costs_no_request(mode: Mode) {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let clock = Arc::new(ManualClock::starting_at(opening_time()));
    let mut servers = Vec::new();
    for _ in 0..2 {
        let mut config = mode.config();
        config.stores = Stores::all_in(Arc::new(redis.store("cafe:").await));
        // Token modes: both servers sign and verify with one key.
        config.jwt_keys = KeyRing::new(SigningKey::hs256("hs256-1", SECRET).unwrap());
        servers.push(spawn_configured(mode, config, clock.clone()).await);
    }
    let mut alice = servers[0].logged_in("alice", "wonderland-42").await;
    for server in &servers {
        alice.moves_to(server);
        assert_eq!(alice.get("/me").await.status, 200);
    }

    restart_keeping_data(&mut redis).await;

    for (n, server) in servers.iter().enumerate() {
        alice.moves_to(server);
        let me = alice.get("/me").await;
        assert_eq!(
            me.status, 200,
            "{mode:?}: the first request through server {n} after the restart: {:?}",
            me.body
        );
    }
}

#[tokio::test]
async fn a_redis_restart_costs_no_request_with_sessions() {
    bounded(a_redis_restart_costs_no_request(Mode::Sessions)).await;
}

#[tokio::test]
async fn a_redis_restart_costs_no_request_with_checked_jwts() {
    bounded(a_redis_restart_costs_no_request(Mode::JwtChecked)).await;
}

fn record(user: &str) -> SessionRecord {
    let now = SystemTime::now();
    SessionRecord {
        user: user.to_owned(),
        created_at: now,
        last_seen: now,
        login_id: format!("{user}-login"),
        device: Device::new("192.0.2.7", Some("redis robustness")),
    }
}

/// The idle limit the robustness tests rotate with: their families are
/// renewed within it.
pub const DAY: u64 = 24 * 60 * 60;

/// A new session key of alice's, in her shard (every session here is hers).
fn new_key() -> SessionKey {
    let shard = cafe::redis_store::shard_of_user("alice");
    SessionId::generate_in(Some(shard)).unwrap().key()
}

const TTL: Duration = Duration::from_secs(1800);

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

// ------------------------------------------- every write-with-TTL is atomic

/// The kinds of key the café keeps for good: accounts, orders and token
/// versions (a version that expired would read as 0 again). Every other key
/// is a login, an index of logins, a denylist entry or a throttle window,
/// and must carry a TTL.
const PERMANENT: [&str; 5] = ["account:", "accounts", "order-id", "orders:", "version:"];

/// Every key under `prefix` that is neither permanent nor has a TTL.
async fn keys_without_a_ttl(redis: &RedisServer, prefix: &str) -> Vec<String> {
    let mut connection = plain_connection(redis).await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut connection)
        .await
        .unwrap();
    let mut without = Vec::new();
    for key in keys {
        let kind = key.trim_start_matches(prefix);
        if PERMANENT
            .iter()
            .any(|permanent| kind.starts_with(permanent))
        {
            continue;
        }
        let ttl: i64 = redis::cmd("TTL")
            .arg(&key)
            .query_async(&mut connection)
            .await
            .unwrap();
        if ttl < 0 {
            without.push(format!("{key} (TTL {ttl})"));
        }
    }
    without
}

/// For every write, and every point at which the connection can drop (after
/// its first command, its second, ...), the keys it leaves behind each have
/// a TTL, unless they are of a permanent kind. Before the fix, a session
/// record written by `HSET` without its `EXPIRE`, and every per-user index,
/// stayed for ever.
#[tokio::test]
async fn wherever_a_write_is_cut_off_every_key_it_leaves_has_a_ttl() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    bounded(async {
        let mut failures = Vec::new();
        for what in WRITES {
            for commands in 0.. {
                assert!(commands < 50, "{what}: never completes");
                let prefix = format!("cut-{}-{commands}:", what.replace(' ', "-"));
                let whole = RedisStore::with_connection(plain_connection(&redis).await, &prefix);
                prepare(&whole, what).await;
                let wire = Wire::to(&redis).await;
                wire.cut_after(commands);
                let store = RedisStore::with_connection(wire, &prefix);
                let completed = write(&store, what).await.is_ok();
                let without = keys_without_a_ttl(&redis, &prefix).await;
                if !without.is_empty() {
                    failures.push(format!("{what}, cut after {commands}: {without:?}"));
                }
                if completed {
                    break;
                }
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    })
    .await;
}

// ------------------------------------------------------- bounded indexes

/// `INFO commandstats`: commands Redis ran since the last `CONFIG RESETSTAT`
/// (a script's own calls included).
async fn commands_run(redis: &RedisServer) -> u64 {
    let mut connection = plain_connection(redis).await;
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut connection)
        .await
        .unwrap();
    info.lines()
        .filter_map(|line| line.split("calls=").nth(1))
        .filter_map(|rest| rest.split(',').next()?.parse::<u64>().ok())
        .sum()
}

async fn reset_command_counts(redis: &RedisServer) {
    let mut connection = plain_connection(redis).await;
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query_async(&mut connection)
        .await
        .unwrap();
}

/// What one more login costs (round trips, commands Redis ran) after
/// `before` logins of the same user.
async fn cost_of_a_login_after(redis: &RedisServer, before: usize, families: bool) -> (usize, u64) {
    let prefix = format!("cost-{families}-{before}:");
    let store = RedisStore::with_connection(plain_connection(redis).await, &prefix);
    log_alice_in(&store, before, families).await;
    let wire = Wire::to(redis).await;
    let measured = RedisStore::with_connection(wire.clone(), &prefix);
    reset_command_counts(redis).await;
    let before_commands = commands_run(redis).await;
    log_in(&measured, families, "family-last", new_key()).await;
    // `INFO` itself, twice, and the reset are not the login's.
    let commands = commands_run(redis).await - before_commands - 1;
    (wire.round_trips(), commands)
}

/// A login after 150 logins of one user costs what a login after 400 does,
/// in round trips and in commands Redis runs. Before the fix, every login
/// checked every earlier one, a round trip each: 153 round trips after 150,
/// 403 after 400.
#[tokio::test]
async fn a_login_costs_the_same_however_many_logins_the_user_has() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    bounded(async {
        for families in [false, true] {
            let few = cost_of_a_login_after(&redis, 150, families).await;
            let many = cost_of_a_login_after(&redis, 400, families).await;
            let what = if families {
                "refresh family"
            } else {
                "session"
            };
            eprintln!(
                "{what}: (round trips, commands) {few:?} after 150 logins, {many:?} after 400"
            );
            assert_eq!(
                few, many,
                "{what}: (round trips, commands) after 150 and 400"
            );
            assert!(few.0 <= 6, "{what}: {few:?}");
        }
    })
    .await;
}

/// Alice logs in as often as the cap allows, then once more: her oldest
/// login ends (its session is gone, its refresh family revoked), the next
/// oldest and the newest live on, and "log out everywhere" ends exactly
/// the cap's worth.
#[tokio::test]
async fn past_the_cap_a_new_login_ends_the_oldest() {
    use cafe::redis_store::MAX_LIVE_LOGINS_PER_USER as CAP;
    let Some(redis) = RedisServer::start() else {
        return;
    };
    bounded(async {
        let store = RedisStore::with_connection(plain_connection(&redis).await, "cap:");
        let start = SystemTime::now();
        let mut keys = Vec::new();
        for n in 0..=CAP {
            // A millisecond apart: the first is the oldest.
            let at = start + Duration::from_millis(n as u64);
            let record = SessionRecord {
                created_at: at,
                last_seen: at,
                ..record("alice")
            };
            let key = new_key();
            store.create(key, record, TTL).await.unwrap();
            keys.push(key);
        }
        assert_eq!(
            store.load(&keys[0]).await.unwrap(),
            None,
            "the oldest ended"
        );
        for key in [&keys[1], &keys[CAP]] {
            assert!(store.load(key).await.unwrap().is_some());
        }
        assert_eq!(store.delete_all_for_user("alice").await.unwrap(), CAP);

        let now = unix_now();
        for n in 0..=CAP {
            let sid = format!("family-{n}");
            // A second apart: the first ends first.
            let ends = now + 3600 + n as u64;
            store
                .start(&sid, "alice", "r1", ends, now, &Device::default())
                .await
                .unwrap();
        }
        assert_eq!(
            store.rotate("family-0", "r1", "r2", 0, DAY).await.unwrap(),
            Rotation::Refused(RotationRefusal::Revoked),
            "the oldest ended"
        );
        for sid in ["family-1", &format!("family-{CAP}")] {
            assert!(matches!(
                store.rotate(sid, "r1", "r2", 0, DAY).await.unwrap(),
                Rotation::Rotated { .. }
            ));
        }
        assert_eq!(store.revoke_all_for("alice").await.unwrap().ended, CAP);
    })
    .await;
}

// ------------------------------------------- a prune between two steps

/// Fills alice's index to the cap through `store`, so that her next login
/// prunes it and ends her oldest.
async fn alice_at_the_cap<C>(store: &RedisStore<C>, families: bool)
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    log_alice_in(store, cafe::redis_store::MAX_LIVE_LOGINS_PER_USER, families).await;
}

async fn log_in<C>(store: &RedisStore<C>, families: bool, sid: &str, key: SessionKey)
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    let now = unix_now();
    if families {
        store
            .start(sid, "alice", "r1", now + 3600, now, &Device::default())
            .await
            .unwrap();
    } else {
        store.create(key, record("alice"), TTL).await.unwrap();
    }
}

/// The round trips of one login of alice when she is at the cap.
async fn round_trips_of_a_login_at_the_cap(redis: &RedisServer, families: bool) -> usize {
    let prefix = format!("interleave-{families}-measure:");
    alice_at_the_cap(
        &RedisStore::with_connection(plain_connection(redis).await, &prefix),
        families,
    )
    .await;
    let wire = Wire::to(redis).await;
    let store = RedisStore::with_connection(wire.clone(), &prefix);
    log_in(&store, families, "family-a", new_key()).await;
    wire.round_trips()
}

/// Login A of alice (at the cap) is paused before its round trip number
/// `pause`; login B of alice runs whole in that gap, pruning her index;
/// then A finishes, and alice logs out everywhere. A must be over.
async fn a_paused_login_is_still_logged_out(redis: &RedisServer, pause: usize, families: bool) {
    let prefix = format!("interleave-{families}-{pause}:");
    let other = RedisStore::with_connection(plain_connection(redis).await, &prefix);
    alice_at_the_cap(&other, families).await;
    let wire = Wire::to(redis).await;
    let (reached, resume) = wire.pause_before(pause);
    let paused = RedisStore::with_connection(wire, &prefix);
    let a_key = new_key();
    let login_a = tokio::spawn(async move { log_in(&paused, families, "family-a", a_key).await });
    tokio::time::timeout(Duration::from_secs(10), reached.notified())
        .await
        .expect("login A reached the pause");
    // Login B, whole, while A waits.
    log_in(&other, families, "family-b", new_key()).await;
    resume.notify_one();
    login_a.await.unwrap();
    // Log out everywhere.
    if families {
        other.revoke_all_for("alice").await.unwrap();
        assert_eq!(
            other.rotate("family-a", "r1", "r2", 0, DAY).await.unwrap(),
            Rotation::Refused(RotationRefusal::Revoked),
            "paused before round trip {pause}: A's refresh family outlived 'log out everywhere'"
        );
    } else {
        other.delete_all_for_user("alice").await.unwrap();
        assert_eq!(
            other.load(&a_key).await.unwrap(),
            None,
            "paused before round trip {pause}: A's session outlived 'log out everywhere'"
        );
    }
}

async fn every_pause_point(redis: &RedisServer, families: bool) {
    let round_trips = round_trips_of_a_login_at_the_cap(redis, families).await;
    assert!(round_trips >= 2, "a login of {round_trips} round trips");
    // From the last gap back to the first: the interesting ones are late.
    for pause in (2..=round_trips).rev() {
        a_paused_login_is_still_logged_out(redis, pause, families).await;
    }
}

#[tokio::test]
async fn a_login_pruned_by_another_half_way_is_still_logged_out_everywhere() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    bounded(every_pause_point(&redis, false)).await;
}

#[tokio::test]
async fn a_refresh_family_pruned_by_another_half_way_is_still_revoked_everywhere() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    bounded(every_pause_point(&redis, true)).await;
}

/// Found by a review: an order's id is drawn (`INCR`) a round trip before
/// the order is added, so two orders at once could land out of id order,
/// and a page read between them would skip the later-landing one for good.
/// Forced here: an order with a higher id is already in alice's set when
/// the next one draws its id; it must land above it, not below.
#[tokio::test]
async fn an_order_never_lands_below_one_already_placed() {
    use cafe::store::OrderStore;
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let store = redis.store("orders-in-order:").await;
    let first = store
        .place("alice", "flat white", 1000)
        .await
        .unwrap()
        .unwrap();
    // Another server drew the next ids and landed first.
    let ahead = first.id + 3;
    let json = format!(r#"{{"id":{ahead},"item":"cortado","by":"alice"}}"#);
    let mut connection = plain_connection(&redis).await;
    let _: i64 = redis::cmd("ZADD")
        .arg("orders-in-order:orders:{alice}")
        .arg(ahead)
        .arg(json)
        .query_async(&mut connection)
        .await
        .unwrap();
    let next = store.place("alice", "latte", 1000).await.unwrap().unwrap();
    assert!(next.id > ahead, "{} landed below {ahead}", next.id);
    let page = store.placed_by("alice", first.id, 100).await.unwrap();
    let ids: Vec<u64> = page.iter().map(|order| order.id).collect();
    assert_eq!(ids, [ahead, next.id]);
}

/// Found by the load benchmark: 32 orders at once from one user got 503s
/// ("orders kept landing out of order"): each drew a global id (`INCR`) a
/// round trip before adding the order, and every loser of that race drew
/// again, up to 16 times. Now an order is one script on the user's keys,
/// one round trip: there is no gap for another order to land in. Counted
/// on the wire once the script is loaded (the old code took two per order,
/// more when it lost), then
/// 256 orders at once from four threads all land, each once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_order_is_one_round_trip_and_orders_at_once_all_land_in_order() {
    use cafe::store::OrderStore;
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let wire = Wire::to(&redis).await;
    let store = Arc::new(RedisStore::with_connection(wire.clone(), "orders-at-once:"));
    // The first order also loads the script into Redis, once.
    let first = store.place("alice", "first", 1000).await.unwrap().unwrap();
    for n in 0..3 {
        let before = wire.round_trips();
        let order = store.place("alice", &format!("order {n}"), 1000).await;
        assert!(order.unwrap().is_some());
        assert_eq!(wire.round_trips() - before, 1, "order {n}");
    }
    let mut placing = Vec::new();
    for n in 0..256 {
        let store = store.clone();
        placing.push(tokio::spawn(async move {
            store.place("alice", &format!("order {n}"), 1000).await
        }));
    }
    let mut ids = Vec::new();
    for placed in placing {
        ids.push(placed.await.unwrap().unwrap().unwrap().id);
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 256, "{ids:?}");
    let listed: Vec<u64> = store
        .placed_by("alice", first.id + 3, 1000)
        .await
        .unwrap()
        .iter()
        .map(|order| order.id)
        .collect();
    assert_eq!(listed, ids);
}

/// `count` logins of alice straight into the store: sessions, or refresh
/// families when `families`.
async fn log_alice_in<C>(store: &RedisStore<C>, count: usize, families: bool)
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    for n in 0..count {
        log_in(store, families, &format!("family-{n}"), new_key()).await;
    }
}

/// The commands `INFO commandstats` counted since the last reset, by name
/// (a script's own calls under their names), leaving out `INFO` itself.
async fn commands_by_name(redis: &RedisServer) -> Vec<(String, u64)> {
    let mut connection = plain_connection(redis).await;
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut connection)
        .await
        .unwrap();
    let mut counted: Vec<(String, u64)> = info
        .lines()
        .filter_map(|line| {
            let (name, rest) = line.strip_prefix("cmdstat_")?.split_once(":calls=")?;
            let calls = rest.split(',').next()?.parse().ok()?;
            Some((name.to_owned(), calls))
        })
        .filter(|(name, _)| name != "info")
        .collect();
    counted.sort();
    counted
}

/// `mode`'s café on a Redis reached through a wire that counts, alice
/// logged in and her first `GET /me` made (it also loads the script into
/// Redis once).
struct Counted {
    redis: RedisServer,
    wire: Wire,
    clock: Arc<ManualClock>,
    app: crate::support::TestApp,
    alice: crate::support::Visitor,
}

async fn counted(mode: Mode, both_checks: bool) -> Counted {
    let redis = RedisServer::start().expect("redis-server");
    let wire = Wire::to(&redis).await;
    let store = RedisStore::with_connection(wire.clone(), "trips:");
    store.seed_demo_users().await.unwrap();
    let mut config = mode.config();
    config.stores = Stores::all_in(Arc::new(store));
    if both_checks {
        config.revocation_checks = jwt::RevocationChecks {
            denylist: true,
            token_version: true,
        };
    }
    let clock = Arc::new(ManualClock::starting_at(opening_time()));
    let app = spawn_configured(mode, config, clock.clone()).await;
    let alice = app.logged_in("alice", "wonderland-42").await;
    assert_eq!(alice.get("/me").await.status, 200);
    Counted {
        redis,
        wire,
        clock,
        app,
        alice,
    }
}

impl Counted {
    /// `count` `GET /me` of alice's: their statuses, the round trips and
    /// commands sent of each, and what Redis ran for them all
    /// (`INFO commandstats`).
    async fn get_me(&self, count: usize) -> (Vec<u16>, Vec<(usize, usize)>, Vec<(String, u64)>) {
        reset_command_counts(&self.redis).await;
        let (mut statuses, mut counted) = (Vec::new(), Vec::new());
        for _ in 0..count {
            let (trips, commands) = (self.wire.round_trips(), self.wire.commands_sent());
            statuses.push(self.alice.get("/me").await.status);
            counted.push((
                self.wire.round_trips() - trips,
                self.wire.commands_sent() - commands,
            ));
        }
        let mut ran = commands_by_name(&self.redis).await;
        ran.retain(|(name, _)| !name.starts_with("config"));
        (statuses, counted, ran)
    }
}

/// What the book says an authenticated request costs on Redis: three
/// `GET /me` at one moment. Returns the round trips and commands sent of
/// each, and what Redis ran for the three.
async fn cost_of_get_me(
    mode: Mode,
    both_checks: bool,
) -> (Vec<(usize, usize)>, Vec<(String, u64)>) {
    let at = counted(mode, both_checks).await;
    let (statuses, counted, ran) = at.get_me(3).await;
    assert_eq!(statuses, [200; 3]);
    (counted, ran)
}

/// The commands of `ran` as `(name, calls)` pairs, for comparing.
fn named(ran: &[(String, u64)]) -> Vec<(&str, u64)> {
    ran.iter().map(|(n, c)| (n.as_str(), *c)).collect()
}

/// What Redis runs while `request` runs, as `MONITOR` prints it (a script's
/// own calls included), from the command's name on: `"HGET" "key" "field"`.
async fn monitored<T>(redis: &RedisServer, request: impl Future<Output = T>) -> (T, Vec<String>) {
    use futures_util::StreamExt;
    let client = redis::Client::open(redis.url()).unwrap();
    let mut lines = client
        .get_async_monitor()
        .await
        .unwrap()
        .into_on_message::<String>();
    let answer = request.await;
    // A marker after the request: every line before it was already sent.
    let marker = "the request has been answered";
    let _: String = redis::cmd("ECHO")
        .arg(marker)
        .query_async(&mut plain_connection(redis).await)
        .await
        .unwrap();
    let mut ran = Vec::new();
    while let Some(line) = lines.next().await {
        if line.contains(marker) {
            break;
        }
        ran.extend(line.split_once("] ").map(|(_, command)| command.to_owned()));
    }
    (answer, ran)
}

/// Sessions on Redis: one round trip, one command per `GET /me`, whatever
/// the script does. Within a second of the login it reads the session's
/// fields (`HMGET`) and the account's role field alone (`HGET … role`,
/// seen on `MONITOR`: never the password hash) and writes nothing; a
/// second later it also touches the session and its index entry; past the
/// idle timeout it ends the session and its entry instead. After Redis
/// loses its scripts (`SCRIPT FLUSH`, as a restart or failover does) one
/// request costs three round trips (`EVALSHA`, `SCRIPT LOAD`, `EVALSHA`),
/// and the next one again.
#[tokio::test]
async fn an_authenticated_request_on_a_redis_session_is_one_round_trip_and_one_command() {
    if RedisServer::start().is_none() {
        return;
    }
    bounded(async {
        let at = counted(Mode::Sessions, false).await;
        let (status, ran) = monitored(&at.redis, at.alice.get("/me")).await;
        assert_eq!(status.status, 200);
        let account: Vec<&String> = ran.iter().filter(|c| c.contains("account:")).collect();
        assert_eq!(account, [r#""HGET" "trips:account:{alice}" "role""#]);

        let (statuses, counted, ran) = at.get_me(3).await;
        assert_eq!((statuses, counted), (vec![200; 3], vec![(1, 1); 3]));
        assert_eq!(named(&ran), [("evalsha", 3), ("hget", 3), ("hmget", 3)]);

        at.clock.advance(TOUCH_EVERY);
        let (statuses, counted, ran) = at.get_me(1).await;
        assert_eq!((statuses, counted), (vec![200], vec![(1, 1)]), "touched");
        assert_eq!(
            named(&ran),
            [
                ("evalsha", 1),
                ("expire", 1),
                ("hget", 1),
                ("hmget", 1),
                ("hset", 1),
                ("pexpire", 1),
                ("pttl", 1),
                ("zadd", 1),
                ("zscore", 1)
            ],
            "touched"
        );

        at.clock
            .advance(Mode::Sessions.config().session_timeouts.idle);
        let (statuses, counted, ran) = at.get_me(1).await;
        assert_eq!((statuses, counted), (vec![401], vec![(1, 1)]), "ended");
        assert_eq!(
            named(&ran),
            [
                ("del", 1),
                ("evalsha", 1),
                ("hmget", 1),
                ("zrem", 1),
                ("zscore", 1)
            ],
            "ended"
        );

        let alice = at.app.logged_in("alice", "wonderland-42").await;
        let _: () = redis::cmd("SCRIPT")
            .arg("FLUSH")
            .query_async(&mut plain_connection(&at.redis).await)
            .await
            .unwrap();
        for trips in [3, 1] {
            let before = at.wire.round_trips();
            assert_eq!(alice.get("/me").await.status, 200);
            assert_eq!(at.wire.round_trips() - before, trips, "after SCRIPT FLUSH");
        }
    })
    .await;
}

/// JWT with both checks on Redis: one round trip, one command per
/// `GET /me`, an `MGET` of the login's denylist entry and alice's token
/// version, two keys in her hash slot.
#[tokio::test]
async fn an_access_token_with_both_checks_on_redis_is_one_round_trip_and_one_command() {
    if RedisServer::start().is_none() {
        return;
    }
    bounded(async {
        let (counted, ran) = cost_of_get_me(Mode::JwtChecked, true).await;
        assert_eq!(counted, [(1, 1); 3], "(round trips, commands sent)");
        assert_eq!(named(&ran), [("mget", 3)]);
    })
    .await;
}

/// The touch on Redis writes "last seen" only when it is a second or more
/// behind (`TOUCH_EVERY`): the idle deadline is then early by less than a
/// second, and never late. A request 0.9 s after the login is not written,
/// so the session ends at login + idle (a request 1 ms before is
/// answered), 0.9 s before that request + idle; a request a whole second
/// after the login is written, and the deadline follows it to the
/// millisecond.
#[tokio::test]
async fn on_redis_the_idle_deadline_is_early_by_less_than_a_second_and_never_late() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    bounded(async {
        let idle = Mode::Sessions.config().session_timeouts.idle;
        let (app, clock) = on_redis(&redis, "idle:", Mode::Sessions, |_| {}).await;
        let (ms, skipped) = (Duration::from_millis(1), Duration::from_millis(900));

        for (after, status) in [(idle - skipped - ms, 200), (idle - skipped, 401)] {
            let not_written = app.logged_in("alice", "wonderland-42").await;
            clock.advance(skipped);
            assert_eq!(not_written.get("/me").await.status, 200);
            clock.advance(after);
            let at_the_end = not_written.get("/me").await.status;
            assert_eq!(at_the_end, status, "login + {:?}", skipped + after);
        }

        for (after, status) in [(idle - ms, 200), (idle, 401)] {
            let written = app.logged_in("alice", "wonderland-42").await;
            clock.advance(TOUCH_EVERY);
            assert_eq!(written.get("/me").await.status, 200);
            clock.advance(after);
            assert_eq!(written.get("/me").await.status, status, "{after:?} after");
        }
    })
    .await;
}

/// The absolute deadline on Redis: judged by the script to the
/// nanosecond of the café's clock (a request 1 ms before it is answered,
/// one at it refused, never late), but the key's TTL counts whole seconds
/// and is rounded down, so Redis itself may forget the session up to a
/// second before it: touched 1.5 s before the deadline, the key is given
/// at most 1 s.
#[tokio::test]
async fn on_redis_the_absolute_deadline_is_never_late_and_the_key_early_by_under_a_second() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    bounded(async {
        let (idle, absolute) = (Duration::from_secs(1800), Duration::from_secs(3000));
        let timeouts = sessions::Timeouts { idle, absolute };
        let (app, clock) = on_redis(&redis, "absolute:", Mode::Sessions, |config| {
            config.session_timeouts = timeouts;
        })
        .await;
        let (ms, left) = (Duration::from_millis(1), Duration::from_millis(1500));
        for (after, status) in [(left - ms, 200), (left, 401)] {
            let alice = app.logged_in("alice", "wonderland-42").await;
            clock.advance(absolute / 2);
            assert_eq!(alice.get("/me").await.status, 200);
            clock.advance(absolute / 2 - left);
            assert_eq!(alice.get("/me").await.status, 200, "touched, 1.5 s left");
            let id = crate::support::session_id_of(alice.credential.as_ref().unwrap());
            let key = SessionId::parse(id).unwrap().key();
            let shard = key.shard().unwrap();
            let key_ttl: i64 = redis::cmd("PTTL")
                .arg(format!("absolute:session:{{{shard}}}{}", key.to_hex()))
                .query_async(&mut plain_connection(&redis).await)
                .await
                .unwrap();
            assert!((1..=1000).contains(&key_ttl), "the key's TTL: {key_ttl} ms");
            clock.advance(after);
            let at_the_end = alice.get("/me").await.status;
            assert_eq!(at_the_end, status, "{after:?} after the touch");
        }
    })
    .await;
}

/// A session record in alice's shard that names admin (written straight
/// into Redis, as only someone who can already write to it could) is
/// refused 401, never answered with admin's role; the same record naming
/// alice is answered, so the refusal is the shard's. Before the check, the
/// forged record was admin's session.
#[tokio::test]
async fn a_session_record_naming_a_user_of_another_shard_is_refused() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    bounded(async {
        let (app, _clock) = on_redis(&redis, "forged:", Mode::Sessions, |_| {}).await;
        let shard = cafe::redis_store::shard_of_user("alice");
        assert_ne!(shard, cafe::redis_store::shard_of_user("admin"));
        let now = cafe::clock::unix_nanos(opening_time()).to_string();
        for (user, status) in [("alice", 200), ("admin", 401)] {
            let id = SessionId::generate_in(Some(shard)).unwrap();
            let session = format!("forged:session:{{{shard}}}{}", id.key().to_hex());
            let _: () = redis::pipe()
                .hset_multiple(
                    &session,
                    &[
                        ("user", user),
                        ("created", &now),
                        ("seen", &now),
                        ("login", "written-by-hand"),
                    ],
                )
                .expire(&session, 600)
                .query_async(&mut plain_connection(&redis).await)
                .await
                .unwrap();
            let me = app
                .visitor()
                .send(&Call::get("/me").cookie("__Host-session", id.as_str()))
                .await;
            assert_eq!(me.status, status, "a record naming {user}: {:?}", me.body);
        }
    })
    .await;
}

/// Every read of the session check comes before any write: when a read
/// fails (here alice's account is not a hash, and Redis answers
/// `WRONGTYPE`, as a cluster refuses a key of a slot being moved), the
/// request is refused 503 and the session is as it was: "last seen" not
/// written, its index entry not moved. Before the reads were moved first,
/// the touch was written and the role read failed after it.
#[tokio::test]
async fn a_session_check_that_fails_has_written_nothing() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    bounded(async {
        let (app, clock) = on_redis(&redis, "reads-first:", Mode::Sessions, |_| {}).await;
        let alice = app.logged_in("alice", "wonderland-42").await;
        let id = crate::support::session_id_of(alice.credential.as_ref().unwrap());
        let key = SessionId::parse(id).unwrap().key();
        let session = format!(
            "reads-first:session:{{{}}}{}",
            key.shard().unwrap(),
            key.to_hex()
        );
        let mut connection = plain_connection(&redis).await;
        let state = |mut connection: MultiplexedConnection| {
            let session = session.clone();
            let member = key.to_hex();
            async move {
                redis::pipe()
                    .hget(&session, "seen")
                    .zscore("reads-first:user-sessions:{alice}", member)
                    .query_async::<(String, u64)>(&mut connection)
                    .await
                    .unwrap()
            }
        };
        let before = state(connection.clone()).await;
        clock.advance(TOUCH_EVERY);

        let account = "reads-first:account:{alice}";
        let _: () = redis::pipe()
            .rename(account, "reads-first:saved:{alice}")
            .set(account, "not a hash")
            .query_async(&mut connection)
            .await
            .unwrap();
        assert_eq!(alice.get("/me").await.status, 503);
        assert_eq!(state(connection.clone()).await, before, "nothing written");

        let _: () = redis::pipe()
            .del(account)
            .rename("reads-first:saved:{alice}", account)
            .query_async(&mut connection)
            .await
            .unwrap();
        assert_eq!(alice.get("/me").await.status, 200);
        assert_ne!(state(connection).await, before, "touched, once it can be");
    })
    .await;
}

/// What upgrading from the layout before shards does, as the book's
/// Upgrading note says: the keys the old servers wrote are never read. A
/// session filed as `session:{<hash>}`, its ID without a shard, is nobody's
/// (everyone logs in again); a denylist entry filed as `deny:{<sid>}`
/// refuses nothing, so an access token logged out before the upgrade works
/// again, where the same entry in the new layout refuses it.
#[tokio::test]
async fn after_an_upgrade_the_keys_of_the_layout_before_are_not_read() {
    use base64::Engine;
    let Some(redis) = RedisServer::start() else {
        return;
    };
    bounded(async {
        let mut connection = plain_connection(&redis).await;
        let clock = Arc::new(ManualClock::starting_at(opening_time()));
        let now = cafe::clock::unix_nanos(opening_time()).to_string();

        let mut config = Mode::Sessions.config();
        config.stores = Stores::all_in(Arc::new(redis.store("old-sessions:").await));
        let app = spawn_configured(Mode::Sessions, config, clock.clone()).await;
        let id = SessionId::generate().unwrap();
        let old = format!("old-sessions:session:{{{}}}", id.key().to_hex());
        let _: () = redis::pipe()
            .hset_multiple(
                &old,
                &[("user", "alice"), ("created", &now), ("seen", &now)],
            )
            .expire(&old, 600)
            .query_async(&mut connection)
            .await
            .unwrap();
        let me = Call::get("/me").cookie("__Host-session", id.as_str());
        assert_eq!(app.visitor().send(&me).await.status, 401, "an old session");

        let mut config = Mode::JwtChecked.config();
        config.stores = Stores::all_in(Arc::new(redis.store("old-tokens:").await));
        config.revocation_checks = jwt::RevocationChecks {
            denylist: true,
            token_version: true,
        };
        let app = spawn_configured(Mode::JwtChecked, config, clock).await;
        let alice = app.logged_in("alice", "wonderland-42").await;
        let access = alice.credential.as_ref().unwrap().access_token().unwrap();
        let payload = access.split('.').nth(1).unwrap();
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap();
        let claims: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        let sid = claims["sid"].as_str().unwrap();
        for (entry, status) in [
            (format!("old-tokens:deny:{{{sid}}}"), 200),
            (format!("old-tokens:deny:{{alice}}:{sid}"), 401),
        ] {
            let _: () = redis::cmd("SET")
                .arg(&entry)
                .arg(u64::MAX / 2)
                .arg("EX")
                .arg(600)
                .query_async(&mut connection)
                .await
                .unwrap();
            assert_eq!(alice.get("/me").await.status, status, "denied as {entry}");
        }
    })
    .await;
}
