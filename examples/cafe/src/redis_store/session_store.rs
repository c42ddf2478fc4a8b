//! Sessions on Redis: one hash per session, its TTL the idle timeout, and
//! each user's index of sessions (see `logins`).
//!
//! A session is filed in its user's hash slot: `session:{<shard>}<hash>`,
//! where the shard is a number Redis files in the same slot as the user's
//! own keys (`account:{alice}`, `user-sessions:{alice}`), and the session ID
//! carries it after a dot. So one script reaches the session, the account's
//! role and the index at once, on one node of a cluster too. The ID's 256
//! random bits are unchanged, but the shard is a fixed function of the user
//! name (every cookie of alice's ends the same): thousands of names share it,
//! yet among a site's known users it can tell who a cookie value belongs to.
//! Whoever sees cookie values without being able to use them (a log, a
//! support ticket) learns that much; keep cookies out of logs.
//!
//! Upgrading from the layout before shards (`session:{<hash>}`): old IDs
//! carry no shard and are never looked up, so every user logs in again
//! once. That fails safe, and reading the old keys too would cost the round
//! trip this layout saves.
//!
//! The script judges with the calling server's clock, and sets the key's
//! TTL from it: idle is bounded by Redis's own clock too, the absolute
//! deadline only by the caller's. A server whose clock is behind accepts a
//! session that long past it; keep the servers' clocks in sync (NTP).

use super::*;
use cafe::store::{CheckedSession, SessionCheck};
use sessions::Timeouts;

impl<C: ConnectionLike + Clone + Send + Sync + 'static> RedisStore<C> {
    /// The key of the session `key` names, in the shard its ID carries;
    /// `None` for an ID without one (it was never filed here).
    fn session_key(&self, key: &SessionKey) -> Option<String> {
        Some(self.session_in(key.shard()?, &key.to_hex()))
    }

    /// The key of the session whose hash is `hex`, in `shard`.
    fn session_in(&self, shard: u32, hex: &str) -> String {
        format!("{}session:{{{shard}}}{hex}", self.prefix)
    }

    /// The shard of `user`'s keys: the number that lands in their slot.
    fn shard_of(&self, user: &str) -> u32 {
        shard_of_key(&self.key("account", user))
    }
}

#[async_trait]
impl<C: ConnectionLike + Clone + Send + Sync + 'static> SessionStore for RedisStore<C> {
    async fn create(
        &self,
        key: SessionKey,
        record: SessionRecord,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let hex = key.to_hex();
        // A session outside its user's slot could never be checked in one
        // step: refused loudly rather than filed where no script finds it.
        let session = match self.session_key(&key) {
            Some(session) if key.shard() == Some(self.shard_of(&record.user)) => session,
            _ => {
                return Err(StoreError(
                    "a session ID without its user's shard (SessionStore::shard_for)".to_owned(),
                ));
            }
        };
        let index = self.key("user-sessions", &record.user);
        let fields = [
            ("user", record.user.clone()),
            ("created", clock::unix_nanos(record.created_at).to_string()),
            ("seen", clock::unix_nanos(record.last_seen).to_string()),
            ("login", record.login_id.clone()),
            ("client", record.device.client.clone()),
            ("agent", record.device.user_agent.clone()),
        ];
        // The record and its TTL in one transaction: a dropped connection
        // leaves both or neither. Writing the same fields twice is harmless.
        let (session, fields) = (&session, &fields);
        retried(|| async move {
            redis::pipe()
                .atomic()
                .hset_multiple(session, fields)
                .ignore()
                .expire(session, ttl_seconds(ttl))
                .ignore()
                .query_async::<()>(&mut self.connection())
                .await
        })
        .await?;
        // Then its index entry (filing it twice files it once).
        let now = clock::unix_millis(record.last_seen);
        let ends = now.saturating_add(ttl_millis(ttl));
        let (index, hex) = (&index, &hex);
        let past_the_cap = retried(|| async move {
            let mut connection = self.connection();
            logins::file(
                &mut connection,
                index,
                hex,
                ends,
                now,
                MAX_LIVE_LOGINS_PER_USER,
            )
            .await
        })
        .await?;
        let shard = self.shard_of(&record.user);
        self.end_past_the_cap(index, &past_the_cap, |hex| {
            end_session(self.session_in(shard, hex))
        })
        .await
    }

    async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        let Some(session) = &self.session_key(key) else {
            return Ok(None);
        };
        let fields: HashMap<String, String> =
            retried(|| async move { self.connection().hgetall(session).await }).await?;
        session_record(fields)
    }

    async fn list_for_user(
        &self,
        user: &str,
    ) -> Result<Vec<(SessionKey, SessionRecord)>, StoreError> {
        // The index's members, then every record at once (they live in
        // other slots of a cluster): two round trips of waiting.
        let index = &self.key("user-sessions", user);
        let members =
            retried(|| async move { logins::members(&mut self.connection(), index).await }).await?;
        let shard = Some(self.shard_of(user));
        let keys: Vec<SessionKey> = members
            .iter()
            .filter_map(|hex| Some(SessionKey::from_hex(hex)?.in_shard(shard)))
            .collect();
        let commands: Vec<redis::Cmd> = keys
            .iter()
            .filter_map(|key| Some(redis::cmd("HGETALL").arg(self.session_key(key)?).clone()))
            .collect();
        let answers = retried(|| logins::each_answered(&self.connection, commands.clone())).await?;
        let mut records = Vec::new();
        for (key, answer) in keys.into_iter().zip(answers) {
            let fields: HashMap<String, String> =
                redis::from_redis_value(answer).map_err(|e| StoreError(format!("redis: {e}")))?;
            let Some(record) = session_record(fields)? else {
                continue; // ended since the index was read
            };
            records.push((key, record));
        }
        Ok(records)
    }

    async fn touch(
        &self,
        key: &SessionKey,
        now: SystemTime,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        // Only an existing session is touched: never resurrect a deleted one.
        // Setting the same time and TTL twice is harmless.
        let script = &Script::new(
            r"if redis.call('EXISTS', KEYS[1]) == 1 then
                redis.call('HSET', KEYS[1], 'seen', ARGV[1])
                redis.call('EXPIRE', KEYS[1], ARGV[2])
                return redis.call('HGET', KEYS[1], 'user')
              end
              return false",
        );
        let hex = &key.to_hex();
        let Some(session) = &self.session_key(key) else {
            return Ok(());
        };
        let user: Option<String> = retried(|| async move {
            script
                .key(session)
                .arg(clock::unix_nanos(now).to_string())
                .arg(ttl_seconds(ttl))
                .invoke_async(&mut self.connection())
                .await
        })
        .await?;
        // The index learns the session's new end, so that it neither prunes
        // the entry nor expires before the session does. (It cannot go first:
        // the user is in the record. Should this step fail twice, the
        // session's next request files the entry again.)
        let Some(user) = user else {
            return Ok(());
        };
        let index = &self.key("user-sessions", &user);
        let now = clock::unix_millis(now);
        let ends = now.saturating_add(ttl_millis(ttl));
        retried(
            || async move { logins::extend(&mut self.connection(), index, hex, ends, now).await },
        )
        .await
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        // The record goes first, then its entry; each twice is harmless.
        let script = &Script::new(
            r"local user = redis.call('HGET', KEYS[1], 'user')
              redis.call('DEL', KEYS[1])
              return user",
        );
        let hex = &key.to_hex();
        let Some(session) = &self.session_key(key) else {
            return Ok(());
        };
        let user: Option<String> = retried(|| async move {
            script
                .key(session)
                .invoke_async(&mut self.connection())
                .await
        })
        .await?;
        if let Some(user) = user {
            self.forget_login("user-sessions", &user, hex).await?;
        }
        Ok(())
    }

    async fn delete_all_for_user(&self, user: &str) -> Result<usize, StoreError> {
        let shard = self.shard_of(user);
        let (ended, _) = self
            .end_every_login("user-sessions", user, |hex| {
                end_session(self.session_in(shard, hex))
            })
            .await?;
        Ok(ended)
    }

    fn shard_for(&self, user: &str) -> Option<u32> {
        Some(self.shard_of(user))
    }
}

// ANCHOR: check
/// An authenticated request's one command: the session read, judged as
/// [`Timeouts::judge`] judges it, ended if it has expired, touched if it is
/// active and its "last seen" is [`TOUCH_EVERY`] or more behind, and the
/// account's role read (the role field alone: never the password hash).
///
/// Every read comes before any write. The script declares only the session
/// key; the account's and the index's are named from the record. Redis asks
/// scripts to declare every key they touch, and a cluster accepts an
/// undeclared one only while it is in the slot of a declared key on this
/// node: during a resharding that moves the user's slot, the script fails
/// (503) at its first such read, having written nothing. Times are
/// nanoseconds, compared as 20-digit strings: exact, where Lua's numbers
/// would round them.
const CHECK: &str = r"
local function padded(nanos) return string.rep('0', 20 - #nanos) .. nanos end
local s = redis.call('HMGET', KEYS[1], 'user', 'created', 'seen', 'login')
local user, created, seen = s[1], s[2], s[3]
if not (user and created and seen) then return false end
local prefix, member, now = ARGV[1], ARGV[2], ARGV[3]
local index = prefix .. 'user-sessions:{' .. user .. '}'
local expired = padded(created) <= padded(ARGV[5]) or padded(seen) <= padded(ARGV[4])
local touch = not expired and padded(seen) <= padded(ARGV[6])
local role, current, index_ttl
if not expired then role = redis.call('HGET', prefix .. 'account:{' .. user .. '}', 'role') end
if expired or touch then current = redis.call('ZSCORE', index, member) end
if touch then index_ttl = redis.call('PTTL', index) end
if expired then
  redis.call('DEL', KEYS[1])
  if current then redis.call('ZREM', index, member) end
  return false
end
if touch then
  local left = math.min(tonumber(ARGV[7]), tonumber(ARGV[8]) - (tonumber(now) - tonumber(created)))
  local ttl = math.max(1, math.floor(left / 1e9))
  local now_ms = tonumber(ARGV[9])
  local ends = now_ms + ttl * 1000
  redis.call('HSET', KEYS[1], 'seen', now)
  redis.call('EXPIRE', KEYS[1], ttl)
  if not current or tonumber(current) < ends then redis.call('ZADD', index, ends, member) end
  redis.call('PEXPIRE', index, math.max(index_ttl, ends - now_ms))
end
return {user, s[4] or '', role}";

#[async_trait]
impl<C: ConnectionLike + Clone + Send + Sync + 'static> SessionCheck for RedisStore<C> {
    async fn check(
        &self,
        key: &SessionKey,
        now: SystemTime,
        timeouts: Timeouts,
    ) -> Result<Option<CheckedSession>, StoreError> {
        let Some(session) = &self.session_key(key) else {
            return Ok(None);
        };
        let script = &Script::new(CHECK);
        let now_ns = clock::unix_nanos(now);
        let before = |ago: Duration| now_ns.saturating_sub(ago.as_nanos()).to_string();
        let args = &[
            self.prefix.clone(),
            key.to_hex(),
            now_ns.to_string(),
            before(timeouts.idle),
            before(timeouts.absolute),
            before(TOUCH_EVERY),
            timeouts.idle.as_nanos().to_string(),
            timeouts.absolute.as_nanos().to_string(),
            clock::unix_millis(now).to_string(),
        ];
        // Sent twice, it does what it did once: the same touch, or the
        // same end.
        let answer: Option<(String, String, Option<String>)> = retried(|| async move {
            script
                .key(session)
                .arg(args)
                .invoke_async(&mut self.connection())
                .await
        })
        .await?;
        let Some((user, login_id, role)) = answer else {
            return Ok(None);
        };
        // `create` files a session only in its user's shard. A record that
        // names a user of another shard was written by something else (a
        // hand-edited or restored key, a bug): it is nobody's session, and
        // the answer (that user's role) is not trusted.
        if key.shard() != Some(self.shard_of(&user)) {
            tracing::warn!(
                %user,
                shard = key.shard(),
                "refused a session record whose user is not in its ID's shard"
            );
            return Ok(None);
        }
        let role = match role {
            Some(role) => Some(
                Role::from_claim(&role)
                    .ok_or_else(|| StoreError(format!("an account with the role {role:?}")))?,
            ),
            None => None,
        };
        Ok(Some(CheckedSession {
            user,
            login_id,
            role,
        }))
    }
}
// ANCHOR_END: check

/// A session record from its hash's fields; `None` if there is no record.
fn session_record(fields: HashMap<String, String>) -> Result<Option<SessionRecord>, StoreError> {
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
    let field = |name: &str| fields.get(name).cloned().unwrap_or_default();
    Ok(Some(SessionRecord {
        user: user.clone(),
        created_at,
        last_seen,
        login_id: field("login"),
        device: sessions::Device {
            client: field("client"),
            user_agent: field("agent"),
        },
    }))
}
