//! The `cafe` commands, as library functions: `main.rs` parses the flags
//! declared here and calls [`serve`], [`cluster`] or [`token`], one call per
//! command. Also what they need beyond flags: reading a secret, building the
//! signing key ring, choosing a verification key, connecting the stores.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cafe::client_address::TrustedProxies;
use cafe::clock::unix_seconds;
use cafe::cross_site::{CrossSiteOrigins, parse_origin};
use cafe::duration::parse_duration;
use cafe::inspect::{VerificationKey, decode, verify};
use cafe::redis_store::RedisStore;
use cafe::store::{StoreError, Stores};
use cafe::users::DEMO_USERS;
use cafe::{AllowedOrigins, AuthMode, Config};
use clap::builder::PossibleValue;
use clap::{Subcommand, ValueEnum};
use ipnet::IpNet;
use jwt::keys::{KeyRing, MIN_HS256_SECRET_BYTES, SigningAlgorithm, SigningKey};
use jwt::{Lifetimes, RevocationChecks};
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

// ---------------------------------------------------------------- the flags

/// `cafe serve`: one café server.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// How the server remembers who is logged in.
    #[arg(long, value_enum, default_value_t = AuthMode::Sessions)]
    auth: AuthMode,
    #[command(flatten)]
    store: StoreArgs,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Sessions: a session unused for this long ends (e.g. 90s, 30m, 8h; at
    /// most 366d, as every duration here).
    #[arg(long, default_value = "30m", value_parser = parse_duration)]
    idle_timeout: Duration,
    /// Sessions: a session ends this long after login, however active.
    #[arg(long, default_value = "8h", value_parser = parse_duration)]
    absolute_timeout: Duration,
    /// JWT: the signing algorithm.
    #[arg(long, value_enum, default_value_t = SigningAlgorithm::Hs256)]
    alg: SigningAlgorithm,
    #[command(flatten)]
    secret: SecretArgs,
    /// JWT: how long an access token lives [default: 15m; 5m for hybrid].
    #[arg(long, value_parser = parse_duration)]
    access_ttl: Option<Duration>,
    /// JWT: how long a login's refresh tokens live, from login.
    #[arg(long, default_value = "7d", value_parser = parse_duration)]
    refresh_ttl: Duration,
    /// JWT: a login not refreshed for this long ends (an inactivity
    /// timeout) [default: 30m past the access token's lifetime: 45m; 35m
    /// for hybrid].
    #[arg(long, value_parser = parse_duration)]
    refresh_idle_timeout: Option<Duration>,
    /// JWT: check every access token's version against the user's, so role
    /// changes, bans, "log out everywhere" and refresh-token theft apply at
    /// once (one store lookup per request).
    #[arg(long)]
    check_token_version: bool,
    /// JWT: refuse the access tokens of an ended login (logged out, ended
    /// from another device, or by a password change) before they expire
    /// (one store lookup per request). Without it, logout ends only the
    /// refresh token.
    #[arg(long)]
    check_denylist: bool,
    /// An origin the café's pages are served from (scheme://host:port); may
    /// be repeated. State-changing requests from other origins are refused.
    /// Default: http://localhost:PORT and http://127.0.0.1:PORT.
    #[arg(long = "allowed-origin", value_name = "ORIGIN")]
    allowed_origins: Vec<String>,
    /// A page on another site that may call the café with the user's
    /// credentials: its exact origin (scheme://host[:port], no wildcard;
    /// https, or http on localhost or a loopback address); may be
    /// repeated. It gets CORS, its writes pass the origin check, and the
    /// café's cookies become SameSite=None; Partitioned. Default: none.
    #[arg(long = "cross-site-origin", value_name = "ORIGIN", value_parser = parse_origin)]
    cross_site_origins: Vec<String>,
    /// A proxy (address or CIDR, e.g. 10.0.0.0/8) whose X-Forwarded-For
    /// names the client the login throttle counts; may be repeated. Without
    /// one, the client is the connection's peer and the header is ignored.
    #[arg(long = "trusted-proxy", value_name = "CIDR")]
    trusted_proxies: Vec<String>,
    /// How many orders one account keeps; the next is refused with 409.
    #[arg(
        long,
        default_value_t = cafe::orders::MAX_ORDERS_PER_USER as u32,
        value_parser = clap::value_parser!(u32).range(1..=10_000_000)
    )]
    max_orders_per_user: u32,
    /// Serve /xss-demo, a page with a deliberate cross-site scripting hole,
    /// to watch what an injected script can do in each mode. Never in
    /// production.
    #[arg(long)]
    enable_deliberately_vulnerable_xss_demo: bool,
}

/// `cafe cluster`: several café servers behind a round-robin balancer.
#[derive(clap::Args)]
pub struct ClusterArgs {
    /// How many café servers.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=16))]
    instances: u16,
    /// How every server remembers who is logged in.
    #[arg(long, value_enum, default_value_t = AuthMode::Sessions)]
    auth: AuthMode,
    #[command(flatten)]
    store: StoreArgs,
    /// The load balancer's address; the servers take the ports after it
    /// (port 0: every one picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// JWT and hybrid: the HS256 secret every server shares, from a file.
    /// Or set CAFE_JWT_SECRET; without either, a random one made now.
    #[arg(long)]
    jwt_secret_file: Option<PathBuf>,
    /// The secret itself, from `CAFE_JWT_SECRET` (see [`SecretArgs`]).
    #[arg(long = "jwt-secret", env = "CAFE_JWT_SECRET", hide = true)]
    secret_from_env: Option<OsString>,
}

/// The HS256 secret `serve` signs with.
#[derive(clap::Args)]
struct SecretArgs {
    /// JWT, HS256: a file holding the secret (at least 32 bytes; one trailing
    /// newline is ignored). Or set CAFE_JWT_SECRET. Without either, a random
    /// secret is made at start and tokens do not survive a restart.
    #[arg(long)]
    jwt_secret_file: Option<PathBuf>,
    /// The secret itself, from `CAFE_JWT_SECRET`. clap reads a variable only
    /// for a flag, so there is one, hidden: a secret typed on the command
    /// line is visible to every user of the machine (`ps`), so nobody is
    /// invited to. A value, not a path, unlike `--jwt-secret-file`.
    #[arg(long = "jwt-secret", env = "CAFE_JWT_SECRET", hide = true)]
    from_env: Option<OsString>,
}

/// Where state lives: `serve` and `cluster` take the same flags.
#[derive(clap::Args)]
struct StoreArgs {
    /// Where the server keeps its state: in this process, or in Redis, shared
    /// by every server that points at the same Redis.
    #[arg(long, value_enum, default_value_t = StoreKind::Memory)]
    store: StoreKind,
    /// With --store redis: the Redis server, or with --redis-cluster any of
    /// the cluster's nodes, comma-separated.
    #[arg(long, env = "CAFE_REDIS_URL", default_value = "redis://127.0.0.1:6379")]
    redis_url: String,
    /// With --store redis: Redis is a Redis Cluster.
    #[arg(long)]
    redis_cluster: bool,
}

/// `--store`.
#[derive(Clone, Copy, ValueEnum)]
enum StoreKind {
    /// Every piece of state in this process: fast, gone on restart, and
    /// unknown to any other server.
    Memory,
    /// Every piece of state in Redis, keys prefixed `cafe:`.
    Redis,
}

/// `cafe token`: take a JWT apart, or check its signature.
#[derive(Subcommand)]
pub enum TokenCommand {
    /// Print a token's header and claims. Checks nothing: anyone can do this.
    Decode {
        /// The token.
        token: String,
    },
    /// Check a token's signature with a key, then its exp and nbf.
    Verify {
        /// The token.
        token: String,
        /// The HS256 secret, from a file (as `serve --jwt-secret-file`).
        #[arg(long, group = "key")]
        jwt_secret_file: Option<PathBuf>,
        /// The HS256 secret as base64url, like a JWK's `k`.
        #[arg(long, group = "key")]
        hs256_key_base64url: Option<String>,
        /// A JWK Set file, e.g. saved from /.well-known/jwks.json.
        #[arg(long, group = "key")]
        jwks_file: Option<PathBuf>,
        /// Check exp and nbf at this time (seconds since 1970) instead of now.
        #[arg(long)]
        at: Option<u64>,
        /// The secret itself, from `CAFE_JWT_SECRET`, tried last.
        #[arg(long = "jwt-secret", env = "CAFE_JWT_SECRET", hide = true)]
        secret_from_env: Option<OsString>,
    },
}

/// `--auth sessions|jwt|hybrid`: the library's own [`AuthMode`], written
/// out here because `lib.rs` keeps clap out of the app's configuration.
impl ValueEnum for AuthMode {
    fn value_variants<'a>() -> &'a [AuthMode] {
        &[AuthMode::Sessions, AuthMode::Jwt, AuthMode::Hybrid]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(match self {
            AuthMode::Sessions => PossibleValue::new("sessions")
                .help("Server-side sessions: a random ID in a cookie, the record on the server"),
            AuthMode::Jwt => PossibleValue::new("jwt")
                .help("JWTs: a signed access token per request, a refresh token to renew it"),
            AuthMode::Hybrid => PossibleValue::new("hybrid").help(
                "A short JWT in the page's memory; the refresh token in an HttpOnly cookie sent to \
                    /refresh and /logout only",
            ),
        })
    }
}

// ------------------------------------------------------------- the commands

/// `cafe serve`: builds the app from the flags, listens, prints the address
/// (scripts and tests read this first line to learn the port), how tokens
/// are signed, the `--cross-site-origin` origins if any, and the demo users,
/// and serves until the process ends.
pub async fn serve(args: ServeArgs) -> Result<(), String> {
    let address = args.addr;
    let (config, note) = serve_config(args).await?;
    let cross_site = config.cross_site_origins.origins().join(" ");

    let listener = bind(address).await?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    println!("listening on http://{address}");
    if let Some(note) = note {
        println!("signing: {note}");
    }
    if !cross_site.is_empty() {
        println!("cross-site origins (CORS with credentials): {cross_site}");
    }
    println!("demo users:");
    for (name, password, role) in DEMO_USERS {
        println!("  {name:<6} password {password:<16} role {}", role.as_str());
    }
    cafe::serve(listener, config)
        .await
        .map_err(|e| e.to_string())
}

/// The configuration `cafe serve` runs with these flags (every flag but
/// `--addr`, which is where it listens), and for JWT and hybrid a line
/// saying how tokens are signed. Connects to Redis for `--store redis`.
/// The test that runs every command the book recommends builds its servers
/// here, so they are the ones the commands start.
pub async fn serve_config(args: ServeArgs) -> Result<(Config, Option<String>), String> {
    let mut config = Config::new(args.auth);
    config.session_timeouts.idle = args.idle_timeout;
    config.session_timeouts.absolute = args.absolute_timeout;
    if let Some(access_ttl) = args.access_ttl {
        // The idle limit follows the access lifetime unless it is set too.
        config.jwt_lifetimes = Lifetimes::with_access(access_ttl.as_secs());
    }
    config.jwt_lifetimes.refresh = args.refresh_ttl.as_secs();
    if let Some(idle) = args.refresh_idle_timeout {
        config.jwt_lifetimes.refresh_idle = idle.as_secs();
    }
    config.revocation_checks = RevocationChecks {
        denylist: args.check_denylist,
        token_version: args.check_token_version,
    };
    config.allowed_origins = AllowedOrigins::new(&args.allowed_origins);
    config.cross_site_origins = CrossSiteOrigins::parse(&args.cross_site_origins)?;
    config.trusted_proxies = TrustedProxies::parse(&args.trusted_proxies)?;
    config.max_orders_per_user = usize::try_from(args.max_orders_per_user).unwrap_or(usize::MAX);
    config.xss_demo = args.enable_deliberately_vulnerable_xss_demo;
    let mut note = None;
    if matches!(args.auth, AuthMode::Jwt | AuthMode::Hybrid) {
        // A short or empty secret stops the server here, before it listens.
        let secret = args.secret;
        let (keys, about) =
            signing_keys(args.alg, secret.jwt_secret_file.as_deref(), secret.from_env)?;
        config.jwt_keys = keys;
        note = Some(about);
    }
    if let Some(stores) = args.store.stores().await? {
        config.stores = stores;
    }
    Ok((config, note))
}

/// `cafe cluster`: the balancer and `--instances` servers, all signing with
/// one shared HS256 secret; prints every address (scripts and tests read
/// them), and serves until Ctrl-C.
pub async fn cluster(args: ClusterArgs) -> Result<(), String> {
    let secret = shared_hs256_secret(args.jwt_secret_file.as_deref(), args.secret_from_env)?;
    let balancer = bind(args.addr).await?;
    let balancer_port = balancer.local_addr().map_err(|e| e.to_string())?.port();
    let mut instances = Vec::new();
    for n in 1..=args.instances {
        let mut address = args.addr;
        if args.addr.port() != 0 {
            address.set_port(args.addr.port().saturating_add(n));
        }
        let mut config = Config::new(args.auth);
        // Pages come through the balancer, so its origin is the servers' own.
        config.allowed_origins = AllowedOrigins::new([
            format!("http://localhost:{balancer_port}"),
            format!("http://127.0.0.1:{balancer_port}"),
        ]);
        // And so does every client: the balancer names each in
        // X-Forwarded-For, which the servers believe of it alone.
        // (An unspecified address is reached over loopback.)
        config.trusted_proxies = if address.ip().is_unspecified() {
            TrustedProxies::parse(&["127.0.0.0/8".to_owned(), "::1".to_owned()])?
        } else {
            TrustedProxies::new([IpNet::from(address.ip())])
        };
        config.jwt_keys = KeyRing::new(
            SigningKey::hs256(key_id(SigningAlgorithm::Hs256), &secret)
                .map_err(|e| e.to_string())?,
        );
        if let Some(stores) = args.store.stores().await? {
            config.stores = stores;
        }
        instances.push((bind(address).await?, config));
    }
    println!("load balancer on http://127.0.0.1:{balancer_port}");
    for (n, (listener, _)) in instances.iter().enumerate() {
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        println!("instance {} on http://{address}", n + 1);
    }
    tokio::select! {
        served = cafe::cluster::run(balancer, instances) => served.map_err(|e| e.to_string()),
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}

/// `cafe token decode|verify`: prints what it found; `Ok(false)` when a
/// token was refused.
pub fn token(command: TokenCommand) -> Result<bool, String> {
    match command {
        TokenCommand::Decode { token } => {
            print!("{}", decode(&token)?);
            Ok(true)
        }
        TokenCommand::Verify {
            token,
            jwt_secret_file,
            hs256_key_base64url,
            jwks_file,
            at,
            secret_from_env,
        } => {
            let key = verification_key(
                jwt_secret_file.as_deref(),
                hs256_key_base64url.as_deref(),
                jwks_file.as_deref(),
                secret_from_env,
            )?;
            let now = at.unwrap_or_else(|| unix_seconds(std::time::SystemTime::now()));
            let report = verify(&token, &key, now);
            for line in &report.lines {
                println!("{line}");
            }
            Ok(report.accepted)
        }
    }
}

async fn bind(address: SocketAddr) -> Result<tokio::net::TcpListener, String> {
    tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| format!("cannot listen on {address}: {e}"))
}

impl StoreArgs {
    /// The stores these flags name: `None` for the default, memory.
    async fn stores(&self) -> Result<Option<Stores>, String> {
        match self.store {
            StoreKind::Memory => Ok(None),
            StoreKind::Redis => redis_stores(&self.redis_url, self.redis_cluster)
                .await
                .map(Some),
        }
    }
}

/// Every store on Redis (one server, or a cluster reached through `urls`,
/// comma-separated), with the demo accounts.
async fn redis_stores(urls: &str, cluster: bool) -> Result<Stores, String> {
    let failed = |e: StoreError| format!("cannot use Redis at {urls}: {e}");
    if cluster {
        let nodes: Vec<String> = urls.split(',').map(|url| url.trim().to_owned()).collect();
        let store = RedisStore::connect_cluster(&nodes, "cafe:")
            .await
            .map_err(failed)?;
        seeded(store).await.map_err(failed)
    } else {
        let store = RedisStore::connect(urls, "cafe:").await.map_err(failed)?;
        seeded(store).await.map_err(failed)
    }
}

/// Every store in `store`, once it holds the demo accounts.
async fn seeded<C>(store: RedisStore<C>) -> Result<Stores, StoreError>
where
    C: redis::aio::ConnectionLike + Clone + Send + Sync + 'static,
{
    store.seed_demo_users().await?;
    Ok(Stores::all_in(Arc::new(store)))
}

// ------------------------------------------------------ secrets and keys

/// Reads an HS256 secret from a file, dropping one trailing newline.
pub fn read_secret(path: &Path) -> Result<Vec<u8>, String> {
    let mut secret =
        std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if secret.last() == Some(&b'\n') {
        secret.pop();
    }
    Ok(secret)
}

/// The HS256 secret the operator gave: from `--jwt-secret-file`, else from
/// `CAFE_JWT_SECRET`, else none.
pub fn given_secret(
    secret_file: Option<&Path>,
    secret_from_env: Option<OsString>,
) -> Result<Option<Vec<u8>>, String> {
    match (secret_file, secret_from_env) {
        (Some(path), _) => read_secret(path).map(Some),
        (None, Some(secret)) => Ok(Some(secret.into_encoded_bytes())),
        (None, None) => Ok(None),
    }
}

/// The key ID the café gives its key of `algorithm`
/// ([`SigningAlgorithm::first_key_id`]).
pub fn key_id(algorithm: SigningAlgorithm) -> &'static str {
    algorithm.first_key_id()
}

/// The key ring `serve` signs with, and a line telling the operator what it
/// is. A given secret is for HS256 only, and must be at least 32 bytes; a
/// short one stops the server before it listens.
pub fn signing_keys(
    algorithm: SigningAlgorithm,
    secret_file: Option<&Path>,
    secret_from_env: Option<OsString>,
) -> Result<(KeyRing, String), String> {
    let given = given_secret(secret_file, secret_from_env)?;
    let kid = key_id(algorithm);
    let generate = || SigningKey::generate(kid, algorithm).map_err(|e| e.to_string());
    let (key, note) = match (algorithm, given) {
        (SigningAlgorithm::Hs256, Some(secret)) => (
            SigningKey::hs256(kid, &secret).map_err(|e| e.to_string())?,
            format!("{algorithm} with the given secret"),
        ),
        (SigningAlgorithm::Hs256, None) => (
            generate()?,
            format!(
                "{algorithm} with a random secret made now (no --jwt-secret-file or \
                    CAFE_JWT_SECRET): tokens end with this process"
            ),
        ),
        (SigningAlgorithm::Es256 | SigningAlgorithm::EdDsa, Some(_)) => {
            return Err(
                "a secret is for --alg hs256; es256 and eddsa make their own key pair".to_owned(),
            );
        }
        (SigningAlgorithm::Es256 | SigningAlgorithm::EdDsa, None) => (
            generate()?,
            format!("{algorithm} with a key pair made now; public key at /.well-known/jwks.json"),
        ),
    };
    Ok((KeyRing::new(key), note))
}

/// The HS256 secret several servers share: from a file, from
/// `CAFE_JWT_SECRET`, or 32 random bytes made now. Checked for length.
pub fn shared_hs256_secret(
    secret_file: Option<&Path>,
    secret_from_env: Option<OsString>,
) -> Result<Vec<u8>, String> {
    let secret = match given_secret(secret_file, secret_from_env)? {
        Some(secret) => secret,
        None => {
            let mut secret = vec![0u8; MIN_HS256_SECRET_BYTES];
            getrandom::fill(&mut secret).map_err(|e| e.to_string())?;
            secret
        }
    };
    SigningKey::hs256(key_id(SigningAlgorithm::Hs256), &secret).map_err(|e| e.to_string())?;
    Ok(secret)
}

/// The key `cafe token verify` checks with: a secret file, a base64url
/// secret, a JWK Set file, or `CAFE_JWT_SECRET`, in that order.
pub fn verification_key(
    secret_file: Option<&Path>,
    hs256_key_base64url: Option<&str>,
    jwks_file: Option<&Path>,
    secret_from_env: Option<OsString>,
) -> Result<VerificationKey, String> {
    if let Some(path) = secret_file {
        return Ok(VerificationKey::Hs256Secret(read_secret(path)?));
    }
    if let Some(k) = hs256_key_base64url {
        let secret = URL_SAFE_NO_PAD
            .decode(k.trim())
            .map_err(|_| "--hs256-key-base64url is not base64url".to_owned())?;
        return Ok(VerificationKey::Hs256Secret(secret));
    }
    if let Some(path) = jwks_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let set = serde_json::from_str(&text).map_err(|e| format!("not a JWK Set: {e}"))?;
        return Ok(VerificationKey::Jwks(set));
    }
    if let Some(secret) = secret_from_env {
        return Ok(VerificationKey::Hs256Secret(secret.into_encoded_bytes()));
    }
    Err(
        "give a key: --jwt-secret-file, --hs256-key-base64url, --jwks-file, or CAFE_JWT_SECRET"
            .to_owned(),
    )
}
