//! Every command *Which should I choose?* recommends, run against the rules
//! its Security call-outs state: each `$ cafe serve …` line of the
//! chapter's console blocks is parsed by `cafe serve`'s own flags, built
//! into the configuration `cafe serve` would run ([`cafe::cli::serve_config`]),
//! started, and attacked by every lab attack whose rule is one of the ASVS
//! requirements the call-outs cite. Each must be refused, with no
//! exception: every token command checks the denylist, which names a
//! login, so even a login ended from another device loses its access
//! tokens at once.

use crate::redis_server::RedisServer;
use crate::support::{Mode, opening_time, spawn_configured};
use attack_lab::{Attack, Lab, Outcome, catalogue};
use cafe::AuthMode;
use cafe::cli::{ServeArgs, serve_config};
use cafe::clock::ManualClock;
use clap::{Args, FromArgMatches};
use std::path::PathBuf;
use std::sync::Arc;

/// The chapter whose commands are run.
const CHAPTER: &str = "book/verdict/choose.md";

/// The chapter's text.
pub(crate) fn chapter() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(CHAPTER);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `$ cafe serve …` command in the chapter's `console` blocks, as its
/// words after `cafe serve` (a line ending in `\` continues on the next).
fn recommended_commands(chapter: &str) -> Vec<Vec<String>> {
    let mut commands = Vec::new();
    let mut in_console = false;
    let mut command: Option<String> = None;
    for line in chapter.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            in_console = trimmed == "```console";
            continue;
        }
        if !in_console {
            continue;
        }
        let text = match command.take() {
            Some(started) => started + " " + trimmed,
            None => match trimmed.strip_prefix("$ cafe serve") {
                Some(rest) => rest.to_owned(),
                None => continue,
            },
        };
        match text.strip_suffix('\\') {
            Some(continued) => command = Some(continued.to_owned()),
            None => {
                assert!(
                    !text.contains(['\'', '"', '$', '`', '|', '>', '<']),
                    "a command the test cannot split into words: {text}"
                );
                commands.push(text.split_whitespace().map(str::to_owned).collect());
            }
        }
    }
    commands
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

/// Starts `cafe serve <words>` in-process, on a clock the lab can move,
/// and runs `attacks` against it: `None` (after saying why) when it needs
/// Redis and there is none.
pub(crate) async fn attack(words: &[String], attacks: &[Attack]) -> Option<Run> {
    let command = format!("cafe serve {}", words.join(" "));
    let redis = if words.windows(2).any(|pair| pair == ["--store", "redis"]) {
        match RedisServer::start() {
            Some(redis) => Some(redis),
            None => {
                eprintln!("{command}: skipped, no redis-server to run it on");
                return None;
            }
        }
    } else {
        None
    };
    let config = configured(words, redis.as_ref().map(|redis| redis.url()).as_deref()).await;
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
    Some(run)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_the_verdict_recommends_keeps_the_rules_its_warning_states() {
    let chapter = chapter();
    let commands = recommended_commands(&chapter);
    assert_eq!(
        commands.len(),
        3,
        "{CHAPTER} recommends {} `cafe serve` commands: {commands:?}",
        commands.len()
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
    for words in &commands {
        let command = format!("cafe serve {}", words.join(" "));
        let Some(run) = attack(words, &attacks).await else {
            skipped += 1;
            continue;
        };
        // Sessions: the three attacks on a credential after its login
        // ended, the login ended elsewhere and the guessing. A token mode:
        // those four and the three on the refresh token, the nine on the
        // algorithm and the key, and no session ID to guess. Every one
        // refused.
        let (ran, refused) = match run.auth {
            AuthMode::Sessions => (5, 5),
            AuthMode::Jwt | AuthMode::Hybrid => (16, 16),
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
