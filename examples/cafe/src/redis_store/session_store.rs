//! Sessions on Redis: one hash per session, its TTL the idle timeout, and
//! each user's index of sessions (see `logins`).

use super::*;

#[async_trait]
impl<C: ConnectionLike + Clone + Send + Sync + 'static> SessionStore for RedisStore<C> {
    async fn create(
        &self,
        key: SessionKey,
        record: SessionRecord,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let hex = key.to_hex();
        let session = self.key("session", &hex);
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
        self.end_past_the_cap(index, &past_the_cap, |hex| {
            end_session(self.key("session", hex))
        })
        .await
    }

    async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        let session = &self.key("session", &key.to_hex());
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
        let commands: Vec<redis::Cmd> = members
            .iter()
            .map(|hex| redis::cmd("HGETALL").arg(self.key("session", hex)).clone())
            .collect();
        let answers = retried(|| logins::each_answered(&self.connection, commands.clone())).await?;
        let mut records = Vec::new();
        for (hex, answer) in members.iter().zip(answers) {
            let fields: HashMap<String, String> =
                redis::from_redis_value(answer).map_err(|e| StoreError(format!("redis: {e}")))?;
            let (Some(key), Some(record)) = (SessionKey::from_hex(hex), session_record(fields)?)
            else {
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
        let session = &self.key("session", hex);
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
        let session = &self.key("session", hex);
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
        let (ended, _) = self
            .end_every_login("user-sessions", user, |hex| {
                end_session(self.key("session", hex))
            })
            .await?;
        Ok(ended)
    }
}

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
