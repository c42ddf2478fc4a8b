//! Session IDs: unguessable tickets drawn from the operating system's CSPRNG.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// How many random bytes a session ID carries.
///
/// 32 bytes are 256 bits: twice the 128 bits of entropy that OWASP ASVS 5.0
/// (requirement 7.2.3) asks of a session token, at a cost of 43 characters.
pub const SESSION_ID_BYTES: usize = 32;

/// The operating system could not give us random bytes.
pub type RandomError = getrandom::Error;

/// A session ID as it travels in the cookie: base64url, no padding. With a
/// store that files each user's sessions together (Redis: see
/// [`SessionStore::shard_for`](sessions::SessionStore::shard_for)), a dot
/// and the number of that shard follow: not secret, not hashed, and the
/// same for every ID of one user (it can tell whose a cookie value is).
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

    /// A fresh ID, followed by `.shard` when the store files the session
    /// in one: the same 256 random bits either way.
    pub fn generate_in(shard: Option<u32>) -> Result<SessionId, RandomError> {
        let id = SessionId::generate()?;
        Ok(match shard {
            Some(shard) => SessionId(format!("{}.{shard}", id.0)),
            None => id,
        })
    }

    /// The ID as it is written into the cookie.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    // ANCHOR: parse
    /// Accepts a presented ID only if it has exactly the shape we issue:
    /// 43 base64url characters (then, for a store with shards, a dot and a
    /// shard number written as we write it). Anything else is not worth a
    /// store lookup.
    pub fn parse(presented: &str) -> Option<SessionId> {
        let (random, shard) = match presented.split_once('.') {
            Some((random, shard)) => (random, Some(shard)),
            None => (presented, None),
        };
        // Only 43 characters decode to 32 bytes; decoded on the stack, as
        // this runs on every request.
        let mut decoded = [0u8; SESSION_ID_BYTES];
        let random_as_issued = random.len() == 43
            && URL_SAFE_NO_PAD
                .decode_slice(random, &mut decoded)
                .is_ok_and(|length| length == SESSION_ID_BYTES);
        let shard_as_issued = shard.is_none_or(|shard| {
            shard
                .parse::<u32>()
                .is_ok_and(|number| number.to_string() == shard)
        });
        (random_as_issued && shard_as_issued).then(|| SessionId(presented.to_owned()))
    }
    // ANCHOR_END: parse

    // ANCHOR: key
    /// The key the store files this session under: the SHA-256 of the ID.
    ///
    /// The store never sees the ID itself, so a leaked copy of the store (a
    /// backup, a Redis dump) holds nothing a thief could put in a cookie. A
    /// fast, unsalted hash is enough because the ID has 256 bits of entropy:
    /// there is no dictionary of likely IDs to try, unlike passwords.
    pub fn key(&self) -> SessionKey {
        let (random, shard) = match self.0.split_once('.') {
            Some((random, shard)) => (random, shard.parse().ok()),
            None => (self.0.as_str(), None),
        };
        SessionKey {
            hash: Sha256::digest(random.as_bytes()).into(),
            shard,
        }
    }
    // ANCHOR_END: key
}

/// The SHA-256 of a session ID: what the server stores, never the ID
/// itself; and the shard the ID names, if any.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionKey {
    pub(crate) hash: [u8; 32],
    pub(crate) shard: Option<u32>,
}

impl SessionKey {
    /// The hash in lower-case hex, as the "where the data lives" chapter
    /// prints it.
    pub fn to_hex(&self) -> String {
        self.hash.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// The shard the ID names, for a store that files sessions in shards.
    pub fn shard(&self) -> Option<u32> {
        self.shard
    }
}

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SessionKey({}, {:?})", self.to_hex(), self.shard)
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
mod tests;
