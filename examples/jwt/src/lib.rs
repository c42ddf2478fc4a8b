//! JSON Web Tokens for the café app.
//!
//! This crate starts where every JWT lesson should: taking a token apart by
//! hand ([`anatomy`]), to see that its header and claims are merely encoded,
//! not hidden, and that only the signature makes them trustworthy. Then the
//! real mechanism: keys with ids and rotation ([`keys`]), access and refresh
//! tokens checked with every rule spelled out ([`tokens`]), and the server
//! state that revocation brings back ([`revocation`], [`TokenAuthority`]).
//!
//! It also builds for WebAssembly, where the book's token lab runs the same
//! checks in the page; only making keys ([`keys::SigningKey::generate`])
//! needs the server's crypto library, aws-lc-rs.
//!
//! ```
//! let token = jwt::anatomy::RFC7515_A1_TOKEN;
//! let (header, claims) = jwt::anatomy::decode_unverified(token)?;
//! assert_eq!(header["alg"], "HS256");
//! assert_eq!(claims["iss"], "joe");
//! # Ok::<(), jwt::anatomy::AnatomyError>(())
//! ```

// A request must never panic its way out: every path reachable from one
// returns an error instead.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

// Lets this crate's own files name it `jwt::…`, as the book's listings do:
// a chapter can then compile a whole source file as a doctest and show one
// anchored part of it (`{{#rustdoc_include}}`).
extern crate self as jwt;

pub mod anatomy;
mod authority;
pub mod forge;
pub mod keys;
pub mod revocation;
pub mod tokens;

pub use authority::{
    AccessRefusal, IssueError, Lifetimes, RefreshRefusal, Renewed, RevocationChecks, Standing,
    TokenAuthority, TokenPair, TokenStores,
};
