//! Records the HTTP exchanges the book shows, from the real server, and
//! compares them with the files under `examples/cafe/transcripts/`. After a
//! deliberate change, rewrite the files with
//!
//! ```console
//! $ UPDATE_TRANSCRIPTS=1 cargo test -p cafe --test api transcripts
//! ```
//!
//! and review the diff. Random values (session IDs and their hashes) are
//! replaced by placeholders; the port is shown as the default, 8080.

use crate::golden::check_golden;
use crate::side_by_side::account::{Device, LAPTOP, PASSWORD, PHONE, login_from};
use crate::support::{
    Call, Credential, Mode, Reply, TestApp, Visitor, session_id_of, spawn_app, spawn_cluster,
};
use cafe::clock::ManualClock;
use cafe::store::Stores;
use serde_json::json;
use sessions::SessionId;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

mod recorder;

pub(crate) use recorder::LEFT_OUT;
use recorder::{Jar, Transcript};

fn hide_session(transcript: &mut Transcript, visitor: &Visitor, placeholder: &str) {
    let id = session_id_of(visitor.credential.as_ref().unwrap()).to_owned();
    let key = SessionId::parse(&id).unwrap().key().to_hex();
    transcript.hide(&id, &format!("<{placeholder}>"));
    transcript.hide(&key, &format!("<SHA-256 of the {placeholder}>"));
}

/// The login body, written as a person would write it (a `json!` map would
/// sort the keys).
const LOGIN_BODY: &str = r#"{"username":"alice","password":"wonderland-42"}"#;

/// Logs in through the transcript, keeping the issued cookie.
async fn log_in(transcript: &mut Transcript, visitor: &mut Visitor, placeholder: &str) -> Reply {
    let answer = transcript
        .exchange(
            visitor,
            &Call::post("/login")
                .header("content-type", "application/json")
                .raw_body(LOGIN_BODY),
            Jar::Save,
        )
        .await;
    visitor.credential = Some(crate::support::issued_credential(visitor.mode, &answer));
    hide_session(transcript, visitor, placeholder);
    answer
}

#[tokio::test]
async fn sessions_login() {
    let app = spawn_app(Mode::Sessions).await;
    let mut alice = app.visitor();
    let mut t = Transcript::new();
    let answer = log_in(&mut t, &mut alice, "session id").await;
    assert_eq!(answer.status, 200);
    check_golden("sessions/login.txt", &t.finish());
}

#[tokio::test]
async fn sessions_protected_request() {
    let (app, alice, mut t) = alice_logged_in(Mode::Sessions).await;

    t.comment("With the cookie saved at login:");
    assert_eq!(
        t.exchange(&alice, &Call::get("/me"), Jar::Send)
            .await
            .status,
        200
    );
    let order = Call::post("/orders").json(&json!({ "item": "flat white" }));
    assert_eq!(t.exchange(&alice, &order, Jar::Send).await.status, 201);
    t.comment("Without it, the server has no idea who is asking:");
    assert_eq!(
        t.exchange(&app.visitor(), &Call::get("/me"), Jar::None)
            .await
            .status,
        401
    );
    check_golden("sessions/protected-request.txt", &t.finish());
}

#[tokio::test]
async fn sessions_logout() {
    let (app, alice, mut t) = alice_logged_in(Mode::Sessions).await;

    let logout = t
        .exchange(&alice, &Call::post("/logout"), Jar::SendAndSave)
        .await;
    assert_eq!(logout.status, 204);
    t.comment("curl has dropped the cookie, but a thief who copied it earlier replays it:");
    let Some(Credential::Cookie(old)) = alice.credential.clone() else {
        unreachable!()
    };
    let replay = Call::get("/me").header("cookie", &old);
    assert_eq!(
        t.exchange(&app.visitor(), &replay, Jar::None).await.status,
        401
    );
    check_golden("sessions/logout.txt", &t.finish());
}

#[tokio::test]
async fn sessions_expiry() {
    let (app, alice, mut t) = alice_logged_in(Mode::Sessions).await;

    t.comment("09:00 log in; 09:29 a request (29 minutes idle):");
    app.wait(Duration::from_secs(29 * 60));
    assert_eq!(
        t.exchange(&alice, &Call::get("/me"), Jar::Send)
            .await
            .status,
        200
    );
    t.comment("10:00 the next request (31 minutes idle, past the 30-minute idle timeout):");
    app.wait(Duration::from_secs(31 * 60));
    assert_eq!(
        t.exchange(&alice, &Call::get("/me"), Jar::Send)
            .await
            .status,
        401
    );
    check_golden("sessions/expiry.txt", &t.finish());
}

#[tokio::test]
async fn sessions_cross_site_request() {
    let (_app, alice, mut t) = alice_logged_in(Mode::Sessions).await;

    t.comment("A page on another site makes Alice's browser post an order, cookie attached:");
    let forged = Call::post("/orders")
        .json(&json!({ "item": "forty espressos" }))
        .header("sec-fetch-site", "cross-site")
        .header("origin", "https://evil.example");
    assert_eq!(t.exchange(&alice, &forged, Jar::Send).await.status, 403);
    t.comment("The same request from the café's own page:");
    let own = Call::post("/orders")
        .json(&json!({ "item": "flat white" }))
        .header("sec-fetch-site", "same-origin");
    assert_eq!(t.exchange(&alice, &own, Jar::Send).await.status, 201);
    check_golden("sessions/cross-site-request.txt", &t.finish());
}

/// `2026-01-01T09:00:00Z` for a time after the epoch, in UTC.
fn utc(time: SystemTime) -> String {
    cafe::inspect::utc(cafe::clock::unix_seconds(time))
}

#[tokio::test]
async fn sessions_where_the_data_lives() {
    let app = spawn_app(Mode::Sessions).await;
    let mut alice = app.visitor();
    let mut t = Transcript::new();
    let login = log_in(&mut t, &mut alice, "session id").await;
    app.wait(Duration::from_secs(5 * 60));
    t.exchange(&alice, &Call::get("/me"), Jar::Send).await;

    let cookie = login.header("set-cookie").unwrap().to_owned();
    let id = session_id_of(alice.credential.as_ref().unwrap()).to_owned();
    t.text.push_str("# What the browser holds: one cookie.\n");
    t.text.push_str(&format!("{cookie}\n"));
    t.text.push_str(&format!(
        "#   value: {} characters, 256 random bits; nothing else about Alice.\n\n",
        id.len()
    ));
    t.text
        .push_str("# What the server holds: one record in MemoryStore, filed under a hash.\n");
    for (key, record) in app.memory_sessions().snapshot() {
        t.text.push_str(&format!("key:        {}\n", key.to_hex()));
        t.text.push_str(&format!("user:       {}\n", record.user));
        t.text
            .push_str(&format!("created_at: {}\n", utc(record.created_at)));
        t.text
            .push_str(&format!("last_seen:  {}\n", utc(record.last_seen)));
    }
    check_golden("sessions/where-the-data-lives.txt", &t.finish());
}

/// Hides the tokens a JWT login or refresh handed out, numbering them.
fn hide_tokens(transcript: &mut Transcript, visitor: &Visitor, number: usize) {
    if let Some(Credential::Bearer { access, refresh }) = &visitor.credential {
        transcript.hide(access, &format!("<access token {number}>"));
        transcript.hide(refresh, &format!("<refresh token {number}>"));
    }
}

/// Logs alice in through the transcript (JWT), keeping the pair.
async fn jwt_log_in(transcript: &mut Transcript, visitor: &mut Visitor) -> Reply {
    let login = Call::post("/login")
        .header("content-type", "application/json")
        .raw_body(LOGIN_BODY);
    let answer = transcript.exchange(visitor, &login, Jar::None).await;
    visitor.credential = Some(crate::support::issued_credential(visitor.mode, &answer));
    hide_tokens(transcript, visitor, 1);
    answer
}

/// Refreshes through the transcript, keeping the new pair.
async fn jwt_refresh(transcript: &mut Transcript, visitor: &mut Visitor, number: usize) -> Reply {
    let Some(Credential::Bearer { refresh, .. }) = visitor.credential.clone() else {
        panic!("a JWT visitor");
    };
    let body = format!(r#"{{"refresh_token":"{refresh}"}}"#);
    let call = Call::post("/refresh")
        .header("content-type", "application/json")
        .raw_body(body);
    // The refresh call carries no access token.
    let mut anonymous = visitor.clone();
    anonymous.credential = None;
    let answer = transcript.exchange(&anonymous, &call, Jar::None).await;
    if answer.status == 200 {
        visitor.credential = Some(crate::support::issued_credential(visitor.mode, &answer));
        hide_tokens(transcript, visitor, number);
    }
    answer
}

/// A server in `mode` with alice already logged in (off the record), and a
/// transcript that hides her credential.
async fn alice_logged_in(mode: Mode) -> (TestApp, Visitor, Transcript) {
    let app = spawn_app(mode).await;
    let mut alice = app.visitor();
    let mut transcript = Transcript::new();
    if mode == Mode::Sessions {
        log_in(&mut Transcript::new(), &mut alice, "session id").await;
        hide_session(&mut transcript, &alice, "session id");
    } else {
        jwt_log_in(&mut Transcript::new(), &mut alice).await;
        hide_tokens(&mut transcript, &alice, 1);
    }
    (app, alice, transcript)
}

#[tokio::test]
async fn jwt_login() {
    let app = spawn_app(Mode::Jwt).await;
    let mut alice = app.visitor();
    let mut t = Transcript::new();
    assert_eq!(jwt_log_in(&mut t, &mut alice).await.status, 200);
    let Some(Credential::Bearer { access, refresh }) = &alice.credential else {
        panic!("a JWT login");
    };
    t.comment(&format!(
        "The access token is {} characters, the refresh token {}.",
        access.len(),
        refresh.len()
    ));
    check_golden("jwt/login.txt", &t.finish());
}

#[tokio::test]
async fn jwt_protected_request() {
    let (app, alice, mut t) = alice_logged_in(Mode::Jwt).await;
    assert_eq!(
        t.exchange(&alice, &Call::get("/me"), Jar::None)
            .await
            .status,
        200
    );
    t.comment("No token, then a token that is not one of ours:");
    assert_eq!(
        t.exchange(&app.visitor(), &Call::get("/me"), Jar::None)
            .await
            .status,
        401
    );
    let forged = Call::get("/me").header(
        "authorization",
        "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.",
    );
    assert_eq!(
        t.exchange(&app.visitor(), &forged, Jar::None).await.status,
        401
    );
    check_golden("jwt/protected-request.txt", &t.finish());
}

#[tokio::test]
async fn jwt_refresh_flow() {
    let (app, mut alice, mut t) = alice_logged_in(Mode::Jwt).await;
    t.comment("09:00 log in. 09:16, sixteen minutes later, the access token has expired:");
    app.wait(Duration::from_secs(16 * 60));
    assert_eq!(
        t.exchange(&alice, &Call::get("/me"), Jar::None)
            .await
            .status,
        401
    );
    t.comment("The client swaps its refresh token for a new pair:");
    assert_eq!(jwt_refresh(&mut t, &mut alice, 2).await.status, 200);
    assert_eq!(
        t.exchange(&alice, &Call::get("/me"), Jar::None)
            .await
            .status,
        200
    );
    t.comment("Refresh token 1 was used once; using it again means someone copied it:");
    let mut copy = alice.clone();
    let Some(Credential::Bearer { access, .. }) = alice.credential.clone() else {
        unreachable!()
    };
    let first_refresh = t
        .placeholders
        .iter()
        .find(|(_, p)| p == "<refresh token 1>")
        .unwrap()
        .0
        .clone();
    copy.credential = Some(Credential::Bearer {
        access,
        refresh: first_refresh,
    });
    assert_eq!(jwt_refresh(&mut t, &mut copy, 3).await.status, 401);
    t.comment("...so the whole login is revoked, and the newest refresh token dies too:");
    assert_eq!(jwt_refresh(&mut t, &mut alice, 3).await.status, 401);
    check_golden("jwt/refresh.txt", &t.finish());
}

/// Logout in each JWT mode: what a replayed copy of the access token gets.
async fn record_jwt_logout(mode: Mode, golden: &str, replayed_status: u16, comment: &str) {
    let (_app, mut alice, mut t) = alice_logged_in(mode).await;
    assert_eq!(
        t.exchange(&alice, &Call::post("/logout"), Jar::None)
            .await
            .status,
        204
    );
    t.comment(comment);
    assert_eq!(
        t.exchange(&alice, &Call::get("/me"), Jar::None)
            .await
            .status,
        replayed_status
    );
    t.comment("The login cannot be renewed: its refresh family is revoked.");
    assert_eq!(jwt_refresh(&mut t, &mut alice, 2).await.status, 401);
    check_golden(golden, &t.finish());
}

#[tokio::test]
async fn jwt_logout() {
    record_jwt_logout(
        Mode::Jwt,
        "jwt/logout.txt",
        200,
        "A copy of the access token, replayed: nothing is looked up, so it still works.",
    )
    .await;
}

#[tokio::test]
async fn jwt_logout_with_the_denylist() {
    record_jwt_logout(
        Mode::JwtDenylist,
        "jwt/logout-denylist.txt",
        401,
        "With --check-denylist, the login's sid is denied: every access token it was given \
         is refused, this copy too:",
    )
    .await;
}

/// Alice logs in through the balancer, then asks "who am I?" three times:
/// round robin sends each request to the next of three servers.
async fn record_three_servers(app: &TestApp, golden: &str) -> Vec<u16> {
    let mut alice = app.visitor();
    let mut t = Transcript::new();
    assert_eq!(log_in(&mut t, &mut alice, "session id").await.status, 200);
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(
            t.exchange(&alice, &Call::get("/me"), Jar::Send)
                .await
                .status,
        );
    }
    check_golden(golden, &t.finish());
    statuses
}

#[tokio::test]
async fn many_servers_with_memory_stores() {
    let clock = Arc::new(ManualClock::starting_at(crate::support::opening_time()));
    let stores = (0..3).map(|_| Stores::in_memory()).collect();
    let app = spawn_cluster(Mode::Sessions, stores, clock).await;
    let statuses = record_three_servers(&app, "many-servers/memory.txt").await;
    assert_eq!(statuses, [401, 401, 200], "only server 1 knows the session");
}

#[tokio::test]
async fn many_servers_with_redis() {
    let Some(redis) = crate::redis_server::RedisServer::start() else {
        return;
    };
    let clock = Arc::new(ManualClock::starting_at(crate::support::opening_time()));
    let mut stores = Vec::new();
    for _ in 0..3 {
        stores.push(Stores::all_in(Arc::new(redis.store("cafe:").await)));
    }
    let app = spawn_cluster(Mode::Sessions, stores, clock).await;
    let statuses = record_three_servers(&app, "many-servers/redis.txt").await;
    assert_eq!(statuses, [200, 200, 200], "every server finds it in Redis");
}

/// The JWT counterpart of the sessions' "where the data lives": after alice
/// logs in, refreshes once and logs out, with both revocation checks on.
#[tokio::test]
async fn jwt_where_the_data_lives() {
    let tokens = Arc::new(jwt::revocation::MemoryTokenStore::new());
    let mut config = Mode::JwtChecked.config();
    config.revocation_checks.denylist = true;
    config.stores.tokens = jwt::TokenStores::all_in(tokens.clone());
    let app = crate::support::spawn_app_with(Mode::JwtChecked, config).await;
    let mut alice = app.visitor();
    let mut t = Transcript::new();
    jwt_log_in(&mut Transcript::new(), &mut alice).await;
    assert_eq!(alice.refresh().await.status, 200);
    let Some(Credential::Bearer { access, refresh }) = alice.credential.clone() else {
        panic!("a JWT login");
    };
    assert_eq!(alice.send(&Call::post("/logout")).await.status, 204);

    let snapshot = tokens.snapshot();
    let claim = |token: &str, name: &str| {
        let payload = token.split('.').nth(1).unwrap();
        let json: serde_json::Value = serde_json::from_slice(
            &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
                .unwrap(),
        )
        .unwrap();
        json[name].as_str().unwrap().to_owned()
    };
    let sid = claim(&access, "sid");
    t.hide(&sid, "<family id>");
    t.hide(&claim(&refresh, "jti"), "<jti of refresh token 2>");

    t.text.push_str(
        "# --auth jwt --check-denylist --check-token-version: alice logged in,\n\
         # refreshed once, and logged out. What the client held last:\n",
    );
    t.text.push_str(&format!(
        "access token:  {} characters, signed, readable by whoever holds it\n",
        access.len()
    ));
    t.text.push_str(&format!(
        "refresh token: {} characters, sent only to /refresh\n\n",
        refresh.len()
    ));
    t.text
        .push_str("# What the server holds besides its signing key:\n");
    for family in &snapshot.families {
        t.text.push_str(&format!(
            "refresh family {}: user {}, current refresh {}, revoked {}, ends {}\n",
            family.sid,
            family.user,
            family.current_jti,
            family.revoked,
            crate::transcripts::utc(SystemTime::UNIX_EPOCH + Duration::from_secs(family.expires)),
        ));
    }
    for (login, until) in &snapshot.denylist {
        t.text.push_str(&format!(
            "denylist: login {login}, every access token it was given refused until {}\n",
            utc(SystemTime::UNIX_EPOCH + Duration::from_secs(*until))
        ));
    }
    for (user, version) in &snapshot.versions {
        t.text
            .push_str(&format!("token version: {user} {version}\n"));
    }
    if snapshot.versions.is_empty() {
        t.text
            .push_str("token versions: none stored (every user is at 0 until a change)\n");
    }
    assert_eq!(snapshot.families.len(), 1);
    assert!(snapshot.families[0].revoked, "logout revoked the family");
    // One entry, naming the login rather than a token, until the newest
    // token it could hold (issued at the logout at the latest) has expired
    // and the verifier's leeway has passed.
    let logged_out_at = cafe::clock::unix_seconds(cafe::clock::Clock::now(app.clock.as_ref()));
    let until = logged_out_at + 15 * 60 + jwt::tokens::LEEWAY_SECONDS;
    assert_eq!(
        snapshot.denylist,
        [(sid, until)],
        "and denied the login, not one token"
    );
    check_golden("jwt/where-the-data-lives.txt", &t.finish());
}

// Your account's logins: alice on a phone and a laptop.

/// `09:44` for the app's clock now.
fn clock_time(app: &TestApp) -> String {
    let now = cafe::clock::Clock::now(app.clock.as_ref());
    utc(now)[11..16].to_owned()
}

/// Hides the credential `visitor` holds under `label`: `<phone's access
/// token>`, `<laptop's session id>`.
fn hide_credential(transcript: &mut Transcript, visitor: &Visitor, label: &str) {
    match visitor.credential.as_ref().expect("a credential") {
        credential @ Credential::Cookie(_) => {
            let id = session_id_of(credential);
            transcript.hide(id, &format!("<{label} session id>"));
        }
        Credential::Bearer { access, refresh } => {
            transcript.hide(access, &format!("<{label} access token>"));
            transcript.hide(refresh, &format!("<{label} refresh token>"));
        }
    }
}

/// Alice logs in on `device` (off the record); her credential is hidden
/// under `label`.
async fn log_in_on(
    app: &TestApp,
    transcript: &mut Transcript,
    device: &Device,
    label: &str,
) -> Visitor {
    let mut visitor = app.visitor_from(device.address);
    let reply = visitor.send(&login_from(device)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    visitor.credential = Some(crate::support::issued_credential(app.mode, &reply));
    hide_credential(transcript, &visitor, label);
    visitor
}

/// Swaps `visitor`'s refresh token as its mechanism sends it (the hybrid's
/// in its cookie, the JWT's in the body), from `device`; on success keeps
/// the new pair, hidden under `label`.
async fn refresh_on(
    transcript: &mut Transcript,
    device: &Device,
    visitor: &mut Visitor,
    label: &str,
) -> Reply {
    let refresh = visitor
        .credential
        .as_ref()
        .and_then(Credential::refresh_token)
        .expect("a refresh token")
        .to_owned();
    let call = visitor.mode.mechanism().refresh_call(&refresh);
    let mut anonymous = visitor.clone();
    anonymous.credential = None;
    let answer = transcript
        .exchange_from(device.address, &anonymous, &call, Jar::None)
        .await;
    if answer.status == 200 {
        visitor.credential = Some(crate::support::issued_credential(visitor.mode, &answer));
        hide_credential(transcript, visitor, label);
    }
    answer
}

/// The two devices, logged in two minutes apart (off the record).
async fn phone_and_laptop(app: &TestApp, t: &mut Transcript) -> (Visitor, Visitor) {
    let phone = log_in_on(app, t, &PHONE, "phone's").await;
    app.wait(Duration::from_secs(2 * 60));
    let laptop = log_in_on(app, t, &LAPTOP, "laptop's").await;
    app.wait(Duration::from_secs(60));
    (phone, laptop)
}

/// The phone lists alice's logins and ends the laptop's; the laptop tries
/// what it holds.
async fn record_logins(mode: Mode, golden: &str) {
    let app = spawn_app(mode).await;
    let mut t = Transcript::new();
    let (phone, mut laptop) = phone_and_laptop(&app, &mut t).await;
    t.comment(&format!(
        "alice logged in on her phone ({}) at 09:00 and her laptop ({}) at 09:02. \
         {}, on the phone:",
        PHONE.address,
        LAPTOP.address,
        clock_time(&app)
    ));
    let list = t
        .exchange_from(PHONE.address, &phone, &Call::get("/me/logins"), Jar::None)
        .await;
    assert_eq!(list.status, 200);
    let logins = list.body.as_array().expect("a list").clone();
    assert_eq!(logins.len(), 2, "{}", list.text);
    for (login, label) in logins
        .iter()
        .zip(["<phone's login id>", "<laptop's login id>"])
    {
        t.hide(login["id"].as_str().unwrap(), label);
    }
    assert_eq!(logins[1]["user_agent"], LAPTOP.user_agent);
    assert_eq!(logins[0]["current"], true);

    t.comment("The phone ends the laptop's login, with alice's password given again:");
    let laptop_id = logins[1]["id"].as_str().unwrap();
    let end = Call::delete(&format!("/me/logins/{laptop_id}"))
        .header("content-type", "application/json")
        .raw_body(format!(r#"{{"current_password":"{PASSWORD}"}}"#));
    let ended = t
        .exchange_from(PHONE.address, &phone, &end, Jar::None)
        .await;
    assert_eq!(ended.status, 200);

    laptop_tries_what_it_holds(&mut t, mode, &mut laptop, "On the laptop, a moment later:").await;
    check_golden(golden, &t.finish());
}

#[tokio::test]
async fn account_sessions_logins() {
    record_logins(Mode::Sessions, "account/sessions-logins.txt").await;
}

#[tokio::test]
async fn account_jwt_logins() {
    record_logins(Mode::Jwt, "account/jwt-logins.txt").await;
}

#[tokio::test]
async fn account_hybrid_logins() {
    record_logins(Mode::Hybrid, "account/hybrid-logins.txt").await;
}

/// The phone changes alice's password; the laptop tries what it holds.
async fn record_password_change(mode: Mode, golden: &str) {
    let app = spawn_app(mode).await;
    let mut t = Transcript::new();
    let (mut phone, mut laptop) = phone_and_laptop(&app, &mut t).await;
    t.comment(&format!(
        "alice is logged in on her phone and her laptop. {}, on the phone:",
        clock_time(&app)
    ));
    let body = format!(r#"{{"current_password":"{PASSWORD}","new_password":"looking-glass-7"}}"#);
    let change = Call::post("/me/password")
        .header("content-type", "application/json")
        .raw_body(body);
    let changed = t
        .exchange_from(PHONE.address, &phone, &change, Jar::None)
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.body["logins_ended"], 2);
    phone.credential = Some(crate::support::issued_credential(mode, &changed));
    hide_credential(&mut t, &phone, "phone's new");

    laptop_tries_what_it_holds(&mut t, mode, &mut laptop, "On the laptop:").await;
    check_golden(golden, &t.finish());
}

/// The laptop, whose login the phone ended, tries its credential: a
/// session is gone; an access token lives until it expires, but its login
/// cannot be renewed.
async fn laptop_tries_what_it_holds(
    t: &mut Transcript,
    mode: Mode,
    laptop: &mut Visitor,
    heading: &str,
) {
    t.comment(heading);
    let me = t
        .exchange_from(LAPTOP.address, laptop, &Call::get("/me"), Jar::None)
        .await;
    if mode.is_jwt() {
        assert_eq!(me.status, 200, "the access token lives until it expires");
        t.comment("...but the login cannot be renewed:");
        let renewed = refresh_on(t, &LAPTOP, laptop, "laptop's new").await;
        assert_eq!(renewed.status, 401);
    } else {
        assert_eq!(me.status, 401, "the session is gone");
    }
}

#[tokio::test]
async fn account_sessions_password_change() {
    record_password_change(Mode::Sessions, "account/sessions-password.txt").await;
}

#[tokio::test]
async fn account_jwt_password_change() {
    record_password_change(Mode::Jwt, "account/jwt-password.txt").await;
}

#[tokio::test]
async fn account_hybrid_password_change() {
    record_password_change(Mode::Hybrid, "account/hybrid-password.txt").await;
}

/// The laptop refreshes a minute inside the idle limit, then is left
/// alone a minute past it.
async fn record_idle_refresh(mode: Mode, golden: &str) {
    let app = spawn_app(mode).await;
    let idle = Duration::from_secs(mode.config().jwt_lifetimes.refresh_idle);
    let minute = Duration::from_secs(60);
    let mut t = Transcript::new();
    let mut laptop = log_in_on(&app, &mut t, &LAPTOP, "laptop's").await;
    app.wait(idle - minute);
    t.comment(&format!(
        "alice logged in on her laptop at 09:00. {}, {} minutes later, a refresh:",
        clock_time(&app),
        (idle - minute).as_secs() / 60
    ));
    let renewed = refresh_on(&mut t, &LAPTOP, &mut laptop, "laptop's new").await;
    assert_eq!(renewed.status, 200);
    app.wait(idle + minute);
    t.comment(&format!(
        "{}: {} minutes without a refresh, past the {}-minute idle limit:",
        clock_time(&app),
        (idle + minute).as_secs() / 60,
        idle.as_secs() / 60
    ));
    let refused = refresh_on(&mut t, &LAPTOP, &mut laptop, "laptop's newer").await;
    assert_eq!(refused.status, 401);
    check_golden(golden, &t.finish());
}

#[tokio::test]
async fn account_jwt_idle_refresh() {
    record_idle_refresh(Mode::Jwt, "account/jwt-idle.txt").await;
}

#[tokio::test]
async fn account_hybrid_idle_refresh() {
    record_idle_refresh(Mode::Hybrid, "account/hybrid-idle.txt").await;
}
