//! The attack lab: every attack the book describes, as the requests an
//! attacker would send to a running café, and the answer the café must give.
//!
//! ```console
//! $ cargo run -p cafe -- serve --auth jwt &
//! $ cargo run -p cafe -- attack --list
//! $ cargo run -p cafe -- attack jwt-alg-none --target http://127.0.0.1:8080
//! ```
//!
//! An attack starts as any client can: it logs in as a demo user to get a
//! real credential, then tampers with it, replays it, or sends it from where
//! it should not come. The lab learns which mechanism the server runs from
//! that login's answer alone. A few attacks need more than an outsider has,
//! and say so when it is missing: the server's signing key (to test the rules
//! behind the signature, as a key holder could), its clock (to test
//! expiry without waiting), or a second server on the same store.
//!
//! `cargo test -p cafe --test api attack_lab` runs every attack against
//! every mechanism and writes the table the book shows.

pub mod browser;
pub mod login;
pub mod revocation;
pub mod session;
pub mod token;

use cafe::mechanisms::jwt::REFRESH_COOKIE;
use jwt::keys::{SigningAlgorithm, SigningKey};
use reqwest::Method;
use serde_json::{Value, json};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What running an attack can end in, besides a verdict: the lab could not
/// talk to the server, or the server answered something it never should.
pub type LabError = String;
/// An attack's verdict, or why there is none.
pub type LabResult = Result<Outcome, LabError>;
/// An attack under way.
pub type Running<'a> = Pin<Box<dyn Future<Output = LabResult> + Send + 'a>>;
/// The code of one attack.
pub type Run = for<'a> fn(&'a Lab) -> Running<'a>;
/// Moves the server's clock forward (tests run the server on a clock they
/// control).
pub type TimeMachine = Arc<dyn Fn(Duration) + Send + Sync>;

/// Which part of the book an attack belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Forged, tampered or misused JWTs.
    Jwt,
    /// Ending a login: logout, bans, refresh-token rotation.
    Revocation,
    /// Session IDs: fixation, guessing, expiry.
    Sessions,
    /// What another site's page, or a script injected into ours, can do.
    Browser,
    /// Guessing passwords and learning who has an account.
    Login,
}

impl Family {
    /// The family's name in the table.
    pub fn title(self) -> &'static str {
        match self {
            Family::Jwt => "JWT",
            Family::Revocation => "Revocation and refresh",
            Family::Sessions => "Sessions",
            Family::Browser => "Browser",
            Family::Login => "Login",
        }
    }
}

/// The mechanism a server runs, as the lab learns it from a login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    /// A session cookie.
    Sessions,
    /// Access and refresh tokens in the response body.
    Jwt,
    /// An access token in the body, the refresh token in an `HttpOnly` cookie.
    Hybrid,
}

/// What the lab knows about the server under attack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Server {
    /// How it remembers who is logged in.
    pub mechanism: Mechanism,
    /// JWT and hybrid: the algorithm its access tokens name.
    pub algorithm: Option<SigningAlgorithm>,
}

impl Server {
    /// Whether it hands out JWTs.
    pub fn uses_tokens(&self) -> bool {
        self.mechanism != Mechanism::Sessions
    }
}

/// Whether an attack means anything against a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applies {
    /// It does.
    Yes,
    /// It does not, and why.
    No(&'static str),
}

/// How an attack ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The server refused, as it must: how.
    Refused(String),
    /// The attack got through: what it got. Some attacks get through by
    /// design in some modes (a logged-out JWT until it expires): the book
    /// shows those as risks, and the test suite says which are expected.
    Accepted(String),
    /// The lab lacks what this attack needs (the server's key, its clock, a
    /// second server): what.
    Skipped(String),
}

/// One attack.
pub struct Attack {
    /// Its name on the command line and in the table.
    pub name: &'static str,
    /// Where it belongs.
    pub family: Family,
    /// What the attacker does.
    pub attempt: &'static str,
    /// What the café must answer.
    pub defence: &'static str,
    /// Where the rule comes from.
    pub source: &'static str,
    /// Which servers it means anything against.
    pub applies: fn(&Server) -> Applies,
    /// The attack itself.
    pub run: Run,
}

impl Family {
    /// An attack of this family, meant for the servers the family's attacks
    /// usually are: token attacks for token servers, session attacks for
    /// session servers, the rest for every server.
    pub fn attack(
        self,
        name: &'static str,
        attempt: &'static str,
        defence: &'static str,
        source: &'static str,
        run: Run,
    ) -> Attack {
        let applies = match self {
            Family::Jwt | Family::Revocation => token_servers,
            Family::Sessions => session_servers,
            Family::Browser | Family::Login => everywhere,
        };
        Attack {
            name,
            family: self,
            attempt,
            defence,
            source,
            applies,
            run,
        }
    }
}

impl Attack {
    /// The same attack, meant only for the servers `applies` accepts.
    pub fn only(self, applies: fn(&Server) -> Applies) -> Attack {
        Attack { applies, ..self }
    }
}

impl Applies {
    /// `Yes` if `condition` holds, otherwise `No(why)`.
    pub fn when(condition: bool, why: &'static str) -> Applies {
        if condition {
            Applies::Yes
        } else {
            Applies::No(why)
        }
    }
}

/// Every attack the lab knows, grouped by family.
pub fn catalogue() -> Vec<Attack> {
    let mut attacks = token::attacks();
    attacks.extend(revocation::attacks());
    attacks.extend(session::attacks());
    attacks.extend(browser::attacks());
    attacks.extend(login::attacks());
    attacks
}

/// The attack called `name`.
pub fn find(name: &str) -> Option<Attack> {
    catalogue().into_iter().find(|attack| attack.name == name)
}

/// Applies to every server.
pub fn everywhere(_: &Server) -> Applies {
    Applies::Yes
}

/// Applies to servers that hand out JWTs.
pub fn token_servers(server: &Server) -> Applies {
    Applies::when(server.uses_tokens(), "sessions use no tokens")
}

/// Applies to servers with a session cookie.
pub fn session_servers(server: &Server) -> Applies {
    Applies::when(server.mechanism == Mechanism::Sessions, "no session cookie")
}

/// A request, as the lab will send it.
#[derive(Debug, Clone)]
pub struct Call {
    method: Method,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
}

impl Call {
    /// `GET path`.
    pub fn get(path: &str) -> Call {
        Call::new(Method::GET, path)
    }

    /// `POST path`, no body yet.
    pub fn post(path: &str) -> Call {
        Call::new(Method::POST, path)
    }

    /// Any method.
    pub fn new(method: Method, path: &str) -> Call {
        Call {
            method,
            path: path.to_owned(),
            headers: Vec::new(),
            body: None,
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Call {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// `Authorization: Bearer token`.
    pub fn bearer(self, token: &str) -> Call {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// A `Cookie` header with one cookie.
    pub fn cookie(self, name: &str, value: &str) -> Call {
        self.header("cookie", &format!("{name}={value}"))
    }

    /// A JSON body.
    pub fn json(self, body: &Value) -> Call {
        self.body("application/json", &body.to_string())
    }

    /// A body of any type.
    pub fn body(mut self, content_type: &str, body: &str) -> Call {
        self.body = Some(body.to_owned());
        self.header("content-type", content_type)
    }

    /// What a page on another site makes the browser add: its origin, and
    /// the Fetch Metadata header that says it is cross-site.
    pub fn from_another_site(self) -> Call {
        self.header("origin", ATTACKER_ORIGIN)
            .header("sec-fetch-site", "cross-site")
    }
}

/// The attacker's site, for cross-site requests.
pub const ATTACKER_ORIGIN: &str = "https://attacker.example";

/// The server's answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    headers: Vec<(String, String)>,
    /// The body, as text.
    pub body: String,
}

impl Reply {
    /// The first header called `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The `Set-Cookie` header that sets `name`.
    pub fn set_cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
            .map(|(_, value)| value.as_str())
            .find(|value| value.starts_with(&format!("{name}=")))
    }

    /// The value `Set-Cookie` gives cookie `name`.
    pub fn cookie_value(&self, name: &str) -> Option<String> {
        let set = self.set_cookie(name)?;
        let value = set.split(';').next()?.split_once('=')?.1;
        (!value.is_empty()).then(|| value.to_owned())
    }

    /// The body as JSON (`null` if it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// A string member of the JSON body.
    pub fn json_str(&self, member: &str) -> Option<String> {
        self.json()
            .get(member)
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    /// "401 not logged in, or the login has ended": status and error message.
    pub fn summary(&self) -> String {
        match self.json_str("error") {
            Some(error) => format!("{} {error}", self.status),
            None => self.status.to_string(),
        }
    }
}

/// One request and its answer, as the lab saw them.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// `POST http://…/refresh`.
    pub request_line: String,
    /// The headers the lab set.
    pub request_headers: Vec<(String, String)>,
    /// The body sent, if any.
    pub request_body: Option<String>,
    /// The answer.
    pub reply: Reply,
}

/// A demo user's credential, as the server handed it out.
#[derive(Debug, Clone)]
pub struct Credential {
    /// The user it belongs to.
    pub user: String,
    /// Sessions: the session ID.
    pub session: Option<String>,
    /// JWT and hybrid: the access token.
    pub access: Option<String>,
    /// JWT and hybrid: the refresh token (from the body, or the hybrid's
    /// cookie).
    pub refresh: Option<String>,
}

impl Credential {
    /// `call` with this credential attached the way a client attaches it.
    pub fn attach(&self, call: Call) -> Call {
        match (&self.session, &self.access) {
            (Some(session), _) => call.cookie(sessions::cookie::COOKIE_NAME, session),
            (None, Some(access)) => call.bearer(access),
            (None, None) => call,
        }
    }

    /// The access token, or an error naming what is missing.
    pub fn access_token(&self) -> Result<&str, LabError> {
        self.access
            .as_deref()
            .ok_or_else(|| "the login gave no access token".to_owned())
    }

    /// The refresh token, or an error naming what is missing.
    pub fn refresh_token(&self) -> Result<&str, LabError> {
        self.refresh
            .as_deref()
            .ok_or_else(|| "the login gave no refresh token".to_owned())
    }

    /// The session ID, or an error naming what is missing.
    pub fn session_id(&self) -> Result<&str, LabError> {
        self.session
            .as_deref()
            .ok_or_else(|| "the login gave no session cookie".to_owned())
    }
}

/// The demo users' passwords, as the server prints them at start.
pub fn demo_password(user: &str) -> &'static str {
    cafe::users::DEMO_USERS
        .iter()
        .find(|(name, _, _)| *name == user)
        .map_or("", |(_, password, _)| password)
}

/// The attacker's workbench: a client for the target, what it learnt about
/// the server, and everything it sent and got.
pub struct Lab {
    target: String,
    second_target: Option<String>,
    client: reqwest::Client,
    server: Server,
    signing_key: Option<SigningKey>,
    time_machine: Option<TimeMachine>,
    exchanges: Mutex<Vec<Exchange>>,
}

impl Lab {
    /// A lab for the server at `target` (`http://host:port`): logs in once
    /// as alice to learn its mechanism.
    pub async fn connect(target: &str) -> Result<Lab, LabError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // A fresh connection per request: some attacks end with the
            // server closing theirs (an oversized body is refused before it
            // is read), and a pooled connection could be that one.
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| e.to_string())?;
        let mut lab = Lab {
            target: target.trim_end_matches('/').to_owned(),
            second_target: None,
            client,
            server: Server {
                mechanism: Mechanism::Sessions,
                algorithm: None,
            },
            signing_key: None,
            time_machine: None,
            exchanges: Mutex::new(Vec::new()),
        };
        let login = lab.log_in_reply("alice").await?;
        lab.server = lab.recognise(&login)?;
        lab.take_exchanges();
        Ok(lab)
    }

    /// A second server on the same store, for attacks that play two
    /// servers against each other.
    pub fn with_second_target(mut self, target: &str) -> Lab {
        self.second_target = Some(target.trim_end_matches('/').to_owned());
        self
    }

    /// The server's own signing key: lets the lab sign tokens a key holder
    /// could, to test the rules behind the signature.
    pub fn with_signing_key(mut self, key: SigningKey) -> Lab {
        self.signing_key = Some(key);
        self
    }

    /// A way to move the server's clock forward.
    pub fn with_time_machine(mut self, time_machine: TimeMachine) -> Lab {
        self.time_machine = Some(time_machine);
        self
    }

    /// Whether the target runs on this machine (loopback), where the lab
    /// can watch what it connects to.
    pub fn target_is_local(&self) -> bool {
        ["http://127.0.0.1:", "http://localhost:", "http://[::1]:"]
            .iter()
            .any(|prefix| self.target.starts_with(prefix))
    }

    /// What the lab learnt about the server.
    pub fn server(&self) -> Server {
        self.server
    }

    /// The exchanges since the last call, oldest first.
    pub fn take_exchanges(&self) -> Vec<Exchange> {
        std::mem::take(&mut *self.exchanges.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Forgets every exchange after the first `n`: for attacks that repeat
    /// one request many times.
    pub fn keep_first_exchanges(&self, n: usize) {
        self.exchanges
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .truncate(n);
    }

    /// Runs `attack`, or says why it does not apply.
    pub async fn run(&self, attack: &Attack) -> LabResult {
        match (attack.applies)(&self.server) {
            Applies::Yes => (attack.run)(self).await,
            Applies::No(why) => Ok(Outcome::Skipped(format!("not applicable: {why}"))),
        }
    }

    fn recognise(&self, login: &Reply) -> Result<Server, LabError> {
        if login.status != 200 {
            return Err(format!(
                "logging in as alice failed ({}); is this a café server, and is alice locked out?",
                login.summary()
            ));
        }
        let access = login.json_str("access_token");
        let mechanism = match (access.is_some(), login.set_cookie(REFRESH_COOKIE).is_some()) {
            (false, _) => Mechanism::Sessions,
            (true, false) => Mechanism::Jwt,
            (true, true) => Mechanism::Hybrid,
        };
        let algorithm = access.and_then(|token| {
            let (header, _) = jwt::anatomy::decode_unverified(&token).ok()?;
            match header.get("alg")?.as_str()? {
                "HS256" => Some(SigningAlgorithm::Hs256),
                "ES256" => Some(SigningAlgorithm::Es256),
                "EdDSA" => Some(SigningAlgorithm::EdDsa),
                _ => None,
            }
        });
        Ok(Server {
            mechanism,
            algorithm,
        })
    }

    /// Sends `call` to the target.
    pub async fn send(&self, call: Call) -> Result<Reply, LabError> {
        let target = self.target.clone();
        self.send_to(&target, call).await
    }

    /// Sends `call` to the second server, if the lab has one.
    pub async fn send_to_second(&self, call: Call) -> Result<Option<Reply>, LabError> {
        match self.second_target.clone() {
            Some(second) => self.send_to(&second, call).await.map(Some),
            None => Ok(None),
        }
    }

    async fn send_to(&self, base: &str, call: Call) -> Result<Reply, LabError> {
        let url = format!("{base}{}", call.path);
        let mut request = self.client.request(call.method.clone(), &url);
        for (name, value) in &call.headers {
            request = request.header(name, value);
        }
        if let Some(body) = &call.body {
            request = request.body(body.clone());
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("{} {url}: {e}", call.method))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_owned(), value)
            })
            .collect();
        let body = response.text().await.map_err(|e| e.to_string())?;
        let reply = Reply {
            status,
            headers,
            body,
        };
        self.exchanges
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Exchange {
                request_line: format!("{} {url}", call.method),
                request_headers: call.headers,
                request_body: call.body,
                reply: reply.clone(),
            });
        if reply.status >= 500 && reply.status != 503 {
            return Err(format!(
                "{} {url} answered {}: a server error is never a right answer",
                call.method,
                reply.summary()
            ));
        }
        Ok(reply)
    }

    async fn log_in_reply(&self, user: &str) -> Result<Reply, LabError> {
        let body = json!({ "username": user, "password": demo_password(user) });
        self.send(Call::post("/login").json(&body)).await
    }

    /// Logs `user` (a demo user) in, as its owner would.
    pub async fn log_in(&self, user: &str) -> Result<Credential, LabError> {
        let reply = self.log_in_reply(user).await?;
        if reply.status != 200 {
            return Err(format!("logging in as {user} failed: {}", reply.summary()));
        }
        Ok(Credential {
            user: user.to_owned(),
            session: reply.cookie_value(sessions::cookie::COOKIE_NAME),
            access: reply.json_str("access_token"),
            refresh: reply
                .json_str("refresh_token")
                .or_else(|| reply.cookie_value(REFRESH_COOKIE)),
        })
    }

    /// `POST /refresh` with `refresh_token`, the way this server takes it.
    pub fn refresh_call(&self, refresh_token: &str) -> Call {
        match self.server.mechanism {
            Mechanism::Hybrid => Call::post("/refresh").cookie(REFRESH_COOKIE, refresh_token),
            Mechanism::Sessions | Mechanism::Jwt => {
                Call::post("/refresh").json(&json!({ "refresh_token": refresh_token }))
            }
        }
    }

    /// The refresh token a successful `/refresh` answer carries.
    pub fn refreshed_token(&self, reply: &Reply) -> Option<String> {
        reply
            .json_str("refresh_token")
            .or_else(|| reply.cookie_value(REFRESH_COOKIE))
    }

    /// Logs `user` out with `credential`.
    pub async fn log_out(&self, credential: &Credential) -> Result<Reply, LabError> {
        self.send(credential.attach(Call::post("/logout"))).await
    }

    /// As the demo admin: gives `user` the role `role`.
    pub async fn set_role(&self, user: &str, role: &str) -> Result<(), LabError> {
        let admin = self.log_in("admin").await?;
        let call = Call::post(&format!("/admin/users/{user}/role")).json(&json!({ "role": role }));
        let reply = self.send(admin.attach(call)).await?;
        if reply.status == 200 {
            Ok(())
        } else {
            Err(format!(
                "the admin could not set the role: {}",
                reply.summary()
            ))
        }
    }

    /// The server's signing key, if the lab was given it.
    pub fn signing_key(&self) -> Option<&SigningKey> {
        self.signing_key.as_ref()
    }

    /// Moves the server's clock, if the lab can: `false` if it cannot.
    pub fn advance_clock(&self, by: Duration) -> bool {
        match &self.time_machine {
            Some(time_machine) => {
                time_machine(by);
                true
            }
            None => false,
        }
    }
}

/// The verdict on `reply` to an attack that must be answered with one of
/// `refusals`: refused, or accepted if the server said yes (any 2xx).
pub fn judge(reply: &Reply, refusals: &[u16], accepted: &str) -> LabResult {
    if refusals.contains(&reply.status) {
        Ok(Outcome::Refused(reply.summary()))
    } else if (200..300).contains(&reply.status) {
        Ok(Outcome::Accepted(format!("{accepted} ({})", reply.status)))
    } else {
        Err(format!(
            "expected {refusals:?}, got {}: a refusal, but not the right one",
            reply.summary()
        ))
    }
}

/// The verdict on a batch of tries: refused if every one was.
pub fn judge_all(verdicts: Vec<Outcome>) -> LabResult {
    let tries = verdicts.len();
    let mut refusals = Vec::new();
    for verdict in verdicts {
        match verdict {
            Outcome::Refused(how) => refusals.push(how),
            other => return Ok(other),
        }
    }
    refusals.dedup();
    Ok(Outcome::Refused(format!(
        "all {tries} refused: {}",
        refusals.join("; ")
    )))
}

/// The text for `--list`: every attack's name, family and what it tries.
pub fn listing() -> String {
    let mut text = String::new();
    for attack in catalogue() {
        text.push_str(&format!(
            "{:<40} {:<22} {}\n",
            attack.name,
            attack.family.title(),
            attack.attempt
        ));
    }
    text
}

/// How the command line shows one exchange: the request as sent (long
/// credentials shortened), the status and the start of the body.
pub fn show_exchange(exchange: &Exchange) -> String {
    let shorten = |text: &str, keep: usize| {
        if text.chars().count() > keep {
            format!("{}…", text.chars().take(keep).collect::<String>())
        } else {
            text.to_owned()
        }
    };
    let mut text = format!("> {}\n", exchange.request_line);
    for (name, value) in &exchange.request_headers {
        text.push_str(&format!("> {name}: {}\n", shorten(value, 160)));
    }
    if let Some(body) = &exchange.request_body {
        text.push_str(&format!("> {}\n", shorten(body, 160)));
    }
    text.push_str(&format!(
        "< {} {}\n",
        exchange.reply.status,
        shorten(&exchange.reply.body, 160)
    ));
    text
}
