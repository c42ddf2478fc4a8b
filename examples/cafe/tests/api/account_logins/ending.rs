//! `DELETE /me/logins/{id}` in every mode: another device's login, one's
//! own, and ids that are not one's own.

use super::{
    ADMIN, ALICE, LAPTOP, LEEWAY, PHONE, access_lifetime, assert_access_token_works_until,
    log_in_on_device, logins_of, now, own_login_id,
};
use crate::support::{Call, Mode, Reply, TestApp, Visitor, for_every_mechanism, spawn_app};
use std::time::Duration;

async fn end(visitor: &Visitor, id: &str) -> Reply {
    visitor
        .send(&Call::delete(&format!("/me/logins/{id}")))
        .await
}

/// The answer's `access_token_works_until`: present in the token modes
/// only.
fn works_until(mode: Mode, ended: &Reply) -> Option<u64> {
    let until = ended.body.get("access_token_works_until");
    if mode.is_jwt() {
        Some(until.and_then(|until| until.as_u64()).expect("a time"))
    } else {
        assert!(until.is_none(), "{}", ended.text);
        None
    }
}

/// The laptop ends the phone's login. Sessions: the phone is out at once.
/// Token modes: the phone can no longer refresh, at once, and its newest
/// access token works until the moment the answer names, to the second.
pub async fn another_device_cut_off(app: &TestApp) {
    let mode = app.mode;
    let mut laptop = log_in_on_device(app, "127.0.0.1", LAPTOP, ALICE).await;
    let mut phone = log_in_on_device(app, "127.0.0.2", PHONE, ALICE).await;
    let phone_id = own_login_id(&phone).await;
    app.wait(Duration::from_secs(100));
    let refreshed_at = now(app);
    if mode.is_jwt() {
        assert_eq!(phone.refresh().await.status, 200);
    }

    let ended = end(&laptop, &phone_id).await;
    assert_eq!(ended.status, 200, "{}", ended.text);
    assert_eq!(ended.body["ended"], phone_id.as_str());
    assert!(ended.json_str("note").is_some_and(|note| !note.is_empty()));
    let until = works_until(mode, &ended);

    // Gone from the list at once, and the laptop's own login untouched.
    let left = logins_of(&laptop).await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["current"], true);
    assert_eq!(laptop.get("/me").await.status, 200);

    match until {
        None => assert_eq!(phone.get("/me").await.status, 401),
        Some(until) => {
            // Its newest access token came with the refresh at +100 s.
            assert_eq!(until, refreshed_at + access_lifetime(mode) + LEEWAY);
            assert_eq!(phone.clone().refresh().await.status, 401);
            assert_access_token_works_until(app, &phone, until).await;
            // The laptop renews as usual.
            assert_eq!(laptop.refresh().await.status, 200);
            assert_eq!(laptop.get("/me").await.status, 200);
        }
    }

    // Ended is ended: the same id again is 404.
    assert_eq!(end(&laptop, &phone_id).await.status, 404);
}

/// Another user's login id, or one that never was, is 404, with the same
/// answer, and the other user's login lives on.
pub async fn ids_not_ones_own(app: &TestApp) {
    let mode = app.mode;
    let alice = log_in_on_device(app, "127.0.0.1", LAPTOP, ALICE).await;
    let mut admin = log_in_on_device(app, "127.0.0.2", LAPTOP, ADMIN).await;
    let admin_id = own_login_id(&admin).await;

    let others = end(&alice, &admin_id).await;
    assert_eq!(others.status, 404, "{}", others.text);
    let unknown_ids = ["AAAAAAAAAAAAAAAAAAAAAA", "no-such-login", "..%2F..%2Fadmin"];
    for id in unknown_ids {
        let unknown = end(&alice, id).await;
        assert_eq!(unknown.status, 404, "{id}: {}", unknown.text);
        assert_eq!(
            unknown.text, others.text,
            "the answer tells nobody whose ids exist"
        );
    }

    // The admin's login is untouched.
    assert_eq!(admin.get("/me").await.status, 200);
    assert_eq!(own_login_id(&admin).await, admin_id);
    if mode.is_jwt() {
        assert_eq!(admin.refresh().await.status, 200);
    }
    assert_eq!(logins_of(&alice).await.len(), 1);
}

/// Ending the login one's request came with is a logout, with the same
/// reach as ending any other.
pub async fn own_login_ended(app: &TestApp) {
    let mode = app.mode;
    let logged_in_at = now(app);
    let alice = log_in_on_device(app, "127.0.0.1", LAPTOP, ALICE).await;
    let own = own_login_id(&alice).await;
    let ended = end(&alice, &own).await;
    assert_eq!(ended.status, 200, "{}", ended.text);
    assert_eq!(ended.body["ended"], own.as_str());
    match works_until(mode, &ended) {
        None => assert_eq!(alice.get("/me").await.status, 401),
        Some(until) => {
            assert_eq!(until, logged_in_at + access_lifetime(mode) + LEEWAY);
            assert_eq!(alice.clone().refresh().await.status, 401);
            // Gone from the list, which the access token still reads.
            assert_eq!(logins_of(&alice).await.len(), 0);
            assert_access_token_works_until(app, &alice, until).await;
        }
    }
}

async fn ending_another_device_cuts_it_off(mode: Mode) {
    another_device_cut_off(&spawn_app(mode).await).await;
}

async fn an_id_that_is_not_ones_own_is_404(mode: Mode) {
    ids_not_ones_own(&spawn_app(mode).await).await;
}

async fn ending_ones_own_login_ends_it_like_any_other(mode: Mode) {
    own_login_ended(&spawn_app(mode).await).await;
}

for_every_mechanism!(
    ending_another_device_cuts_it_off,
    an_id_that_is_not_ones_own_is_404,
    ending_ones_own_login_ends_it_like_any_other,
);
