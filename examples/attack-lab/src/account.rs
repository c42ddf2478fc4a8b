//! The account's own controls, turned on a thief: a password change, a
//! login ended from another device, another user's login id, and a stolen
//! credential that tries to end its owner's other login. The first two ask
//! what a credential issued before the owner acted can still do after.

use attack_lab::{
    Attack, Call, Credential, Family, Lab, LabError, LabResult, Login, Outcome, Reply, Targets,
    judge, judge_all,
};
use jwt::tokens::LEEWAY_SECONDS;
use std::time::Duration;

const FAMILY: Family = Family::Revocation;

/// The password the owner changes to, and back from.
const NEW_PASSWORD: &str = "flat-white-every-morning";

/// The account attacks.
pub const ATTACKS: &[Attack] = &[
    Attack {
        name: "credential-after-password-change",
        family: FAMILY,
        attempt: "a credential stolen before its owner changed the password, used after the \
            change",
        defence: "401 at once for a session and every refresh token; a JWT's access token works \
            until it expires, unless the denylist or versions are checked",
        source: "ASVS 5.0 7.4.3",
        targets: Targets::Every,
        run: |lab| Box::pin(credential_after_password_change(lab)),
    },
    Attack {
        name: "login-ended-elsewhere",
        family: FAMILY,
        attempt: "the credential of a login its owner ended from another device \
            (DELETE /me/logins/{id}), used again",
        defence: "401 for the session and the refresh token; with the denylist checked, for the \
            access token too (the login's sid is on it); otherwise the access token works until \
            access_token_works_until, as the answer says",
        source: "ASVS 5.0 7.5.2, 7.4.1",
        targets: Targets::Every,
        run: |lab| Box::pin(login_ended_elsewhere(lab)),
    },
    Attack {
        name: "end-login-without-password",
        family: FAMILY,
        attempt: "a thief holding only a stolen credential, not the password, sends \
            DELETE /me/logins/{id} for its owner's other login: with no body, and with a body \
            that has no current_password",
        defence: "refused before any password check (415, 422), and the owner's login goes on",
        source: "ASVS 5.0 7.5.2",
        targets: Targets::Every,
        run: |lab| Box::pin(end_login_without_password(lab)),
    },
    Attack {
        name: "another-users-login-id",
        family: FAMILY,
        attempt: "another user (the demo admin), with their own password, sends \
            DELETE /me/logins/{id} with the id of one of alice's logins",
        defence: "404, the same answer as for an id that never existed, and alice's login goes on",
        source: "ASVS 5.0 8.2.2, 7.5.2",
        targets: Targets::Every,
        run: |lab| Box::pin(another_users_login_id(lab)),
    },
];

/// How the verdict of an attack whose only by-design risk is the access
/// token begins when that is all it got: the test suite tells it apart from
/// a session or a refresh token that outlived its login.
pub const ONLY_THE_ACCESS_TOKEN: &str = "the access token";

/// `POST /me/password` as `login`: the owner's new login, or an error if
/// the change failed.
async fn change_password(
    lab: &Lab,
    login: &Login,
    from: &str,
    to: &str,
) -> Result<Login, LabError> {
    let body = serde_json::json!({ "current_password": from, "new_password": to });
    let reply = lab
        .send(login.attach(Call::post("/me/password").json(&body)))
        .await?;
    if reply.status != 200 {
        return Err(format!("changing the password failed: {}", reply.summary()));
    }
    let credential = lab
        .issued(&reply)
        .ok_or("the password change gave no new credential")?;
    Ok(Login {
        user: login.user.clone(),
        credential,
    })
}

/// `DELETE /me/logins/{id}` with the current password, as the café asks
/// for it again before it ends a login (ASVS 5.0 7.5.2).
fn end_login_call(id: &str, current_password: &str) -> Call {
    let body = serde_json::json!({ "current_password": current_password });
    Call::delete(&format!("/me/logins/{id}")).json(&body)
}

/// The id of the login `login` is, as `GET /me/logins` marks it `current`.
async fn current_login_id(lab: &Lab, login: &Login) -> Result<String, LabError> {
    let reply = lab.send(login.attach(Call::get("/me/logins"))).await?;
    if reply.status != 200 {
        return Err(format!("listing the logins failed: {}", reply.summary()));
    }
    logins_in(&reply)
        .find(|entry| entry["current"] == true)
        .and_then(|entry| entry["id"].as_str())
        .map(str::to_owned)
        .ok_or_else(|| "the list of logins marks none as current".to_owned())
}

/// The entries of a `GET /me/logins` answer.
fn logins_in(reply: &Reply) -> impl Iterator<Item = &serde_json::Value> {
    reply.body.as_array().into_iter().flatten()
}

/// A numeric claim of a JWT, read without checking it (the lab only needs
/// to know when the server will stop taking it).
fn claim(token: &str, name: &str) -> Result<u64, LabError> {
    let (_, claims) = jwt::anatomy::decode_unverified(token).map_err(|e| e.to_string())?;
    claims
        .get(name)
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| format!("the access token has no numeric {name:?}"))
}

/// `seconds` in words: `15 min` or `905 s`.
fn span(seconds: u64) -> String {
    if seconds.is_multiple_of(60) {
        format!("{} min", seconds / 60)
    } else {
        format!("{seconds} s")
    }
}

/// What `stolen` can still do once its login has ended (`ended_by` says
/// how). A session cookie must be refused. A token login is judged on both
/// of its tokens: both refused is a refusal; the access token still taken
/// is the risk some modes accept, and the verdict then begins with
/// [`ONLY_THE_ACCESS_TOKEN`]; the refresh token still taken is never by
/// design.
async fn after_end(lab: &Lab, stolen: &Login, ended_by: &str) -> LabResult {
    let Credential::Bearer { refresh, .. } = &stolen.credential else {
        let reply = lab.send(stolen.attach(Call::get("/me"))).await?;
        return judge(
            &reply,
            &[401],
            &format!("the session still works after {ended_by}"),
        );
    };
    let access = lab.send(stolen.attach(Call::get("/me"))).await?;
    let refresh = lab.send(lab.refresh_call(refresh)).await?;
    let refreshed = judge(&refresh, &[401], "")?;
    if let Outcome::Accepted(_) = refreshed {
        return Ok(Outcome::Accepted(format!(
            "the refresh token still refreshed after {ended_by} ({})",
            refresh.status
        )));
    }
    match judge(&access, &[401], "")? {
        Outcome::Accepted(_) => Ok(Outcome::Accepted(format!(
            "{ONLY_THE_ACCESS_TOKEN} still works after {ended_by} (GET /me {})",
            access.status
        ))),
        refused => judge_all(vec![refused, refreshed]),
    }
}

/// Moves the server's clock to `until` (seconds since 1970, as the access
/// token's `iat` counts them: the clock has not moved since it was issued)
/// and checks that the access token is refused from then on. `None` if the
/// lab cannot move the clock.
async fn refused_from(lab: &Lab, stolen: &Login, until: u64) -> Result<Option<String>, LabError> {
    let issued = claim(stolen.access_token()?, "iat")?;
    if !lab.advance_clock(Duration::from_secs(until.saturating_sub(issued))) {
        return Ok(None);
    }
    let reply = lab.send(stolen.attach(Call::get("/me"))).await?;
    if reply.status != 401 {
        return Err(format!(
            "the access token still answered at the end of its window: {}",
            reply.summary()
        ));
    }
    Ok(Some(format!("at its end GET /me is {}", reply.status)))
}

/// The risk's wording: what got through, until when, that the refresh
/// token did not, and (if the lab could watch it) that the window closed.
fn with_window(what: String, window: &str, closed: Option<String>) -> String {
    let refresh = "the refresh token is refused (401)";
    match closed {
        Some(closed) => format!("{what}, {window}; {refresh}; {closed}"),
        None => format!("{what}, {window}; {refresh}"),
    }
}

// ANCHOR: password_change
async fn credential_after_password_change(lab: &Lab) -> LabResult {
    let stolen = lab.log_in(&lab.member().name).await?;
    let owner = lab.log_in(&lab.member().name).await?;
    let password = &lab.member().password;
    let changed = change_password(lab, &owner, password, NEW_PASSWORD).await?;
    let verdict = after_end(lab, &stolen, "the password change").await;
    // Whatever happened, alice gets her password back for the next attack.
    change_password(lab, &changed, NEW_PASSWORD, password).await?;
    match verdict? {
        Outcome::Accepted(what) if what.starts_with(ONLY_THE_ACCESS_TOKEN) => {
            let access = stolen.access_token()?;
            let (issued, expires) = (claim(access, "iat")?, claim(access, "exp")?);
            let until = expires.saturating_add(LEEWAY_SECONDS);
            let window = format!(
                "until it expires, {} after it was issued plus {LEEWAY_SECONDS} s of leeway",
                span(expires.saturating_sub(issued))
            );
            let closed = refused_from(lab, &stolen, until).await?;
            Ok(Outcome::Accepted(with_window(what, &window, closed)))
        }
        other => Ok(other),
    }
}
// ANCHOR_END: password_change

// ANCHOR: ended_elsewhere
async fn login_ended_elsewhere(lab: &Lab) -> LabResult {
    let lost_phone = lab.log_in(&lab.member().name).await?;
    let laptop = lab.log_in(&lab.member().name).await?;
    let id = current_login_id(lab, &lost_phone).await?;
    let password = &lab.member().password;
    let ended = lab
        .send(laptop.attach(end_login_call(&id, password)))
        .await?;
    if ended.status != 200 {
        return Err(format!("ending the login failed: {}", ended.summary()));
    }
    match after_end(lab, &lost_phone, "its login was ended").await? {
        Outcome::Accepted(what) if what.starts_with(ONLY_THE_ACCESS_TOKEN) => {
            let until = ended.body["access_token_works_until"]
                .as_u64()
                .ok_or("the answer gives no access_token_works_until")?;
            let issued = claim(lost_phone.access_token()?, "iat")?;
            let window = format!(
                "until access_token_works_until, {} after it was issued",
                span(until.saturating_sub(issued))
            );
            let closed = refused_from(lab, &lost_phone, until).await?;
            Ok(Outcome::Accepted(with_window(what, &window, closed)))
        }
        other => Ok(other),
    }
}
// ANCHOR_END: ended_elsewhere

// ANCHOR: without_password
async fn end_login_without_password(lab: &Lab) -> LabResult {
    let stolen = lab.log_in(&lab.member().name).await?;
    let owner = lab.log_in(&lab.member().name).await?;
    let id = current_login_id(lab, &owner).await?;
    let path = format!("/me/logins/{id}");
    let hashes_before = lab.hashes_so_far();
    let no_body = lab.send(stolen.attach(Call::delete(&path))).await?;
    let no_password = Call::delete(&path).json(&serde_json::json!({}));
    let no_password = lab.send(stolen.attach(no_password)).await?;
    let ended = "the stolen credential ended its owner's other login";
    let verdict = judge_all(vec![
        judge(
            &no_body,
            &[400, 415, 422],
            &format!("{ended}, with no body"),
        )?,
        judge(
            &no_password,
            &[400, 415, 422],
            &format!("{ended}, with {{}}"),
        )?,
    ])?;
    if let Outcome::Accepted(_) = verdict {
        return Ok(verdict);
    }
    // Refused before any password check (when the lab can count them): no
    // password, nothing for the throttle to count against the owner.
    if let (Some(before), Some(after)) = (hashes_before, lab.hashes_so_far())
        && after != before
    {
        return Err(format!(
            "refused, but after {} password checks: a request with no password was checked",
            after - before
        ));
    }
    // Refused, and the owner's login goes on: it answers, and it is listed
    // (a token login's access token would answer even if it had ended).
    let me = lab.send(owner.attach(Call::get("/me"))).await?;
    let listed = lab.send(owner.attach(Call::get("/me/logins"))).await?;
    if me.status != 200 || !logins_in(&listed).any(|entry| entry["id"] == id.as_str()) {
        return Ok(Outcome::Accepted(format!(
            "refused, but the owner's login ended (GET /me {}; GET /me/logins {})",
            me.summary(),
            listed.summary()
        )));
    }
    Ok(verdict)
}
// ANCHOR_END: without_password

async fn another_users_login_id(lab: &Lab) -> LabResult {
    let alice = lab.log_in(&lab.member().name).await?;
    let id = current_login_id(lab, &alice).await?;
    let other = lab.admin()?;
    let mallory = lab.log_in(&other.name).await?;
    let made_up = sessions::login_id().map_err(|e| e.to_string())?;
    let password = &other.password;
    let unknown = lab
        .send(mallory.attach(end_login_call(&made_up, password)))
        .await?;
    if unknown.status != 404 {
        return Err(format!(
            "an id that never existed answered {}, not 404",
            unknown.summary()
        ));
    }
    let reply = lab
        .send(mallory.attach(end_login_call(&id, password)))
        .await?;
    if let Outcome::Accepted(what) = judge(&reply, &[404], "admin ended alice's login")? {
        return Ok(Outcome::Accepted(what));
    }
    if reply.text != unknown.text {
        return Ok(Outcome::Accepted(format!(
            "alice's id answered {:?}, an unknown one {:?}: the answer tells whose ids exist",
            reply.text, unknown.text
        )));
    }
    let still = lab.send(alice.attach(Call::get("/me/logins"))).await?;
    if !logins_in(&still).any(|entry| entry["id"] == id.as_str()) {
        return Ok(Outcome::Accepted(format!(
            "the answer was 404, but alice's login ended (her list: {})",
            still.summary()
        )));
    }
    Ok(Outcome::Refused(format!(
        "{}, as for an id that never existed; alice's login is still in her list",
        reply.summary()
    )))
}
