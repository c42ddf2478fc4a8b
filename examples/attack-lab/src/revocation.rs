//! Ending a login, and what still works afterwards: logout, bans, "log out
//! everywhere", and the refresh token's rotation, lifetime and idle limit.

use attack_lab::{
    Attack, Call, Endpoint, Family, Lab, LabResult, Login, Outcome, Reply, Targets, judge,
    judge_all,
};
use std::time::Duration;

const RFC_9700_REFRESH: &str = "RFC 9700 §4.14.2; OWASP JWT Cheat Sheet";

const FAMILY: Family = Family::Revocation;

/// The revocation and refresh attacks.
pub const ATTACKS: &[Attack] = &[
    Attack {
        name: "refresh-reuse-after-rotation",
        family: FAMILY,
        attempt: "a refresh token used again after it was swapped for a new one",
        defence: "401, and the whole family ends: the new token stops working too",
        source: RFC_9700_REFRESH,
        targets: Targets::Tokens,
        run: |lab| Box::pin(reuse_after_rotation(lab)),
    },
    Attack {
        name: "refresh-parallel-reuse",
        family: FAMILY,
        attempt: "one refresh token sent four times at once",
        defence: "exactly one new pair; the rest 401",
        source: RFC_9700_REFRESH,
        targets: Targets::Tokens,
        run: |lab| Box::pin(parallel_reuse(lab)),
    },
    Attack {
        name: "refresh-parallel-reuse-two-servers",
        family: FAMILY,
        attempt: "one refresh token sent to two servers of the same deployment at once",
        defence: "exactly one new pair across both: the rotation is atomic in the shared store",
        source: RFC_9700_REFRESH,
        targets: Targets::Tokens,
        run: |lab| Box::pin(parallel_reuse_two_servers(lab)),
    },
    Attack {
        name: "refresh-after-logout",
        family: FAMILY,
        attempt: "the refresh token of a login that has logged out",
        defence: "401",
        source: "RFC 9700 §4.14.2; ASVS 5.0 7.4.1",
        targets: Targets::Tokens,
        run: |lab| Box::pin(refresh_after_logout(lab)),
    },
    Attack {
        name: "refresh-after-logout-by-refresh-token",
        family: FAMILY,
        attempt: "a login logged out with only its refresh token (as a client whose access \
            token has expired logs out), then refreshed with it",
        defence: "401: the logout ends the login its refresh token names",
        source: "RFC 9700 §4.14.2; RFC 7009 §2.1; ASVS 5.0 7.4.1",
        targets: Targets::Tokens,
        run: |lab| Box::pin(refresh_after_logout_by_refresh_token(lab)),
    },
    Attack {
        name: "refresh-after-ban",
        family: FAMILY,
        attempt: "the refresh token of a user an admin has since banned",
        defence: "403: no new access token for a banned account",
        source: "ASVS 5.0 7.4.2",
        targets: Targets::Tokens,
        run: |lab| Box::pin(refresh_after_ban(lab)),
    },
    Attack {
        name: "refresh-after-logout-everywhere",
        family: FAMILY,
        attempt: "a refresh token after an admin logged its user out everywhere",
        defence: "401",
        source: "ASVS 5.0 7.4.5",
        targets: Targets::Tokens,
        run: |lab| Box::pin(refresh_after_logout_everywhere(lab)),
    },
    Attack {
        name: "refresh-expired",
        family: FAMILY,
        attempt: "a login refreshed within every idle limit for 7 days, then refreshed after \
            its lifetime ended",
        defence: "401: the family ends at login + 7 days, however often refreshed",
        source: "RFC 9700 §4.14.2; ASVS 5.0 7.3.2",
        targets: Targets::Tokens,
        run: |lab| Box::pin(refresh_expired(lab)),
    },
    Attack {
        name: "refresh-after-idle",
        family: FAMILY,
        attempt: "a refresh token left unused past the idle limit (by default 30 minutes past \
            the access token's lifetime)",
        defence: "401: a login not refreshed within the limit ends, as an idle session does",
        source: "ASVS 5.0 7.3.1",
        targets: Targets::Tokens,
        run: |lab| Box::pin(refresh_after_idle(lab)),
    },
    Attack {
        name: "access-after-logout",
        family: FAMILY,
        attempt: "the credential of a login that has logged out, replayed",
        defence: "401 where the server keeps state per request; plain JWTs work until they expire",
        source: "ASVS 5.0 7.4.1; OWASP JWT Cheat Sheet (token revocation)",
        targets: Targets::Every,
        run: |lab| Box::pin(access_after_logout(lab)),
    },
    Attack {
        name: "access-after-ban",
        family: FAMILY,
        attempt: "the credential of a user an admin has just banned",
        defence: "403 or 401 at once where the role or version is looked up; plain JWTs until \
            expiry",
        source: "ASVS 5.0 7.4.2",
        targets: Targets::Every,
        run: |lab| Box::pin(access_after_ban(lab)),
    },
    Attack {
        name: "access-after-logout-everywhere",
        family: FAMILY,
        attempt: "a credential after an admin logged its user out everywhere",
        defence: "401 where the server keeps state per request; plain JWTs until expiry",
        source: "ASVS 5.0 7.4.5",
        targets: Targets::Every,
        run: |lab| Box::pin(access_after_logout_everywhere(lab)),
    },
];

async fn refresh(lab: &Lab, token: &str) -> Result<Reply, String> {
    lab.send(lab.refresh_call(token)).await
}

async fn reuse_after_rotation(lab: &Lab) -> LabResult {
    let login = lab.log_in(&lab.member().name).await?;
    let first = login.refresh_token()?.to_owned();
    let rotated = refresh(lab, &first).await?;
    let second = lab
        .refreshed_token(&rotated)
        .ok_or("the first refresh gave no new token")?;
    let reused = judge(
        &refresh(lab, &first).await?,
        &[401],
        "the old token refreshed",
    )?;
    let successor = judge(
        &refresh(lab, &second).await?,
        &[401],
        "the family survived the reuse",
    )?;
    judge_all(vec![reused, successor])
}

/// Exactly one of `replies` may have succeeded.
fn one_winner(replies: &[Reply]) -> LabResult {
    let winners = replies.iter().filter(|reply| reply.status == 200).count();
    let losers = replies.iter().filter(|reply| reply.status == 401).count();
    match (winners, losers) {
        (1, rest) if rest == replies.len() - 1 => {
            Ok(Outcome::Refused(format!("one 200, {rest} × 401")))
        }
        (0, _) => Err("no refresh succeeded at all".to_owned()),
        (many, _) => Ok(Outcome::Accepted(format!(
            "{many} refreshes succeeded with one token"
        ))),
    }
}

async fn parallel_reuse(lab: &Lab) -> LabResult {
    let login = lab.log_in(&lab.member().name).await?;
    let token = login.refresh_token()?;
    let (a, b, c, d) = tokio::join!(
        refresh(lab, token),
        refresh(lab, token),
        refresh(lab, token),
        refresh(lab, token)
    );
    one_winner(&[a?, b?, c?, d?])
}

async fn parallel_reuse_two_servers(lab: &Lab) -> LabResult {
    let login = lab.log_in(&lab.member().name).await?;
    let token = login.refresh_token()?;
    let (a, b, c, d) = tokio::join!(
        refresh(lab, token),
        lab.send_to_second(lab.refresh_call(token)),
        refresh(lab, token),
        lab.send_to_second(lab.refresh_call(token)),
    );
    let (Some(b), Some(d)) = (b?, d?) else {
        return Ok(Outcome::Skipped(
            "needs a second server on the same store (`--second-target`)".to_owned(),
        ));
    };
    one_winner(&[a?, b, c?, d])
}

async fn refresh_after_logout(lab: &Lab) -> LabResult {
    let login = lab.log_in(&lab.member().name).await?;
    lab.log_out(&login).await?;
    judge(
        &refresh(lab, login.refresh_token()?).await?,
        &[401],
        "a logged-out login refreshed",
    )
}

async fn refresh_after_logout_by_refresh_token(lab: &Lab) -> LabResult {
    lab.needs(Endpoint::Logout)?;
    lab.needs(Endpoint::Refresh)?;
    let login = lab.log_in(&lab.member().name).await?;
    let token = login.refresh_token()?;
    // The refresh token the way the server takes it at /refresh (the JSON
    // body, or the hybrid's cookie, which goes to /logout too), and no
    // access token.
    let mut logout = lab.refresh_call(token);
    logout.path = Endpoint::Logout.cafe_path().to_owned();
    let logout = lab.send(logout).await?;
    let refreshed = refresh(lab, token).await?;
    Ok(
        match judge(
            &refreshed,
            &[401],
            "the login logged out by its refresh token refreshed",
        )? {
            Outcome::Refused(how) => {
                Outcome::Refused(format!("logout {}; refresh {how}", logout.status))
            }
            Outcome::Accepted(what) => {
                Outcome::Accepted(format!("logout {}; {what}", logout.status))
            }
            skipped => skipped,
        },
    )
}

/// Bans alice (the profile's member), runs `then`, and gives alice her
/// role back whatever happened.
async fn while_alice_is_banned(lab: &Lab, then: Call) -> LabResult {
    let alice = &lab.member().name;
    lab.set_role(alice, "banned").await?;
    let reply = lab.send(then).await;
    lab.set_role(alice, "member").await?;
    judge(&reply?, &[401, 403], "the banned user got in")
}

async fn refresh_after_ban(lab: &Lab) -> LabResult {
    let login = lab.log_in(&lab.member().name).await?;
    let call = lab.refresh_call(login.refresh_token()?);
    while_alice_is_banned(lab, call).await
}

async fn logged_out_everywhere(lab: &Lab) -> Result<(), String> {
    let admin = lab.log_in(&lab.admin()?.name).await?;
    let call = Call::post(&format!(
        "/admin/users/{}/logout-everywhere",
        lab.member().name
    ));
    let reply = lab.send(admin.attach(call)).await?;
    if reply.status == 200 {
        Ok(())
    } else {
        Err(format!("logout-everywhere failed: {}", reply.summary()))
    }
}

async fn refresh_after_logout_everywhere(lab: &Lab) -> LabResult {
    let login = lab.log_in(&lab.member().name).await?;
    logged_out_everywhere(lab).await?;
    judge(
        &refresh(lab, login.refresh_token()?).await?,
        &[401],
        "the login survived logout-everywhere",
    )
}

/// A login's lifetime, from login, however often it is refreshed: the
/// café's default.
const LOGIN_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// The café's default idle limit for `login`: 30 minutes past its access
/// token's lifetime (45 minutes for `--auth jwt`, 35 for the hybrid). The
/// lab reads the lifetime from the token; a server started with
/// `--refresh-idle-timeout` has another limit, but only the test suite,
/// which runs the defaults, can move the clock these attacks need.
fn idle_limit(login: &Login) -> Result<Duration, String> {
    let (_, claims) =
        jwt::anatomy::decode_unverified(login.access_token()?).map_err(|e| e.to_string())?;
    let claim = |name: &str| claims.get(name).and_then(serde_json::Value::as_u64);
    let (Some(issued), Some(expires)) = (claim("iat"), claim("exp")) else {
        return Err("the access token has no numeric iat and exp".to_owned());
    };
    let idle = jwt::Lifetimes::with_access(expires.saturating_sub(issued)).refresh_idle;
    Ok(Duration::from_secs(idle))
}

/// Why a clock attack cannot run here, and (`by_hand`) what to try instead.
fn needs_clock(how_far: &str, by_hand: &str) -> Outcome {
    Outcome::Skipped(format!(
        "needs to move the server's clock forward {how_far}: only the test suite can \
         (`cargo test -p cafe --test api attack_lab`){by_hand}"
    ))
}

async fn refresh_expired(lab: &Lab) -> LabResult {
    let login = lab.log_in(&lab.member().name).await?;
    // A refresh a minute before each idle limit keeps the login alive; it
    // must still end 7 days after it began.
    let step = idle_limit(&login)?.saturating_sub(Duration::from_secs(60));
    let mut token = login.refresh_token()?.to_owned();
    let mut alive_for = Duration::ZERO;
    let mut refreshes = 0;
    while alive_for + step < LOGIN_LIFETIME {
        if !lab.advance_clock(step) {
            return Ok(needs_clock("7 days", ""));
        }
        alive_for += step;
        let renewed = refresh(lab, &token).await?;
        token = lab.refreshed_token(&renewed).ok_or_else(|| {
            format!(
                "a refresh {alive_for:?} after login, inside the lifetime and the idle limit, \
                 failed: {}",
                renewed.summary()
            )
        })?;
        refreshes += 1;
    }
    // Keep the transcript short: the login and the first refresh show them all.
    lab.keep_first_exchanges(2);
    // Half a minute past the end: well inside the idle limit, so only the
    // lifetime can refuse it.
    lab.advance_clock(LOGIN_LIFETIME.saturating_sub(alive_for) + Duration::from_secs(30));
    match judge(
        &refresh(lab, &token).await?,
        &[401],
        "a refresh after the login's end",
    )? {
        Outcome::Refused(how) => Ok(Outcome::Refused(format!(
            "{refreshes} refreshes inside 7 days, then 30 s past the end: {how}"
        ))),
        other => Ok(other),
    }
}

async fn refresh_after_idle(lab: &Lab) -> LabResult {
    let login = lab.log_in(&lab.member().name).await?;
    let idle = idle_limit(&login)?;
    let minute = Duration::from_secs(60);
    // A minute inside the limit the login lives on, and its idle clock
    // starts again from this refresh...
    if !lab.advance_clock(idle.saturating_sub(minute)) {
        return Ok(needs_clock(
            "past the idle limit",
            "; against a café you run, shorten the limit (`--refresh-idle-timeout 2m`) \
             and try the refresh token by hand after it",
        ));
    }
    let renewed = refresh(lab, login.refresh_token()?).await?;
    let token = lab.refreshed_token(&renewed).ok_or_else(|| {
        format!(
            "a refresh inside the idle limit failed: {}",
            renewed.summary()
        )
    })?;
    // ...so a minute past the limit from that refresh, and only then, it
    // has ended.
    lab.advance_clock(idle + minute);
    match judge(
        &refresh(lab, &token).await?,
        &[401],
        "a refresh token idle past the limit refreshed",
    )? {
        Outcome::Refused(how) => Ok(Outcome::Refused(format!(
            "{} min without a refresh: {how}",
            (idle + minute).as_secs() / 60
        ))),
        other => Ok(other),
    }
}

async fn access_after_logout(lab: &Lab) -> LabResult {
    let login = lab.log_in(&lab.member().name).await?;
    lab.log_out(&login).await?;
    let reply = lab.send(login.attach(Call::get("/me"))).await?;
    judge(&reply, &[401], "GET /me still answered after logout")
}

async fn access_after_ban(lab: &Lab) -> LabResult {
    let login = lab.log_in(&lab.member().name).await?;
    let call = login.attach(Call::get("/me"));
    while_alice_is_banned(lab, call).await
}

async fn access_after_logout_everywhere(lab: &Lab) -> LabResult {
    let login = lab.log_in(&lab.member().name).await?;
    logged_out_everywhere(lab).await?;
    let reply = lab.send(login.attach(Call::get("/me"))).await?;
    judge(&reply, &[401], "GET /me still answered")
}
