//! The book's token lab: take a JWT apart, edit its header and claims, sign
//! it again or leave the old signature, and ask the café's own verifier
//! (`jwt::tokens::verify`, the code the chapters include and the server
//! runs) what it makes of it, in the browser.
//!
//! Everything here is plain Rust and tested natively; [`browser`] exports it
//! to the page's script when the crate is built for WebAssembly:
//!
//! ```console
//! $ bash .ci/build-token-lab   # wasm32 build, then wasm-bindgen and wasm-opt
//! $ mdbook serve               # and open the chapter "Token lab"
//! ```
//!
//! It signs with demo keys only, which are printed here and in the book.

// As in the jwt crate: nothing a page sends may panic its way out.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

// Lets `lab.rs` name this crate `token_lab::…`, as the book's listings do
// (see the jwt crate).
extern crate self as token_lab;

#[cfg(target_arch = "wasm32")]
pub mod browser;
pub mod json_text;
mod lab;

pub use lab::*;
