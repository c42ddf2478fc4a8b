//! The `attack-lab` binary, run as a reader would run it, against a café
//! served on a loopback port.

use cafe::{AuthMode, Config};
use jwt::keys::{KeyRing, SigningAlgorithm, SigningKey};
use std::process::{Command, Output};

fn attack_lab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_attack-lab"))
        .args(args)
        .env_remove("CAFE_JWT_SECRET")
        .output()
        .unwrap()
}

/// A `--auth jwt` café signing with `secret`, served on a free loopback
/// port by a runtime of its own for as long as the returned runtime lives.
fn serve_jwt_cafe(secret: &[u8]) -> (tokio::runtime::Runtime, String) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut config = Config::new(AuthMode::Jwt);
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
fn list_names_every_attack_in_the_lab() {
    let output = attack_lab(&["--list"]);
    assert!(output.status.success());
    let listing = String::from_utf8(output.stdout).unwrap();
    let names: Vec<&str> = listing
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    let expected: Vec<&str> = attack_lab::catalogue()
        .iter()
        .map(|attack| attack.name)
        .collect();
    assert_eq!(names, expected);
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
