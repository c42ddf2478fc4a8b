//! The `cafe` binary, run as a reader would run it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn serve_prints_its_address_first_and_answers_there() {
    let mut server = Command::new(env!("CARGO_BIN_EXE_cafe"))
        .args(["serve", "--auth", "sessions", "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let rest: Vec<String> = lines.by_ref().take(3).map(Result::unwrap).collect();

    let address = first.strip_prefix("listening on http://").expect(&first);
    let port: u16 = address.strip_prefix("127.0.0.1:").unwrap().parse().unwrap();
    assert_ne!(port, 0);
    assert!(
        rest.iter()
            .any(|line| line.contains("alice") && line.contains("wonderland-42"))
    );
    assert!(
        rest.iter()
            .any(|line| line.contains("admin") && line.contains("admin-secret-42"))
    );

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let status = runtime.block_on(async {
        reqwest::get(format!("http://{address}/healthz"))
            .await
            .unwrap()
            .status()
    });
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(status, 200);
}

#[test]
fn help_documents_every_flag() {
    let output = Command::new(env!("CARGO_BIN_EXE_cafe"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    for flag in ["--auth", "--addr", "--idle-timeout", "--absolute-timeout"] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
}

#[test]
fn a_bad_duration_is_refused_with_a_reason() {
    let output = Command::new(env!("CARGO_BIN_EXE_cafe"))
        .args(["serve", "--idle-timeout", "30x"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let error = String::from_utf8(output.stderr).unwrap();
    assert!(error.contains("not a unit"), "{error}");
}

/// The session chapters tell readers to follow along with `curl -c`/`-b`
/// against `http://localhost`. That only works because curl keeps a `Secure`
/// cookie for localhost over plain HTTP; this checks it with the real curl.
#[tokio::test]
async fn curl_keeps_a_secure_cookie_for_localhost() {
    let app = crate::support::spawn_app(crate::support::Mode::Sessions).await;
    let port = app.address.rsplit(':').next().unwrap().to_owned();
    let jar = std::env::temp_dir().join(format!("cafe-curl-jar-{port}.txt"));
    let jar = jar.to_str().unwrap().to_owned();
    let curl = |args: Vec<String>| async move {
        let output = tokio::process::Command::new("curl")
            .args(["--silent", "--show-error"])
            .args(args)
            .output()
            .await
            .expect("curl is installed (the book's curl examples need it)");
        String::from_utf8(output.stdout).unwrap()
    };
    let login = curl(vec![
        format!("localhost:{port}/login"),
        "-c".into(),
        jar.clone(),
        "-H".into(),
        "content-type: application/json".into(),
        "-d".into(),
        r#"{"username":"alice","password":"wonderland-42"}"#.into(),
    ])
    .await;
    assert!(login.contains(r#""name":"alice""#), "{login}");
    let me = curl(vec![
        format!("localhost:{port}/me"),
        "-b".into(),
        jar.clone(),
    ])
    .await;
    std::fs::remove_file(&jar).ok();
    assert_eq!(me, r#"{"name":"alice","role":"member"}"#);
}
