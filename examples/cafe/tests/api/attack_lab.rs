//! The attack lab against every mechanism: each attack in
//! `attack_lab::catalogue()` runs against a deployment of each kind,
//! must end as this file expects (refused, unless listed as a risk the mode
//! accepts by design), and the results become the table the book shows:
//!
//! ```console
//! $ UPDATE_TRANSCRIPTS=1 cargo test -p cafe --test api attack_lab
//! ```

use crate::golden::{check_generated, check_golden};
use crate::redis_server::RedisServer;
use crate::support::{Mode, opening_time, spawn_configured};
use attack_lab::{Applies, Attack, Lab, Outcome, catalogue, show_exchange};
use cafe::clock::ManualClock;
use cafe::store::Stores;
use cafe::{AuthMode, Config};
use futures_util::future::join_all;
use jwt::RevocationChecks;
use jwt::keys::{KeyRing, SigningAlgorithm, SigningKey};
use std::path::PathBuf;
use std::sync::Arc;

const SECRET: &[u8] = b"the attack lab's HS256 secret, 32+ bytes";

/// The columns of the table: the mechanisms, as a deployment runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    /// `--auth sessions`.
    Sessions,
    /// `--auth jwt`: HS256, nothing looked up per request.
    Jwt,
    /// `--auth jwt --alg es256 --check-denylist --check-token-version`.
    JwtEs256Checked,
    /// `--auth hybrid`: HS256, 5-minute access tokens, refresh cookie.
    Hybrid,
}

const COLUMNS: [Column; 4] = [
    Column::Sessions,
    Column::Jwt,
    Column::JwtEs256Checked,
    Column::Hybrid,
];

impl Column {
    fn title(self) -> &'static str {
        match self {
            Column::Sessions => "sessions",
            Column::Jwt => "JWT",
            Column::JwtEs256Checked => "JWT ES256 + checks",
            Column::Hybrid => "hybrid",
        }
    }

    fn mode(self) -> Mode {
        match self {
            Column::Sessions => Mode::Sessions,
            Column::Jwt => Mode::Jwt,
            Column::JwtEs256Checked => Mode::JwtChecked,
            Column::Hybrid => Mode::Hybrid,
        }
    }

    /// The server's signing key, made again from the same material so the
    /// lab can hold a copy.
    fn key(self, es256_pkcs8: &[u8]) -> SigningKey {
        match self {
            Column::JwtEs256Checked => {
                SigningKey::from_pkcs8("es256-1", SigningAlgorithm::Es256, es256_pkcs8).unwrap()
            }
            _ => SigningKey::hs256("hs256-1", SECRET).unwrap(),
        }
    }

    fn config(self, es256_pkcs8: &[u8], stores: Stores) -> Config {
        let mut config = Config::new(match self {
            Column::Sessions => AuthMode::Sessions,
            Column::Jwt | Column::JwtEs256Checked => AuthMode::Jwt,
            Column::Hybrid => AuthMode::Hybrid,
        });
        config.jwt_keys = KeyRing::new(self.key(es256_pkcs8));
        if self == Column::JwtEs256Checked {
            config.revocation_checks = RevocationChecks {
                denylist: true,
                token_version: true,
            };
        }
        config.stores = stores;
        config
    }

    /// The attacks this mode lets through by design: each is a trade-off a
    /// chapter explains, not a bug.
    fn accepted_by_design(self) -> &'static [&'static str] {
        const EVERY_MODE: [&str; 2] = [
            // A script running in the page acts as the user in every mode.
            "xss-session-riding",
            // Bearer credentials work for whoever holds them.
            "credential-replayed-elsewhere",
        ];
        const SELF_CONTAINED: [&str; 8] = [
            "xss-session-riding",
            "credential-replayed-elsewhere",
            // Nothing is looked up per request, so an access token outlives
            // its logout, ban, logout-everywhere or password change until
            // it expires.
            "access-after-logout",
            "access-after-ban",
            "access-after-logout-everywhere",
            "credential-after-password-change",
            // Nothing is looked up per request, so nothing names one
            // login's access tokens.
            "login-ended-elsewhere",
            // The page's script holds the access token (and, for plain
            // JWT, the refresh token).
            "xss-reads-credential",
        ];
        match self {
            Column::Sessions => &EVERY_MODE,
            // Checked per request (the denylist names each ended login,
            // so a login ended elsewhere loses its access tokens too), but
            // its tokens are still in the page.
            Column::JwtEs256Checked => &[
                "xss-session-riding",
                "credential-replayed-elsewhere",
                "xss-reads-credential",
            ],
            Column::Jwt | Column::Hybrid => &SELF_CONTAINED,
        }
    }
}

/// Starts two servers of `column` on `stores` and one clock, as a
/// deployment runs them, and runs every attack against them in turn, as
/// `attack-lab all` does; returns the outcomes in catalogue order, and
/// with `transcribe` checks the transcripts the book shows.
async fn run_all(
    attacks: &[Attack],
    column: Column,
    es256_pkcs8: &[u8],
    stores: Stores,
    transcribe: bool,
) -> Vec<Outcome> {
    let clock = Arc::new(ManualClock::starting_at(opening_time()));
    let first = column.config(es256_pkcs8, stores.clone());
    let second = column.config(es256_pkcs8, stores);
    let app = spawn_configured(column.mode(), first, clock.clone()).await;
    let other = spawn_configured(column.mode(), second, clock.clone()).await;
    let lab = Lab::connect(&app.address)
        .await
        .unwrap()
        .with_second_target(&other.address)
        .unwrap()
        .with_signing_key(column.key(es256_pkcs8))
        .with_time_machine(Arc::new(move |by| clock.advance(by)))
        .with_work_counter(hash_counter(&app));
    let mut outcomes = Vec::new();
    for attack in attacks {
        let outcome = lab
            .run(attack)
            .await
            .unwrap_or_else(|error| panic!("{} against {column:?}: {error}", attack.name));
        let exchanges = lab.take_exchanges();
        if TRANSCRIBED.contains(&(attack.name, column)) && transcribe {
            // Redacted before the display shortens long values, so every
            // token is seen whole.
            let mut text = String::new();
            for exchange in exchanges {
                let mut exchange = exchange.clone();
                let redact = |text: &str| redacted(text, &app.address);
                exchange.request_line = redact(&exchange.request_line);
                for (_, value) in &mut exchange.request_headers {
                    *value = redact(value);
                }
                exchange.request_body = exchange.request_body.as_deref().map(redact);
                exchange.reply.text = redact(&exchange.reply.text);
                text.push_str(&show_exchange(&exchange));
            }
            text.push_str(&format!(
                "verdict: {}\n",
                redacted(&format!("{outcome:?}"), &app.address)
            ));
            check_golden(&format!("attacks/{}.txt", attack.name), &text);
        }
        outcomes.push(outcome);
    }
    outcomes
}

/// The attacks whose exchanges the book shows, and against which mode.
const TRANSCRIBED: [(&str, Column); 7] = [
    ("jwt-alg-none", Column::Jwt),
    ("jwt-algorithm-confusion", Column::JwtEs256Checked),
    ("jwt-header-jku", Column::Jwt),
    ("jwt-refresh-as-access", Column::Jwt),
    ("jwt-ecdsa-malleability", Column::JwtEs256Checked),
    ("refresh-reuse-after-rotation", Column::Hybrid),
    ("session-fixation", Column::Sessions),
];

/// `text` with what changes from run to run replaced: the server's address
/// by the book's, each JWT by its (decoded) header, which is what the
/// attacks change, and any other long random string by `<random>`.
fn redacted(text: &str, address: &str) -> String {
    let text = text.replace(address, "http://localhost:8080");
    let is_token_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.';
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(start) = rest.find(is_token_char) {
        out.push_str(&rest[..start]);
        let word_end = rest[start..]
            .find(|c: char| !is_token_char(c))
            .map_or(rest.len(), |end| start + end);
        out.push_str(&redact_word(&rest[start..word_end]));
        rest = &rest[word_end..];
    }
    out.push_str(rest);
    hide_loopback_ports(&out)
}

/// Loopback ports other than the server's (the lab's canary) change from
/// run to run: `127.0.0.1:PORT`.
fn hide_loopback_ports(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("127.0.0.1:") {
        let port_start = start + "127.0.0.1:".len();
        let port_end = rest[port_start..]
            .find(|c: char| !c.is_ascii_digit())
            .map_or(rest.len(), |end| port_start + end);
        out.push_str(&rest[..start]);
        out.push_str("127.0.0.1:PORT");
        rest = &rest[port_end..];
    }
    out.push_str(rest);
    out
}

fn redact_word(word: &str) -> String {
    if word.starts_with("eyJ") && word.contains('.') {
        let header = word.split('.').next().unwrap_or_default();
        let decoded =
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok());
        match decoded {
            Some(header) => format!("<JWT {header}>"),
            None => "<JWT>".to_owned(),
        }
    } else if word.len() >= 40 && !word.contains('.') {
        "<random>".to_owned()
    } else {
        word.to_owned()
    }
}

/// The attacks whose by-design risk is their access token alone: a session
/// or refresh token that outlived the login is a failure, not that risk.
const ONLY_THE_ACCESS_TOKEN_IS_A_RISK: [&str; 2] =
    ["credential-after-password-change", "login-ended-elsewhere"];

/// Whether `what` an accepted attack got is the risk its mode accepts.
fn the_risk_by_design(attack: &Attack, what: &str) -> bool {
    !ONLY_THE_ACCESS_TOKEN_IS_A_RISK.contains(&attack.name)
        || what.starts_with(attack_lab::account::ONLY_THE_ACCESS_TOKEN)
}

fn cell(attack: &Attack, column: Column, outcome: &Outcome) -> &'static str {
    let expected_risk = column.accepted_by_design().contains(&attack.name);
    match outcome {
        Outcome::Refused(_) if !expected_risk => "refused",
        Outcome::Accepted(what) if expected_risk && the_risk_by_design(attack, what) => "risk",
        Outcome::Skipped(why) if why.starts_with("not applicable") => "—",
        other => panic!(
            "{} against {column:?}: expected {}, got {other:?}",
            attack.name,
            if expected_risk { "a risk" } else { "a refusal" }
        ),
    }
}

// ANCHOR: lab
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_lab_every_attack_against_every_mechanism() {
    let es256_pkcs8 = SigningKey::generate_pkcs8(SigningAlgorithm::Es256).unwrap();
    let attacks = catalogue();
    let mut table = String::from("| attack | ");
    table.push_str(&COLUMNS.map(Column::title).join(" | "));
    table.push_str(" | rule |\n| --- |");
    table.push_str(&" :---: |".repeat(COLUMNS.len()));
    table.push_str(" --- |\n");
    // The columns at once: each has its own servers and store.
    let outcomes = join_all(
        COLUMNS.map(|column| run_all(&attacks, column, &es256_pkcs8, Stores::in_memory(), true)),
    )
    .await;
    let mut family = None;
    for (row, attack) in attacks.iter().enumerate() {
        if family != Some(attack.family) {
            family = Some(attack.family);
            table.push_str(&format!("| **{}** |", attack.family.title()));
            table.push_str(&" |".repeat(COLUMNS.len() + 1));
            table.push('\n');
        }
        let cells: Vec<&str> = COLUMNS
            .iter()
            .zip(&outcomes)
            .map(|(column, outcomes)| cell(attack, *column, &outcomes[row]))
            .collect();
        table.push_str(&format!(
            "| `{}` | {} | {} |\n",
            attack.name,
            cells.join(" | "),
            attack.source
        ));
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../book/attacks/results.md");
    let notice = "<!-- Generated by `UPDATE_TRANSCRIPTS=1 cargo test -p cafe --test api \
        attack_lab`. Do not edit: rerun it. -->\n\n";
    check_generated(&path, &format!("{notice}{table}"));
}
// ANCHOR_END: lab

#[test]
fn the_lab_has_at_least_forty_attacks_with_unique_names() {
    let attacks = catalogue();
    assert!(attacks.len() >= 40, "{} attacks", attacks.len());
    let mut names: Vec<&str> = attacks.iter().map(|attack| attack.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), attacks.len(), "a name is used twice");
}

#[test]
fn every_expected_risk_names_a_real_attack() {
    let names: Vec<&str> = catalogue().iter().map(|attack| attack.name).collect();
    for column in COLUMNS {
        for risk in column.accepted_by_design() {
            assert!(names.contains(risk), "{risk} is no attack");
        }
    }
}

#[test]
fn every_attack_applies_somewhere() {
    use attack_lab::{Mechanism, Server};
    let servers = [
        (Mechanism::Sessions, None),
        (Mechanism::Jwt, Some(SigningAlgorithm::Hs256)),
        (Mechanism::Jwt, Some(SigningAlgorithm::Es256)),
        (Mechanism::Hybrid, Some(SigningAlgorithm::Hs256)),
    ]
    .map(|(mechanism, algorithm)| Server {
        mechanism,
        algorithm,
    });
    for attack in catalogue() {
        assert!(
            servers
                .iter()
                .any(|server| attack.applies(server) == Applies::Yes),
            "{} applies to no column",
            attack.name
        );
    }
}

/// The stateful modes again with every store in Redis, shared by both
/// servers: each attack must end exactly as it does in memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_lab_on_redis_ends_as_in_memory() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let es256_pkcs8 = SigningKey::generate_pkcs8(SigningAlgorithm::Es256).unwrap();
    let attacks = catalogue();
    for (column, prefix) in [
        (Column::Sessions, "lab-sessions:"),
        (Column::JwtEs256Checked, "lab-checked:"),
        (Column::Hybrid, "lab-hybrid:"),
    ] {
        let stores = Stores::all_in(Arc::new(redis.store(prefix).await));
        let outcomes = run_all(&attacks, column, &es256_pkcs8, stores, false).await;
        for (attack, outcome) in attacks.iter().zip(&outcomes) {
            // Panics, naming the attack, if it ends otherwise than in memory.
            cell(attack, column, outcome);
        }
    }
}

/// The server's count of password hashes, for the timing attack: counted
/// work, where a stopwatch on a busy two-core machine would guess.
pub fn hash_counter(app: &crate::support::TestApp) -> attack_lab::WorkCounter {
    let passwords = Arc::clone(&app.passwords);
    Arc::new(move || passwords.verifications())
}
