//! The README's three lines that point the attack lab at a peer started by
//! hand, run as a reader runs them: `cargo build -p peer-axum-login -p
//! attack-lab`, then, pasted together, `target/debug/peer-axum-login
//! --hardened &` and at once `target/debug/attack-lab all --profile …`,
//! without waiting for the peer to listen. Only the port is rewritten, as
//! the README says: the peer gets `--port N` on a free port and the lab
//! `--target http://127.0.0.1:N`, so the test never meets a server a
//! reader left running on 8081.
//!
//! The lines were once two `cargo run`s. On a fresh clone the first
//! compile of one could outlast the other's 30 seconds of waiting (CI
//! failed so: the lab's build took cargo's lock first, then it gave up
//! while the peer compiled), so the README builds both first and the test
//! holds it to that: no line after the build runs cargo.

use cafe_client::launch::free_port;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A process started in the background, as `&` starts it: killed when
/// the test ends, however it ends.
struct Background(Child);

impl Drop for Background {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

/// The workspace's root, where a reader runs the README's commands.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The lines of the README's console block that starts the peer.
fn printed_lines() -> Vec<String> {
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    let mut blocks = readme.split("```console\n").skip(1).map(|block| {
        block
            .split("```")
            .next()
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    });
    blocks
        .find(|lines| lines.iter().any(|line| line.contains("-p peer-axum-login")))
        .expect("the README has a console block that starts a peer")
}

/// `cargo build -p A -p B …`: the packages it builds.
fn cargo_build(line: &str) -> Vec<String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        words[..2],
        ["cargo", "build"],
        "{line:?} is not `cargo build -p …`"
    );
    let packages: Vec<String> = words[2..]
        .chunks(2)
        .map(|pair| match pair {
            ["-p", package] => (*package).to_owned(),
            other => panic!("{other:?} in {line:?}: only `-p PACKAGE` pairs"),
        })
        .collect();
    assert!(!packages.is_empty(), "{line:?} builds nothing");
    packages
}

/// Where cargo puts what it builds: `target/` in the workspace, unless the
/// reader set `CARGO_TARGET_DIR` (the README says so).
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"))
}

/// `target/debug/PROGRAM ARGS`: a program the build line built, and its
/// arguments. Anything else (`cargo run` above all) fails the test: a line
/// that compiles can outlast the lab's wait.
fn built_program(line: &str, built: &[String]) -> (String, Vec<String>) {
    let mut words = line.split_whitespace();
    let program = words
        .next()
        .and_then(|word| word.strip_prefix("target/debug/"))
        .unwrap_or_else(|| panic!("{line:?} does not run a program the first line built"));
    assert!(
        built.iter().any(|package| package == program),
        "{line:?} runs {program}, which the first line does not build ({built:?})"
    );
    (program.to_owned(), words.map(str::to_owned).collect())
}

/// The verdict kinds the lab printed, by the `== name (…)` line before
/// each `verdict: …` line.
fn verdicts(out: &str) -> Vec<(String, String)> {
    let mut seen = Vec::new();
    let mut name = None;
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix("== ") {
            name = rest.split(' ').next().map(str::to_owned);
        } else if let Some(verdict) = line.strip_prefix("verdict: ") {
            let kind = verdict.split(':').next().unwrap_or_default().to_owned();
            seen.push((name.take().expect("a verdict after its header"), kind));
        }
    }
    seen
}

#[test]
fn the_readme_points_the_lab_at_a_peer_started_by_hand() {
    let lines = printed_lines();
    assert_eq!(lines.len(), 3, "{lines:?}");
    let built = cargo_build(&lines[0]);
    let peer_line = lines[1]
        .strip_suffix(" &")
        .unwrap_or_else(|| panic!("the peer's line runs in the background: {:?}", lines[1]));
    let (peer, mut peer_args) = built_program(peer_line, &built);
    let (lab, mut lab_args) = built_program(&lines[2], &built);
    assert_eq!(
        (peer.as_str(), lab.as_str()),
        ("peer-axum-login", "attack-lab")
    );
    let profile = lab_args
        .iter()
        .position(|arg| arg == "--profile")
        .and_then(|at| lab_args.get(at + 1))
        .expect("the lab's line names a profile")
        .clone();

    // The port: the one thing rewritten.
    let port = free_port().unwrap().to_string();
    peer_args.extend(["--port".to_owned(), port.clone()]);
    let target = format!("http://127.0.0.1:{port}");
    lab_args.extend(["--target".to_owned(), target.clone()]);

    // The build, as printed.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| env!("CARGO").to_owned());
    let build = Command::new(&cargo)
        .args(lines[0].split_whitespace().skip(1))
        .current_dir(workspace())
        .output()
        .unwrap();
    assert!(
        build.status.success(),
        "{}: {}",
        lines[0],
        String::from_utf8_lossy(&build.stderr)
    );
    let program = |name: &str| target_dir().join("debug").join(name);
    // The peer in the background, as `&` runs it; a thread notes when it
    // says it listens.
    let mut peer_process = Command::new(program(&peer))
        .args(&peer_args)
        .current_dir(workspace())
        .env_remove("CAFE_JWT_SECRET")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("{}: {error}", lines[1]));
    let peer_out = peer_process.stdout.take().unwrap();
    let _peer = Background(peer_process);
    let (listening_tx, listening_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(peer_out).lines() {
            let line = line.unwrap_or_default();
            if let Some(url) = line.strip_prefix("listening on ") {
                listening_tx.send((Instant::now(), url.to_owned())).ok();
            }
        }
    });

    // The lab's line, at once: the shell does not wait for the peer.
    let lab_started = Instant::now();
    let output = Command::new(program(&lab))
        .args(&lab_args)
        .current_dir(workspace())
        .env_remove("CAFE_JWT_SECRET")
        .output()
        .unwrap();
    let out = String::from_utf8(output.stdout).unwrap();
    let err = String::from_utf8(output.stderr).unwrap();
    let (listening_at, url) = listening_rx
        .recv_timeout(Duration::from_secs(5))
        .unwrap_or_else(|_| panic!("the peer never said it listens\n{out}{err}"));
    assert_eq!(url, target);
    // How long after the lab's line the peer began to listen: the time the
    // lab waited, if it was started first. It says so once, on stderr.
    // Nothing else on stderr: the lab ran.
    let waited = listening_at.checked_duration_since(lab_started);
    let waiting = format!("attack-lab: waiting for {target} to listen…\n");
    println!(
        "the peer listened {waited:?} after the lab's line started; the lab waited: {}",
        err == waiting
    );
    assert!(err.is_empty() || err == waiting, "{err}");

    // The peer lets some attacks through (see the libraries table), so
    // the lab exits 1, after a verdict on every check and every attack.
    assert_eq!(output.status.code(), Some(1), "{out}{err}");
    let loaded = cafe_client::Profile::load(&workspace().join(&profile)).unwrap();
    assert!(
        out.starts_with(&format!(
            "profile: {} at {target}\nserver: sessions (a session cookie)\n",
            loaded.name
        )),
        "{out}{err}"
    );
    let checks = attack_lab::conformance::checks();
    let attacks = attack_lab::catalogue();
    let seen = verdicts(&out);
    let names: Vec<&str> = seen.iter().map(|(name, _)| name.as_str()).collect();
    let expected: Vec<&str> = checks
        .iter()
        .map(|check| check.name)
        .chain(attacks.iter().map(|attack| attack.name))
        .collect();
    assert_eq!(names, expected, "{out}");
    let (of_checks, of_attacks) = seen.split_at(checks.len());
    let count = |seen: &[(String, String)], kind: &str| {
        seen.iter().filter(|(_, seen)| seen == kind).count()
    };
    let summary = format!(
        "summary: {} refused, {} accepted, {} skipped, {} errors; \
         checks: {} held, {} failed, {} skipped, {} errors",
        count(of_attacks, "REFUSED"),
        count(of_attacks, "ACCEPTED"),
        count(of_attacks, "skipped"),
        count(of_attacks, "ERROR"),
        count(of_checks, "HOLDS"),
        count(of_checks, "FAILS"),
        count(of_checks, "skipped"),
        count(of_checks, "ERROR"),
    );
    assert!(out.contains(&format!("\n{summary}\n")), "{summary}\n{out}");
    assert!(count(of_attacks, "ACCEPTED") > 0, "{out}");
    // What the reader sees is the libraries table's column for this peer,
    // but for the timing attack: the table counts the server's password
    // hashes, which this run (two processes) cannot see, so here the lab
    // times the answers, an estimate a busy machine can tip either way.
    let timed = |name: &str| name == "login-timing-enumeration";
    let column = table_column("axum-login hardened");
    assert_eq!(
        seen.iter()
            .zip(&expected)
            .filter(|(_, name)| !timed(name))
            .map(|((_, kind), _)| kind.as_str())
            .collect::<Vec<_>>(),
        column
            .iter()
            .zip(&expected)
            .filter(|(_, name)| !timed(name))
            .map(|(kind, _)| *kind)
            .collect::<Vec<_>>(),
        "{out}"
    );
}

/// The libraries table's column `title`, each cell as the lab's verdict
/// line words it (`refused` is `REFUSED`, `risk` is `ACCEPTED`, `—` and
/// `skipped` are `skipped`, a wrong answer is an `ERROR`).
fn table_column(title: &str) -> Vec<&'static str> {
    let table =
        std::fs::read_to_string(workspace().join("book/verdict/libraries-table.md")).unwrap();
    let cells = |line: &str| -> Vec<String> {
        line.trim()
            .trim_matches('|')
            .split('|')
            .map(|cell| cell.trim().to_owned())
            .collect()
    };
    let mut rows = table.lines().filter(|line| line.starts_with('|'));
    let heading = cells(rows.next().expect("a heading row"));
    let column = heading
        .iter()
        .position(|cell| cell == title)
        .unwrap_or_else(|| panic!("no column {title:?} in {heading:?}"));
    rows.skip(1)
        .filter(|line| !line.starts_with("| **"))
        .map(|line| match cells(line)[column].as_str() {
            "refused" => "REFUSED",
            // A risk is an attack that got through, by the design of the
            // café's column of the same mechanism.
            "accepted" | "risk" => "ACCEPTED",
            "holds" => "HOLDS",
            "fails" => "FAILS",
            "—" | "skipped" => "skipped",
            wrong if wrong.starts_with("wrong answer") => "ERROR",
            other => panic!("{other:?} in the {title:?} column"),
        })
        .collect()
}
