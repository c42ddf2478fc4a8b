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
}

/// What one column does, measured.
struct Measured {
    stored_at_login: Vec<&'static str>,
    lookups_per_request: Vec<&'static str>,
    credential_bytes: usize,
    second_server: StillWorks,
    after_restart: StillWorks,
    lifetime: Lifetime,
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
        let alice = lab.log_in("alice").await.unwrap();
        deployment.clock.advance(access - second);
        assert!(gets_me(lab, &alice).await, "access token before its end");
        deployment.clock.advance(leeway + second * 2);
        assert!(!gets_me(lab, &alice).await, "access token after its end");
        // The refresh token: renewing stops when the login's lifetime ends,
        // however often it was renewed.
        let refresh = alice.refresh_token().unwrap().to_owned();
        deployment
            .clock
            .advance(login - access - leeway - second * 2);
        let reply = lab.send(lab.refresh_call(&refresh)).await.unwrap();
        assert_eq!(reply.status, 200, "refresh before the login's end");
        let renewed = lab.refreshed_token(&reply).unwrap();
        deployment.clock.advance(leeway + second * 2);
        assert!(
            !refreshes(lab, Server::First, &renewed).await,
            "refresh after the login's end"
        );
        Lifetime { access, login }
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
        }
    }
}

/// `1800 s` as `30 min`, `604800 s` as `7 days`.
fn spoken(duration: Duration) -> String {
    let seconds = duration.as_secs();
    match seconds {
        s if s % 86_400 == 0 => format!("{} days", s / 86_400),
        s if s % 3_600 == 0 => format!("{} h", s / 3_600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// The cells of a row the benchmarks wrote (`cargo run --release -p perf`),
/// found by its first cells: figures are read, never typed.
fn benchmark_row(file: &str, first_cells: &[&str]) -> Vec<String> {
    table_row(&book_dir().join("performance").join(file), first_cells)
}

/// The cells of a row of the Markdown table in `path`, found by its first
/// cells.
fn table_row(path: &Path, first_cells: &[&str]) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(|line| {
            line.trim_matches('|')
                .split('|')
                .map(|cell| cell.trim().to_owned())
                .collect::<Vec<String>>()
        })
        .find(|cells| {
            cells.len() >= first_cells.len()
                && cells
                    .iter()
                    .zip(first_cells)
                    .all(|(cell, wanted)| cell == wanted)
        })
        .unwrap_or_else(|| panic!("no row {first_cells:?} in {}", path.display()))
}

fn book_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../book")
}

/// How a lab attack ended, in a word; a risk or a refusal the lab table
/// does not expect fails the attack lab's own test, not this one. The lab
/// here has the key, the clock and a second server, so an attack may be
/// skipped only because it means nothing in the mode.
fn attack_cell(measured: &Measured, attack: &str) -> &'static str {
    match &measured.attacks[attack] {
        Outcome::Refused(_) => "refused",
        Outcome::Accepted(_) => "**risk**",
        Outcome::Skipped(why) if why.starts_with("not applicable") => "—",
        Outcome::Skipped(why) => panic!("{attack} was skipped: {why}"),
    }
}

/// One row: what it is (linked to the chapter that explains it), one cell
/// per column, and the evidence.
struct Row {
    label: &'static str,
    chapter: &'static str,
    cells: Vec<String>,
    evidence: String,
}

fn rows(measured: &[Measured]) -> Vec<Row> {
    let per_column = |cell: &dyn Fn(Column, &Measured) -> String| -> Vec<String> {
        COLUMNS
            .iter()
            .zip(measured)
            .map(|(column, measured)| cell(*column, measured))
            .collect()
    };
    let calls = |calls: &[&str]| {
        if calls.is_empty() {
            "nothing".to_owned()
        } else {
            calls
                .iter()
                .map(|call| format!("`{call}`"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let attack =
        |name: &'static str| move |_: Column, m: &Measured| attack_cell(m, name).to_owned();
    // A row read from one lab attack's outcomes.
    let lab_row = |label: &'static str, chapter: &'static str, name: &'static str| Row {
        label,
        chapter,
        cells: per_column(&attack(name)),
        evidence: format!("lab: `{name}`"),
    };
    // Whether the login still works somewhere else: the multi-server chapter's rows.
    let many_servers_row =
        |label: &'static str, outcome: fn(&Measured) -> &StillWorks, how: &str| Row {
            label,
            chapter: "../many-servers.md",
            cells: per_column(&|_, m| outcome(m).cell()),
            evidence: format!("measured: {how}"),
        };
    vec![
        Row {
            label: "Store calls at login",
            chapter: "../jwt/where-the-data-lives.md",
            cells: per_column(&|_, m| calls(&m.stored_at_login)),
            evidence: "measured: the calls `POST /login` makes besides the account lookup and the \
                rate limit, which every mode makes"
                .to_owned(),
        },
        Row {
            label: "Server memory per login",
            chapter: "../many-servers.md",
            cells: per_column(&|column, m| memory_per_login(column, m)),
            evidence: "[Many servers](../many-servers.md): `cargo run -p cafe --example \
                memory_per_login`, a million of each"
                .to_owned(),
        },
        Row {
            label: "Store calls per request (`GET /me`)",
            chapter: "../performance.md",
            cells: per_column(&|_, m| {
                format!(
                    "{}: {}",
                    m.lookups_per_request.len(),
                    calls(&m.lookups_per_request)
                )
            }),
            evidence: "`hardening::each_mode_looks_up_exactly_what_its_chapter_says`".to_owned(),
        },
        Row {
            label: "Check per request: median time, instructions",
            chapter: "../performance.md",
            cells: per_column(&|column, _| {
                let row = benchmark_row("request-checks.md", &[column.benchmark()]);
                format!("{} / {} instr.", row[1], row[2])
            }),
            evidence: "[request checks](../performance.md): criterion's median, and callgrind's \
                instruction count, which barely varies from run to run"
                .to_owned(),
        },
        Row {
            label: "`GET /me` throughput, × no auth",
            chapter: "../performance.md",
            cells: per_column(&|column, _| {
                format!(
                    "{}×",
                    benchmark_row("load.md", &[column.benchmark(), "GET /me"])[3]
                )
            }),
            evidence: "[load](../performance.md), `wrk`".to_owned(),
        },
        Row {
            label: "Credential header on every request",
            chapter: "../performance.md",
            cells: per_column(&|_, m| format!("{} bytes", m.credential_bytes)),
            evidence: "measured: `Cookie` or `Authorization` header of the login's credential; \
                [sizes](../performance.md)"
                .to_owned(),
        },
        Row {
            label: "A login lasts",
            chapter: "../sessions/expiry.md",
            cells: per_column(&|column, m| match column {
                Column::SessionsMemory | Column::SessionsRedis => format!(
                    "{} idle, {} at most",
                    spoken(m.lifetime.access),
                    spoken(m.lifetime.login)
                ),
                _ => format!(
                    "access {}, renewed for {}",
                    spoken(m.lifetime.access),
                    spoken(m.lifetime.login)
                ),
            }),
            evidence: "measured: the credential works a second before each limit and not a second \
                after (plus the 5 s leeway for tokens), on the server's clock"
                .to_owned(),
        },
        lab_row(
            "After logout, the old credential",
            "../jwt/logging-out.md",
            "access-after-logout",
        ),
        lab_row(
            "After logout, the refresh token",
            "../jwt/logging-out.md",
            "refresh-after-logout",
        ),
        lab_row(
            "After a ban, the old credential",
            "../jwt/expiry-and-revocation.md",
            "access-after-ban",
        ),
        lab_row(
            "Refresh token used twice",
            "../jwt/refreshing.md",
            "refresh-reuse-after-rotation",
        ),
        many_servers_row(
            "A second server accepts the login",
            |m| &m.second_server,
            "the credential sent to the second server; \
                `many_servers::with_redis_every_server_knows_every_session`",
        ),
        many_servers_row(
            "The login survives a restart",
            |m| &m.after_restart,
            "the credential sent to the first server restarted; \
                `many_servers::a_restarted_server_forgets_memory_sessions_but_not_redis_ones`",
        ),
        lab_row(
            "Another site forges a write (CSRF)",
            "../sessions/attacks.md",
            "csrf-form-post",
        ),
        lab_row(
            "Another site posts to `/refresh`",
            "../browser/hybrid.md",
            "csrf-refresh",
        ),
        lab_row(
            "Injected script reads the credential",
            "../browser/where-to-keep-it.md",
            "xss-reads-credential",
        ),
        lab_row(
            "Injected script acts as the user",
            "../browser/where-to-keep-it.md",
            "xss-session-riding",
        ),
        Row {
            label: "Stolen cookie or access token, used elsewhere",
            chapter: "../attacks/threats.md",
            cells: per_column(&|column, m| {
                let ends_at_logout =
                    matches!(m.attacks["access-after-logout"], Outcome::Refused(_));
                let until = if ends_at_logout { "until logout, " } else { "" };
                match (attack_cell(m, "credential-replayed-elsewhere"), column) {
                    ("**risk**", Column::SessionsMemory | Column::SessionsRedis) => format!(
                        "**risk**: works {until}≤ {} idle, ≤ {}",
                        spoken(m.lifetime.access),
                        spoken(m.lifetime.login)
                    ),
                    ("**risk**", _) => {
                        format!("**risk**: works {until}≤ {}", spoken(m.lifetime.access))
                    }
                    (other, _) => other.to_owned(),
                }
            }),
            evidence: "lab: `credential-replayed-elsewhere`".to_owned(),
        },
        Row {
            label: "Forged or tampered credentials",
            chapter: "../attacks/jwt.md",
            cells: per_column(&|_, m| forgeries(m)),
            evidence: "lab: every attack of the JWT and Sessions families that applies to the mode"
                .to_owned(),
        },
    ]
}

/// What a login keeps in the column's store, in bytes, from the measurement
/// of a million of each (`examples/cafe/measurements/memory-per-login.md`):
/// a session record, or a refresh family, whichever the login was seen to
/// create; with a denylist, each logout adds an entry until its token expires.
fn memory_per_login(column: Column, measured: &Measured) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("measurements/memory-per-login.md");
    let store = if column.in_redis() { "Redis" } else { "memory" };
    let bytes = |state: &str| table_row(&path, &[store, state])[2].clone();
    let record = if measured.stored_at_login.contains(&"sessions.create") {
        "a session record (and its user index)"
    } else {
        "a refresh family (and its user index)"
    };
    let mut cell = format!("{} B", bytes(record));
    if column == Column::JwtChecked {
        cell.push_str(&format!(
            ", + {} B per logout until its token expires",
            bytes("a denylist entry")
        ));
    }
    cell
}

/// The forgery families of the lab, counted: how many applied, how many
/// were refused.
fn forgeries(measured: &Measured) -> String {
    let forgery_families = [attack_lab::Family::Jwt, attack_lab::Family::Sessions];
    let mut applied = 0;
    let mut refused = 0;
    for attack in catalogue() {
        if !forgery_families.contains(&attack.family) {
            continue;
        }
        match attack_cell(measured, attack.name) {
            "refused" => {
                applied += 1;
                refused += 1;
            }
            "—" => {}
            _ => applied += 1,
        }
    }
    if refused == applied {
        format!("all {applied} refused")
    } else {
        format!("**{} of {applied} work**", applied - refused)
    }
}

/// The table, then where each row comes from (a seventh column would not
/// fit a page).
fn table(measured: &[Measured]) -> String {
    let rows = rows(measured);
    let mut table = String::from("| | ");
    table.push_str(&COLUMNS.map(Column::title).join(" | "));
    table.push_str(" |\n| --- |");
    table.push_str(&" --- |".repeat(COLUMNS.len()));
    table.push('\n');
    for row in &rows {
        table.push_str(&format!(
            "| [{}]({}) | {} |\n",
            row.label,
            row.chapter,
            row.cells.join(" | ")
        ));
    }
    table.push_str("\nThe columns, as `cafe serve` runs them:\n\n");
    for column in COLUMNS {
        table.push_str(&format!(
            "- **{}**: `cafe serve {}`\n",
            column.title(),
            column.flags()
        ));
    }
    table.push_str("\nWhere each row comes from:\n\n");
    for row in &rows {
        table.push_str(&format!("- {}: {}\n", row.label, row.evidence));
    }
    table
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
    check_generated(&path, &format!("{notice}{}", table(&measured)));
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
