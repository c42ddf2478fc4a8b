//! The attack lab: every attack the book describes, as the requests an
//! attacker would send to a running café, and the answer the café must give.
//!
//! ```console
//! $ cargo run -p cafe -- serve --auth jwt &
//! $ cargo run -p attack-lab -- --list
//! $ cargo run -p attack-lab -- jwt-alg-none --target http://127.0.0.1:8080
//! $ cargo run -p attack-lab -- all --profile examples/cafe/profile.toml
//! ```
//!
//! An attack starts as any client can: it logs in as a demo user to get a
//! real credential, then tampers with it, replays it, or sends it from where
//! it should not come. The lab learns which mechanism the server runs from
//! that login's answer alone. A few attacks need more than an outsider has,
//! and say so when it is missing: the server's signing key (to test the rules
//! behind the signature, as a key holder could), its clock (to test
//! expiry without waiting), or a second server on the same store.
//!
//! Any server that speaks the café's API can be attacked: a target profile
//! ([`Profile`], a TOML file) names its address, its paths, its JSON field
//! names, its cookies and its accounts. An attack that needs an endpoint or
//! an account the profile does not name is skipped, saying which.
//!
//! `cargo test -p cafe --test api attack_lab` runs every attack against
//! every mechanism and writes the table the book shows.

// Lets this crate's own files name it `attack_lab::…`, so the book can
// compile one of them as a doctest and show an anchored part of it.
extern crate self as attack_lab;

pub mod account;
pub mod browser;
pub mod conformance;
mod lab;
pub mod login;
pub mod revocation;
pub mod session;
pub mod token;
pub mod token_rules;

pub use cafe_client::{Call, Credential, Endpoint, Mechanism, Profile, Reply, demo_password};
pub use lab::{Exchange, Lab, Login, ServerError};

use jwt::keys::SigningAlgorithm;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// What running an attack can end in, besides a verdict: the lab could not
/// talk to the server, or the server answered something it never should.
pub type LabError = String;
/// An attack's verdict, or why there is none.
pub type LabResult = Result<Outcome, LabError>;
/// An attack under way.
pub type Running<'a> = Pin<Box<dyn Future<Output = LabResult> + Send + 'a>>;
/// The code of one attack.
pub type Run = for<'a> fn(&'a Lab) -> Running<'a>;
/// Moves the server's clock forward (tests run the server on a clock they
/// control).
pub type TimeMachine = Arc<dyn Fn(Duration) + Send + Sync>;
/// How many passwords the server has hashed so far (tests read the server's
/// own counter): lets the timing attack count the work an answer cost
/// instead of timing it, which a busy machine blurs.
pub type WorkCounter = Arc<dyn Fn() -> u64 + Send + Sync>;

/// Which part of the book an attack belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Forged, tampered or misused JWTs.
    Jwt,
    /// Ending a login: logout, bans, refresh-token rotation, a password
    /// change, the owner's own list of logins.
    Revocation,
    /// Session IDs: fixation, guessing, expiry.
    Sessions,
    /// What another site's page, or a script injected into ours, can do.
    Browser,
    /// Guessing passwords and learning who has an account.
    Login,
}

impl Family {
    /// The family's name in the table.
    pub fn title(self) -> &'static str {
        match self {
            Family::Jwt => "JWT",
            Family::Revocation => "Revocation and refresh",
            Family::Sessions => "Sessions",
            Family::Browser => "Browser",
            Family::Login => "Login",
        }
    }
}

/// What the lab knows about the server under attack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Server {
    /// How it remembers who is logged in.
    pub mechanism: Mechanism,
    /// JWT and hybrid: the algorithm its access tokens name.
    pub algorithm: Option<SigningAlgorithm>,
}

impl Server {
    /// Whether it hands out JWTs.
    pub fn uses_tokens(&self) -> bool {
        self.mechanism.uses_tokens()
    }
}

/// Whether an attack means anything against a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applies {
    /// It does.
    Yes,
    /// It does not, and why.
    No(&'static str),
}

impl Applies {
    /// `Yes` if `condition` holds, otherwise `No(why)`.
    pub fn when(condition: bool, why: &'static str) -> Applies {
        if condition {
            Applies::Yes
        } else {
            Applies::No(why)
        }
    }
}

/// The servers an attack means anything against, as data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Targets {
    /// Every server.
    Every,
    /// Servers that hand out JWTs.
    Tokens,
    /// Servers with a session cookie.
    Sessions,
    /// Servers that set a cookie at login: the session's, or the hybrid's
    /// refresh cookie.
    Cookies,
    /// The hybrid: a refresh token in a cookie.
    Hybrid,
    /// Token servers signing with one of `algorithms`; `why` says what the
    /// others lack.
    Signing {
        /// The algorithms the attack needs.
        algorithms: &'static [SigningAlgorithm],
        /// Why it means nothing against the others.
        why: &'static str,
    },
}

impl Targets {
    /// Servers with an HS256 secret to guess.
    pub const HS256: Targets = Targets::Signing {
        algorithms: &[SigningAlgorithm::Hs256],
        why: "no shared secret to guess",
    };

    /// Servers that publish a public key.
    pub const PUBLIC_KEY: Targets = Targets::Signing {
        algorithms: &[SigningAlgorithm::Es256, SigningAlgorithm::EdDsa],
        why: "HS256 publishes no public key",
    };

    /// Servers whose signatures are ECDSA, where r and s must not be zero.
    pub const ECDSA: Targets = Targets::Signing {
        algorithms: &[SigningAlgorithm::Es256],
        why: "only an ECDSA signature has an r and an s to zero",
    };

    /// Servers whose signatures have a twin.
    pub const ES256: Targets = Targets::Signing {
        algorithms: &[SigningAlgorithm::Es256],
        why: "only ECDSA signatures have a twin",
    };

    /// Whether an attack with these targets means anything against `server`.
    pub fn applies(self, server: &Server) -> Applies {
        match self {
            Targets::Every => Applies::Yes,
            Targets::Tokens => Applies::when(server.uses_tokens(), "sessions use no tokens"),
            Targets::Sessions => {
                Applies::when(server.mechanism == Mechanism::Sessions, "no session cookie")
            }
            Targets::Cookies => Applies::when(
                server.mechanism != Mechanism::Jwt,
                "no cookies: tokens travel in the body and a header",
            ),
            Targets::Hybrid => {
                Applies::when(server.mechanism == Mechanism::Hybrid, "no refresh cookie")
            }
            Targets::Signing { algorithms, why } => match Targets::Tokens.applies(server) {
                Applies::Yes => Applies::when(
                    server.algorithm.is_some_and(|a| algorithms.contains(&a)),
                    why,
                ),
                no => no,
            },
        }
    }
}

/// How an attack ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The server refused, as it must: how.
    Refused(String),
    /// The attack got through: what it got. Some attacks get through by
    /// design in some modes (a logged-out JWT until it expires): the book
    /// shows those as risks, and the test suite says which are expected.
    Accepted(String),
    /// The lab lacks what this attack needs (the server's key, its clock, a
    /// second server): what.
    Skipped(String),
}

/// One attack, as data: what it sends, the answer the café must give, the
/// rule behind it, the servers it means anything against, and the code that
/// sends it and judges the answer.
#[derive(Clone, Copy)]
pub struct Attack {
    /// Its name on the command line and in the table.
    pub name: &'static str,
    /// Where it belongs.
    pub family: Family,
    /// What the attacker does.
    pub attempt: &'static str,
    /// What the café must answer.
    pub defence: &'static str,
    /// Where the rule comes from.
    pub source: &'static str,
    /// Which servers it means anything against.
    pub targets: Targets,
    /// The attack itself.
    pub run: Run,
}

impl Attack {
    /// Whether it means anything against `server`.
    pub fn applies(&self, server: &Server) -> Applies {
        self.targets.applies(server)
    }
}

/// Every attack the lab knows, grouped by family.
pub fn catalogue() -> Vec<Attack> {
    [
        token::ATTACKS,
        token_rules::ATTACKS,
        revocation::ATTACKS,
        account::ATTACKS,
        session::ATTACKS,
        browser::ATTACKS,
        login::ATTACKS,
    ]
    .concat()
}

/// The attack called `name`.
pub fn find(name: &str) -> Option<Attack> {
    catalogue().into_iter().find(|attack| attack.name == name)
}

/// A call as a page on another site makes the browser send it.
pub trait CrossSite {
    /// Adds what such a page makes the browser add: its origin, and the
    /// Fetch Metadata header that says it is cross-site.
    fn sent_from_another_site(self) -> Call;
}

impl CrossSite for Call {
    fn sent_from_another_site(self) -> Call {
        self.header("origin", ATTACKER_ORIGIN)
            .header("sec-fetch-site", "cross-site")
    }
}

/// The attacker's site, for cross-site requests.
pub const ATTACKER_ORIGIN: &str = "https://attacker.example";

/// The verdict on `reply` to an attack that must be answered with one of
/// `refusals`: refused, or accepted if the server said yes (any 2xx).
pub fn judge(reply: &Reply, refusals: &[u16], accepted: &str) -> LabResult {
    if refusals.contains(&reply.status) {
        Ok(Outcome::Refused(reply.summary()))
    } else if (200..300).contains(&reply.status) {
        Ok(Outcome::Accepted(format!("{accepted} ({})", reply.status)))
    } else {
        Err(format!(
            "expected {refusals:?}, got {}: a refusal, but not the right one",
            reply.summary()
        ))
    }
}

/// The verdict on a batch of tries: refused if every one was.
pub fn judge_all(verdicts: Vec<Outcome>) -> LabResult {
    let tries = verdicts.len();
    let mut refusals = Vec::new();
    for verdict in verdicts {
        match verdict {
            Outcome::Refused(how) => refusals.push(how),
            other => return Ok(other),
        }
    }
    refusals.dedup();
    Ok(Outcome::Refused(format!(
        "all {tries} refused: {}",
        refusals.join("; ")
    )))
}

/// The text for `--list`: every attack's name, family and what it tries.
pub fn listing() -> String {
    let mut text = String::new();
    for attack in catalogue() {
        text.push_str(&format!(
            "{:<40} {:<24} {}\n",
            attack.name,
            attack.family.title(),
            attack.attempt
        ));
    }
    text
}

/// How the command line shows one exchange: the request as sent (long
/// credentials shortened), the status and the start of the body.
pub fn show_exchange(exchange: &Exchange) -> String {
    let shorten = |text: &str, keep: usize| {
        if text.chars().count() > keep {
            format!("{}…", text.chars().take(keep).collect::<String>())
        } else {
            text.to_owned()
        }
    };
    let mut text = format!("> {}\n", exchange.request_line);
    for (name, value) in &exchange.request_headers {
        text.push_str(&format!("> {name}: {}\n", shorten(value, 160)));
    }
    if let Some(body) = &exchange.request_body {
        text.push_str(&format!("> {}\n", shorten(body, 160)));
    }
    text.push_str(&format!(
        "< {} {}\n",
        exchange.reply.status,
        shorten(&exchange.reply.text, 160)
    ));
    text
}
