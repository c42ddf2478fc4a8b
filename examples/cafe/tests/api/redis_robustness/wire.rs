//! The connection the tests steer, and the write catalogue the cut test
//! runs: every write the Redis store makes, with the state it needs first.

use super::{DAY, TTL, new_key, plain_connection, record, unix_now};
use crate::redis_server::RedisServer;
use cafe::orders::MAX_ORDERS_PER_USER;
use cafe::redis_store::RedisStore;
use jwt::revocation::{Device, RefreshFamilyStore};
use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::{Cmd, Pipeline, RedisFuture, Value};
use sessions::{SessionKey, SessionStore};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;
use tokio::sync::Notify;

// ------------------------------------------------------------- the wire

/// A connection to Redis that the test steers: it counts round trips, can be
/// cut after a given number of commands (as a dropped connection would, with
/// the commands before the cut applied and the rest never sent), and can
/// pause before a given round trip until the test lets it go on.
#[derive(Clone)]
pub(super) struct Wire {
    connection: Arc<Mutex<Option<MultiplexedConnection>>>,
    round_trips: Arc<AtomicUsize>,
    /// Commands sent (a pipeline's each; a script is one).
    commands: Arc<AtomicUsize>,
    /// Commands that may still be sent before the cut.
    commands_left: Arc<AtomicUsize>,
    pause: Arc<Mutex<Option<Pause>>>,
}

/// Stop before round trip number `before` (counting from 1).
struct Pause {
    before: usize,
    reached: Arc<Notify>,
    resume: Arc<Notify>,
}

impl Wire {
    pub(super) async fn to(redis: &RedisServer) -> Wire {
        Wire {
            connection: Arc::new(Mutex::new(Some(plain_connection(redis).await))),
            round_trips: Arc::default(),
            commands: Arc::default(),
            commands_left: Arc::new(AtomicUsize::new(usize::MAX)),
            pause: Arc::default(),
        }
    }

    pub(super) fn round_trips(&self) -> usize {
        self.round_trips.load(Ordering::SeqCst)
    }

    pub(super) fn commands_sent(&self) -> usize {
        self.commands.load(Ordering::SeqCst)
    }

    pub(super) fn cut_after(&self, commands: usize) {
        self.commands_left.store(commands, Ordering::SeqCst);
    }

    /// Pauses before round trip `before`; returns (reached, resume).
    pub(super) fn pause_before(&self, before: usize) -> (Arc<Notify>, Arc<Notify>) {
        let (reached, resume) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
        *self.pause.lock().unwrap() = Some(Pause {
            before,
            reached: reached.clone(),
            resume: resume.clone(),
        });
        (reached, resume)
    }

    /// Takes one command from the budget; `None` once the wire is cut, and
    /// from then on (the connection is dropped, so Redis discards anything
    /// half-sent, like a `MULTI` without its `EXEC`).
    fn send_one(&self) -> Option<MultiplexedConnection> {
        let taken = self
            .commands_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            });
        let mut connection = self.connection.lock().unwrap();
        if taken.is_err() {
            *connection = None;
        }
        connection.clone()
    }

    async fn round_trip(&self) {
        let number = self.round_trips.fetch_add(1, Ordering::SeqCst) + 1;
        let pause = self.pause.lock().unwrap().take_if(|p| p.before == number);
        if let Some(pause) = pause {
            pause.reached.notify_one();
            pause.resume.notified().await;
        }
    }
}

fn cut() -> redis::RedisError {
    std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the test cut the wire").into()
}

impl ConnectionLike for Wire {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            self.round_trip().await;
            self.commands.fetch_add(1, Ordering::SeqCst);
            let mut connection = self.send_one().ok_or_else(cut)?;
            connection.req_packed_command(cmd).await
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            self.round_trip().await;
            // A transaction is MULTI, the commands, EXEC: each is sent.
            let mut commands: Vec<Cmd> = Vec::new();
            if pipeline.is_transaction() {
                commands.push(redis::cmd("MULTI"));
            }
            commands.extend(pipeline.cmd_iter().cloned());
            if pipeline.is_transaction() {
                commands.push(redis::cmd("EXEC"));
            }
            self.commands.fetch_add(commands.len(), Ordering::SeqCst);
            let budget = self.commands_left.load(Ordering::SeqCst);
            if budget >= commands.len() {
                self.commands_left
                    .fetch_sub(commands.len(), Ordering::SeqCst);
                let mut connection = self.send_one_without_budget().ok_or_else(cut)?;
                return connection
                    .req_packed_commands(pipeline, offset, count)
                    .await;
            }
            // The wire is cut part-way: the first commands reach Redis, one
            // by one, and the rest never do.
            for command in &commands {
                let mut connection = self.send_one().ok_or_else(cut)?;
                connection.req_packed_command(command).await?;
            }
            Err(cut())
        })
    }

    fn get_db(&self) -> i64 {
        0
    }
}

impl Wire {
    fn send_one_without_budget(&self) -> Option<MultiplexedConnection> {
        self.connection.lock().unwrap().clone()
    }
}

// ------------------------------------------------------- the writes

/// Every write the Redis store makes, on state `prepare` left.
pub(super) const WRITES: [&str; 15] = [
    "session create",
    "session touch",
    "session delete",
    "log out everywhere",
    "family start",
    "family rotate",
    "family revoke",
    "family revoke all",
    "deny",
    "throttle",
    "throttle clear",
    "version bump",
    "account insert",
    "set role",
    "place order",
];

/// The one session the writes act on (each case has its own prefix).
fn session_key() -> SessionKey {
    static KEY: std::sync::LazyLock<SessionKey> = std::sync::LazyLock::new(new_key);
    *KEY
}

pub(super) async fn prepare<C>(store: &RedisStore<C>, what: &str)
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    use cafe::store::{AccountStore, ThrottleStore};
    let now = unix_now();
    match what {
        "session touch" | "session delete" | "log out everywhere" => {
            store
                .create(session_key(), record("alice"), TTL)
                .await
                .unwrap();
            store.create(new_key(), record("alice"), TTL).await.unwrap();
        }
        "family rotate" | "family revoke" | "family revoke all" => {
            store
                .start(
                    "family-1",
                    "alice",
                    "r1",
                    now + 3600,
                    now,
                    &Device::default(),
                )
                .await
                .unwrap();
        }
        "throttle clear" => {
            store
                .reserve_attempt("account:alice", (SystemTime::now(), 1), any_limit())
                .await
                .unwrap();
        }
        "set role" => {
            let account =
                cafe::users::Account::new("barista", "espresso-all-day", cafe::users::Role::Member)
                    .unwrap();
            store.insert(account).await.unwrap();
        }
        _ => {}
    }
}

pub(super) async fn write<C>(
    store: &RedisStore<C>,
    what: &str,
) -> Result<(), cafe::store::StoreError>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    use cafe::store::{AccountStore, OrderStore, ThrottleStore};
    use jwt::revocation::{DenylistStore, TokenVersionStore};
    let now = unix_now();
    match what {
        "session create" => store.create(session_key(), record("alice"), TTL).await,
        "session touch" => store.touch(&session_key(), SystemTime::now(), TTL).await,
        "session delete" => store.delete(&session_key()).await,
        "log out everywhere" => store.delete_all_for_user("alice").await.map(drop),
        "family start" => {
            store
                .start(
                    "family-1",
                    "alice",
                    "r1",
                    now + 3600,
                    now,
                    &Device::default(),
                )
                .await
        }
        "family rotate" => store.rotate("family-1", "r1", "r2", 0, DAY).await.map(drop),
        "family revoke" => store.revoke("family-1").await,
        "family revoke all" => store.revoke_all_for("alice").await.map(drop),
        "deny" => store.deny("alice", "family-1", now + 905, now).await,
        "throttle" => store
            .reserve_attempt("account:alice", (SystemTime::now(), 1), any_limit())
            .await
            .map(drop),
        "throttle clear" => store.clear("account:alice").await,
        "version bump" => store.bump("alice").await.map(drop),
        "account insert" => {
            let account =
                cafe::users::Account::new("barista", "espresso-all-day", cafe::users::Role::Member)
                    .unwrap();
            store.insert(account).await
        }
        "set role" => store
            .set_role("barista", cafe::users::Role::Admin)
            .await
            .map(drop),
        "place order" => store
            .place("alice", "flat white", MAX_ORDERS_PER_USER)
            .await
            .map(drop),
        other => panic!("no write called {other}"),
    }
}

/// A throttle limit, for the writes above that only need one.
fn any_limit() -> cafe::throttle::Limit {
    cafe::throttle::ThrottlePolicy::default().per_account_and_client
}
