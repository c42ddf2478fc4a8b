//! The conformance checks: what every server speaking the café's API must
//! do, checked over HTTP against a running server, as data like the
//! attacks.
//!
//! An attack asks "can someone get in who should not?"; a check asks "does
//! the server keep its side of the contract?": the right user after a
//! login, a 401 that says how to authenticate, the admin routes for admins,
//! each user's own orders, a logout that tells the browser to forget, JSON
//! errors with the status that says what went wrong. Each check needs only
//! what any client has (the profile's accounts), never the server's key or
//! clock, and none repeats a lab attack (`attack_lab::catalogue()`).
//!
//! Checks are written in the café's paths and names, like the attacks: the
//! lab's [`Profile`](attack_lab::Profile) routes each call to the server's
//! own path. A check that needs an endpoint or an account the profile does
//! not name is skipped, saying which ([`Check::needs`]).
//!
//! A check that changes an account (a role, a ban) gives the member back
//! her role before it returns, whatever happened in between, so checks and
//! attacks can run one after another against the same server.

use attack_lab::{Applies, Call, Credential, Endpoint, Lab, LabError, Mechanism, Reply, Targets};
use cafe_client::profile::{MissingPath, Role};
use serde_json::{Value, json};
use std::future::Future;
use std::pin::Pin;

/// How a check ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckOutcome {
    /// The property holds: what the server answered.
    Holds(String),
    /// It does not: what the server answered instead. Some properties fail
    /// by design in some modes (a self-contained token keeps its role until
    /// it expires); the property's text says so, and the tests list them.
    Fails(String),
    /// The check means nothing against this server, or the profile lacks
    /// what it needs: why.
    Skipped(String),
}

/// A check's outcome, or why there is none (the lab could not talk to the
/// server, or a step the check relies on, such as a login, failed).
pub type CheckResult = Result<CheckOutcome, LabError>;
/// A check under way.
pub type Checking<'a> = Pin<Box<dyn Future<Output = CheckResult> + Send + 'a>>;
/// The code of one check.
pub type CheckRun = for<'a> fn(&'a Lab) -> Checking<'a>;

/// What a check needs the profile to name, besides a login path and a
/// member account (which every lab has).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// The path of an endpoint.
    Path(Endpoint),
    /// An admin account.
    Admin,
}

impl Need {
    /// Why the lab's profile does not meet this need, if it does not.
    pub fn unmet(self, lab: &Lab) -> Option<String> {
        let profile = lab.profile();
        match self {
            Need::Path(endpoint) => profile.path(endpoint).err().map(|e| e.to_string()),
            Need::Admin => profile
                .admin()
                .is_none()
                .then(|| "the profile names no admin account".to_owned()),
        }
    }
}

/// One property, as data: what must hold, the rule behind it, the servers
/// it means anything against, what it needs the profile to name, and the
/// code that asks the server and judges the answers.
#[derive(Clone, Copy)]
pub struct Check {
    /// Its name on the command line and in the table.
    pub name: &'static str,
    /// What must hold, with the statuses the café gives.
    pub property: &'static str,
    /// Where the rule comes from.
    pub source: &'static str,
    /// Which servers it means anything against.
    pub targets: Targets,
    /// The endpoints and accounts it uses.
    pub needs: &'static [Need],
    /// The check itself.
    pub run: CheckRun,
}

/// Every check, in the order `attack-lab conformance` runs them.
pub fn checks() -> Vec<Check> {
    CHECKS.to_vec()
}

/// The check called `name`.
pub fn find(name: &str) -> Option<Check> {
    CHECKS.iter().find(|check| check.name == name).copied()
}

/// Runs `check` against the lab's server, or says why it does not apply,
/// or what the profile lacks for it. A server error (a 5xx other than
/// 503) is an answer no property allows: it makes the check fail, where it
/// would stop an attack.
pub async fn run_check(lab: &Lab, check: &Check) -> CheckResult {
    if let Applies::No(why) = check.targets.applies(&lab.server()) {
        return Ok(CheckOutcome::Skipped(format!("not applicable: {why}")));
    }
    if let Some(unmet) = check.needs.iter().find_map(|need| need.unmet(lab)) {
        return Ok(CheckOutcome::Skipped(unmet));
    }
    lab.take_server_error();
    match (check.run)(lab).await {
        Err(error) if lab.take_server_error().is_some() => Ok(CheckOutcome::Fails(error)),
        other => other,
    }
}

/// The text for `conformance --list`: every check's name and property.
pub fn listing() -> String {
    CHECKS
        .iter()
        .map(|check| format!("{:<42} {}\n", check.name, check.property))
        .collect()
}

const CHECKS: &[Check] = &[
    Check {
        name: "login-returns-the-user",
        property: "a login answers 200 with the user's name and role, and GET /me with the \
            credential it handed out answers 200 {\"name\",\"role\"}, for a member and an admin",
        source: "the café's API (book: The café app)",
        targets: Targets::Every,
        needs: &[Need::Path(Endpoint::Me)],
        run: |lab| Box::pin(finish(login_returns_the_user(lab))),
    },
    Check {
        name: "refused-login-hands-out-nothing",
        property: "a wrong password and an unknown name each get 401, and hand out nothing \
            that works: every cookie the answer leaves in a browser, and any token in its \
            body, replayed to /me, get 401",
        source: "the café's API (a credential only for a login that succeeds)",
        targets: Targets::Every,
        needs: &[Need::Path(Endpoint::Me)],
        run: |lab| Box::pin(finish(refused_login_hands_out_nothing(lab))),
    },
    Check {
        name: "me-without-a-credential-is-401",
        property: "GET /me without a credential is 401 with a WWW-Authenticate challenge that \
            says how to authenticate; a token server's is `Bearer` with no error code",
        source: "RFC 9110 §15.5.2, §11.6.1; RFC 6750 §3, §3.1",
        targets: Targets::Every,
        needs: &[Need::Path(Endpoint::Me)],
        run: |lab| Box::pin(finish(me_without_a_credential(lab))),
    },
    Check {
        name: "garbage-credential-is-401",
        property: "a credential that is no credential (an empty or malformed bearer token, \
            Basic with a real password, a garbled session cookie) is 401 with a challenge, \
            never a 500 and never a way in; a token server's says `error=\"invalid_token\"` \
            for a token it cannot read",
        source: "RFC 9110 §15.5.2; RFC 6750 §3.1; ASVS 5.0 16.5.3 (fail securely)",
        targets: Targets::Every,
        needs: &[Need::Path(Endpoint::Me)],
        run: |lab| Box::pin(finish(garbage_credential(lab))),
    },
    Check {
        name: "each-login-gets-its-own-credential",
        property: "two logins of the same user get two different credentials (session IDs, or \
            access and refresh tokens, access tokens differing in more than their time claims: \
            a token that names only the user and the time is every login's token)",
        source: "ASVS 5.0 7.2.3 (session tokens are unique); RFC 9068 §2.2 (an access token's \
            `jti` is required), RFC 7519 §4.1.7 (a `jti` no other token shares)",
        targets: Targets::Every,
        needs: &[],
        run: |lab| Box::pin(finish(each_login_gets_its_own_credential(lab))),
    },
    Check {
        name: "user-list-is-admin-only",
        property: "GET /users is 401 without a login, 403 for a member, and 200 for an admin \
            with every account's name and role, sorted by name",
        source: "ASVS 5.0 8.2.1; RFC 9110 §15.5.2, §15.5.4",
        targets: Targets::Every,
        needs: &[Need::Path(Endpoint::Users), Need::Admin],
        run: |lab| Box::pin(finish(user_list_is_admin_only(lab))),
    },
    Check {
        name: "members-cannot-use-admin-endpoints",
        property: "a member's role change (promoting herself) and logout-everywhere are 403, \
            and her role stays member",
        source: "ASVS 5.0 8.2.1",
        targets: Targets::Every,
        needs: &[
            Need::Path(Endpoint::ChangeRole),
            Need::Path(Endpoint::LogoutEverywhere),
            Need::Path(Endpoint::Me),
            Need::Admin,
        ],
        run: |lab| Box::pin(finish(members_cannot_use_admin_endpoints(lab))),
    },
    Check {
        name: "admin-changes-a-role",
        property: "an admin's role change answers 200 {\"name\",\"role\"}; 404 for a user \
            nobody has, 422 for a role that does not exist",
        source: "the café's API (book: The café app); RFC 9110 §15.5.5, §15.5.21",
        targets: Targets::Every,
        needs: &[Need::Path(Endpoint::ChangeRole), Need::Admin],
        run: |lab| Box::pin(finish(admin_changes_a_role(lab))),
    },
    Check {
        name: "demoted-admin-loses-admin-routes-at-once",
        property: "an admin demoted to member is refused (403, or 401) on the admin routes on \
            her very next request, with the credential she already holds, whatever it says",
        source: "ASVS 5.0 8.3.2, 8.2.1",
        targets: Targets::Every,
        needs: &[
            Need::Path(Endpoint::ChangeRole),
            Need::Path(Endpoint::Users),
            Need::Admin,
        ],
        run: |lab| Box::pin(finish(demoted_admin_loses_admin_routes(lab))),
    },
    Check {
        name: "role-change-seen-on-next-request",
        property: "a role change holds from the user's very next request: after a demotion, \
            GET /me with the credential she already holds says member (or refuses it). A \
            self-contained token carries the role it was issued with until it expires or is \
            refreshed, so plain JWT fails this by design (the admin routes re-read the account: \
            demoted-admin-loses-admin-routes-at-once)",
        source: "ASVS 5.0 8.3.2",
        targets: Targets::Every,
        needs: &[
            Need::Path(Endpoint::ChangeRole),
            Need::Path(Endpoint::Users),
            Need::Path(Endpoint::Me),
            Need::Admin,
        ],
        run: |lab| Box::pin(finish(role_change_seen_on_next_request(lab))),
    },
    Check {
        name: "banned-user-cannot-log-in",
        property: "a banned user's login with the right password is 403, with a wrong one \
            still 401 (the ban is told only to whoever knows the password), and hands out no \
            credential",
        source: "ASVS 5.0 7.4.2 (a disabled account keeps no session, so it gets no new one), \
            6.3.8 (a wrong password tells nothing more)",
        targets: Targets::Every,
        needs: &[Need::Path(Endpoint::ChangeRole), Need::Admin],
        run: |lab| Box::pin(finish(banned_user_cannot_log_in(lab))),
    },
    Check {
        name: "orders-are-per-user",
        property: "POST /orders is 201 {\"id\",\"item\",\"by\"}; GET /orders lists the caller's \
            orders and nobody else's; both are 401 without a login",
        source: "ASVS 5.0 8.2.2",
        targets: Targets::Every,
        needs: &[Need::Path(Endpoint::Orders), Need::Admin],
        run: |lab| Box::pin(finish(orders_are_per_user(lab))),
    },
    Check {
        name: "unreasonable-order-is-422",
        property: "an order whose item is empty, blank, over 100 characters, holds a control \
            character, is not text, or is missing is 422, and nothing is ordered",
        source: "ASVS 5.0 2.2.1; RFC 9110 §15.5.21",
        targets: Targets::Every,
        needs: &[Need::Path(Endpoint::Orders)],
        run: |lab| Box::pin(finish(unreasonable_order_is_422(lab))),
    },
    Check {
        name: "logout-clears-the-browser",
        property: "the book's recommendation: POST /logout answers 204 with `Clear-Site-Data: \
            \"cache\", \"cookies\", \"storage\"`, so the browser forgets the credential \
            wherever the page kept it (removing the session cookie alone leaves what a page \
            stored)",
        source: "OWASP Session Management Cheat Sheet, Web Content Caching and \
            Clear-Site-Data (return it at logout); ASVS 5.0 14.3.1 asks that authenticated data \
            be cleared from client storage and says Clear-Site-Data may help",
        targets: Targets::Every,
        needs: &[Need::Path(Endpoint::Logout)],
        run: |lab| Box::pin(finish(logout_clears_the_browser(lab))),
    },
    Check {
        name: "second-logout-is-harmless",
        property: "logging out again with the same credential answers 204 (or 401), and the \
            user's other login still works",
        source: "the café's API (POST /logout: 204 for anyone); ASVS 5.0 7.4.1",
        targets: Targets::Every,
        needs: &[Need::Path(Endpoint::Logout), Need::Path(Endpoint::Me)],
        run: |lab| Box::pin(finish(second_logout_is_harmless(lab))),
    },
    Check {
        name: "bodies-are-json",
        property: "a login sent as a form, or with no Content-Type, is 415; broken JSON is 400; \
            JSON of the wrong shape is 422",
        source: "RFC 9110 §15.5.16, §15.5.1, §15.5.21",
        targets: Targets::Every,
        needs: &[],
        run: |lab| Box::pin(finish(bodies_are_json(lab))),
    },
    Check {
        name: "each-endpoint-takes-only-its-method",
        property: "logged in (so a 401 is never the reason), GET /logout and GET /login are \
            405 with `Allow: POST`, and POST /me is 405 with an Allow that names GET",
        source: "RFC 9110 §15.5.6; ASVS 5.0 4.1.4",
        targets: Targets::Every,
        needs: &[Need::Path(Endpoint::Logout), Need::Path(Endpoint::Me)],
        run: |lab| Box::pin(finish(each_endpoint_takes_only_its_method(lab))),
    },
    Check {
        name: "errors-are-json",
        property: "every error (401, 404, 405, 415, 422) is `application/json` with an \
            `\"error\"` message, so a client reads one shape",
        source: "the café's API (every error is JSON, so a client reads one shape)",
        targets: Targets::Every,
        needs: &[
            Need::Path(Endpoint::Me),
            Need::Path(Endpoint::Logout),
            Need::Path(Endpoint::Orders),
        ],
        run: |lab| Box::pin(finish(errors_are_json(lab))),
    },
];

/// Why a check stopped before a verdict: the lab could not talk to the
/// server, or a step failed.
struct Halt(LabError);

impl From<LabError> for Halt {
    fn from(error: LabError) -> Halt {
        Halt(error)
    }
}

impl From<MissingPath> for Halt {
    fn from(missing: MissingPath) -> Halt {
        Halt(missing.to_string())
    }
}

type Checked = Result<CheckOutcome, Halt>;

async fn finish(check: impl Future<Output = Checked>) -> CheckResult {
    check.await.map_err(|Halt(error)| error)
}

/// What a check saw: the answers that were right, and those that were not.
#[derive(Default)]
struct Findings {
    held: Vec<String>,
    failed: Vec<String>,
}

impl Findings {
    /// Records whether `reply` to `what` has one of the `expected` statuses.
    fn status(&mut self, what: &str, reply: &Reply, expected: &[u16]) -> bool {
        if expected.contains(&reply.status) {
            self.held.push(format!("{what}: {}", reply.status));
            true
        } else {
            let expected: Vec<String> = expected.iter().map(u16::to_string).collect();
            self.failed.push(format!(
                "{what}: {} (expected {})",
                reply.summary(),
                expected.join(" or ")
            ));
            false
        }
    }

    /// Records `held` if `ok`, otherwise `failed`.
    fn that(&mut self, ok: bool, held: impl Into<String>, failed: impl Into<String>) -> bool {
        if ok {
            self.held.push(held.into());
        } else {
            self.failed.push(failed.into());
        }
        ok
    }

    fn outcome(self) -> Checked {
        Ok(if self.failed.is_empty() {
            CheckOutcome::Holds(self.held.join("; "))
        } else {
            CheckOutcome::Fails(self.failed.join("; "))
        })
    }
}

/// The café's path of `endpoint`, which the lab routes to the server's.
fn path(endpoint: Endpoint) -> &'static str {
    endpoint.cafe_path()
}

/// The café's path of `endpoint` for the user `name`.
fn path_for(endpoint: Endpoint, name: &str) -> String {
    endpoint.cafe_path().replace("{name}", name)
}

/// An account's role, as the API writes it.
fn role_name(role: Role) -> &'static str {
    match role {
        Role::Member => "member",
        Role::Admin => "admin",
    }
}

/// The profile's member (the lab's own login) and its password.
fn member(lab: &Lab) -> (String, String) {
    let account = lab.member();
    (account.name.clone(), account.password.clone())
}

/// The profile's admin.
fn admin(lab: &Lab) -> Result<String, Halt> {
    Ok(lab.admin()?.name.clone())
}

/// A user name nobody has, different on every call.
fn nobody() -> Result<String, LabError> {
    let suffix = jwt::tokens::random_id().map_err(|e| e.to_string())?;
    Ok(format!("nobody-{suffix}"))
}

/// The `WWW-Authenticate` challenge of `reply`, if any.
fn challenge(reply: &Reply) -> Option<&str> {
    reply.header("www-authenticate")
}

/// Whether `reply` hands out a credential, by the profile's names: its session or
/// refresh cookie set to a value (a removal, empty or `Max-Age=0`, hands
/// out nothing, and a cookie the profile does not name is no credential of
/// its), or a token by the profile's field names.
fn hands_out_something(lab: &Lab, reply: &Reply) -> bool {
    let profile = lab.profile();
    let (fields, cookies) = (&profile.fields, &profile.credential);
    let sets_a_credential = [&cookies.session_cookie, &cookies.refresh_cookie]
        .into_iter()
        .flatten()
        .any(|name| {
            let removal = reply.set_cookie(name).is_some_and(|set| {
                set.split(';')
                    .any(|part| part.trim().eq_ignore_ascii_case("max-age=0"))
            });
            reply.cookie_value(name).is_some() && !removal
        });
    sets_a_credential
        || [&fields.access_token, &fields.refresh_token]
            .iter()
            .any(|field| reply.body.get(field.as_str()).is_some())
}

/// Whether `reply`'s body is `application/json` with a string `error`.
fn is_json_error(reply: &Reply) -> bool {
    let json = reply
        .header("content-type")
        .is_some_and(|kind| kind.starts_with("application/json"));
    json && reply.body["error"].is_string()
}

/// Gives the member back her role after `body`, whatever it did.
async fn then_member_again(lab: &Lab, body: impl Future<Output = Checked>) -> Checked {
    let outcome = body.await;
    lab.set_role(&lab.member().name, role_name(Role::Member))
        .await?;
    outcome
}

async fn login_returns_the_user(lab: &Lab) -> Checked {
    let mut findings = Findings::default();
    for account in &lab.profile().accounts {
        let (user, role) = (&account.name, role_name(account.role));
        let reply = lab.send(lab.login_call(user, &account.password)).await?;
        if !findings.status(&format!("{user}'s login"), &reply, &[200]) {
            continue;
        }
        let expected = json!({ "name": user, "role": role });
        findings.that(
            reply.body["user"] == expected,
            format!("the login names {user} ({role})"),
            format!("the login's user is {}, not {expected}", reply.body["user"]),
        );
        let login = lab.log_in(user).await?;
        let me = lab
            .send(login.attach(Call::get(path(Endpoint::Me))))
            .await?;
        if findings.status(&format!("GET /me as {user}"), &me, &[200]) {
            findings.that(
                me.body == expected,
                format!("/me says {expected}"),
                format!("/me says {}, not {expected}", me.text),
            );
        }
    }
    findings.outcome()
}

async fn refused_login_hands_out_nothing(lab: &Lab) -> Checked {
    let mut findings = Findings::default();
    let (user, password) = member(lab);
    let tries = [
        (
            "a wrong password",
            lab.login_call(&user, &format!("{password}-not")),
        ),
        ("an unknown name", lab.login_call(&nobody()?, &password)),
    ];
    for (what, call) in tries {
        let reply = lab.send(call).await?;
        // Whether the 401 carries a challenge is
        // `me-without-a-credential-is-401`'s business, not this check's.
        findings.status(what, &reply, &[401]);
        // Judged by effect, whatever the names: what the answer hands out
        // is what gets a client in.
        let replays = replays_of(lab, &reply);
        if replays.is_empty() {
            findings.that(true, format!("{what}: no cookie left set, no token"), "");
        }
        for (credential, call) in replays {
            let me = lab.send(call).await?;
            findings.status(&format!("{what}: {credential}"), &me, &[401]);
        }
    }
    findings.outcome()
}

/// What a refused login's `reply` hands out, each with the request that
/// presents it: the cookies a browser keeps after applying every
/// `Set-Cookie` in order (the last of a name wins; an empty value or
/// `Max-Age` of 0 or less removes it), all in one `Cookie` header to
/// `GET /me`; an access token by the profile's field name as `Bearer` to
/// `GET /me`; a refresh token to `/refresh`.
fn replays_of(lab: &Lab, reply: &Reply) -> Vec<(String, Call)> {
    let mut jar: Vec<(String, String)> = Vec::new();
    for set in reply.set_cookies() {
        let mut parts = set.split(';');
        let Some((name, value)) = parts.next().and_then(|pair| pair.split_once('=')) else {
            continue;
        };
        let (name, value) = (name.trim(), value.trim());
        let removed = value.is_empty()
            || parts.any(|attribute| {
                attribute
                    .split_once('=')
                    .filter(|(key, _)| key.trim().eq_ignore_ascii_case("max-age"))
                    .and_then(|(_, age)| age.trim().parse::<i64>().ok())
                    .is_some_and(|age| age <= 0)
            });
        jar.retain(|(kept, _)| kept != name);
        if !removed {
            jar.push((name.to_owned(), value.to_owned()));
        }
    }
    let me = || Call::get(path(Endpoint::Me));
    let mut replays = Vec::new();
    if !jar.is_empty() {
        let names: Vec<&str> = jar.iter().map(|(name, _)| name.as_str()).collect();
        let header: Vec<String> = jar.iter().map(|(n, v)| format!("{n}={v}")).collect();
        replays.push((
            format!("GET /me with the cookies it set ({})", names.join(", ")),
            me().header("cookie", &header.join("; ")),
        ));
    }
    let fields = &lab.profile().fields;
    if let Some(token) = reply.json_str(&fields.access_token) {
        let field = &fields.access_token;
        replays.push((format!("GET /me with its {field:?}"), me().bearer(&token)));
    }
    if let Some(token) = reply.json_str(&fields.refresh_token) {
        let field = &fields.refresh_token;
        replays.push((
            format!("a refresh with its {field:?}"),
            lab.refresh_call(&token),
        ));
    }
    replays
}

async fn me_without_a_credential(lab: &Lab) -> Checked {
    let mut findings = Findings::default();
    let reply = lab.send(Call::get(path(Endpoint::Me))).await?;
    findings.status("GET /me without a credential", &reply, &[401]);
    match challenge(&reply) {
        None => {
            findings.that(false, "", "a 401 without a challenge");
        }
        Some(challenge) if lab.server().uses_tokens() => {
            findings.that(
                challenge.starts_with("Bearer") && !challenge.contains("error="),
                format!("WWW-Authenticate: {challenge}"),
                format!("WWW-Authenticate: {challenge} (expected Bearer, with no error code)"),
            );
        }
        Some(challenge) => {
            findings.that(true, format!("WWW-Authenticate: {challenge}"), "");
        }
    }
    findings.outcome()
}

/// `GET /me` with `authorization` as its `Authorization` header.
fn me_authorized_by(authorization: &str) -> Call {
    Call::get(path(Endpoint::Me)).header("authorization", authorization)
}

async fn garbage_credential(lab: &Lab) -> Checked {
    let mut findings = Findings::default();
    let (user, password) = member(lab);
    let basic = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{user}:{password}"),
    );
    // What was sent, the call, and whether it is a token the server cannot
    // read (which a token server answers with `invalid_token`).
    let mut tries: Vec<(String, Call, bool)> = vec![
        (
            "`Bearer` and no token".into(),
            me_authorized_by("Bearer"),
            false,
        ),
        (
            "`Bearer a.b.c`".into(),
            me_authorized_by("Bearer a.b.c"),
            true,
        ),
        (
            "`Bearer not-a-token`".into(),
            me_authorized_by("Bearer not-a-token"),
            true,
        ),
        (
            "Basic with the real password".into(),
            me_authorized_by(&format!("Basic {basic}")),
            false,
        ),
    ];
    let session_cookie = lab.profile().credential.session_cookie.as_deref();
    if let (Mechanism::Sessions, Some(name)) = (lab.server().mechanism, session_cookie) {
        for value in ["garbage", "", "\"quoted\"; x"] {
            let call = Call::get(path(Endpoint::Me)).header("cookie", &format!("{name}={value}"));
            tries.push((format!("cookie `{name}={value}`"), call, false));
        }
        let call = Call::get(path(Endpoint::Me)).header("cookie", ";;;==;");
        tries.push(("cookie `;;;==;`".into(), call, false));
    }
    for (what, call, unreadable_token) in tries {
        // A server error fails this try, and the rest still run.
        let reply = match lab.send(call).await {
            Err(error) if lab.take_server_error().is_some() => {
                findings.that(false, "", format!("{what}: {error}"));
                continue;
            }
            reply => reply?,
        };
        findings.status(&what, &reply, &[401]);
        let expected_error = unreadable_token && lab.server().uses_tokens();
        match challenge(&reply) {
            Some(challenge) if expected_error => {
                findings.that(
                    challenge.contains("error=\"invalid_token\""),
                    format!("{what}: {challenge}"),
                    format!("{what}: {challenge} (expected error=\"invalid_token\")"),
                );
            }
            Some(_) => {}
            None => {
                findings.that(false, "", format!("{what}: a 401 without a challenge"));
            }
        }
    }
    findings.outcome()
}

async fn each_login_gets_its_own_credential(lab: &Lab) -> Checked {
    let mut findings = Findings::default();
    let user = lab.member().name.clone();
    let first = lab.log_in(&user).await?;
    let second = lab.log_in(&user).await?;
    match (&first.credential, &second.credential) {
        (Credential::Cookie(a), Credential::Cookie(b)) => {
            findings.that(
                a != b,
                "two logins, two session IDs",
                "two logins got the same session ID",
            );
        }
        (
            Credential::Bearer {
                access: a,
                refresh: r,
            },
            Credential::Bearer {
                access: b,
                refresh: s,
            },
        ) => {
            // Compared without their time claims, which a second's tick
            // changes: a token that names nothing but the user and the
            // time would pass or fail by whether both logins fell in one
            // second.
            findings.that(
                without_time_claims(a) != without_time_claims(b),
                "two access tokens",
                "two logins got the same access token, but for its time claims",
            );
            // A server whose profile names no refresh path may hand out
            // no refresh token at all.
            if !r.is_empty() || !s.is_empty() {
                findings.that(
                    r != s,
                    "two refresh tokens",
                    "two logins got the same refresh token",
                );
            }
        }
        _ => {
            return Err(Halt(
                "two logins handed out two kinds of credential".to_owned(),
            ));
        }
    }
    findings.outcome()
}

/// `token` with the time claims (`iat`, `nbf`, `exp`) of a JWT's payload
/// left out; any other token as it is.
fn without_time_claims(token: &str) -> String {
    match jwt::anatomy::decode_unverified(token) {
        Ok((header, Value::Object(mut claims))) => {
            for time in ["iat", "nbf", "exp"] {
                claims.remove(time);
            }
            format!("{header}.{}", Value::Object(claims))
        }
        _ => token.to_owned(),
    }
}

async fn user_list_is_admin_only(lab: &Lab) -> Checked {
    let mut findings = Findings::default();
    let users = || Call::get(path(Endpoint::Users));
    let anonymous = lab.send(users()).await?;
    findings.status("GET /users without a login", &anonymous, &[401]);
    let member = lab.log_in(&lab.member().name).await?;
    let as_member = lab.send(member.attach(users())).await?;
    findings.status("as a member", &as_member, &[403]);
    let admin = lab.log_in(&admin(lab)?).await?;
    let as_admin = lab.send(admin.attach(users())).await?;
    if findings.status("as an admin", &as_admin, &[200]) {
        let listed: Vec<Value> = as_admin.body.as_array().cloned().unwrap_or_default();
        let names: Vec<&str> = listed.iter().filter_map(|u| u["name"].as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        findings.that(
            names == sorted && !names.is_empty(),
            format!("{} accounts, sorted by name", names.len()),
            format!("not a list sorted by name: {}", as_admin.text),
        );
        let every_account = lab.profile().accounts.iter().all(|account| {
            listed.contains(&json!({ "name": account.name, "role": role_name(account.role) }))
        });
        findings.that(
            every_account,
            "each account with its role",
            format!(
                "the profile's accounts are not listed with their roles: {}",
                as_admin.text
            ),
        );
    }
    findings.outcome()
}

async fn members_cannot_use_admin_endpoints(lab: &Lab) -> Checked {
    let (user, admin) = (lab.member().name.clone(), admin(lab)?);
    let member = lab.log_in(&user).await?;
    let body = async {
        let mut findings = Findings::default();
        let promote = Call::post(&path_for(Endpoint::ChangeRole, &user))
            .json(&json!({ "role": role_name(Role::Admin) }));
        let promoted = lab.send(member.attach(promote)).await?;
        findings.status("a member promoting herself", &promoted, &[403]);
        let everywhere = Call::post(&path_for(Endpoint::LogoutEverywhere, &admin));
        let ended = lab.send(member.attach(everywhere)).await?;
        findings.status("a member logging the admin out everywhere", &ended, &[403]);
        let me = lab
            .send(member.attach(Call::get(path(Endpoint::Me))))
            .await?;
        findings.that(
            me.body["role"] == role_name(Role::Member),
            "her role stays member",
            format!("/me now says {}", me.text),
        );
        findings.outcome()
    };
    then_member_again(lab, body).await
}

async fn admin_changes_a_role(lab: &Lab) -> Checked {
    let user = lab.member().name.clone();
    let admin = lab.log_in(&admin(lab)?).await?;
    let body = async {
        let mut findings = Findings::default();
        let change = |user: &str, role: &str| {
            admin.attach(
                Call::post(&path_for(Endpoint::ChangeRole, user)).json(&json!({ "role": role })),
            )
        };
        let promoted = lab.send(change(&user, role_name(Role::Admin))).await?;
        if findings.status("promoting the member", &promoted, &[200]) {
            let expected = json!({ "name": user, "role": role_name(Role::Admin) });
            findings.that(
                promoted.body == expected,
                format!("answers {expected}"),
                format!("answers {}, not {expected}", promoted.text),
            );
        }
        let unknown = lab.send(change(&nobody()?, role_name(Role::Admin))).await?;
        findings.status("a user nobody has", &unknown, &[404]);
        let no_such_role = lab.send(change(&user, "owner")).await?;
        findings.status("the role `owner`", &no_such_role, &[422]);
        findings.outcome()
    };
    then_member_again(lab, body).await
}

/// Makes the member an admin, logs her in, and demotes her: her login from
/// when she was an admin.
async fn demoted_admins_login(lab: &Lab) -> Result<attack_lab::Login, Halt> {
    let user = lab.member().name.clone();
    lab.set_role(&user, role_name(Role::Admin)).await?;
    let login = lab.log_in(&user).await?;
    let users = lab
        .send(login.attach(Call::get(path(Endpoint::Users))))
        .await?;
    if users.status != 200 {
        return Err(Halt(format!(
            "{user}, promoted, could not list the users: {}",
            users.summary()
        )));
    }
    lab.set_role(&user, role_name(Role::Member)).await?;
    Ok(login)
}

async fn demoted_admin_loses_admin_routes(lab: &Lab) -> Checked {
    let body = async {
        let login = demoted_admins_login(lab).await?;
        let mut findings = Findings::default();
        let users = lab
            .send(login.attach(Call::get(path(Endpoint::Users))))
            .await?;
        findings.status("GET /users once demoted", &users, &[403, 401]);
        let promote = Call::post(&path_for(Endpoint::ChangeRole, &login.user))
            .json(&json!({ "role": role_name(Role::Admin) }));
        let again = lab.send(login.attach(promote)).await?;
        findings.status("promoting herself back", &again, &[403, 401]);
        findings.outcome()
    };
    then_member_again(lab, body).await
}

async fn role_change_seen_on_next_request(lab: &Lab) -> Checked {
    let body = async {
        let login = demoted_admins_login(lab).await?;
        let me = lab
            .send(login.attach(Call::get(path(Endpoint::Me))))
            .await?;
        let member = role_name(Role::Member);
        Ok(match me.status {
            200 if me.body["role"] == member => {
                CheckOutcome::Holds(format!("GET /me once demoted: {member}"))
            }
            401 => CheckOutcome::Holds(format!(
                "GET /me once demoted: {} (the credential is refused)",
                me.summary()
            )),
            _ => CheckOutcome::Fails(format!(
                "GET /me once demoted: {} {} (the credential still carries the old role)",
                me.status, me.text
            )),
        })
    };
    then_member_again(lab, body).await
}

async fn banned_user_cannot_log_in(lab: &Lab) -> Checked {
    let (user, password) = member(lab);
    let body = async {
        lab.set_role(&user, "banned").await?;
        let mut findings = Findings::default();
        let right = lab.send(lab.login_call(&user, &password)).await?;
        findings.status("the right password", &right, &[403]);
        findings.that(
            !hands_out_something(lab, &right),
            "no credential",
            format!("the refused login handed out a credential: {}", right.text),
        );
        let wrong = lab
            .send(lab.login_call(&user, &format!("{password}-not")))
            .await?;
        findings.status("a wrong password", &wrong, &[401]);
        findings.outcome()
    };
    then_member_again(lab, body).await
}

/// The ids of the orders in a `GET /orders` answer.
fn order_ids(reply: &Reply) -> Vec<u64> {
    reply
        .body
        .as_array()
        .map(|orders| orders.iter().filter_map(|o| o["id"].as_u64()).collect())
        .unwrap_or_default()
}

async fn orders_are_per_user(lab: &Lab) -> Checked {
    let mut findings = Findings::default();
    let user = lab.member().name.clone();
    let member = lab.log_in(&user).await?;
    let admin = lab.log_in(&admin(lab)?).await?;
    let order = |item: &str| Call::post(path(Endpoint::Orders)).json(&json!({ "item": item }));

    let placed = lab.send(member.attach(order("flat white"))).await?;
    let mut mine = None;
    if findings.status("the member's order", &placed, &[201]) {
        let body = &placed.body;
        findings.that(
            body["id"].is_u64() && body["item"] == "flat white" && body["by"] == user.as_str(),
            "answers {\"id\",\"item\",\"by\"}",
            format!("answers {}", placed.text),
        );
        mine = body["id"].as_u64();
    }
    let theirs = lab.send(admin.attach(order("espresso"))).await?;
    findings.status("the admin's order", &theirs, &[201]);
    let listed = lab
        .send(member.attach(Call::get(path(Endpoint::Orders))))
        .await?;
    if findings.status("the member's list", &listed, &[200]) {
        let ids = order_ids(&listed);
        let all_hers = listed
            .body
            .as_array()
            .is_some_and(|orders| orders.iter().all(|o| o["by"] == user.as_str()));
        let theirs = theirs.body["id"].as_u64();
        findings.that(
            mine.is_some_and(|id| ids.contains(&id)),
            "lists her order",
            format!("her order {mine:?} is not in {}", listed.text),
        );
        findings.that(
            all_hers && !theirs.is_some_and(|id| ids.contains(&id)),
            "and nobody else's",
            format!("lists orders that are not hers: {}", listed.text),
        );
    }
    let anonymous = lab.send(order("latte")).await?;
    findings.status("an order without a login", &anonymous, &[401]);
    let anonymous_list = lab.send(Call::get(path(Endpoint::Orders))).await?;
    findings.status("the list without a login", &anonymous_list, &[401]);
    findings.outcome()
}

async fn unreasonable_order_is_422(lab: &Lab) -> Checked {
    let mut findings = Findings::default();
    let member = lab.log_in(&lab.member().name).await?;
    let list = || member.attach(Call::get(path(Endpoint::Orders)));
    let before = order_ids(&lab.send(list()).await?);
    let bodies = [
        ("an empty item", json!({ "item": "" })),
        ("a blank item", json!({ "item": "   " })),
        ("101 characters", json!({ "item": "x".repeat(101) })),
        ("a control character", json!({ "item": "tea\u{0}" })),
        (
            "an item that is not text",
            json!({ "item": { "nested": "object" } }),
        ),
        ("no item", json!({ "drink": "latte" })),
    ];
    for (what, body) in bodies {
        let order = Call::post(path(Endpoint::Orders)).json(&body);
        let reply = lab.send(member.attach(order)).await?;
        findings.status(what, &reply, &[422]);
    }
    let after = order_ids(&lab.send(list()).await?);
    let placed: Vec<&u64> = after.iter().filter(|id| !before.contains(id)).collect();
    findings.that(
        placed.is_empty(),
        "nothing ordered",
        format!("orders placed: {placed:?}"),
    );
    findings.outcome()
}

/// What a logout must tell the browser to forget.
const FORGET: [&str; 3] = ["\"cache\"", "\"cookies\"", "\"storage\""];

async fn logout_clears_the_browser(lab: &Lab) -> Checked {
    let mut findings = Findings::default();
    let login = lab.log_in(&lab.member().name).await?;
    let reply = lab.log_out(&login).await?;
    findings.status("POST /logout", &reply, &[204]);
    let cleared = reply.header("clear-site-data");
    let everything = cleared.is_some_and(|value| {
        value.trim() == "\"*\"" || FORGET.iter().all(|kind| value.contains(kind))
    });
    findings.that(
        everything,
        format!("Clear-Site-Data: {}", cleared.unwrap_or("")),
        match cleared {
            Some(value) => format!("Clear-Site-Data: {value} (expected {})", FORGET.join(", ")),
            None => "no Clear-Site-Data".to_owned(),
        },
    );
    findings.outcome()
}

async fn second_logout_is_harmless(lab: &Lab) -> Checked {
    let mut findings = Findings::default();
    let user = lab.member().name.clone();
    let phone = lab.log_in(&user).await?;
    let laptop = lab.log_in(&user).await?;
    let first = lab.log_out(&phone).await?;
    findings.status("the first logout", &first, &[204]);
    let second = lab.log_out(&phone).await?;
    findings.status("the second", &second, &[204, 401]);
    let other = lab
        .send(laptop.attach(Call::get(path(Endpoint::Me))))
        .await?;
    findings.status("her other login's GET /me", &other, &[200]);
    findings.outcome()
}

async fn bodies_are_json(lab: &Lab) -> Checked {
    let mut findings = Findings::default();
    let (user, password) = member(lab);
    let fields = &lab.profile().fields;
    let login = || Call::post(path(Endpoint::Login));
    let form = login().body(
        "application/x-www-form-urlencoded",
        &format!("{}={user}&{}={password}", fields.username, fields.password),
    );
    findings.status("a login sent as a form", &lab.send(form).await?, &[415]);
    let untyped = login().raw_body(lab.login_body(&user, &password).to_string());
    findings.status(
        "JSON with no Content-Type",
        &lab.send(untyped).await?,
        &[415],
    );
    let broken = login().body("application/json", "{\"username\":");
    findings.status("broken JSON", &lab.send(broken).await?, &[400]);
    let wrong_shape = login().json(&json!({ "coffee": "flat white" }));
    findings.status("the wrong shape", &lab.send(wrong_shape).await?, &[422]);
    findings.outcome()
}

async fn each_endpoint_takes_only_its_method(lab: &Lab) -> Checked {
    let mut findings = Findings::default();
    // Logged in, so that a 401 is never the reason for the answer.
    let member = lab.log_in(&lab.member().name).await?;
    let tries = [
        (Call::get(path(Endpoint::Logout)), "POST"),
        (Call::get(path(Endpoint::Login)), "POST"),
        (Call::post(path(Endpoint::Me)), "GET"),
    ];
    for (call, allowed) in tries {
        let call = member.attach(call);
        let what = format!("{} {}", call.method, call.path);
        let refused = call.method.to_string();
        let reply = lab.send(call).await?;
        if findings.status(&what, &reply, &[405]) {
            let allow = reply.header("allow").unwrap_or("");
            let methods: Vec<&str> = allow.split(',').map(str::trim).collect();
            findings.that(
                methods.contains(&allowed) && !methods.contains(&refused.as_str()),
                format!("Allow: {allow}"),
                format!("{what}: Allow: {allow:?} (expected it to name {allowed})"),
            );
        }
    }
    findings.outcome()
}

async fn errors_are_json(lab: &Lab) -> Checked {
    let mut findings = Findings::default();
    let member = lab.log_in(&lab.member().name).await?;
    let empty_order = Call::post(path(Endpoint::Orders)).json(&json!({ "item": "" }));
    let form = Call::post(path(Endpoint::Login)).body("application/x-www-form-urlencoded", "a=b");
    let tries = [
        (401, Call::get(path(Endpoint::Me))),
        (404, Call::get("/no-such-page")),
        (405, Call::get(path(Endpoint::Logout))),
        (415, form),
        (422, member.attach(empty_order)),
    ];
    for (status, call) in tries {
        let what = format!("{} {}", call.method, call.path);
        let reply = lab.send(call).await?;
        if findings.status(&what, &reply, &[status]) {
            findings.that(
                is_json_error(&reply),
                format!("{status} in JSON"),
                format!(
                    "{what}: {status} as {} {:?}",
                    reply.header("content-type").unwrap_or("no Content-Type"),
                    reply.text
                ),
            );
        }
    }
    findings.outcome()
}
