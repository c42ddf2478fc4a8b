//! Refresh tokens: axum-jwt-auth has none, so both configurations add
//! their own. Each is an opaque random string (256 bits), kept in memory
//! and swapped for a new one at every `POST /refresh`.
//!
//! - [`PlainRefreshTokens`], the default: the way a reader first adds them.
//!   The token itself is the map's key, a used token is simply removed, and
//!   nothing ties the tokens of one login together.
//! - [`RefreshFamilies`], hardened: stored as SHA-256 hashes, grouped into
//!   one family per login, with reuse detection, an idle limit and an
//!   absolute lifetime.
//!
//! Every method takes `now` (Unix seconds), so tests can move the clock.

use peer_axum_jwt_auth::tokens::{ACCESS_TOKEN_SECONDS, random_id, random_token};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Random bytes in a refresh token: 256 bits.
pub const REFRESH_TOKEN_BYTES: usize = 32;

/// Default: a refresh token lives 7 days from its issue, and every refresh
/// issues a new one, so a login refreshed once a week never ends.
pub const PLAIN_REFRESH_SECONDS: u64 = 7 * 24 * 60 * 60;

/// Hardened: a login ends 7 days after it began, however often refreshed
/// (ASVS 5.0 7.3.2: an absolute lifetime).
pub const FAMILY_LIFETIME_SECONDS: u64 = 7 * 24 * 60 * 60;

/// Hardened: a login not refreshed within 30 minutes after its access
/// token expired ends, as an idle session does (ASVS 5.0 7.3.1). The café's
/// default.
pub const FAMILY_IDLE_SECONDS: u64 = ACCESS_TOKEN_SECONDS + 30 * 60;

/// Why a refresh is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshRefusal {
    /// Never issued, already swapped (default), or its login has ended.
    Unknown,
    /// Hardened: a token swapped before came back. Someone holds a copy, so
    /// the whole login ended (RFC 9700 §4.14.2).
    Reused,
    /// Past its lifetime or idle limit.
    Expired,
    /// The OS gave no randomness for the new token: try again later.
    Unavailable,
}

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every change below leaves the maps consistent before it can panic
    // (none of them can), so a poisoned lock still guards whole data.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn new_refresh_token() -> Result<String, RefreshRefusal> {
    random_token(REFRESH_TOKEN_BYTES).ok_or(RefreshRefusal::Unavailable)
}

// ANCHOR: plain
/// Default: refresh token → (user, expiry), in clear.
#[derive(Debug, Default)]
pub struct PlainRefreshTokens {
    tokens: Mutex<HashMap<String, (String, u64)>>,
}

impl PlainRefreshTokens {
    /// No tokens yet.
    pub fn new() -> PlainRefreshTokens {
        PlainRefreshTokens::default()
    }

    /// A new refresh token for `user`.
    pub fn issue(&self, user: &str, now: u64) -> Result<String, RefreshRefusal> {
        let token = new_refresh_token()?;
        let mut tokens = locked(&self.tokens);
        tokens.retain(|_, (_, expires)| *expires > now);
        tokens.insert(
            token.clone(),
            (user.to_owned(), now + PLAIN_REFRESH_SECONDS),
        );
        Ok(token)
    }

    /// Swaps a live token for a new one: the old is removed, so it works
    /// once. Returns the user and the new token.
    pub fn rotate(&self, token: &str, now: u64) -> Result<(String, String), RefreshRefusal> {
        let fresh = new_refresh_token()?;
        let mut tokens = locked(&self.tokens);
        let (user, expires) = tokens.remove(token).ok_or(RefreshRefusal::Unknown)?;
        if expires <= now {
            return Err(RefreshRefusal::Expired);
        }
        tokens.insert(fresh.clone(), (user.clone(), now + PLAIN_REFRESH_SECONDS));
        Ok((user, fresh))
    }

    /// Deletes every refresh token of `user`; how many there were.
    pub fn end_all(&self, user: &str) -> usize {
        let mut tokens = locked(&self.tokens);
        let before = tokens.len();
        tokens.retain(|_, (owner, _)| owner != user);
        before - tokens.len()
    }
}
// ANCHOR_END: plain

/// Hardened: one login, from its first refresh token to its last.
#[derive(Debug, Clone)]
struct Family {
    user: String,
    began: u64,
    /// Ends unless refreshed before this second.
    idle_until: u64,
    /// The hashes of every token this family issued, current and used.
    hashes: Vec<[u8; 32]>,
}

impl Family {
    fn is_over(&self, now: u64) -> bool {
        now >= self.began + FAMILY_LIFETIME_SECONDS || now >= self.idle_until
    }
}

/// Hardened: a token's hash → its family, and whether it is the current one.
#[derive(Debug, Clone)]
struct Issued {
    family: String,
    current: bool,
}

#[derive(Debug, Default)]
struct Families {
    families: HashMap<String, Family>,
    tokens: HashMap<[u8; 32], Issued>,
}

impl Families {
    fn end(&mut self, id: &str) -> bool {
        let Some(family) = self.families.remove(id) else {
            return false;
        };
        for hash in family.hashes {
            self.tokens.remove(&hash);
        }
        true
    }

    fn sweep(&mut self, now: u64) {
        let over: Vec<String> = self
            .families
            .iter()
            .filter(|(_, family)| family.is_over(now))
            .map(|(id, _)| id.clone())
            .collect();
        for id in over {
            self.end(&id);
        }
    }
}

/// The SHA-256 of a refresh token: what the store keeps, never the token,
/// so a copy of the store (a dump, a backup) holds nothing a thief could
/// present. A fast unsalted hash suffices: the token has 256 random bits,
/// there is no dictionary of likely tokens to try, unlike passwords.
fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

// ANCHOR: families
/// Hardened: refresh tokens stored hashed, one family per login.
#[derive(Debug, Default)]
pub struct RefreshFamilies {
    state: Mutex<Families>,
}

/// A login begun or renewed: its family and the new refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renewed {
    /// The user.
    pub user: String,
    /// The family's ID, which access tokens carry as `sid`.
    pub family: String,
    /// The refresh token to hand out.
    pub refresh_token: String,
}

impl RefreshFamilies {
    /// No logins yet.
    pub fn new() -> RefreshFamilies {
        RefreshFamilies::default()
    }

    /// A new login for `user`: a family and its first token.
    pub fn begin(&self, user: &str, now: u64) -> Result<Renewed, RefreshRefusal> {
        let family = random_id().ok_or(RefreshRefusal::Unavailable)?;
        let token = new_refresh_token()?;
        let mut state = locked(&self.state);
        state.sweep(now);
        state.tokens.insert(
            hash(&token),
            Issued {
                family: family.clone(),
                current: true,
            },
        );
        state.families.insert(
            family.clone(),
            Family {
                user: user.to_owned(),
                began: now,
                idle_until: now + FAMILY_IDLE_SECONDS,
                hashes: vec![hash(&token)],
            },
        );
        Ok(Renewed {
            user: user.to_owned(),
            family,
            refresh_token: token,
        })
    }

    /// Whose token this is, if it is the current token of a live login;
    /// changes nothing.
    pub fn owner(&self, token: &str, now: u64) -> Option<String> {
        let state = locked(&self.state);
        let issued = state.tokens.get(&hash(token)).filter(|i| i.current)?;
        let family = state.families.get(&issued.family)?;
        (!family.is_over(now)).then(|| family.user.clone())
    }

    /// Swaps the current token of a live login for a new one. A token
    /// swapped before ends its whole family (RFC 9700 §4.14.2): either the
    /// thief or the user is about to use the newer token, and the server
    /// cannot tell which, so both must log in again.
    pub fn rotate(&self, token: &str, now: u64) -> Result<Renewed, RefreshRefusal> {
        let fresh = new_refresh_token()?;
        let mut state = locked(&self.state);
        let presented = hash(token);
        let issued = state
            .tokens
            .get(&presented)
            .cloned()
            .ok_or(RefreshRefusal::Unknown)?;
        if !issued.current {
            state.end(&issued.family);
            return Err(RefreshRefusal::Reused);
        }
        let Some(family) = state.families.get_mut(&issued.family) else {
            return Err(RefreshRefusal::Unknown);
        };
        if family.is_over(now) {
            state.end(&issued.family);
            return Err(RefreshRefusal::Expired);
        }
        family.idle_until = now + FAMILY_IDLE_SECONDS;
        family.hashes.push(hash(&fresh));
        let user = family.user.clone();
        state.tokens.insert(
            presented,
            Issued {
                family: issued.family.clone(),
                current: false,
            },
        );
        state.tokens.insert(
            hash(&fresh),
            Issued {
                family: issued.family.clone(),
                current: true,
            },
        );
        Ok(Renewed {
            user,
            family: issued.family,
            refresh_token: fresh,
        })
    }

    /// Whether the login `family` is live: begun, not ended, within its
    /// lifetime and idle limit. Every access token it issued dies with it.
    pub fn is_live(&self, family: &str, now: u64) -> bool {
        locked(&self.state)
            .families
            .get(family)
            .is_some_and(|family| !family.is_over(now))
    }

    /// Ends one login (logout); whether it was live.
    pub fn end(&self, family: &str) -> bool {
        locked(&self.state).end(family)
    }

    /// Logout with a refresh token: ends the login it belongs to, whether
    /// it is the current token or one already swapped (a swapped one would
    /// end it on its next use anyway). Whether it was one of ours.
    pub fn end_login_of(&self, token: &str) -> bool {
        let mut state = locked(&self.state);
        match state.tokens.get(&hash(token)).cloned() {
            Some(issued) => state.end(&issued.family),
            None => false,
        }
    }

    /// Ends every login of `user`; how many there were.
    pub fn end_all(&self, user: &str) -> usize {
        let mut state = locked(&self.state);
        let theirs: Vec<String> = state
            .families
            .iter()
            .filter(|(_, family)| family.user == user)
            .map(|(id, _)| id.clone())
            .collect();
        for id in &theirs {
            state.end(id);
        }
        theirs.len()
    }
}
// ANCHOR_END: families

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    #[test]
    fn default_a_swapped_token_is_refused_but_its_successor_lives_on() {
        let store = PlainRefreshTokens::new();
        let first = store.issue("alice", NOW).unwrap();
        let (user, second) = store.rotate(&first, NOW).unwrap();
        assert_eq!(user, "alice");
        assert_eq!(store.rotate(&first, NOW), Err(RefreshRefusal::Unknown));
        assert!(store.rotate(&second, NOW).is_ok(), "no family to end");
    }

    #[test]
    fn default_a_token_lives_seven_days_from_its_issue_so_refreshing_never_ends() {
        let store = PlainRefreshTokens::new();
        let mut token = store.issue("alice", NOW).unwrap();
        let week = PLAIN_REFRESH_SECONDS;
        for day in 1..=30 {
            token = store.rotate(&token, NOW + day * week / 7).unwrap().1;
        }
        let stale = store.issue("alice", NOW).unwrap();
        assert_eq!(
            store.rotate(&stale, NOW + week),
            Err(RefreshRefusal::Expired)
        );
    }

    #[test]
    fn hardened_reuse_ends_the_whole_family_and_no_other() {
        let store = RefreshFamilies::new();
        let first = store.begin("alice", NOW).unwrap();
        let other = store.begin("alice", NOW).unwrap();
        let second = store.rotate(&first.refresh_token, NOW).unwrap();
        assert_eq!(second.family, first.family);
        assert_eq!(
            store.rotate(&first.refresh_token, NOW),
            Err(RefreshRefusal::Reused)
        );
        assert_eq!(
            store.rotate(&second.refresh_token, NOW),
            Err(RefreshRefusal::Unknown),
            "the newest token died with its family"
        );
        assert!(store.rotate(&other.refresh_token, NOW).is_ok());
    }

    #[test]
    fn hardened_a_login_ends_when_idle_and_at_its_absolute_lifetime() {
        let store = RefreshFamilies::new();
        let idle = store.begin("alice", NOW).unwrap();
        assert_eq!(
            store.rotate(&idle.refresh_token, NOW + FAMILY_IDLE_SECONDS),
            Err(RefreshRefusal::Expired)
        );

        let busy = store.begin("alice", NOW).unwrap();
        let mut token = busy.refresh_token;
        let mut now = NOW;
        while now + FAMILY_IDLE_SECONDS / 2 < NOW + FAMILY_LIFETIME_SECONDS {
            now += FAMILY_IDLE_SECONDS / 2;
            token = store.rotate(&token, now).unwrap().refresh_token;
        }
        now += FAMILY_IDLE_SECONDS / 2;
        // Refreshed well within the idle limit, yet past the lifetime.
        assert!(now >= NOW + FAMILY_LIFETIME_SECONDS);
        assert_eq!(store.rotate(&token, now), Err(RefreshRefusal::Expired));
    }

    #[test]
    fn hardened_logout_ends_one_family_and_everywhere_ends_all_of_the_users() {
        let store = RefreshFamilies::new();
        let phone = store.begin("alice", NOW).unwrap();
        let laptop = store.begin("alice", NOW).unwrap();
        let admin = store.begin("admin", NOW).unwrap();
        assert!(store.end(&phone.family));
        assert_eq!(
            store.rotate(&phone.refresh_token, NOW),
            Err(RefreshRefusal::Unknown)
        );
        assert_eq!(
            store.owner(&laptop.refresh_token, NOW).as_deref(),
            Some("alice")
        );
        assert_eq!(store.end_all("alice"), 1);
        assert_eq!(store.owner(&laptop.refresh_token, NOW), None);
        assert_eq!(
            store.owner(&admin.refresh_token, NOW).as_deref(),
            Some("admin")
        );
    }

    #[test]
    fn hardened_tokens_are_kept_only_as_hashes() {
        let store = RefreshFamilies::new();
        let login = store.begin("alice", NOW).unwrap();
        let renewed = store.rotate(&login.refresh_token, NOW).unwrap();
        let state = locked(&store.state);
        assert_eq!(state.tokens.len(), 2, "the used token and the current one");
        for token in [&login.refresh_token, &renewed.refresh_token] {
            assert!(state.tokens.contains_key(&hash(token)));
            assert!(
                state
                    .tokens
                    .keys()
                    .all(|key| key.as_slice() != token.as_bytes())
            );
            assert!(!state.families.contains_key(token.as_str()));
        }
    }
}
