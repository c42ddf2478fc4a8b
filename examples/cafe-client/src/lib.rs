//! The client for a running café, as any program outside the server sees
//! it: one [`Call`] sent, one [`Reply`] read, and a [`Visitor`] that logs
//! in, keeps the [`Credential`] the server's mode hands out, attaches it the
//! way a browser or an app would, refreshes it and logs out.
//!
//! The café's tests, the attack lab and the benchmarks all talk to the café
//! through this crate, so there is one answer to "how does a client send a
//! session cookie, a bearer token or a refresh cookie". [`launch`] starts
//! the processes those programs need: the `cafe` binary and `redis-server`.
//! A [`Profile`] points the same client at another server that speaks the
//! café's API under its own paths, field names and cookies.
//!
//! ```no_run
//! # async fn run() -> Result<(), cafe_client::ClientError> {
//! use cafe_client::{Client, Visitor};
//! let client = Client::new("http://127.0.0.1:8080")?;
//! let mut alice = Visitor::new(client);
//! alice.log_in("alice", "wonderland-42").await?;
//! let me = alice.get("/me").await?;
//! assert_eq!(me.status, 200);
//! # Ok(()) }
//! ```

mod call;
mod client;
mod credential;
pub mod launch;
pub mod profile;
mod reply;

pub use call::Call;
pub use client::{Client, ClientError, Visitor, login_call};
pub use credential::{Credential, Mechanism};
pub use profile::{Endpoint, Profile, ProfileError};
pub use reply::Reply;

/// The HTTP method type [`Call`] carries.
pub use http::Method;

/// A demo user's password, as the café prints them at start: `""` for a
/// name that is not a demo user. Another server's accounts are in its
/// [`Profile`].
pub fn demo_password(user: &str) -> &'static str {
    cafe::users::DEMO_USERS
        .iter()
        .find(|(name, _, _)| *name == user)
        .map_or("", |(_, password, _)| password)
}
