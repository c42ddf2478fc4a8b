//! What a café hands out at login, and how a client sends it back.

use crate::{Call, Profile, Reply};

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
        Mechanism::recognise_for(Profile::cafe_ref(), login)
    }

    /// [`Mechanism::recognise`], in `profile`'s names: its access token
    /// field, and its refresh cookie (a profile that names none has no
    /// hybrid).
    pub fn recognise_for(profile: &Profile, login: &Reply) -> Mechanism {
        let access = login.json_str(&profile.fields.access_token).is_some();
        let refresh_cookie = profile
            .credential
            .refresh_cookie
            .as_deref()
            .is_some_and(|cookie| login.set_cookie(cookie).is_some());
        match (access, refresh_cookie) {
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
        Profile::cafe_ref().refresh_call(self, refresh_token)
    }
}

/// What a client attaches to prove who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A `Cookie` header value, as a browser (or `curl -b`) sends it:
    /// `__Host-session=<id>` (the profile's session cookie).
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
        Credential::issued_for(Profile::cafe_ref(), mechanism, reply)
    }

    /// [`Credential::issued`], in `profile`'s names. A token server whose
    /// profile names no refresh path may hand out no refresh token: the
    /// credential then holds an empty one, which nothing sends, since a
    /// refresh is refused before it is sent ([`Profile::route`]).
    pub fn issued_for(
        profile: &Profile,
        mechanism: Mechanism,
        reply: &Reply,
    ) -> Option<Credential> {
        let fields = &profile.fields;
        let cookies = &profile.credential;
        match mechanism {
            Mechanism::Sessions => {
                let name = cookies.session_cookie.as_deref()?;
                let id = reply.cookie_value(name)?;
                Some(Credential::Cookie(format!("{name}={id}")))
            }
            Mechanism::Jwt => Some(Credential::Bearer {
                access: reply.json_str(&fields.access_token)?,
                refresh: match reply.json_str(&fields.refresh_token) {
                    Some(refresh) => refresh,
                    None if profile.paths.refresh.is_none() => String::new(),
                    None => return None,
                },
            }),
            Mechanism::Hybrid => Some(Credential::Bearer {
                access: reply.json_str(&fields.access_token)?,
                refresh: reply.cookie_value(cookies.refresh_cookie.as_deref()?)?,
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
            Credential::Cookie(pair) => pair.split_once('=').map(|(_, id)| id),
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
