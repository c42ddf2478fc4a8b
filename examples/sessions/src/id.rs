//! Session IDs: unguessable tickets drawn from the operating system's CSPRNG.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// How many random bytes a session ID carries.
///
/// 32 bytes are 256 bits: twice the 128 bits of entropy that OWASP ASVS 5.0
/// (requirement 7.2.3) asks of a session token, at a cost of 43 characters.
pub const SESSION_ID_BYTES: usize = 32;

/// The operating system could not give us random bytes.
pub type RandomError = getrandom::Error;

/// A session ID as it travels in the cookie: base64url, no padding.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionId(String);

impl SessionId {
    // ANCHOR: generate
    /// Draws a fresh session ID from the operating system's CSPRNG.
    pub fn generate() -> Result<SessionId, RandomError> {
        let mut bytes = [0u8; SESSION_ID_BYTES];
        // getrandom asks the kernel (getrandom(2) on Linux) directly: no
        // user-space generator to seed, fork or forget to reseed.
        getrandom::fill(&mut bytes)?;
        Ok(SessionId(URL_SAFE_NO_PAD.encode(bytes)))
    }
    // ANCHOR_END: generate

    /// The ID as it is written into the cookie.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Debug output never shows the ID itself: a session ID in a log is a
/// password in a log (OWASP Logging Cheat Sheet).
impl std::fmt::Debug for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionId(<redacted>)")
    }
}

// ANCHOR: entropy
/// Bits of entropy in `symbols` values drawn uniformly and independently
/// from an alphabet of `alphabet_size` symbols: `symbols × log2(alphabet_size)`.
pub fn entropy_bits(symbols: u32, alphabet_size: u32) -> f64 {
    f64::from(symbols) * f64::from(alphabet_size).log2()
}

/// Expected time for an attacker to hit *any* live session by guessing.
///
/// With `live_sessions` valid IDs among `2^bits` possible ones, an attacker
/// who never repeats a guess needs on average half the space divided by the
/// number of targets: `2^bits / (2 × live_sessions)` guesses.
pub fn expected_seconds_to_guess(bits: f64, live_sessions: f64, guesses_per_second: f64) -> f64 {
    (2f64.powf(bits) / 2.0) / (live_sessions * guesses_per_second)
}
// ANCHOR_END: entropy

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn an_id_is_43_base64url_characters() {
        let id = SessionId::generate().unwrap();
        assert_eq!(id.as_str().len(), 43);
        assert!(
            id.as_str()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
    }

    #[test]
    fn ten_thousand_ids_are_all_different() {
        let ids: HashSet<String> = (0..10_000)
            .map(|_| SessionId::generate().unwrap().as_str().to_owned())
            .collect();
        assert_eq!(ids.len(), 10_000);
    }

    #[test]
    fn debug_output_hides_the_id() {
        let id = SessionId::generate().unwrap();
        assert!(!format!("{id:?}").contains(id.as_str()));
    }

    #[test]
    fn entropy_of_random_bytes_is_eight_bits_each() {
        assert_eq!(entropy_bits(SESSION_ID_BYTES as u32, 256), 256.0);
        assert_eq!(entropy_bits(6, 10), 6.0 * 10f64.log2());
    }

    #[test]
    fn guessing_a_six_digit_code_takes_no_time_at_all() {
        let seconds = expected_seconds_to_guess(entropy_bits(6, 10), 1.0, 1_000.0);
        assert!(seconds < 1_000.0, "{seconds}");
    }
}
