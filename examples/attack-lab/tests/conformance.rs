//! The conformance checks against the café, over HTTP, in each of its three
//! mechanisms: every check must hold, except where a mechanism differs by
//! design, and this file lists each such difference.

use attack_lab::conformance::{self, CheckOutcome, checks, run_check};
use attack_lab::{Applies, Lab};
use cafe::{AuthMode, Config};

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
