//! The café and the peer servers (`peers/axum-login`, `peers/axum-jwt-auth`)
//! measured the same way: nothing but tests.
//!
//! `tests/libraries.rs` serves every server configuration in this process
//! on loopback, runs every conformance check and every lab attack against
//! each through its target profile file, over real HTTP, and writes the
//! book's table, one column per configuration:
//!
//! ```console
//! $ UPDATE_TRANSCRIPTS=1 cargo test -p peer-compare --test libraries
//! ```
//!
//! `tests/readme.rs` runs the README's lines that point the lab at a peer
//! started by hand.
