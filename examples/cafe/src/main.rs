//! `cafe serve` runs the café app on a TCP port; `cafe cluster` runs several
//! behind a load balancer; `cafe token` decodes and verifies JWTs. All the
//! app is in the library, and so is each command (`cafe::cli`): this file
//! reads the flags and calls one function per command.

use cafe::cli::{ClusterArgs, ServeArgs, TokenCommand};
use clap::{Parser, Subcommand};
use std::process::ExitCode;

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
        Command::Serve(args) => cafe::cli::serve(args).await.map(|()| true),
        Command::Token(command) => cafe::cli::token(command),
        Command::Cluster(args) => cafe::cli::cluster(args).await.map(|()| true),
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
