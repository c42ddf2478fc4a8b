//! Sending calls to one café, with or without a login.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::{Call, Credential, Mechanism, Profile, Reply};

/// Why a call got no answer: the server could not be reached, or its
/// answer could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientError(pub String);

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ClientError {}

impl From<ClientError> for String {
    fn from(error: ClientError) -> String {
        error.0
    }
}

/// How long one call may take before it fails: long enough for a login's
/// password hash on a busy two-core machine.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// A client for the café at one base address (`http://host:port`). It
/// follows no redirects: a client under test must see every answer.
///
/// Routed by a [`Profile`] ([`Client::routed_by`]), it speaks to another
/// server: calls are still written in the café's paths, and each is sent to
/// the profile's path for it (a call to an endpoint the profile does not
/// name fails unsent); a [`Visitor`] logs in and refreshes with the
/// profile's field and cookie names.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
    profile: Option<Arc<Profile>>,
}

impl Client {
    /// A client that keeps connections open between calls, as browsers do.
    pub fn new(base: &str) -> Result<Client, ClientError> {
        Client::build(base, true, None)
    }

    /// A client whose connections come from `address` (a loopback address
    /// such as 127.0.0.2): another machine, as the server sees it, for
    /// tests of limits per client.
    pub fn from_address(base: &str, address: std::net::IpAddr) -> Result<Client, ClientError> {
        Client::build(base, true, Some(address))
    }

    /// [`Client::unpooled`], from `address` (`None`: whatever the system
    /// picks).
    pub fn unpooled_from(
        base: &str,
        address: Option<std::net::IpAddr>,
    ) -> Result<Client, ClientError> {
        Client::build(base, false, address)
    }

    /// A client that opens a fresh connection for every call: for attacks
    /// that end with the server closing theirs (an oversized body is
    /// refused before it is read), where a pooled connection could be
    /// that one.
    pub fn unpooled(base: &str) -> Result<Client, ClientError> {
        Client::build(base, false, None)
    }

    fn build(
        base: &str,
        pooled: bool,
        local_address: Option<std::net::IpAddr>,
    ) -> Result<Client, ClientError> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .local_address(local_address)
            .timeout(CALL_TIMEOUT);
        if !pooled {
            builder = builder.pool_max_idle_per_host(0);
        }
        let http = builder.build().map_err(|e| ClientError(e.to_string()))?;
        Ok(Client {
            base: base.trim_end_matches('/').to_owned(),
            http,
            profile: None,
        })
    }

    /// A client for the server `profile` describes, at `target` or else the
    /// profile's own target, routed by it.
    pub fn for_profile(profile: &Profile, target: Option<&str>) -> Result<Client, ClientError> {
        let target = target.unwrap_or(&profile.target);
        Ok(Client::new(target)?.routed_by(profile.clone()))
    }

    /// This client, sending each call to `profile`'s path for it and
    /// logging in with its names.
    pub fn routed_by(mut self, profile: Profile) -> Client {
        self.profile = Some(Arc::new(profile));
        self
    }

    /// The profile it speaks by: the café's unless routed by another.
    pub fn profile(&self) -> &Profile {
        self.profile.as_deref().unwrap_or(Profile::cafe_ref())
    }

    /// The base address, without a trailing `/`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends `call` and reads the whole answer.
    pub async fn send(&self, call: &Call) -> Result<Reply, ClientError> {
        let path = match &self.profile {
            Some(profile) => profile.route(&call.path).map_err(|missing| {
                ClientError(format!("{} {}: {missing}", call.method, call.path))
            })?,
            None => call.path.clone(),
        };
        let url = format!("{}{path}", self.base);
        let mut request = self.http.request(call.method.clone(), &url);
        for (name, value) in &call.headers {
            request = request.header(name, value);
        }
        if let Some(body) = &call.body {
            request = request.body(body.clone());
        }
        let failed = |e: reqwest::Error| ClientError(format!("{} {url}: {e}", call.method));
        let response = request.send().await.map_err(failed)?;
        let status = response.status().as_u16();
        let version = format!("{:?}", response.version());
        let headers = response.headers().clone();
        let bytes = response.bytes().await.map_err(failed)?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Reply {
            status,
            version,
            headers,
            text,
            body,
        })
    }
}

/// `POST /login` as the café's login form sends it.
pub fn login_call(user: &str, password: &str) -> Call {
    Profile::cafe_ref().login_call(user, password)
}

/// A client of the café that may hold a login: a browser, a phone app or
/// curl. It attaches its credential to every call the way its mechanism
/// does.
#[derive(Debug, Clone)]
pub struct Visitor {
    /// The connection to the café.
    pub client: Client,
    /// The café's mechanism: known in advance, or learnt at login.
    pub mechanism: Option<Mechanism>,
    /// What it attaches, once logged in.
    pub credential: Option<Credential>,
}

impl Visitor {
    /// A visitor with no login, who will learn the mechanism at login.
    pub fn new(client: Client) -> Visitor {
        Visitor {
            client,
            mechanism: None,
            credential: None,
        }
    }

    /// A visitor of a café known to run `mechanism`.
    pub fn of(client: Client, mechanism: Mechanism) -> Visitor {
        Visitor {
            mechanism: Some(mechanism),
            ..Visitor::new(client)
        }
    }

    /// Sends `call` with this visitor's credential attached.
    pub async fn send(&self, call: &Call) -> Result<Reply, ClientError> {
        match &self.credential {
            Some(credential) => self.client.send(&credential.attach(call.clone())).await,
            None => self.client.send(call).await,
        }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Result<Reply, ClientError> {
        self.send(&Call::get(path)).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Reply, ClientError> {
        self.send(&Call::post(path).json(body)).await
    }

    /// Logs in, and on success keeps the credential the server issued
    /// (learning the mechanism if it was not known).
    pub async fn log_in(&mut self, user: &str, password: &str) -> Result<Reply, ClientError> {
        // Sent with whatever credential it holds, as a browser sends its
        // cookies: a login over a live session must end that session.
        let call = self.client.profile().login_call(user, password);
        let reply = self.send(&call).await?;
        self.keep_issued(reply)
    }

    /// `POST /me/password`, and on success keeps the fresh credential the
    /// answer carries, as a login does: the one it held has ended.
    pub async fn change_password(
        &mut self,
        current: &str,
        new: &str,
    ) -> Result<Reply, ClientError> {
        let body = serde_json::json!({ "current_password": current, "new_password": new });
        let reply = self.post("/me/password", &body).await?;
        self.keep_issued(reply)
    }

    /// `DELETE /me/logins/{id}`, with the current password given again, as
    /// the café asks before it ends a login (ASVS 5.0 7.5.2).
    pub async fn end_login(&self, id: &str, current_password: &str) -> Result<Reply, ClientError> {
        let body = serde_json::json!({ "current_password": current_password });
        let call = Call::delete(&format!("/me/logins/{id}")).json(&body);
        self.send(&call).await
    }

    /// After a 200 from a login or a password change: keeps the credential
    /// the reply issued.
    fn keep_issued(&mut self, reply: Reply) -> Result<Reply, ClientError> {
        if reply.status == 200 {
            let profile = self.client.profile();
            let mechanism = *self
                .mechanism
                .get_or_insert_with(|| Mechanism::recognise_for(profile, &reply));
            let issued = Credential::issued_for(profile, mechanism, &reply);
            self.credential = Some(issued.ok_or_else(|| {
                ClientError(format!(
                    "the login answered 200 without a {mechanism:?} credential"
                ))
            })?);
        }
        Ok(reply)
    }

    /// JWT and hybrid: swaps the refresh token for a new pair, and keeps it
    /// on success.
    pub async fn refresh(&mut self) -> Result<Reply, ClientError> {
        let (Some(mechanism), Some(refresh)) = (
            self.mechanism,
            self.credential.as_ref().and_then(Credential::refresh_token),
        ) else {
            return Err(ClientError(
                "only a visitor holding tokens can refresh".to_owned(),
            ));
        };
        let profile = self.client.profile();
        let reply = self
            .client
            .send(&profile.refresh_call(mechanism, refresh))
            .await?;
        if reply.status == 200 {
            self.credential = Credential::issued_for(self.client.profile(), mechanism, &reply);
        }
        Ok(reply)
    }

    /// `POST /logout` with this visitor's credential; forgets it.
    pub async fn log_out(&mut self) -> Result<Reply, ClientError> {
        let reply = self.send(&Call::post("/logout")).await?;
        self.credential = None;
        Ok(reply)
    }
}
