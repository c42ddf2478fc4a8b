//! `cargo run -p peer-axum-login -- [--hardened] [--store memory|redis]
//! [--redis-url URL] [--port N]`: parses the flags and serves.

use clap::{CommandFactory, Parser, ValueEnum, error::ErrorKind};
use peer_axum_login::{PeerConfig, SessionStoreChoice};

/// The café's API on tower-sessions + axum-login.
#[derive(Parser)]
#[command(name = "peer-axum-login")]
struct Flags {
    /// The book's settings instead of the docs' (see the crate's docs).
    #[arg(long)]
    hardened: bool,
    /// Where sessions live.
    #[arg(long, value_enum, default_value_t = Store::Memory)]
    store: Store,
    /// The Redis server for `--store redis`, as `redis://host:port`.
    #[arg(long, required_if_eq("store", "redis"))]
    redis_url: Option<String>,
    /// The port on 127.0.0.1; 0 takes any free port.
    #[arg(long, default_value_t = 8081)]
    port: u16,
}

#[derive(Clone, Copy, ValueEnum)]
enum Store {
    Memory,
    Redis,
}

#[tokio::main]
async fn main() {
    let flags = Flags::parse();
    let store = match (flags.store, flags.redis_url) {
        (Store::Memory, None) => SessionStoreChoice::Memory,
        (Store::Redis, Some(url)) => SessionStoreChoice::Redis { url },
        (Store::Memory, Some(_)) => Flags::command()
            .error(
                ErrorKind::ArgumentConflict,
                "--redis-url needs --store redis",
            )
            .exit(),
        // clap already refused `--store redis` without a URL.
        (Store::Redis, None) => Flags::command()
            .error(
                ErrorKind::MissingRequiredArgument,
                "--store redis needs --redis-url",
            )
            .exit(),
    };
    let config = if flags.hardened {
        PeerConfig::hardened(store)
    } else {
        PeerConfig::docs_default(store)
    };
    if let Err(err) = run(config, flags.port).await {
        eprintln!("error: {err}");
        std::process::exit(1);
    }
}

async fn run(config: PeerConfig, port: u16) -> Result<(), Box<dyn std::error::Error>> {
    let app = peer_axum_login::app(config).await?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|err| format!("--port {port}: {err}"))?;
    println!("listening on http://{}", listener.local_addr()?);
    peer_axum_login::serve(listener, app).await?;
    Ok(())
}
