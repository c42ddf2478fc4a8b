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

use crate::support::{Answer, Call, Credential, Mode, Visitor, session_id_of, spawn_app};
use serde_json::json;
use sessions::SessionId;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// How a curl command carries the session cookie.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Jar {
    /// No cookie.
    None,
    /// `-c cookies.txt`: save what the server sets.
    Save,
    /// `-b cookies.txt`: send what was saved.
    Send,
    /// `-b cookies.txt -c cookies.txt`: both.
    SendAndSave,
}

/// A transcript being written: commands, answers and comments, with the
/// random values the test knows about replaced by placeholders.
struct Transcript {
    text: String,
    placeholders: Vec<(String, String)>,
}

impl Transcript {
    fn new() -> Transcript {
        Transcript {
            text: String::new(),
            placeholders: Vec::new(),
        }
    }

    /// From now on, print `secret` as `placeholder`.
    fn hide(&mut self, secret: &str, placeholder: &str) {
        self.placeholders
            .push((secret.to_owned(), placeholder.to_owned()));
    }

    fn comment(&mut self, line: &str) {
        self.text.push_str(&format!("# {line}\n"));
    }

    /// Sends `call` as `visitor` and writes the curl command and the answer.
    async fn exchange(&mut self, visitor: &Visitor, call: &Call, jar: Jar) -> Answer {
        let mut sent = call.clone();
        if jar == Jar::None
            && let Some(Credential::Cookie(cookie)) = &visitor.credential
        {
            sent = sent.header("cookie", cookie);
        }
        // With `Jar::None` the cookie, if any, is already an explicit header.
        let mut sender = visitor.clone();
        if jar == Jar::None {
            sender.credential = None;
        }
        let answer = sender.send(&sent).await;
        self.text.push_str(&curl_command(&sent, jar));
        self.text.push_str(&render(&answer));
        self.text.push('\n');
        answer
    }

    fn finish(&self) -> String {
        let mut text = self.text.clone();
        for (secret, placeholder) in &self.placeholders {
            text = text.replace(secret, placeholder);
        }
        text
    }
}

/// `call` as the curl command a reader would type against the default port:
/// the request on the first line, each header and the body on a line of its own.
fn curl_command(call: &Call, jar: Jar) -> String {
    let mut first = String::from("$ curl -i");
    if call.method != reqwest::Method::GET && call.body.is_none() {
        first.push_str(&format!(" -X {}", call.method));
    }
    first.push_str(&format!(" localhost:8080{}", call.path));
    first.push_str(match jar {
        Jar::None => "",
        Jar::Save => " -c cookies.txt",
        Jar::Send => " -b cookies.txt",
        Jar::SendAndSave => " -b cookies.txt -c cookies.txt",
    });
    let mut lines = vec![first];
    for (name, value) in &call.headers {
        lines.push(format!("    -H '{name}: {value}'"));
    }
    if let Some(body) = &call.body {
        lines.push(format!("    -d '{body}'"));
    }
    lines.join(" \\\n") + "\n"
}

/// The answer as `curl -i` prints it, without the `date` header (it changes
/// every second and teaches nothing).
fn render(answer: &Answer) -> String {
    let reason = reqwest::StatusCode::from_u16(answer.status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or_default();
    let mut out = format!("{} {} {reason}\n", answer.version, answer.status);
    for (name, value) in &answer.headers {
        if name != "date" {
            out.push_str(&format!(
                "{name}: {}\n",
                value.to_str().unwrap_or("<binary>")
            ));
        }
    }
    if !answer.text.is_empty() {
        out.push('\n');
        out.push_str(&answer.text);
        out.push('\n');
    }
    out
}

/// Compares `actual` with the golden file, or rewrites it on request.
fn check_golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("transcripts")
        .join(name);
    if std::env::var_os("UPDATE_TRANSCRIPTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "{} is missing: run UPDATE_TRANSCRIPTS=1 cargo test -p cafe",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "{} is out of date; rerun with UPDATE_TRANSCRIPTS=1 and review the diff.\n--- expected\n{expected}\n--- actual\n{actual}",
        path.display()
    );
}

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
async fn log_in(transcript: &mut Transcript, visitor: &mut Visitor, placeholder: &str) -> Answer {
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
    let app = spawn_app(Mode::Sessions).await;
    let mut alice = app.visitor();
    let mut t = Transcript::new();
    let mut silent = Transcript::new();
    log_in(&mut silent, &mut alice, "session id").await;
    hide_session(&mut t, &alice, "session id");

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
    let app = spawn_app(Mode::Sessions).await;
    let mut alice = app.visitor();
    let mut t = Transcript::new();
    let mut silent = Transcript::new();
    log_in(&mut silent, &mut alice, "session id").await;
    hide_session(&mut t, &alice, "session id");

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
    let app = spawn_app(Mode::Sessions).await;
    let mut alice = app.visitor();
    let mut t = Transcript::new();
    let mut silent = Transcript::new();
    log_in(&mut silent, &mut alice, "session id").await;
    hide_session(&mut t, &alice, "session id");

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
    let app = spawn_app(Mode::Sessions).await;
    let mut alice = app.visitor();
    let mut t = Transcript::new();
    let mut silent = Transcript::new();
    log_in(&mut silent, &mut alice, "session id").await;
    hide_session(&mut t, &alice, "session id");

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
    let seconds = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (days, of_day) = (seconds / 86_400, seconds % 86_400);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (of_day / 3600, of_day % 3600 / 60, of_day % 60);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z")
}

#[test]
fn utc_formats_the_test_clock() {
    assert_eq!(utc(crate::support::opening_time()), "2026-01-01T09:00:00Z");
    assert_eq!(utc(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00Z");
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
    for (key, record) in app.session_store.snapshot() {
        t.text.push_str(&format!("key:        {}\n", key.to_hex()));
        t.text.push_str(&format!("user:       {}\n", record.user));
        t.text
            .push_str(&format!("created_at: {}\n", utc(record.created_at)));
        t.text
            .push_str(&format!("last_seen:  {}\n", utc(record.last_seen)));
    }
    check_golden("sessions/where-the-data-lives.txt", &t.finish());
}
