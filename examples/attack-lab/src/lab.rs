//! The attacker's workbench: the `Lab` an attack runs on (a client for the
//! target, what it learnt about the server, the exchanges it recorded), and
//! the login and exchange records it hands to attacks.

use attack_lab::{Applies, Attack, LabError, LabResult, Outcome, Server, TimeMachine, WorkCounter};
use cafe_client::{Call, Client, Credential, Mechanism, Reply, demo_password, login_call};
use jwt::keys::SigningKey;
use std::sync::Mutex;
use std::time::Duration;

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
pub struct Lab {
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
}

impl Lab {
    /// A lab for the server at `target` (`http://host:port`): logs in once
    /// as alice to learn its mechanism.
    pub async fn connect(target: &str) -> Result<Lab, LabError> {
        // A fresh connection per request: some attacks end with the server
        // closing theirs (an oversized body is refused before it is read),
        // and a pooled connection could be that one.
        let client = Client::unpooled(target)?;
        let mut lab = Lab {
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
        };
        let login = lab.log_in_reply("alice").await.map_err(|error| {
            format!("{error}: is a café running at {target}? (cargo run -p cafe -- serve)")
        })?;
        lab.server = lab.recognise(&login)?;
        lab.take_exchanges();
        Ok(lab)
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
        match attack.applies(&self.server) {
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
        let mechanism = Mechanism::recognise(login);
        let algorithm = login.json_str("access_token").and_then(|token| {
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

    /// Sends `call`, records the exchange, and fails on a server error: a
    /// 5xx other than 503 is never a right answer to an attack.
    async fn send_to(&self, server: &Client, call: Call) -> Result<Reply, LabError> {
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
            return Err(format!(
                "{request_line} answered {}: a server error is never a right answer",
                reply.summary()
            ));
        }
        Ok(reply)
    }

    async fn log_in_reply(&self, user: &str) -> Result<Reply, LabError> {
        self.send(login_call(user, demo_password(user))).await
    }

    /// Logs `user` (a demo user) in, as its owner would.
    pub async fn log_in(&self, user: &str) -> Result<Login, LabError> {
        let reply = self.log_in_reply(user).await?;
        if reply.status != 200 {
            return Err(format!("logging in as {user} failed: {}", reply.summary()));
        }
        let credential = Credential::issued(self.server.mechanism, &reply)
            .ok_or_else(|| format!("logging in as {user} gave no credential"))?;
        Ok(Login {
            user: user.to_owned(),
            credential,
        })
    }

    /// `POST /refresh` with `refresh_token`, the way this server takes it.
    pub fn refresh_call(&self, refresh_token: &str) -> Call {
        self.server.mechanism.refresh_call(refresh_token)
    }

    /// The refresh token a successful `/refresh` answer carries.
    pub fn refreshed_token(&self, reply: &Reply) -> Option<String> {
        Credential::issued(self.server.mechanism, reply)?
            .refresh_token()
            .map(str::to_owned)
    }

    /// Logs `user` out with `login`.
    pub async fn log_out(&self, login: &Login) -> Result<Reply, LabError> {
        self.send(login.attach(Call::post("/logout"))).await
    }

    /// As the demo admin: gives `user` the role `role`.
    pub async fn set_role(&self, user: &str, role: &str) -> Result<(), LabError> {
        let admin = self.log_in("admin").await?;
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
