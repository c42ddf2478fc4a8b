//! Attacks on the login itself: learning who has an account, and guessing
//! passwords one at a time, many at once, from many places.
//!
//! The café limits failed attempts per account and client, per client and
//! per account (`cafe::throttle`), whether or not the name exists, so most
//! guessing attacks aim at a name nobody has: the demo users stay usable
//! while the lab runs, and the limits look the same. Against a server on
//! this machine, each attack comes from a loopback address of its own.

use attack_lab::{Attack, Call, Family, Lab, LabResult, Outcome, Reply, Targets, judge, judge_all};
use std::time::{Duration, Instant};

const FAMILY: Family = Family::Login;

/// The login attacks.
pub const ATTACKS: &[Attack] = &[
    Attack {
        name: "login-user-enumeration",
        family: FAMILY,
        attempt: "compare the answers for an unknown name and a wrong password",
        defence: "the same status and the same body for both",
        source: "ASVS 5.0 6.3.8; OWASP Authentication Cheat Sheet",
        targets: Targets::Every,
        run: |lab| Box::pin(user_enumeration(lab)),
    },
    Attack {
        name: "login-timing-enumeration",
        family: FAMILY,
        attempt: "time the answers for an unknown name and a wrong password",
        defence: "the same Argon2 work for both: an unknown name is checked against a dummy hash",
        source: "ASVS 5.0 6.3.8; OWASP Authentication Cheat Sheet",
        targets: Targets::Every,
        run: |lab| Box::pin(timing_enumeration(lab)),
    },
    Attack {
        name: "login-parallel-guessing",
        family: FAMILY,
        attempt: "20 password guesses for one name, all at once",
        defence: "at most 5 are checked; the rest get 429 with Retry-After",
        source: "ASVS 5.0 6.3.1; OWASP Authentication Cheat Sheet",
        targets: Targets::Every,
        run: |lab| Box::pin(parallel_guessing(lab)),
    },
    Attack {
        name: "login-guessing-from-many-addresses",
        family: FAMILY,
        attempt: "10 guesses for one name, each claiming another client address",
        defence: "429 after 5: the limit counts per name and client, and X-Forwarded-For \
            names the client only when a trusted proxy wrote it",
        source: "ASVS 5.0 6.3.1",
        targets: Targets::Every,
        run: |lab| Box::pin(guessing_from_many_addresses(lab)),
    },
    Attack {
        name: "login-password-spraying",
        family: FAMILY,
        attempt: "one guess each for 25 different names, from one address",
        defence: "429 after at most 20 failures from one client, whatever the names",
        source: "ASVS 5.0 6.3.1; OWASP Credential Stuffing Prevention Cheat Sheet",
        targets: Targets::Every,
        run: |lab| Box::pin(password_spraying(lab)),
    },
    Attack {
        name: "login-lockout-by-a-stranger",
        family: FAMILY,
        attempt: "six wrong passwords for admin from one address, then admin's right password \
            from another",
        defence: "the stranger gets 429; the owner, elsewhere, logs in: failures count per \
            account and client, so one stranger's failures do not lock the owner out",
        source: "ASVS 5.0 6.3.1; OWASP Authentication Cheat Sheet, Account Lockout",
        targets: Targets::Every,
        run: |lab| Box::pin(lockout_by_a_stranger(lab)),
    },
    Attack {
        name: "login-oversized-password",
        family: FAMILY,
        attempt: "a 2 KiB password, and a 1 MiB login body",
        defence: "422 before any hashing, 413 before reading the body",
        source: "ASVS 5.0 6.2.9 (64+ characters allowed); OWASP Password Storage Cheat Sheet",
        targets: Targets::Every,
        run: |lab| Box::pin(oversized_password(lab)),
    },
    Attack {
        name: "login-password-variants",
        family: FAMILY,
        attempt: "the right password with other letter case, a trailing space, or an extra \
            character",
        defence: "401 for each: the password is checked exactly as sent, never truncated or \
            case-folded",
        source: "ASVS 5.0 6.2.8",
        targets: Targets::Every,
        run: |lab| Box::pin(password_variants(lab)),
    },
    Attack {
        name: "login-ceiling-filled-by-strangers",
        family: FAMILY,
        attempt: "the owner logs in once; then 20 addresses fail 5 times each at admin, \
            filling the account's ceiling, and a new address keeps trying",
        defence: "the new address is slowed (429); the owner, from where they logged in \
            before, logs in: the ceiling holds back only clients the account does not know",
        source: "OWASP Authentication Cheat Sheet, Account Lockout; ASVS 5.0 6.3.1",
        targets: Targets::Every,
        run: |lab| Box::pin(ceiling_filled_by_strangers(lab)),
    },
];

/// What the lockout attacks add when the owner got in and no stranger's
/// failure was answered anything but 401: they say what was tried, no more
/// (a lockout after more failures than they send may still exist).
pub const NEVER_SLOWED: &str = "every failure answered 401, none slowed: the unthrottled \
    guessing is login-parallel-guessing's finding";

/// A user name nobody has, different on every call.
fn nobody() -> Result<String, String> {
    let suffix = jwt::tokens::random_id().map_err(|e| e.to_string())?;
    Ok(format!("nobody-{suffix}"))
}

/// A login as `name` with `password`, in the profile's field names.
fn guess(lab: &Lab, name: &str, password: &str) -> Call {
    lab.login_call(name, password)
}

async fn user_enumeration(lab: &Lab) -> LabResult {
    let alice = lab.member();
    let unknown = lab.send(guess(lab, &nobody()?, &alice.password)).await?;
    let wrong = lab
        .send(guess(lab, &alice.name, "not-her-password"))
        .await?;
    // Clears alice's failed attempt, as her next real login would.
    lab.log_in(&lab.member().name).await?;
    if unknown.status == wrong.status && unknown.text == wrong.text {
        Ok(Outcome::Refused(format!(
            "both answered {}",
            unknown.summary()
        )))
    } else {
        Ok(Outcome::Accepted(format!(
            "unknown name: {}; wrong password: {}",
            unknown.summary(),
            wrong.summary()
        )))
    }
}

async fn timed(lab: &Lab, call: Call) -> Result<(Duration, Reply), String> {
    let started = Instant::now();
    let reply = lab.send(call).await?;
    Ok((started.elapsed(), reply))
}

/// The timing attack where the lab can see the server's work: an unknown
/// name must cost as many password hashes as a wrong password. What a
/// stopwatch estimates from outside, counted exactly.
async fn work_enumeration(lab: &Lab) -> LabResult {
    let hashes_for = |call: Call| async move {
        let before = lab.hashes_so_far().unwrap_or(0);
        lab.send(call).await?;
        Ok::<u64, String>(lab.hashes_so_far().unwrap_or(0).saturating_sub(before))
    };
    let alice = lab.member();
    let unknown = hashes_for(guess(lab, &nobody()?, &alice.password)).await?;
    let wrong = hashes_for(guess(lab, &alice.name, "not-her-password")).await?;
    lab.log_in(&lab.member().name).await?;
    let shown =
        format!("{unknown} password hash(es) for an unknown name, {wrong} for a wrong password");
    Ok(if unknown == wrong && wrong > 0 {
        Outcome::Refused(shown)
    } else {
        Outcome::Accepted(shown)
    })
}

/// The fastest of `times`: what the work itself costs. Another process on
/// the machine can only add time to a sample, so on a busy machine the
/// fastest is steadier than the median (which a two-core CI box showed:
/// 21.6 ms against 69.8 ms for the same Argon2 work).
fn fastest(times: Vec<Duration>) -> Duration {
    times.into_iter().min().unwrap_or_default()
}

async fn timing_enumeration(lab: &Lab) -> LabResult {
    if lab.hashes_so_far().is_some() {
        return work_enumeration(lab).await;
    }
    let (mut unknown, mut wrong) = (Vec::new(), Vec::new());
    let alice = lab.member();
    // Three of each, interleaved, under alice's limit of five.
    for _ in 0..3 {
        let call = guess(lab, &nobody()?, &alice.password);
        unknown.push(timed(lab, call).await?.0);
        let call = guess(lab, &alice.name, "not-her-password");
        wrong.push(timed(lab, call).await?.0);
    }
    lab.log_in(&lab.member().name).await?;
    let (unknown, wrong) = (fastest(unknown), fastest(wrong));
    let ratio = unknown.as_secs_f64() / wrong.as_secs_f64().max(1e-9);
    let shown = format!(
        "fastest of 3: {unknown:.1?} for an unknown name, {wrong:.1?} for a wrong password"
    );
    // An unknown name answered without hashing would take a tiny fraction
    // of a hashed one (Argon2id is tens of milliseconds, the rest
    // microseconds), so a wide band still tells them apart on a busy machine.
    Ok(if (1.0 / 3.0..3.0).contains(&ratio) {
        Outcome::Refused(shown)
    } else {
        Outcome::Accepted(shown)
    })
}

async fn parallel_guessing(lab: &Lab) -> LabResult {
    let name = nobody()?;
    let guesses = (0..20).map(|n| lab.send(guess(lab, &name, &format!("guess-{n}"))));
    let (mut checked, mut throttled, mut busy) = (0, 0, 0);
    for reply in futures_util::future::join_all(guesses).await {
        match reply?.status {
            401 => checked += 1,
            429 => throttled += 1,
            // Every password-check slot taken: refused unchecked.
            503 => busy += 1,
            other => return Err(format!("a guess got {other}")),
        }
    }
    lab.keep_first_exchanges(1);
    Ok(if checked <= 5 {
        let busy = if busy > 0 {
            format!(", {busy} × 503 (every check slot busy)")
        } else {
            String::new()
        };
        Outcome::Refused(format!("{checked} checked, {throttled} × 429{busy}"))
    } else {
        Outcome::Accepted(format!("{checked} guesses were checked"))
    })
}

async fn guessing_from_many_addresses(lab: &Lab) -> LabResult {
    let name = nobody()?;
    let mut statuses = Vec::new();
    for n in 0..10 {
        let call = guess(lab, &name, &format!("guess-{n}"))
            .header("x-forwarded-for", &format!("198.51.100.{}", n + 1))
            .header("x-real-ip", &format!("198.51.100.{}", n + 1));
        statuses.push(lab.send(call).await?.status);
    }
    let throttled = statuses.iter().filter(|status| **status == 429).count();
    Ok(if throttled >= 5 {
        Outcome::Refused(format!(
            "{} checked, then {throttled} × 429 whatever the address",
            statuses.len() - throttled
        ))
    } else {
        Outcome::Accepted(format!("statuses {statuses:?}"))
    })
}

async fn password_spraying(lab: &Lab) -> LabResult {
    let sprayed = 25;
    let mut statuses = Vec::new();
    for _ in 0..sprayed {
        statuses.push(
            lab.send(guess(lab, &nobody()?, "Summer2026!"))
                .await?
                .status,
        );
    }
    lab.keep_first_exchanges(2);
    let checked = statuses.iter().take_while(|status| **status == 401).count();
    let throttled = statuses.iter().filter(|status| **status == 429).count();
    Ok(
        if throttled > 0 && checked <= 20 && checked + throttled == sprayed {
            Outcome::Refused(format!(
                "{checked} checked, then {throttled} × 429: \
                 the client's failures add up across names"
            ))
        } else {
            Outcome::Accepted(format!("statuses {statuses:?}"))
        },
    )
}

async fn lockout_by_a_stranger(lab: &Lab) -> LabResult {
    let admin = lab.admin()?;
    let mut stranger = Vec::new();
    for n in 0..6 {
        stranger.push(
            lab.send(guess(lab, &admin.name, &format!("not-it-{n}")))
                .await?
                .status,
        );
    }
    let owner = guess(lab, &admin.name, &admin.password);
    let Some(owner) = lab.send_from_elsewhere(owner).await? else {
        return Ok(Outcome::Skipped(
            "needs a second client address: only against a server on 127.x.x.x".to_owned(),
        ));
    };
    let shown = format!(
        "stranger {stranger:?}; the owner from elsewhere {}",
        owner.status
    );
    // The attack is the owner locked out. A server that never slows the
    // stranger lets the owner in too: refused here, and the unthrottled
    // guessing is `login-parallel-guessing`'s finding, not this one's.
    // Any answer but 401 (429, 423, 503…) slowed the stranger.
    let slowed = stranger.iter().any(|status| *status != 401);
    let tried = format!("{} failures from one address", stranger.len());
    Ok(match (owner.status, slowed) {
        (200, true) => Outcome::Refused(shown),
        (200, false) => Outcome::Refused(format!(
            "{shown}: {tried} did not lock the owner out ({NEVER_SLOWED})"
        )),
        _ => Outcome::Accepted(shown),
    })
}

async fn oversized_password(lab: &Lab) -> LabResult {
    let alice = &lab.member().name;
    let long = lab.send(guess(lab, alice, &"x".repeat(2048))).await?;
    let huge = lab
        .send(guess(lab, alice, &"x".repeat(1024 * 1024)))
        .await?;
    judge_all(vec![
        judge(&long, &[422], "a 2 KiB password was hashed")?,
        judge(&huge, &[413], "a 1 MiB body was read")?,
    ])
}

async fn password_variants(lab: &Lab) -> LabResult {
    let alice = lab.member();
    let right = &alice.password;
    let mut verdicts = Vec::new();
    for variant in [
        right.to_uppercase(),
        format!("{right} "),
        format!("{right}!"),
    ] {
        let reply = lab.send(guess(lab, &alice.name, &variant)).await?;
        verdicts.push(judge(
            &reply,
            &[401],
            "a variant of the password let alice in",
        )?);
    }
    lab.log_in(&lab.member().name).await?;
    judge_all(verdicts)
}

async fn ceiling_filled_by_strangers(lab: &Lab) -> LabResult {
    let admin = lab.admin()?;
    let owner = || guess(lab, &admin.name, &admin.password);
    let Some(first) = lab.send_as(100, owner()).await? else {
        return Ok(Outcome::Skipped(
            "needs many client addresses: only against a server on 127.x.x.x".to_owned(),
        ));
    };
    if first.status != 200 {
        return Err(format!(
            "the owner could not log in first: {}",
            first.summary()
        ));
    }
    let mut strangers = Vec::new();
    for stranger in 0..20 {
        for n in 0..5 {
            let call = guess(lab, &admin.name, &format!("not-it-{stranger}-{n}"));
            let reply = lab.send_as(stranger, call).await?;
            strangers.push(reply.map_or(0, |reply| reply.status));
        }
    }
    lab.keep_first_exchanges(3);
    let newcomer = lab.send_as(21, guess(lab, &admin.name, "not-it")).await?;
    let owner = lab.send_as(100, owner()).await?;
    let (newcomer, owner) = (
        newcomer.map_or(0, |r| r.status),
        owner.map_or(0, |r| r.status),
    );
    let failed = strangers.iter().filter(|status| **status == 401).count();
    let shown = format!("{failed} failures counted; a new address {newcomer}; the owner {owner}");
    // As in `lockout_by_a_stranger`: the owner getting in is the refusal,
    // whether or not the strangers were ever slowed.
    // Any answer but 401 (429, 423, 503…) slowed a stranger.
    let slowed = strangers
        .iter()
        .chain([&newcomer])
        .any(|status| *status != 401);
    let tried = format!("{} failures from 21 addresses", strangers.len() + 1);
    Ok(match (owner, slowed) {
        (200, true) => Outcome::Refused(shown),
        (200, false) => Outcome::Refused(format!(
            "{shown}: {tried} did not lock the owner out ({NEVER_SLOWED})"
        )),
        _ => Outcome::Accepted(shown),
    })
}
