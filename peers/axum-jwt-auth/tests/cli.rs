//! The binary: flags, refusals at start, and the line launchers wait for.

mod common;

use common::{SECRET, now, sign};
use peer_axum_jwt_auth::tokens::AUDIENCE;
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

const BINARY: &str = env!("CARGO_BIN_EXE_peer-axum-jwt-auth");

/// A file in the target's temporary directory holding `contents`.
fn secret_file(name: &str, contents: &[u8]) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

/// Runs the binary to its end: exit code and standard error.
fn refused(args: &[&str]) -> (i32, String) {
    let output = Command::new(BINARY).args(args).output().unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn a_short_secret_is_refused_at_start_naming_the_flag() {
    let path = secret_file("short-secret", b"thirty-one bytes, one too few!!\n");
    let (code, stderr) = refused(&["--jwt-secret-file", path.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--jwt-secret-file"), "{stderr}");
    assert!(
        stderr.contains("31 bytes"),
        "the newline is not counted: {stderr}"
    );
}

#[test]
fn a_missing_secret_file_and_an_unknown_flag_are_refused_naming_them() {
    let (code, stderr) = refused(&["--jwt-secret-file", "/nonexistent/secret"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--jwt-secret-file") && stderr.contains("/nonexistent/secret"));
    let (code, stderr) = refused(&["--store", "redis"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--store"), "{stderr}");
    let (code, stderr) = refused(&["--port", "eighty"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--port"), "{stderr}");
}

/// Kills the server when the test ends, passed or failed.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary with `args` on a free port: it and its address.
fn start(args: &[&str]) -> (Running, String) {
    let mut child = Command::new(BINARY)
        .args(args)
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let address = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("first line: {line:?}"))
        .to_owned();
    assert!(address.starts_with("127.0.0.1:"), "{address}");
    (running, address)
}

#[test]
fn with_port_0_it_prints_where_it_listens_and_answers_there() {
    let (_server, address) = start(&["--hardened"]);
    let status = tokio::runtime::Runtime::new().unwrap().block_on(async {
        reqwest::get(format!("http://{address}/healthz"))
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, reqwest::StatusCode::OK);
}

#[test]
fn a_key_holder_of_the_secret_file_signs_tokens_the_server_accepts() {
    let mut contents = SECRET.to_vec();
    contents.push(b'\n');
    let path = secret_file("key-holder-secret", &contents);
    let (_server, address) = start(&["--jwt-secret-file", path.to_str().unwrap()]);
    let claims = json!({
        "sub": "alice", "role": "member", "exp": now() + 60, "iat": now(), "aud": AUDIENCE,
    });
    let forged = sign(&json!({"alg": "HS256"}), &claims, SECRET);
    let status = tokio::runtime::Runtime::new().unwrap().block_on(async {
        reqwest::Client::new()
            .get(format!("http://{address}/me"))
            .bearer_auth(forged)
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(
        status,
        reqwest::StatusCode::OK,
        "the file's bytes, less the newline"
    );
}
