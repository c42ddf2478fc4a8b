//! The attacker's workbench: the `Lab` an attack runs on (a client for the
//! target, what it learnt about the server, the exchanges it recorded), and
//! the login and exchange records it hands to attacks.

use attack_lab::{Applies, Attack, LabError, LabResult, Outcome, Server, TimeMachine, WorkCounter};
use cafe_client::profile::Account;
use cafe_client::{Call, Client, Credential, Endpoint, Mechanism, Profile, Reply};
use jwt::keys::SigningKey;
use serde_json::Value;
use std::io::ErrorKind;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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

/// Whether `profile` is the café's, wherever it is served.
fn is_cafe(profile: &Profile) -> bool {
    let cafe = Profile::cafe_ref();
    Profile {
        target: cafe.target.clone(),
        ..profile.clone()
    } == *cafe
}

/// Waits, up to `patience`, until `target` accepts a TCP connection
/// (closed at once, nothing sent on it), trying every
/// [`Lab::CONNECT_RETRY`] and saying once on stderr that it waits. Only a
/// connection refused or reset is waited on: whatever else goes wrong (a
/// host that has no address, the patience spent) the login that follows
/// meets and reports as it would have.
async fn wait_until_listening(target: &str, patience: Duration) {
    let Ok(url) = url::Url::parse(target) else {
        return;
    };
    let Some(port) = url.port_or_known_default() else {
        return;
    };
    let address = match url.host() {
        Some(url::Host::Domain(name)) => format!("{name}:{port}"),
        Some(url::Host::Ipv4(ip)) => std::net::SocketAddr::from((ip, port)).to_string(),
        Some(url::Host::Ipv6(ip)) => std::net::SocketAddr::from((ip, port)).to_string(),
        None => return,
    };
    let deadline = Instant::now() + patience;
    let mut said = false;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        // A connection that neither opens nor fails (a host that drops
        // what it gets) is the login's to time out, as before.
        let attempt = tokio::time::timeout(left, tokio::net::TcpStream::connect(&address)).await;
        match attempt {
            Ok(Err(error))
                if matches!(
                    error.kind(),
                    ErrorKind::ConnectionRefused
                        | ErrorKind::ConnectionReset
                        | ErrorKind::ConnectionAborted
                ) => {}
            _ => return,
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        if !said {
            eprintln!("attack-lab: waiting for {target} to listen…");
            said = true;
        }
        tokio::time::sleep(Lab::CONNECT_RETRY.min(left)).await;
    }
}

/// A demo user's login, as the server handed it out.
#[derive(Debug, Clone)]
pub struct Login {
    /// The user it belongs to.
    pub user: String,
    /// What the server handed out.
    pub credential: Credential,
}

impl Login {
    /// `call` with this credential attached the way a client attaches it.
    pub fn attach(&self, call: Call) -> Call {
        self.credential.attach(call)
    }

    /// The access token, or an error naming what is missing.
    pub fn access_token(&self) -> Result<&str, LabError> {
        self.credential
            .access_token()
            .ok_or_else(|| "the login gave no access token".to_owned())
    }

    /// The refresh token, or an error naming what is missing.
    pub fn refresh_token(&self) -> Result<&str, LabError> {
        self.credential
            .refresh_token()
            .ok_or_else(|| "the login gave no refresh token".to_owned())
    }

    /// The session ID, or an error naming what is missing.
    pub fn session_id(&self) -> Result<&str, LabError> {
        self.credential
            .session_id()
            .ok_or_else(|| "the login gave no session cookie".to_owned())
    }
}

/// The attacker's workbench: a client for the target, what it learnt about
/// the server, and everything it sent and got.
///
/// Attacks write their calls in the café's paths and log in as
/// [`Lab::member`] and [`Lab::admin`]; the lab's [`Profile`] says what the
/// target calls each path, field and cookie, and which accounts it has.
/// When an attack needs what the profile lacks (an endpoint, an admin),
/// the call is never sent and the attack ends
/// [`Outcome::Skipped`] with the reason: "the profile names no logout
/// path".
pub struct Lab {
    profile: Profile,
    /// The profile's first member: the lab's own login.
    member: Account,
    target: String,
    second_target: Option<String>,
    /// The clients the current attack sends from (target, second target).
    clients: Mutex<(Client, Option<Client>)>,
    /// How many attacks have run, to give each its own address.
    attacks_run: std::sync::atomic::AtomicU8,
    server: Server,
    signing_key: Option<SigningKey>,
    time_machine: Option<TimeMachine>,
    work_counter: Option<WorkCounter>,
    exchanges: Mutex<Vec<Exchange>>,
    /// The header of the access token the first login got, if any.
    issued_header: Option<Value>,
    /// What the running attack needed and the profile lacks.
    lacking: Mutex<Option<String>>,
    /// Every request sent since the lab connected, its first login
    /// included: what a run of attacks and checks cost, counted.
    requests_sent: std::sync::atomic::AtomicU64,
    /// The last server error `send_to` refused, until taken.
    server_error: Mutex<Option<ServerError>>,
}

/// A server error (a 5xx other than 503) the lab met: never a right answer
/// to an attack or a check. Read with [`Lab::take_server_error`], so no
/// caller has to recognise one by the words of the error it caused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    /// The status, 500 to 599 but 503.
    pub status: u16,
    /// `GET http://…/me`: the request that got it.
    pub request_line: String,
}

impl Lab {
    /// A lab for the café at `target` (`http://host:port`): logs in once
    /// as alice to learn its mechanism.
    pub async fn connect(target: &str) -> Result<Lab, LabError> {
        Lab::connect_with(Profile::cafe_ref(), Some(target)).await
    }

    /// A lab for the server `profile` describes, at `target` or else the
    /// profile's own target: logs in once as the profile's member to learn
    /// its mechanism, and checks that the login carried a credential by
    /// the profile's names. A target that refuses the connection is tried
    /// again for up to [`Lab::CONNECT_PATIENCE`]: it may still be starting.
    pub async fn connect_with(profile: &Profile, target: Option<&str>) -> Result<Lab, LabError> {
        Lab::connect_patiently(profile, target, Lab::CONNECT_PATIENCE).await
    }

    /// How long the lab's first login waits for a target that refuses the
    /// connection, nothing listening there yet: a server started in the
    /// same shell line as the lab (the README's `cargo run -p
    /// peer-axum-login -- --hardened &`, then the lab) may still be
    /// starting: a debug build of the peers hashes its demo users before
    /// it listens, longer than the lab takes to send its first request
    /// (peer-compare's tests/readme.rs runs the two lines so). Past it,
    /// the lab gives the error it gives at once without one. An answer of
    /// any status is never waited on.
    pub const CONNECT_PATIENCE: Duration = Duration::from_secs(30);

    /// How often the lab tries the target again while it waits.
    const CONNECT_RETRY: Duration = Duration::from_millis(100);

    /// [`Lab::connect_with`], waiting up to `patience` (not
    /// [`Lab::CONNECT_PATIENCE`]) for the target to listen.
    pub async fn connect_patiently(
        profile: &Profile,
        target: Option<&str>,
        patience: Duration,
    ) -> Result<Lab, LabError> {
        profile
            .check()
            .map_err(|e| format!("the profile {:?}: {e}", profile.name))?;
        let target = target.unwrap_or(&profile.target);
        cafe_client::profile::check_target(target).map_err(|e| format!("target: {e}"))?;
        let member = profile
            .member()
            .ok_or("the profile names no member account")?
            .clone();
        // A fresh connection per request: some attacks end with the server
        // closing theirs (an oversized body is refused before it is read),
        // and a pooled connection could be that one. The lab routes each
        // call itself (`send_to`), so its clients send paths as given.
        let client = Client::unpooled(target)?;
        let mut lab = Lab {
            profile: profile.clone(),
            member,
            target: target.trim_end_matches('/').to_owned(),
            second_target: None,
            clients: Mutex::new((client, None)),
            attacks_run: std::sync::atomic::AtomicU8::new(0),
            server: Server {
                mechanism: Mechanism::Sessions,
                algorithm: None,
            },
            signing_key: None,
            time_machine: None,
            work_counter: None,
            exchanges: Mutex::new(Vec::new()),
            issued_header: None,
            lacking: Mutex::new(None),
            requests_sent: std::sync::atomic::AtomicU64::new(0),
            server_error: Mutex::new(None),
        };
        let user = lab.member.name.clone();
        wait_until_listening(&lab.target, patience).await;
        let login = lab.log_in_reply(&user).await.map_err(|error| {
            if is_cafe(profile) {
                format!("{error}: is a café running at {target}? (cargo run -p cafe -- serve)")
            } else {
                format!("{error}: is {} running at {target}?", profile.name)
            }
        })?;
        lab.server = lab.recognise(&login)?;
        lab.issued_header = login
            .json_str(&profile.fields.access_token)
            .and_then(|token| jwt::anatomy::decode_unverified(&token).ok())
            .map(|(header, _)| header);
        if Credential::issued_for(profile, lab.server.mechanism, &login).is_none() {
            return Err(lab.no_credential(&login));
        }
        lab.take_exchanges();
        Ok(lab)
    }

    /// Why the first login's 200 carried no credential the profile names.
    fn no_credential(&self, login: &Reply) -> LabError {
        let (fields, cookies) = (&self.profile.fields, &self.profile.credential);
        let what = match self.server.mechanism {
            Mechanism::Sessions => match &cookies.session_cookie {
                Some(cookie) => format!(
                    "no {:?} in its body and no session cookie {cookie:?} \
                     (credential.session_cookie); it set {:?}",
                    fields.access_token,
                    login.set_cookies().collect::<Vec<_>>()
                ),
                None => format!(
                    "no {:?} in its body (fields.access_token), and the profile names no \
                     session cookie (credential.session_cookie)",
                    fields.access_token
                ),
            },
            Mechanism::Jwt => format!(
                "an access token but no {:?} (fields.refresh_token), and the profile names \
                 a refresh path",
                fields.refresh_token
            ),
            Mechanism::Hybrid => "an access token and a refresh cookie with no value".to_owned(),
        };
        format!(
            "logging in as {} answered 200 with {what}: does the profile describe this server?",
            self.member.name
        )
    }

    /// The profile the lab speaks by.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The profile's first member account: the one the attacks log in as
    /// when they need a user (the café's alice).
    pub fn member(&self) -> &Account {
        &self.member
    }

    /// The profile's first admin account, for the attacks that ban a user
    /// or log one out everywhere; without one, the attack is skipped.
    pub fn admin(&self) -> Result<&Account, LabError> {
        self.profile
            .admin()
            .ok_or_else(|| self.lacks("the profile names no admin account"))
    }

    /// The path of `endpoint` on the target; without one, the attack is
    /// skipped. For attacks that must know before they send anything (a
    /// token server without a refresh path gives no refresh token to
    /// misuse).
    pub fn needs(&self, endpoint: Endpoint) -> Result<&str, LabError> {
        self.profile
            .path(endpoint)
            .map_err(|missing| self.lacks(missing.to_string()))
    }

    /// Notes that the running attack needs `what`, which the profile lacks:
    /// it ends skipped, saying so, whatever it returns. The error to return.
    pub fn lacks(&self, what: impl Into<String>) -> LabError {
        let what = what.into();
        *self.lacking.lock().unwrap_or_else(|p| p.into_inner()) = Some(what.clone());
        what
    }

    /// The header of the access token the lab's first login got (`None`
    /// for a session server): what the server's tokens look like.
    pub fn issued_header(&self) -> Option<&Value> {
        self.issued_header.as_ref()
    }

    /// A second server on the same store, for attacks that play two
    /// servers against each other.
    pub fn with_second_target(mut self, target: &str) -> Result<Lab, LabError> {
        let second = Client::unpooled(target)?;
        self.second_target = Some(target.trim_end_matches('/').to_owned());
        self.clients.get_mut().unwrap_or_else(|p| p.into_inner()).1 = Some(second);
        Ok(self)
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

    /// A way to read how many passwords the server has hashed.
    pub fn with_work_counter(mut self, work_counter: WorkCounter) -> Lab {
        self.work_counter = Some(work_counter);
        self
    }

    /// How many passwords the server has hashed, if the lab can tell.
    pub fn hashes_so_far(&self) -> Option<u64> {
        self.work_counter.as_ref().map(|count| count())
    }

    /// Whether the target runs on this machine (loopback), where the lab
    /// can watch what it connects to.
    pub fn target_is_local(&self) -> bool {
        ["http://127.0.0.1:", "http://localhost:", "http://[::1]:"]
            .iter()
            .any(|prefix| self.target.starts_with(prefix))
    }

    /// How many requests the lab has sent since it connected (its first
    /// login included), to every server it talks to.
    pub fn requests_sent(&self) -> u64 {
        self.requests_sent
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The last server error a call met since the last time this was
    /// called (each [`Lab::run`] starts without one): the error that call
    /// returned was this.
    pub fn take_server_error(&self) -> Option<ServerError> {
        self.server_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
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

    /// Runs `attack`, or says why it does not apply, or why it was skipped
    /// (it needed what the profile lacks).
    pub async fn run(&self, attack: &Attack) -> LabResult {
        *self.lacking.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.take_server_error();
        let run = self.attacks_run.load(std::sync::atomic::Ordering::Relaxed);
        let next = run.checked_add(1).filter(|n| *n < 255).unwrap_or(1);
        self.attacks_run
            .store(next, std::sync::atomic::Ordering::Relaxed);
        if let Some(address) = self.loopback_address(2) {
            let first = Client::unpooled_from(&self.target, Some(address))?;
            let second = match &self.second_target {
                Some(second) => Some(Client::unpooled_from(second, Some(address))?),
                None => None,
            };
            *self.lock_clients() = (first, second);
        }
        let result = match attack.applies(&self.server) {
            Applies::Yes => (attack.run)(self).await,
            Applies::No(why) => Ok(Outcome::Skipped(format!("not applicable: {why}"))),
        };
        // A verdict reached without a call it wanted to make is none.
        match self
            .lacking
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            Some(lacking) => Ok(Outcome::Skipped(lacking)),
            None => result,
        }
    }

    fn recognise(&self, login: &Reply) -> Result<Server, LabError> {
        if login.status != 200 {
            let user = &self.member.name;
            let server = if is_cafe(&self.profile) {
                "a café server".to_owned()
            } else {
                format!("the server the profile {:?} describes", self.profile.name)
            };
            return Err(format!(
                "logging in as {user} failed ({}); is this {server}, and is {user} locked out?",
                login.summary()
            ));
        }
        let mechanism = Mechanism::recognise_for(&self.profile, login);
        let access_field = &self.profile.fields.access_token;
        let algorithm = login.json_str(access_field).and_then(|token| {
            let (header, _) = jwt::anatomy::decode_unverified(&token).ok()?;
            header.get("alg")?.as_str()?.parse().ok()
        });
        Ok(Server {
            mechanism,
            algorithm,
        })
    }

    /// Sends `call` to the target.
    pub async fn send(&self, call: Call) -> Result<Reply, LabError> {
        let client = self.lock_clients().0.clone();
        self.send_to(&client, call).await
    }

    /// Sends `call` to the second server, if the lab has one.
    pub async fn send_to_second(&self, call: Call) -> Result<Option<Reply>, LabError> {
        let second = self.lock_clients().1.clone();
        match second {
            Some(second) => self.send_to(&second, call).await.map(Some),
            None => Ok(None),
        }
    }

    /// Sends `call` to the target from another machine, as the server sees
    /// it (another loopback address), or `None` when the target is not on
    /// this machine's IPv4 loopback, where the lab can pick its address.
    pub async fn send_from_elsewhere(&self, call: Call) -> Result<Option<Reply>, LabError> {
        self.send_as(0, call).await
    }

    /// Sends `call` to the target as another machine numbered `client`
    /// (0 to 200: each its own loopback address for this attack), or
    /// `None` when the target is not on this machine's IPv4 loopback.
    pub async fn send_as(&self, client: u8, call: Call) -> Result<Option<Reply>, LabError> {
        let Some(address) = self.loopback_address(3_u8.saturating_add(client)) else {
            return Ok(None);
        };
        let client = Client::unpooled_from(&self.target, Some(address))?;
        self.send_to(&client, call).await.map(Some)
    }

    fn lock_clients(&self) -> std::sync::MutexGuard<'_, (Client, Option<Client>)> {
        self.clients.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A loopback address of its own for this attack (`127.0.<block>.<n>`),
    /// when the target is on IPv4 loopback: each attack comes from another
    /// machine, as the server sees it, so one attack's failed logins never
    /// reach the next one's per-client count.
    fn loopback_address(&self, block: u8) -> Option<std::net::IpAddr> {
        if !self.target.starts_with("http://127.") {
            return None;
        }
        let n = self.attacks_run.load(std::sync::atomic::Ordering::Relaxed);
        Some(std::net::Ipv4Addr::new(127, 0, block, n.max(1)).into())
    }

    /// Sends `call` (its path routed by the profile: an endpoint the
    /// profile lacks is never sent), records the exchange, and fails on a
    /// server error: a 5xx other than 503 is never a right answer to an
    /// attack.
    async fn send_to(&self, server: &Client, mut call: Call) -> Result<Reply, LabError> {
        call.path = self
            .profile
            .route(&call.path)
            .map_err(|missing| self.lacks(missing.to_string()))?;
        self.requests_sent
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let reply = server.send(&call).await?;
        let request_line = format!("{} {}{}", call.method, server.base(), call.path);
        self.exchanges
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Exchange {
                request_line: request_line.clone(),
                request_headers: call.headers,
                request_body: call.body,
                reply: reply.clone(),
            });
        if reply.status >= 500 && reply.status != 503 {
            *self.server_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(ServerError {
                status: reply.status,
                request_line: request_line.clone(),
            });
            return Err(format!(
                "{request_line} answered {}: a server error is never a right answer",
                reply.summary()
            ));
        }
        Ok(reply)
    }

    async fn log_in_reply(&self, user: &str) -> Result<Reply, LabError> {
        self.send(self.login_call(user, self.password(user)?)).await
    }

    /// The password of the profile's account `user`; without one, the
    /// attack is skipped.
    pub fn password(&self, user: &str) -> Result<&str, LabError> {
        self.profile
            .account(user)
            .map(|account| account.password.as_str())
            .ok_or_else(|| self.lacks(format!("the profile names no account {user:?}")))
    }

    /// `POST /login` as `user` with `password`, in the profile's field
    /// names.
    pub fn login_call(&self, user: &str, password: &str) -> Call {
        self.profile.login_call(user, password)
    }

    /// A login body as `user` with `password`, in the profile's field
    /// names, for a login call built by hand.
    pub fn login_body(&self, user: &str, password: &str) -> Value {
        self.profile.login_body(user, password)
    }

    /// Logs `user` (one of the profile's accounts) in, as its owner would.
    pub async fn log_in(&self, user: &str) -> Result<Login, LabError> {
        let reply = self.log_in_reply(user).await?;
        if reply.status != 200 {
            return Err(format!("logging in as {user} failed: {}", reply.summary()));
        }
        let credential = self
            .issued(&reply)
            .ok_or_else(|| format!("logging in as {user} gave no credential"))?;
        Ok(Login {
            user: user.to_owned(),
            credential,
        })
    }

    /// The credential a successful login, refresh or password change
    /// answer carries, by the profile's names.
    pub fn issued(&self, reply: &Reply) -> Option<Credential> {
        Credential::issued_for(&self.profile, self.server.mechanism, reply)
    }

    /// `POST /refresh` with `refresh_token`, the way this server takes it.
    pub fn refresh_call(&self, refresh_token: &str) -> Call {
        self.profile
            .refresh_call(self.server.mechanism, refresh_token)
    }

    /// The refresh token a successful `/refresh` answer carries.
    pub fn refreshed_token(&self, reply: &Reply) -> Option<String> {
        self.issued(reply)?.refresh_token().map(str::to_owned)
    }

    /// Logs `user` out with `login`.
    pub async fn log_out(&self, login: &Login) -> Result<Reply, LabError> {
        self.send(login.attach(Call::post("/logout"))).await
    }

    /// As the profile's admin: gives `user` the role `role`.
    pub async fn set_role(&self, user: &str, role: &str) -> Result<(), LabError> {
        let admin = self.admin()?.name.clone();
        let admin = self.log_in(&admin).await?;
        let call = Call::post(&format!("/admin/users/{user}/role"))
            .json(&serde_json::json!({ "role": role }));
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
