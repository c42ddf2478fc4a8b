//! The conformance checks against the café, over HTTP, in each of its three
//! mechanisms: every check must hold, except where a mechanism differs by
//! design, and this file lists each such difference.

use attack_lab::conformance::{self, CheckOutcome, Need, checks, run_check};
use attack_lab::{Applies, Endpoint, Lab, Profile};
use cafe::{AuthMode, Config};
use cafe_client::profile::Role;

/// The checks a mechanism fails by design: each is a trade-off the book
/// explains, not a bug.
fn fails_by_design(auth: AuthMode) -> &'static [&'static str] {
    match auth {
        AuthMode::Sessions => &[],
        // The access token carries the role it was issued with, and nothing
        // is looked up per request to say it changed: `/me` reports the old
        // role until the token expires or is refreshed. (The admin routes
        // re-read the account, so `demoted-admin-loses-admin-routes-at-once`
        // holds.)
        AuthMode::Jwt | AuthMode::Hybrid => &["role-change-seen-on-next-request"],
    }
}

/// Serves a café of `auth` on a free loopback port, in this test's runtime.
async fn serve(auth: AuthMode) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(cafe::serve(listener, Config::new(auth)));
    address
}

/// Runs every check against a fresh café of `auth` and asserts each
/// outcome, and how many checks ran.
async fn every_check_against(auth: AuthMode) {
    let lab = Lab::connect(&serve(auth).await).await.unwrap();
    let expected_failures = fails_by_design(auth);
    let all = checks();
    let not_applicable = all
        .iter()
        .filter(|check| check.targets.applies(&lab.server()) != Applies::Yes)
        .count();
    let mut ran = 0;
    let mut failed = Vec::new();
    for check in &all {
        let outcome = run_check(&lab, check)
            .await
            .unwrap_or_else(|error| panic!("{} against {auth:?}: {error}", check.name));
        match &outcome {
            CheckOutcome::Holds(_) => {
                ran += 1;
                assert!(
                    !expected_failures.contains(&check.name),
                    "{} holds against {auth:?}, listed as failing by design: {outcome:?}",
                    check.name
                );
            }
            CheckOutcome::Fails(what) => {
                ran += 1;
                failed.push(check.name);
                assert!(
                    expected_failures.contains(&check.name),
                    "{} fails against {auth:?}: {what}",
                    check.name
                );
            }
            CheckOutcome::Skipped(why) => {
                assert!(
                    why.starts_with("not applicable"),
                    "{} skipped against {auth:?}: {why}",
                    check.name
                );
            }
        }
    }
    assert_eq!(
        ran,
        all.len() - not_applicable,
        "checks run against {auth:?}"
    );
    assert_eq!(
        failed, expected_failures,
        "the checks {auth:?} fails by design"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_check_holds_against_the_cafe_with_sessions() {
    every_check_against(AuthMode::Sessions).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_check_holds_against_the_cafe_with_jwt_but_a_role_change_waits_for_the_token() {
    every_check_against(AuthMode::Jwt).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_check_holds_against_the_cafe_hybrid_but_a_role_change_waits_for_the_token() {
    every_check_against(AuthMode::Hybrid).await;
}

/// A server that gets everything wrong: every `POST /login` is 200 with
/// the same session cookie, whatever the password or body, and every other
/// request a 500.
fn serve_everything_wrong() -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut request = Vec::new();
            let mut buffer = [0; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buffer[..n]),
                }
            }
            // The body too: closing with unread bytes could reset the
            // connection before the client reads the answer.
            let text = String::from_utf8_lossy(&request).to_lowercase();
            let (head, read) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|value| value.trim().parse().ok())
                .unwrap_or(0);
            let mut left = length.saturating_sub(read.len());
            while left > 0 {
                match stream.read(&mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => left = left.saturating_sub(n),
                }
            }
            let (status, cookie, body) = if request.starts_with(b"POST /login ") {
                let user = r#"{"user":{"name":"alice","role":"member"}}"#;
                let cookie = "set-cookie: __Host-session=always-the-same; Path=/; Secure\r\n";
                ("200 OK", cookie, user)
            } else {
                ("500 Internal Server Error", "", r#"{"error":"boom"}"#)
            };
            let answer = format!(
                "HTTP/1.1 {status}\r\n{cookie}content-type: application/json\r\n\
                 content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    address
}

/// Every check fails against a server that gets everything wrong, and a
/// 500 makes a check fail rather than stop the run: the checks assert
/// something, and a reader's broken server gets a table, not a crash.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_check_fails_against_a_server_that_gets_everything_wrong() {
    let lab = Lab::connect(&serve_everything_wrong()).await.unwrap();
    for check in checks() {
        let outcome = run_check(&lab, &check)
            .await
            .unwrap_or_else(|error| panic!("{}: {error}", check.name));
        assert!(
            matches!(outcome, CheckOutcome::Fails(_)),
            "{}: {outcome:?}",
            check.name
        );
    }
}

/// The café's profile without `endpoint`'s path.
fn cafe_without(endpoint: Endpoint) -> Profile {
    let mut profile = Profile::cafe();
    let paths = &mut profile.paths;
    let path = match endpoint {
        Endpoint::Login => &mut paths.login,
        Endpoint::Me => &mut paths.me,
        Endpoint::Orders => &mut paths.orders,
        Endpoint::Logout => &mut paths.logout,
        Endpoint::Refresh => &mut paths.refresh,
        Endpoint::Users => &mut paths.users,
        Endpoint::ChangeRole => &mut paths.change_role,
        Endpoint::LogoutEverywhere => &mut paths.logout_everywhere,
        Endpoint::ChangePassword => &mut paths.change_password,
        Endpoint::MyLogins => &mut paths.my_logins,
        Endpoint::EndMyLogin => &mut paths.end_my_login,
        Endpoint::Healthz => &mut paths.healthz,
    };
    *path = None;
    profile
}

/// Against a profile that lacks one endpoint, or the admin, each check
/// that needs it is skipped saying so, and sends nothing; every other check
/// still holds without it. (A fresh café each time: the failed logins of
/// a run count against the lab's address.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_needing_what_the_profile_lacks_is_skipped_and_the_rest_hold() {
    let mut lacking: Vec<(Profile, Need, String)> = [
        Endpoint::Me,
        Endpoint::Orders,
        Endpoint::Logout,
        Endpoint::Users,
        Endpoint::ChangeRole,
        Endpoint::LogoutEverywhere,
    ]
    .into_iter()
    .map(|endpoint| {
        let why = format!("the profile names no {} path", endpoint.key());
        (cafe_without(endpoint), Need::Path(endpoint), why)
    })
    .collect();
    let mut no_admin = Profile::cafe();
    no_admin
        .accounts
        .retain(|account| account.role != Role::Admin);
    let why = "the profile names no admin account".to_owned();
    lacking.push((no_admin, Need::Admin, why));

    for (profile, need, why) in lacking {
        let target = serve(AuthMode::Sessions).await;
        let lab = Lab::connect_with(&profile, Some(&target)).await.unwrap();
        let mut skipped = 0;
        for check in checks() {
            lab.take_exchanges();
            let outcome = run_check(&lab, &check)
                .await
                .unwrap_or_else(|error| panic!("{} without {need:?}: {error}", check.name));
            if check.needs.contains(&need) {
                assert_eq!(
                    outcome,
                    CheckOutcome::Skipped(why.clone()),
                    "{}",
                    check.name
                );
                assert!(
                    lab.take_exchanges().is_empty(),
                    "{} sent a request",
                    check.name
                );
                skipped += 1;
            } else {
                assert!(
                    matches!(outcome, CheckOutcome::Holds(_)),
                    "{} without {need:?}: {outcome:?}",
                    check.name
                );
            }
        }
        assert!(skipped > 0, "no check needs {need:?}");
    }
}

/// Every check is named once, says what must hold and where the rule comes
/// from, and the listing shows them in order.
#[test]
fn the_listing_names_every_check_once_with_its_property_and_source() {
    let all = checks();
    let names: Vec<&str> = all.iter().map(|check| check.name).collect();
    let mut unique = names.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "a name used twice: {names:?}");
    for check in &all {
        assert!(!check.property.is_empty() && !check.source.is_empty());
        assert!(
            conformance::find(check.name).is_some_and(|found| found.property == check.property)
        );
    }
    let listing = conformance::listing();
    let listed: Vec<&str> = listing
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert_eq!(listed, names);
    let attacks: Vec<&str> = attack_lab::catalogue().iter().map(|a| a.name).collect();
    assert!(
        names.iter().all(|name| !attacks.contains(name)),
        "a check named like an attack"
    );
}

/// A login-only server for the café's profile, which throttles nothing: a
/// demo user's right password is 200 with a session cookie; any other
/// login is 401 with the `refused` Set-Cookie headers, in order (a
/// removal, another cookie, a session). `GET /me` is 200 for a request
/// whose cookies carry a value starting `live-`, and 401 otherwise.
async fn serve_login_refusing_with(refused: &'static [&'static str]) -> String {
    use axum::http::{HeaderMap, StatusCode, header};
    use axum::response::IntoResponse;
    let login = move |body: axum::Json<serde_json::Value>| async move {
        let mut headers = HeaderMap::new();
        let user = match (body["username"].as_str(), body["password"].as_str()) {
            (Some("alice"), Some("wonderland-42")) => Some(("alice", "member")),
            (Some("admin"), Some("admin-secret-42")) => Some(("admin", "admin")),
            _ => None,
        };
        if let Some((name, role)) = user {
            let cookie = "__Host-session=live-real-session; Path=/; Secure; HttpOnly";
            headers.insert(header::SET_COOKIE, cookie.parse().unwrap());
            let user = serde_json::json!({ "user": { "name": name, "role": role } });
            return (StatusCode::OK, headers, axum::Json(user)).into_response();
        }
        for cookie in refused {
            headers.append(header::SET_COOKIE, cookie.parse().unwrap());
        }
        let error = serde_json::json!({ "error": "wrong name or password" });
        (StatusCode::UNAUTHORIZED, headers, axum::Json(error)).into_response()
    };
    let me = |headers: HeaderMap| async move {
        let live = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .any(|pair| {
                pair.split_once('=')
                    .is_some_and(|(_, v)| v.starts_with("live-"))
            });
        if live {
            let me = serde_json::json!({ "name": "alice", "role": "member" });
            (StatusCode::OK, axum::Json(me)).into_response()
        } else {
            StatusCode::UNAUTHORIZED.into_response()
        }
    };
    let app = axum::Router::new()
        .route("/login", axum::routing::post(login))
        .route("/me", axum::routing::get(me));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    address
}

/// `refused-login-hands-out-nothing` judges by effect: every cookie the
/// refused answer leaves set, whatever its name, is replayed to `/me`. A
/// removal, a stale value removed, or a cookie that gets no one in hands
/// out nothing; a live session does, and so does a live cookie after a
/// removal of the same name (the browser applies both, the second wins)
/// and a live cookie of a name the profile does not know.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_login_fails_only_for_a_credential_it_hands_out() {
    let check = conformance::find("refused-login-hands-out-nothing").unwrap();
    let cases: [(&'static [&'static str], bool); 8] = [
        (&[], true),
        (&["__Host-session=; Path=/; Max-Age=0"], true),
        (&["__Host-session=live-stale; Path=/; Max-Age=0"], true),
        (&["csrf-token=abc123; Path=/"], true),
        (&["__Host-session=live-handed-out; Path=/; Secure"], false),
        (
            &[
                "__Host-session=; Path=/; Max-Age=0",
                "__Host-session=live-after-removal; Path=/; Secure",
            ],
            false,
        ),
        (
            &[
                "__Host-session=live-removed-after; Path=/",
                "__Host-session=; Path=/; Max-Age=0",
            ],
            true,
        ),
        (&["remember=live-me; Path=/; Max-Age=2592000"], false),
    ];
    for (cookies, holds) in cases {
        let lab = Lab::connect(&serve_login_refusing_with(cookies).await)
            .await
            .unwrap();
        let outcome = run_check(&lab, &check).await.unwrap();
        assert_eq!(
            matches!(outcome, CheckOutcome::Holds(_)),
            holds,
            "{cookies:?}: {outcome:?}"
        );
    }
}

/// Against a server that throttles no login, the owner is not locked out:
/// both lockout attacks are refused, saying what was tried and that no
/// failure was slowed (the unthrottled guessing is
/// `login-parallel-guessing`'s finding).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_throttle_the_owner_is_never_locked_out() {
    let target = serve_login_refusing_with(&[]).await;
    let lab = Lab::connect(&target).await.unwrap();
    for name in [
        "login-lockout-by-a-stranger",
        "login-ceiling-filled-by-strangers",
    ] {
        let attack = attack_lab::find(name).unwrap();
        match lab.run(&attack).await {
            Ok(attack_lab::Outcome::Refused(how)) => {
                assert!(
                    how.contains("did not lock the owner out")
                        && how.contains(attack_lab::login::NEVER_SLOWED),
                    "{name}: {how}"
                )
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    // Against the café the stranger is slowed, and the verdict says
    // nothing of it.
    let lab = Lab::connect(&serve(AuthMode::Sessions).await)
        .await
        .unwrap();
    for name in [
        "login-lockout-by-a-stranger",
        "login-ceiling-filled-by-strangers",
    ] {
        let attack = attack_lab::find(name).unwrap();
        match lab.run(&attack).await {
            Ok(attack_lab::Outcome::Refused(how)) => {
                assert!(
                    !how.contains(attack_lab::login::NEVER_SLOWED),
                    "{name}: {how}"
                )
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}
