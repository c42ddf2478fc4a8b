//! Every store trait on Redis, so that many café servers share one state:
//! a session created through one server is found by the next.
//!
//! Each atomic step is a single-key Lua script (refresh rotation with reuse
//! detection, the throttle's reservation, touching a session, changing a
//! role) or a `MULTI`/`EXEC` transaction on one key (a record and its TTL),
//! so it runs whole on one Redis node with no read-then-write race, and
//! would in a Redis Cluster too: one key is always in one slot. Every key
//! that holds a login, an index of logins, a denylist entry or a throttle
//! window carries a TTL from the command that writes it; only accounts,
//! orders and token versions are kept for good.
//!
//! Per-user indexes ("which sessions does alice have?") are separate keys,
//! kept small and bounded (the `logins` module, below). One user holds at
//! most [`MAX_LIVE_LOGINS_PER_USER`] logins at once.
//!
//! What an authenticated request reads is in its user's hash slot, so that
//! it is one command: a session beside the account and the index (one
//! script, `session_store.rs`), a denylist entry beside the token version
//! (one `MGET`).
//!
//! A command that fails because the connection dropped (Redis restarted, a
//! network blip) is sent once more on a fresh connection before the request
//! fails with 503. Every step is written so that running it twice does what
//! running it once does, or something as safe; each says why.

use async_trait::async_trait;
use cafe::clock;
use cafe::orders::Order;
use cafe::store::{AccountStore, OrderStore, StoreError, ThrottleStore};
use cafe::throttle::{Attempt, CountedAttempt, Limit, PastTheLimit};
use cafe::users::{Account, DEMO_USERS, Profile, Role};
use jwt::revocation::{
    BothChecksStore, DenylistStore, Device, FamilyRecord, RefreshFamilyStore, RevokedAll, Rotation,
    RotationRefusal, TokenVersionStore,
};
use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::Slot;
use redis::{AsyncCommands, Script};
use sessions::{SessionKey, SessionRecord, SessionStore};
use std::collections::HashMap;
use std::future::Future;
use std::sync::LazyLock;
use std::time::{Duration, SystemTime};

/// How many live logins one user may hold at once, as in the memory
/// stores: small enough that the per-user index, which "log out
/// everywhere" and a user's list of logins read whole, stays a few
/// kilobytes and one round trip.
pub use jwt::revocation::MAX_LIVE_LOGINS_PER_USER;

/// The café's state in Redis, every key under one prefix.
#[derive(Clone)]
pub struct RedisStore<C> {
    connection: C,
    prefix: String,
}

fn unavailable(error: redis::RedisError) -> StoreError {
    StoreError(format!("redis: {error}"))
}

/// Whether `error` means the connection dropped (refused, reset, closed),
/// after which the connection reconnects. A timeout is not one: Redis may be
/// alive and slow, and waiting twice as long would not help.
fn connection_lost(error: &redis::RedisError) -> bool {
    (error.is_io_error() || error.is_unrecoverable_error()) && !error.is_timeout()
}

/// Runs `attempt`, and once more if its connection dropped: the connection
/// manager notices a dead connection only by failing a command on it (after
/// a Redis restart, the first command of every server), and reconnects for
/// the next. Only for steps that are safe to run twice.
async fn retried<T, A, F>(attempt: A) -> Result<T, StoreError>
where
    A: Fn() -> F,
    F: Future<Output = redis::RedisResult<T>>,
{
    match attempt().await {
        Err(error) if connection_lost(&error) => attempt().await.map_err(unavailable),
        answer => answer.map_err(unavailable),
    }
}

/// A record's time as Redis keeps it: nanoseconds since 1970, exactly, so
/// a record reads back as it was written.
fn from_nanos(text: &str) -> Option<SystemTime> {
    clock::from_unix_nanos(text.parse().ok()?)
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
    /// A store on a connection made elsewhere: what [`RedisStore::connect`]
    /// and [`RedisStore::connect_cluster`] build, or a test's own wrapper
    /// around one.
    pub fn with_connection(connection: C, prefix: &str) -> Self {
        RedisStore {
            connection,
            prefix: prefix.to_owned(),
        }
    }

    fn key(&self, kind: &str, id: &str) -> String {
        format!("{}{kind}:{{{id}}}", self.prefix)
    }

    fn connection(&self) -> C {
        self.connection.clone()
    }

    /// Takes `member` out of `user`'s index of logins `index` (such as
    /// `user-sessions`).
    async fn forget_login(&self, index: &str, user: &str, member: &str) -> Result<(), StoreError> {
        let index = &self.key(index, user);
        let members = &[member.to_owned()];
        retried(|| async move { logins::forget(&mut self.connection(), index, members).await })
            .await
    }

    /// "Log out everywhere": ends every login in `user`'s index `index`
    /// at once (`end` makes the command that ends one, from its index
    /// entry), then takes their entries out. The answer counts the logins
    /// that were live, and names every entry it reached. Run again after a
    /// lost answer, it ends nothing new and counts fewer, but names the
    /// same entries.
    async fn end_every_login(
        &self,
        index: &str,
        user: &str,
        end: impl Fn(&str) -> redis::Cmd,
    ) -> Result<(usize, Vec<String>), StoreError> {
        let index = &self.key(index, user);
        let members =
            retried(|| async move { logins::members(&mut self.connection(), index).await }).await?;
        let commands: Vec<redis::Cmd> = members.iter().map(|member| end(member)).collect();
        let answers = retried(|| logins::all_at_once(&self.connection, commands.clone())).await?;
        let reached = &members;
        retried(|| async move { logins::forget(&mut self.connection(), index, reached).await })
            .await?;
        Ok((count(&answers), members))
    }

    /// Ends the logins the index put past the cap: `end` makes the commands
    /// that end one (its record first), then the entries go. Ending twice is
    /// harmless, so a retry may repeat any of it.
    async fn end_past_the_cap(
        &self,
        index: &str,
        past_the_cap: &[String],
        end: impl Fn(&str) -> redis::Cmd,
    ) -> Result<(), StoreError> {
        if past_the_cap.is_empty() {
            return Ok(());
        }
        let commands: Vec<redis::Cmd> = past_the_cap
            .iter()
            .map(|member| end(member.as_str()))
            .collect();
        retried(|| logins::all_at_once(&self.connection, commands.clone())).await?;
        retried(|| async move { logins::forget(&mut self.connection(), index, past_the_cap).await })
            .await
    }
}

/// Ends one session: `DEL`, a no-op when it is gone already.
fn end_session(key: String) -> redis::Cmd {
    redis::cmd("DEL").arg(key).clone()
}

/// Revokes a family if it is still active; answers 1 if it was.
const REVOKE_IF_ACTIVE: &str = r"if redis.call('HGET', KEYS[1], 'revoked') == '0' then
    redis.call('HSET', KEYS[1], 'revoked', '1')
    return 1
  end
  return 0";

fn end_family(key: String) -> redis::Cmd {
    redis::cmd("EVAL")
        .arg(REVOKE_IF_ACTIVE)
        .arg(1)
        .arg(key)
        .clone()
}

/// Sums the integer answers (how many keys a batch of commands ended).
fn count(answers: &[redis::Value]) -> usize {
    answers
        .iter()
        .map(|answer| match answer {
            redis::Value::Int(n) => usize::try_from(*n).unwrap_or(0),
            _ => 0,
        })
        .sum()
}

/// Milliseconds of a TTL, as [`ttl_seconds`] bounds it.
fn ttl_millis(ttl: Duration) -> u64 {
    u64::try_from(ttl_seconds(ttl))
        .unwrap_or(0)
        .saturating_mul(1000)
}

// The sessions, and the accounts, orders and throttle, are in files of
// their own; the refresh families, denylist and token versions follow.
mod app;
mod session_store;

// Sessions' shards. Here rather than in `session_store`, so that a chapter
// that includes this file compiles without that one.

/// How far behind a request the stored "last seen" may be before a request
/// writes it: one second. A busier session costs one write a second, not
/// one per request; its idle deadline is early by less than a second, and
/// never late (given one clock: see `session_store`).
pub const TOUCH_EVERY: Duration = Duration::from_secs(1);

/// For each of the 16,384 hash slots, the smallest number whose decimal
/// string Redis files there (found by counting up, once: the redis crate's
/// own slot function, CRC16 of the hash tag).
static SHARDS: LazyLock<HashMap<Slot, u32>> = LazyLock::new(|| {
    let mut shards = HashMap::new();
    for number in 0u32.. {
        shards
            .entry(Slot::for_key(number.to_string()))
            .or_insert(number);
        if shards.len() == 16_384 {
            break;
        }
    }
    shards
});

/// The shard of the slot `key` is in.
fn shard_of_key(key: &str) -> u32 {
    SHARDS.get(&Slot::for_key(key)).copied().unwrap_or(0)
}

/// The shard a store under a prefix without braces files `user`'s sessions
/// in ([`SessionStore::shard_for`]): for tests that make session IDs
/// without a store at hand.
pub fn shard_of_user(user: &str) -> u32 {
    shard_of_key(&format!("account:{{{user}}}"))
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
        device: &Device,
    ) -> Result<(), StoreError> {
        let family = &self.key("family", sid);
        let index = &self.key("user-families", user);
        let ttl = seconds_until(expires, now);
        // The family and its TTL in one transaction, then its index entry,
        // as for a session; both are the same when written twice.
        let (now_text, expires_text) = (now.to_string(), expires.to_string());
        let fields = &[
            ("user", user),
            ("current", jti),
            ("revoked", "0"),
            ("created", &now_text),
            ("used", &now_text),
            ("expires", &expires_text),
            ("client", &device.client),
            ("agent", &device.user_agent),
        ];
        retried(|| async move {
            redis::pipe()
                .atomic()
                .hset_multiple(family, fields)
                .ignore()
                .expire(family, ttl)
                .ignore()
                .query_async::<()>(&mut self.connection())
                .await
        })
        .await?;
        let now_ms = now.saturating_mul(1000);
        let ends = now_ms.saturating_add(u64::try_from(ttl).unwrap_or(0).saturating_mul(1000));
        let past_the_cap = retried(|| async move {
            let mut connection = self.connection();
            logins::file(
                &mut connection,
                index,
                sid,
                ends,
                now_ms,
                MAX_LIVE_LOGINS_PER_USER,
            )
            .await
        })
        .await?;
        self.end_past_the_cap(index, &past_the_cap, |sid| {
            end_family(self.key("family", sid))
        })
        .await
    }

    // ANCHOR: rotate
    async fn rotate(
        &self,
        sid: &str,
        jti: &str,
        next_jti: &str,
        now: u64,
        idle: u64,
    ) -> Result<Rotation, StoreError> {
        // The compare and the swap in one script: Redis runs it whole, so of
        // two refreshes with the same token exactly one is `rotated`. The
        // swap notes the token it replaced, so that the same swap sent again
        // (after a dropped connection lost its answer) is `rotated` again,
        // not taken for a reuse: only this request knows `next_jti`. A
        // family last renewed `idle` seconds ago or more ends, in the same
        // step; one with no renewal time (written by an older café) counts
        // as idle.
        let script = &Script::new(
            r"local family = redis.call('HMGET', KEYS[1],
                'user', 'current', 'revoked', 'previous', 'used')
              if not family[1] then return {'unknown'} end
              if family[3] == '1' then return {'revoked'} end
              if family[2] == ARGV[2] and family[4] == ARGV[1] then
                return {'rotated', family[1]}
              end
              if family[2] ~= ARGV[1] then
                redis.call('HSET', KEYS[1], 'revoked', '1')
                return {'reused'}
              end
              local used = tonumber(family[5]) or 0
              if tonumber(ARGV[3]) >= used + tonumber(ARGV[4]) then
                redis.call('HSET', KEYS[1], 'revoked', '1')
                return {'idle', family[1]}
              end
              redis.call('HSET', KEYS[1], 'current', ARGV[2], 'previous', ARGV[1],
                'used', math.max(used, tonumber(ARGV[3])))
              return {'rotated', family[1]}",
        );
        let family = &self.key("family", sid);
        let answer: Vec<String> = retried(|| async move {
            script
                .key(family)
                .arg(jti)
                .arg(next_jti)
                .arg(now)
                .arg(idle)
                .invoke_async(&mut self.connection())
                .await
        })
        .await?;
        Ok(match answer.as_slice() {
            [verdict, user] if verdict == "rotated" => Rotation::Rotated { user: user.clone() },
            [verdict] if verdict == "revoked" => Rotation::Refused(RotationRefusal::Revoked),
            [verdict] if verdict == "reused" => Rotation::Refused(RotationRefusal::Reused),
            [verdict, user] if verdict == "idle" => {
                // Ended: out of the index, where it would count against the cap.
                self.forget_login("user-families", user, sid).await?;
                Rotation::Refused(RotationRefusal::Idle)
            }
            _ => Rotation::Refused(RotationRefusal::Unknown),
        })
    }
    // ANCHOR_END: rotate

    async fn revoke(&self, sid: &str) -> Result<(), StoreError> {
        // Revoking twice is revoking once. The revoked family stays until it
        // would have expired (a reuse of its tokens is still told apart), but
        // leaves the index, where it would count against the cap.
        let script = &Script::new(
            r"if redis.call('EXISTS', KEYS[1]) == 0 then return false end
              redis.call('HSET', KEYS[1], 'revoked', '1')
              return redis.call('HGET', KEYS[1], 'user')",
        );
        let family = &self.key("family", sid);
        let user: Option<String> = retried(|| async move {
            script
                .key(family)
                .invoke_async(&mut self.connection())
                .await
        })
        .await?;
        if let Some(user) = user {
            self.forget_login("user-families", &user, sid).await?;
        }
        Ok(())
    }

    async fn end(&self, user: &str, sid: &str) -> Result<Option<FamilyRecord>, StoreError> {
        // The owner's check, the revocation and the read in one script: a
        // rotation lands wholly before it, or is refused after. Sent twice,
        // the second finds it revoked and answers nothing; the first's
        // answer was lost with the connection, so the caller retries the
        // whole request and is told the login is not there (ended).
        let script = &Script::new(
            r"local f = redis.call('HMGET', KEYS[1],
                'user', 'revoked', 'current', 'created', 'used', 'expires', 'client', 'agent')
              if f[1] ~= ARGV[1] or f[2] ~= '0' then return false end
              redis.call('HSET', KEYS[1], 'revoked', '1')
              return {f[3], f[4] or '', f[5] or '', f[6] or '', f[7] or '', f[8] or ''}",
        );
        let family = &self.key("family", sid);
        let fields: Option<Vec<String>> = retried(|| async move {
            script
                .key(family)
                .arg(user)
                .invoke_async(&mut self.connection())
                .await
        })
        .await?;
        let Some([current_jti, created, used, expires, client, agent]) =
            fields.and_then(|fields| <[String; 6]>::try_from(fields).ok())
        else {
            return Ok(None);
        };
        self.forget_login("user-families", user, sid).await?;
        let time = |text: &str| text.parse::<u64>().unwrap_or(0);
        Ok(Some(FamilyRecord {
            sid: sid.to_owned(),
            user: user.to_owned(),
            current_jti,
            revoked: false,
            expires: time(&expires),
            created: time(&created),
            last_used: time(&used),
            device: Device {
                client,
                user_agent: agent,
            },
        }))
    }

    async fn revoke_all_for(&self, user: &str) -> Result<RevokedAll, StoreError> {
        // As "log out everywhere" for sessions.
        let (ended, sids) = self
            .end_every_login("user-families", user, |sid| {
                end_family(self.key("family", sid))
            })
            .await?;
        Ok(RevokedAll { ended, sids })
    }

    async fn list_for_user(&self, user: &str) -> Result<Vec<FamilyRecord>, StoreError> {
        // As for sessions: the index, then every family at once.
        let index = &self.key("user-families", user);
        let members =
            retried(|| async move { logins::members(&mut self.connection(), index).await }).await?;
        let commands: Vec<redis::Cmd> = members
            .iter()
            .map(|sid| redis::cmd("HGETALL").arg(self.key("family", sid)).clone())
            .collect();
        let answers = retried(|| logins::each_answered(&self.connection, commands.clone())).await?;
        let mut families = Vec::new();
        for (sid, answer) in members.iter().zip(answers) {
            let fields: HashMap<String, String> =
                redis::from_redis_value(answer).map_err(|e| StoreError(format!("redis: {e}")))?;
            let text = |name: &str| fields.get(name).cloned();
            let time = |name: &str| text(name).and_then(|value| value.parse::<u64>().ok());
            let (Some(user), Some(current_jti), Some(revoked)) =
                (text("user"), text("current"), text("revoked"))
            else {
                continue; // forgotten since the index was read
            };
            let (Some(created), Some(last_used), Some(expires)) =
                (time("created"), time("used"), time("expires"))
            else {
                continue; // written by an older café: not listed, and ends at its next refresh
            };
            if revoked == "1" {
                continue;
            }
            families.push(FamilyRecord {
                sid: sid.clone(),
                user,
                current_jti,
                revoked: false,
                expires,
                created,
                last_used,
                device: Device {
                    client: text("client").unwrap_or_default(),
                    user_agent: text("agent").unwrap_or_default(),
                },
            });
        }
        Ok(families)
    }
}

impl<C: ConnectionLike + Clone + Send + Sync + 'static> RedisStore<C> {
    /// A denylist entry's key: in its user's hash slot, beside the user's
    /// token version, so that one `MGET` reads both.
    ///
    /// Upgrading from the layout before (`deny:{<sid>}`): old entries are
    /// never read, so a token logged out before the upgrade works again
    /// until it expires, and during a rolling upgrade old and new servers
    /// miss each other's logouts. Upgrade with a new signing key, or stop
    /// every old server first and count logouts only after one access
    /// lifetime plus the leeway (reading the old key too would cost the
    /// round trip this layout saves).
    fn deny_key(&self, user: &str, sid: &str) -> String {
        format!("{}:{sid}", self.key("deny", user))
    }
}

#[async_trait]
impl<C: ConnectionLike + Clone + Send + Sync + 'static> DenylistStore for RedisStore<C> {
    async fn deny(&self, user: &str, sid: &str, until: u64, now: u64) -> Result<(), StoreError> {
        // The entry says when it ends, and Redis forgets it about then: the
        // TTL is relative, so a test clock and Redis's clock need not agree.
        // `SET … EX` writes value and TTL as one command; twice is once.
        let ttl = seconds_until(until, now).unsigned_abs();
        let entry = &self.deny_key(user, sid);
        retried(|| async move { self.connection().set_ex(entry, until, ttl).await }).await
    }

    async fn is_denied(&self, user: &str, sid: &str, now: u64) -> Result<bool, StoreError> {
        let entry = &self.deny_key(user, sid);
        let until: Option<u64> =
            retried(|| async move { self.connection().get(entry).await }).await?;
        Ok(until.is_some_and(|until| until > now))
    }
}

#[async_trait]
impl<C: ConnectionLike + Clone + Send + Sync + 'static> BothChecksStore for RedisStore<C> {
    async fn denied_and_version(
        &self,
        user: &str,
        sid: &str,
        now: u64,
    ) -> Result<(bool, u64), StoreError> {
        // One command, two keys of one slot: `MGET` reads both at once.
        let keys = &[self.deny_key(user, sid), self.key("version", user)];
        let (until, version): (Option<u64>, Option<u64>) =
            retried(|| async move { self.connection().mget(keys).await }).await?;
        Ok((until.is_some_and(|until| until > now), version.unwrap_or(0)))
    }
}

#[async_trait]
impl<C: ConnectionLike + Clone + Send + Sync + 'static> TokenVersionStore for RedisStore<C> {
    async fn current(&self, user: &str) -> Result<u64, StoreError> {
        let version = &self.key("version", user);
        let version: Option<u64> =
            retried(|| async move { self.connection().get(version).await }).await?;
        Ok(version.unwrap_or(0))
    }

    async fn bump(&self, user: &str) -> Result<u64, StoreError> {
        // `INCR` is not idempotent, and that is safe here: a bump sent twice
        // moves the version by two, which leaves every older token stale and
        // no newer one, and the answer is the version now current. Versions
        // are kept for good: one that expired would read 0 again.
        let version = &self.key("version", user);
        retried(|| async move { self.connection().incr(version, 1).await }).await
    }
}

mod logins {
    //! The per-user index of logins ("which sessions does alice have?"), which
    //! "log out everywhere" reads: one sorted set per user, each login scored by
    //! the moment it ends (milliseconds, on the café's clock).
    //!
    //! Scoring by the end, not by the start, is what keeps the index small and
    //! every step on it one round trip: an entry whose end has passed is pruned
    //! by score, inside the script that files the next login, without asking
    //! whether its record still exists (that would be a round trip per entry,
    //! and a question a Redis Cluster cannot answer in one script: the records
    //! are in other slots). It also means a login that is being filed right now
    //! can never be pruned by another: its end is in the future.
    //!
    //! The index is always written *after* the record it lists, and a login is
    //! handed to its user only once both are written. So any credential someone
    //! holds is in the index; a record whose filing failed is one nobody holds,
    //! and it expires with its TTL.

    use redis::aio::ConnectionLike;
    use redis::{Cmd, RedisResult, Script, Value};

    /// Files `member` in the index `KEYS[1]`, ending at `ARGV[2]`, at `ARGV[3]`
    /// (now): drops the entries that have ended, and returns the ones past the
    /// cap (`ARGV[4]`), nearest their end first, for the caller to end (their
    /// records first, then their entries: a live login never loses its entry).
    /// The index lives as long as its longest entry: its TTL is set every
    /// time, never shortened, so the script runs the same commands whatever
    /// the milliseconds between two logins. Run again, it answers the same:
    /// the member is not counted against its own cap.
    const FILE: &str = r"
    local member, ends, now, cap = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
    redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
    redis.call('ZREM', KEYS[1], member)
    local over = redis.call('ZCARD', KEYS[1]) - (cap - 1)
    local past_the_cap = {}
    if over > 0 then
      past_the_cap = redis.call('ZRANGE', KEYS[1], 0, over - 1)
    end
    redis.call('ZADD', KEYS[1], ends, member)
    local last = tonumber(redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2])
    redis.call('PEXPIRE', KEYS[1], math.max(redis.call('PTTL', KEYS[1]), last - now))
    return past_the_cap";

    /// Moves `member`'s end in the index `KEYS[1]` to `ARGV[2]` if that is
    /// later (a session was used), and keeps the index alive at least as long.
    const EXTEND: &str = r"
    local member, ends, now = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
    local current = redis.call('ZSCORE', KEYS[1], member)
    if not current or tonumber(current) < ends then
      redis.call('ZADD', KEYS[1], ends, member)
    end
    redis.call('PEXPIRE', KEYS[1], math.max(redis.call('PTTL', KEYS[1]), ends - now))
    return 0";

    /// Files a login; returns the members past the cap.
    pub(super) async fn file<C: ConnectionLike>(
        connection: &mut C,
        index: &str,
        member: &str,
        ends_ms: u64,
        now_ms: u64,
        cap: usize,
    ) -> RedisResult<Vec<String>> {
        Script::new(FILE)
            .key(index)
            .arg(member)
            .arg(ends_ms)
            .arg(now_ms)
            .arg(cap)
            .invoke_async(connection)
            .await
    }

    /// Notes that a login now ends at `ends_ms`.
    pub(super) async fn extend<C: ConnectionLike>(
        connection: &mut C,
        index: &str,
        member: &str,
        ends_ms: u64,
        now_ms: u64,
    ) -> RedisResult<()> {
        Script::new(EXTEND)
            .key(index)
            .arg(member)
            .arg(ends_ms)
            .arg(now_ms)
            .invoke_async::<i64>(connection)
            .await
            .map(drop)
    }

    /// Every member of the index.
    pub(super) async fn members<C: ConnectionLike>(
        connection: &mut C,
        index: &str,
    ) -> RedisResult<Vec<String>> {
        redis::cmd("ZRANGE")
            .arg(index)
            .arg(0)
            .arg(-1)
            .query_async(connection)
            .await
    }

    /// Drops `members` from the index, once their records are gone.
    pub(super) async fn forget<C: ConnectionLike>(
        connection: &mut C,
        index: &str,
        members: &[String],
    ) -> RedisResult<()> {
        if members.is_empty() {
            return Ok(());
        }
        redis::cmd("ZREM")
            .arg(index)
            .arg(members)
            .query_async(connection)
            .await
    }

    /// Sends every command at once, as [`all_at_once`] does, and returns
    /// each answer in the place of its command.
    pub(super) async fn each_answered<C>(
        connection: &C,
        commands: Vec<Cmd>,
    ) -> RedisResult<Vec<Value>>
    where
        C: ConnectionLike + Clone + Send + 'static,
    {
        let mut running = tokio::task::JoinSet::new();
        for (place, command) in commands.into_iter().enumerate() {
            let mut connection = connection.clone();
            running
                .spawn(async move { (place, command.query_async::<Value>(&mut connection).await) });
        }
        let mut answers = Vec::new();
        while let Some(finished) = running.join_next().await {
            let (place, answer) = finished.map_err(|error| {
                redis::RedisError::from((
                    redis::ErrorKind::Client,
                    "a Redis command's task failed",
                    error.to_string(),
                ))
            })?;
            answers.push((place, answer?));
        }
        answers.sort_by_key(|(place, _)| *place);
        Ok(answers.into_iter().map(|(_, answer)| answer).collect())
    }

    /// Sends every command at once, each on its own (they name keys in
    /// different slots of a cluster, so they cannot share one pipeline), and
    /// returns the answers: one round trip of waiting, however many there are.
    pub(super) async fn all_at_once<C>(
        connection: &C,
        commands: Vec<Cmd>,
    ) -> RedisResult<Vec<Value>>
    where
        C: ConnectionLike + Clone + Send + 'static,
    {
        each_answered(connection, commands).await
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
