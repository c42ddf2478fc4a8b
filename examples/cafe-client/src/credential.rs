//! What a café hands out at login, and how a client sends it back.

use cafe::mechanisms::jwt::REFRESH_COOKIE;
use sessions::cookie::COOKIE_NAME as SESSION_COOKIE;

use crate::{Call, Reply};

/// How a café remembers who is logged in, as a client learns it from a
/// login's answer alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    /// A session cookie.
    Sessions,
    /// Access and refresh tokens in the response body.
    Jwt,
    /// An access token in the body, the refresh token in an `HttpOnly`
    /// cookie.
    Hybrid,
}

impl Mechanism {
    /// The mechanism a successful login answer shows: an access token in the
    /// body means tokens, and a refresh cookie beside it the hybrid.
    pub fn recognise(login: &Reply) -> Mechanism {
        let access = login.json_str("access_token").is_some();
        match (access, login.set_cookie(REFRESH_COOKIE).is_some()) {
            (false, _) => Mechanism::Sessions,
            (true, false) => Mechanism::Jwt,
            (true, true) => Mechanism::Hybrid,
        }
    }

    /// Whether it hands out JWTs.
    pub fn uses_tokens(self) -> bool {
        self != Mechanism::Sessions
    }

    /// `POST /refresh` with `refresh_token`, the way this mechanism takes
    /// it: the hybrid's in its cookie, the JWT mode's in a JSON body.
    pub fn refresh_call(self, refresh_token: &str) -> Call {
        match self {
            Mechanism::Hybrid => Call::post("/refresh").cookie(REFRESH_COOKIE, refresh_token),
            Mechanism::Sessions | Mechanism::Jwt => {
                Call::post("/refresh").json(&serde_json::json!({ "refresh_token": refresh_token }))
            }
        }
    }
}

/// What a client attaches to prove who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A `Cookie` header value, as a browser (or `curl -b`) sends it:
    /// `__Host-session=<id>`.
    Cookie(String),
    /// JWTs: the access token goes in `Authorization: Bearer`, the refresh
    /// token only to `POST /refresh`.
    Bearer {
        /// The access token.
        access: String,
        /// The refresh token (from the body, or the hybrid's cookie).
        refresh: String,
    },
}

impl Credential {
    /// The credential a successful login or refresh answer hands out under
    /// `mechanism`, or `None` if the answer carries none.
    pub fn issued(mechanism: Mechanism, reply: &Reply) -> Option<Credential> {
        match mechanism {
            Mechanism::Sessions => {
                let id = reply.cookie_value(SESSION_COOKIE)?;
                Some(Credential::Cookie(format!("{SESSION_COOKIE}={id}")))
            }
            Mechanism::Jwt => Some(Credential::Bearer {
                access: reply.json_str("access_token")?,
                refresh: reply.json_str("refresh_token")?,
            }),
            Mechanism::Hybrid => Some(Credential::Bearer {
                access: reply.json_str("access_token")?,
                refresh: reply.cookie_value(REFRESH_COOKIE)?,
            }),
        }
    }

    /// `call` with this credential attached the way a client attaches it:
    /// the cookie, or the access token as a bearer token.
    pub fn attach(&self, call: Call) -> Call {
        match self {
            Credential::Cookie(cookie) => call.header("cookie", cookie),
            Credential::Bearer { access, .. } => call.bearer(access),
        }
    }

    /// The session ID inside a session cookie.
    pub fn session_id(&self) -> Option<&str> {
        match self {
            Credential::Cookie(pair) => pair.strip_prefix(&format!("{SESSION_COOKIE}=")),
            Credential::Bearer { .. } => None,
        }
    }

    /// The access token.
    pub fn access_token(&self) -> Option<&str> {
        match self {
            Credential::Bearer { access, .. } => Some(access),
            Credential::Cookie(_) => None,
        }
    }

    /// The refresh token.
    pub fn refresh_token(&self) -> Option<&str> {
        match self {
            Credential::Bearer { refresh, .. } => Some(refresh),
            Credential::Cookie(_) => None,
        }
    }
}
