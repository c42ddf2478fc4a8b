//! `cafe serve` runs the café app on a TCP port; `cafe token` decodes and
//! verifies JWTs; `cafe attack` runs the attack lab against a server. All the app is in the library: this file reads flags,
//! refuses bad ones, and serves.

use cafe::attacks::{Attack, Lab, Outcome};
use cafe::cli::{given_secret, key_id, shared_hs256_secret, signing_keys, verification_key};
use cafe::duration::parse_duration;
use cafe::inspect::{decode, verify};
use cafe::redis_store::RedisStore;
use cafe::store::Stores;
use cafe::users::DEMO_USERS;
use cafe::{AllowedOrigins, AuthMode, Config};
use clap::{Parser, Subcommand, ValueEnum};
use jwt::RevocationChecks;
use jwt::keys::{KeyRing, SigningAlgorithm, SigningKey};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// The café app from "Sessions vs JWT, the executable guide".
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the café's JSON API.
    Serve(ServeArgs),
    /// Take a JWT apart, or check its signature.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Several café servers behind a round-robin load balancer.
    Cluster(ClusterArgs),
    /// Run an attack from the book's attack lab against a running server,
    /// printing what it sent and what it got.
    Attack(AttackArgs),
}

#[derive(clap::Args)]
#[command(arg_required_else_help = true)]
struct AttackArgs {
    /// The attack (see --list), or `all`.
    #[arg(required_unless_present = "list")]
    name: Option<String>,
    /// List every attack and what it tries.
    #[arg(long)]
    list: bool,
    /// The server to attack.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    target: String,
    /// A second server on the same store, for the attacks that play two
    /// servers against each other.
    #[arg(long)]
    second_target: Option<String>,
    /// The server's HS256 secret, from a file: lets the lab sign tokens as a
    /// key holder could, to test the rules behind the signature (expiry,
    /// issuer, audience, type). Or set CAFE_JWT_SECRET.
    #[arg(long)]
    jwt_secret_file: Option<PathBuf>,
}

#[derive(clap::Args)]
struct ClusterArgs {
    /// How many café servers.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=16))]
    instances: u16,
    /// How every server remembers who is logged in.
    #[arg(long, value_enum, default_value_t = Auth::Sessions)]
    auth: Auth,
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
}

#[derive(clap::Args)]
struct ServeArgs {
    /// How the server remembers who is logged in.
    #[arg(long, value_enum, default_value_t = Auth::Sessions)]
    auth: Auth,
    #[command(flatten)]
    store: StoreArgs,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Sessions: a session unused for this long ends (e.g. 90s, 30m, 8h).
    #[arg(long, default_value = "30m", value_parser = parse_duration)]
    idle_timeout: Duration,
    /// Sessions: a session ends this long after login, however active.
    #[arg(long, default_value = "8h", value_parser = parse_duration)]
    absolute_timeout: Duration,
    /// JWT: the signing algorithm.
    #[arg(long, value_enum, default_value_t = Alg::Hs256)]
    alg: Alg,
    /// JWT, HS256: a file holding the secret (at least 32 bytes; one trailing
    /// newline is ignored). Or set CAFE_JWT_SECRET. Without either, a random
    /// secret is made at start and tokens do not survive a restart.
    #[arg(long)]
    jwt_secret_file: Option<PathBuf>,
    /// JWT: how long an access token lives [default: 15m; 5m for hybrid].
    #[arg(long, value_parser = parse_duration)]
    access_ttl: Option<Duration>,
    /// JWT: how long a login's refresh tokens live, from login.
    #[arg(long, default_value = "7d", value_parser = parse_duration)]
    refresh_ttl: Duration,
    /// JWT: check every access token's version against the user's, so role
    /// changes, bans, "log out everywhere" and refresh-token theft apply at
    /// once (one store lookup per request).
    #[arg(long)]
    check_token_version: bool,
    /// JWT: refuse logged-out access tokens before they expire (one store
    /// lookup per request). Without it, logout ends only the refresh token.
    #[arg(long)]
    check_denylist: bool,
    /// An origin the café's pages are served from (scheme://host:port); may
    /// be repeated. State-changing requests from other origins are refused.
    /// Default: http://localhost:PORT and http://127.0.0.1:PORT.
    #[arg(long = "allowed-origin", value_name = "ORIGIN")]
    allowed_origins: Vec<String>,
    /// Serve /xss-demo, a page with a deliberate cross-site scripting hole,
    /// to watch what an injected script can do in each mode. Never in
    /// production.
    #[arg(long)]
    enable_deliberately_vulnerable_xss_demo: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum Auth {
    /// Server-side sessions: a random ID in a cookie, the record on the server.
    Sessions,
    /// JWTs: a signed access token per request, a refresh token to renew it.
    Jwt,
    /// A short JWT in the page's memory; the refresh token in an HttpOnly
    /// cookie sent to /refresh only.
    Hybrid,
}

/// Where state lives: `serve` and `cluster` take the same flags.
#[derive(clap::Args)]
struct StoreArgs {
    /// Where the server keeps its state: in this process, or in Redis, shared
    /// by every server that points at the same Redis.
    #[arg(long, value_enum, default_value_t = Store::Memory)]
    store: Store,
    /// With --store redis: the Redis server, or with --redis-cluster any of
    /// the cluster's nodes, comma-separated.
    #[arg(long, env = "CAFE_REDIS_URL", default_value = "redis://127.0.0.1:6379")]
    redis_url: String,
    /// With --store redis: Redis is a Redis Cluster.
    #[arg(long)]
    redis_cluster: bool,
}

impl StoreArgs {
    /// The stores these flags name: `None` for the default, memory.
    async fn stores(&self) -> Result<Option<Stores>, String> {
        match self.store {
            Store::Memory => Ok(None),
            Store::Redis => redis_stores(&self.redis_url, self.redis_cluster)
                .await
                .map(Some),
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Store {
    /// Every piece of state in this process: fast, gone on restart, and
    /// unknown to any other server.
    Memory,
    /// Every piece of state in Redis, keys prefixed `cafe:`.
    Redis,
}

#[derive(Clone, Copy, ValueEnum)]
enum Alg {
    /// HMAC-SHA-256 with a shared secret.
    Hs256,
    /// ECDSA P-256; the public key is published at /.well-known/jwks.json.
    Es256,
    /// Ed25519; the public key is published at /.well-known/jwks.json.
    Eddsa,
}

#[derive(Subcommand)]
enum TokenCommand {
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
    },
}

impl Alg {
    fn signing_algorithm(self) -> SigningAlgorithm {
        match self {
            Alg::Hs256 => SigningAlgorithm::Hs256,
            Alg::Es256 => SigningAlgorithm::Es256,
            Alg::Eddsa => SigningAlgorithm::EdDsa,
        }
    }
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    let mut config = Config::new(match args.auth {
        Auth::Sessions => AuthMode::Sessions,
        Auth::Jwt => AuthMode::Jwt,
        Auth::Hybrid => AuthMode::Hybrid,
    });
    config.session_timeouts.idle = args.idle_timeout;
    config.session_timeouts.absolute = args.absolute_timeout;
    if let Some(access_ttl) = args.access_ttl {
        config.jwt_lifetimes.access = access_ttl.as_secs();
    }
    config.jwt_lifetimes.refresh = args.refresh_ttl.as_secs();
    config.revocation_checks = RevocationChecks {
        denylist: args.check_denylist,
        token_version: args.check_token_version,
    };
    config.allowed_origins = AllowedOrigins::new(&args.allowed_origins);
    config.xss_demo = args.enable_deliberately_vulnerable_xss_demo;
    let mut note = None;
    if matches!(args.auth, Auth::Jwt | Auth::Hybrid) {
        // A short or empty secret stops the server here, before it listens.
        let secret_from_env = std::env::var_os("CAFE_JWT_SECRET");
        let (keys, about) = signing_keys(
            args.alg.signing_algorithm(),
            args.jwt_secret_file.as_deref(),
            secret_from_env,
        )?;
        config.jwt_keys = keys;
        note = Some(about);
    }

    if let Some(stores) = args.store.stores().await? {
        config.stores = stores;
    }

    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.addr))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    // Scripts and tests read this first line to learn the port.
    println!("listening on http://{address}");
    if let Some(note) = note {
        println!("signing: {note}");
    }
    println!("demo users:");
    for (name, password, role) in DEMO_USERS {
        println!("  {name:<6} password {password:<16} role {role:?}");
    }
    cafe::serve(listener, config)
        .await
        .map_err(|e| e.to_string())
}

/// Every store on Redis (one server, or a cluster reached through `urls`,
/// comma-separated), with the demo accounts.
async fn redis_stores(urls: &str, cluster: bool) -> Result<Stores, String> {
    let failed = |e: cafe::store::StoreError| format!("cannot use Redis at {urls}: {e}");
    if cluster {
        let nodes: Vec<String> = urls.split(',').map(|url| url.trim().to_owned()).collect();
        let store = RedisStore::connect_cluster(&nodes, "cafe:")
            .await
            .map_err(failed)?;
        store.seed_demo_users().await.map_err(failed)?;
        Ok(Stores::all_in(Arc::new(store)))
    } else {
        let store = RedisStore::connect(urls, "cafe:").await.map_err(failed)?;
        store.seed_demo_users().await.map_err(failed)?;
        Ok(Stores::all_in(Arc::new(store)))
    }
}

async fn cluster(args: ClusterArgs) -> Result<(), String> {
    let auth = match args.auth {
        Auth::Sessions => AuthMode::Sessions,
        Auth::Jwt => AuthMode::Jwt,
        Auth::Hybrid => AuthMode::Hybrid,
    };
    let secret = shared_hs256_secret(
        args.jwt_secret_file.as_deref(),
        std::env::var_os("CAFE_JWT_SECRET"),
    )?;
    let bind = |address: SocketAddr| async move {
        tokio::net::TcpListener::bind(address)
            .await
            .map_err(|e| format!("cannot listen on {address}: {e}"))
    };
    let balancer = bind(args.addr).await?;
    let balancer_port = balancer.local_addr().map_err(|e| e.to_string())?.port();
    let mut instances = Vec::new();
    for n in 1..=args.instances {
        let mut address = args.addr;
        if args.addr.port() != 0 {
            address.set_port(args.addr.port() + n);
        }
        let mut config = Config::new(auth);
        // Pages come through the balancer, so its origin is the servers' own.
        config.allowed_origins = AllowedOrigins::new([
            format!("http://localhost:{balancer_port}"),
            format!("http://127.0.0.1:{balancer_port}"),
        ]);
        config.jwt_keys = KeyRing::new(
            SigningKey::hs256(key_id(SigningAlgorithm::Hs256), &secret)
                .map_err(|e| e.to_string())?,
        );
        if let Some(stores) = args.store.stores().await? {
            config.stores = stores;
        }
        instances.push((bind(address).await?, config));
    }
    // Scripts and tests read these lines to learn the ports.
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

/// Runs one attack (or all) and prints every exchange and the verdict.
/// Succeeds if the server refused every attack it ran.
async fn attack(args: AttackArgs) -> Result<bool, String> {
    if args.list {
        print!("{}", cafe::attacks::listing());
        return Ok(true);
    }
    let name = args.name.unwrap_or_default();
    let attacks: Vec<Attack> = if name == "all" {
        cafe::attacks::catalogue()
    } else {
        let found = cafe::attacks::find(&name)
            .ok_or_else(|| format!("no attack called {name:?}; see `cafe attack --list`"))?;
        vec![found]
    };
    let mut lab = Lab::connect(&args.target).await?;
    if let Some(second) = &args.second_target {
        lab = lab.with_second_target(second);
    }
    let secret = given_secret(
        args.jwt_secret_file.as_deref(),
        std::env::var_os("CAFE_JWT_SECRET"),
    )?;
    if let Some(secret) = secret {
        lab = lab.with_signing_key(
            SigningKey::hs256(key_id(SigningAlgorithm::Hs256), &secret)
                .map_err(|e| e.to_string())?,
        );
    }
    let server = lab.server();
    println!("server: {:?}, {:?}\n", server.mechanism, server.algorithm);
    let mut all_refused = true;
    for attack in &attacks {
        println!("== {} ({})", attack.name, attack.family.title());
        println!("tries:  {}", attack.attempt);
        println!("must:   {}", attack.defence);
        println!("source: {}", attack.source);
        let outcome = lab.run(attack).await;
        for exchange in lab.take_exchanges() {
            print!("{}", cafe::attacks::show_exchange(&exchange));
        }
        match outcome {
            Ok(Outcome::Refused(how)) => println!("verdict: REFUSED: {how}\n"),
            Ok(Outcome::Accepted(what)) => {
                all_refused = false;
                println!("verdict: ACCEPTED: {what}\n");
            }
            Ok(Outcome::Skipped(why)) => println!("verdict: skipped: {why}\n"),
            Err(error) => {
                all_refused = false;
                println!("verdict: ERROR: {error}\n");
            }
        }
    }
    Ok(all_refused)
}

fn token(command: TokenCommand) -> Result<bool, String> {
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
        } => {
            let key = verification_key(
                jwt_secret_file.as_deref(),
                hs256_key_base64url.as_deref(),
                jwks_file.as_deref(),
                std::env::var_os("CAFE_JWT_SECRET"),
            )?;
            let now = at.unwrap_or_else(|| {
                cafe::mechanisms::jwt::unix_seconds(std::time::SystemTime::now())
            });
            let report = verify(&token, &key, now);
            for line in &report.lines {
                println!("{line}");
            }
            Ok(report.accepted)
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    // Request logs and warnings to stderr; stdout stays for what readers and
    // scripts read (the address, the demo users, the token commands' output).
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::INFO)
        .init();
    let result = match Cli::parse().command {
        Command::Serve(args) => serve(args).await.map(|()| true),
        Command::Token(command) => token(command),
        Command::Cluster(args) => cluster(args).await.map(|()| true),
        Command::Attack(args) => attack(args).await,
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("cafe: {message}");
            ExitCode::FAILURE
        }
    }
}
