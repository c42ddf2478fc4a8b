//! Every command *Which should I choose?* recommends, run against the rules
//! its Security call-outs state: each `$` line of the chapter's console
//! blocks is run as printed. A `redis-server … &` line starts that server
//! (on a free port instead of the one it names, which must be the one the
//! café's commands reach); each `cargo run -p cafe -- serve …` line is
//! parsed by `cafe serve`'s own flags, built into the configuration the
//! command would run ([`cafe::cli::serve_config`]), started, and attacked
//! by every lab attack whose rule is one of the ASVS requirements the
//! call-outs cite. Each must be refused, with no exception: every token
//! command checks the denylist, which names a login, so even a login ended
//! from another device loses its access tokens at once. A line the test
//! cannot run fails it.

use crate::support::{Mode, opening_time, spawn_configured};
use attack_lab::{Attack, Lab, Outcome, catalogue};
use cafe::AuthMode;
use cafe::cli::{ServeArgs, serve_config};
use cafe::clock::ManualClock;
use cafe_client::launch;
use clap::{Args, FromArgMatches};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

/// The chapter whose commands are run.
const CHAPTER: &str = "book/verdict/choose.md";

/// How the book runs the café, before `serve`'s flags: from a clone of the
/// repository, as every chapter prints it.
pub(crate) const CAFE_SERVE: &str = "cargo run -p cafe -- serve";

/// The chapter's text.
pub(crate) fn chapter() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(CHAPTER);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `$` line of `chapter`'s `console` blocks, in order, without its
/// `$ ` (a line ending in `\` continues on the next).
pub(crate) fn console_commands(chapter: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut in_console = false;
    let mut started: Option<String> = None;
    for line in chapter.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            in_console = trimmed == "```console";
            continue;
        }
        let text = match started.take() {
            Some(head) => head + " " + trimmed,
            None => match trimmed.strip_prefix("$ ") {
                Some(command) if in_console => command.to_owned(),
                _ => continue,
            },
        };
        match text.strip_suffix('\\') {
            Some(head) => started = Some(head.trim_end().to_owned()),
            None => commands.push(text),
        }
    }
    commands
}

/// `command`'s words as the shell splits them. A word in single quotes
/// (`''`, `'^=='`) loses them; any other character that makes the shell
/// do more than split words fails, so a command the test would run
/// differently from a shell is never run at all.
pub(crate) fn shell_words(command: &str) -> Vec<String> {
    command
        .split_whitespace()
        .map(|word| {
            if let Some(quoted) = word.strip_prefix('\'').and_then(|w| w.strip_suffix('\''))
                && !quoted.contains('\'')
            {
                return quoted.to_owned();
            }
            assert!(
                word.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@+%".contains(c)),
                "a command the test cannot split into words: {command}"
            );
            word.to_owned()
        })
        .collect()
}

/// The flags of a `cargo run -p cafe -- serve …` command, or `None` for
/// another command.
pub(crate) fn serve_flags(command: &str) -> Option<Vec<String>> {
    let flags = command.strip_prefix(CAFE_SERVE)?.strip_prefix(' ')?;
    Some(shell_words(flags))
}

/// The value of `--name` in `words`.
pub(crate) fn flag<'a>(words: &'a [String], name: &str) -> Option<&'a str> {
    let at = words.iter().position(|word| word == name)?;
    words.get(at + 1).map(String::as_str)
}

/// The loopback port the café's `serve <flags>` reaches Redis on: its
/// `--redis-url`, or the flag's own default (read from `cafe serve`'s flags).
fn cafe_redis_port(flags: &[String]) -> u16 {
    let serve = ServeArgs::augment_args(clap::Command::new("serve"));
    let default = serve
        .get_arguments()
        .find(|arg| arg.get_long() == Some("redis-url"))
        .and_then(|arg| arg.get_default_values().first())
        .and_then(|value| value.to_str())
        .expect("--redis-url has a default")
        .to_owned();
    let url = flag(flags, "--redis-url").unwrap_or(&default);
    let address = url
        .strip_prefix("redis://")
        .unwrap_or_else(|| panic!("{url}: not a redis:// URL"));
    let (host, port) = address
        .rsplit_once(':')
        .unwrap_or_else(|| panic!("{url}: no port"));
    assert!(
        ["127.0.0.1", "localhost"].contains(&host),
        "{url}: the page's Redis runs on this machine"
    );
    port.parse().unwrap_or_else(|_| panic!("{url}: not a port"))
}

/// A chapter's `redis-server … &` line, started as printed: the same
/// arguments, with its `--port` moved to a free one so that tests can run
/// side by side (the café's `--redis-url` is moved to match). Stopped when
/// dropped.
pub(crate) struct PrintedRedis {
    child: Child,
    /// The port the printed command listens on.
    printed_port: u16,
    /// The port it was started on.
    port: u16,
}

impl PrintedRedis {
    /// The arguments of a `redis-server … &` line, or `None` for another
    /// command.
    pub(crate) fn parse(command: &str) -> Option<Vec<String>> {
        let args = command.strip_prefix("redis-server ")?.strip_suffix(" &")?;
        Some(shell_words(args))
    }

    /// Starts `redis-server <args>`, or returns `None` (after saying why)
    /// when Redis is not installed and `REQUIRE_REDIS` is not set, as
    /// every Redis test does.
    pub(crate) fn start(args: &[String]) -> Option<PrintedRedis> {
        if !launch::redis_installed() {
            assert!(
                std::env::var_os("REQUIRE_REDIS").is_none(),
                "REQUIRE_REDIS is set but redis-server is not installed"
            );
            eprintln!("redis-server is not installed: skipping (set REQUIRE_REDIS=1 to fail)");
            return None;
        }
        // Redis's own default port when the line names none.
        let printed_port = flag(args, "--port").map_or(6379, |port| {
            port.parse().unwrap_or_else(|_| panic!("--port {port}"))
        });
        // A free port may be taken before redis-server binds it: another
        // one then, as a reader would pick another after "Address in use".
        for _ in 0..3 {
            let port = launch::free_port().unwrap();
            let mut args = args.to_vec();
            match args.iter().position(|word| word == "--port") {
                Some(at) => args[at + 1] = port.to_string(),
                None => args.extend(["--port".to_owned(), port.to_string()]),
            }
            let child = Command::new("redis-server")
                .args(&args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("redis-server {}: {e}", args.join(" ")));
            let mut redis = PrintedRedis {
                child,
                printed_port,
                port,
            };
            // Listening, and still running: the port is this server's.
            if launch::wait_for_port(port, Duration::from_secs(10)).is_ok()
                && matches!(redis.child.try_wait(), Ok(None))
            {
                return Some(redis);
            }
        }
        panic!(
            "redis-server {}: not listening, three times",
            args.join(" ")
        );
    }

    /// `redis://127.0.0.1:PORT`, where it was started.
    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Checks that the café's `serve <flags>`, as printed, reaches this
    /// Redis as printed.
    pub(crate) fn check_reached_by(&self, flags: &[String]) {
        assert_eq!(
            cafe_redis_port(flags),
            self.printed_port,
            "{CAFE_SERVE} {}: not the port the printed redis-server listens on",
            flags.join(" ")
        );
    }
}

impl Drop for PrintedRedis {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// What `CHAPTER` asks a reader to run, in order.
enum Recommended {
    /// `redis-server …`: its arguments.
    Redis(Vec<String>),
    /// `cargo run -p cafe -- serve …`: its flags.
    Serve(Vec<String>),
}

/// Every `$` line of the chapter's console blocks. A line the test cannot
/// run fails.
fn recommended_commands(chapter: &str) -> Vec<Recommended> {
    console_commands(chapter)
        .iter()
        .map(|command| {
            if let Some(args) = PrintedRedis::parse(command) {
                Recommended::Redis(args)
            } else if let Some(flags) = serve_flags(command) {
                Recommended::Serve(flags)
            } else {
                panic!("{CHAPTER}: a command this test does not know how to run: {command}")
            }
        })
        .collect()
}
/// The text of the chapter's Security call-outs (`> [!WARNING]`).
pub(crate) fn security_callouts(chapter: &str) -> String {
    let mut text = String::new();
    let mut inside = false;
    for line in chapter.lines() {
        if line.trim() == "> [!WARNING]" {
            inside = true;
        } else if inside && line.starts_with('>') {
            text.push_str(line.trim_start_matches('>').trim());
            text.push(' ');
        } else {
            inside = false;
        }
    }
    text
}

/// The ASVS requirement numbers (`7.4.1`) in `text`: three numbers joined
/// by dots, not a section sign's (`§4.14.2`).
pub(crate) fn requirements(text: &str) -> Vec<String> {
    let mut found: Vec<String> = text
        .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '§'))
        .map(|word| word.trim_end_matches('.'))
        .filter(|word| {
            let parts: Vec<&str> = word.split('.').collect();
            parts.len() == 3 && parts.iter().all(|part| !part.is_empty())
        })
        .map(str::to_owned)
        .collect();
    found.sort();
    found.dedup();
    found
}

/// The ASVS requirements an attack's rule cites: the numbers in the parts
/// of its source that are ASVS's.
fn attack_requirements(attack: &Attack) -> Vec<String> {
    attack
        .source
        .split(';')
        .filter(|part| part.trim().starts_with("ASVS"))
        .flat_map(requirements)
        .collect()
}

/// The configuration `cafe serve <words>` runs, with `--redis-url` pointed
/// at `redis_url` when the command uses Redis.
pub(crate) async fn configured(words: &[String], redis_url: Option<&str>) -> cafe::Config {
    let mut words = words.to_vec();
    if let Some(url) = redis_url {
        match words.iter().position(|word| word == "--redis-url") {
            Some(flag) => words[flag + 1] = url.to_owned(),
            None => words.extend(["--redis-url".to_owned(), url.to_owned()]),
        }
    }
    let serve = ServeArgs::augment_args(clap::Command::new("serve").no_binary_name(true));
    let matches = serve
        .try_get_matches_from(&words)
        .unwrap_or_else(|error| panic!("cafe serve {}: {error}", words.join(" ")));
    let args = ServeArgs::from_arg_matches(&matches).unwrap();
    let (config, _) = serve_config(args)
        .await
        .unwrap_or_else(|error| panic!("cafe serve {}: {error}", words.join(" ")));
    config
}

/// Every lab attack whose rule is one of `rules` (ASVS requirement
/// numbers).
pub(crate) fn rule_attacks(rules: &[String]) -> Vec<Attack> {
    catalogue()
        .into_iter()
        .filter(|attack| {
            attack_requirements(attack)
                .iter()
                .any(|cited| rules.contains(cited))
        })
        .collect()
}

/// How one recommended command did.
pub(crate) struct Run {
    /// The mechanism it runs.
    pub(crate) auth: AuthMode,
    /// Attacks that ran (the others mean nothing against this mechanism).
    pub(crate) ran: usize,
    /// Of those, refused.
    pub(crate) refused: usize,
    /// Every outcome that breaks a rule: the attack and what it got.
    pub(crate) broken: Vec<String>,
    /// The requirements the refused attacks cite.
    pub(crate) requirements: Vec<String>,
}

/// Starts `serve <flags>` in-process, on a clock the lab can move, with
/// `--redis-url` pointed at `redis_url` when it uses Redis, and runs
/// `attacks` against it.
pub(crate) async fn attack(flags: &[String], redis_url: Option<&str>, attacks: &[Attack]) -> Run {
    let command = format!("{CAFE_SERVE} {}", flags.join(" "));
    let uses_redis = flag(flags, "--store") == Some("redis");
    assert_eq!(
        uses_redis,
        redis_url.is_some(),
        "{command}: a Redis for exactly the commands that use one"
    );
    let config = configured(flags, redis_url).await;
    let mut run = Run {
        auth: config.auth,
        ran: 0,
        refused: 0,
        broken: Vec::new(),
        requirements: Vec::new(),
    };
    // Only the name the test reports the app under.
    let mode = match config.auth {
        AuthMode::Sessions => Mode::Sessions,
        AuthMode::Jwt => Mode::JwtChecked,
        AuthMode::Hybrid => Mode::Hybrid,
    };
    let clock = Arc::new(ManualClock::starting_at(opening_time()));
    let app = spawn_configured(mode, config, clock.clone()).await;
    let lab = Lab::connect(&app.address)
        .await
        .unwrap_or_else(|error| panic!("{command}: {error}"))
        .with_time_machine(Arc::new(move |by| clock.advance(by)));
    for attack in attacks {
        let outcome = lab
            .run(attack)
            .await
            .unwrap_or_else(|error| panic!("{command}: {}: {error}", attack.name));
        lab.take_exchanges();
        match outcome {
            Outcome::Skipped(why) if why.starts_with("not applicable") => continue,
            Outcome::Refused(_) => {
                run.refused += 1;
                run.requirements.extend(attack_requirements(attack));
            }
            other => run.broken.push(format!(
                "{} ({}) must be refused, got {other:?}",
                attack.name, attack.source
            )),
        }
        run.ran += 1;
    }
    println!(
        "{command}: {} attacks ran, {} refused, {} broke a rule",
        run.ran,
        run.refused,
        run.broken.len()
    );
    run
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_the_verdict_recommends_keeps_the_rules_its_warning_states() {
    let chapter = chapter();
    let commands = recommended_commands(&chapter);
    let serves = commands
        .iter()
        .filter(|command| matches!(command, Recommended::Serve(_)))
        .count();
    assert_eq!(
        serves, 3,
        "{CHAPTER} recommends {serves} `{CAFE_SERVE}` commands"
    );
    let warning = security_callouts(&chapter);
    let rules = requirements(&warning);
    assert_eq!(
        rules,
        ["7.2.3", "7.4.1", "7.4.2", "7.4.5", "9.1.2", "9.1.3"],
        "the ASVS requirements {CHAPTER}'s Security call-out cites"
    );
    let attacks = rule_attacks(&rules);
    let names: Vec<&str> = attacks.iter().map(|attack| attack.name).collect();
    assert_eq!(
        names,
        [
            "jwt-alg-none",
            "jwt-alg-none-spellings",
            "jwt-signed-with-attacker-key",
            "jwt-algorithm-confusion",
            "jwt-alg-swapped",
            "jwt-header-jwk",
            "jwt-header-jku",
            "jwt-header-x5u",
            "jwt-header-x5c",
            "refresh-after-logout",
            "refresh-after-logout-by-refresh-token",
            "refresh-after-ban",
            "refresh-after-logout-everywhere",
            "access-after-logout",
            "access-after-ban",
            "access-after-logout-everywhere",
            "login-ended-elsewhere",
            "session-id-guessing",
        ],
        "the lab's attacks on the call-out's rules"
    );

    let mut broken = Vec::new();
    let mut proved = Vec::new();
    let mut skipped = 0;
    // The Redis the last `redis-server` line started: `None` before any,
    // or with none installed.
    let mut redis: Option<PrintedRedis> = None;
    for recommended in &commands {
        let flags = match recommended {
            Recommended::Redis(args) => {
                drop(redis.take());
                redis = PrintedRedis::start(args);
                if redis.is_none() {
                    skipped += 1;
                }
                continue;
            }
            Recommended::Serve(flags) => flags,
        };
        let command = format!("{CAFE_SERVE} {}", flags.join(" "));
        let redis_url = if flag(flags, "--store") == Some("redis") {
            if skipped > 0 && redis.is_none() {
                eprintln!("{command}: skipped, no redis-server to run it on");
                continue;
            }
            let started = redis.as_ref().unwrap_or_else(|| {
                panic!("{CHAPTER}: {command} comes before any `redis-server` line")
            });
            started.check_reached_by(flags);
            Some(started.url())
        } else {
            None
        };
        let run = attack(flags, redis_url.as_deref(), &attacks).await;
        // Sessions: the three attacks on a credential after its login
        // ended, the login ended elsewhere and the guessing. A token mode:
        // those four and the four on the refresh token, the nine on the
        // algorithm and the key, and no session ID to guess. Every one
        // refused.
        let (ran, refused) = match run.auth {
            AuthMode::Sessions => (5, 5),
            AuthMode::Jwt | AuthMode::Hybrid => (17, 17),
        };
        if run.broken.is_empty() {
            assert_eq!(
                (run.ran, run.refused),
                (ran, refused),
                "{command}: attacks run, refused"
            );
        }
        broken.extend(run.broken.iter().map(|what| format!("{command}: {what}")));
        proved.extend(run.requirements);
    }
    assert!(
        broken.is_empty(),
        "recommended by {CHAPTER}, yet breaking a rule its Security call-out states:\n{}",
        broken.join("\n")
    );
    // With every command run (none skipped for want of Redis), each rule
    // was proved by a refusal somewhere.
    if skipped == 0 {
        let unproved: Vec<&String> = rules.iter().filter(|rule| !proved.contains(rule)).collect();
        assert!(unproved.is_empty(), "no refused attack proves {unproved:?}");
    }
}
