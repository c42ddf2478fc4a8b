//! `attack-lab`: runs an attack from the book's attack lab (or all of them),
//! or the conformance checks, against a running café or any server a
//! target profile describes, printing every request it sent, every answer
//! it got, and the verdict. All the attacks and checks are in the library;
//! this file reads flags and prints.
//!
//! ```console
//! $ cargo run -p attack-lab -- --list
//! $ cargo run -p attack-lab -- all --target http://127.0.0.1:8080
//! $ cargo run -p attack-lab -- conformance --profile examples/cafe/profile.toml
//! ```

use attack_lab::conformance::{self, Check, CheckOutcome};
use attack_lab::{Attack, Lab, Mechanism, Outcome, Profile};
use cafe::cli::given_secret;
use clap::Parser;
use jwt::keys::SigningKey;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Run an attack from the book's attack lab, or the conformance checks,
/// against a running café or any server a target profile describes,
/// printing what it sent and what it got. Exits 1 if any attack got
/// through, any check failed, or either could not run; 2 if the command
/// line or the profile is refused.
#[derive(Parser)]
#[command(version, arg_required_else_help = true)]
struct Args {
    /// The attack or check (see --list); `conformance` for every check;
    /// `all` for every check and then every attack.
    #[arg(required_unless_present = "list")]
    name: Option<String>,
    /// List every attack and what it tries, then every check and what it
    /// asks of the server.
    #[arg(long)]
    list: bool,
    /// The server to attack [default: the profile's target, or
    /// http://127.0.0.1:8080].
    #[arg(long)]
    target: Option<String>,
    /// A target profile (TOML): the server's paths, JSON field names,
    /// cookies and accounts, for a server other than the café
    /// (examples/cafe/profile.toml is the café's).
    #[arg(long)]
    profile: Option<PathBuf>,
    /// A second server on the same store, for the attacks that play two
    /// servers against each other.
    #[arg(long)]
    second_target: Option<String>,
    /// The server's HS256 secret, from a file: lets the lab sign tokens as a
    /// key holder could, to test the rules behind the signature (expiry,
    /// issuer, audience, type: the profile's `[token]` where it has one).
    /// Or set CAFE_JWT_SECRET.
    #[arg(long)]
    jwt_secret_file: Option<PathBuf>,
}

/// Why the lab stopped without a verdict on every attack.
enum Failure {
    /// The command line or the profile was refused before anything was
    /// sent: exit 2, as for a flag clap refuses.
    Refused(String),
    /// The lab could not run: exit 1.
    Failed(String),
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure::Failed(message)
    }
}

/// The profile the lab speaks by (`--profile`, or the café's), with its
/// target replaced by `--target` if given, both checked.
fn profile(args: &Args) -> Result<Profile, String> {
    let mut profile = match &args.profile {
        Some(path) => Profile::load(path).map_err(|e| format!("--profile {e}"))?,
        None => Profile::cafe(),
    };
    if let Some(target) = &args.target {
        cafe_client::profile::check_target(target).map_err(|e| format!("--target: {e}"))?;
        profile.target = target.clone();
    }
    if let Some(second) = &args.second_target {
        cafe_client::profile::check_target(second).map_err(|e| format!("--second-target: {e}"))?;
    }
    Ok(profile)
}

/// The variable that overrides how long the lab waits for its target to
/// listen, in milliseconds: for the tests, which wait a second where a
/// reader's lab waits [`Lab::CONNECT_PATIENCE`].
const PATIENCE_VARIABLE: &str = "ATTACK_LAB_CONNECT_PATIENCE_MS";

/// How long the lab waits for its target to listen: [`PATIENCE_VARIABLE`]
/// if set (refused unless a whole number of milliseconds), or else
/// [`Lab::CONNECT_PATIENCE`].
fn patience() -> Result<Duration, String> {
    let Some(value) = std::env::var_os(PATIENCE_VARIABLE) else {
        return Ok(Lab::CONNECT_PATIENCE);
    };
    value
        .to_str()
        .and_then(|ms| ms.parse::<u64>().ok())
        .map(Duration::from_millis)
        .ok_or_else(|| format!("{PATIENCE_VARIABLE}={value:?}: not a whole number of milliseconds"))
}

/// Runs one attack (or all) and prints every exchange and the verdict.
/// `Ok(true)` if the server refused every attack it ran.
async fn run(args: Args) -> Result<bool, Failure> {
    if args.list {
        print!("{}", listing());
        return Ok(true);
    }
    let profile = profile(&args).map_err(Failure::Refused)?;
    let name = args.name.clone().unwrap_or_default();
    let (attacks, checks) = chosen(&name).map_err(Failure::Refused)?;
    let secret = given_secret(
        args.jwt_secret_file.as_deref(),
        std::env::var_os("CAFE_JWT_SECRET"),
    )
    .map_err(Failure::Refused)?;
    let patience = patience().map_err(Failure::Refused)?;
    let mut lab = Lab::connect_patiently(&profile, None, patience).await?;
    if let Some(second) = &args.second_target {
        lab = lab.with_second_target(second)?;
    }
    if let Some(secret) = secret {
        // Under the `kid` the server's own tokens name (the café's
        // `hs256-1`), or none if they name none.
        let kid = lab
            .issued_header()
            .and_then(|header| header["kid"].as_str())
            .unwrap_or_default()
            .to_owned();
        let key = SigningKey::hs256(&kid, &secret).map_err(|e| Failure::Refused(e.to_string()))?;
        lab = lab.with_signing_key(key);
    }
    let server = lab.server();
    let mechanism = match server.mechanism {
        Mechanism::Sessions => "sessions (a session cookie)",
        Mechanism::Jwt => "JWT (tokens in the body, a bearer on each request)",
        Mechanism::Hybrid => "hybrid (an access token in the body, the refresh token in a cookie)",
    };
    let signed = server
        .algorithm
        .map_or(String::new(), |alg| format!(", signed {alg}"));
    if args.profile.is_some() {
        println!("profile: {} at {}", profile.name, profile.target);
    }
    println!("server: {mechanism}{signed}\n");
    // The checks first: they ask for the server as it starts, and some
    // attacks leave it otherwise (the last fills admin's failure ceiling,
    // so for a while no new client logs in as admin).
    let checks_ended = run_checks(&lab, &checks).await;
    let attacks_ended = run_attacks(&lab, &attacks).await;
    let mut summary = Vec::new();
    if !attacks.is_empty() {
        summary.push(attacks_ended.summary());
    }
    if !checks.is_empty() {
        summary.push(checks_ended.summary());
    }
    println!("summary: {}", summary.join("; "));
    if !attacks_ended.accepted.is_empty() {
        // Some attacks get through by design in some modes: the book's
        // table (book/attacks/results.md) marks those "risk".
        println!(
            "accepted: {} (compare the book's table, where a mode's trade-offs are marked risk)",
            attacks_ended.accepted.join(", ")
        );
    }
    if !attacks_ended.errors.is_empty() {
        println!("errors: {}", attacks_ended.errors.join(", "));
    }
    if !checks_ended.failed.is_empty() {
        println!("failed: {}", checks_ended.failed.join(", "));
    }
    if !checks_ended.errors.is_empty() {
        println!("check errors: {}", checks_ended.errors.join(", "));
    }
    Ok(attacks_ended.accepted.is_empty()
        && attacks_ended.errors.is_empty()
        && checks_ended.failed.is_empty()
        && checks_ended.errors.is_empty())
}

/// What `--list` prints: every attack, then every check.
fn listing() -> String {
    format!(
        "{}\nconformance checks (`attack-lab conformance` runs them all):\n{}",
        attack_lab::listing(),
        conformance::listing()
    )
}

/// The attacks and checks `name` asks for: `all` is every attack and
/// every check, `conformance` every check, anything else one attack or
/// one check by its name.
fn chosen(name: &str) -> Result<(Vec<Attack>, Vec<Check>), String> {
    match name {
        "all" => Ok((attack_lab::catalogue(), conformance::checks())),
        "conformance" => Ok((Vec::new(), conformance::checks())),
        _ => match (attack_lab::find(name), conformance::find(name)) {
            (Some(attack), _) => Ok((vec![attack], Vec::new())),
            (None, Some(check)) => Ok((Vec::new(), vec![check])),
            (None, None) => Err(format!(
                "no attack or check called {name:?}; see `attack-lab --list`"
            )),
        },
    }
}

/// How the attacks of a run ended.
#[derive(Default)]
struct AttacksEnded {
    refused: usize,
    skipped: usize,
    accepted: Vec<&'static str>,
    errors: Vec<&'static str>,
}

impl AttacksEnded {
    fn summary(&self) -> String {
        format!(
            "{} refused, {} accepted, {} skipped, {} errors",
            self.refused,
            self.accepted.len(),
            self.skipped,
            self.errors.len()
        )
    }
}

/// Runs `attacks` one after another, printing each one's exchanges and
/// verdict.
async fn run_attacks(lab: &Lab, attacks: &[Attack]) -> AttacksEnded {
    let mut ended = AttacksEnded::default();
    for attack in attacks {
        println!("== {} ({})", attack.name, attack.family.title());
        println!("tries:  {}", attack.attempt);
        println!("must:   {}", attack.defence);
        println!("source: {}", attack.source);
        let outcome = lab.run(attack).await;
        for exchange in lab.take_exchanges() {
            print!("{}", attack_lab::show_exchange(&exchange));
        }
        match outcome {
            Ok(Outcome::Refused(how)) => {
                ended.refused += 1;
                println!("verdict: REFUSED: {how}\n");
            }
            Ok(Outcome::Accepted(what)) => {
                ended.accepted.push(attack.name);
                println!("verdict: ACCEPTED: {what}\n");
            }
            Ok(Outcome::Skipped(why)) => {
                ended.skipped += 1;
                println!("verdict: skipped: {why}\n");
            }
            Err(error) => {
                ended.errors.push(attack.name);
                println!("verdict: ERROR: {error}\n");
            }
        }
    }
    ended
}

/// How the checks of a run ended.
#[derive(Default)]
struct ChecksEnded {
    held: usize,
    skipped: usize,
    failed: Vec<&'static str>,
    errors: Vec<&'static str>,
}

impl ChecksEnded {
    fn summary(&self) -> String {
        format!(
            "checks: {} held, {} failed, {} skipped, {} errors",
            self.held,
            self.failed.len(),
            self.skipped,
            self.errors.len()
        )
    }
}

/// Runs `checks` one after another, printing each one's exchanges and
/// verdict.
async fn run_checks(lab: &Lab, checks: &[Check]) -> ChecksEnded {
    let mut ended = ChecksEnded::default();
    for check in checks {
        println!("== {} (conformance)", check.name);
        println!("must:   {}", check.property);
        println!("source: {}", check.source);
        let outcome = conformance::run_check(lab, check).await;
        for exchange in lab.take_exchanges() {
            print!("{}", attack_lab::show_exchange(&exchange));
        }
        match outcome {
            Ok(CheckOutcome::Holds(how)) => {
                ended.held += 1;
                println!("verdict: HOLDS: {how}\n");
            }
            Ok(CheckOutcome::Fails(what)) => {
                ended.failed.push(check.name);
                println!("verdict: FAILS: {what}\n");
            }
            Ok(CheckOutcome::Skipped(why)) => {
                ended.skipped += 1;
                println!("verdict: skipped: {why}\n");
            }
            Err(error) => {
                ended.errors.push(check.name);
                println!("verdict: ERROR: {error}\n");
            }
        }
    }
    ended
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(Failure::Refused(message)) => {
            eprintln!("attack-lab: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Failed(message)) => {
            eprintln!("attack-lab: {message}");
            ExitCode::FAILURE
        }
    }
}
