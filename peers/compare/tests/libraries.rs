//! The libraries table: the café in its three modes and each peer server,
//! as its docs leave it and hardened, served in this process on loopback
//! and measured the same way over real HTTP: every conformance check and
//! then every lab attack, through each server's own target profile file
//! (its target replaced by the address it is served on), as
//! `attack-lab all --profile FILE` runs them.
//!
//! ```console
//! $ UPDATE_TRANSCRIPTS=1 cargo test -p peer-compare --test libraries
//! ```
//!
//! rewrites `book/verdict/libraries-table.md` (the table) and
//! `book/verdict/libraries-skips.md` (every cell that needs a reason: the
//! skipped ones, what each wrong answer, failed check and accepted
//! attack was, the refusals only the browser's CORS preflight makes, and
//! the lockouts refused only because nothing slowed anyone);
//! without `UPDATE_TRANSCRIPTS` a difference fails the test.
//!
//! The café's columns must agree with the café's own table
//! (`book/attacks/results.md`, which `cargo test -p cafe --test api
//! attack_lab` writes and checks): a cell is **risk** where that table
//! expects the mode to let the attack through by design, and any other
//! difference fails, but for an attack skipped here because no server
//! gives this lab its clock.

use attack_lab::conformance::{self, CheckOutcome, CheckResult};
use attack_lab::{Lab, LabResult, Outcome, Profile, ServerError, WorkCounter, catalogue};
use cafe::store::Stores;
use cafe::{AuthMode, Config};
use cafe_client::launch::{LaunchError, RedisServer};
use jwt::keys::{KeyRing, SigningAlgorithm, SigningKey};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The HS256 secret of every token server in the table, which the lab
/// holds too, as a key holder could.
const SECRET: &[u8] = b"the libraries table's HS256 secret, 32+ bytes";

/// What serves a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Server {
    /// The café in this mode: two servers on one in-memory store, as the
    /// café's own table runs it.
    Cafe(AuthMode),
    /// `peers/axum-login`: one server with tower-sessions' memory store, or
    /// two on one real `redis-server`.
    AxumLogin { hardened: bool, redis: bool },
    /// `peers/axum-jwt-auth`: one server.
    AxumJwtAuth { hardened: bool },
}

/// One column of the table.
struct Column {
    /// Its heading.
    title: &'static str,
    server: Server,
    /// Its profile file, from the workspace's root.
    profile: &'static str,
}

const COLUMNS: [Column; 8] = [
    Column {
        title: "café sessions",
        server: Server::Cafe(AuthMode::Sessions),
        profile: "examples/cafe/profile.toml",
    },
    Column {
        title: "café JWT",
        server: Server::Cafe(AuthMode::Jwt),
        profile: "examples/cafe/profile.toml",
    },
    Column {
        title: "café hybrid",
        server: Server::Cafe(AuthMode::Hybrid),
        profile: "examples/cafe/profile.toml",
    },
    Column {
        title: "axum-login",
        server: Server::AxumLogin {
            hardened: false,
            redis: false,
        },
        profile: "peers/axum-login/profile.toml",
    },
    Column {
        title: "axum-login hardened",
        server: Server::AxumLogin {
            hardened: true,
            redis: false,
        },
        profile: "peers/axum-login/profile-hardened.toml",
    },
    Column {
        title: "axum-login hardened, Redis",
        server: Server::AxumLogin {
            hardened: true,
            redis: true,
        },
        profile: "peers/axum-login/profile-hardened.toml",
    },
    Column {
        title: "axum-jwt-auth",
        server: Server::AxumJwtAuth { hardened: false },
        profile: "peers/axum-jwt-auth/profile.toml",
    },
    Column {
        title: "axum-jwt-auth hardened",
        server: Server::AxumJwtAuth { hardened: true },
        profile: "peers/axum-jwt-auth/profile-hardened.toml",
    },
];

impl Column {
    /// The heading of this column in the café's own table, for the café's
    /// columns.
    fn cafe_heading(&self) -> Option<&'static str> {
        match self.server {
            Server::Cafe(AuthMode::Sessions) => Some("sessions"),
            Server::Cafe(AuthMode::Jwt) => Some("JWT"),
            Server::Cafe(AuthMode::Hybrid) => Some("hybrid"),
            _ => None,
        }
    }

    /// The café's column with the same mechanism: a session cookie for
    /// axum-login, bearer tokens with nothing looked up per request for
    /// axum-jwt-auth. What that column lets through by design (its risks)
    /// is a risk of the mechanism in a peer too, not a gap of the library.
    fn mechanism_heading(&self) -> &'static str {
        match self.server {
            Server::Cafe(_) => self.cafe_heading().unwrap_or("sessions"),
            Server::AxumLogin { .. } => "sessions",
            Server::AxumJwtAuth { .. } => "JWT",
        }
    }

    fn needs_redis(&self) -> bool {
        matches!(self.server, Server::AxumLogin { redis: true, .. })
    }
}

/// The workspace's root.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A listener on a free loopback port, and its `http://` address.
async fn bind() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    (listener, address)
}

/// A café of `auth` signing with [`SECRET`] on `stores`.
fn cafe_config(auth: AuthMode, stores: Stores) -> Config {
    let mut config = Config::new(auth);
    let key = SigningKey::hs256(SigningAlgorithm::Hs256.first_key_id(), SECRET).unwrap();
    config.jwt_keys = KeyRing::new(key);
    config.stores = stores;
    config
}

/// A served column: its address, a second server's on the same store
/// where the column has one, and the count of passwords the first server
/// has checked, which the lab reads to count the timing attack's work.
struct Served {
    address: String,
    second: Option<String>,
    hashes: WorkCounter,
}

/// Serves `server` in this runtime.
async fn serve(server: Server, redis: Option<&RedisServer>) -> Served {
    match server {
        Server::Cafe(auth) => {
            let stores = Stores::in_memory();
            let (first, address) = bind().await;
            let (second, second_address) = bind().await;
            let config = cafe_config(auth, stores.clone());
            let passwords = std::sync::Arc::clone(&config.passwords);
            tokio::spawn(cafe::serve(first, config));
            tokio::spawn(cafe::serve(second, cafe_config(auth, stores)));
            Served {
                address,
                second: Some(second_address),
                hashes: std::sync::Arc::new(move || passwords.verifications()),
            }
        }
        Server::AxumLogin {
            hardened,
            redis: on_redis,
        } => {
            use peer_axum_login::{PeerConfig, SessionStoreChoice};
            let store = match (on_redis, redis) {
                (true, Some(redis)) => SessionStoreChoice::Redis { url: redis.url() },
                (true, None) => panic!("the Redis column needs a redis-server"),
                (false, _) => SessionStoreChoice::Memory,
            };
            let config = || match hardened {
                true => PeerConfig::hardened(store.clone()),
                false => PeerConfig::docs_default(store.clone()),
            };
            let (listener, address) = bind().await;
            let (app, backend) = peer_axum_login::app_and_backend(config()).await.unwrap();
            tokio::spawn(peer_axum_login::serve(listener, app));
            let hashes: WorkCounter = std::sync::Arc::new(move || backend.verifications());
            if !on_redis {
                return Served {
                    address,
                    second: None,
                    hashes,
                };
            }
            let (listener, second) = bind().await;
            let app = peer_axum_login::app(config()).await.unwrap();
            tokio::spawn(peer_axum_login::serve(listener, app));
            Served {
                address,
                second: Some(second),
                hashes,
            }
        }
        Server::AxumJwtAuth { hardened } => {
            let config = peer_axum_jwt_auth::PeerConfig::new(hardened, SECRET.to_vec()).unwrap();
            let accounts =
                std::sync::Arc::new(peer_axum_jwt_auth::accounts::Accounts::demo(hardened));
            let app =
                peer_axum_jwt_auth::app_with_accounts(config, std::sync::Arc::clone(&accounts));
            let (listener, address) = bind().await;
            tokio::spawn(peer_axum_jwt_auth::serve(listener, app));
            Served {
                address,
                second: None,
                hashes: std::sync::Arc::new(move || accounts.verifications()),
            }
        }
    }
}

/// What one column's run gave.
struct Measured {
    /// Each check's result, in `conformance::checks()` order.
    checks: Vec<CheckResult>,
    /// Each attack's result, in `catalogue()` order, with the server error
    /// it met, if it met one.
    attacks: Vec<(LabResult, Option<ServerError>)>,
    /// Requests the lab sent.
    requests: u64,
    took: Duration,
    /// The address the column was served on, and the profile file's own
    /// target, which the generated files show instead.
    served_at: String,
    profile_target: String,
}

/// Serves `column` and runs every check and then every attack against it,
/// as `attack-lab all --profile FILE --target ADDRESS` does.
async fn measure(column: &Column, redis: Option<&RedisServer>) -> Measured {
    let started = Instant::now();
    let Served {
        address: target,
        second,
        hashes,
    } = serve(column.server, redis).await;
    let profile = Profile::load(&workspace().join(column.profile)).unwrap();
    let profile_target = profile.target.clone();
    let mut lab = Lab::connect_with(&profile, Some(&target))
        .await
        .unwrap_or_else(|error| panic!("{}: {error}", column.title))
        .with_work_counter(hashes);
    if let Some(second) = &second {
        lab = lab.with_second_target(second).unwrap();
    }
    if lab.server().uses_tokens() {
        // Under the `kid` the server's own tokens name, as the lab's
        // `--jwt-secret-file` does.
        let kid = lab
            .issued_header()
            .and_then(|header| header["kid"].as_str())
            .unwrap_or_default()
            .to_owned();
        lab = lab.with_signing_key(SigningKey::hs256(&kid, SECRET).unwrap());
    }
    let mut checks = Vec::new();
    for check in conformance::checks() {
        checks.push(conformance::run_check(&lab, &check).await);
        lab.take_exchanges();
    }
    let mut attacks = Vec::new();
    for attack in catalogue() {
        let result = lab.run(&attack).await;
        attacks.push((result, lab.take_server_error()));
        lab.take_exchanges();
    }
    Measured {
        checks,
        attacks,
        requests: lab.requests_sent(),
        took: started.elapsed(),
        served_at: target,
        profile_target,
    }
}

/// The café's own table: `(attack, heading) -> cell`.
fn cafe_table() -> BTreeMap<(String, String), String> {
    let text = std::fs::read_to_string(workspace().join("book/attacks/results.md")).unwrap();
    let split = |line: &str| -> Vec<String> {
        line.trim()
            .trim_matches('|')
            .split('|')
            .map(|cell| cell.trim().trim_matches('`').to_owned())
            .collect()
    };
    let headings = text
        .lines()
        .find(|line| line.starts_with("| attack |"))
        .map(split)
        .expect("the café's table has a heading row");
    let mut cells = BTreeMap::new();
    for line in text.lines().filter(|line| line.starts_with("| `")) {
        let row = split(line);
        for (heading, cell) in headings.iter().zip(&row).skip(1) {
            cells.insert((row[0].clone(), heading.clone()), cell.clone());
        }
    }
    cells
}

/// The status a wrong answer carried: a server error's, as the lab
/// recorded it, or else the status the lab's `judge` words ("expected
/// [401], got 404 …").
fn wrong_status(error: &str, server_error: Option<&ServerError>) -> Option<String> {
    match server_error {
        Some(server_error) => Some(server_error.status.to_string()),
        None => status_in(error).map(str::to_owned),
    }
}

/// The first status in `error`'s words.
fn status_in(error: &str) -> Option<&str> {
    error.split([' ', '(', ')', ',', ':']).find(|word| {
        word.len() == 3 && word.bytes().all(|b| b.is_ascii_digit()) && ("100".."600").contains(word)
    })
}

/// `text` as the generated files show it: the served address as the
/// profile's own target, and a time the lab measured (the timing attack's
/// `14.5ms`), which no two runs share, as `<time>`.
fn shown(text: &str, measured: &Measured) -> String {
    let text = text.replace(&measured.served_at, &measured.profile_target);
    let is_time = |word: &str| {
        let number = ["ns", "µs", "ms", "s"]
            .iter()
            .find_map(|unit| word.strip_suffix(unit));
        number.is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit() || c == '.'))
    };
    text.split(' ')
        .map(|word| {
            let bare = word.trim_end_matches([',', ';']);
            if is_time(bare) {
                word.replace(bare, "<time>")
            } else {
                word.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// One column's cells (checks, then attacks) and the notes that explain
/// the cells that need a reason.
struct Rendered {
    cells: Vec<String>,
    notes: String,
}

/// A note's line: `- name: what`.
fn note(notes: &mut BTreeMap<&'static str, Vec<String>>, kind: &'static str, line: String) {
    notes.entry(kind).or_default().push(line);
}

/// The cells of `column` from what it measured. A café column must agree
/// with the café's own table, and an error there fails the test; a
/// peer's error is a finding (`wrong answer`).
fn render(
    column: &Column,
    measured: &Measured,
    cafe: &BTreeMap<(String, String), String>,
) -> Rendered {
    let checks = conformance::checks();
    let attacks = catalogue();
    assert_eq!(measured.checks.len(), checks.len(), "{}", column.title);
    assert_eq!(measured.attacks.len(), attacks.len(), "{}", column.title);
    let mut cells = Vec::new();
    let mut notes: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let mut skipped: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (check, result) in checks.iter().zip(&measured.checks) {
        let name = check.name;
        let cell = match result {
            Ok(CheckOutcome::Holds(_)) => "holds".to_owned(),
            Ok(CheckOutcome::Fails(what)) => {
                note(
                    &mut notes,
                    "fails",
                    format!("{name}: {}", shown(what, measured)),
                );
                "fails".to_owned()
            }
            Ok(CheckOutcome::Skipped(why)) if why.starts_with("not applicable") => "—".to_owned(),
            Ok(CheckOutcome::Skipped(why)) => {
                skipped
                    .entry(why.clone())
                    .or_default()
                    .push(name.to_owned());
                "skipped".to_owned()
            }
            Err(error) if column.cafe_heading().is_none() => {
                let error = shown(error, measured);
                note(
                    &mut notes,
                    "fails",
                    format!("{name}: could not finish: {error}"),
                );
                "fails".to_owned()
            }
            Err(error) => panic!("{name} against {}: {error}", column.title),
        };
        cells.push(cell);
    }
    for (attack, (result, server_error)) in attacks.iter().zip(&measured.attacks) {
        let name = attack.name;
        let cell = match result {
            Ok(Outcome::Refused(how)) => {
                // Refused by the browser's CORS preflight alone: the server
                // itself would have taken it.
                // Or refused because nothing slowed anyone: the owner got
                // in, and the unthrottled guessing is another row's.
                if how.starts_with(attack_lab::browser::ONLY_THE_BROWSER)
                    || how.contains(attack_lab::login::NEVER_SLOWED)
                {
                    note(&mut notes, "refused", format!("`{name}`: {how}"));
                }
                "refused".to_owned()
            }
            Ok(Outcome::Accepted(what)) => {
                let what = shown(what, measured);
                let by_design = cafe
                    .get(&(name.to_owned(), column.mechanism_heading().to_owned()))
                    .is_some_and(|cell| cell == "risk");
                if column.cafe_heading().is_some() {
                    "risk".to_owned()
                } else if by_design {
                    note(&mut notes, "risk", format!("`{name}`: {what}"));
                    "risk".to_owned()
                } else {
                    note(&mut notes, "accepted", format!("`{name}`: {what}"));
                    "accepted".to_owned()
                }
            }
            Ok(Outcome::Skipped(why)) if why.starts_with("not applicable") => "—".to_owned(),
            Ok(Outcome::Skipped(why)) => {
                skipped
                    .entry(why.clone())
                    .or_default()
                    .push(format!("`{name}`"));
                "skipped".to_owned()
            }
            Err(error) if column.cafe_heading().is_none() => {
                let error = shown(error, measured);
                note(&mut notes, "wrong answer", format!("`{name}`: {error}"));
                match wrong_status(&error, server_error.as_ref()) {
                    Some(status) => format!("wrong answer ({status})"),
                    None => "wrong answer".to_owned(),
                }
            }
            Err(error) => panic!("{name} against {}: {error}", column.title),
        };
        if let Some(heading) = column.cafe_heading() {
            let expected = &cafe[&(name.to_owned(), heading.to_owned())];
            // The café's table runs the café on a clock it moves; no
            // server gives this lab its clock, and that is the only reason
            // a café cell may be skipped here.
            let for_the_clock = matches!(
                result,
                Ok(Outcome::Skipped(why)) if why.starts_with(NEEDS_THE_CLOCK)
            );
            let agrees = cell == *expected || (for_the_clock && expected != "—");
            assert!(
                agrees,
                "{name} against {}: {cell} here, {expected} in the café's own table \
                 (book/attacks/results.md): {result:?}",
                column.title
            );
            // A risk is the café's by design, so an accepted attack must be
            // one the café's table marks risk (asserted just above).
        }
        cells.push(cell);
    }
    let mut text = format!("**{}** (`{}`)\n\n", column.title, column.profile);
    let mut lines = Vec::new();
    for (why, names) in &skipped {
        lines.push(format!("- skipped, {why}: {}", names.join(", ")));
    }
    for (kind, found) in &notes {
        for line in found {
            lines.push(format!("- {kind}: {line}"));
        }
    }
    if lines.is_empty() {
        lines.push("- every cell is refused, risk, holds or —".to_owned());
    }
    text.push_str(&lines.join("\n"));
    text.push('\n');
    Rendered { cells, notes: text }
}

/// The table's Markdown: checks, then attacks by family.
fn table(columns: &[&Column], rendered: &[Rendered]) -> String {
    let width = columns.len();
    let mut table = String::from("| |");
    for column in columns {
        table.push_str(&format!(" {} |", column.title));
    }
    table.push_str("\n| --- |");
    table.push_str(&" :---: |".repeat(width));
    table.push('\n');
    let group = |title: &str| format!("| **{title}** |{}\n", " |".repeat(width));
    let row = |name: String, index: usize| {
        let cells: Vec<&str> = rendered.iter().map(|r| r.cells[index].as_str()).collect();
        format!("| {name} | {} |\n", cells.join(" | "))
    };
    table.push_str(&group("Conformance checks"));
    let checks = conformance::checks();
    for (index, check) in checks.iter().enumerate() {
        // Plain, not in code: the book reads names in code as attacks.
        table.push_str(&row(check.name.to_owned(), index));
    }
    let mut family = None;
    for (index, attack) in catalogue().iter().enumerate() {
        if family != Some(attack.family) {
            family = Some(attack.family);
            table.push_str(&group(attack.family.title()));
        }
        table.push_str(&row(format!("`{}`", attack.name), checks.len() + index));
    }
    table
}

const NOTICE: &str = "<!-- Generated by `UPDATE_TRANSCRIPTS=1 cargo test -p peer-compare \
    --test libraries`. Do not edit: rerun it. -->\n\n";

/// How the lab words an attack skipped for want of the server's clock.
const NEEDS_THE_CLOCK: &str = "needs to move the server's clock forward";

/// What the table's first line says about how every column was measured.
const INTRO: &str = "Every column is measured the same way: the server is served on \
    loopback and reached over HTTP through its own profile file; the lab holds the HS256 \
    secret of every token server, as a key holder could, and reads every server's count of \
    the passwords it has checked, so `login-timing-enumeration` counts the work an unknown \
    name and a wrong password cost instead of timing them; no server gives the lab its \
    clock, so the attacks that need it are skipped in every column. The café's columns and \
    the Redis column are two servers on one store; the others are one server. The \
    conformance checks run first, then the attacks, as `attack-lab all` runs them.\n\n";

/// Writes `actual` to `path` under `UPDATE_TRANSCRIPTS`; otherwise fails
/// unless `path` holds exactly `actual`.
fn check_generated(path: &Path, actual: &str) {
    if std::env::var_os("UPDATE_TRANSCRIPTS").is_some() {
        std::fs::write(path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_else(|_| {
        panic!(
            "{} is missing: run UPDATE_TRANSCRIPTS=1 cargo test -p peer-compare",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "{} is out of date; rerun with UPDATE_TRANSCRIPTS=1 and review the diff.\n--- \
         expected\n{expected}\n--- actual\n{actual}",
        path.display()
    );
}

/// A `redis-server` for the Redis column, or `None` after saying why
/// when none is installed and `REQUIRE_REDIS` is not set.
fn redis() -> Option<RedisServer> {
    match RedisServer::start() {
        Ok(redis) => Some(redis),
        Err(LaunchError::NotInstalled(how)) => {
            assert!(
                std::env::var_os("REQUIRE_REDIS").is_none(),
                "REQUIRE_REDIS is set but {how}"
            );
            eprintln!(
                "{how}: the Redis column is left as the table has it \
                 (or set REQUIRE_REDIS=1 to fail instead)"
            );
            None
        }
        Err(error) => panic!("{error}"),
    }
}

/// The cells and notes of `column` as the generated files already have
/// them: for the Redis column when no `redis-server` can run it.
fn as_generated(index: usize, column: &Column) -> Rendered {
    assert!(
        std::env::var_os("UPDATE_TRANSCRIPTS").is_none(),
        "rewriting the table needs redis-server, for the {} column",
        column.title
    );
    let read = |file: &str| std::fs::read_to_string(workspace().join(file)).unwrap_or_default();
    let cells = read("book/verdict/libraries-table.md")
        .lines()
        .skip_while(|line| !line.starts_with("| --- |"))
        .skip(1)
        .filter(|line| !line.starts_with("| **"))
        .map(|line| {
            line.trim_matches('|')
                .split(" | ")
                .nth(index + 1)
                .unwrap_or_default()
                .trim()
                .to_owned()
        })
        .collect();
    let notes = read("book/verdict/libraries-skips.md");
    let start = notes
        .find(&format!("**{}** (", column.title))
        .unwrap_or(notes.len());
    let end = notes[start..]
        .find("\n\n**")
        .map_or(notes.len(), |end| start + end + 1);
    Rendered {
        cells,
        notes: notes[start..end].to_owned(),
    }
}

// ANCHOR: libraries
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_check_and_attack_against_every_library() {
    let started = Instant::now();
    let redis = redis();
    let cafe = cafe_table();
    let columns: Vec<&Column> = COLUMNS.iter().collect();
    let mut rendered = Vec::new();
    for (index, column) in columns.iter().enumerate() {
        if column.needs_redis() && redis.is_none() {
            rendered.push(as_generated(index, column));
            continue;
        }
        let measured = measure(column, redis.as_ref()).await;
        assert!(measured.requests > 0, "{}: no request sent", column.title);
        eprintln!(
            "{}: {} checks, {} attacks, {} requests, {:.1?}",
            column.title,
            measured.checks.len(),
            measured.attacks.len(),
            measured.requests,
            measured.took
        );
        rendered.push(render(column, &measured, &cafe));
    }
    let rows = conformance::checks().len() + catalogue().len();
    for (column, rendered) in columns.iter().zip(&rendered) {
        assert_eq!(rendered.cells.len(), rows, "{}", column.title);
    }
    let verdict = workspace().join("book/verdict");
    let table = table(&columns, &rendered);
    check_generated(
        &verdict.join("libraries-table.md"),
        &format!("{NOTICE}{INTRO}{table}"),
    );
    let notes: Vec<&str> = rendered.iter().map(|r| r.notes.as_str()).collect();
    check_generated(
        &verdict.join("libraries-skips.md"),
        &format!("{NOTICE}{}", notes.join("\n")),
    );
    eprintln!("the whole table: {:.1?}", started.elapsed());
}
// ANCHOR_END: libraries
