//! `cargo run -p peer-axum-login -- …`: the binary starts, says where it
//! listens, and refuses bad flags at start, naming the flag.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::Duration,
};

const PEER: &str = env!("CARGO_BIN_EXE_peer-axum-login");

/// Runs the binary with `args` to its end: exit code and standard error.
fn refused(args: &[&str]) -> (i32, String) {
    let output = Command::new(PEER).args(args).output().unwrap();
    assert!(!output.status.success(), "{args:?} started");
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn bad_flags_are_refused_naming_the_flag() {
    for (args, flag) in [
        (&["--store", "disk"][..], "--store"),
        (&["--store", "redis"], "--redis-url"),
        (&["--redis-url", "redis://127.0.0.1:6379"], "--redis-url"),
        (&["--port", "eighty"], "--port"),
        (&["--port", "70000"], "--port"),
        (&["--secure"], "--secure"),
    ] {
        let (code, stderr) = refused(args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(flag), "{args:?}: {stderr}");
    }
}

#[test]
fn a_redis_url_that_is_not_one_or_is_not_reachable_is_refused_at_start() {
    // Port 1 on loopback: nothing listens there.
    for url in ["http://example", "redis://127.0.0.1:1"] {
        for hardened in [&[][..], &["--hardened"]] {
            let mut args = vec!["--store", "redis", "--redis-url", url];
            args.extend_from_slice(hardened);
            let (code, stderr) = refused(&args);
            assert_eq!(code, 1, "{args:?}: {stderr}");
            assert!(stderr.starts_with("error: --redis-url: "), "{stderr}");
        }
    }
}

#[tokio::test]
async fn it_prints_where_it_listens_and_serves_there() {
    let mut child = Command::new(PEER)
        .args(["--hardened", "--port", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{line:?}"))
        .to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let health = reqwest::Client::new()
        .get(format!("{base}/healthz"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), reqwest::StatusCode::OK);
    child.kill().unwrap();
    child.wait().unwrap();
}
