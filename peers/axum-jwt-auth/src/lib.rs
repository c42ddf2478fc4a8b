//! The café's JWT API served with [axum-jwt-auth] doing the verification,
//! written the way its docs' working example (`examples/local/local.rs`:
//! a `LocalDecoder` in the state, the `Claims<T>` extractor in handlers)
//! does it. The crate only checks tokens: signing them
//! (`jsonwebtoken::encode`), login, refresh and revocation are this
//! crate's own code, built on the one hook axum-jwt-auth offers, its public
//! `JwtDecoder` trait.
//!
//! Two configurations:
//!
//! - **default**, as the docs leave it: `Validation::new(HS256)` with an
//!   audience (which `LocalDecoder` insists on), jsonwebtoken's defaults for
//!   the rest, the crate's own error answers, opaque refresh tokens rotated
//!   in memory;
//! - **hardened** (`--hardened`): jsonwebtoken's knobs turned to what the
//!   book recommends, and the minimum a reader must add where there is no
//!   knob, each commented with its source.
//!
//! ```console
//! $ cargo run -p peer-axum-jwt-auth -- --hardened --port 0
//! listening on http://127.0.0.1:40719
//! ```
//!
//! [axum-jwt-auth]: https://docs.rs/axum-jwt-auth/0.7.0

// A request must never panic its way out: every path reachable from one
// returns an error instead (start-up code opts out, one function at a time).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

// Lets this crate's files name it `peer_axum_jwt_auth::…`, as a chapter's
// listing of one of them would.
extern crate self as peer_axum_jwt_auth;

pub mod accounts;
pub mod refresh;
pub mod routes;
pub mod tokens;

use axum::Router;
use peer_axum_jwt_auth::accounts::Accounts;
use peer_axum_jwt_auth::refresh::RefreshFamilies;
use peer_axum_jwt_auth::routes::{AppState, Peer};
use peer_axum_jwt_auth::tokens::{CheckedDecoder, TokenIssuer, default_decoder};
use std::path::Path;
use std::sync::Arc;
use tokio::net::TcpListener;

/// The port `main` listens on unless `--port` says otherwise.
pub const DEFAULT_PORT: u16 = 8082;

/// The shortest HS256 secret accepted: 256 bits, the hash's output size
/// (RFC 7518 §3.2; RFC 8725 §3.5).
pub const MIN_SECRET_BYTES: usize = 32;

/// How to build the peer.
pub struct PeerConfig {
    /// The hardened configuration instead of the docs' one.
    pub hardened: bool,
    secret: Vec<u8>,
}

impl PeerConfig {
    /// A configuration signing with `secret`, refused if it is shorter than
    /// [`MIN_SECRET_BYTES`].
    pub fn new(hardened: bool, secret: Vec<u8>) -> Result<PeerConfig, String> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(format!(
                "the HS256 secret is {} bytes; it must be at least {MIN_SECRET_BYTES}",
                secret.len()
            ));
        }
        Ok(PeerConfig { hardened, secret })
    }

    /// A configuration signing with 32 random bytes made now: tokens end
    /// with the process.
    pub fn with_random_secret(hardened: bool) -> Result<PeerConfig, String> {
        let mut secret = vec![0u8; MIN_SECRET_BYTES];
        getrandom::fill(&mut secret).map_err(|e| format!("no randomness from the OS: {e}"))?;
        PeerConfig::new(hardened, secret)
    }
}

/// Reads an HS256 secret from a file, as the café's `--jwt-secret-file`
/// does: the bytes, less one trailing newline, so the attack lab can read
/// the same file.
pub fn read_secret_file(path: &Path) -> Result<Vec<u8>, String> {
    let mut secret =
        std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if secret.last() == Some(&b'\n') {
        secret.pop();
    }
    Ok(secret)
}

// ANCHOR: app
/// The app: the demo users (hashed now), no logins, no orders.
pub fn app(config: PeerConfig) -> Router {
    let accounts = Arc::new(Accounts::demo(config.hardened));
    app_with_accounts(config, accounts)
}

/// The app on `accounts` (made with [`Accounts::demo`]), which a test keeps
/// to count the password checks ([`Accounts::verifications`]).
pub fn app_with_accounts(config: PeerConfig, accounts: Arc<Accounts>) -> Router {
    let families = Arc::new(RefreshFamilies::new());
    let built = if config.hardened {
        CheckedDecoder::new(&config.secret, Arc::clone(&accounts), Arc::clone(&families))
            .map(|decoder| Arc::new(decoder) as _)
    } else {
        default_decoder(&config.secret)
    };
    #[allow(
        clippy::expect_used,
        reason = "start-up: the keys and validation are constants LocalDecoder accepts; \
            every test builds both configurations"
    )]
    let decoder = built.expect("a LocalDecoder with one key, one algorithm and an audience");
    let issuer = TokenIssuer::new(&config.secret);
    let peer = Peer::new(config.hardened, issuer, accounts, families);
    peer_axum_jwt_auth::routes::router(AppState {
        decoder,
        peer: Arc::new(peer),
    })
}
// ANCHOR_END: app

/// Serves `app` on `listener` until the process ends, as the docs do
/// (`axum::serve`).
pub async fn serve(listener: TcpListener, app: Router) -> std::io::Result<()> {
    axum::serve(listener, app).await
}
