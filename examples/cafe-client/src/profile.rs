//! A target profile: what a client must know to speak the café's API to
//! another server: where it listens, the path of each endpoint, the JSON
//! field names of a login and a refresh, the cookies that carry a login,
//! what its tokens carry, and the accounts to log in with.
//!
//! A profile is a small TOML file (`examples/cafe/profile.toml` is the
//! café's). Calls are still written in the café's own paths (`/login`,
//! `/admin/users/alice/role`): [`Profile::route`] turns each into the
//! profile's path once, when it is sent, and refuses one whose endpoint the
//! profile does not name, so a server without that endpoint never gets a
//! request meant for another one.
//!
//! ```
//! let profile = cafe_client::Profile::from_toml(
//!     r#"
//!     name = "an app"
//!     target = "http://127.0.0.1:3000"
//!     [paths]
//!     login = "/api/session"
//!     change_role = "/api/users/{name}/role"
//!     [[accounts]]
//!     name = "alice"
//!     password = "wonderland-42"
//!     role = "member"
//!     "#,
//!     "app.toml",
//! )
//! .unwrap();
//! assert_eq!(profile.route("/login").unwrap(), "/api/session");
//! assert_eq!(profile.route("/admin/users/alice/role").unwrap(), "/api/users/alice/role");
//! let missing = profile.route("/logout").unwrap_err();
//! assert_eq!(missing.to_string(), "the profile names no logout path");
//! ```

use std::path::Path;
use std::sync::LazyLock;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::{Call, Mechanism};

/// A server the client can speak the café's API to. Every table and key is
/// checked: an unknown key is refused, naming it, so a typo cannot quietly
/// drop an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// What to call the server (a column title in a table).
    pub name: String,
    /// Its base address, `http://host:port` (a path prefix may follow).
    pub target: String,
    /// The path of each endpoint it has; a missing one it lacks.
    #[serde(default)]
    pub paths: Paths,
    /// The JSON field names of a login and a refresh.
    #[serde(default)]
    pub fields: Fields,
    /// The cookies that carry a login.
    #[serde(default)]
    pub credential: Cookies,
    /// What a key holder's forged tokens carry; `None`: what the server's
    /// own tokens carry.
    #[serde(default)]
    pub token: Option<TokenClaims>,
    /// The accounts to log in with: at least one member.
    #[serde(default)]
    pub accounts: Vec<Account>,
}

/// The path of each endpoint of the café's API, `None` where the server
/// has no such endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // Each is the endpoint of the same name in `Endpoint`.
pub struct Paths {
    pub login: Option<String>,
    pub me: Option<String>,
    pub orders: Option<String>,
    pub logout: Option<String>,
    pub refresh: Option<String>,
    pub users: Option<String>,
    pub change_role: Option<String>,
    pub logout_everywhere: Option<String>,
    pub change_password: Option<String>,
    pub my_logins: Option<String>,
    pub end_my_login: Option<String>,
    pub healthz: Option<String>,
}

impl Paths {
    /// The path of `endpoint`, if the server has it.
    pub fn get(&self, endpoint: Endpoint) -> Option<&str> {
        match endpoint {
            Endpoint::Login => &self.login,
            Endpoint::Me => &self.me,
            Endpoint::Orders => &self.orders,
            Endpoint::Logout => &self.logout,
            Endpoint::Refresh => &self.refresh,
            Endpoint::Users => &self.users,
            Endpoint::ChangeRole => &self.change_role,
            Endpoint::LogoutEverywhere => &self.logout_everywhere,
            Endpoint::ChangePassword => &self.change_password,
            Endpoint::MyLogins => &self.my_logins,
            Endpoint::EndMyLogin => &self.end_my_login,
            Endpoint::Healthz => &self.healthz,
        }
        .as_deref()
    }
}

/// The JSON field names of a login's body and answer and of a refresh.
/// Each one left out is the café's.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Fields {
    /// The user name in the login body.
    pub username: String,
    /// The password in the login body.
    pub password: String,
    /// The access token in a login or refresh answer: its presence is what
    /// says the server hands out tokens.
    pub access_token: String,
    /// The refresh token in an answer, and in a refresh body.
    pub refresh_token: String,
}

impl Default for Fields {
    fn default() -> Fields {
        Fields {
            username: "username".to_owned(),
            password: "password".to_owned(),
            access_token: "access_token".to_owned(),
            refresh_token: "refresh_token".to_owned(),
        }
    }
}

/// The cookies that carry a login (the TOML table `[credential]`). An
/// access token in the login's answer always travels back as
/// `Authorization: Bearer`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cookies {
    /// The cookie a session server sets at login.
    pub session_cookie: Option<String>,
    /// The cookie a hybrid server keeps the refresh token in.
    pub refresh_cookie: Option<String>,
}

/// What a key holder's forged access tokens carry (the TOML table
/// `[token]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenClaims {
    /// `iss`.
    pub issuer: Option<String>,
    /// `aud`.
    pub audience: Option<String>,
    /// The `typ` header; `None` for untyped tokens.
    #[serde(rename = "type")]
    pub typ: Option<String>,
}

/// An account on the server.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// The user name.
    pub name: String,
    /// Its password.
    pub password: String,
    /// What it may do.
    pub role: Role,
}

/// An account's role, as the lab uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// An ordinary user.
    Member,
    /// A user who may list users, change roles and log users out.
    Admin,
}

/// One endpoint of the café's API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `POST /login`.
    Login,
    /// `GET /me`.
    Me,
    /// `GET` and `POST /orders`.
    Orders,
    /// `POST /logout`.
    Logout,
    /// `POST /refresh`.
    Refresh,
    /// `GET /users`.
    Users,
    /// `POST /admin/users/{name}/role`.
    ChangeRole,
    /// `POST /admin/users/{name}/logout-everywhere`.
    LogoutEverywhere,
    /// `POST /me/password`.
    ChangePassword,
    /// `GET /me/logins`.
    MyLogins,
    /// `DELETE /me/logins/{id}`.
    EndMyLogin,
    /// `GET /healthz`.
    Healthz,
}

impl Endpoint {
    /// Every endpoint, in the order of the profile's `[paths]`.
    pub const ALL: [Endpoint; 12] = [
        Endpoint::Login,
        Endpoint::Me,
        Endpoint::Orders,
        Endpoint::Logout,
        Endpoint::Refresh,
        Endpoint::Users,
        Endpoint::ChangeRole,
        Endpoint::LogoutEverywhere,
        Endpoint::ChangePassword,
        Endpoint::MyLogins,
        Endpoint::EndMyLogin,
        Endpoint::Healthz,
    ];

    /// Its key in the profile's `[paths]`.
    pub fn key(self) -> &'static str {
        match self {
            Endpoint::Login => "login",
            Endpoint::Me => "me",
            Endpoint::Orders => "orders",
            Endpoint::Logout => "logout",
            Endpoint::Refresh => "refresh",
            Endpoint::Users => "users",
            Endpoint::ChangeRole => "change_role",
            Endpoint::LogoutEverywhere => "logout_everywhere",
            Endpoint::ChangePassword => "change_password",
            Endpoint::MyLogins => "my_logins",
            Endpoint::EndMyLogin => "end_my_login",
            Endpoint::Healthz => "healthz",
        }
    }

    /// Its path in the café, with its placeholder.
    pub fn cafe_path(self) -> &'static str {
        match self {
            Endpoint::Login => "/login",
            Endpoint::Me => "/me",
            Endpoint::Orders => "/orders",
            Endpoint::Logout => "/logout",
            Endpoint::Refresh => "/refresh",
            Endpoint::Users => "/users",
            Endpoint::ChangeRole => "/admin/users/{name}/role",
            Endpoint::LogoutEverywhere => "/admin/users/{name}/logout-everywhere",
            Endpoint::ChangePassword => "/me/password",
            Endpoint::MyLogins => "/me/logins",
            Endpoint::EndMyLogin => "/me/logins/{id}",
            Endpoint::Healthz => "/healthz",
        }
    }

    /// The placeholder its path must hold once, if any: `{name}` or `{id}`.
    pub fn placeholder(self) -> Option<&'static str> {
        match self {
            Endpoint::ChangeRole | Endpoint::LogoutEverywhere => Some("{name}"),
            Endpoint::EndMyLogin => Some("{id}"),
            _ => None,
        }
    }

    /// Whether `route` (a path without its query) is this endpoint's café
    /// path: `Some` with the segment that stands for the placeholder (if
    /// the path has one).
    fn matches(self, route: &str) -> Option<Option<&str>> {
        let mut theirs = route.split('/');
        let mut captured = None;
        for ours in self.cafe_path().split('/') {
            let segment = theirs.next()?;
            if ours.starts_with('{') {
                if segment.is_empty() {
                    return None;
                }
                captured = Some(segment);
            } else if ours != segment {
                return None;
            }
        }
        theirs.next().is_none().then_some(captured)
    }
}

/// A call to an endpoint the profile does not name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissingPath(pub Endpoint);

impl std::fmt::Display for MissingPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the profile names no {} path", self.0.key())
    }
}

impl std::error::Error for MissingPath {}

/// Why a profile was refused: where it came from (the file), and what is
/// wrong, naming the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileError {
    /// The file, or whatever else the profile came from.
    pub origin: String,
    /// What is wrong with it.
    pub problem: String,
}

impl std::fmt::Display for ProfileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.origin, self.problem)
    }
}

impl std::error::Error for ProfileError {}

static CAFE: LazyLock<Profile> = LazyLock::new(Profile::cafe);

impl Profile {
    /// The café's profile, every mode: the mechanism is learnt from the
    /// login's answer, so one profile names both the session cookie and the
    /// hybrid's refresh cookie.
    pub fn cafe() -> Profile {
        let path = |endpoint: Endpoint| Some(endpoint.cafe_path().to_owned());
        Profile {
            name: "café".to_owned(),
            target: "http://127.0.0.1:8080".to_owned(),
            paths: Paths {
                login: path(Endpoint::Login),
                me: path(Endpoint::Me),
                orders: path(Endpoint::Orders),
                logout: path(Endpoint::Logout),
                refresh: path(Endpoint::Refresh),
                users: path(Endpoint::Users),
                change_role: path(Endpoint::ChangeRole),
                logout_everywhere: path(Endpoint::LogoutEverywhere),
                change_password: path(Endpoint::ChangePassword),
                my_logins: path(Endpoint::MyLogins),
                end_my_login: path(Endpoint::EndMyLogin),
                healthz: path(Endpoint::Healthz),
            },
            fields: Fields::default(),
            credential: Cookies {
                session_cookie: Some(sessions::cookie::COOKIE_NAME.to_owned()),
                refresh_cookie: Some(cafe::mechanisms::jwt::REFRESH_COOKIE.to_owned()),
            },
            token: Some(TokenClaims {
                issuer: Some(jwt::tokens::ISSUER.to_owned()),
                audience: Some(jwt::tokens::TokenKind::Access.audience().to_owned()),
                typ: Some(jwt::tokens::TokenKind::Access.typ().to_owned()),
            }),
            accounts: cafe::users::DEMO_USERS
                .iter()
                .filter_map(|(name, password, role)| {
                    let role = match role {
                        cafe::users::Role::Member => Role::Member,
                        cafe::users::Role::Admin => Role::Admin,
                        cafe::users::Role::Banned => return None,
                    };
                    Some(Account {
                        name: (*name).to_owned(),
                        password: (*password).to_owned(),
                        role,
                    })
                })
                .collect(),
        }
    }

    /// [`Profile::cafe`], made once.
    pub fn cafe_ref() -> &'static Profile {
        &CAFE
    }

    /// Reads and checks the profile in the TOML file at `path`.
    pub fn load(path: &Path) -> Result<Profile, ProfileError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ProfileError {
            origin: origin.clone(),
            problem: format!("cannot read it: {e}"),
        })?;
        Profile::from_toml(&text, &origin)
    }

    /// Reads and checks a profile written in TOML; `origin` (a file name)
    /// begins every error.
    pub fn from_toml(text: &str, origin: &str) -> Result<Profile, ProfileError> {
        let refused = |problem: String| ProfileError {
            origin: origin.to_owned(),
            problem,
        };
        let profile: Profile =
            toml::from_str(text).map_err(|e| refused(e.to_string().trim_end().to_owned()))?;
        profile.check().map_err(refused)?;
        Ok(profile)
    }

    /// Whether the profile makes sense, or what is wrong, naming the key:
    /// the target is an `http://` or `https://` address; there is a login
    /// path and a member account; each path starts with `/` and holds a
    /// placeholder only where the café's does.
    pub fn check(&self) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("name: is empty".to_owned());
        }
        check_target(&self.target).map_err(|e| format!("target: {e}"))?;
        if self.paths.login.is_none() {
            return Err(
                "paths.login: missing: every client of the server logs in first, \
                 and the lab learns the mechanism from the login's answer"
                    .to_owned(),
            );
        }
        for endpoint in Endpoint::ALL {
            if let Some(path) = self.paths.get(endpoint) {
                check_path(endpoint, path)
                    .map_err(|e| format!("paths.{}: {path:?} {e}", endpoint.key()))?;
            }
        }
        for (key, name) in [
            ("username", &self.fields.username),
            ("password", &self.fields.password),
            ("access_token", &self.fields.access_token),
            ("refresh_token", &self.fields.refresh_token),
        ] {
            if name.is_empty() {
                return Err(format!("fields.{key}: is empty"));
            }
        }
        for (key, cookie) in [
            ("session_cookie", &self.credential.session_cookie),
            ("refresh_cookie", &self.credential.refresh_cookie),
        ] {
            if let Some(cookie) = cookie
                && !is_cookie_name(cookie)
            {
                return Err(format!("credential.{key}: {cookie:?} is not a cookie name"));
            }
        }
        if let Some(token) = &self.token {
            for (key, value) in [
                ("issuer", &token.issuer),
                ("audience", &token.audience),
                ("type", &token.typ),
            ] {
                if value.as_deref() == Some("") {
                    return Err(format!("token.{key}: is empty (leave it out instead)"));
                }
            }
        }
        self.check_accounts()
    }

    fn check_accounts(&self) -> Result<(), String> {
        if self.accounts.is_empty() {
            return Err(
                "accounts: the profile names no account; add an [[accounts]] table \
                 with name, password and role = \"member\""
                    .to_owned(),
            );
        }
        for (n, account) in self.accounts.iter().enumerate() {
            let which = format!("[[accounts]] number {}", n + 1);
            // The name goes into paths (`/admin/users/{name}/role`) as it is.
            if account.name.is_empty()
                || account
                    .name
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || "/?#%;".contains(c))
            {
                return Err(format!(
                    "{which}: name {:?} must be a non-empty name that fits in a URL path \
                     segment as it is",
                    account.name
                ));
            }
            if account.password.is_empty() {
                return Err(format!("{which} ({}): password is empty", account.name));
            }
            if self.accounts[..n].iter().any(|a| a.name == account.name) {
                return Err(format!("{which}: name {:?} is named twice", account.name));
            }
        }
        if self.member().is_none() {
            return Err(
                "accounts: no account has role = \"member\": the lab logs in as a \
                 member to learn the server's mechanism"
                    .to_owned(),
            );
        }
        Ok(())
    }

    /// The first account with the member role.
    pub fn member(&self) -> Option<&Account> {
        self.accounts.iter().find(|a| a.role == Role::Member)
    }

    /// The first account with the admin role.
    pub fn admin(&self) -> Option<&Account> {
        self.accounts.iter().find(|a| a.role == Role::Admin)
    }

    /// The account called `name`.
    pub fn account(&self, name: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.name == name)
    }

    /// The path of `endpoint`, or why there is none.
    pub fn path(&self, endpoint: Endpoint) -> Result<&str, MissingPath> {
        self.paths.get(endpoint).ok_or(MissingPath(endpoint))
    }

    /// `path`, written in the café's paths, as this server names it: a
    /// café endpoint becomes the profile's path (its placeholder filled
    /// with the same segment, its query or `;` parameters kept), and any
    /// other path is left as it is. An endpoint the profile does not name
    /// is an error.
    pub fn route(&self, path: &str) -> Result<String, MissingPath> {
        let end = path.find(['?', ';']).unwrap_or(path.len());
        let (route, rest) = path.split_at(end);
        for endpoint in Endpoint::ALL {
            let Some(captured) = endpoint.matches(route) else {
                continue;
            };
            let theirs = self.path(endpoint)?;
            let routed = match (endpoint.placeholder(), captured) {
                (Some(placeholder), Some(segment)) => theirs.replacen(placeholder, segment, 1),
                _ => theirs.to_owned(),
            };
            return Ok(routed + rest);
        }
        Ok(path.to_owned())
    }

    /// The body of a login as `user` with `password`, in the profile's
    /// field names.
    pub fn login_body(&self, user: &str, password: &str) -> Value {
        let mut body = Map::new();
        body.insert(self.fields.username.clone(), Value::from(user));
        body.insert(self.fields.password.clone(), Value::from(password));
        Value::Object(body)
    }

    /// `POST /login` (the café's path: [`Profile::route`] names it) with
    /// [`Profile::login_body`].
    pub fn login_call(&self, user: &str, password: &str) -> Call {
        Call::post(Endpoint::Login.cafe_path()).json(&self.login_body(user, password))
    }

    /// `POST /refresh` with `refresh_token`, the way `mechanism` takes it:
    /// the hybrid's in its cookie, the JWT mode's in a JSON body.
    pub fn refresh_call(&self, mechanism: Mechanism, refresh_token: &str) -> Call {
        let call = Call::post(Endpoint::Refresh.cafe_path());
        match (mechanism, &self.credential.refresh_cookie) {
            (Mechanism::Hybrid, Some(cookie)) => call.cookie(cookie, refresh_token),
            _ => {
                let mut body = Map::new();
                body.insert(
                    self.fields.refresh_token.clone(),
                    Value::from(refresh_token),
                );
                call.json(&Value::Object(body))
            }
        }
    }
}

/// Whether `target` is a base address a client can send to: `http://` or
/// `https://`, a host, and no user, query or fragment. The error says what
/// is wrong, for the caller to prefix with the key or flag.
pub fn check_target(target: &str) -> Result<(), String> {
    let url = url::Url::parse(target).map_err(|e| format!("{target:?} is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{target:?} is not an http:// or https:// address"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{target:?} names no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("{target:?} holds a user name or password"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "{target:?} has a query or fragment; give the base address only"
        ));
    }
    Ok(())
}

/// Whether `path` is a path for `endpoint`: starts with `/`, no query,
/// fragment or spaces, and its placeholder exactly once, no other.
fn check_path(endpoint: Endpoint, path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err("must start with /".to_owned());
    }
    if path
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '?' || c == '#')
    {
        return Err("must be a path alone: no query, fragment or spaces".to_owned());
    }
    let rest = match endpoint.placeholder() {
        Some(placeholder) => {
            if path.matches(placeholder).count() != 1 {
                return Err(format!("must hold {placeholder} once"));
            }
            path.replacen(placeholder, "", 1)
        }
        None => path.to_owned(),
    };
    if rest.contains(['{', '}']) {
        return Err(match endpoint.placeholder() {
            Some(placeholder) => format!("may hold no placeholder but {placeholder}"),
            None => "may hold no placeholder: this endpoint takes none".to_owned(),
        });
    }
    Ok(())
}

/// Whether `name` is a cookie name (an RFC 6265 token).
fn is_cookie_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_graphic() && !"()<>@,;:\\\"/[]?={}".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A profile with a login path and a member, and `extra`: top-level
    /// keys, more `[paths]`, or other tables.
    fn toml_of(extra: &str) -> String {
        let login = "[paths]\nlogin = \"/login\"\n";
        let (top, tables) = match extra.strip_prefix("[paths]\n") {
            Some(paths) => (String::new(), format!("{login}{paths}")),
            None if extra.starts_with('[') => (String::new(), format!("{login}{extra}")),
            None => (format!("{extra}\n"), login.to_owned()),
        };
        format!(
            "name = \"an app\"\ntarget = \"http://127.0.0.1:3000\"\n{top}{tables}\n\
             [[accounts]]\nname = \"alice\"\npassword = \"wonderland-42\"\nrole = \"member\"\n"
        )
    }

    fn refused(text: &str) -> String {
        Profile::from_toml(text, "app.toml")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn the_cafes_profile_file_is_the_cafes_profile() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cafe/profile.toml");
        assert_eq!(Profile::load(&path).unwrap(), Profile::cafe());
    }

    #[test]
    fn the_cafes_profile_passes_its_own_checks_and_routes_every_path_to_itself() {
        let cafe = Profile::cafe();
        cafe.check().unwrap();
        for path in [
            "/login",
            "/admin/users/alice/role",
            "/me/logins/abc",
            "/me?session=x",
            "/me;jsessionid=x",
            "/",
            "/.well-known/jwks.json",
            "/admin/users//role",
        ] {
            assert_eq!(cafe.route(path).unwrap(), path);
        }
    }

    #[test]
    fn a_path_is_routed_to_the_profiles_with_its_placeholder_and_query() {
        let profile = Profile::from_toml(
            &toml_of(
                "[paths]\nme = \"/api/whoami\"\nend_my_login = \"/api/devices/{id}/end\"\n\
                 logout_everywhere = \"/api/{name}/sessions\"",
            ),
            "app.toml",
        )
        .unwrap();
        assert_eq!(profile.route("/me?a=b").unwrap(), "/api/whoami?a=b");
        assert_eq!(profile.route("/me;x=1").unwrap(), "/api/whoami;x=1");
        assert_eq!(
            profile.route("/me/logins/L1").unwrap(),
            "/api/devices/L1/end"
        );
        assert_eq!(
            profile
                .route("/admin/users/alice/logout-everywhere")
                .unwrap(),
            "/api/alice/sessions"
        );
        assert_eq!(profile.route("/favicon.ico").unwrap(), "/favicon.ico");
        assert_eq!(
            profile.route("/orders").unwrap_err(),
            MissingPath(Endpoint::Orders)
        );
        assert_eq!(
            profile
                .route("/admin/users/alice/role")
                .unwrap_err()
                .to_string(),
            "the profile names no change_role path"
        );
    }

    #[test]
    fn bodies_use_the_profiles_field_names_and_cookies() {
        let profile = Profile::from_toml(
            &toml_of(
                "[fields]\nusername = \"email\"\nrefresh_token = \"rt\"\n\
                 [credential]\nrefresh_cookie = \"rc\"",
            ),
            "app.toml",
        )
        .unwrap();
        let login = profile.login_call("alice", "pw");
        assert_eq!(
            login.body.as_deref(),
            Some(r#"{"email":"alice","password":"pw"}"#)
        );
        let refresh = profile.refresh_call(Mechanism::Jwt, "R");
        assert_eq!(refresh.body.as_deref(), Some(r#"{"rt":"R"}"#));
        let refresh = profile.refresh_call(Mechanism::Hybrid, "R");
        assert!(
            refresh
                .headers
                .contains(&("cookie".to_owned(), "rc=R".to_owned()))
        );
    }

    #[test]
    fn an_unknown_key_is_refused_naming_it_and_the_file() {
        let error = refused(&toml_of("[paths]\nlogn = \"/login\""));
        assert!(error.starts_with("app.toml: "), "{error}");
        assert!(error.contains("unknown field `logn`"), "{error}");
        let error = refused(&toml_of("colour = \"blue\""));
        assert!(error.contains("unknown field `colour`"), "{error}");
    }

    #[test]
    fn bad_values_are_refused_naming_the_key() {
        let cases = [
            ("target = \"ftp://x\"", "target: \"ftp://x\" is not an http"),
            ("[paths]\nme = \"me\"", "paths.me: \"me\" must start with /"),
            (
                "[paths]\nme = \"/me?x=1\"",
                "paths.me: \"/me?x=1\" must be a path alone",
            ),
            (
                "[paths]\nchange_role = \"/users/role\"",
                "paths.change_role: \"/users/role\" must hold {name} once",
            ),
            (
                "[paths]\nme = \"/users/{name}\"",
                "paths.me: \"/users/{name}\" may hold no placeholder",
            ),
            (
                "[paths]\nend_my_login = \"/logins/{id}/{name}\"",
                "paths.end_my_login: \"/logins/{id}/{name}\" may hold no placeholder but {id}",
            ),
            (
                "[credential]\nsession_cookie = \"a b\"",
                "credential.session_cookie: \"a b\" is not a cookie name",
            ),
            ("[token]\ntype = \"\"", "token.type: is empty"),
        ];
        for (extra, expected) in cases {
            let text = match extra.strip_prefix("target = ") {
                // The target line replaces the good one.
                Some(target) => toml_of("").replace("\"http://127.0.0.1:3000\"", target),
                None => toml_of(extra),
            };
            let error = refused(&text);
            assert!(error.contains(expected), "{extra}: {error}");
        }
    }

    #[test]
    fn a_profile_needs_a_login_path_and_a_member_account() {
        let no_login = toml_of("").replace("login = \"/login\"\n", "");
        assert!(
            refused(&no_login).contains("paths.login: missing"),
            "{}",
            refused(&no_login)
        );
        let none = "name = \"an app\"\ntarget = \"http://127.0.0.1:3000\"\n\
                    [paths]\nlogin = \"/login\"\n";
        assert!(refused(none).contains("accounts: the profile names no account"));
        let admin_only =
            format!("{none}[[accounts]]\nname = \"admin\"\npassword = \"p\"\nrole = \"admin\"\n");
        assert!(refused(&admin_only).contains("no account has role = \"member\""));
        let banned =
            format!("{none}[[accounts]]\nname = \"bob\"\npassword = \"p\"\nrole = \"banned\"\n");
        assert!(refused(&banned).contains("unknown variant `banned`"));
    }
}
