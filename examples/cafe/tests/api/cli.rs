//! The `cafe` binary, run as a reader would run it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cafe_client::launch::CafeProcess;
use cafe_client::{Call, Client, Visitor, login_call};
use std::process::Command;

/// A `cafe serve` child process ([`cafe_client::launch::CafeProcess`]),
/// killed when the test ends, whether the test passed or panicked: no
/// server outlives its test.
pub struct Server(CafeProcess);

impl std::ops::Deref for Server {
    type Target = CafeProcess;
    fn deref(&self) -> &CafeProcess {
        &self.0
    }
}

impl Server {
    pub fn start(args: &[&str]) -> Server {
        Server::run(
            &[&["serve", "--addr", "127.0.0.1:0"], args].concat(),
            "listening on http://",
        )
    }

    /// Runs `cafe args…` and reads the address from its first line, after
    /// `prefix`.
    fn run(args: &[&str], prefix: &str) -> Server {
        let binary = std::path::Path::new(env!("CARGO_BIN_EXE_cafe"));
        Server(CafeProcess::start(binary, args, prefix).unwrap())
    }

    /// `cafe cluster --instances N --auth sessions --store memory` on a
    /// free port; the address is the load balancer's.
    fn cluster_in_memory(instances: &str) -> Server {
        let args = ["cluster", "--instances", instances, "--auth", "sessions"];
        let rest = ["--store", "memory", "--addr", "127.0.0.1:0"];
        Server::run(&[&args[..], &rest].concat(), "load balancer on http://")
    }

    fn next_line(&mut self) -> String {
        self.0.next_line().expect("the server prints another line")
    }

    /// The most memory the process has ever held (VmHWM), in KiB.
    fn peak_memory_kib(&self) -> u64 {
        self.0.peak_memory_kib().unwrap()
    }
}

#[test]
fn serve_prints_its_address_first_and_answers_there() {
    let mut server = Server::start(&["--auth", "sessions"]);
    let rest: Vec<String> = (0..3).map(|_| server.next_line()).collect();
    let port: u16 = server
        .address
        .strip_prefix("127.0.0.1:")
        .unwrap()
        .parse()
        .unwrap();
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
        let client = Client::new(&server.url()).unwrap();
        client.send(&Call::get("/healthz")).await.unwrap().status
    });
    assert_eq!(status, 200);
}

/// Argon2id holds 19 MiB per check. Forty-eight logins at once, each for a
/// different unknown name from a different loopback address (so the
/// throttle, which counts per name and per client, does not step in, and
/// each costs a full check), once drove the server's peak memory up by
/// about 900 MB.
/// The hashing bound keeps it to a few checks' worth.
#[test]
fn forty_eight_parallel_logins_keep_peak_memory_bounded() {
    let server = Server::start(&["--auth", "sessions"]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let before = server.peak_memory_kib();
    let statuses = runtime.block_on(async {
        let logins: Vec<_> = (0..48u8)
            .map(|n| {
                let address = std::net::Ipv4Addr::new(127, 0, 1, n + 1).into();
                let client = Client::from_address(&server.url(), address).unwrap();
                let login = login_call(&format!("visitor-{n}"), "x");
                tokio::spawn(async move { client.send(&login).await.unwrap().status })
            })
            .collect();
        let mut statuses = Vec::new();
        for login in logins {
            statuses.push(login.await.unwrap());
        }
        statuses
    });
    let grew_mib = (server.peak_memory_kib() - before) / 1024;
    eprintln!("48 parallel logins: peak memory grew by {grew_mib} MiB");
    assert!(
        statuses.iter().all(|&s| s == 401 || s == 503),
        "{statuses:?}"
    );
    // The hashing threads own their 19 MiB each from the start, so a burst
    // adds next to nothing; unbounded, it added about 900 MiB.
    assert!(grew_mib < 64, "peak memory grew by {grew_mib} MiB");
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
        "--check-denylist",
        "--allowed-origin",
        "--store",
        "--redis-url",
        "--redis-cluster",
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

/// The README's hybrid commands, as printed: log in keeping the cookies,
/// renew with the refresh cookie, log out with it; after that the cookie
/// renews nothing.
#[tokio::test]
async fn the_readmes_hybrid_curl_commands_log_in_refresh_and_log_out() {
    let app = crate::support::spawn_app(crate::support::Mode::Hybrid).await;
    let port = app.address.rsplit(':').next().unwrap().to_owned();
    let jar = std::env::temp_dir().join(format!("cafe-curl-hybrid-{port}.txt"));
    let jar = jar.to_str().unwrap().to_owned();
    let status = |args: String| {
        let jar = jar.clone();
        async move {
            let output = tokio::process::Command::new("curl")
                .args([
                    "--silent",
                    "--show-error",
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{http_code}",
                ])
                .args(args.split(' ').map(|arg| arg.replace("cookies.txt", &jar)))
                .output()
                .await
                .expect("curl is installed (the book's curl examples need it)");
            String::from_utf8(output.stdout).unwrap()
        }
    };
    let login = tokio::process::Command::new("curl")
        .args(["--silent", "-o", "/dev/null", "-w", "%{http_code}"])
        .args([&format!("localhost:{port}/login"), "-c", &jar])
        .args(["-H", "content-type: application/json"])
        .args(["-d", r#"{"username":"alice","password":"wonderland-42"}"#])
        .output()
        .await
        .unwrap();
    assert_eq!(String::from_utf8(login.stdout).unwrap(), "200");
    let refresh = format!("-i -X POST localhost:{port}/refresh -b cookies.txt -c cookies.txt");
    let logout = format!("-i -X POST localhost:{port}/logout -b cookies.txt -c cookies.txt");
    assert_eq!(status(refresh.clone()).await, "200");
    assert_eq!(status(logout).await, "204");
    assert_eq!(
        status(refresh).await,
        "401",
        "the cookie renews nothing after logout"
    );
    std::fs::remove_file(&jar).ok();
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
    let mut server = Server::start(&["--auth", "jwt"]);
    assert!(
        server.address.starts_with("127.0.0.1:"),
        "{}",
        server.address
    );
    let second = server.next_line();
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
    text.push_str(
        "\n$ cargo run -q -p cafe -- token verify $RFC7515_TOKEN \\\n    \
        --hs256-key-base64url $RFC7515_KEY --at 1300819000\n",
    );
    text.push_str(&String::from_utf8(verify.stdout).unwrap());
    assert!(verify.status.success());
    crate::golden::check_golden("jwt/token-commands.txt", &text);
}

/// What the "Many servers" chapter shows, with the real command: behind the
/// balancer, three servers with their own memory know a session only one
/// time in three.
#[test]
fn the_cluster_command_reproduces_the_sticky_session_problem() {
    let mut cluster = Server::cluster_in_memory("3");
    let instances: Vec<String> = (0..3).map(|_| cluster.next_line()).collect();
    assert!(
        instances[2].starts_with("instance 3 on http://127.0.0.1:"),
        "{instances:?}"
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let statuses = runtime.block_on(async {
        let mut alice = Visitor::new(Client::new(&cluster.url()).unwrap());
        alice.log_in("alice", "wonderland-42").await.unwrap();
        let mut statuses = Vec::new();
        for _ in 0..3 {
            statuses.push(alice.get("/me").await.unwrap().status);
        }
        statuses
    });
    assert_eq!(statuses, [401, 401, 200]);
}

/// `--store redis --redis-cluster` on a real three-master cluster: two
/// servers, a login on one, the session found through the other.
#[test]
fn two_servers_share_sessions_through_a_redis_cluster() {
    let Some(cluster) = crate::redis_server::RedisCluster::start() else {
        return;
    };
    let nodes = cluster.urls().join(",");
    let args = [
        "--auth",
        "sessions",
        "--store",
        "redis",
        "--redis-cluster",
        "--redis-url",
        &nodes,
    ];
    let first = Server::start(&args);
    let second = Server::start(&args);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let status = runtime.block_on(async {
        let mut alice = Visitor::new(Client::new(&first.url()).unwrap());
        assert_eq!(
            alice.log_in("alice", "wonderland-42").await.unwrap().status,
            200
        );
        alice.client = Client::new(&second.url()).unwrap();
        alice.get("/me").await.unwrap().status
    });
    assert_eq!(status, 200);
}

/// `--trusted-proxy 127.0.0.0/8`: behind a proxy on loopback, the client
/// the throttle counts is the one the proxy names in X-Forwarded-For, so
/// one client's failures do not lock out another behind the same proxy.
#[test]
fn behind_a_trusted_proxy_the_forwarded_client_is_counted() {
    let server = Server::start(&["--auth", "sessions", "--trusted-proxy", "127.0.0.0/8"]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let proxy = Client::new(&server.url()).unwrap();
        let from = |client: &str, password: &str| {
            login_call("admin", password).header("x-forwarded-for", client)
        };
        for _ in 0..5 {
            let failed = proxy.send(&from("203.0.113.1", "guess")).await.unwrap();
            assert_eq!(failed.status, 401);
        }
        let throttled = proxy.send(&from("203.0.113.1", "guess")).await.unwrap();
        assert_eq!(throttled.status, 429);
        let owner = proxy
            .send(&from("203.0.113.2", "admin-secret-42"))
            .await
            .unwrap();
        assert_eq!(owner.status, 200, "another client behind the same proxy");
    });
}

#[test]
fn a_trusted_proxy_that_is_not_an_address_stops_the_server_at_start() {
    let output = cafe(&[
        "serve",
        "--addr",
        "127.0.0.1:0",
        "--trusted-proxy",
        "10.0.0.0/33",
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("--trusted-proxy \"10.0.0.0/33\""),
        "{stderr}"
    );
}

/// `cafe cluster`'s balancer is the edge: it sets X-Forwarded-For to the
/// address it was connected from, replacing what the client wrote, so a
/// client on the balancer's own (trusted) address cannot name itself
/// anew with every guess.
#[test]
fn through_the_cluster_balancer_a_forged_forwarded_for_changes_nothing() {
    let mut cluster = Server::cluster_in_memory("1");
    let _instance = cluster.next_line();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let statuses = runtime.block_on(async {
        let client = Client::new(&cluster.url()).unwrap();
        let mut statuses = Vec::new();
        for n in 1..=6 {
            let forged =
                login_call("admin", "guess").header("x-forwarded-for", &format!("198.51.100.{n}"));
            statuses.push(client.send(&forged).await.unwrap().status);
        }
        statuses
    });
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429]);
}

/// `cafe serve --refresh-idle-timeout 3s`: a refresh at once works, and one
/// after four quiet seconds is refused (the default would have allowed 45
/// minutes), as is any later try with the same token. The real binary on
/// the real clock, so the test waits those seconds.
#[test]
fn a_served_cafe_honours_its_refresh_idle_timeout() {
    let help = cafe(&["serve", "--help"]);
    assert!(
        String::from_utf8(help.stdout)
            .unwrap()
            .contains("--refresh-idle-timeout")
    );
    let server = Server::start(&["--auth", "jwt", "--refresh-idle-timeout", "3s"]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut alice = Visitor::new(Client::new(&server.url()).unwrap());
        assert_eq!(
            alice.log_in("alice", "wonderland-42").await.unwrap().status,
            200
        );
        assert_eq!(alice.refresh().await.unwrap().status, 200, "at once");
        tokio::time::sleep(std::time::Duration::from_secs(4)).await;
        let idle = alice.clone();
        assert_eq!(alice.refresh().await.unwrap().status, 401, "after 4 s");
        assert_eq!(
            idle.clone().refresh().await.unwrap().status,
            401,
            "and for good"
        );
    });
}
