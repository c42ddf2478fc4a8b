//! The one error every store of the café returns, whoever defines the
//! store's trait: `sessions` (session records), `jwt` (refresh families, the
//! denylist, token versions) and `cafe` (accounts, orders, the throttle).
//!
//! A crate of its own because `sessions` and `jwt` do not depend on each
//! other (and `jwt` also builds for the browser): both re-export it, so a
//! shared store (Redis) has one error to make and the app one to answer.
//!
//! ```
//! let error = store_error::StoreError("redis: connection refused".to_owned());
//! assert_eq!(error.to_string(), "store unavailable: redis: connection refused");
//! ```

/// The store could not be reached or answered nonsense. The app answers
/// 503: the caller did nothing wrong, nobody is let in, and nobody is logged
/// out by mistake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "store unavailable: {}", self.0)
    }
}

impl std::error::Error for StoreError {}
