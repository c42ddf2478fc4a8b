//! Flags that a reader or an operator may get wrong, tried on the real
//! binary: each is refused before the server listens, with a message that
//! names the flag and what it accepts (issue 21, item 6).

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `cafe serve args…` and expects it to stop by itself, unsuccessfully:
/// a server that starts listening instead is killed, and the test fails.
/// What it printed to standard error.
fn refused_at_start(args: &[&str]) -> String {
    let (code, error) = exit_code_and_error(args);
    assert_ne!(code, Some(0), "{args:?}");
    error
}

/// `serve --idle-timeout 300000000000y --absolute-timeout 300000000000y`
/// once started, and its first login dropped the connection: `last_seen +
/// ttl` overflowed on the request path. Every duration flag now stops at a
/// year, checked before the server listens.
#[test]
fn every_duration_flag_is_bounded_at_start_with_a_clear_error() {
    let error = refused_at_start(&[
        "--idle-timeout",
        "300000000000y",
        "--absolute-timeout",
        "300000000000y",
    ]);
    assert!(error.contains("--idle-timeout"), "{error}");
    assert!(error.contains("at most 366d"), "{error}");
    assert!(!error.contains("panicked"), "{error}");
    for flag in [
        "--idle-timeout",
        "--absolute-timeout",
        "--access-ttl",
        "--refresh-ttl",
    ] {
        for too_long in ["300000000000y", "367d"] {
            let error = refused_at_start(&["--auth", "jwt", flag, too_long]);
            assert!(error.contains(flag), "{flag} {too_long}: {error}");
            assert!(error.contains("at most 366d"), "{flag} {too_long}: {error}");
        }
    }
}

/// Runs `cafe serve args…`, which must stop by itself before it listens;
/// its exit code and what it printed to standard error.
fn exit_code_and_error(args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cafe"))
        .args(["serve", "--addr", "127.0.0.1:0"])
        .args(args)
        .env_remove("CAFE_JWT_SECRET")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().ok();
            let Output { stdout, .. } = child.wait_with_output().unwrap();
            panic!(
                "cafe serve {args:?} started anyway:\n{}",
                String::from_utf8_lossy(&stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    let error = String::from_utf8(output.stderr).unwrap();
    (output.status.code(), error)
}

/// `--refresh-idle-timeout` (issue 22) is read like every duration flag:
/// no time at all, nonsense and more than a year stop the server before it
/// listens, with clap's usage status (2) and a message naming the flag and
/// what is wrong.
#[test]
fn a_refresh_idle_timeout_of_nothing_or_nonsense_is_refused_at_start() {
    let cases = [
        ("0s", "must be more than zero"),
        ("soon", "is not a duration"),
        ("45", "is not a duration"),
        ("367d", "at most 366d"),
    ];
    for (value, reason) in cases {
        for auth in ["jwt", "hybrid"] {
            let args = ["--auth", auth, "--refresh-idle-timeout", value];
            let (code, error) = exit_code_and_error(&args);
            assert_eq!(code, Some(2), "{args:?}: {error}");
            assert!(
                error.contains("--refresh-idle-timeout"),
                "{args:?}: {error}"
            );
            assert!(error.contains(reason), "{args:?}: {error}");
            assert!(!error.contains("panicked"), "{args:?}: {error}");
        }
    }
}

/// `--cross-site-origin` lets a page on another site act as the user, so it
/// takes exact origins only: a wildcard, a path, a trailing slash, a
/// default port, a host written otherwise than a browser writes it, or
/// plain `http` off this machine stops the server before it listens, with
/// clap's usage status (2) and a message naming the flag and what is
/// wrong.
#[test]
fn a_cross_site_origin_that_is_not_an_exact_origin_is_refused_at_start() {
    for (value, reason) in [
        ("*", "the scheme must be http or https"),
        ("https://*.app.example", "no wildcard"),
        (
            "https://app.example/",
            "nothing may follow the host and port",
        ),
        ("https://app.example:443", "leave out the default port"),
        ("http://app.example", "use https://"),
        ("https://café.example", "https://xn--caf-dma.example"),
    ] {
        let (code, error) = exit_code_and_error(&["--cross-site-origin", value]);
        assert_eq!(code, Some(2), "{value}: {error}");
        assert!(error.contains("--cross-site-origin"), "{value}: {error}");
        assert!(error.contains(reason), "{value}: {error}");
        assert!(!error.contains("panicked"), "{value}: {error}");
    }
}
