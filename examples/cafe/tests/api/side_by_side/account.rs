//! Alice on a phone and a laptop: after a password change on the phone,
//! after the phone ends the laptop's login, and after the laptop is left
//! idle, what the laptop's credentials still do, in each mode. Measured
//! against the running café with its clock moved, never typed; the result
//! becomes `book/account/what-ends-when.md`:
//!
//! ```console
//! $ UPDATE_TRANSCRIPTS=1 cargo test -p cafe --test api side_by_side::account
//! ```
//!
//! The side-by-side table reads its account rows from the same measurements.

use super::table::spoken;
use crate::golden::check_generated;
use crate::support::{Call, Mode, TestApp, Visitor, issued_credential, login_call, spawn_app};
use std::time::{Duration, SystemTime};

/// A device alice logs in from: the client address the server sees, and
/// the `User-Agent` it sends.
pub(crate) struct Device {
    pub(crate) address: &'static str,
    pub(crate) user_agent: &'static str,
}

pub(crate) const PHONE: Device = Device {
    address: "127.0.0.2",
    user_agent: "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X)",
};

pub(crate) const LAPTOP: Device = Device {
    address: "127.0.0.3",
    user_agent: "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Firefox/140.0",
};

pub(crate) const PASSWORD: &str = "wonderland-42";

/// The login call a browser on `device` sends.
pub(crate) fn login_from(device: &Device) -> Call {
    login_call("alice", PASSWORD).header("user-agent", device.user_agent)
}

/// Alice, logged in on `device`.
async fn log_in_on(app: &TestApp, device: &Device) -> Visitor {
    let mut visitor = app.visitor_from(device.address);
    let reply = visitor.send(&login_from(device)).await;
    assert_eq!(reply.status, 200, "alice logs in: {}", reply.text);
    visitor.credential = Some(issued_credential(app.mode, &reply));
    visitor
}

/// What one of the laptop's credentials did after the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fate {
    /// Refused at the first use after the event.
    RefusedAtOnce,
    /// Kept working after the event until the access token expired, this
    /// long after it was issued (plus the verifier's leeway).
    WorksUntilExpiry(Duration),
    /// Refused once the login had gone unused (unrefreshed, for a refresh
    /// token) this long; accepted a second before.
    RefusedAfterIdle(Duration),
    /// An access token: refused once it expired, this long after it was
    /// issued, well before the login's idle limit.
    ExpiredAfter(Duration),
    /// The mode has no such credential.
    NotApplicable,
}

impl Fate {
    pub(super) fn cell(self) -> String {
        match self {
            Fate::RefusedAtOnce => "refused at once".to_owned(),
            Fate::WorksUntilExpiry(lifetime) => {
                format!("works until it expires (≤ {})", spoken(lifetime))
            }
            Fate::RefusedAfterIdle(idle) => format!("refused after {} idle", spoken(idle)),
            Fate::ExpiredAfter(lifetime) => format!("expired after {}", spoken(lifetime)),
            Fate::NotApplicable => "n/a".to_owned(),
        }
    }
}

/// The laptop's two credentials after an event: the cookie or the access
/// token, and the refresh token.
#[derive(Debug, Clone, Copy)]
pub(super) struct Aftermath {
    pub(super) access: Fate,
    pub(super) refresh: Fate,
}

/// The three events, measured in one mode.
pub(super) struct AccountEvents {
    pub(super) password_changed: Aftermath,
    pub(super) login_ended: Aftermath,
    pub(super) left_idle: Aftermath,
}

const SECOND: Duration = Duration::from_secs(1);

fn leeway() -> Duration {
    Duration::from_secs(jwt::tokens::LEEWAY_SECONDS)
}

fn access_lifetime(mode: Mode) -> Duration {
    Duration::from_secs(mode.config().jwt_lifetimes.access)
}

/// Moves the app's clock to `then`, which must not be in its past.
fn wait_until(app: &TestApp, then: SystemTime) {
    let now = cafe::clock::Clock::now(app.clock.as_ref());
    app.wait(then.duration_since(now).expect("a time still ahead"));
}

async fn accepted(visitor: &Visitor) -> bool {
    visitor.get("/me").await.status == 200
}

/// Whether the refresh token is swapped (on a copy: the visitor keeps its
/// pair either way).
async fn refreshes(visitor: &Visitor) -> bool {
    let mut copy = visitor.clone();
    copy.refresh().await.status == 200
}

/// The laptop's credentials right after an event, and, for an access token
/// that survived it, until when: one second before its expiry it works,
/// one second past its expiry and the leeway it is refused.
async fn aftermath(app: &TestApp, laptop: &Visitor, issued: SystemTime) -> Aftermath {
    let access_works = accepted(laptop).await;
    let refresh = if app.mode.is_jwt() {
        if refreshes(laptop).await {
            panic!("{:?}: the laptop's refresh token still works", app.mode);
        }
        Fate::RefusedAtOnce
    } else {
        Fate::NotApplicable
    };
    if !access_works {
        return Aftermath {
            access: Fate::RefusedAtOnce,
            refresh,
        };
    }
    assert!(app.mode.is_jwt(), "a session cookie outlived the event");
    let lifetime = access_lifetime(app.mode);
    wait_until(app, issued + lifetime - SECOND);
    assert!(accepted(laptop).await, "the access token before its expiry");
    app.wait(leeway() + SECOND * 2);
    assert!(!accepted(laptop).await, "the access token after its expiry");
    Aftermath {
        access: Fate::WorksUntilExpiry(lifetime),
        refresh,
    }
}

/// The phone changes alice's password; the laptop tries its credentials.
async fn password_changed(app: &TestApp) -> Aftermath {
    let issued = cafe::clock::Clock::now(app.clock.as_ref());
    let mut phone = log_in_on(app, &PHONE).await;
    let laptop = log_in_on(app, &LAPTOP).await;
    let changed = phone
        .change_password(PASSWORD, "looking-glass-7")
        .await
        .expect("the server answers");
    assert_eq!(changed.status, 200, "{}", changed.text);
    // The phone's and the laptop's, and any the earlier events left alive.
    let ended = changed.body["logins_ended"].as_u64().expect("a count");
    assert!(ended >= 2, "{ended} logins ended");
    assert!(accepted(&phone).await, "the phone's fresh login works");
    aftermath(app, &laptop, issued).await
}

/// The phone finds the laptop's login in `GET /me/logins` and ends it,
/// with alice's password given again.
async fn login_ended(app: &TestApp) -> Aftermath {
    let issued = cafe::clock::Clock::now(app.clock.as_ref());
    let phone = log_in_on(app, &PHONE).await;
    let laptop = log_in_on(app, &LAPTOP).await;
    let logins = phone.get("/me/logins").await;
    assert_eq!(logins.status, 200);
    let laptops: Vec<&serde_json::Value> = logins
        .body
        .as_array()
        .expect("a list")
        .iter()
        .filter(|login| login["user_agent"] == LAPTOP.user_agent)
        .collect();
    assert_eq!(laptops.len(), 1, "{}", logins.text);
    let id = laptops[0]["id"].as_str().expect("an id");
    let ended = phone
        .end_login(id, PASSWORD)
        .await
        .expect("the server answers");
    assert_eq!(ended.status, 200, "{}", ended.text);
    assert!(accepted(&phone).await, "the phone's own login goes on");
    aftermath(app, &laptop, issued).await
}

/// The laptop is left alone. Sessions: a request a second before the idle
/// timeout keeps it; the idle timeout and a second after that, the cookie
/// is refused. Tokens: the access token expires on its own; a refresh a
/// second before the idle limit keeps the login, and the limit and a second
/// after that refresh, the refresh token is refused.
async fn left_idle(app: &TestApp) -> Aftermath {
    let issued = cafe::clock::Clock::now(app.clock.as_ref());
    let mut laptop = log_in_on(app, &LAPTOP).await;
    let config = app.mode.config();
    if !app.mode.is_jwt() {
        let idle = config.session_timeouts.idle;
        app.wait(idle - SECOND);
        assert!(
            accepted(&laptop).await,
            "the session before its idle timeout"
        );
        app.wait(idle + SECOND);
        assert!(
            !accepted(&laptop).await,
            "the session after its idle timeout"
        );
        return Aftermath {
            access: Fate::RefusedAfterIdle(idle),
            refresh: Fate::NotApplicable,
        };
    }
    let lifetime = access_lifetime(app.mode);
    let idle = Duration::from_secs(config.jwt_lifetimes.refresh_idle);
    wait_until(app, issued + lifetime - SECOND);
    assert!(
        accepted(&laptop).await,
        "the access token before its expiry"
    );
    app.wait(leeway() + SECOND * 2);
    assert!(
        !accepted(&laptop).await,
        "the access token after its expiry"
    );
    wait_until(app, issued + idle - SECOND);
    let renewed = laptop.refresh().await;
    assert_eq!(renewed.status, 200, "a refresh before the idle limit");
    app.wait(idle + SECOND);
    assert!(!refreshes(&laptop).await, "a refresh after the idle limit");
    Aftermath {
        access: Fate::ExpiredAfter(lifetime),
        refresh: Fate::RefusedAfterIdle(idle),
    }
}

/// The three events against `app`, each with fresh logins; the password
/// change comes last, since it changes alice's password for good.
pub(super) async fn measure_account(app: &TestApp) -> AccountEvents {
    let login_ended = login_ended(app).await;
    let left_idle = left_idle(app).await;
    let password_changed = password_changed(app).await;
    AccountEvents {
        password_changed,
        login_ended,
        left_idle,
    }
}

/// The modes the table has a row for, as `cafe serve` runs them.
const MODES: [(Mode, &str); 5] = [
    (Mode::Sessions, "`--auth sessions`"),
    (Mode::Jwt, "`--auth jwt`"),
    (Mode::JwtDenylist, "`--auth jwt --check-denylist`"),
    (Mode::JwtChecked, "`--auth jwt --check-token-version`"),
    (Mode::Hybrid, "`--auth hybrid`"),
];

/// Reads one event's aftermath from the measurements.
type Pick = fn(&AccountEvents) -> Aftermath;

/// One table per event: a row per mode, a column per laptop credential.
fn tables(measured: &[(Mode, &str, AccountEvents)]) -> String {
    let events: [(&str, Pick); 3] = [
        ("After the phone changes the password", |e| {
            e.password_changed
        }),
        ("After the phone ends the laptop's login", |e| e.login_ended),
        ("After the laptop is left unused", |e| e.left_idle),
    ];
    let mut text = String::new();
    for (title, event) in events {
        text.push_str(&format!("**{title}**, the laptop's:\n\n"));
        text.push_str("| `cafe serve` | cookie or access token | refresh token |\n");
        text.push_str("| --- | --- | --- |\n");
        for (_, flags, events) in measured {
            let aftermath = event(events);
            text.push_str(&format!(
                "| {flags} | {} | {} |\n",
                aftermath.access.cell(),
                aftermath.refresh.cell()
            ));
        }
        text.push('\n');
    }
    text.push_str(&format!(
        "A token is accepted until {} s past its expiry (the verifier's leeway for clock \
         skew). \"Idle\" for a refresh token means not refreshed: a request that only \
         presents an access token leaves no trace on the server.\n",
        jwt::tokens::LEEWAY_SECONDS
    ));
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mode_after_a_password_change_an_ended_login_and_idling() {
    let mut measured = Vec::new();
    for (mode, flags) in MODES {
        let app = spawn_app(mode).await;
        measured.push((mode, flags, measure_account(&app).await));
    }
    for (mode, _, events) in &measured {
        // Whatever the mode, nothing lets the laptop renew its login, and
        // a session cookie ends at once.
        for aftermath in [events.password_changed, events.login_ended] {
            if mode.is_jwt() {
                assert_eq!(aftermath.refresh, Fate::RefusedAtOnce, "{mode:?}");
            } else {
                assert_eq!(aftermath.access, Fate::RefusedAtOnce, "{mode:?}");
            }
        }
    }
    let denylist = &measured[2];
    assert_eq!(denylist.0, Mode::JwtDenylist);
    for (event, aftermath) in [
        ("a password change", denylist.2.password_changed),
        ("an ended login", denylist.2.login_ended),
    ] {
        assert_eq!(
            aftermath.access,
            Fate::RefusedAtOnce,
            "the denylist names the ended login: its access token is refused at {event}"
        );
    }
    let checked = &measured[3];
    assert_eq!(checked.0, Mode::JwtChecked);
    assert_eq!(
        checked.2.password_changed.access,
        Fate::RefusedAtOnce,
        "the version check ends the access tokens at a password change"
    );
    let path = super::book_dir().join("account/what-ends-when.md");
    let notice = "<!-- Generated by `UPDATE_TRANSCRIPTS=1 cargo test -p cafe --test api \
        side_by_side::account`. Do not edit: rerun it. -->\n\n";
    check_generated(&path, &format!("{notice}{}", tables(&measured)));
}
