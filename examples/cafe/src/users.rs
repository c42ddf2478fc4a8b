//! The café's accounts: names, roles, and Argon2id password hashes.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::RwLock;

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Logs in, orders coffee, sees their own orders.
    Member,
    /// Everything a member can, plus the user list and the admin endpoints.
    Admin,
    /// Nothing: every authenticated endpoint, and login, answer 403.
    Banned,
}

/// The public face of an account, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Profile {
    /// The login name.
    pub name: String,
    /// The current role.
    pub role: Role,
}

/// The demo accounts every server starts with (also listed in the README).
pub const DEMO_USERS: &[(&str, &str, Role)] = &[
    ("alice", "wonderland-42", Role::Member),
    ("admin", "admin-secret-42", Role::Admin),
];

// ANCHOR: hasher
/// Argon2id with the OWASP Password Storage Cheat Sheet's minimum settings:
/// 19 MiB of memory, 2 passes, 1 lane. Written out rather than taken from the
/// crate's defaults, so a dependency update cannot weaken them silently.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).expect("constant, valid Argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}
// ANCHOR_END: hasher

/// Hashes a password with a fresh 128-bit salt from the OS.
fn hash_password(password: &str) -> String {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).expect("the OS random number generator is available");
    let salt = SaltString::encode_b64(&salt).expect("16 bytes make a valid salt");
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .expect("Argon2 hashes any password")
        .to_string()
}

fn password_matches(stored_hash: &str, password: &str) -> bool {
    PasswordHash::new(stored_hash)
        .is_ok_and(|hash| hasher().verify_password(password.as_bytes(), &hash).is_ok())
}

struct Account {
    role: Role,
    password_hash: String,
}

/// Every account, in memory.
pub struct Users {
    accounts: RwLock<BTreeMap<String, Account>>,
    /// Checked when the name is unknown, so that "no such user" takes as long
    /// as "wrong password" and timing does not reveal which names exist.
    dummy_hash: String,
}

impl Users {
    /// No accounts yet.
    pub fn new() -> Users {
        Users {
            accounts: RwLock::new(BTreeMap::new()),
            dummy_hash: hash_password("no account has this password"),
        }
    }

    /// The demo accounts of [`DEMO_USERS`].
    pub fn with_demo_users() -> Users {
        let users = Users::new();
        for (name, password, role) in DEMO_USERS {
            users.add(name, password, *role);
        }
        users
    }

    /// Adds (or replaces) an account.
    pub fn add(&self, name: &str, password: &str, role: Role) {
        let account = Account {
            role,
            password_hash: hash_password(password),
        };
        self.write().insert(name.to_owned(), account);
    }

    // ANCHOR: check_password
    /// The account, if `password` is its password. Slow on purpose (Argon2):
    /// call it from a blocking thread. Unknown names cost the same as wrong
    /// passwords, and both answer `None`.
    pub fn check_password(&self, name: &str, password: &str) -> Option<Profile> {
        let stored = self
            .read()
            .get(name)
            .map(|a| (a.password_hash.clone(), a.role));
        match stored {
            Some((hash, role)) if password_matches(&hash, password) => Some(Profile {
                name: name.to_owned(),
                role,
            }),
            Some(_) => None,
            None => {
                password_matches(&self.dummy_hash, password);
                None
            }
        }
    }
    // ANCHOR_END: check_password

    /// The account's profile, if it exists.
    pub fn profile(&self, name: &str) -> Option<Profile> {
        self.read().get(name).map(|account| Profile {
            name: name.to_owned(),
            role: account.role,
        })
    }

    /// Gives an account a new role; `None` if there is no such account.
    pub fn set_role(&self, name: &str, role: Role) -> Option<Profile> {
        let mut accounts = self.write();
        let account = accounts.get_mut(name)?;
        account.role = role;
        Some(Profile {
            name: name.to_owned(),
            role,
        })
    }

    /// Every account, by name.
    pub fn all(&self) -> Vec<Profile> {
        self.read()
            .iter()
            .map(|(name, account)| Profile {
                name: name.clone(),
                role: account.role,
            })
            .collect()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Account>> {
        self.accounts.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Account>> {
        self.accounts.write().unwrap_or_else(|p| p.into_inner())
    }
}

impl Default for Users {
    fn default() -> Users {
        Users::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_passwords_work_and_others_do_not() {
        let users = Users::with_demo_users();
        assert_eq!(
            users.check_password("alice", "wonderland-42").unwrap().role,
            Role::Member
        );
        assert_eq!(
            users
                .check_password("admin", "admin-secret-42")
                .unwrap()
                .role,
            Role::Admin
        );
        assert_eq!(users.check_password("alice", "admin-secret-42"), None);
        assert_eq!(users.check_password("mallory", "wonderland-42"), None);
        assert_eq!(users.check_password("Alice", "wonderland-42"), None);
    }

    #[test]
    fn hashes_are_argon2id_with_the_owasp_parameters_and_a_salt_each() {
        let first = hash_password("wonderland-42");
        let second = hash_password("wonderland-42");
        assert!(
            first.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{first}"
        );
        assert_ne!(first, second, "each hash has its own salt");
    }

    #[test]
    fn an_unknown_name_costs_a_full_argon2_check() {
        // The dummy hash has the same parameters as real ones, so checking it
        // takes as long as checking a real password.
        let users = Users::with_demo_users();
        let parameters = |hash: &str| hash.split('$').take(4).collect::<Vec<_>>().join("$");
        let alice = users.read().get("alice").unwrap().password_hash.clone();
        assert_eq!(parameters(&users.dummy_hash), parameters(&alice));
    }

    #[test]
    fn a_role_change_is_seen_at_once() {
        let users = Users::with_demo_users();
        users.set_role("alice", Role::Banned);
        assert_eq!(users.profile("alice").unwrap().role, Role::Banned);
        assert_eq!(users.set_role("nobody", Role::Admin), None);
    }
}
