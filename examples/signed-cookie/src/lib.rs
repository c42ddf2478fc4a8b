//! A session kept in a signed cookie instead of on the server: the
//! "stateless session" many frameworks offer (Flask's default session,
//! Rails' cookie store, axum-extra's `SignedCookieJar`). The whole session
//! travels in the cookie with an HMAC over it. The server keeps nothing, so
//! it can check that it wrote a cookie, and nothing more: not whether the
//! login behind it has ended.
//!
//! ```
//! use signed_cookie::{CookieSessions, SessionData};
//!
//! let sessions = CookieSessions::new(b"a secret of at least 32 bytes, from config").unwrap();
//! let alice = SessionData {
//!     user: "alice".into(),
//!     role: "member".into(),
//!     expires_at: 1_767_287_000,
//! };
//! let cookie = sessions.seal(&alice);
//! assert_eq!(sessions.open(&cookie, 1_767_258_000), Ok(alice));
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// What the cookie carries: everything the server would otherwise keep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionData {
    /// Who logged in.
    pub user: String,
    /// Their role when the cookie was written.
    pub role: String,
    /// Seconds since the Unix epoch after which the cookie is refused.
    pub expires_at: u64,
}

/// Why a cookie was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Not two base64url parts joined by a dot, or not our JSON.
    Malformed,
    /// The HMAC does not match: written by someone without the key, or
    /// changed since.
    BadSignature,
    /// Past its `expires_at`.
    Expired,
}

/// A secret shorter than the HMAC's output: too easy to guess.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretTooShort;

/// Seals session data into cookie values and opens them again.
pub struct CookieSessions {
    mac: Hmac<Sha256>,
}

/// HMAC-SHA-256 keys shorter than its 32-byte output weaken it (RFC 2104 §3;
/// RFC 7518 §3.2 requires the same of HS256 keys).
const MIN_SECRET_BYTES: usize = 32;

impl CookieSessions {
    /// Sessions sealed with `secret`, which every server must share.
    pub fn new(secret: &[u8]) -> Result<CookieSessions, SecretTooShort> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(SecretTooShort);
        }
        let mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| SecretTooShort)?;
        Ok(CookieSessions { mac })
    }

    // ANCHOR: seal
    /// The cookie value for `data`: `base64url(JSON).base64url(HMAC)`.
    /// Signed, not encrypted: anyone holding the cookie can read it.
    pub fn seal(&self, data: &SessionData) -> String {
        // Two strings and a number always serialise; were it to fail, the
        // empty payload would only ever open as `Malformed`.
        let json = serde_json::to_vec(data).unwrap_or_default();
        let payload = URL_SAFE_NO_PAD.encode(json);
        let mut mac = self.mac.clone();
        mac.update(payload.as_bytes());
        let tag = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{payload}.{tag}")
    }
    // ANCHOR_END: seal

    // ANCHOR: open
    /// The session in `cookie`, if this server's secret sealed it and it
    /// has not expired at `now`. Nothing is looked up: a cookie that passes
    /// is accepted, whatever happened to the login since it was written.
    pub fn open(&self, cookie: &str, now: u64) -> Result<SessionData, Refused> {
        let (payload, tag) = cookie.split_once('.').ok_or(Refused::Malformed)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| Refused::Malformed)?;
        let mut mac = self.mac.clone();
        mac.update(payload.as_bytes());
        // `verify_slice` compares in constant time.
        mac.verify_slice(&tag).map_err(|_| Refused::BadSignature)?;
        let json = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| Refused::Malformed)?;
        let data: SessionData = serde_json::from_slice(&json).map_err(|_| Refused::Malformed)?;
        if now >= data.expires_at {
            return Err(Refused::Expired);
        }
        Ok(data)
    }
    // ANCHOR_END: open
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"the cafe's cookie secret, 32 bytes or more";
    const NOW: u64 = 1_767_258_000;
    const EIGHT_HOURS: u64 = 8 * 60 * 60;

    fn alice() -> SessionData {
        SessionData {
            user: "alice".to_owned(),
            role: "member".to_owned(),
            expires_at: NOW + EIGHT_HOURS,
        }
    }

    fn sessions() -> CookieSessions {
        CookieSessions::new(SECRET).unwrap()
    }

    #[test]
    fn a_sealed_cookie_opens_to_the_same_session() {
        let cookie = sessions().seal(&alice());
        assert_eq!(sessions().open(&cookie, NOW), Ok(alice()));
    }

    #[test]
    fn anyone_can_read_a_signed_cookie() {
        let cookie = sessions().seal(&alice());
        let payload = cookie.split('.').next().unwrap();
        let json = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        assert!(json.contains("\"role\":\"member\""), "{json}");
    }

    #[test]
    fn a_changed_role_breaks_the_signature() {
        let cookie = sessions().seal(&alice());
        let (_, tag) = cookie.split_once('.').unwrap();
        let admin = SessionData {
            role: "admin".to_owned(),
            ..alice()
        };
        let forged_payload = sessions().seal(&admin);
        let (forged_payload, _) = forged_payload.split_once('.').unwrap();
        let forged = format!("{forged_payload}.{tag}");
        assert_eq!(sessions().open(&forged, NOW), Err(Refused::BadSignature));
    }

    #[test]
    fn a_cookie_sealed_with_another_secret_is_refused() {
        let other = CookieSessions::new(b"somebody else's secret, also 32 bytes long").unwrap();
        let cookie = other.seal(&alice());
        assert_eq!(sessions().open(&cookie, NOW), Err(Refused::BadSignature));
    }

    #[test]
    fn an_expired_cookie_is_refused() {
        let cookie = sessions().seal(&alice());
        assert_eq!(
            sessions().open(&cookie, NOW + EIGHT_HOURS),
            Err(Refused::Expired)
        );
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        for cookie in ["", ".", "no-dot", "a.b.c", "!!!.???", "e30.AAAA"] {
            assert!(sessions().open(cookie, NOW).is_err(), "{cookie:?}");
        }
    }

    #[test]
    fn a_short_secret_is_refused() {
        assert!(CookieSessions::new(b"too short").is_err());
    }

    /// The design's price: logging out only asks the browser to forget the
    /// cookie. A copy taken before still opens, until it expires.
    #[test]
    fn a_copied_cookie_outlives_its_logout() {
        let cookie = sessions().seal(&alice());
        let copy = cookie.clone();
        drop(cookie); // the logout: the browser deletes its cookie
        let an_hour_later = NOW + 60 * 60;
        assert_eq!(sessions().open(&copy, an_hour_later), Ok(alice()));
    }

    /// The only server-side lever is the secret, and it ends every session.
    #[test]
    fn a_new_secret_logs_everyone_out() {
        let cookie = sessions().seal(&alice());
        let rotated = CookieSessions::new(b"the cafe's next cookie secret, 32+ bytes").unwrap();
        assert_eq!(rotated.open(&cookie, NOW), Err(Refused::BadSignature));
    }
}
