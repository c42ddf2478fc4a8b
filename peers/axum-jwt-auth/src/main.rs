//! `cargo run -p peer-axum-jwt-auth -- [--hardened] [--port N] [--jwt-secret-file F]`

use clap::Parser;
use peer_axum_jwt_auth::{DEFAULT_PORT, PeerConfig, app, read_secret_file, serve};
use std::path::PathBuf;
use std::process::ExitCode;

/// The café's JWT API with axum-jwt-auth doing the verification.
#[derive(Debug, Parser)]
#[command(name = "peer-axum-jwt-auth")]
struct Args {
    /// The hardened configuration: every knob of the library turned, and
    /// what a reader must add (typ, crit, live logins, token versions,
    /// refresh families). Without it, the library as its docs leave it.
    #[arg(long)]
    hardened: bool,
    /// The port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = DEFAULT_PORT)]
    port: u16,
    /// The HS256 secret (at least 32 bytes; one trailing newline is
    /// dropped). Without it, a random secret made at start.
    #[arg(long, value_name = "FILE")]
    jwt_secret_file: Option<PathBuf>,
}

fn config(args: &Args) -> Result<PeerConfig, String> {
    match &args.jwt_secret_file {
        Some(path) => read_secret_file(path)
            .and_then(|secret| PeerConfig::new(args.hardened, secret))
            .map_err(|e| format!("--jwt-secret-file: {e}")),
        None => PeerConfig::with_random_secret(args.hardened),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let config = match config(&args) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("error: --port {}: {e}", args.port);
            return ExitCode::FAILURE;
        }
    };
    let address = match listener.local_addr() {
        Ok(address) => address,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let which = if args.hardened { "hardened" } else { "default" };
    eprintln!("axum-jwt-auth peer, {which} configuration");
    println!("listening on http://{address}");
    match serve(listener, app(config)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
