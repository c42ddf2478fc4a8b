//! Accounts, orders and the login throttle on Redis.

use super::*;
use cafe::throttle::KNOWN_CLIENTS_PER_ACCOUNT;

impl<C: ConnectionLike + Clone + Send + Sync + 'static> RedisStore<C> {
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
}

#[async_trait]
impl<C: ConnectionLike + Clone + Send + Sync + 'static> AccountStore for RedisStore<C> {
    async fn insert(&self, account: Account) -> Result<(), StoreError> {
        // Accounts are kept for good; adding the name and writing the fields
        // twice is doing it once.
        let accounts = &format!("{}accounts", self.prefix);
        let key = &self.key("account", &account.name);
        let fields = &[
            ("role", account.role.as_str()),
            ("hash", account.password_hash.as_str()),
        ];
        let name = &account.name;
        retried(|| async move {
            let mut connection = self.connection();
            let _: () = connection.sadd(accounts, name).await?;
            connection.hset_multiple(key, fields).await
        })
        .await
    }

    async fn account(&self, name: &str) -> Result<Option<Account>, StoreError> {
        let key = &self.key("account", name);
        let fields: HashMap<String, String> =
            retried(|| async move { self.connection().hgetall(key).await }).await?;
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
        // Setting the same role twice is setting it once.
        let script = &Script::new(
            r"if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
              redis.call('HSET', KEYS[1], 'role', ARGV[1])
              return 1",
        );
        let key = &self.key("account", name);
        let changed: i64 = retried(|| async move {
            script
                .key(key)
                .arg(role.as_str())
                .invoke_async(&mut self.connection())
                .await
        })
        .await?;
        Ok((changed == 1).then(|| Profile {
            name: name.to_owned(),
            role,
        }))
    }

    async fn set_password(
        &self,
        name: &str,
        current_hash: &str,
        new_hash: &str,
    ) -> Result<bool, StoreError> {
        // Compare and swap in one script. The new hash has a salt of its
        // own, so finding it already there means this very change was made
        // by a first send whose answer was lost: changed, not a conflict.
        let script = &Script::new(
            r"local stored = redis.call('HGET', KEYS[1], 'hash')
              if stored == ARGV[2] then return 1 end
              if stored ~= ARGV[1] then return 0 end
              redis.call('HSET', KEYS[1], 'hash', ARGV[2])
              return 1",
        );
        let key = &self.key("account", name);
        let changed: i64 = retried(|| async move {
            script
                .key(key)
                .arg(current_hash)
                .arg(new_hash)
                .invoke_async(&mut self.connection())
                .await
        })
        .await?;
        Ok(changed == 1)
    }

    async fn all(&self) -> Result<Vec<Profile>, StoreError> {
        let accounts = &format!("{}accounts", self.prefix);
        let mut names: Vec<String> =
            retried(|| async move { self.connection().smembers(accounts).await }).await?;
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
    async fn place(&self, by: &str, item: &str, most: usize) -> Result<Option<Order>, StoreError> {
        // A user's orders are one sorted set scored by id, and the order is
        // placed by one script on the user's keys (one hash slot): count,
        // draw the id from the user's own counter, add. Two orders at 999
        // cannot both find room, and ids land in the order they are drawn,
        // so a page read between two orders never skips one. (The id used
        // to come from one global `INCR` a round trip earlier: orders racing
        // could land out of id order, each loser drew again, and 32 orders
        // at once from one user got 503s.) An id is never below one already
        // in the set, whatever wrote it.
        //
        // Sent twice (a connection dropped before the answer came back, and
        // `retried` sends it again), the script finds this request's key
        // and answers the id it placed, without placing it twice. A retry
        // follows at once, so the key lives a minute.
        let script = &Script::new(
            r#"local placed = redis.call('GET', KEYS[3])
              if placed then return tonumber(placed) end
              if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
              local id = redis.call('INCR', KEYS[2])
              local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2]
              if newest and tonumber(newest) >= id then
                id = tonumber(newest) + 1
                redis.call('SET', KEYS[2], id)
              end
              local order = '{"id":' .. id .. ',' .. string.sub(ARGV[2], 2)
              redis.call('ZADD', KEYS[1], id, order)
              redis.call('SET', KEYS[3], id, 'EX', 60)
              return id"#,
        );
        let orders = &self.key("orders", by);
        let counter = &self.key("order-id", by);
        let mut token = [0u8; 16];
        getrandom::fill(&mut token).map_err(|e| StoreError(e.to_string()))?;
        let token: String = token.iter().map(|byte| format!("{byte:02x}")).collect();
        let request = &format!("{}:{token}", self.key("order-request", by));
        // The order's members but its id, as JSON: `{"item":…,"by":…}`.
        let rest = &serde_json::json!({ "item": item, "by": by }).to_string();
        let id: u64 = retried(|| async move {
            script
                .key(orders)
                .key(counter)
                .key(request)
                .arg(most)
                .arg(rest)
                .invoke_async(&mut self.connection())
                .await
        })
        .await?;
        Ok((id > 0).then(|| Order {
            id,
            item: item.to_owned(),
            by: by.to_owned(),
        }))
    }

    async fn placed_by(
        &self,
        by: &str,
        after: u64,
        count: usize,
    ) -> Result<Vec<Order>, StoreError> {
        let orders = &self.key("orders", by);
        let above = &format!("({after}");
        let count = isize::try_from(count).unwrap_or(isize::MAX);
        let page: Vec<String> = retried(|| async move {
            self.connection()
                .zrangebyscore_limit(orders, above, "+inf", 0, count)
                .await
        })
        .await?;
        page.iter()
            .map(|json| serde_json::from_str(json).map_err(|e| StoreError(e.to_string())))
            .collect()
    }
}

#[async_trait]
impl<C: ConnectionLike + Clone + Send + Sync + 'static> ThrottleStore for RedisStore<C> {
    async fn reserve_attempt(
        &self,
        key: &str,
        attempt: CountedAttempt,
        limit: Limit,
    ) -> Result<Attempt, StoreError> {
        // The same decision as `throttle::reserve`, as one script on one key:
        // attempts are a sorted set of times, in milliseconds, each under
        // the attempt's own number. A reservation sent twice finds its
        // number already there and answers "allowed" again, without
        // counting twice. It answers -1 for allowed, or when the count
        // lets one more through, in milliseconds.
        let script = &Script::new(
            r"local now, window, max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
              local spacing = tonumber(ARGV[5])
              if redis.call('ZSCORE', KEYS[1], ARGV[4]) then return -1 end
              redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
              local frees_at = -1
              if redis.call('ZCARD', KEYS[1]) >= max then
                if spacing > 0 then
                  local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2]
                  if tonumber(newest) + spacing > now then frees_at = tonumber(newest) + spacing end
                else
                  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]
                  frees_at = tonumber(oldest) + window
                end
              end
              if frees_at >= 0 then return frees_at end
              redis.call('ZADD', KEYS[1], now, ARGV[4])
              redis.call('PEXPIRE', KEYS[1], window)
              return -1",
        );
        let (now, id) = attempt;
        let now_ms = clock::unix_millis(now);
        let window_ms = clock::millis(limit.window);
        let spacing_ms = match limit.past_the_limit {
            PastTheLimit::Refuse => 0,
            PastTheLimit::Space => clock::millis(limit.spacing()),
        };
        let key = &self.key("throttle", key);
        let frees_at: i64 = retried(|| async move {
            script
                .key(key)
                .arg(now_ms)
                .arg(window_ms)
                .arg(limit.max)
                .arg(id)
                .arg(spacing_ms)
                .invoke_async(&mut self.connection())
                .await
        })
        .await?;
        if frees_at < 0 {
            return Ok(Attempt::Allowed);
        }
        let wait = u64::try_from(frees_at).unwrap_or(0).saturating_sub(now_ms);
        Ok(Attempt::Refused {
            retry_after: Duration::from_millis(wait).max(Duration::from_secs(1)),
        })
    }

    async fn release(&self, key: &str, id: u64) -> Result<(), StoreError> {
        let key = &self.key("throttle", key);
        retried(|| async move { self.connection().zrem(key, id).await }).await
    }

    async fn clear(&self, key: &str) -> Result<(), StoreError> {
        let key = &self.key("throttle", key);
        retried(|| async move { self.connection().del(key).await }).await
    }

    async fn remember(
        &self,
        key: &str,
        client: &str,
        now: SystemTime,
        known_for: Duration,
    ) -> Result<(), StoreError> {
        // One sorted set per account, each client scored by when it stops
        // being known (on the café's clock); one script on that key: add,
        // drop the lapsed and all but the newest, and keep the key as long
        // as the newest entry, counted from now (Redis's clock may not be
        // the café's). Run twice, it does what it did once.
        let script = &Script::new(
            r"redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
              redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
              redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -1 - tonumber(ARGV[4]))
              redis.call('PEXPIRE', KEYS[1], ARGV[5])
              return 1",
        );
        let until = clock::unix_millis(now).saturating_add(clock::millis(known_for));
        let now_ms = clock::unix_millis(now);
        let key = &self.key("throttle", key);
        let _: i64 = retried(|| async move {
            script
                .key(key)
                .arg(until)
                .arg(client)
                .arg(now_ms)
                .arg(KNOWN_CLIENTS_PER_ACCOUNT)
                .arg(clock::millis(known_for).max(1))
                .invoke_async(&mut self.connection())
                .await
        })
        .await?;
        Ok(())
    }

    async fn remembers(
        &self,
        key: &str,
        client: &str,
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        let key = &self.key("throttle", key);
        let until: Option<u64> =
            retried(|| async move { self.connection().zscore(key, client).await }).await?;
        Ok(until.is_some_and(|until| until > clock::unix_millis(now)))
    }
}
