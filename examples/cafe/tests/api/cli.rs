//! The `cafe` binary, run as a reader would run it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
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
    for flag in [
        "--auth",
        "--addr",
        "--idle-timeout",
        "--absolute-timeout",
        "--alg",
        "--jwt-secret-file",
        "--access-ttl",
        "--refresh-ttl",
        "--check-token-version",
    ] {
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
    assert!(error.contains("is not a duration"), "{error}");
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

fn cafe(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_cafe"))
        .args(args)
        .env_remove("CAFE_JWT_SECRET")
        .output()
        .unwrap()
}

#[test]
fn the_jwt_server_refuses_to_start_with_a_short_secret() {
    let path = std::env::temp_dir().join(format!("cafe-short-secret-{}", std::process::id()));
    std::fs::write(&path, "hunter2\n").unwrap();
    let output = cafe(&[
        "serve",
        "--auth",
        "jwt",
        "--addr",
        "127.0.0.1:0",
        "--jwt-secret-file",
        path.to_str().unwrap(),
    ]);
    std::fs::remove_file(&path).ok();
    assert!(!output.status.success());
    let error = String::from_utf8(output.stderr).unwrap();
    assert!(error.contains("at least 32 bytes"), "{error}");

    let empty = Command::new(env!("CARGO_BIN_EXE_cafe"))
        .args(["serve", "--auth", "jwt", "--addr", "127.0.0.1:0"])
        .env("CAFE_JWT_SECRET", "")
        .output()
        .unwrap();
    assert!(
        !empty.status.success(),
        "an empty CAFE_JWT_SECRET is refused too"
    );
}

#[test]
fn the_jwt_server_says_when_it_made_its_own_secret() {
    let mut server = Command::new(env!("CARGO_BIN_EXE_cafe"))
        .args(["serve", "--auth", "jwt", "--addr", "127.0.0.1:0"])
        .env_remove("CAFE_JWT_SECRET")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let second = lines.next().unwrap().unwrap();
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(
        first.starts_with("listening on http://127.0.0.1:"),
        "{first}"
    );
    assert!(second.contains("random secret"), "{second}");
}

#[test]
fn token_decode_shows_the_rfc_7515_example_and_says_it_is_unverified() {
    let output = cafe(&["token", "decode", jwt::anatomy::RFC7515_A1_TOKEN]);
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("NOT verified"), "{text}");
    assert!(text.contains(r#""iss": "joe""#), "{text}");
    assert!(text.contains(r#""alg": "HS256""#), "{text}");
}

#[test]
fn token_verify_checks_the_rfc_7515_example_with_its_published_key() {
    let key = jwt::anatomy::RFC7515_A1_KEY;
    let token = jwt::anatomy::RFC7515_A1_TOKEN;
    // In March 2011, before its exp, the example is accepted...
    let then = cafe(&[
        "token",
        "verify",
        token,
        "--hs256-key-base64url",
        key,
        "--at",
        "1300819000",
    ]);
    let text = String::from_utf8(then.stdout).unwrap();
    assert!(then.status.success(), "{text}");
    assert!(text.contains("signature: valid (HS256"), "{text}");
    // ...and today its signature is still valid, but it has long expired.
    let now = cafe(&["token", "verify", token, "--hs256-key-base64url", key]);
    let text = String::from_utf8(now.stdout).unwrap();
    assert!(!now.status.success());
    assert!(
        text.contains("signature: valid") && text.contains("expired"),
        "{text}"
    );
    // With another key, the signature fails.
    let other = URL_SAFE_NO_PAD.encode([7u8; 32]);
    let wrong = cafe(&[
        "token",
        "verify",
        token,
        "--hs256-key-base64url",
        &other,
        "--at",
        "1300819000",
    ]);
    assert!(!wrong.status.success());
    assert!(
        String::from_utf8(wrong.stdout)
            .unwrap()
            .contains("signature check failed")
    );
}

#[test]
fn token_verify_uses_a_jwks_file_for_public_key_tokens() {
    use jwt::keys::{KeyRing, SigningAlgorithm, SigningKey};
    use jwt::tokens::{TokenKind, sign};
    let ring = KeyRing::new(SigningKey::generate("es256-1", SigningAlgorithm::Es256).unwrap());
    let claims = serde_json::json!({ "iss": "cafe", "sub": "alice", "exp": 4_102_444_800u64 });
    let token = sign(&ring, TokenKind::Access, &claims).unwrap();
    let path = std::env::temp_dir().join(format!("cafe-jwks-{}.json", std::process::id()));
    std::fs::write(&path, serde_json::to_string(&ring.jwks()).unwrap()).unwrap();
    let output = cafe(&[
        "token",
        "verify",
        &token,
        "--jwks-file",
        path.to_str().unwrap(),
    ]);
    std::fs::remove_file(&path).ok();
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains("signature: valid (ES256, kid es256-1)"),
        "{text}"
    );
}

/// Records `cafe token decode` and `cafe token verify` on the RFC 7515
/// example, for the JWT anatomy chapter.
#[test]
fn token_commands_on_the_rfc_7515_example_are_recorded() {
    let token = jwt::anatomy::RFC7515_A1_TOKEN;
    let key = jwt::anatomy::RFC7515_A1_KEY;
    let mut text = String::new();
    let decode = cafe(&["token", "decode", token]);
    text.push_str("$ cargo run -q -p cafe -- token decode $RFC7515_TOKEN\n");
    text.push_str(&String::from_utf8(decode.stdout).unwrap());
    let verify = cafe(&[
        "token",
        "verify",
        token,
        "--hs256-key-base64url",
        key,
        "--at",
        "1300819000",
    ]);
    text.push_str("\n$ cargo run -q -p cafe -- token verify $RFC7515_TOKEN \\\n    --hs256-key-base64url $RFC7515_KEY --at 1300819000\n");
    text.push_str(&String::from_utf8(verify.stdout).unwrap());
    assert!(verify.status.success());
    crate::transcripts::check_golden("jwt/token-commands.txt", &text);
}
