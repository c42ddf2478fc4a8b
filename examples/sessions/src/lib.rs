//! Server-side sessions for the café app, built in the open.
//!
//! A session is a random ticket (the session ID) that the browser carries in a
//! cookie, and a record that the server keeps under that ticket. This crate
//! grows chapter by chapter; it starts with the ticket itself.
//!
//! ```
//! let id = sessions::SessionId::generate()?;
//! assert_eq!(id.as_str().len(), 43);
//! # Ok::<(), sessions::RandomError>(())
//! ```

pub mod id;

pub use id::{RandomError, SESSION_ID_BYTES, SessionId, entropy_bits, expected_seconds_to_guess};
