//! Every store trait on Redis, so that many café servers share one state:
//! a session created through one server is found by the next.
//!
//! Each atomic step is a single-key Lua script (refresh rotation with reuse
//! detection, the throttle's reservation, touching a session, changing a
//! role), so it runs whole on one Redis node with no read-then-write race,
//! and would in a Redis Cluster too: one key is always in one slot. Per-user indexes ("which sessions does alice
//! have?") are separate keys: adding to one happens *before* the record is
//! written, so "log out everywhere" can never miss a session; an index entry
//! whose record has expired is harmless and is pruned at the user's next
//! login.

use async_trait::async_trait;
use cafe::orders::Order;
use cafe::store::{AccountStore, OrderStore, StoreError, ThrottleStore};
use cafe::throttle::{Attempt, ThrottlePolicy};
use cafe::users::{Account, DEMO_USERS, Profile, Role};
use jwt::revocation::{
    DenylistStore, RefreshFamilyStore, Rotation, RotationRefusal, TokenVersionStore,
};
use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster_async::ClusterConnection;
use redis::{AsyncCommands, Script};
use sessions::{SessionKey, SessionRecord, SessionStore};
use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The café's state in Redis, every key under one prefix.
#[derive(Clone)]
pub struct RedisStore<C> {
    connection: C,
    prefix: String,
}

fn unavailable(error: redis::RedisError) -> StoreError {
    StoreError(format!("redis: {error}"))
}

/// Nanoseconds since 1970, exactly, so a record reads back as it was written.
fn nanos(time: SystemTime) -> u128 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos())
}

fn from_nanos(text: &str) -> Option<SystemTime> {
    let nanos: u128 = text.parse().ok()?;
    let seconds = u64::try_from(nanos / 1_000_000_000).ok()?;
    let rest = u32::try_from(nanos % 1_000_000_000).ok()?;
    UNIX_EPOCH.checked_add(Duration::new(seconds, rest))
}

fn millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The longest TTL sent to Redis: a century. Redis refuses an expiry past
/// 2^63 milliseconds, and takes a negative one as "delete now"; the flags
/// stop at a year, so this only ever bounds a library caller's mistake.
const MAX_TTL_SECONDS: i64 = 100 * 366 * 24 * 60 * 60;

/// A TTL for Redis: whole seconds, at least one (zero would mean "no TTL"),
/// at most [`MAX_TTL_SECONDS`].
fn ttl_seconds(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_secs())
        .map_or(MAX_TTL_SECONDS, |seconds| seconds.clamp(1, MAX_TTL_SECONDS))
}

/// The TTL of something that ends at `until` (NumericDate), at `now`.
fn seconds_until(until: u64, now: u64) -> i64 {
    ttl_seconds(Duration::from_secs(until.saturating_sub(now)))
}

impl RedisStore<ConnectionManager> {
    /// Connects to one Redis server (`redis://127.0.0.1:6379`). The manager
    /// reconnects by itself: when Redis comes back, so does the café.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(unavailable)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(1)))
            .set_number_of_retries(1);
        let connection = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(unavailable)?;
        Ok(RedisStore {
            connection,
            prefix: prefix.to_owned(),
        })
    }
}

impl RedisStore<ClusterConnection> {
    /// Connects to a Redis Cluster through any of its nodes; the client
    /// learns the rest, and sends each key to the node that owns its slot.
    pub async fn connect_cluster(nodes: &[String], prefix: &str) -> Result<Self, StoreError> {
        let client = redis::cluster::ClusterClientBuilder::new(nodes.to_vec())
            .connection_timeout(Duration::from_secs(1))
            .response_timeout(Duration::from_secs(1))
            .retries(1)
            .build()
            .map_err(unavailable)?;
        let connection = client.get_async_connection().await.map_err(unavailable)?;
        Ok(RedisStore {
            connection,
            prefix: prefix.to_owned(),
        })
    }
}

impl<C: ConnectionLike + Clone + Send + Sync + 'static> RedisStore<C> {
    fn key(&self, kind: &str, id: &str) -> String {
        format!("{}{kind}:{{{id}}}", self.prefix)
    }

    fn connection(&self) -> C {
        self.connection.clone()
    }

    /// Adds the demo accounts, unless accounts of those names exist already
    /// (another server, or an earlier run, seeded them).
    pub async fn seed_demo_users(&self) -> Result<(), StoreError> {
        for (name, password, role) in DEMO_USERS {
            if self.account(name).await?.is_none() {
                let account =
                    Account::new(name, password, *role).map_err(|e| StoreError(e.to_string()))?;
                self.insert(account).await?;
            }
        }
        Ok(())
    }

    /// Drops the members of the index set `index` whose record is gone.
    async fn prune_index(&self, index: &str, record_kind: &str) -> Result<(), redis::RedisError> {
        let mut connection = self.connection();
        let members: Vec<String> = connection.smembers(index).await?;
        for member in members {
            let exists: bool = connection.exists(self.key(record_kind, &member)).await?;
            if !exists {
                let _: () = connection.srem(index, &member).await?;
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- sessions

#[async_trait]
impl<C: ConnectionLike + Clone + Send + Sync + 'static> SessionStore for RedisStore<C> {
    async fn create(
        &self,
        key: SessionKey,
        record: SessionRecord,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let hex = key.to_hex();
        let index = self.key("user-sessions", &record.user);
        self.prune_index(&index, "session")
            .await
            .map_err(unavailable)?;
        let mut connection = self.connection();
        // The index first: a session is never alive without its entry.
        let _: () = connection.sadd(&index, &hex).await.map_err(unavailable)?;
        let session = self.key("session", &hex);
        redis::pipe()
            .hset_multiple(
                &session,
                &[
                    ("user", record.user.clone()),
                    ("created", nanos(record.created_at).to_string()),
                    ("seen", nanos(record.last_seen).to_string()),
                ],
            )
            .ignore()
            .expire(&session, ttl_seconds(ttl))
            .ignore()
            .query_async::<()>(&mut connection)
            .await
            .map_err(unavailable)
    }

    async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        let mut connection = self.connection();
        let fields: HashMap<String, String> = connection
            .hgetall(self.key("session", &key.to_hex()))
            .await
            .map_err(unavailable)?;
        let (Some(user), Some(created), Some(seen)) = (
            fields.get("user"),
            fields.get("created"),
            fields.get("seen"),
        ) else {
            return Ok(None);
        };
        let (Some(created_at), Some(last_seen)) = (from_nanos(created), from_nanos(seen)) else {
            return Err(StoreError(
                "a session record that does not parse".to_owned(),
            ));
        };
        Ok(Some(SessionRecord {
            user: user.clone(),
            created_at,
            last_seen,
        }))
    }

    async fn touch(
        &self,
        key: &SessionKey,
        now: SystemTime,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        // Only an existing session is touched: never resurrect a deleted one.
        let script = Script::new(
            r"if redis.call('EXISTS', KEYS[1]) == 1 then
                redis.call('HSET', KEYS[1], 'seen', ARGV[1])
                redis.call('EXPIRE', KEYS[1], ARGV[2])
              end
              return 0",
        );
        script
            .key(self.key("session", &key.to_hex()))
            .arg(nanos(now).to_string())
            .arg(ttl_seconds(ttl))
            .invoke_async::<i64>(&mut self.connection())
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        let hex = key.to_hex();
        let session = self.key("session", &hex);
        let mut connection = self.connection();
        let user: Option<String> = connection
            .hget(&session, "user")
            .await
            .map_err(unavailable)?;
        let _: () = connection.del(&session).await.map_err(unavailable)?;
        if let Some(user) = user {
            let index = self.key("user-sessions", &user);
            let _: () = connection.srem(index, &hex).await.map_err(unavailable)?;
        }
        Ok(())
    }

    async fn delete_all_for_user(&self, user: &str) -> Result<usize, StoreError> {
        let index = self.key("user-sessions", user);
        let mut connection = self.connection();
        let members: Vec<String> = connection.smembers(&index).await.map_err(unavailable)?;
        let mut ended = 0;
        for hex in &members {
            let deleted: usize = connection
                .del(self.key("session", hex))
                .await
                .map_err(unavailable)?;
            ended += deleted;
            let _: () = connection.srem(&index, hex).await.map_err(unavailable)?;
        }
        Ok(ended)
    }
}

// ------------------------------------------------------------------ tokens

#[async_trait]
impl<C: ConnectionLike + Clone + Send + Sync + 'static> RefreshFamilyStore for RedisStore<C> {
    async fn start(
        &self,
        sid: &str,
        user: &str,
        jti: &str,
        expires: u64,
        now: u64,
    ) -> Result<(), StoreError> {
        let index = self.key("user-families", user);
        self.prune_index(&index, "family")
            .await
            .map_err(unavailable)?;
        let family = self.key("family", sid);
        let mut connection = self.connection();
        let _: () = connection.sadd(&index, sid).await.map_err(unavailable)?;
        redis::pipe()
            .hset_multiple(
                &family,
                &[("user", user), ("current", jti), ("revoked", "0")],
            )
            .ignore()
            .expire(&family, seconds_until(expires, now))
            .ignore()
            .query_async::<()>(&mut connection)
            .await
            .map_err(unavailable)
    }

    // ANCHOR: rotate
    async fn rotate(&self, sid: &str, jti: &str, next_jti: &str) -> Result<Rotation, StoreError> {
        // The compare and the swap in one script: Redis runs it whole, so of
        // two refreshes with the same token exactly one is `rotated`.
        let script = Script::new(
            r"local family = redis.call('HMGET', KEYS[1], 'user', 'current', 'revoked')
              if not family[1] then return {'unknown'} end
              if family[3] == '1' then return {'revoked'} end
              if family[2] ~= ARGV[1] then
                redis.call('HSET', KEYS[1], 'revoked', '1')
                return {'reused'}
              end
              redis.call('HSET', KEYS[1], 'current', ARGV[2])
              return {'rotated', family[1]}",
        );
        let answer: Vec<String> = script
            .key(self.key("family", sid))
            .arg(jti)
            .arg(next_jti)
            .invoke_async(&mut self.connection())
            .await
            .map_err(unavailable)?;
        Ok(match answer.as_slice() {
            [verdict, user] if verdict == "rotated" => Rotation::Rotated { user: user.clone() },
            [verdict] if verdict == "revoked" => Rotation::Refused(RotationRefusal::Revoked),
            [verdict] if verdict == "reused" => Rotation::Refused(RotationRefusal::Reused),
            _ => Rotation::Refused(RotationRefusal::Unknown),
        })
    }
    // ANCHOR_END: rotate

    async fn revoke(&self, sid: &str) -> Result<(), StoreError> {
        let script = Script::new(
            r"if redis.call('EXISTS', KEYS[1]) == 1 then
                redis.call('HSET', KEYS[1], 'revoked', '1')
              end
              return 0",
        );
        script
            .key(self.key("family", sid))
            .invoke_async::<i64>(&mut self.connection())
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    async fn revoke_all_for(&self, user: &str) -> Result<usize, StoreError> {
        let script = Script::new(
            r"if redis.call('HGET', KEYS[1], 'revoked') == '0' then
                redis.call('HSET', KEYS[1], 'revoked', '1')
                return 1
              end
              return 0",
        );
        let mut connection = self.connection();
        let sids: Vec<String> = connection
            .smembers(self.key("user-families", user))
            .await
            .map_err(unavailable)?;
        let mut ended = 0;
        for sid in sids {
            let revoked: i64 = script
                .key(self.key("family", &sid))
                .invoke_async(&mut connection)
                .await
                .map_err(unavailable)?;
            ended += usize::from(revoked == 1);
        }
        Ok(ended)
    }
}

#[async_trait]
impl<C: ConnectionLike + Clone + Send + Sync + 'static> DenylistStore for RedisStore<C> {
    async fn deny(&self, jti: &str, until: u64, now: u64) -> Result<(), StoreError> {
        // The entry says when it ends, and Redis forgets it about then: the
        // TTL is relative, so a test clock and Redis's clock need not agree.
        let ttl = seconds_until(until, now).unsigned_abs();
        let mut connection = self.connection();
        connection
            .set_ex(self.key("deny", jti), until, ttl)
            .await
            .map_err(unavailable)
    }

    async fn is_denied(&self, jti: &str, now: u64) -> Result<bool, StoreError> {
        let mut connection = self.connection();
        let until: Option<u64> = connection
            .get(self.key("deny", jti))
            .await
            .map_err(unavailable)?;
        Ok(until.is_some_and(|until| until > now))
    }
}

#[async_trait]
impl<C: ConnectionLike + Clone + Send + Sync + 'static> TokenVersionStore for RedisStore<C> {
    async fn current(&self, user: &str) -> Result<u64, StoreError> {
        let mut connection = self.connection();
        let version: Option<u64> = connection
            .get(self.key("version", user))
            .await
            .map_err(unavailable)?;
        Ok(version.unwrap_or(0))
    }

    async fn bump(&self, user: &str) -> Result<u64, StoreError> {
        let mut connection = self.connection();
        connection
            .incr(self.key("version", user), 1)
            .await
            .map_err(unavailable)
    }
}

// ------------------------------------------------ accounts, orders, throttle

#[async_trait]
impl<C: ConnectionLike + Clone + Send + Sync + 'static> AccountStore for RedisStore<C> {
    async fn insert(&self, account: Account) -> Result<(), StoreError> {
        let mut connection = self.connection();
        let _: () = connection
            .sadd(format!("{}accounts", self.prefix), &account.name)
            .await
            .map_err(unavailable)?;
        connection
            .hset_multiple(
                self.key("account", &account.name),
                &[
                    ("role", account.role.as_str()),
                    ("hash", account.password_hash.as_str()),
                ],
            )
            .await
            .map_err(unavailable)
    }

    async fn account(&self, name: &str) -> Result<Option<Account>, StoreError> {
        let mut connection = self.connection();
        let fields: HashMap<String, String> = connection
            .hgetall(self.key("account", name))
            .await
            .map_err(unavailable)?;
        let (Some(role), Some(hash)) = (fields.get("role"), fields.get("hash")) else {
            return Ok(None);
        };
        let role = Role::from_claim(role)
            .ok_or_else(|| StoreError(format!("an account with the role {role:?}")))?;
        Ok(Some(Account {
            name: name.to_owned(),
            role,
            password_hash: hash.clone(),
        }))
    }

    async fn set_role(&self, name: &str, role: Role) -> Result<Option<Profile>, StoreError> {
        // Only an existing account gets a role: never half-create one.
        let script = Script::new(
            r"if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
              redis.call('HSET', KEYS[1], 'role', ARGV[1])
              return 1",
        );
        let changed: i64 = script
            .key(self.key("account", name))
            .arg(role.as_str())
            .invoke_async(&mut self.connection())
            .await
            .map_err(unavailable)?;
        Ok((changed == 1).then(|| Profile {
            name: name.to_owned(),
            role,
        }))
    }

    async fn all(&self) -> Result<Vec<Profile>, StoreError> {
        let mut connection = self.connection();
        let mut names: Vec<String> = connection
            .smembers(format!("{}accounts", self.prefix))
            .await
            .map_err(unavailable)?;
        names.sort();
        let mut profiles = Vec::new();
        for name in names {
            if let Some(account) = self.account(&name).await? {
                profiles.push(account.profile());
            }
        }
        Ok(profiles)
    }
}

#[async_trait]
impl<C: ConnectionLike + Clone + Send + Sync + 'static> OrderStore for RedisStore<C> {
    async fn place(&self, by: &str, item: &str) -> Result<Order, StoreError> {
        let mut connection = self.connection();
        let id: u64 = connection
            .incr(format!("{}order-id", self.prefix), 1)
            .await
            .map_err(unavailable)?;
        let order = Order {
            id,
            item: item.to_owned(),
            by: by.to_owned(),
        };
        let json = serde_json::to_string(&order).map_err(|e| StoreError(e.to_string()))?;
        let _: () = connection
            .rpush(self.key("orders", by), json)
            .await
            .map_err(unavailable)?;
        Ok(order)
    }

    async fn placed_by(&self, by: &str) -> Result<Vec<Order>, StoreError> {
        let mut connection = self.connection();
        let all: Vec<String> = connection
            .lrange(self.key("orders", by), 0, -1)
            .await
            .map_err(unavailable)?;
        all.iter()
            .map(|json| serde_json::from_str(json).map_err(|e| StoreError(e.to_string())))
            .collect()
    }
}

#[async_trait]
impl<C: ConnectionLike + Clone + Send + Sync + 'static> ThrottleStore for RedisStore<C> {
    async fn reserve_attempt(
        &self,
        name: &str,
        now: SystemTime,
        policy: ThrottlePolicy,
    ) -> Result<Attempt, StoreError> {
        // The same decision as `throttle::reserve`, as one script on one key:
        // attempts are a sorted set of times, in milliseconds.
        let script = Script::new(
            r"local now, window, max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
              redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
              if redis.call('ZCARD', KEYS[1]) < max then
                redis.call('ZADD', KEYS[1], now, ARGV[4])
                redis.call('PEXPIRE', KEYS[1], window)
                return -1
              end
              return tonumber(redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2])",
        );
        let now_ms = millis(now);
        let window_ms = u64::try_from(policy.window.as_millis()).unwrap_or(u64::MAX);
        let mut unique = [0u8; 8];
        getrandom::fill(&mut unique).map_err(|e| StoreError(e.to_string()))?;
        let oldest: i64 = script
            .key(self.key("throttle", name))
            .arg(now_ms)
            .arg(window_ms)
            .arg(policy.max_attempts)
            .arg(format!("{now_ms}-{}", u64::from_le_bytes(unique)))
            .invoke_async(&mut self.connection())
            .await
            .map_err(unavailable)?;
        if oldest < 0 {
            return Ok(Attempt::Allowed);
        }
        let frees_at = u64::try_from(oldest).unwrap_or(0).saturating_add(window_ms);
        let wait = Duration::from_millis(frees_at.saturating_sub(now_ms));
        Ok(Attempt::Refused {
            retry_after: Duration::from_secs(wait.as_secs().max(1)),
        })
    }

    async fn clear(&self, name: &str) -> Result<(), StoreError> {
        let mut connection = self.connection();
        connection
            .del(self.key("throttle", name))
            .await
            .map_err(unavailable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Redis refuses an `EXPIRE` past 2^63 milliseconds, and treats a
    /// negative one as "delete now": `u64 as i64` once turned a huge TTL
    /// into a negative one. Every TTL sent is between 1 s and a century.
    #[test]
    fn every_ttl_sent_to_redis_is_positive_and_within_what_redis_accepts() {
        for ttl in [Duration::ZERO, Duration::from_secs(u64::MAX), Duration::MAX] {
            let seconds = ttl_seconds(ttl);
            assert!(
                (1..=MAX_TTL_SECONDS).contains(&seconds),
                "{ttl:?}: {seconds}"
            );
        }
        assert_eq!(ttl_seconds(Duration::from_secs(90)), 90);
        for (until, now) in [(u64::MAX, 0), (0, u64::MAX), (1_700_000_090, 1_700_000_000)] {
            let seconds = seconds_until(until, now);
            assert!(
                (1..=MAX_TTL_SECONDS).contains(&seconds),
                "{until} {now}: {seconds}"
            );
        }
    }
}
