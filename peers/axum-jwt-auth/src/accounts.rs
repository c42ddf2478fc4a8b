//! The demo users, in memory: a name, an Argon2 password hash, a role, and
//! (read by the hardened configuration only) a token version.
//!
//! axum-jwt-auth has no notion of users: it checks a token and hands over
//! its claims. Everything here is what a reader writes beside it.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

/// Argon2id at the OWASP Password Storage Cheat Sheet's minimum: 19 MiB,
/// 2 passes, 1 lane. Written out rather than taken from the crate's
/// defaults, so a dependency update cannot weaken them.
const MEMORY_KIB: u32 = 19_456;
const PASSES: u32 = 2;
const LANES: u32 = 1;

/// The demo users, as in the café: `(name, password, role)`.
pub const DEMO_USERS: [(&str, &str, Role); 2] = [
    ("alice", "wonderland-42", Role::Member),
    ("admin", "admin-secret-42", Role::Admin),
];

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Orders coffee.
    Member,
    /// Also lists users and changes their roles.
    Admin,
    /// Refused everywhere, login included.
    Banned,
}

impl Role {
    /// The name a token's `role` claim and the JSON answers carry.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Admin => "admin",
            Role::Banned => "banned",
        }
    }
}

/// One user.
#[derive(Debug, Clone)]
struct Account {
    password_hash: String,
    role: Role,
    /// Hardened configuration: the version every access token must carry
    /// (`ver`); raising it ends every access token issued before.
    token_version: u64,
}

/// Why a login is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginRefusal {
    /// Unknown name or wrong password: one answer for both.
    BadCredentials,
    /// The password is right, but an admin banned the account.
    Banned,
}

/// The users, behind one lock.
#[derive(Debug)]
pub struct Accounts {
    accounts: Mutex<BTreeMap<String, Account>>,
    /// Hardened only: verified against when the name is unknown, so an
    /// unknown name costs as much time as a wrong password (ASVS 5.0
    /// 6.3.8: no user enumeration through timing). The default answers an
    /// unknown name at once, as a login written from the docs would (the
    /// docs have no login; axum-login's example does the same).
    decoy_hash: Option<String>,
    /// Argon2 verifications so far, so a test can count them.
    verifications: AtomicU64,
}

fn hasher() -> Argon2<'static> {
    #[allow(
        clippy::expect_used,
        reason = "constant parameters inside Argon2's ranges; checked by every test that logs in"
    )]
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None).expect("valid Argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes `password` with a fresh 128-bit salt from the OS. Start-up only.
#[allow(
    clippy::expect_used,
    reason = "start-up: without the OS's randomness the server must not start"
)]
fn hash_password(password: &str) -> String {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).expect("the OS gives random bytes");
    let salt = SaltString::encode_b64(&salt).expect("16 bytes fit a salt");
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .expect("Argon2 hashes with valid parameters")
        .to_string()
}

impl Accounts {
    /// The demo users, their passwords hashed now (a few tenths of a
    /// second); with `hardened`, the decoy hash for unknown names too.
    pub fn demo(hardened: bool) -> Accounts {
        let accounts = DEMO_USERS
            .iter()
            .map(|&(name, password, role)| {
                let account = Account {
                    password_hash: hash_password(password),
                    role,
                    token_version: 1,
                };
                (name.to_owned(), account)
            })
            .collect();
        Accounts {
            accounts: Mutex::new(accounts),
            decoy_hash: hardened.then(|| hash_password("no user has this password")),
            verifications: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Account>> {
        // A panic while holding the lock leaves the map whole (every write
        // is one insert or one field), so a poisoned lock is still usable.
        self.accounts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Checks a password; on success the user's role and token version.
    /// Argon2 takes tens of milliseconds: call it off the async threads.
    pub fn log_in(&self, name: &str, password: &str) -> Result<(Role, u64), LoginRefusal> {
        let found = self.lock().get(name).cloned();
        let hash = match (&found, &self.decoy_hash) {
            (Some(account), _) => &account.password_hash,
            (None, Some(decoy)) => decoy,
            (None, None) => return Err(LoginRefusal::BadCredentials),
        };
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let matches = PasswordHash::new(hash)
            .is_ok_and(|hash| hasher().verify_password(password.as_bytes(), &hash).is_ok());
        match found {
            Some(account) if matches && account.role == Role::Banned => Err(LoginRefusal::Banned),
            Some(account) if matches => Ok((account.role, account.token_version)),
            _ => Err(LoginRefusal::BadCredentials),
        }
    }

    /// How many passwords were checked with Argon2 so far: what a test
    /// counts instead of timing logins.
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    /// The user's role and token version, if the user exists.
    pub fn standing(&self, name: &str) -> Option<(Role, u64)> {
        self.lock()
            .get(name)
            .map(|account| (account.role, account.token_version))
    }

    /// Every user and role, sorted by name.
    pub fn list(&self) -> Vec<(String, Role)> {
        self.lock()
            .iter()
            .map(|(name, account)| (name.clone(), account.role))
            .collect()
    }

    /// Sets a user's role: the role before, or `None` if there is no such
    /// user.
    ///
    /// The token version rises with every change but a ban. A promotion or
    /// a demotion must end the tokens that carry the old role; a ban is
    /// enforced on every request by reading the role (403), and lifting it
    /// raises the version, so no token from before the ban comes back.
    /// Only the hardened configuration reads the version.
    pub fn set_role(&self, name: &str, role: Role) -> Option<Role> {
        let mut accounts = self.lock();
        let account = accounts.get_mut(name)?;
        let before = account.role;
        if before != role && role != Role::Banned {
            account.token_version += 1;
        }
        account.role = role;
        Some(before)
    }

    /// Raises the user's token version, ending every access token issued
    /// before (where the version is checked). `false` if there is no such
    /// user.
    pub fn end_access_tokens(&self, name: &str) -> bool {
        match self.lock().get_mut(name) {
            Some(account) => {
                account.token_version += 1;
                true
            }
            None => false,
        }
    }
}
