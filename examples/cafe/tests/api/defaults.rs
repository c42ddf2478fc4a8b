//! Every security-relevant default of the café, read from the code and from
//! what a café started with no flags answers, and written to
//! `book/verdict/defaults-table.md`:
//!
//! ```console
//! $ UPDATE_TRANSCRIPTS=1 cargo test -p cafe --test api defaults
//! ```
//!
//! Each row names where the default is set (the file is read to check that
//! the name is there, and the flag that changes it is looked up in
//! `cafe serve --help`), the rule it answers to, and the tests that pin it.
//! The tests after the table pin, with the numbers written out, the
//! defaults no other test pins.

use crate::golden::check_generated;
use crate::support::{Call, Mode, login_call, spawn_app, spawn_app_with};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use cafe::cli::{ServeArgs, serve_config};
use cafe::client_address::TrustedProxies;
use cafe::mechanisms::jwt::REFRESH_COOKIE;
use cafe::routes::{MAX_NAME_BYTES, MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS};
use cafe::throttle::{Limit, PastTheLimit};
use cafe::users::HashingLimits;
use cafe::{AllowedOrigins, AuthMode, BODY_LIMIT_BYTES, Config};
use clap::{Args, FromArgMatches};
use jwt::keys::{KeyRing, MIN_HS256_SECRET_BYTES, SigningKey};
use jwt::revocation::{MAX_LIVE_LOGINS_PER_USER, MemoryTokenStore, RefreshFamilyStore};
use jwt::tokens::{AccessClaims, LEEWAY_SECONDS, MAX_TOKEN_BYTES, TokenError, TokenKind};
use jwt::{Lifetimes, RevocationChecks};
use serde_json::json;
use sessions::{Device, MemoryStore, Sessions, Timeouts};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// One default: what it is, its value, where it is set, the rule behind
/// it, and the tests that pin it.
struct Row {
    setting: &'static str,
    value: String,
    /// A file under `examples/`, and a name written in it.
    set_in: (&'static str, &'static str),
    /// The `cafe serve` flags that change it, if any do.
    flags: &'static [&'static str],
    source: &'static str,
    /// The tests, separated by white space.
    pinned_by: &'static str,
}

/// A group of rows under a heading: where in a request's path they apply.
struct Group {
    heading: &'static str,
    rows: Vec<Row>,
}

/// The groups, filled in order.
#[derive(Default)]
struct Table {
    groups: Vec<Group>,
}

impl Table {
    fn heading(&mut self, heading: &'static str) {
        self.groups.push(Group {
            heading,
            rows: Vec::new(),
        });
    }

    fn row(&mut self, row: Row) {
        self.groups
            .last_mut()
            .expect("a heading first")
            .rows
            .push(row);
    }
}

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn book_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../book")
}

/// `1800` as "30 min", `604800` as "7 days": the largest unit that divides.
fn spoken(duration: Duration) -> String {
    let seconds = duration.as_secs();
    match seconds {
        86_400 => "1 day".to_owned(),
        s if s.is_multiple_of(86_400) => format!("{} days", s / 86_400),
        s if s.is_multiple_of(3_600) => format!("{} h", s / 3_600),
        s if s.is_multiple_of(60) => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

fn seconds(seconds: u64) -> String {
    spoken(Duration::from_secs(seconds))
}

/// `16384` as "16,384".
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// What a throttle count does past its limit, in the table's words.
fn past_the_limit(limit: Limit) -> String {
    match limit.past_the_limit {
        PastTheLimit::Refuse => {
            "then `429` until the oldest leaves the window (`Retry-After`)".to_owned()
        }
        PastTheLimit::Space => format!("then one every {}", spoken(limit.spacing())),
    }
}

/// A `Set-Cookie` value with the credential in it replaced by `stand_in`.
fn without_the_credential(set_cookie: &str, stand_in: &str) -> String {
    let (name_and_value, attributes) = set_cookie.split_once("; ").unwrap();
    let (name, _) = name_and_value.split_once('=').unwrap();
    format!("{name}={stand_in}; {attributes}")
}

fn code(text: &str) -> String {
    format!("`{text}`")
}

/// The configuration `cafe serve --auth <auth>` runs, with no other flag.
async fn served(auth: &str) -> Config {
    let serve = ServeArgs::augment_args(clap::Command::new("serve").no_binary_name(true));
    let matches = serve.try_get_matches_from(["--auth", auth]).unwrap();
    let args = ServeArgs::from_arg_matches(&matches).unwrap();
    serve_config(args).await.unwrap().0
}

/// `cafe serve` with no flags runs the library's defaults: its flags'
/// defaults are written apart from `Config::new`, and must not drift.
fn assert_same_defaults(served: &Config, library: &Config) {
    assert_eq!(served.session_timeouts, library.session_timeouts);
    assert_eq!(served.jwt_lifetimes, library.jwt_lifetimes);
    assert_eq!(served.revocation_checks, library.revocation_checks);
    assert_eq!(served.throttle, library.throttle);
    assert_eq!(served.trusted_proxies, library.trusted_proxies);
    assert_eq!(served.allowed_origins, library.allowed_origins);
    assert_eq!(served.cross_site_origins, library.cross_site_origins);
    assert_eq!(served.connection_timeouts, library.connection_timeouts);
    assert_eq!(served.max_connections, library.max_connections);
    assert_eq!(
        served.max_connections_per_client,
        library.max_connections_per_client
    );
    assert_eq!(
        served.jwt_keys.signing_key().algorithm(),
        library.jwt_keys.signing_key().algorithm()
    );
}

/// Everything the table says, each value read from the configuration
/// `cafe serve` runs with no flags (the same as `Config::new`'s), from the
/// code's constants, or from the answers of a café started with it.
async fn groups() -> Vec<Group> {
    let sessions_config = served("sessions").await;
    let jwt_config = served("jwt").await;
    let hybrid_config = served("hybrid").await;
    for (served, auth) in [
        (&sessions_config, AuthMode::Sessions),
        (&jwt_config, AuthMode::Jwt),
        (&hybrid_config, AuthMode::Hybrid),
    ] {
        assert_same_defaults(served, &Config::new(auth));
    }

    // What a café started with no flags answers.
    let sessions_app = spawn_app_with(Mode::Sessions, served("sessions").await).await;
    let mut alice = sessions_app.visitor();
    let login = alice.log_in("alice", "wonderland-42").await;
    assert_eq!(login.status, 200);
    let session_cookie = login.header("set-cookie").unwrap().to_owned();
    let session_id = login.cookie_value(sessions::cookie::COOKIE_NAME).unwrap();
    let session_id_bits = URL_SAFE_NO_PAD.decode(&session_id).unwrap().len() * 8;
    // What the Redis store issues alice instead: the same, and her shard.
    let alice_shard = cafe::redis_store::shard_of_user("alice");
    let redis_id = sessions::SessionId::generate_in(Some(alice_shard)).unwrap();
    let redis_id = redis_id.as_str();
    let me = alice.get("/me").await;
    assert_eq!(me.status, 200);
    let header = |name: &str| code(me.header(name).unwrap());
    let page = sessions_app.visitor().get("/").await;
    let page_policy = page.header("content-security-policy").unwrap().to_owned();
    let logout = alice.send(&Call::post("/logout")).await;
    let clear_site_data = logout.header("clear-site-data").unwrap().to_owned();

    // Writes from the listener's own origins are let through, others not.
    let port = sessions_app.address.rsplit(':').next().unwrap().to_owned();
    let own_origins = [
        format!("http://localhost:{port}"),
        format!("http://127.0.0.1:{port}"),
    ];
    assert_eq!(sessions_config.allowed_origins, AllowedOrigins::default());
    for origin in &own_origins {
        let write = Call::post("/logout").header("origin", origin);
        assert_ne!(sessions_app.visitor().send(&write).await.status, 403);
    }
    let foreign = Call::post("/logout").header("origin", "https://evil.example");
    assert_eq!(sessions_app.visitor().send(&foreign).await.status, 403);
    // No page on another site may call with credentials: no CORS at all, so
    // a browser's preflight from one is answered without any grant.
    assert!(sessions_config.cross_site_origins.is_empty());
    let preflight = Call::new(cafe_client::Method::OPTIONS, "/login")
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type");
    let preflight = sessions_app.visitor().send(&preflight).await;
    assert_eq!(preflight.header("access-control-allow-origin"), None);
    assert_eq!(preflight.header("access-control-allow-credentials"), None);
    assert_eq!(sessions_config.trusted_proxies, TrustedProxies::default());
    assert!(
        !sessions_config
            .trusted_proxies
            .trusts([127, 0, 0, 1].into())
    );

    let hybrid_app = spawn_app_with(Mode::Hybrid, served("hybrid").await).await;
    let hybrid_login = hybrid_app.visitor().log_in("alice", "wonderland-42").await;
    let refresh_cookies: Vec<String> = hybrid_login
        .set_cookies()
        .filter(|cookie| cookie.starts_with(&format!("{REFRESH_COOKIE}=")))
        .map(|cookie| without_the_credential(cookie, "…"))
        .collect();
    assert!(!refresh_cookies.is_empty());

    // The Argon2id parameters, as every stored hash records them.
    let hash = cafe::users::hash_password("flat white, no sugar").unwrap();
    let parts: Vec<&str> = hash.split('$').collect();
    let [_, "argon2id", "v=19", parameters, salt, _] = parts[..] else {
        panic!("not an Argon2id v19 PHC string: {hash}");
    };
    let salt_bytes = STANDARD_NO_PAD.decode(salt).unwrap().len();
    let hashing = HashingLimits::default();
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let per_core = if hashing.concurrent == cores {
        "one per core".to_owned()
    } else {
        format!("{} at once", hashing.concurrent)
    };

    let timeouts: Timeouts = sessions_config.session_timeouts;
    let jwt_lifetimes: Lifetimes = jwt_config.jwt_lifetimes;
    let hybrid_lifetimes: Lifetimes = hybrid_config.jwt_lifetimes;
    let throttle = sessions_config.throttle;
    let connections = sessions_config.connection_timeouts;
    let checks: RevocationChecks = jwt_config.revocation_checks;
    assert_eq!(hybrid_config.revocation_checks, checks);
    let checks_value = match (checks.denylist, checks.token_version) {
        (false, false) => "none: a logged-out or banned user's access token works until it expires",
        _ => panic!("the table assumes no per-request checks by default: {checks:?}"),
    };
    // The idle limit is the session's idle timeout past one access lifetime.
    let idle_beyond_access = Duration::from_secs(jwt_lifetimes.refresh_idle - jwt_lifetimes.access);
    assert_eq!(idle_beyond_access, timeouts.idle);
    assert_eq!(
        hybrid_lifetimes.refresh_idle - hybrid_lifetimes.access,
        timeouts.idle.as_secs()
    );
    let algorithm = jwt_config.jwt_keys.signing_key().algorithm();
    assert_eq!(hybrid_config.jwt_keys.signing_key().algorithm(), algorithm);

    let mut table = Table::default();
    table.heading("Connections");
    table.row(Row {
        setting: "Request head (and an idle kept-alive connection)",
        value: format!(
            "{}, then the connection closes",
            spoken(connections.request_head)
        ),
        set_in: ("cafe/src/lib.rs", "REQUEST_HEAD_TIMEOUT"),
        flags: &[],
        source: "Apache httpd `mod_reqtimeout`'s default (`header=20-40`); OWASP Denial \
            of Service Cheat Sheet, \"Rate limiting\" (slow HTTP)",
        pinned_by: "\
        defaults::connections_default_to_20_seconds_each_and_4096_at_once_256_per_client \
        connection_timeouts::the_default_timeouts_close_a_stalled_request_within_30_seconds",
    });
    table.row(Row {
        setting: "Request body",
        value: format!(
            "{}, then `408` and a close",
            spoken(connections.request_body)
        ),
        set_in: ("cafe/src/lib.rs", "REQUEST_BODY_TIMEOUT"),
        flags: &[],
        source: "Apache httpd `mod_reqtimeout`'s default (`body=20`)",
        pinned_by: "\
        defaults::connections_default_to_20_seconds_each_and_4096_at_once_256_per_client \
        connection_timeouts::the_default_timeouts_close_a_stalled_request_within_30_seconds",
    });
    table.row(Row {
        setting: "Writing a response the client does not take",
        value: format!("{} between writes", spoken(connections.response_write)),
        set_in: ("cafe/src/lib.rs", "RESPONSE_WRITE_TIMEOUT"),
        flags: &[],
        source: "nginx `send_timeout` measures the same (60 s by default)",
        pinned_by: "\
        defaults::connections_default_to_20_seconds_each_and_4096_at_once_256_per_client \
        connection_timeouts::the_default_timeouts_close_a_stalled_request_within_30_seconds",
    });
    table.row(Row {
        setting: "Connections served at once",
        value: format!(
            "{}; {} from one client (an IPv4 address or IPv6 /64)",
            thousands(sessions_config.max_connections),
            thousands(sessions_config.max_connections_per_client)
        ),
        set_in: ("cafe/src/lib.rs", "MAX_CONNECTIONS_PER_CLIENT"),
        flags: &[],
        source: "OWASP Denial of Service Cheat Sheet, \"Rate limiting\" (a load limit)",
        pinned_by: "\
        defaults::connections_default_to_20_seconds_each_and_4096_at_once_256_per_client",
    });
    table.heading("Requests");
    table.row(Row {
        setting: "Request body size",
        value: format!("{} bytes; more is `413`", thousands(BODY_LIMIT_BYTES)),
        set_in: ("cafe/src/routes.rs", "BODY_LIMIT_BYTES"),
        flags: &[],
        source: "OWASP REST Security Cheat Sheet, \"Input validation\"",
        pinned_by: "\
        defaults::a_body_of_16_kib_is_read_and_one_byte_more_is_413 \
        conformance::sessions::an_oversized_body_is_413",
    });
    table.row(Row {
        setting: "Login name and password",
        value: format!(
            "name ≤ {} bytes, password ≤ {} bytes; longer is `422`, never hashed",
            MAX_NAME_BYTES,
            thousands(MAX_PASSWORD_BYTES)
        ),
        set_in: ("cafe/src/routes.rs", "MAX_PASSWORD_BYTES"),
        flags: &[],
        source: "OWASP Authentication Cheat Sheet, \"Compare Password Hashes Using Safe \
            Functions\" (a maximum input length); ASVS 5.0 6.2.9 (at least 64 \
            characters allowed)",
        pinned_by: "\
        defaults::login_reads_names_to_64_bytes_and_passwords_to_1024_and_hashes_nothing_longer \
        conformance::sessions::an_overlong_password_is_refused_before_hashing",
    });
    table.row(Row {
        setting: "Bearer token size",
        value: format!(
            "{} bytes; longer is refused before decoding",
            thousands(MAX_TOKEN_BYTES)
        ),
        set_in: ("jwt/src/tokens.rs", "MAX_TOKEN_BYTES"),
        flags: &[],
        source: "OWASP Denial of Service Cheat Sheet, \"Input validation\"",
        pinned_by: "\
        defaults::a_token_of_4096_bytes_is_read_and_one_byte_more_is_refused_unread \
        attacks::an_oversized_token_is_refused_before_decoding",
    });
    table.row(Row {
        setting: "Who may send a request that is not `GET`, `HEAD` or `OPTIONS`",
        value: format!(
            "`Sec-Fetch-Site: same-origin` or `none`; else an `Origin` of {} or {}; \
                or no browser at all",
            code(&own_origins[0].replace(&port, "PORT")),
            code(&own_origins[1].replace(&port, "PORT"))
        ),
        set_in: ("cafe/src/guards.rs", "cross_site_verdict"),
        flags: &["--allowed-origin"],
        source: "ASVS 5.0 3.5.1; OWASP Cross-Site Request Forgery Prevention Cheat \
            Sheet, \"Fetch Metadata headers\", \"Using Standard Headers to Verify \
            Origin\"",
        pinned_by: "\
        conformance::sessions::cross_site_writes_are_refused",
    });
    table.row(Row {
        setting: "Pages on other sites that may call with the user's credentials (CORS)",
        value: "none: no CORS headers at all, so a browser lets no other site's page \
            send a JSON request or read an answer"
            .to_owned(),
        set_in: ("cafe/src/cross_site.rs", "CrossSiteOrigins"),
        flags: &["--cross-site-origin"],
        source: "Fetch Standard, \"CORS protocol\"; ASVS 5.0 3.4.2",
        pinned_by: "\
        defaults::the_defaults_table_is_read_from_the_code_and_a_default_cafe \
        browser::cross_site::an_app_on_another_site_needs_the_flag_and_a_partitioned_cookie",
    });
    table.row(Row {
        setting: "Proxies believed in `X-Forwarded-For`",
        value: "none: the client is the connection's peer".to_owned(),
        set_in: ("cafe/src/client_address.rs", "TrustedProxies"),
        flags: &["--trusted-proxy"],
        source: "ASVS 5.0 15.3.4",
        pinned_by: "\
        throttle::sessions::a_strangers_failures_do_not_lock_the_owner_out",
    });
    table.heading("Logging in");
    table.row(Row {
        setting: "Failed logins, one account from one client",
        value: format!(
            "{} per {}, {}",
            throttle.per_account_and_client.max,
            spoken(throttle.per_account_and_client.window),
            past_the_limit(throttle.per_account_and_client)
        ),
        set_in: ("cafe/src/throttle.rs", "ThrottlePolicy"),
        flags: &[],
        source: "ASVS 5.0 6.3.1; OWASP Authentication Cheat Sheet, \"Login Throttling\"",
        pinned_by: "\
        throttle::tests::the_default_policy_is_the_one_the_book_states \
        throttle::sessions::repeated_failures_are_throttled",
    });
    table.row(Row {
        setting: "Failed logins from one client, any accounts",
        value: format!(
            "{} per {}, {}",
            throttle.per_client.max,
            spoken(throttle.per_client.window),
            past_the_limit(throttle.per_client)
        ),
        set_in: ("cafe/src/throttle.rs", "ThrottlePolicy"),
        flags: &[],
        source: "ASVS 5.0 6.3.1; OWASP Authentication Cheat Sheet, \"Login Throttling\"",
        pinned_by: "\
        throttle::tests::the_default_policy_is_the_one_the_book_states \
        throttle::sessions::one_client_spraying_many_names_is_throttled",
    });
    table.row(Row {
        setting: "Logins at one account from clients it does not know",
        value: format!(
            "{} per {}, {}; a correct password makes its client known for {}",
            throttle.per_account.max,
            spoken(throttle.per_account.window),
            past_the_limit(throttle.per_account),
            spoken(throttle.known_for)
        ),
        set_in: ("cafe/src/throttle.rs", "ThrottlePolicy"),
        flags: &[],
        source: "ASVS 5.0 6.3.1; OWASP Authentication Cheat Sheet, \"Account Lockout\"",
        pinned_by: "\
        throttle::tests::the_default_policy_is_the_one_the_book_states \
        throttle::tests::a_filled_account_ceiling_holds_back_strangers_not_a_known_client",
    });
    table.row(Row {
        setting: "Password hashing",
        value: format!("Argon2id, `{parameters}` (memory in KiB), a {salt_bytes}-byte salt"),
        set_in: ("cafe/src/users.rs", "MEMORY_KIB"),
        flags: &[],
        source: "OWASP Password Storage Cheat Sheet, \"Argon2id\"; ASVS 5.0 11.4.2",
        pinned_by: "\
        users::tests::hashes_are_argon2id_with_the_owasp_parameters_and_a_salt_each",
    });
    table.row(Row {
        setting: "Password checks at once",
        value: format!(
            "{per_core}; a login waits {} for one, then `503` with `Retry-After`",
            spoken(hashing.queue_wait)
        ),
        set_in: ("cafe/src/users.rs", "HashingLimits"),
        flags: &[],
        source: "ASVS 5.0 15.2.2",
        pinned_by: "\
        defaults::password_checks_run_one_per_core_and_a_login_waits_2_seconds_for_one \
        hardening::logins_beyond_the_hashing_slots_wait_then_get_503_never_500",
    });
    table.row(Row {
        setting: "A new password",
        value: format!(
            "{MIN_PASSWORD_CHARS} characters to {} bytes, any characters; not the \
                current one nor the account's name",
            thousands(MAX_PASSWORD_BYTES)
        ),
        set_in: ("cafe/src/routes.rs", "MIN_PASSWORD_CHARS"),
        flags: &[],
        source: "ASVS 5.0 6.2.1, 6.2.5, 6.2.9",
        pinned_by: "\
        account_logins::password_change::sessions::\
        a_new_password_that_breaks_a_rule_is_422_and_changes_nothing",
    });
    table.row(Row {
        setting: "Live logins per user",
        value: format!(
            "{MAX_LIVE_LOGINS_PER_USER}; one more ends the least recently used \
                session, or the oldest refresh family"
        ),
        set_in: ("store-error/src/lib.rs", "MAX_LIVE_LOGINS_PER_USER"),
        flags: &[],
        source: "ASVS 5.0 7.1.2",
        pinned_by: "\
        defaults::a_user_keeps_at_most_100_live_logins_in_each_memory_store \
        manager::tests::a_user_holds_at_most_the_cap_and_the_least_recently_used_goes_first \
        revocation::tests::a_user_holds_at_most_the_cap_of_families_and_the_oldest_ends_first",
    });
    table.heading("Sessions (`--auth sessions`)");
    table.row(Row {
        setting: "Session ID",
        value: format!(
            "{session_id_bits} bits from the operating system's CSPRNG, {} base64url \
                characters; with `--store redis`, then a dot and the user's shard \
                (alice's: `{}`)",
            session_id.len(),
            redis_id.split_at(session_id.len()).1
        ),
        set_in: ("sessions/src/id.rs", "SESSION_ID_BYTES"),
        flags: &[],
        source: "ASVS 5.0 7.2.3",
        pinned_by: "\
        id::tests::an_id_is_43_base64url_characters \
        id::tests::an_id_with_a_shard_is_43_base64url_characters_a_dot_and_the_shard",
    });
    table.row(Row {
        setting: "Session cookie",
        value: code(&without_the_credential(&session_cookie, "ID")),
        set_in: ("sessions/src/cookie.rs", "login_cookie"),
        flags: &[],
        source: "ASVS 5.0 3.3.1–3.3.4; OWASP Session Management Cheat Sheet, \
            \"Cookie Name Prefixes\", \"SameSite Attribute\"",
        pinned_by: "\
        sessions::the_cookie_has_every_protective_attribute",
    });
    table.row(Row {
        setting: "Idle timeout",
        value: spoken(timeouts.idle),
        set_in: ("sessions/src/timeouts.rs", "Timeouts"),
        flags: &["--idle-timeout"],
        source: "ASVS 5.0 7.3.1 (a value set by risk); OWASP Session Management Cheat \
            Sheet, \"Session Expiration\" (15–30 min for low-risk applications)",
        pinned_by: "\
        sessions::an_idle_session_expires_after_the_idle_timeout",
    });
    table.row(Row {
        setting: "Absolute timeout",
        value: spoken(timeouts.absolute),
        set_in: ("sessions/src/timeouts.rs", "Timeouts"),
        flags: &["--absolute-timeout"],
        source: "ASVS 5.0 7.3.2 (a value set by risk); OWASP Session Management Cheat \
            Sheet, \"Session Expiration\" (4–8 h for a working day)",
        pinned_by: "\
        sessions::an_active_session_still_ends_at_the_absolute_timeout",
    });
    table.heading("Tokens (`--auth jwt`, `--auth hybrid`)");
    table.row(Row {
        setting: "Signing",
        value: format!(
            "{algorithm} with a random {}-bit secret made at start (tokens end with \
                the process); a given secret needs at least {} bits; `--alg es256` (P-256) \
                and `eddsa` (Ed25519) make a key pair",
            MIN_HS256_SECRET_BYTES * 8,
            MIN_HS256_SECRET_BYTES * 8
        ),
        set_in: ("jwt/src/keys.rs", "MIN_HS256_SECRET_BYTES"),
        flags: &["--alg", "--jwt-secret-file"],
        source: "RFC 7518 §3.2 (an HS256 key of at least 256 bits); ASVS 5.0 9.1.2, \
            11.2.3",
        pinned_by: "\
        jwt::login_returns_a_bearer_pair_with_every_claim \
        keys::tests::short_secrets_are_refused \
        cli::the_jwt_server_refuses_to_start_with_a_short_secret \
        attacks::algorithm_confusion_an_hs256_token_keyed_with_the_public_key_is_refused",
    });
    table.row(Row {
        setting: "Access token lifetime",
        value: format!(
            "{} (`jwt`); {} (`hybrid`)",
            seconds(jwt_lifetimes.access),
            seconds(hybrid_lifetimes.access)
        ),
        set_in: ("jwt/src/authority.rs", "Lifetimes"),
        flags: &["--access-ttl"],
        source: "RFC 9700 §4.14 (refresh tokens let access tokens be short-lived; it \
            names no figure)",
        pinned_by: "\
        jwt::login_returns_a_bearer_pair_with_every_claim \
        hybrid::login_puts_the_access_token_in_the_body_and_the_refresh_token_in_a_narrow_cookie \
        defaults::access_tokens_answer_until_5_seconds_past_their_15_or_5_minutes",
    });
    table.row(Row {
        setting: "Clock leeway",
        value: format!("{} on `exp` and `nbf`", seconds(LEEWAY_SECONDS)),
        set_in: ("jwt/src/tokens.rs", "LEEWAY_SECONDS"),
        flags: &[],
        source: "RFC 7519 §4.1.4, §4.1.5 (\"some small leeway, usually no more than a \
            few minutes\"); ASVS 5.0 9.2.1",
        pinned_by: "\
        defaults::access_tokens_answer_until_5_seconds_past_their_15_or_5_minutes \
        tokens::tests::expiry_and_not_before_use_the_given_clock_and_the_small_leeway",
    });
    table.row(Row {
        setting: "A login's refresh tokens",
        value: format!(
            "{} from login, however often renewed",
            seconds(jwt_lifetimes.refresh)
        ),
        set_in: ("jwt/src/authority.rs", "Lifetimes"),
        flags: &["--refresh-ttl"],
        source: "ASVS 5.0 7.3.2 (a value set by risk)",
        pinned_by: "\
        revocation::refresh_tokens_expire_at_the_end_of_the_login_however_often_used \
        hybrid::login_puts_the_access_token_in_the_body_and_the_refresh_token_in_a_narrow_cookie",
    });
    table.row(Row {
        setting: "Refresh idle limit",
        value: format!(
            "{} (`jwt`); {} (`hybrid`): the session's {} plus one access lifetime",
            seconds(jwt_lifetimes.refresh_idle),
            seconds(hybrid_lifetimes.refresh_idle),
            spoken(idle_beyond_access)
        ),
        set_in: ("jwt/src/authority.rs", "SESSION_IDLE_SECONDS"),
        flags: &["--refresh-idle-timeout"],
        source: "RFC 9700 §4.14.2 (refresh tokens SHOULD expire after inactivity); ASVS \
            5.0 7.3.1",
        pinned_by: "\
        account_logins::idle::jwt_a_login_left_unrefreshed_for_the_idle_limit_ends_for_good \
        account_logins::idle::hybrid_a_login_left_unrefreshed_for_the_idle_limit_ends_for_good",
    });
    table.row(Row {
        setting: "Checks per request besides the signature",
        value: checks_value.to_owned(),
        set_in: ("jwt/src/authority.rs", "RevocationChecks"),
        flags: &["--check-denylist", "--check-token-version"],
        source: "ASVS 5.0 7.4.1 (logout: met with `--check-denylist`), 7.4.2 (a ban: met with \
            `--check-token-version`)",
        pinned_by: "\
        conformance::jwt::logout_ends_the_login_and_the_old_credential_is_refused \
        conformance::jwt::a_banned_user_is_refused",
    });
    table.row(Row {
        setting: "The hybrid's refresh cookie",
        value: refresh_cookies
            .iter()
            .map(|cookie| code(cookie))
            .collect::<Vec<_>>()
            .join("<br>"),
        set_in: ("cafe/src/mechanisms/jwt.rs", "refresh_cookies"),
        flags: &[],
        source: "ASVS 5.0 3.3.1, 3.3.2, 3.3.4",
        pinned_by: "\
        hybrid::login_puts_the_access_token_in_the_body_and_the_refresh_token_in_a_narrow_cookie \
        logout::the_hybrid_refresh_cookie_reaches_logout_and_refresh_only",
    });
    table.heading("Every answer");
    table.row(Row {
        setting: "`Cache-Control`",
        value: header("cache-control"),
        set_in: ("cafe/src/guards.rs", "SECURITY_HEADERS"),
        flags: &[],
        source: "ASVS 5.0 14.3.2",
        pinned_by: "\
        conformance::sessions::every_answer_carries_the_security_headers",
    });
    table.row(Row {
        setting: "`Strict-Transport-Security` (ignored over plain HTTP)",
        value: header("strict-transport-security"),
        set_in: ("cafe/src/guards.rs", "SECURITY_HEADERS"),
        flags: &[],
        source: "ASVS 5.0 3.4.1 (a year at least; subdomains from level 2)",
        pinned_by: "\
        conformance::sessions::every_answer_carries_the_security_headers",
    });
    table.row(Row {
        setting: "`X-Content-Type-Options`",
        value: header("x-content-type-options"),
        set_in: ("cafe/src/guards.rs", "SECURITY_HEADERS"),
        flags: &[],
        source: "ASVS 5.0 3.4.4",
        pinned_by: "\
        conformance::sessions::every_answer_carries_the_security_headers",
    });
    table.row(Row {
        setting: "`Referrer-Policy`",
        value: header("referrer-policy"),
        set_in: ("cafe/src/guards.rs", "SECURITY_HEADERS"),
        flags: &[],
        source: "ASVS 5.0 3.4.5",
        pinned_by: "\
        conformance::sessions::every_answer_carries_the_security_headers",
    });
    table.row(Row {
        setting: "`Cross-Origin-Opener-Policy`",
        value: header("cross-origin-opener-policy"),
        set_in: ("cafe/src/guards.rs", "SECURITY_HEADERS"),
        flags: &[],
        source: "ASVS 5.0 3.4.8",
        pinned_by: "\
        conformance::sessions::every_answer_carries_the_security_headers",
    });
    table.row(Row {
        setting: "`Cross-Origin-Resource-Policy`",
        value: header("cross-origin-resource-policy"),
        set_in: ("cafe/src/guards.rs", "SECURITY_HEADERS"),
        flags: &[],
        source: "ASVS 5.0 3.5.8",
        pinned_by: "\
        conformance::sessions::every_answer_carries_the_security_headers",
    });
    table.row(Row {
        setting: "`Content-Security-Policy` of the API's answers",
        value: header("content-security-policy"),
        set_in: ("cafe/src/guards.rs", "SECURITY_HEADERS"),
        flags: &[],
        source: "ASVS 5.0 3.4.3, 3.4.6; 3.4.7 is not met (no place to report \
            violations)",
        pinned_by: "\
        defaults::the_api_and_the_pages_answer_under_exactly_these_content_security_policies \
        conformance::sessions::every_answer_carries_the_security_headers",
    });
    table.row(Row {
        setting: "`Content-Security-Policy` of the café's pages",
        value: code(&page_policy),
        set_in: ("cafe/src/web.rs", "CONTENT_SECURITY_POLICY_VALUE"),
        flags: &[],
        source: "ASVS 5.0 3.4.3 (an allowlist: level 2), 3.4.6; OWASP Content Security \
            Policy Cheat Sheet, \"Basic non-Strict CSP Policy\"",
        pinned_by: "\
        defaults::the_api_and_the_pages_answer_under_exactly_these_content_security_policies \
        browser::the_page_is_served_under_a_strict_content_security_policy",
    });
    table.row(Row {
        setting: "`Clear-Site-Data`, at logout",
        value: code(&clear_site_data),
        set_in: ("cafe/src/routes.rs", "FORGET_EVERYTHING"),
        flags: &[],
        source: "ASVS 5.0 14.3.1; OWASP Session Management Cheat Sheet, \"Web Content \
            Caching and Clear-Site-Data\"",
        pinned_by: "\
        conformance::sessions::logout_ends_the_login_and_the_old_credential_is_refused",
    });
    table.groups
}

/// The flags `cafe serve` takes, from its own help.
fn serve_help() -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_cafe"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap()
}

fn table(groups: &[Group]) -> String {
    let help = serve_help();
    let mut out = String::new();
    for group in groups {
        out.push_str(&format!("### {}\n\n", group.heading));
        out.push_str("| Setting | Default | Set in | Source | Pinned by |\n");
        out.push_str("| --- | --- | --- | --- | --- |\n");
        for row in &group.rows {
            let (file, name) = row.set_in;
            let text = std::fs::read_to_string(examples_dir().join(file))
                .unwrap_or_else(|e| panic!("{file}: {e}"));
            assert!(text.contains(name), "{file} does not mention {name}");
            let mut set_in = format!("`{name}`, `{file}`");
            for flag in row.flags {
                assert!(help.contains(flag), "`cafe serve` has no {flag}");
                set_in.push_str(&format!("; `{flag}`"));
            }
            let pinned_by: Vec<String> = row.pinned_by.split_whitespace().map(code).collect();
            out.push_str(&format!(
                "| {} | {} | {set_in} | {} | {} |\n",
                row.setting,
                row.value,
                row.source,
                pinned_by.join(", ")
            ));
        }
        out.push('\n');
    }
    out.pop();
    out
}

#[tokio::test]
async fn the_defaults_table_is_read_from_the_code_and_a_default_cafe() {
    let groups = groups().await;
    let notice = "<!-- Generated by `UPDATE_TRANSCRIPTS=1 cargo test -p cafe --test api \
        defaults`. Do not edit: rerun it. -->\n\n";
    let path = book_dir().join("verdict/defaults-table.md");
    check_generated(&path, &format!("{notice}{}", table(&groups)));
}

// ------------------------------------------------------------ the pins

#[test]
fn connections_default_to_20_seconds_each_and_4096_at_once_256_per_client() {
    let config = Config::new(AuthMode::Sessions);
    let twenty = Duration::from_secs(20);
    let timeouts = config.connection_timeouts;
    assert_eq!(
        (
            timeouts.request_head,
            timeouts.request_body,
            timeouts.response_write
        ),
        (twenty, twenty, twenty)
    );
    assert_eq!(
        (config.max_connections, config.max_connections_per_client),
        (4096, 256)
    );
}

#[test]
fn password_checks_run_one_per_core_and_a_login_waits_2_seconds_for_one() {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    assert_eq!(
        HashingLimits::default(),
        HashingLimits {
            concurrent: cores,
            queue_wait: Duration::from_secs(2),
        }
    );
}

/// A login body of exactly 16 KiB is read (and its password refused as too
/// long); one byte more is refused unread.
#[tokio::test]
async fn a_body_of_16_kib_is_read_and_one_byte_more_is_413() {
    let app = spawn_app(Mode::Sessions).await;
    let body_of = |length: usize| {
        let empty = json!({ "username": "alice", "password": "" }).to_string();
        let password = "x".repeat(length - empty.len());
        json!({ "username": "alice", "password": password }).to_string()
    };
    let send = |body: String| {
        let call = Call::post("/login").body("application/json", &body);
        let visitor = app.visitor();
        async move { visitor.send(&call).await.status }
    };
    assert_eq!(body_of(16 * 1024).len(), 16_384);
    assert_eq!(send(body_of(16 * 1024)).await, 422);
    assert_eq!(send(body_of(16 * 1024 + 1)).await, 413);
}

/// A name of 64 bytes and a password of 1,024 are checked (and are wrong);
/// a byte more of either is `422`, and nothing is hashed.
#[tokio::test]
async fn login_reads_names_to_64_bytes_and_passwords_to_1024_and_hashes_nothing_longer() {
    let app = spawn_app(Mode::Sessions).await;
    let try_login = |name: String, password: String| {
        let visitor = app.visitor();
        async move { visitor.send(&login_call(&name, &password)).await.status }
    };
    let checks = || app.passwords.verifications();
    let before = checks();
    assert_eq!(try_login("a".repeat(64), "latte".to_owned()).await, 401);
    assert_eq!(try_login("alice".to_owned(), "x".repeat(1024)).await, 401);
    assert_eq!(checks(), before + 2, "both were checked");
    assert_eq!(try_login("a".repeat(65), "latte".to_owned()).await, 422);
    assert_eq!(try_login("alice".to_owned(), "x".repeat(1025)).await, 422);
    assert_eq!(checks(), before + 2, "neither was hashed");
}

/// A token of 4,096 bytes is read (and found malformed); one byte more is
/// refused as too large, before anything is decoded.
#[test]
fn a_token_of_4096_bytes_is_read_and_one_byte_more_is_refused_unread() {
    let keys = KeyRing::new(SigningKey::hs256("k", &[7u8; 32]).unwrap());
    let check = |length: usize| {
        let token = "a".repeat(length);
        jwt::tokens::verify_ignoring_time::<AccessClaims>(&keys, TokenKind::Access, &token)
            .unwrap_err()
    };
    assert_eq!(check(4096), TokenError::Malformed);
    assert_eq!(check(4097), TokenError::TooLarge);
}

/// An access token answers until 5 seconds past its lifetime: 15 minutes,
/// and the hybrid's 5.
#[tokio::test]
async fn access_tokens_answer_until_5_seconds_past_their_15_or_5_minutes() {
    for (mode, minutes) in [(Mode::Jwt, 15), (Mode::Hybrid, 5)] {
        let app = spawn_app(mode).await;
        let alice = app.logged_in("alice", "wonderland-42").await;
        app.wait(Duration::from_secs(minutes * 60 + 4));
        assert_eq!(alice.get("/me").await.status, 200, "{mode:?}");
        app.wait(Duration::from_secs(1));
        assert_eq!(alice.get("/me").await.status, 401, "{mode:?}");
    }
}

/// The 101st login ends the user's least recently used session, or their
/// oldest refresh family: a hundred stay.
#[tokio::test]
async fn a_user_keeps_at_most_100_live_logins_in_each_memory_store() {
    let store = Arc::new(MemoryStore::new());
    let sessions = Sessions::new(store.clone(), Timeouts::default());
    let start = crate::support::opening_time();
    let mut ids = Vec::new();
    for n in 0..101 {
        let at = start + Duration::from_secs(n);
        let (id, _) = sessions
            .start("alice", Device::default(), at)
            .await
            .unwrap();
        ids.push(id);
    }
    let later = start + Duration::from_secs(101);
    assert_eq!(store.len(), 100);
    assert!(sessions.resume(&ids[0], later).await.unwrap().is_none());
    assert!(sessions.resume(&ids[1], later).await.unwrap().is_some());

    let families = MemoryTokenStore::new();
    for n in 0..101u64 {
        let sid = format!("login-{n}");
        let device = Device::default();
        families
            .start(&sid, "alice", "first", 1_000_000, n, &device)
            .await
            .unwrap();
    }
    let live = families.list_for_user("alice").await.unwrap();
    assert_eq!(live.len(), 100);
    assert!(live.iter().all(|family| family.sid != "login-0"));
}

/// The exact policies: the API's answers load nothing and may be framed by
/// nobody; the café's pages run only the café's own script and style.
#[tokio::test]
async fn the_api_and_the_pages_answer_under_exactly_these_content_security_policies() {
    let app = spawn_app(Mode::Sessions).await;
    let api = app.visitor().get("/me").await;
    assert_eq!(
        api.header("content-security-policy"),
        Some("default-src 'none'; frame-ancestors 'none'; base-uri 'none'")
    );
    let page = app.visitor().get("/").await;
    assert_eq!(
        page.header("content-security-policy"),
        Some(concat!(
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; ",
            "img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        ))
    );
}

/// The answer on one screen (`book/verdict/answer-table.md.part`) gives its
/// durations in words. Each must be one of the café's defaults, in the unit
/// written (a stale "45 minutes" after the default moved fails here), and
/// each default the table speaks of must be there.
#[test]
fn the_answer_table_speaks_only_of_the_cafes_default_durations() {
    let sessions = Config::new(AuthMode::Sessions).session_timeouts;
    let jwt = Config::new(AuthMode::Jwt).jwt_lifetimes;
    let hybrid = Config::new(AuthMode::Hybrid).jwt_lifetimes;
    let minutes = |seconds: u64| format!("{} minutes", seconds / 60);
    let defaults = [
        minutes(sessions.idle.as_secs()),
        format!("{} hours", sessions.absolute.as_secs() / 3600),
        minutes(jwt.access),
        minutes(jwt.refresh_idle),
        format!("{} days", jwt.refresh / 86_400),
        minutes(hybrid.access),
        minutes(hybrid.refresh_idle),
    ];
    let text = std::fs::read_to_string(book_dir().join("verdict/answer-table.md.part")).unwrap();
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut durations = Vec::new();
    for pair in words.windows(2) {
        // "minutes][link]", "minutes.": the word up to its first non-letter.
        let unit: String = pair[1].chars().take_while(|c| c.is_alphabetic()).collect();
        if pair[0].parse::<u64>().is_ok() && ["minutes", "hours", "days"].contains(&unit.as_str()) {
            durations.push(format!("{} {unit}", pair[0]));
        }
    }
    for duration in &durations {
        assert!(
            defaults.contains(duration),
            "the answer table says {duration}, which is none of the defaults {defaults:?}"
        );
    }
    for default in &defaults {
        assert!(
            durations.contains(default),
            "the answer table never says {default}"
        );
    }
    assert!(durations.len() >= defaults.len(), "{durations:?}");
}
