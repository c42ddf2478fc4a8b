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

/// How many live logins one user may hold at once, in every store:
/// sessions, and separately refresh families. A login past it ends the
/// user's login that is nearest its end (for sessions, the one used least
/// recently; for refresh families, the oldest), and that login's next
/// request is refused like any logged-out one. A hundred is far more
/// devices and browsers than a person uses, and it bounds what listing,
/// ending and "log out everywhere" cost for one user, however many times
/// they log in.
pub const MAX_LIVE_LOGINS_PER_USER: usize = 100;

/// Where a login was made from, as its user sees it in their list of
/// logins (ASVS 5.0 requirement 7.5.2): the client's address and a short
/// form of its `User-Agent`. Kept beside each session record and each
/// refresh family; never used to decide who may act, since both are what
/// the client says (the address through trusted proxies only).
///
/// Here beside [`StoreError`] for the same reason: `sessions` and `jwt` both
/// keep it, and neither depends on the other.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Device {
    /// The client's address (an IPv4 address, or an IPv6 /64).
    pub client: String,
    /// The `User-Agent`, cut to [`Device::USER_AGENT_CHARS`] characters.
    pub user_agent: String,
}

impl Device {
    /// How much of a `User-Agent` is kept: enough to tell a phone from a
    /// laptop, and a bound on what a client can make the store hold.
    pub const USER_AGENT_CHARS: usize = 80;

    /// A device from a client address and the `User-Agent` as sent (`None`
    /// if there was none): control characters are dropped and the rest is
    /// cut to [`Device::USER_AGENT_CHARS`] characters.
    ///
    /// ```
    /// let device = store_error::Device::new("127.0.0.1", Some("curl/8.14.1\n"));
    /// assert_eq!(device.user_agent, "curl/8.14.1");
    /// ```
    pub fn new(client: &str, user_agent: Option<&str>) -> Device {
        let user_agent = user_agent
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_control())
            .take(Device::USER_AGENT_CHARS)
            .collect::<String>();
        Device {
            client: client.to_owned(),
            user_agent: user_agent.trim().to_owned(),
        }
    }
}
