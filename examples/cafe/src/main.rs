//! `cafe serve`: the café app on a TCP port. All the app is in the library;
//! this file only reads flags and serves.

use cafe::duration::parse_duration;
use cafe::users::DEMO_USERS;
use cafe::{AuthMode, Config};
use clap::{Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
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
}

#[derive(clap::Args)]
struct ServeArgs {
    /// How the server remembers who is logged in.
    #[arg(long, value_enum, default_value_t = Auth::Sessions)]
    auth: Auth,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// A session unused for this long ends (e.g. 90s, 30m, 8h).
    #[arg(long, default_value = "30m", value_parser = parse_duration)]
    idle_timeout: Duration,
    /// A session ends this long after login, however active (e.g. 8h, 1d).
    #[arg(long, default_value = "8h", value_parser = parse_duration)]
    absolute_timeout: Duration,
}

#[derive(Clone, Copy, ValueEnum)]
enum Auth {
    /// Server-side sessions: a random ID in a cookie, the record on the server.
    Sessions,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let Command::Serve(args) = Cli::parse().command;
    let mut config = Config::new(match args.auth {
        Auth::Sessions => AuthMode::Sessions,
    });
    config.session_timeouts.idle = args.idle_timeout;
    config.session_timeouts.absolute = args.absolute_timeout;

    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    // Scripts and tests read this first line to learn the port.
    println!("listening on http://{}", listener.local_addr()?);
    println!("demo users:");
    for (name, password, role) in DEMO_USERS {
        println!("  {name:<6} password {password:<16} role {role:?}");
    }
    cafe::serve(listener, config).await
}
