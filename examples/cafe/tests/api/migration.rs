//! The migration *Moving tokens out of localStorage* walks, run: every `$`
//! line of the chapter's `console` blocks, in order, is run here as a
//! reader would run it. The `redis-server` line and the `head` lines run in
//! a shell (Redis on a free port instead of the one printed, which must be
//! the one the café reaches); each `cargo run -p cafe -- serve` line's flags
//! go through `cafe serve`'s own parser and [`cafe::cli::serve_config`], and
//! the server they configure starts in the test process, on that Redis; the
//! attack lab's loop runs each attack it names in the test process, and
//! its `grep` keeps the lines of the lab's output it names. What the
//! chapter says of each step is asserted and written to the transcripts it
//! shows:
//!
//! ```console
//! $ UPDATE_TRANSCRIPTS=1 cargo test -p cafe --test api migration
//! ```

use crate::browser::{Browser, log_in_through_the_page};
use crate::golden::check_golden;
use crate::recommended::{
    CAFE_SERVE, PrintedRedis, attack, configured, console_commands, flag, requirements,
    rule_attacks, security_callouts, serve_flags, shell_words,
};
use crate::support::{Call, Credential, Mode, TestApp, opening_time, spawn_configured};
use attack_lab::{Lab, Outcome};
use cafe::AuthMode;
use cafe::clock::ManualClock;
use cafe_client::Mechanism;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The chapter whose commands are run.
const CHAPTER: &str = "book/browser/migrating.md";

/// How the chapter makes a secret file, around the file's name: a signing
/// key only its owner can read (the subshell keeps the umask to itself).
const NEW_SECRET: (&str, &str) = ("(umask 077; head -c 48 /dev/urandom > ", ")");

/// The attack lab's loop, around the attacks it names and the filter
/// after it.
const LAB_LOOP: (&str, &str) = (
    "for attack in ",
    "; do cargo run -q -p attack-lab -- $attack; done",
);

/// One `$` line of the chapter.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Command {
    /// `redis-server … &`: its arguments.
    Redis(Vec<String>),
    /// `(umask 077; head -c 48 /dev/urandom > FILE)`: a new secret file,
    /// readable by its owner only.
    NewSecret(String),
    /// `cargo run -p cafe -- serve …`: its flags.
    Serve(Vec<String>),
    /// `for attack in …; do cargo run -q -p attack-lab -- $attack; done`,
    /// against the server running now: the attacks it names, and the line
    /// beginnings its `| grep -e '^…'` keeps (none: every line).
    Lab(Vec<String>, Vec<String>),
}

/// Every `$` line of the chapter's `console` blocks, in order (a line
/// ending in `\` continues on the next). A line the test cannot run fails.
fn chapter_commands() -> Vec<Command> {
    console_commands(&chapter())
        .iter()
        .map(|line| parse(line))
        .collect()
}

/// The chapter's text.
fn chapter() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(CHAPTER);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Checks that the chapter's prose says `claim`, a sentence's worth built
/// from what the test measured, so a number it repeats cannot go stale.
fn chapter_says(claim: &str) {
    let prose: String = chapter().split_whitespace().collect::<Vec<_>>().join(" ");
    let prose = prose.replace("> ", "");
    assert!(prose.contains(claim), "{CHAPTER} should say: {claim}");
}

fn parse(line: &str) -> Command {
    if let Some(args) = PrintedRedis::parse(line) {
        return Command::Redis(args);
    }
    if let Some(file) = line
        .strip_prefix(NEW_SECRET.0)
        .and_then(|rest| rest.strip_suffix(NEW_SECRET.1))
        .filter(|file| !file.contains(['/', ' ', ';', '&', '|', '$', '(', ')']))
    {
        return Command::NewSecret(file.to_owned());
    }
    if let Some(flags) = serve_flags(line) {
        return Command::Serve(flags);
    }
    if let Some((names, after)) = line
        .strip_prefix(LAB_LOOP.0)
        .and_then(|rest| rest.split_once(LAB_LOOP.1))
    {
        let names = shell_words(names);
        return Command::Lab(names, grep_prefixes(line, after));
    }
    panic!("{CHAPTER}: a command this test does not know how to run: {line}");
}

/// The line beginnings that `after`, what follows the lab's loop, keeps:
/// nothing (every line), or `| grep -e '^TEXT' …` (the lines that begin
/// with one of the TEXTs). Any other filter, or a pattern that is more
/// than a line beginning, fails.
fn grep_prefixes(line: &str, after: &str) -> Vec<String> {
    if after.is_empty() {
        return Vec::new();
    }
    let words = after
        .strip_prefix(" | grep ")
        .map(shell_words)
        .unwrap_or_else(|| panic!("{CHAPTER}: a filter this test cannot run: {line}"));
    let prefixes: Vec<String> = words
        .chunks(2)
        .map(|pair| match pair {
            [option, pattern] if option == "-e" => pattern
                .strip_prefix('^')
                .filter(|text| {
                    !text.is_empty() && !text.contains(|c| ".[]*+?(){}|\\$^".contains(c))
                })
                .unwrap_or_else(|| panic!("{CHAPTER}: not a line beginning: {pattern} in {line}"))
                .to_owned(),
            _ => panic!("{CHAPTER}: grep options this test cannot run: {line}"),
        })
        .collect();
    assert!(!prefixes.is_empty(), "{line}");
    prefixes
}

/// The chapter's commands, by step, checked against the shape the chapter
/// describes: where you are, the tempting switch, the right one.
struct Steps {
    /// The Redis the servers share.
    redis: Vec<String>,
    /// Step 0: the secret the team has, the server it runs, the lab's
    /// attacks.
    before: (String, Vec<String>, Vec<String>),
    /// What the lab's `grep` keeps of its output (the same both times).
    lab_filter: Vec<String>,
    /// The switch that keeps the secret.
    same_secret: Vec<String>,
    /// A new secret, and the switch that uses it.
    /// (The last step runs step 0's attacks again, against `new_secret`'s
    /// server.)
    new_secret: (String, Vec<String>),
}

fn steps() -> Steps {
    let commands = chapter_commands();
    let [
        Command::Redis(redis),
        Command::NewSecret(first_secret),
        Command::Serve(before),
        Command::Lab(attacks_before, filter_before),
        Command::Serve(same_secret),
        Command::NewSecret(second_secret),
        Command::Serve(new_secret),
        Command::Lab(attacks_after, filter_after),
    ] = &commands[..]
    else {
        panic!("{CHAPTER}: not the eight commands this test expects: {commands:?}");
    };
    assert_eq!(
        (attacks_before, filter_before),
        (attacks_after, filter_after),
        "the last step runs the same loop as step 0"
    );
    Steps {
        redis: redis.clone(),
        before: (first_secret.clone(), before.clone(), attacks_before.clone()),
        lab_filter: filter_before.clone(),
        same_secret: same_secret.clone(),
        new_secret: (second_secret.clone(), new_secret.clone()),
    }
}

/// The folder the reader runs the commands in: secret files live here.
struct Folder(PathBuf);

impl Folder {
    fn new() -> Folder {
        let path = std::env::temp_dir().join(format!(
            "cafe-migration-{}-{}",
            std::process::id(),
            crate::support::unique_number()
        ));
        std::fs::create_dir_all(&path).unwrap();
        Folder(path)
    }

    /// Runs the chapter's secret command for `file` here, as it is
    /// written, and checks that only its owner may read the key.
    fn new_secret(&self, file: &str) {
        use std::os::unix::fs::PermissionsExt;
        let command = format!("{}{file}{}", NEW_SECRET.0, NEW_SECRET.1);
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(&command)
            .current_dir(&self.0)
            .status()
            .unwrap();
        assert!(status.success(), "{command}");
        let key = std::fs::metadata(self.0.join(file)).unwrap();
        assert_eq!(key.len(), 48, "{command}");
        assert_eq!(key.permissions().mode() & 0o777, 0o600, "{command}");
    }

    /// `words` with a secret file named relative to this folder.
    fn here(&self, words: &[String]) -> Vec<String> {
        let mut words = words.to_vec();
        if let Some(at) = words.iter().position(|word| word == "--jwt-secret-file") {
            words[at + 1] = self.0.join(&words[at + 1]).display().to_string();
        }
        words
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

/// What a started server runs with, for the transcripts.
#[derive(Debug, Clone, Copy)]
struct Served {
    auth: AuthMode,
    lifetimes: jwt::Lifetimes,
}

/// `cargo run -p cafe -- serve <words>` run from `folder` on `redis` and
/// `clock`: the server, and what it runs with.
async fn serve(
    folder: &Folder,
    words: &[String],
    redis: &PrintedRedis,
    clock: &Arc<ManualClock>,
) -> (TestApp, Served) {
    assert_eq!(
        flag(words, "--store"),
        Some("redis"),
        "{CHAPTER}: a deployment keeps its logins in a shared store, across restarts"
    );
    redis.check_reached_by(words);
    let config = configured(&folder.here(words), Some(&redis.url())).await;
    let served = Served {
        auth: config.auth,
        lifetimes: config.jwt_lifetimes,
    };
    let mode = match config.auth {
        AuthMode::Sessions => Mode::Sessions,
        AuthMode::Jwt => Mode::Jwt,
        AuthMode::Hybrid => Mode::Hybrid,
    };
    (spawn_configured(mode, config, clock.clone()).await, served)
}

/// A clock at the café's opening time.
fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::starting_at(opening_time()))
}

/// The lab's loop against `app`: each attack's verdict, and what the
/// loop prints through its filter (`keep`: the line beginnings its `grep`
/// keeps; none, every line).
///
/// The lines are those `cargo run -q -p attack-lab -- NAME` prints
/// (examples/attack-lab/src/main.rs: the server, each attack's header,
/// every exchange, the verdict, a summary), made here from the same lab:
/// the café's tests do not build the lab's binary, and the lab runs against
/// the test's server.
async fn lab_loop(
    app: &TestApp,
    attacks: &[String],
    keep: &[String],
) -> (Vec<(String, Outcome)>, String) {
    let lab = Lab::connect(&app.address).await.unwrap();
    let server = lab.server();
    let mut verdicts = Vec::new();
    let mut printed = String::new();
    for name in attacks {
        let attack = attack_lab::find(name)
            .unwrap_or_else(|| panic!("{CHAPTER}: no lab attack called {name}"));
        let mechanism = match server.mechanism {
            Mechanism::Sessions => "sessions (a session cookie)",
            Mechanism::Jwt => "JWT (tokens in the body, a bearer on each request)",
            Mechanism::Hybrid => {
                "hybrid (an access token in the body, the refresh token in a cookie)"
            }
        };
        let signed = server
            .algorithm
            .map_or(String::new(), |alg| format!(", signed {alg}"));
        printed.push_str(&format!("server: {mechanism}{signed}\n\n"));
        printed.push_str(&format!("== {} ({})\n", attack.name, attack.family.title()));
        printed.push_str(&format!("tries:  {}\n", attack.attempt));
        printed.push_str(&format!("must:   {}\n", attack.defence));
        printed.push_str(&format!("source: {}\n", attack.source));
        let outcome = lab.run(&attack).await.unwrap();
        for exchange in lab.take_exchanges() {
            printed.push_str(&attack_lab::show_exchange(&exchange));
        }
        printed.push_str(&format!("verdict: {}\n\n", verdict(&outcome)));
        let count = |kind: fn(&Outcome) -> bool| usize::from(kind(&outcome));
        printed.push_str(&format!(
            "summary: {} refused, {} accepted, {} skipped, 0 errors\n",
            count(|o| matches!(o, Outcome::Refused(_))),
            count(|o| matches!(o, Outcome::Accepted(_))),
            count(|o| matches!(o, Outcome::Skipped(_))),
        ));
        if matches!(outcome, Outcome::Accepted(_)) {
            printed.push_str(&format!(
                "accepted: {name} (compare the book's table, where a mode's trade-offs are \
                 marked risk)\n"
            ));
        }
        verdicts.push((name.clone(), outcome));
    }
    let kept: String = printed
        .lines()
        .filter(|line| keep.is_empty() || keep.iter().any(|text| line.starts_with(text.as_str())))
        .map(|line| format!("{line}\n"))
        .collect();
    (verdicts, kept)
}

fn verdict(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Refused(how) => format!("REFUSED: {how}"),
        Outcome::Accepted(what) => format!("ACCEPTED: {what}"),
        Outcome::Skipped(why) => format!("skipped: {why}"),
    }
}

/// `cargo run -p cafe -- serve <words>` as a comment, `lead` before it,
/// continued with `\` lines to stay within 80 columns.
fn command_lines(lead: &str, words: &[String]) -> String {
    let mut text = format!("# {lead}{CAFE_SERVE}");
    let mut width = text.len();
    for word in words {
        if width + 1 + word.len() > 78 {
            text.push_str(" \\\n#       ");
            width = 8;
        }
        text.push(' ');
        text.push_str(word);
        width += 1 + word.len();
    }
    text.push('\n');
    text
}

// ---------------------------------------------------------------- step 0, step N

/// Step 0 and the last step: the lab's attacks on what an injected script
/// can do, against the first command and the last. Before, a script reads
/// both tokens; after, the access token alone (the refresh token is in an
/// HttpOnly cookie). In both it still orders as alice, and a stolen token
/// still works from anywhere: the Content Security Policy is what keeps a
/// script out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lab_measures_what_an_injected_script_takes_before_and_after() {
    let steps = steps();
    let Some(redis) = PrintedRedis::start(&steps.redis) else {
        return;
    };
    let folder = Folder::new();
    let (secret, before, attacks) = &steps.before;
    let (new_secret, after) = &steps.new_secret;
    folder.new_secret(secret);
    folder.new_secret(new_secret);

    let mut outcomes = Vec::new();
    for (title, words) in [("before", before), ("after", after)] {
        let (app, served) = serve(&folder, words, &redis, &clock()).await;
        let (verdicts, printed) = lab_loop(&app, attacks, &steps.lab_filter).await;
        check_golden(&format!("migration/lab-{title}.txt"), &printed);
        outcomes.push(verdicts);
        // What the chapter says of each server's lifetimes.
        let lifetimes = served.lifetimes;
        let days = lifetimes.refresh / 86_400;
        match served.auth {
            AuthMode::Jwt => chapter_says(&format!(
                "within every {}-minute idle limit, up to {days} days from login",
                lifetimes.refresh_idle / 60
            )),
            _ => {
                let access = lifetimes.access / 60;
                chapter_says(&format!("for {access} minutes per token"));
                chapter_says(&format!(
                    "as long as it stays, up to {days} days from login"
                ));
                chapter_says(&format!("ends {access} minutes after it goes"));
                // Step 2's reason for the two checks.
                chapter_says(&format!(
                    "a ban waits for the access token to expire, up to {access} minutes"
                ));
            }
        }
    }

    let outcome = |step: usize, name: &str| -> &Outcome {
        &outcomes[step]
            .iter()
            .find(|(attack, _)| attack == name)
            .unwrap_or_else(|| panic!("{name} not run"))
            .1
    };
    let (before, after) = (0, 1);
    // What the script reads: both tokens before, the access token after.
    let Outcome::Accepted(read) = outcome(before, "xss-reads-credential") else {
        panic!("before: the script reads the tokens");
    };
    assert!(read.ends_with("access_token, refresh_token"), "{read}");
    let Outcome::Accepted(read) = outcome(after, "xss-reads-credential") else {
        panic!("after: the script still reads the access token");
    };
    assert!(read.ends_with("access_token"), "{read}");
    for step in [before, after] {
        // A script in the page orders as alice, and what it took works
        // from another machine, in both: the hybrid limits the loss.
        assert!(matches!(
            outcome(step, "xss-session-riding"),
            Outcome::Accepted(_)
        ));
        assert!(matches!(
            outcome(step, "credential-replayed-elsewhere"),
            Outcome::Accepted(_)
        ));
        // The page's policy refuses an injected inline script, in both.
        assert!(matches!(
            outcome(step, "xss-inline-script"),
            Outcome::Refused(_)
        ));
    }
}

// ---------------------------------------------------------------- the switch

/// How long the restart from one command to the next takes, in seconds.
const RESTART_SECONDS: u64 = 60;

/// What alice's page left in localStorage under step 0's command, copied by
/// a script before the switch: her access token and refresh token.
struct OldLogin {
    access: String,
    refresh: String,
}

/// Runs step 0 on a fresh Redis: the secret, the server, alice's login
/// through the old page. Returns the old login, and the clock once the
/// server has been stopped for the switch.
async fn alice_logged_in_before_the_switch(
    folder: &Folder,
    steps: &Steps,
    redis: &PrintedRedis,
) -> (OldLogin, Arc<ManualClock>) {
    let (secret, before, _) = &steps.before;
    folder.new_secret(secret);
    let clock = clock();
    let (app, _) = serve(folder, before, redis, &clock).await;
    let alice = app.logged_in("alice", "wonderland-42").await;
    let Some(Credential::Bearer { access, refresh }) = alice.credential.clone() else {
        panic!("--auth jwt hands out a bearer pair");
    };
    clock.advance(Duration::from_secs(RESTART_SECONDS));
    (OldLogin { access, refresh }, clock)
}

/// What each thing tried after a switch got: one column of the table.
struct AfterTheSwitch {
    /// The new page's first load: `POST /refresh` with no cookie.
    page_load: u16,
    /// The old access token as a bearer, `GET /me`.
    old_access: u16,
    /// The old refresh token in a JSON body, `POST /refresh`.
    refresh_in_body: u16,
    /// The old refresh token sent as the hybrid's cookie.
    refresh_as_cookie: u16,
    /// The logins alice's new login lists: right after it, and once the
    /// old login has gone one idle limit without a refresh of its owner's.
    listed: (usize, usize),
    /// With that cookie, renewed within every idle limit: how many
    /// renewals, and the last one's time from the old login.
    renewed: Option<(u32, u64)>,
    /// What the new server runs with.
    lifetimes: jwt::Lifetimes,
}

/// Starts `words` where step 0's server was, and tries the old login
/// every way the chapter names.
async fn switch_to(words: &[String], new_secret: Option<&str>) -> Option<AfterTheSwitch> {
    let steps = steps();
    let redis = PrintedRedis::start(&steps.redis)?;
    let folder = Folder::new();
    let (old, clock) = alice_logged_in_before_the_switch(&folder, &steps, &redis).await;
    if let Some(file) = new_secret {
        folder.new_secret(file);
    }
    let (app, served) = serve(&folder, words, &redis, &clock).await;
    assert_eq!(served.auth, AuthMode::Hybrid);
    let lifetimes = served.lifetimes;
    // Seconds since the old login.
    let mut since_login = RESTART_SECONDS;

    // The new page loads and asks /refresh for an access token: it has no
    // refresh cookie yet.
    let page_load = app.visitor().send(&Call::post("/refresh")).await.status;
    let bearer = Call::get("/me").bearer(&old.access);
    let old_access = app.visitor().send(&bearer).await.status;
    let in_body = Mechanism::Jwt.refresh_call(&old.refresh);
    let refresh_in_body = app.visitor().send(&in_body).await.status;

    // Alice logs in again through the new page: what "Your logins" lists.
    let mut alice = app.logged_in("alice", "wonderland-42").await;
    let listed_now = logins(&alice).await;

    // The thief sends the copied refresh token as the cookie the hybrid
    // reads: any client can send any Cookie header.
    let mut thief = app.visitor_from("127.0.0.2");
    thief.credential = Some(Credential::Bearer {
        access: old.access.clone(),
        refresh: old.refresh.clone(),
    });
    let refresh_as_cookie = thief.refresh().await.status;

    // One idle limit after the old login: alice's page refreshes (her own
    // login is younger) and lists her logins again.
    clock.advance(Duration::from_secs(lifetimes.refresh_idle - since_login));
    since_login = lifetimes.refresh_idle;
    assert_eq!(alice.refresh().await.status, 200);
    let listed_later = logins(&alice).await;

    let renewed = if refresh_as_cookie == 200 {
        // The thief renews a minute inside every idle limit, to the end.
        let step = lifetimes.refresh_idle - 60;
        let mut renewals = 1;
        while since_login + step < lifetimes.refresh {
            assert_eq!(thief.refresh().await.status, 200, "at {since_login} s");
            assert_eq!(thief.get("/me").await.status, 200);
            renewals += 1;
            clock.advance(Duration::from_secs(step));
            since_login += step;
        }
        assert_eq!(thief.refresh().await.status, 200, "at {since_login} s");
        renewals += 1;
        let last = since_login;
        clock.advance(Duration::from_secs(
            lifetimes.refresh + jwt::tokens::LEEWAY_SECONDS - since_login,
        ));
        assert_eq!(thief.refresh().await.status, 401, "past the login's end");
        Some((renewals, last))
    } else {
        None
    };
    Some(AfterTheSwitch {
        page_load,
        old_access,
        refresh_in_body,
        refresh_as_cookie,
        listed: (listed_now, listed_later),
        renewed,
        lifetimes,
    })
}

/// The third secret a rollback runs with, as the chapter advises.
const THIRD_SECRET: &str = "jwt-secret-v3";

/// What the copied tokens get once the switch to a new secret is undone:
/// the old access token on `GET /me`, the old refresh token in a body.
struct RolledBack {
    /// Seconds the old login's refresh family has left in Redis at the
    /// switch (its TTL, set at login to the login's end).
    left_in_redis: u64,
    /// How long a login lasts under step 0's command, in seconds.
    login_lasts: u64,
    /// Back to step 0's command, `jwt-secret-v1` and all.
    to_step_0: (u16, u16),
    /// Back to step 0's command with a third secret.
    with_a_third_secret: (u16, u16),
}

/// `words` with another secret file.
fn with_secret(words: &[String], file: &str) -> Vec<String> {
    let mut words = words.to_vec();
    let at = words
        .iter()
        .position(|word| word == "--jwt-secret-file")
        .expect("a secret file");
    words[at + 1] = file.to_owned();
    words
}

/// The switch to `new_words`, then, [`RESTART_SECONDS`] later, a rollback
/// to `--auth jwt` on the same Redis: with a third secret first (a refused
/// token changes nothing in the store), then with step 0's. A server of
/// step 0's still running during a rolling restart is the same thing.
async fn switch_and_roll_back(
    steps: &Steps,
    new_words: &[String],
    new_secret: &str,
) -> Option<RolledBack> {
    let redis = PrintedRedis::start(&steps.redis)?;
    let folder = Folder::new();
    let (old, clock) = alice_logged_in_before_the_switch(&folder, steps, &redis).await;
    folder.new_secret(new_secret);
    let (app, _) = serve(&folder, new_words, &redis, &clock).await;
    let me = Call::get("/me").bearer(&old.access);
    assert_eq!(
        app.visitor().send(&me).await.status,
        401,
        "after the switch"
    );
    let left_in_redis = refresh_family_ttl(&redis).await;
    clock.advance(Duration::from_secs(RESTART_SECONDS));

    let tried = async |words: &[String]| {
        let (app, served) = serve(&folder, words, &redis, &clock).await;
        assert_eq!(served.auth, AuthMode::Jwt);
        let me = app.visitor().send(&me).await.status;
        let in_body = Mechanism::Jwt.refresh_call(&old.refresh);
        let tried = (me, app.visitor().send(&in_body).await.status);
        (tried, served.lifetimes.refresh)
    };
    folder.new_secret(THIRD_SECRET);
    let (with_a_third_secret, _) = tried(&with_secret(&steps.before.1, THIRD_SECRET)).await;
    let (to_step_0, login_lasts) = tried(&steps.before.1).await;
    Some(RolledBack {
        left_in_redis,
        login_lasts,
        to_step_0,
        with_a_third_secret,
    })
}

/// The time to live of the one refresh family in `redis`, in seconds.
async fn refresh_family_ttl(redis: &PrintedRedis) -> u64 {
    let mut connection = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let families: Vec<String> = redis::cmd("KEYS")
        .arg("*family:{*")
        .query_async(&mut connection)
        .await
        .unwrap();
    let [family] = &families[..] else {
        panic!("one refresh family: {families:?}");
    };
    let ttl: i64 = redis::cmd("TTL")
        .arg(family)
        .query_async(&mut connection)
        .await
        .unwrap();
    u64::try_from(ttl).unwrap_or_else(|_| panic!("{family}: TTL {ttl}"))
}

/// How many logins `GET /me/logins` lists for this visitor's account.
async fn logins(visitor: &crate::support::Visitor) -> usize {
    let answer = visitor.get("/me/logins").await;
    assert_eq!(answer.status, 200);
    answer.body.as_array().map_or(0, Vec::len)
}

/// The switch, twice from the same start: alice logged in under step 0's
/// command, and a script copied her tokens from localStorage; then the
/// server restarts on the same Redis with the hybrid, keeping the secret
/// and with a new one. Kept, the old access token works until it expires
/// and the old refresh token, sent as the hybrid's cookie, renews the
/// login from anywhere to its seventh day; with a new secret, both are
/// refused at once. A refresh token in a body is refused either way: the
/// hybrid reads the cookie only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_switch_old_tokens_work_with_the_old_secret_and_not_with_a_new_one() {
    let steps = steps();
    let (new_secret, new_words) = &steps.new_secret;
    assert_eq!(
        flag(&steps.same_secret, "--jwt-secret-file"),
        flag(&steps.before.1, "--jwt-secret-file"),
        "the tempting switch keeps step 0's secret"
    );
    assert_ne!(
        flag(new_words, "--jwt-secret-file"),
        Some(steps.before.0.as_str())
    );
    assert_eq!(
        flag(new_words, "--jwt-secret-file"),
        Some(new_secret.as_str())
    );
    let Some(kept) = switch_to(&steps.same_secret, None).await else {
        return;
    };
    let Some(new) = switch_to(new_words, Some(new_secret)).await else {
        return;
    };
    let Some(rolled_back) = switch_and_roll_back(&steps, new_words, new_secret).await else {
        return;
    };

    // Either way, the new page finds no cookie and alice logs in again,
    // and a refresh token in a body is not read.
    for column in [&kept, &new] {
        assert_eq!(column.page_load, 401);
        assert_eq!(column.refresh_in_body, 401);
    }
    // The same secret: what was copied before the switch still works.
    assert_eq!(kept.old_access, 200);
    assert_eq!(kept.refresh_as_cookie, 200);
    let (renewals, last) = kept.renewed.expect("renewed");
    assert!(last > 6 * 86_400, "{last}");
    // Listed, and kept alive by the thief's refreshes.
    assert_eq!(kept.listed, (2, 2));
    // A new secret: nothing copied before the switch works.
    assert_eq!(new.old_access, 401);
    assert_eq!(new.refresh_as_cookie, 401);
    assert!(new.renewed.is_none());
    // The dead login is listed until its idle limit passes.
    assert_eq!(new.listed, (2, 1));
    // Its refresh family stays in Redis to the login's end, so a server
    // that still verifies with step 0's secret takes both tokens again; a
    // rollback with a third secret does not.
    let lifetime = rolled_back.login_lasts;
    assert!(
        (lifetime - 60..=lifetime).contains(&rolled_back.left_in_redis),
        "{}",
        rolled_back.left_in_redis
    );
    assert_eq!(rolled_back.to_step_0, (200, 200));
    assert_eq!(rolled_back.with_a_third_secret, (401, 401));

    // The numbers the chapter's prose repeats, as measured.
    let idle = kept.lifetimes.refresh_idle / 60;
    let days = kept.lifetimes.refresh / 86_400;
    chapter_says(&format!(
        "up to {days} days from login, a minute inside every {idle}-minute idle limit"
    ));
    chapter_says(&format!(
        "its record stays in Redis to the login's end, {} days",
        rolled_back.left_in_redis.div_ceil(86_400)
    ));
    chapter_says(&format!(
        "renews {renewals} times over {} days {} hours",
        last / 86_400,
        last % 86_400 / 3600
    ));
    chapter_says(&format!(
        "leaves the new-secret list {} minutes after its last refresh",
        new.lifetimes.refresh_idle / 60
    ));
    chapter_says(&format!(
        "a third secret, `--jwt-secret-file {THIRD_SECRET}`"
    ));

    let days = |seconds: u64| {
        format!(
            "{} days {} h {} min",
            seconds / 86_400,
            seconds % 86_400 / 3600,
            seconds % 3600 / 60
        )
    };
    let row = |what: &str, kept: String, new: String| format!("{what:<52} {kept:<35} {new}\n");
    let mut text = command_lines("step 0: ", &steps.before.1);
    text.push_str(&format!(
        "# alice logs in, and a script copies both her tokens from localStorage.\n\
         # {RESTART_SECONDS} s later the server restarts on the same Redis, as\n",
    ));
    text.push_str(&command_lines("kept:   ", &steps.same_secret));
    text.push_str(&command_lines("new:    ", new_words));
    text.push_str(&format!(
        "# rolled back {RESTART_SECONDS} s after the new server started: step 0's\n\
         # command with {THIRD_SECRET}, then as it was (the copied access token on\n\
         # GET /me, the copied refresh token in a JSON body)\n",
    ));
    text.push_str(&row("tried after the restart", "kept".into(), "new".into()));
    for (what, kept, new) in [
        (
            "her page loads: POST /refresh, no cookie yet",
            kept.page_load,
            new.page_load,
        ),
        (
            "the copied access token: GET /me",
            kept.old_access,
            new.old_access,
        ),
        (
            "the copied refresh token in a JSON body",
            kept.refresh_in_body,
            new.refresh_in_body,
        ),
        (
            "the copied refresh token sent as the refresh cookie",
            kept.refresh_as_cookie,
            new.refresh_as_cookie,
        ),
    ] {
        text.push_str(&row(what, kept.to_string(), new.to_string()));
    }
    text.push_str(&row(
        "  renewed that way from elsewhere, until",
        format!("{} ({renewals} renewals)", days(last)),
        "-".into(),
    ));
    text.push_str(&row(
        "her logins listed once she logs in again",
        kept.listed.0.to_string(),
        new.listed.0.to_string(),
    ));
    text.push_str(&row(
        "  one idle limit after the old login",
        format!("{} (the thief refreshed)", kept.listed.1),
        new.listed.1.to_string(),
    ));
    text.push_str(&row(
        "her old login kept in Redis for (its TTL)",
        "-".into(),
        format!("{} days", rolled_back.left_in_redis.div_ceil(86_400)),
    ));
    let status_pair = |(me, body): (u16, u16)| format!("{me} {body}");
    text.push_str(&row(
        &format!("rolled back with {THIRD_SECRET}: access, refresh"),
        "-".into(),
        status_pair(rolled_back.with_a_third_secret),
    ));
    text.push_str(&row(
        "rolled back to step 0's command: access, refresh",
        "-".into(),
        status_pair(rolled_back.to_step_0),
    ));
    check_golden("migration/switch.txt", &text);
}

// ---------------------------------------------------------------- the client

/// What the old page kept in localStorage, as it wrote it.
fn old_page_storage(old: &OldLogin) -> String {
    json!({ "access": old.access, "refresh": old.refresh }).to_string()
}

/// Whether the page's localStorage still holds the old mode's tokens.
async fn leftover(browser: &mut Browser) -> Value {
    browser.eval("localStorage.getItem('cafe-tokens')").await
}

/// The new client under the last command: a browser that ran the old page
/// still holds its tokens in localStorage. Loaded under the hybrid, the
/// page removes them (ASVS 5.0 14.3.1) and never sends them: whether the
/// browser has no refresh cookie yet (alice is asked to log in) or has one
/// already (she is logged in by it). Under sessions, too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_new_page_removes_the_tokens_the_old_one_left_in_local_storage() {
    let steps = steps();
    let Some(redis) = PrintedRedis::start(&steps.redis) else {
        return;
    };
    let Some(mut browser) = Browser::start().await else {
        return;
    };
    let folder = Folder::new();
    let (old, clock) = alice_logged_in_before_the_switch(&folder, &steps, &redis).await;
    let (new_secret, after) = &steps.new_secret;
    folder.new_secret(new_secret);
    let (app, _) = serve(&folder, after, &redis, &clock).await;
    let stored = old_page_storage(&old);
    let plant = format!(
        "localStorage.setItem('cafe-tokens', {}); true",
        json!(stored)
    );

    // No refresh cookie yet: the page asks alice to log in, and the old
    // tokens are gone. (This case alone does not test the fix: the failed
    // refresh calls forgetTokens() anyway. The next two fail without it.)
    browser.open(&app).await;
    browser.eval(&plant).await;
    browser.open(&app).await;
    browser
        .wait_for("!document.getElementById('login').hidden")
        .await;
    assert_eq!(
        leftover(&mut browser).await,
        Value::Null,
        "no refresh cookie"
    );

    // Logged in under the hybrid (the cookie set), with the old tokens put
    // back, as another tab still running the old page would: the next
    // load refreshes with the cookie and still removes them.
    log_in_through_the_page(&mut browser).await;
    browser.eval(&plant).await;
    browser.open(&app).await;
    browser
        .wait_for("document.getElementById('who').textContent === 'alice'")
        .await;
    assert_eq!(
        leftover(&mut browser).await,
        Value::Null,
        "logged in by the cookie"
    );

    // A tab still running the old page writes them again after this page
    // has started, without any reload here: its refresh sends `{}`, the
    // browser attaches the cookie, the hybrid answers, and its keepTokens
    // stores the answer. This page hears the storage event and removes
    // them. (The test records the event too, so that a null read before
    // the write arrived cannot pass.)
    let page = 0;
    browser
        .eval("window.heard = []; addEventListener('storage', (e) => heard.push(e.newValue)); true")
        .await;
    browser.open_tab().await;
    let origin = app.address.replace("127.0.0.1", "localhost");
    browser.navigate(&format!("{origin}/healthz")).await;
    browser
        .wait_for(&format!(
            "location.origin === {} && document.readyState === 'complete'",
            json!(origin)
        ))
        .await;
    browser.eval(&plant).await;
    browser.use_tab(page);
    browser
        .wait_for("window.heard.some((value) => value !== null)")
        .await;
    browser
        .wait_for("localStorage.getItem('cafe-tokens') === null")
        .await;

    // The same for a page served with sessions.
    let sessions = crate::support::spawn_app(Mode::Sessions).await;
    browser.open(&sessions).await;
    browser.eval(&plant).await;
    browser.open(&sessions).await;
    assert_eq!(leftover(&mut browser).await, Value::Null, "sessions");
}

// ---------------------------------------------------------------- the rules

/// The page's last command, against the rules the book states for it: it
/// is the hybrid *Which should I choose?* recommends (with Redis and a
/// secret file), so every lab attack on the ASVS requirements that
/// chapter's Security call-out cites, and every other attack this chapter
/// names in its prose, must be refused. The four XSS attacks its loops run
/// are the trade-offs the last step shows, and are not in this list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_command_refuses_every_attack_on_the_rules_the_book_states() {
    let steps = steps();
    let folder = Folder::new();
    let (secret, words) = &steps.new_secret;
    folder.new_secret(secret);
    let rules = requirements(&security_callouts(&crate::recommended::chapter()));
    let mut attacks = rule_attacks(&rules);
    for name in attacks_named_in_prose() {
        if !attacks.iter().any(|attack| attack.name == name) {
            attacks.push(attack_lab::find(&name).unwrap());
        }
    }
    let names: Vec<&str> = attacks.iter().map(|attack| attack.name).collect();
    let Some(redis) = PrintedRedis::start(&steps.redis) else {
        return;
    };
    redis.check_reached_by(words);
    let run = attack(&folder.here(words), Some(&redis.url()), &attacks).await;
    assert_eq!(run.auth, AuthMode::Hybrid);
    assert!(
        run.broken.is_empty(),
        "{CHAPTER}'s last command breaks a rule:\n{}",
        run.broken.join("\n")
    );
    // All but two apply: there is no session ID to guess, and an HS256
    // secret has no public key to confuse with (algorithm confusion).
    assert_eq!(names.len(), 19, "{names:?}");
    assert!(names.contains(&"credential-after-password-change"));
    assert_eq!((run.ran, run.refused), (17, 17), "attacks run, refused");
    chapter_says(&format!("all {} that apply to it", run.refused));
}

/// The lab attacks the chapter names in inline code, outside its code
/// blocks.
fn attacks_named_in_prose() -> Vec<String> {
    let mut prose = String::new();
    let mut in_block = false;
    for line in chapter().lines() {
        if line.trim().starts_with("```") {
            in_block = !in_block;
        } else if !in_block {
            prose.push_str(line);
            prose.push('\n');
        }
    }
    let named: Vec<String> = prose
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|word| attack_lab::find(word).is_some())
        .map(str::to_owned)
        .collect();
    assert!(!named.is_empty(), "{CHAPTER} names no lab attack");
    named
}
