//! `DELETE /me/logins/{id}` in every mode: another device's login, one's
//! own, and ids that are not one's own; and the current password it asks
//! for again (ASVS 5.0 7.5.2), checked as a login checks it: nothing ends
//! without it, a wrong one counts as a failed login, and a thief holding
//! only a credential can end none of the owner's logins.

use super::{
    ADMIN, ALICE, LAPTOP, LEEWAY, PHONE, access_lifetime, assert_access_token_works_until,
    assert_refused_until, log_in_on_device, logins_of, now, own_login_id,
};
use crate::support::{Call, Mode, Reply, TestApp, Visitor, for_every_mechanism, spawn_app};
use serde_json::json;
use std::time::Duration;

/// A password that is not alice's.
const WRONG: &str = "not-her-password";

/// `DELETE /me/logins/{id}` as `visitor`, with `current_password`
/// (`cafe_client::Visitor::end_login`).
async fn end_with(visitor: &Visitor, id: &str, current_password: &str) -> Reply {
    visitor
        .end_login(id, current_password)
        .await
        .expect("the server answers")
}

/// `DELETE /me/logins/{id}` as alice, with her password.
async fn end(visitor: &Visitor, id: &str) -> Reply {
    end_with(visitor, id, ALICE.1).await
}

/// The answer is a JSON error: `{"error": "…"}`.
fn assert_json_error(answer: &Reply, context: &str) {
    let content_type = answer.header("content-type");
    assert_eq!(content_type, Some("application/json"), "{context}");
    assert!(
        answer.body["error"].is_string(),
        "{context}: {}",
        answer.text
    );
}

/// `visitor`'s login still works: its credential reads `/me`, and in the
/// token modes its refresh token renews (which `visitor` then keeps).
async fn assert_still_works(visitor: &mut Visitor, context: &str) {
    let me = visitor.get("/me").await;
    assert_eq!(me.status, 200, "{context}: {}", me.text);
    if visitor.mode.is_jwt() {
        let refreshed = visitor.refresh().await;
        assert_eq!(refreshed.status, 200, "{context}: {}", refreshed.text);
    }
}

/// The answer's `access_token_works_until`: present in the token modes
/// whose ended login keeps its access tokens, absent where every
/// credential of the login stopped at once (sessions, and the denylist,
/// which names the login).
fn works_until(mode: Mode, ended: &Reply) -> Option<u64> {
    let until = ended.body.get("access_token_works_until");
    match mode {
        Mode::Jwt | Mode::JwtChecked | Mode::Hybrid => {
            Some(until.and_then(|until| until.as_u64()).expect("a time"))
        }
        Mode::Sessions | Mode::JwtDenylist => {
            assert!(until.is_none(), "{}", ended.text);
            None
        }
    }
}

/// With the denylist, the answer's note says every access token of the
/// login is refused.
fn assert_note_names_every_access_token(mode: Mode, ended: &Reply) {
    let note = ended.json_str("note").expect("a note");
    assert!(!note.is_empty());
    if mode == Mode::JwtDenylist {
        assert!(note.contains("every access token"), "{note}");
    }
}

/// The laptop ends the phone's login. Sessions: the phone is out at once.
/// Token modes: the phone can no longer refresh, at once; with the
/// denylist, both its access tokens (the login's first and the one its
/// refresh brought) are refused at once, for as long as the newer would
/// have lived; otherwise its newest access token works until the moment
/// the answer names, to the second.
pub async fn another_device_cut_off(app: &TestApp) {
    let mode = app.mode;
    let mut laptop = log_in_on_device(app, "127.0.0.1", LAPTOP, ALICE).await;
    let mut phone = log_in_on_device(app, "127.0.0.2", PHONE, ALICE).await;
    let phone_before_refresh = phone.clone();
    let phone_id = own_login_id(&phone).await;
    app.wait(Duration::from_secs(100));
    let refreshed_at = now(app);
    if mode.is_jwt() {
        assert_eq!(phone.refresh().await.status, 200);
    }

    let ended = end(&laptop, &phone_id).await;
    assert_eq!(ended.status, 200, "{}", ended.text);
    assert_eq!(ended.body["ended"], phone_id.as_str());
    assert_note_names_every_access_token(mode, &ended);
    let until = works_until(mode, &ended);

    // Gone from the list at once, and the laptop's own login untouched.
    let left = logins_of(&laptop).await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["current"], true);
    assert_eq!(laptop.get("/me").await.status, 200);

    // Its newest access token came with the refresh at +100 s.
    let newest_until = refreshed_at + access_lifetime(mode) + LEEWAY;
    match (mode, until) {
        (Mode::Sessions, None) => assert_eq!(phone.get("/me").await.status, 401),
        (Mode::JwtDenylist, None) => {
            assert_eq!(phone.clone().refresh().await.status, 401);
            assert_refused_until(app, &[&phone_before_refresh, &phone], newest_until).await;
        }
        (Mode::Jwt | Mode::JwtChecked | Mode::Hybrid, Some(until)) => {
            assert_eq!(until, newest_until);
            assert_eq!(phone.clone().refresh().await.status, 401);
            assert_access_token_works_until(app, &phone, until).await;
        }
        (mode, until) => panic!("{mode:?}: access_token_works_until {until:?}"),
    }
    if mode.is_jwt() {
        // The laptop renews as usual.
        assert_eq!(laptop.refresh().await.status, 200);
        assert_eq!(laptop.get("/me").await.status, 200);
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
    assert_note_names_every_access_token(mode, &ended);
    let access_ends = logged_in_at + access_lifetime(mode) + LEEWAY;
    match (mode, works_until(mode, &ended)) {
        (Mode::Sessions, None) => assert_eq!(alice.get("/me").await.status, 401),
        // The request's own access token is refused from the next request
        // on, for as long as it would have lived.
        (Mode::JwtDenylist, None) => {
            assert_eq!(alice.clone().refresh().await.status, 401);
            assert_refused_until(app, &[&alice], access_ends).await;
        }
        (Mode::Jwt | Mode::JwtChecked | Mode::Hybrid, Some(until)) => {
            assert_eq!(until, access_ends);
            assert_eq!(alice.clone().refresh().await.status, 401);
            // Gone from the list, which the access token still reads.
            assert_eq!(logins_of(&alice).await.len(), 0);
            assert_access_token_works_until(app, &alice, until).await;
        }
        (mode, until) => panic!("{mode:?}: access_token_works_until {until:?}"),
    }
}

/// Without the current password nothing ends and no password is checked,
/// however the body is missing or wrong: each is refused with the API's
/// usual JSON error, none counts as a failed login (nine of them, and the
/// tenth, with the password, ends the phone's login).
pub async fn nothing_ended_without_the_password(app: &TestApp) {
    let laptop = log_in_on_device(app, "127.0.0.1", LAPTOP, ALICE).await;
    let mut phone = log_in_on_device(app, "127.0.0.2", PHONE, ALICE).await;
    let phone_id = own_login_id(&phone).await;
    let path = format!("/me/logins/{phone_id}");
    let right = json!({ "current_password": ALICE.1 }).to_string();
    let too_long = json!({ "current_password": "x".repeat(1025) }).to_string();
    let refusals = [
        // axum's JSON extractor asks for the content type first: a DELETE
        // with no body at all is 415, not 400.
        (Call::delete(&path), 415, "no body"),
        (Call::delete(&path).raw_body(right.as_str()), 415, "no type"),
        (Call::delete(&path).body("text/plain", &right), 415, "text"),
        (
            Call::delete(&path).body("application/json", ""),
            400,
            "empty",
        ),
        (
            Call::delete(&path).body("application/json", &right[..20]),
            400,
            "cut",
        ),
        (Call::delete(&path).json(&json!({})), 422, "{}"),
        (
            Call::delete(&path).json(&json!({ "password": ALICE.1 })),
            422,
            "name",
        ),
        (
            Call::delete(&path).json(&json!({ "current_password": 42 })),
            422,
            "42",
        ),
        // One byte over the 1,024 a password may have: refused unread.
        (
            Call::delete(&path).body("application/json", &too_long),
            422,
            "long",
        ),
    ];
    let checks_before = app.passwords.verifications();
    for (call, status, case) in &refusals {
        let answer = laptop.send(call).await;
        assert_eq!(answer.status, *status, "{case}: {}", answer.text);
        assert_json_error(&answer, case);
    }
    assert_eq!(
        app.passwords.verifications(),
        checks_before,
        "no password was checked"
    );

    // Nothing ended: both logins are listed and work.
    assert_eq!(logins_of(&laptop).await.len(), 2);
    assert_still_works(&mut phone, "the phone").await;

    // Nine refusals, none counted: the password ends the phone's login.
    let ended = end(&laptop, &phone_id).await;
    assert_eq!(ended.status, 200, "{}", ended.text);
    assert_eq!(logins_of(&laptop).await.len(), 1);
}

/// A wrong current password is 403 and ends nothing, and it counts as a
/// failed login does: after five, the sixth is 429 even with the right
/// password, and so is a login from the same client, with no password
/// checked, until the window has passed.
pub async fn a_wrong_password_counted(app: &TestApp) {
    let mut laptop = log_in_on_device(app, "127.0.0.1", LAPTOP, ALICE).await;
    let mut phone = log_in_on_device(app, "127.0.0.2", PHONE, ALICE).await;
    let phone_id = own_login_id(&phone).await;
    let checks_before = app.passwords.verifications();
    for attempt in 1..=5 {
        let answer = end_with(&laptop, &phone_id, WRONG).await;
        assert_eq!(answer.status, 403, "attempt {attempt}: {}", answer.text);
        assert_json_error(&answer, "a wrong password");
    }
    assert_eq!(app.passwords.verifications(), checks_before + 5);
    // Nothing ended, and a 403 logs nobody out.
    assert_eq!(logins_of(&laptop).await.len(), 2);
    assert_still_works(&mut phone, "the phone").await;

    let sixth = end(&laptop, &phone_id).await;
    assert_eq!(sixth.status, 429, "{}", sixth.text);
    assert_eq!(sixth.header("retry-after"), Some("900"));
    assert_json_error(&sixth, "the sixth");
    let login = app.visitor_from("127.0.0.1").log_in(ALICE.0, ALICE.1).await;
    assert_eq!(login.status, 429, "{}", login.text);
    assert_eq!(
        app.passwords.verifications(),
        checks_before + 5,
        "no check past the limit"
    );
    assert_still_works(&mut phone, "the phone, after the sixth").await;

    // Once the window has passed, the password ends the phone's login.
    app.wait(Duration::from_secs(15 * 60));
    if app.mode.is_jwt() {
        assert_eq!(laptop.refresh().await.status, 200);
    }
    let ended = end(&laptop, &phone_id).await;
    assert_eq!(ended.status, 200, "{}", ended.text);
    assert_eq!(ended.body["ended"], phone_id.as_str());
}

/// A thief holding only the phone's credential, on a machine of their
/// own, reads alice's list and so the laptop's login id, but cannot end
/// that login: not without the password, not by guessing it (five 403s,
/// then 429). The laptop's login works on, and the thief's guesses do not
/// lock alice out: from the laptop, her password ends the stolen login.
pub async fn a_stolen_credential_ends_no_other_login(app: &TestApp) {
    let mut laptop = log_in_on_device(app, "127.0.0.1", LAPTOP, ALICE).await;
    let phone = log_in_on_device(app, "127.0.0.2", PHONE, ALICE).await;
    let phone_id = own_login_id(&phone).await;
    let mut thief = app.visitor_from("127.0.0.66");
    thief.credential = phone.credential.clone();

    let listed = logins_of(&thief).await;
    let laptop_id = listed
        .iter()
        .find(|login| login["current"] == false)
        .and_then(|login| login["id"].as_str())
        .expect("the laptop's login, listed")
        .to_owned();
    let path = format!("/me/logins/{laptop_id}");
    let bare = thief.send(&Call::delete(&path)).await;
    assert_eq!(bare.status, 415, "{}", bare.text);
    assert_json_error(&bare, "no password");
    let guesses = [
        "alice",
        "wonderland",
        "flat-white",
        "cheshire-cat",
        "queen-of-hearts",
    ];
    for guess in guesses {
        let answer = end_with(&thief, &laptop_id, guess).await;
        assert_eq!(answer.status, 403, "{guess}: {}", answer.text);
    }
    let sixth = end_with(&thief, &laptop_id, "white-rabbit").await;
    assert_eq!(sixth.status, 429, "{}", sixth.text);

    // The laptop's login works on, and is still listed.
    assert_still_works(&mut laptop, "the laptop").await;
    assert!(
        logins_of(&laptop)
            .await
            .iter()
            .any(|l| l["id"] == laptop_id)
    );

    // Alice ends the stolen login from the laptop, with her password.
    let ended = end(&laptop, &phone_id).await;
    assert_eq!(ended.status, 200, "{}", ended.text);
    match app.mode {
        Mode::Sessions => assert_eq!(thief.get("/me").await.status, 401),
        // The denylist names the stolen login: its access token too.
        Mode::JwtDenylist => {
            assert_eq!(thief.clone().refresh().await.status, 401);
            assert_eq!(thief.get("/me").await.status, 401);
        }
        Mode::Jwt | Mode::JwtChecked | Mode::Hybrid => {
            assert_eq!(thief.clone().refresh().await.status, 401);
        }
    }
}

/// With a wrong password every id gets the same 403: one of alice's own,
/// the admin's, one that never was. The id is looked at only after the
/// right password, so ids cannot be probed without it.
pub async fn ids_looked_at_only_after_the_password(app: &TestApp) {
    let laptop = log_in_on_device(app, "127.0.0.1", LAPTOP, ALICE).await;
    let mut phone = log_in_on_device(app, "127.0.0.2", PHONE, ALICE).await;
    let mut admin = log_in_on_device(app, "127.0.0.3", LAPTOP, ADMIN).await;
    let phone_id = own_login_id(&phone).await;
    let admin_id = own_login_id(&admin).await;
    let never_was = "AAAAAAAAAAAAAAAAAAAAAA";

    let first = end_with(&laptop, &phone_id, WRONG).await;
    assert_eq!(first.status, 403, "{}", first.text);
    for id in [admin_id.as_str(), never_was] {
        let answer = end_with(&laptop, id, WRONG).await;
        assert_eq!(answer.status, 403, "{id}: {}", answer.text);
        assert_eq!(answer.text, first.text, "{id}: the same answer");
    }
    assert_still_works(&mut phone, "the phone").await;
    assert_still_works(&mut admin, "the admin").await;

    // With the right password: the admin's id and one that never was are
    // 404, alice's own phone's login ends.
    assert_eq!(end(&laptop, &admin_id).await.status, 404);
    assert_eq!(end(&laptop, never_was).await.status, 404);
    assert_eq!(end(&laptop, &phone_id).await.status, 200);
    assert_still_works(&mut admin, "the admin, after").await;
}

async fn without_the_password_nothing_ends(mode: Mode) {
    nothing_ended_without_the_password(&spawn_app(mode).await).await;
}

async fn a_wrong_password_is_403_ends_nothing_and_counts_like_a_failed_login(mode: Mode) {
    a_wrong_password_counted(&spawn_app(mode).await).await;
}

async fn a_thief_with_only_a_stolen_credential_cannot_end_the_owners_other_login(mode: Mode) {
    a_stolen_credential_ends_no_other_login(&spawn_app(mode).await).await;
}

async fn with_a_wrong_password_every_id_is_403_alike(mode: Mode) {
    ids_looked_at_only_after_the_password(&spawn_app(mode).await).await;
}

async fn a_banned_user_cannot_end_a_login(mode: Mode) {
    let app = spawn_app(mode).await;
    let admin = log_in_on_device(&app, "127.0.0.3", LAPTOP, ADMIN).await;
    let laptop = log_in_on_device(&app, "127.0.0.1", LAPTOP, ALICE).await;
    let phone = log_in_on_device(&app, "127.0.0.2", PHONE, ALICE).await;
    let phone_id = own_login_id(&phone).await;
    let ban = json!({ "role": "banned" });
    assert_eq!(admin.post("/admin/users/alice/role", ban).await.status, 200);

    let answer = end(&laptop, &phone_id).await;
    let expected = match mode {
        // The ban bumped her token version: her access token is refused
        // before the handler runs.
        Mode::JwtChecked => 401,
        // Sessions read the role on every request; the other token modes
        // learn of the ban from the account the password check reads.
        Mode::Sessions | Mode::Jwt | Mode::JwtDenylist | Mode::Hybrid => 403,
    };
    assert_eq!(answer.status, expected, "{}", answer.text);
    assert_json_error(&answer, "banned");

    // Refused, and nothing ended: once she is a member again, the phone's
    // login is still hers.
    let member = json!({ "role": "member" });
    let unbanned = admin.post("/admin/users/alice/role", member).await;
    assert_eq!(unbanned.status, 200);
    let elsewhere = log_in_on_device(&app, "127.0.0.4", LAPTOP, ALICE).await;
    let listed = logins_of(&elsewhere).await;
    assert!(
        listed.iter().any(|l| l["id"] == phone_id.as_str()),
        "{listed:?}"
    );
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
    without_the_password_nothing_ends,
    a_wrong_password_is_403_ends_nothing_and_counts_like_a_failed_login,
    a_thief_with_only_a_stolen_credential_cannot_end_the_owners_other_login,
    with_a_wrong_password_every_id_is_403_alike,
    a_banned_user_cannot_end_a_login,
);
