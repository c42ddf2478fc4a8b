//! The book's side-by-side comparison, measured rather than written: five
//! café deployments, one per column, are probed the same way and attacked
//! with the whole lab, the per-request figures are read from the tables
//! the benchmarks wrote, and the result becomes
//! `book/verdict/side-by-side-table.md`:
//!
//! ```console
//! $ UPDATE_TRANSCRIPTS=1 cargo test -p cafe --test api side_by_side
//! ```

use crate::cli::Server as CafeProcess;
use crate::golden::check_generated;
use crate::redis_server::RedisServer;
use crate::support::{Mode, TestApp, opening_time, spawn_configured, unique_number};
use attack_lab::{Call, Credential, Lab, Login, Mechanism, Outcome, catalogue};
use cafe::clock::ManualClock;
use cafe::store::Stores;
use cafe::{AuthMode, Config};
use futures_util::future::join_all;
use jwt::RevocationChecks;
use jwt::keys::{KeyRing, SigningAlgorithm, SigningKey};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub(crate) mod account;
mod table;

const SECRET: &[u8] = b"the side-by-side HS256 secret, 32+ bytes";

/// The HS256 key every token column's servers share, as
/// `--jwt-secret-file` gives it.
fn signing_key() -> SigningKey {
    SigningKey::hs256(cafe::cli::key_id(SigningAlgorithm::Hs256), SECRET).unwrap()
}

/// The columns: each a `cafe serve` command a reader can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    SessionsMemory,
    SessionsRedis,
    Jwt,
    JwtChecked,
    Hybrid,
}

const COLUMNS: [Column; 5] = [
    Column::SessionsMemory,
    Column::SessionsRedis,
    Column::Jwt,
    Column::JwtChecked,
    Column::Hybrid,
];

impl Column {
    fn title(self) -> &'static str {
        match self {
            Column::SessionsMemory => "sessions",
            Column::SessionsRedis => "sessions, Redis",
            Column::Jwt => "JWT",
            Column::JwtChecked => "JWT + checks",
            Column::Hybrid => "hybrid",
        }
    }

    /// What the column runs: `cafe serve` with these flags.
    fn flags(self) -> &'static str {
        match self {
            Column::SessionsMemory => "--auth sessions",
            Column::SessionsRedis => "--auth sessions --store redis",
            Column::Jwt => "--auth jwt --jwt-secret-file secret",
            Column::JwtChecked => {
                "--auth jwt --jwt-secret-file secret --check-denylist --check-token-version \
                    --store redis"
            }
            Column::Hybrid => "--auth hybrid --jwt-secret-file secret",
        }
    }

    /// Its row in the benchmark tables.
    fn benchmark(self) -> &'static str {
        match self {
            Column::SessionsMemory => "sessions-memory",
            Column::SessionsRedis => "sessions-redis",
            Column::Jwt => "jwt-hs256",
            Column::JwtChecked => "jwt-hs256-checked-redis",
            Column::Hybrid => "hybrid-hs256",
        }
    }

    fn in_redis(self) -> bool {
        matches!(self, Column::SessionsRedis | Column::JwtChecked)
    }

    fn mode(self) -> Mode {
        match self {
            Column::SessionsMemory | Column::SessionsRedis => Mode::Sessions,
            Column::Jwt => Mode::Jwt,
            Column::JwtChecked => Mode::JwtChecked,
            Column::Hybrid => Mode::Hybrid,
        }
    }

    fn config(self, stores: Stores) -> Config {
        let mut config = Config::new(match self {
            Column::SessionsMemory | Column::SessionsRedis => AuthMode::Sessions,
            Column::Jwt | Column::JwtChecked => AuthMode::Jwt,
            Column::Hybrid => AuthMode::Hybrid,
        });
        config.jwt_keys = KeyRing::new(signing_key());
        config.revocation_checks = RevocationChecks {
            denylist: self == Column::JwtChecked,
            token_version: self == Column::JwtChecked,
        };
        config.stores = stores;
        config
    }

    /// A server's stores: its own memory, or the Redis keys under `prefix`
    /// that every server of the deployment (and a restarted one) shares.
    async fn stores(self, redis: &RedisServer, prefix: &str) -> Stores {
        if self.in_redis() {
            Stores::all_in(Arc::new(redis.store(prefix).await))
        } else {
            Stores::in_memory()
        }
    }
}

/// Two servers of one column behind a load balancer, on one clock: with
/// memory stores each has its own, as two processes do.
struct Deployment {
    column: Column,
    first: TestApp,
    second: TestApp,
    clock: Arc<ManualClock>,
    prefix: String,
}

impl Deployment {
    async fn start(column: Column, redis: &RedisServer) -> Deployment {
        let prefix = format!("side-by-side-{}:", unique_number());
        let clock = Arc::new(ManualClock::starting_at(opening_time()));
        let mut servers = Vec::new();
        for _ in 0..2 {
            let config = column.config(column.stores(redis, &prefix).await);
            servers.push(spawn_configured(column.mode(), config, clock.clone()).await);
        }
        let second = servers.pop().unwrap();
        let first = servers.pop().unwrap();
        Deployment {
            column,
            first,
            second,
            clock,
            prefix,
        }
    }

    /// The first server after a restart: the same key and configuration,
    /// and whatever its stores kept.
    async fn restarted(&self, redis: &RedisServer) -> TestApp {
        let stores = self.column.stores(redis, &self.prefix).await;
        let config = self.column.config(stores);
        spawn_configured(self.column.mode(), config, self.clock.clone()).await
    }

    async fn lab(&self) -> Lab {
        let clock = self.clock.clone();
        Lab::connect(&self.first.address)
            .await
            .unwrap()
            .with_second_target(&self.second.address)
            .unwrap()
            .with_signing_key(signing_key())
            .with_time_machine(Arc::new(move |by| clock.advance(by)))
            .with_work_counter(crate::attack_lab::hash_counter(&self.first))
    }
}

/// Whether a login's credential still works somewhere: the access
/// credential (the session cookie, or the access token) and, for tokens,
/// the refresh token.
struct StillWorks {
    access: bool,
    refresh: Option<bool>,
}

impl StillWorks {
    fn cell(&self) -> String {
        let word = |works: bool| if works { "yes" } else { "no" };
        match self.refresh {
            None => word(self.access).to_owned(),
            Some(refresh) if refresh == self.access => format!("{}, both tokens", word(refresh)),
            Some(refresh) => format!(
                "access token {}; refresh token {}",
                word(self.access),
                word(refresh)
            ),
        }
    }
}

/// How long a login lasts, as the clock shows it.
struct Lifetime {
    /// Sessions: the idle timeout. Tokens: the access token's lifetime.
    access: Duration,
    /// Sessions: the absolute timeout. Tokens: the refresh token's lifetime.
    login: Duration,
    /// Tokens: how long a login may go without a refresh (sessions: none,
    /// their idle timeout is [`Lifetime::access`]).
    refresh_idle: Option<Duration>,
}

/// What one column does, measured.
struct Measured {
    stored_at_login: Vec<&'static str>,
    lookups_per_request: Vec<&'static str>,
    credential_bytes: usize,
    second_server: StillWorks,
    after_restart: StillWorks,
    lifetime: Lifetime,
    /// After a password change, an ended login and idling, on the first
    /// server.
    account: account::AccountEvents,
    /// The `Clear-Site-Data` header of the logout's answer.
    logout_clears: Option<String>,
    attacks: BTreeMap<&'static str, Outcome>,
}

async fn gets_me(lab: &Lab, credential: &Login) -> bool {
    let reply = lab.send(credential.attach(Call::get("/me"))).await.unwrap();
    reply.status == 200
}

/// Which of the deployment's servers a request goes to.
#[derive(Clone, Copy)]
enum Server {
    First,
    Second,
}

/// Whether `refresh_token` is swapped for a new one by `server`.
async fn refreshes(lab: &Lab, server: Server, refresh_token: &str) -> bool {
    let call = lab.refresh_call(refresh_token);
    let reply = match server {
        Server::First => lab.send(call).await.unwrap(),
        Server::Second => lab.send_to_second(call).await.unwrap().unwrap(),
    };
    reply.status == 200
}

/// The header a request carries the credential in, and its size on the
/// wire (`Name: value`).
fn credential_header_bytes(login: &Login) -> usize {
    match &login.credential {
        Credential::Cookie(cookie) => "Cookie: ".len() + cookie.len(),
        Credential::Bearer { access, .. } => "Authorization: Bearer ".len() + access.len(),
    }
}

/// The calls a login makes that keep something on the server (the lookups
/// every mode makes, the account and the attempt limit, left out).
fn state_calls(calls: Vec<&'static str>) -> Vec<&'static str> {
    calls
        .into_iter()
        .filter(|call| !call.starts_with("accounts.") && !call.starts_with("throttle."))
        .collect()
}

async fn measure(column: Column, redis: &RedisServer) -> Measured {
    let deployment = Deployment::start(column, redis).await;
    let lab = deployment.lab().await;
    let is_tokens = column != Column::SessionsMemory && column != Column::SessionsRedis;

    deployment.first.probe.take_calls();
    let alice = lab.log_in("alice").await.unwrap();
    let stored_at_login = state_calls(deployment.first.probe.take_calls());
    assert!(gets_me(&lab, &alice).await);
    let lookups_per_request = deployment.first.probe.take_calls();

    let other = lab
        .send_to_second(alice.attach(Call::get("/me")))
        .await
        .unwrap()
        .unwrap();
    let second_server = StillWorks {
        access: other.status == 200,
        refresh: match alice.credential.refresh_token() {
            Some(token) => Some(refreshes(&lab, Server::Second, token).await),
            None => None,
        },
    };

    let before_restart = lab.log_in("alice").await.unwrap();
    let restarted = deployment.restarted(redis).await;
    let restarted_lab = Lab::connect(&restarted.address).await.unwrap();
    let after_restart = StillWorks {
        access: gets_me(&restarted_lab, &before_restart).await,
        refresh: match before_restart.credential.refresh_token() {
            Some(token) => Some(refreshes(&restarted_lab, Server::First, token).await),
            None => None,
        },
    };

    let lifetime = measure_lifetime(&deployment, &lab, is_tokens).await;

    let leaving = lab.log_in("alice").await.unwrap();
    let logout = lab.log_out(&leaving).await.unwrap();
    assert_eq!(logout.status, 204);
    let logout_clears = logout.header("clear-site-data").map(str::to_owned);

    // Last on this deployment: it changes alice's password.
    let account = account::measure_account(&deployment.first).await;

    // The whole lab, on a deployment of its own: its attacks move clocks,
    // ban users and lock accounts.
    let attacked = Deployment::start(column, redis).await;
    let attack_lab = attacked.lab().await;
    let mut attacks = BTreeMap::new();
    for attack in catalogue() {
        let outcome = attack_lab
            .run(&attack)
            .await
            .unwrap_or_else(|error| panic!("{} against {column:?}: {error}", attack.name));
        attacks.insert(attack.name, outcome);
    }

    Measured {
        stored_at_login,
        lookups_per_request,
        credential_bytes: credential_header_bytes(&alice),
        second_server,
        after_restart,
        lifetime,
        account,
        logout_clears,
        attacks,
    }
}

/// Finds, on the deployment's clock, how long a login lasts: a credential
/// must work one second before each limit the configuration sets and be
/// refused one second after it (after the leeway, for tokens).
async fn measure_lifetime(deployment: &Deployment, lab: &Lab, is_tokens: bool) -> Lifetime {
    let config = deployment.column.config(Stores::in_memory());
    let second = Duration::from_secs(1);
    if is_tokens {
        // Token checks allow the verifier's clock-skew leeway past `exp`.
        let leeway = Duration::from_secs(jwt::tokens::LEEWAY_SECONDS);
        let access = Duration::from_secs(config.jwt_lifetimes.access);
        let login = Duration::from_secs(config.jwt_lifetimes.refresh);
        let idle = Duration::from_secs(config.jwt_lifetimes.refresh_idle);
        let alice = lab.log_in("alice").await.unwrap();
        deployment.clock.advance(access - second);
        assert!(gets_me(lab, &alice).await, "access token before its end");
        deployment.clock.advance(leeway + second * 2);
        assert!(!gets_me(lab, &alice).await, "access token after its end");
        // A login not refreshed for the idle limit ends: a refresh a second
        // before it renews, one a second after it is refused.
        let idler = lab.log_in("alice").await.unwrap();
        let mut refresh = idler.refresh_token().unwrap().to_owned();
        deployment.clock.advance(idle - second);
        let reply = lab.send(lab.refresh_call(&refresh)).await.unwrap();
        assert_eq!(reply.status, 200, "refresh before the idle limit");
        refresh = lab.refreshed_token(&reply).unwrap();
        deployment.clock.advance(idle + second);
        assert!(
            !refreshes(lab, Server::First, &refresh).await,
            "refresh after the idle limit"
        );
        // The refresh token: renewing stops when the login's lifetime ends,
        // however often it was renewed. The login is kept alive with a
        // refresh just inside each idle limit until a second before its end.
        let busy = lab.log_in("alice").await.unwrap();
        let mut refresh = busy.refresh_token().unwrap().to_owned();
        let step = idle - second;
        let mut elapsed = Duration::ZERO;
        loop {
            let next = (elapsed + step).min(login - second);
            deployment.clock.advance(next - elapsed);
            elapsed = next;
            let reply = lab.send(lab.refresh_call(&refresh)).await.unwrap();
            assert_eq!(
                reply.status, 200,
                "refresh at {elapsed:?}, before the login's end"
            );
            refresh = lab.refreshed_token(&reply).unwrap();
            if elapsed == login - second {
                break;
            }
        }
        deployment.clock.advance(leeway + second * 2);
        assert!(
            !refreshes(lab, Server::First, &refresh).await,
            "refresh after the login's end"
        );
        Lifetime {
            access,
            login,
            refresh_idle: Some(idle),
        }
    } else {
        let idle = config.session_timeouts.idle;
        let absolute = config.session_timeouts.absolute;
        let alice = lab.log_in("alice").await.unwrap();
        deployment.clock.advance(idle - second);
        assert!(
            gets_me(lab, &alice).await,
            "session before the idle timeout"
        );
        deployment.clock.advance(idle + second);
        assert!(
            !gets_me(lab, &alice).await,
            "session after the idle timeout"
        );
        // Kept busy, a session still ends at the absolute timeout.
        let busy = lab.log_in("alice").await.unwrap();
        let step = idle / 2;
        let mut elapsed = Duration::ZERO;
        while elapsed + step < absolute - second {
            deployment.clock.advance(step);
            elapsed += step;
            assert!(gets_me(lab, &busy).await, "busy session at {elapsed:?}");
        }
        deployment.clock.advance(absolute - second - elapsed);
        assert!(gets_me(lab, &busy).await, "busy session before its end");
        deployment.clock.advance(second * 2);
        assert!(!gets_me(lab, &busy).await, "busy session after its end");
        Lifetime {
            access: idle,
            login: absolute,
            refresh_idle: None,
        }
    }
}

fn book_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../book")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn side_by_side_every_mode_measured_the_same_way() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let measured = join_all(COLUMNS.map(|column| measure(column, &redis))).await;
    let path = book_dir().join("verdict/side-by-side-table.md");
    let notice = "<!-- Generated by `UPDATE_TRANSCRIPTS=1 cargo test -p cafe --test api \
        side_by_side`. Do not edit: rerun it. -->\n\n";
    check_generated(&path, &format!("{notice}{}", table::table(&measured)));
}

/// The commands under the table, copied as a reader would copy them, start
/// the café each column describes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_columns_command_starts_the_cafe_it_describes() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let secret_file =
        std::env::temp_dir().join(format!("side-by-side-secret-{}", std::process::id()));
    std::fs::write(&secret_file, SECRET).unwrap();
    let secret_path = secret_file.to_str().unwrap().to_owned();
    let redis_url = format!("redis://127.0.0.1:{}", redis.port);
    for column in COLUMNS {
        let mut args: Vec<&str> = column
            .flags()
            .split(' ')
            .map(|arg| {
                if arg == "secret" {
                    secret_path.as_str()
                } else {
                    arg
                }
            })
            .collect();
        if column.in_redis() {
            args.extend(["--redis-url", &redis_url]);
        }
        let cafe = CafeProcess::start(&args);
        let target = format!("http://{}", cafe.address);
        let server = Lab::connect(&target).await.unwrap().server();
        let expected = match column {
            Column::SessionsMemory | Column::SessionsRedis => Mechanism::Sessions,
            Column::Jwt | Column::JwtChecked => Mechanism::Jwt,
            Column::Hybrid => Mechanism::Hybrid,
        };
        assert_eq!(server.mechanism, expected, "{column:?}: {args:?}");
    }
    std::fs::remove_file(&secret_file).ok();
}
