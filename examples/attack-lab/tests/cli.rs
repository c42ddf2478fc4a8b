//! The `attack-lab` binary, run as a reader would run it, against a café
//! served on a loopback port.

use cafe::{AuthMode, Config};
use jwt::keys::{KeyRing, SigningAlgorithm, SigningKey};
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The workspace's root, where a reader runs `cargo run -p attack-lab`.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn attack_lab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_attack-lab"))
        .args(args)
        .current_dir(workspace())
        .env_remove("CAFE_JWT_SECRET")
        .output()
        .unwrap()
}

/// Exit status, standard output and standard error of `output`.
fn shown(output: Output) -> (Option<i32>, String, String) {
    (
        output.status.code(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// A file of this test's own in the temporary directory, holding `text`.
fn temporary_file(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("attack-lab-{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

/// The café's profile, as the repository holds it.
fn cafe_profile() -> String {
    std::fs::read_to_string(workspace().join("examples/cafe/profile.toml")).unwrap()
}

/// A `--auth jwt` café signing with `secret`, served on a free loopback
/// port by a runtime of its own for as long as the returned runtime lives.
fn serve_jwt_cafe(secret: &[u8]) -> (tokio::runtime::Runtime, String) {
    serve_cafe(AuthMode::Jwt, secret)
}

/// A café in `mode` signing with `secret`, served like [`serve_jwt_cafe`].
fn serve_cafe(mode: AuthMode, secret: &[u8]) -> (tokio::runtime::Runtime, String) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut config = Config::new(mode);
    let algorithm = SigningAlgorithm::Hs256;
    config.jwt_keys = KeyRing::new(SigningKey::hs256(algorithm.first_key_id(), secret).unwrap());
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    runtime.spawn(cafe::serve(listener, config));
    (runtime, address)
}

#[test]
fn list_names_every_attack_then_every_check() {
    let output = attack_lab(&["--list"]);
    assert!(output.status.success());
    let listing = String::from_utf8(output.stdout).unwrap();
    let (attacks, checks) = listing
        .split_once("\nconformance checks (`attack-lab conformance` runs them all):\n")
        .unwrap_or_else(|| panic!("no conformance section: {listing}"));
    let names = |section: &str| -> Vec<String> {
        section
            .lines()
            .filter_map(|line| line.split_whitespace().next())
            .map(str::to_owned)
            .collect()
    };
    let expected: Vec<&str> = attack_lab::catalogue()
        .iter()
        .map(|attack| attack.name)
        .collect();
    assert_eq!(names(attacks), expected);
    let expected: Vec<&str> = attack_lab::conformance::checks()
        .iter()
        .map(|check| check.name)
        .collect();
    assert_eq!(names(checks), expected);
    // A name on the command line is one attack or one check, never both.
    for check in expected {
        assert!(
            attack_lab::find(check).is_none(),
            "{check} is an attack too"
        );
    }
}

/// The `(name, verdict kind)` of each attack or check `out` shows (the
/// `== name (…)` line and the word after `verdict: `), and its summary.
fn verdicts(out: &str) -> (Vec<(String, String)>, Option<String>) {
    let mut seen = Vec::new();
    let mut name = None;
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix("== ") {
            name = rest.split(' ').next().map(str::to_owned);
        } else if let Some(verdict) = line.strip_prefix("verdict: ") {
            let kind = verdict.split(':').next().unwrap_or_default().to_owned();
            seen.push((name.take().expect("a verdict after a header"), kind));
        }
    }
    let summary = out
        .lines()
        .find_map(|line| line.strip_prefix("summary: "))
        .map(str::to_owned);
    (seen, summary)
}

/// `conformance` runs every check and counts them in the summary; `all`
/// runs every check and then every attack (which leave the server
/// otherwise: the last fills admin's failure ceiling), and exits 1 when a
/// check fails, as when an attack gets through; one check runs by its
/// name.
#[test]
fn conformance_and_all_run_the_checks_and_count_them() {
    let checks = attack_lab::conformance::checks();
    let check_names: Vec<&str> = checks.iter().map(|check| check.name).collect();
    let attack_names: Vec<&str> = attack_lab::catalogue()
        .iter()
        .map(|attack| attack.name)
        .collect();
    let secret = b"an attack-lab test secret of 32+ bytes";

    // Sessions: every check holds (attack-lab's tests/conformance.rs).
    let (_sessions, target) = serve_cafe(AuthMode::Sessions, secret);
    let (code, out, err) = shown(attack_lab(&["conformance", "--target", &target]));
    assert_eq!(code, Some(0), "{out}{err}");
    let (seen, summary) = verdicts(&out);
    let names: Vec<&str> = seen.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, check_names);
    assert!(seen.iter().all(|(_, kind)| kind == "HOLDS"), "{seen:?}");
    assert!(
        out.contains("== login-returns-the-user (conformance)\nmust:   "),
        "{out}"
    );
    assert_eq!(
        summary.as_deref(),
        Some(
            format!(
                "checks: {} held, 0 failed, 0 skipped, 0 errors",
                checks.len()
            )
            .as_str()
        )
    );

    // One check by its name.
    let (code, out, err) = shown(attack_lab(&["errors-are-json", "--target", &target]));
    assert_eq!(code, Some(0), "{out}{err}");
    let (seen, summary) = verdicts(&out);
    assert_eq!(seen, [("errors-are-json".to_owned(), "HOLDS".to_owned())]);
    assert_eq!(
        summary.as_deref(),
        Some("checks: 1 held, 0 failed, 0 skipped, 0 errors")
    );

    // JWT: every check, then every attack; the role a token carries
    // outlives a role change by design, so that check fails and the run
    // exits 1, naming it.
    let (_jwt, target) = serve_jwt_cafe(secret);
    let (code, out, err) = shown(attack_lab(&["all", "--target", &target]));
    assert_eq!(code, Some(1), "{out}{err}");
    let (seen, summary) = verdicts(&out);
    let names: Vec<&str> = seen.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, [check_names, attack_names.clone()].concat());
    let count =
        |kinds: &[(String, String)], kind: &str| kinds.iter().filter(|(_, k)| k == kind).count();
    let (checks_seen, attacks) = seen.split_at(checks.len());
    let attack_part = format!(
        "{} refused, {} accepted, {} skipped, {} errors",
        count(attacks, "REFUSED"),
        count(attacks, "ACCEPTED"),
        count(attacks, "skipped"),
        count(attacks, "ERROR"),
    );
    assert_eq!(count(attacks, "ERROR"), 0, "{out}");
    assert_eq!(count(checks_seen, "FAILS"), 1, "{out}");
    assert_eq!(
        summary,
        Some(format!(
            "{attack_part}; checks: {} held, 1 failed, 0 skipped, 0 errors",
            checks.len() - 1
        ))
    );
    assert!(
        out.contains("\nfailed: role-change-seen-on-next-request\n"),
        "{out}"
    );
}

/// The lab against a running café: a refused attack exits 0 and shows
/// what it sent; an attack the mode lets through by design exits 1 and
/// says ACCEPTED; an attack that needs the server's key says so without it.
#[test]
fn attack_runs_against_a_running_server_and_reports_each_exchange() {
    let secret = "an attack-lab test secret of 32+ bytes";
    let secret_file =
        std::env::temp_dir().join(format!("attack-lab-secret-{}", std::process::id()));
    std::fs::write(&secret_file, secret).unwrap();
    let secret_path = secret_file.to_str().unwrap();
    let (_server, target) = serve_jwt_cafe(secret.as_bytes());
    let attack = |args: &[&str]| {
        let output = attack_lab(&[&["--target", &target], args].concat());
        (
            output.status.success(),
            String::from_utf8(output.stdout).unwrap(),
        )
    };

    let (refused, shown) = attack(&["jwt-alg-none"]);
    assert!(refused, "{shown}");
    assert!(shown.contains("> GET "), "{shown}");
    assert!(shown.contains("< 401 "), "{shown}");
    assert!(shown.contains("verdict: REFUSED"), "{shown}");

    let (refused, shown) = attack(&["access-after-logout"]);
    assert!(!refused, "{shown}");
    assert!(shown.contains("verdict: ACCEPTED"), "{shown}");

    let (_, shown) = attack(&["jwt-wrong-audience"]);
    assert!(
        shown.contains("verdict: skipped: needs the server's signing key"),
        "{shown}"
    );
    let (refused, shown) = attack(&["jwt-wrong-audience", "--jwt-secret-file", secret_path]);
    assert!(refused, "{shown}");
    std::fs::remove_file(secret_file).ok();
}

#[test]
fn an_unknown_attack_is_refused_with_a_pointer_to_the_list() {
    let output = attack_lab(&["jwt-sorcery", "--target", "http://127.0.0.1:9"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("attack-lab --list"), "{stderr}");
}

/// The lab run by the café's profile file, as a reader types it
/// (`--profile examples/cafe/profile.toml`, the café served elsewhere than
/// the profile's target, so `--target` too): the profile's paths, field
/// names, session cookie and `[token]` reach the café, which refuses as it
/// does without a profile.
#[test]
fn the_cafes_profile_file_runs_the_lab_against_a_cafe() {
    let secret = "an attack-lab test secret of 32+ bytes";
    let secret_file = temporary_file("profile-secret", secret);
    let (_jwt, jwt_target) = serve_jwt_cafe(secret.as_bytes());
    let (_sessions, sessions_target) = serve_cafe(AuthMode::Sessions, secret.as_bytes());
    let profile = "examples/cafe/profile.toml";
    let attack = |target: &str, args: &[&str]| {
        shown(attack_lab(
            &[&["--profile", profile, "--target", target], args].concat(),
        ))
    };

    let (code, out, err) = attack(&jwt_target, &["jwt-alg-none"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.starts_with(&format!("profile: café at {jwt_target}\nserver: JWT")),
        "{out}"
    );
    assert!(out.contains(&format!("> POST {jwt_target}/login")), "{out}");
    assert!(out.contains("verdict: REFUSED: 401"), "{out}");

    // Forged as a key holder with the profile's issuer, audience and type:
    // only the audience is wrong, and the café says so.
    let secret_path = secret_file.to_str().unwrap();
    let (code, out, _) = attack(
        &jwt_target,
        &["jwt-wrong-audience", "--jwt-secret-file", secret_path],
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("verdict: REFUSED: 401"), "{out}");

    // The session cookie the profile names is the one planted.
    let (code, out, _) = attack(&sessions_target, &["session-fixation"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("> cookie: __Host-session="), "{out}");
    assert!(out.contains("verdict: REFUSED: 401"), "{out}");
    std::fs::remove_file(secret_file).ok();
}

/// An endpoint or account the profile does not name: the attack that needs
/// it is skipped, saying which, and the request is never sent.
#[test]
fn what_the_profile_lacks_skips_the_attack_without_sending_it() {
    let (_server, target) = serve_jwt_cafe(b"an attack-lab test secret of 32+ bytes");
    let cafe = cafe_profile();
    let admin_at = cafe.find("\n[[accounts]]\nname = \"admin\"").unwrap();
    let lacking = cafe[..admin_at].replace("logout = \"/logout\"\n", "");
    let lacking = temporary_file("lacking.toml", &lacking);
    let attack = |name: &str| {
        shown(attack_lab(&[
            name,
            "--profile",
            lacking.to_str().unwrap(),
            "--target",
            &target,
        ]))
    };

    let (code, out, err) = attack("access-after-logout");
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("verdict: skipped: the profile names no logout path"),
        "{out}"
    );
    assert!(!out.contains("/logout"), "a logout was sent: {out}");

    let (code, out, _) = attack("access-after-ban");
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("verdict: skipped: the profile names no admin account"),
        "{out}"
    );
    assert!(!out.contains("/role"), "a role change was sent: {out}");
    std::fs::remove_file(lacking).ok();
}

/// A profile with an unknown key, no account or a target that is no
/// address, and a `--target` that is none: refused at start (exit 2),
/// naming the file or flag and the problem, before anything is sent.
#[test]
fn a_bad_profile_or_target_is_refused_at_start_naming_it() {
    let cafe = cafe_profile();
    let accounts_at = cafe.find("\n[[accounts]]").unwrap();
    let cases = [
        (
            "typo.toml",
            cafe.replace("\nlogout = ", "\nlogut = "),
            "unknown field `logut`, expected one of `login`, `me`",
        ),
        (
            "no-account.toml",
            cafe[..accounts_at].to_owned(),
            "accounts: the profile names no account",
        ),
        (
            "bad-target.toml",
            cafe.replace("\"http://127.0.0.1:8080\"", "\"127.0.0.1:8080\""),
            "target: \"127.0.0.1:8080\" is not a URL",
        ),
    ];
    for (name, text, problem) in cases {
        let path = temporary_file(name, &text);
        let shown_path = path.display().to_string();
        let (code, out, err) = shown(attack_lab(&["all", "--profile", &shown_path]));
        assert_eq!(code, Some(2), "{name}: {out}{err}");
        assert_eq!(out, "", "{name}");
        assert!(
            err.starts_with(&format!("attack-lab: --profile {shown_path}: ")),
            "{name}: {err}"
        );
        assert!(err.contains(problem), "{name}: {err}");
        std::fs::remove_file(path).ok();
    }
    let (code, out, err) = shown(attack_lab(&["all", "--target", "localhost:8080"]));
    assert_eq!(code, Some(2), "{out}{err}");
    assert_eq!(
        err,
        "attack-lab: --target: \"localhost:8080\" is not an http:// or https:// address\n"
    );
}

/// Every attack, run by the café's profile file against a hybrid café,
/// ends as it does run without a profile against another: the profile's
/// paths, fields and cookies are the café's own.
#[test]
fn every_attack_ends_by_the_cafes_profile_as_it_does_without_one() {
    let secret = b"an attack-lab test secret of 32+ bytes";
    let verdicts = |args: &[&str]| {
        // A café of its own: the login throttle remembers the other run.
        let (_server, target) = serve_cafe(AuthMode::Hybrid, secret);
        let (code, out, err) = shown(attack_lab(&[&["all", "--target", &target], args].concat()));
        // Each attack's name and verdict (without its details: the
        // timing attack prints its times), and the summary.
        let kinds: Vec<String> = out
            .lines()
            .filter_map(|line| match line.strip_prefix("verdict: ") {
                Some(verdict) => verdict.split(':').next().map(str::to_owned),
                None => (line.starts_with("== ") || line.starts_with("summary: "))
                    .then(|| line.to_owned()),
            })
            .collect();
        (code, kinds, err)
    };
    let without = verdicts(&[]);
    let with = verdicts(&["--profile", "examples/cafe/profile.toml"]);
    assert!(
        without.1.len() > 2 * attack_lab::catalogue().len(),
        "{without:?}"
    );
    assert_eq!(with, without);
}

/// The lab on a free port, `args` after `--target`, started in the
/// background with its output piped; `patience_ms` sets
/// `ATTACK_LAB_CONNECT_PATIENCE_MS`, the tests' override of how long the
/// lab waits for the target to listen.
fn attack_lab_in_background(
    target: &str,
    args: &[&str],
    patience_ms: Option<&str>,
) -> std::process::Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_attack-lab"));
    command
        .args([&["--target", target], args].concat())
        .current_dir(workspace())
        .env_remove("CAFE_JWT_SECRET")
        .env_remove("ATTACK_LAB_CONNECT_PATIENCE_MS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(patience) = patience_ms {
        command.env("ATTACK_LAB_CONNECT_PATIENCE_MS", patience);
    }
    command.spawn().unwrap()
}

/// A server started in the same shell line as the lab may listen after
/// the lab's first login (README: `cargo run -p peer-axum-login -- … &`,
/// then the lab): the lab, refused a connection, says once that it waits,
/// and runs when the server listens. Forced: the café is served only once
/// the lab has said it waits, and a second later.
#[test]
fn the_lab_waits_for_a_server_that_listens_after_it_starts() {
    let port = cafe_client::launch::free_port().unwrap();
    let target = format!("http://127.0.0.1:{port}");
    let mut lab = attack_lab_in_background(&target, &["jwt-alg-none"], None);
    let mut err = std::io::BufReader::new(lab.stderr.take().unwrap());
    let mut first = String::new();
    err.read_line(&mut first).unwrap();
    assert_eq!(
        first,
        format!("attack-lab: waiting for {target} to listen…\n")
    );
    std::thread::sleep(Duration::from_secs(1));

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut config = Config::new(AuthMode::Jwt);
    let secret = b"an attack-lab test secret of 32+ bytes";
    config.jwt_keys =
        KeyRing::new(SigningKey::hs256(SigningAlgorithm::Hs256.first_key_id(), secret).unwrap());
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(("127.0.0.1", port)))
        .unwrap();
    runtime.spawn(cafe::serve(listener, config));

    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    let output = lab.wait_with_output().unwrap();
    let out = String::from_utf8(output.stdout).unwrap();
    // As against a café listening from the start: refused, exit 0, and
    // nothing more on stderr.
    assert_eq!(output.status.code(), Some(0), "{out}{first}{rest}");
    assert!(out.contains("verdict: REFUSED: 401"), "{out}");
    assert_eq!(rest, "");
}

/// With nothing ever listening, the lab gives up after its patience with
/// the error it gives at once without one; a bad patience is refused at
/// start, naming the variable.
#[test]
fn the_lab_gives_up_on_a_target_that_never_listens_after_its_patience() {
    let port = cafe_client::launch::free_port().unwrap();
    let target = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    let lab = attack_lab_in_background(&target, &["jwt-alg-none"], Some("1000"));
    let output = lab.wait_with_output().unwrap();
    let waited = started.elapsed();
    let (code, out, err) = shown(output);
    assert_eq!(code, Some(1), "{out}{err}");
    assert_eq!(out, "");
    let (waiting, error) = err.split_once('\n').unwrap();
    assert_eq!(
        waiting,
        format!("attack-lab: waiting for {target} to listen…")
    );
    assert!(
        error.starts_with(&format!("attack-lab: POST {target}/login: ")),
        "{err}"
    );
    assert!(
        error.ends_with(&format!(
            ": is a café running at {target}? (cargo run -p cafe -- serve)\n"
        )),
        "{err}"
    );
    assert!(waited >= Duration::from_secs(1), "{waited:?}");
    assert!(waited < Duration::from_secs(10), "{waited:?}");

    for bad in ["soon", "-1", ""] {
        let lab = attack_lab_in_background(&target, &["jwt-alg-none"], Some(bad));
        let (code, out, err) = shown(lab.wait_with_output().unwrap());
        assert_eq!(code, Some(2), "{bad:?}: {out}{err}");
        assert!(
            err.starts_with(&format!(
                "attack-lab: ATTACK_LAB_CONNECT_PATIENCE_MS={bad:?}: "
            )),
            "{bad:?}: {err}"
        );
    }
}

/// An HTTP answer, of any status, is never waited on: a server answering
/// 503 to the first login gets that one request, and the lab says what it
/// got at once, without waiting.
#[test]
fn the_lab_never_waits_on_a_server_that_answers() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let requests = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = requests.clone();
    let app = axum::Router::new().fallback(move || {
        counted.fetch_add(1, Ordering::SeqCst);
        async { http::StatusCode::SERVICE_UNAVAILABLE }
    });
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let target = format!("http://{}", listener.local_addr().unwrap());
    runtime.spawn(async move { axum::serve(listener, app).await });

    let lab = attack_lab_in_background(&target, &["jwt-alg-none"], None);
    let (code, out, err) = shown(lab.wait_with_output().unwrap());
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(!err.contains("waiting for"), "{err}");
    assert!(err.contains("503"), "{err}");
    assert_eq!(requests.load(Ordering::SeqCst), 1);
}
