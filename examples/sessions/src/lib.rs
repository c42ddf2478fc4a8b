//! Server-side sessions for the café app, built in the open.
//!
//! A session is a random ticket (the session ID) that the browser carries in a
//! cookie, and a record that the server keeps under that ticket. The pieces:
//!
//! - [`id`]: drawing the ticket, and the hash the server files it under;
//! - [`store`]: where records live ([`MemoryStore`] here; a shared store
//!   implements the same trait);
//! - [`timeouts`]: idle and absolute expiry, decided on the server;
//! - [`cookie`]: the `Set-Cookie` header, every attribute spelled out;
//! - [`Sessions`]: what an app needs: start, resume, end, end all, and a
//!   user's list of their sessions.
//!
//! ```
//! let id = sessions::SessionId::generate()?;
//! assert_eq!(id.as_str().len(), 43);
//! # Ok::<(), sessions::RandomError>(())
//! ```

// Lets this crate's own files name it `sessions::…`, as the book's listings
// do: a chapter can then compile a whole source file as a doctest and show
// one anchored part of it (`{{#rustdoc_include}}`).
extern crate self as sessions;

pub mod cookie;
pub mod id;
mod key_hex;
mod manager;
pub mod store;
pub mod timeouts;

pub use id::{
    RandomError, SESSION_ID_BYTES, SessionId, SessionKey, entropy_bits, expected_seconds_to_guess,
};
pub use manager::{SessionError, Sessions, login_id};
pub use store::{
    ActiveSession, Device, KeepFor, MemoryStore, SessionRecord, SessionStore, StoreError,
};
pub use timeouts::{Timeouts, Verdict};
