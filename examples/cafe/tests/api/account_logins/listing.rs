//! `GET /me/logins` in every mode: each device with where it came from,
//! the caller's marked, nothing a thief could use, nobody else's; and what
//! "last used" means in each mode.

use super::{ADMIN, ALICE, LAPTOP, PHONE, credential_material, log_in_on_device, logins_of, now};
use crate::support::{Mode, TestApp, for_every_mechanism, spawn_app};
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;

/// What the server keeps of a `User-Agent`: control characters dropped,
/// then the first 80 characters (`Device::new`).
fn kept_of(agent: &str) -> String {
    let kept: String = agent.chars().filter(|c| !c.is_control()).take(80).collect();
    kept.trim().to_owned()
}

/// The login of `logins` with this id.
fn login<'a>(logins: &'a [Value], id: &str) -> &'a Value {
    logins
        .iter()
        .find(|login| login["id"] == id)
        .unwrap_or_else(|| panic!("no login {id} in {logins:?}"))
}

/// Two of alice's devices, 10 s apart, with their own addresses and
/// `User-Agent`s, and the admin: each list shows its owner's logins, as
/// they came, and no credential.
pub async fn devices_listed(app: &TestApp) {
    let start = now(app);
    let laptop = log_in_on_device(app, "127.0.0.1", LAPTOP, ALICE).await;
    app.wait(Duration::from_secs(10));
    let phone = log_in_on_device(app, "127.0.0.2", PHONE, ALICE).await;
    let admin = log_in_on_device(app, "127.0.0.3", LAPTOP, ADMIN).await;

    let seen_by_laptop = logins_of(&laptop).await;
    assert_eq!(seen_by_laptop.len(), 2, "{seen_by_laptop:?}");
    // Oldest first, each with exactly these members.
    let (first, second) = (&seen_by_laptop[0], &seen_by_laptop[1]);
    for login in [first, second] {
        let members: BTreeSet<&str> = login
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let expected = [
            "client",
            "created_at",
            "current",
            "id",
            "last_used_at",
            "user_agent",
        ];
        assert_eq!(members, BTreeSet::from(expected));
        assert!(!login["id"].as_str().unwrap().is_empty());
    }
    assert_ne!(first["id"], second["id"]);
    assert_eq!(first["created_at"], start);
    assert_eq!(first["client"], "127.0.0.1");
    assert_eq!(first["user_agent"], LAPTOP);
    assert_eq!(first["current"], true);
    assert_eq!(second["created_at"], start + 10);
    assert_eq!(second["client"], "127.0.0.2");
    let phone_agent = kept_of(PHONE);
    assert_eq!(phone_agent.chars().count(), 80);
    assert!(!phone_agent.contains('\t'));
    assert_eq!(second["user_agent"], phone_agent.as_str());
    assert_eq!(second["current"], false);

    // The phone sees the same two logins, its own marked.
    let seen_by_phone = logins_of(&phone).await;
    assert_eq!(seen_by_phone.len(), 2);
    let laptop_id = first["id"].as_str().unwrap();
    let phone_id = second["id"].as_str().unwrap();
    assert_eq!(login(&seen_by_phone, laptop_id)["current"], false);
    assert_eq!(login(&seen_by_phone, phone_id)["current"], true);

    // Nothing in either list lets anyone act as any of the three, nor
    // find their records in the store.
    let listed = laptop.get("/me/logins").await.text + &phone.get("/me/logins").await.text;
    let mut checked = 0;
    for visitor in [&laptop, &phone, &admin] {
        for secret in credential_material(visitor) {
            assert!(!listed.contains(&secret), "the list shows {secret}");
            checked += 1;
        }
    }
    // A cookie, its ID and the ID's hash; or two tokens and their ids.
    let each = if app.mode.is_jwt() { 4 } else { 3 };
    assert_eq!(checked, 3 * each, "three visitors' credentials");

    // The admin's list is the admin's: none of alice's logins, and alice's
    // holds none of the admin's.
    let admins = logins_of(&admin).await;
    assert_eq!(admins.len(), 1, "{admins:?}");
    assert_eq!(admins[0]["current"], true);
    let admin_id = admins[0]["id"].as_str().unwrap();
    assert!(![laptop_id, phone_id].contains(&admin_id));
    assert!(!listed.contains(admin_id));
}

/// Sessions note every request; a token login notes only its refreshes,
/// since a request with an access token leaves no trace on the server.
pub async fn last_used_noted(app: &TestApp) {
    let mode = app.mode;
    let start = now(app);
    let laptop = log_in_on_device(app, "127.0.0.1", LAPTOP, ALICE).await;
    let mut phone = log_in_on_device(app, "127.0.0.2", PHONE, ALICE).await;
    let phone_id = super::own_login_id(&phone).await;
    let laptop_id = super::own_login_id(&laptop).await;

    app.wait(Duration::from_secs(60));
    assert_eq!(phone.get("/me").await.status, 200);
    app.wait(Duration::from_secs(60));
    let logins = logins_of(&laptop).await;
    let phone_used = &login(&logins, &phone_id)["last_used_at"];
    let laptop_used = &login(&logins, &laptop_id)["last_used_at"];
    if mode.is_jwt() {
        assert_eq!(*phone_used, start, "a token request is not noted");
        assert_eq!(*laptop_used, start);
    } else {
        assert_eq!(*phone_used, start + 60, "its request at +60 s");
        assert_eq!(*laptop_used, start + 120, "this very request");
    }

    if mode.is_jwt() {
        assert_eq!(phone.refresh().await.status, 200);
        app.wait(Duration::from_secs(60));
        let logins = logins_of(&laptop).await;
        assert_eq!(login(&logins, &phone_id)["last_used_at"], start + 120);
        assert_eq!(login(&logins, &phone_id)["created_at"], start);
        assert_eq!(login(&logins, &laptop_id)["last_used_at"], start);
        // A refresh renews the login, not the list's idea of which it is.
        assert_eq!(super::own_login_id(&phone).await, phone_id);
    }
}

async fn each_device_is_listed_with_where_it_came_from(mode: Mode) {
    devices_listed(&spawn_app(mode).await).await;
}

async fn last_used_moves_on_a_request_for_sessions_and_on_a_refresh_for_tokens(mode: Mode) {
    last_used_noted(&spawn_app(mode).await).await;
}

for_every_mechanism!(
    each_device_is_listed_with_where_it_came_from,
    last_used_moves_on_a_request_for_sessions_and_on_a_refresh_for_tokens,
);
