//! Server-side sessions behind the app's seam: the cookie carries a random
//! ID, the store keeps the record under the ID's hash.

use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue};
use cafe::auth::{
    AuthFailure, Authenticated, Device, Issued, LoggedIn, Login, LoginEnded, Mechanism, Presented,
    RoleSource,
};
use cafe::clock::unix_seconds;
use cafe::cross_site::CookieSites;
use cafe::error::ApiError;
use cafe::store::{AccountStore, CheckedSession, SessionCheck};
use cafe::users::Profile;
use sessions::Sessions;
use sessions::cookie::{login_cookie, logout_cookie, presented_id};
use std::sync::Arc;
use std::time::SystemTime;

/// The `WWW-Authenticate` challenge of a 401 in sessions mode.
pub const SESSION_CHALLENGE: &str =
    r#"Cookie realm="cafe", form-action="/login", cookie-name="__Host-session""#;

/// Sessions kept in a session store.
#[derive(Clone)]
pub struct SessionMechanism {
    sessions: Sessions,
    /// Read on every request: a session carries no role.
    accounts: Arc<dyn AccountStore>,
    /// The session and the role in one step, where the store can.
    check: Option<Arc<dyn SessionCheck>>,
    /// The café's own pages only, unless `--cross-site-origin` names others.
    cookie_sites: CookieSites,
}

impl SessionMechanism {
    /// Wraps `sessions` for the app; the role in force comes from `accounts`.
    pub fn new(sessions: Sessions, accounts: Arc<dyn AccountStore>) -> SessionMechanism {
        SessionMechanism {
            sessions,
            accounts,
            check: None,
            cookie_sites: CookieSites::SameSiteOnly,
        }
    }

    /// The same, with each request's lookups made in one step by `check`
    /// (the store that keeps the sessions and the accounts), if any.
    pub fn with_check(self, check: Option<Arc<dyn SessionCheck>>) -> SessionMechanism {
        SessionMechanism { check, ..self }
    }

    /// The same, with its cookie set for `sites`.
    pub fn with_cookie_sites(self, sites: CookieSites) -> SessionMechanism {
        SessionMechanism {
            cookie_sites: sites,
            ..self
        }
    }
}

/// A `Set-Cookie` header for the app to add to its response.
pub fn set_cookie(value: String) -> Result<Issued, ApiError> {
    let value = HeaderValue::try_from(value).map_err(ApiError::internal)?;
    Ok(Issued {
        headers: vec![(SET_COOKIE, value)],
        tokens: None,
    })
}

// ANCHOR: mechanism
impl Mechanism for SessionMechanism {
    // ANCHOR: authenticate
    async fn authenticate(
        &self,
        request: &HeaderMap,
        now: SystemTime,
    ) -> Result<Authenticated, AuthFailure> {
        let id = presented_id(request).ok_or(AuthFailure::Missing)?;
        if let Some(check) = &self.check {
            // The same steps, taken by the store in one (Redis: a script).
            let timeouts = self.sessions.timeouts();
            return match check.check(&id.key(), now, timeouts).await {
                Ok(Some(CheckedSession {
                    user,
                    login_id,
                    role: Some(role),
                })) => Ok(Authenticated {
                    name: user,
                    role,
                    source: RoleSource::Account,
                    login: login_id,
                }),
                Ok(_) => Err(AuthFailure::Invalid),
                Err(_) => Err(AuthFailure::Unavailable),
            };
        }
        let record = match self.sessions.resume(&id, now).await {
            Ok(Some(record)) => record,
            Ok(None) => return Err(AuthFailure::Invalid),
            Err(_) => return Err(AuthFailure::Unavailable),
        };
        // The session carries no role: the current one is read from the
        // account, and an account deleted since the login is nobody.
        match self.accounts.role(&record.user).await {
            Ok(Some(role)) => Ok(Authenticated {
                name: record.user,
                role,
                source: RoleSource::Account,
                login: record.login_id,
            }),
            Ok(None) => Err(AuthFailure::Invalid),
            Err(_) => Err(AuthFailure::Unavailable),
        }
    }
    // ANCHOR_END: authenticate

    // ANCHOR: issue
    async fn issue(
        &self,
        request: &HeaderMap,
        user: &Profile,
        device: Device,
        now: SystemTime,
    ) -> Result<LoggedIn, ApiError> {
        // Whatever session the browser had before logging in ends here.
        if let Some(previous) = presented_id(request) {
            self.sessions.end(&previous).await?;
        }
        let (id, record) = self.sessions.start(&user.name, device, now).await?;
        Ok(LoggedIn {
            profile: user.clone(),
            login: record.login_id,
            issued: set_cookie(self.cookie_sites.apply(login_cookie(&id))?)?,
        })
    }
    // ANCHOR_END: issue

    // ANCHOR: revoke
    async fn revoke(&self, request: &Presented, _now: SystemTime) -> Result<Issued, ApiError> {
        if let Some(id) = presented_id(&request.headers) {
            self.sessions.end(&id).await?;
        }
        set_cookie(self.cookie_sites.apply(logout_cookie())?)
    }
    // ANCHOR_END: revoke

    async fn revoke_all(&self, user: &str, _now: SystemTime) -> Result<usize, ApiError> {
        Ok(self.sessions.end_all_for(user).await?)
    }

    async fn logins(&self, user: &str, now: SystemTime) -> Result<Vec<Login>, ApiError> {
        let records = self.sessions.list(user, now).await?;
        Ok(records
            .into_iter()
            .map(|record| Login {
                id: record.login_id,
                created_at: unix_seconds(record.created_at),
                last_used_at: unix_seconds(record.last_seen),
                client: record.device.client,
                user_agent: record.device.user_agent,
                current: false,
            })
            .collect())
    }

    async fn end_login(
        &self,
        user: &str,
        id: &str,
        now: SystemTime,
    ) -> Result<Option<LoginEnded>, ApiError> {
        let ended = self.sessions.end_login(user, id, now).await?;
        Ok(ended.then(|| LoginEnded {
            ended: id.to_owned(),
            access_token_works_until: None,
            note: "the login has ended: its session cookie is refused from now on",
        }))
    }

    // ANCHOR: challenge
    /// RFC 9110 §15.5.2 asks every 401 for a challenge, and no registered
    /// scheme fits a cookie; this one, from the (expired) cookie
    /// authentication draft, tells a client where to log in and which
    /// cookie will come back.
    fn challenge(&self, _failure: AuthFailure) -> HeaderValue {
        HeaderValue::from_static(SESSION_CHALLENGE)
    }
    // ANCHOR_END: challenge
}
// ANCHOR_END: mechanism
