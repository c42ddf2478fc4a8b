//! The users and what they may do, as axum-login's `permissions` example
//! shapes them: an [`AuthnBackend`] that checks passwords and loads a user
//! by id, and an [`AuthzBackend`] that gives each role its permissions.
//!
//! Users live in memory (a `RwLock<HashMap>`), with Argon2 hashes made at
//! start. `get_user` reads that map on every request (axum-login calls it
//! for every request that carries a logged-in session), so a role change is
//! seen at the very next request.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier, password_hash::SaltString};
use axum_login::{AuthUser, AuthnBackend, AuthzBackend, UserId};
use serde::{Deserialize, Serialize};
use tokio::{sync::RwLock, task};

/// What a user may do: members order, admins also manage users, banned
/// users nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Orders coffee.
    Member,
    /// Orders coffee and manages users.
    Admin,
    /// Refused everywhere, login included.
    Banned,
}

/// The demo users, as in the café: name, password, role.
pub const DEMO_USERS: [(&str, &str, Role); 2] = [
    ("alice", "wonderland-42", Role::Member),
    ("admin", "admin-secret-42", Role::Admin),
];

/// A logged-in user, as `get_user` loads it for one request.
#[derive(Clone, Serialize, Deserialize)]
pub struct User {
    /// The login name, also the user's id.
    pub name: String,
    /// The role as the user store holds it now.
    pub role: Role,
    /// What axum-login saves in the session at login and compares on every
    /// request (`session_auth_hash`); see [`Backend::auth_hash`].
    auth_hash: Vec<u8>,
}

// Written by hand, as the example does, so the hash never reaches a log.
impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("auth_hash", &"[redacted]")
            .finish()
    }
}

impl AuthUser for User {
    type Id = String;

    fn id(&self) -> Self::Id {
        self.name.clone()
    }

    fn session_auth_hash(&self) -> &[u8] {
        &self.auth_hash
    }
}

/// What `POST /login` carries.
#[derive(Debug, Clone, Deserialize)]
pub struct Credentials {
    /// The login name.
    pub username: String,
    /// The password, checked against the Argon2 hash.
    pub password: String,
}

/// One account in the user store.
#[derive(Debug, Clone)]
struct Account {
    role: Role,
    /// Argon2, PHC string.
    password_hash: String,
    /// Bumped to end every session of the account (hardened only).
    session_version: u64,
}

/// The user store and the rules read from it.
#[derive(Debug, Clone)]
pub struct Backend {
    accounts: Arc<RwLock<HashMap<String, Account>>>,
    hardened: bool,
    /// Checked for an unknown name (hardened only); see `authenticate`.
    dummy_hash: Arc<str>,
    /// Argon2 verifications so far, so a test can count them.
    verifications: Arc<AtomicU64>,
}

/// The backend never fails (the users are in memory); axum-login still
/// wants an error type.
#[derive(Debug)]
pub enum BackendError {
    /// The blocking task that checks a password did not finish.
    PasswordCheck(task::JoinError),
}

impl std::fmt::Display for BackendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BackendError::PasswordCheck(err) => write!(f, "password check failed: {err}"),
        }
    }
}

impl std::error::Error for BackendError {}

impl Backend {
    /// The demo users, their passwords hashed with Argon2 now (slow on
    /// purpose: a fraction of a second each).
    pub async fn with_demo_users(hardened: bool) -> Result<Self, String> {
        let (accounts, dummy_hash) = task::spawn_blocking(|| {
            let accounts = DEMO_USERS
                .iter()
                .map(|(name, password, role)| {
                    let account = Account {
                        role: *role,
                        password_hash: demo_hash(name, password)?,
                        session_version: 0,
                    };
                    Ok((name.to_string(), account))
                })
                .collect::<Result<HashMap<_, _>, argon2::password_hash::Error>>()?;
            let dummy_hash = demo_hash("", "no account has this password")?;
            Ok::<_, argon2::password_hash::Error>((accounts, dummy_hash))
        })
        .await
        .map_err(|err| err.to_string())?
        .map_err(|err| err.to_string())?;
        Ok(Self {
            accounts: Arc::new(RwLock::new(accounts)),
            hardened,
            dummy_hash: dummy_hash.into(),
            verifications: Arc::default(),
        })
    }

    /// What axum-login compares on every request; a change ends every
    /// session saved with the old value (axum-login flushes it).
    ///
    /// Default, as the example: the password hash, so a password change
    /// ends the user's sessions (`axum-login@0.18.0 src/lib.rs:94-96`).
    ///
    /// Hardened: the password hash followed by a per-user session version.
    /// axum-login has no "end this user's sessions" call and the stores
    /// cannot list a user's sessions; bumping the version makes the stored
    /// hash stale, so every other session of the user is refused and
    /// flushed at its next request (OWASP ASVS 5.0 requirement 7.4.2:
    /// terminate all active sessions when an account is disabled; 7.4.5:
    /// administrators can terminate a user's sessions).
    fn auth_hash(&self, account: &Account) -> Vec<u8> {
        let mut hash = account.password_hash.as_bytes().to_vec();
        if self.hardened {
            // `$` ends no PHC string's last field, so the version cannot
            // run into the hash.
            hash.extend_from_slice(format!("${}", account.session_version).as_bytes());
        }
        hash
    }

    fn user(&self, name: &str, account: &Account) -> User {
        User {
            name: name.to_owned(),
            role: account.role,
            auth_hash: self.auth_hash(account),
        }
    }

    /// How many passwords were checked with Argon2 so far.
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    /// Every user, sorted by name.
    pub async fn list(&self) -> Vec<(String, Role)> {
        let accounts = self.accounts.read().await;
        let mut users: Vec<_> = accounts
            .iter()
            .map(|(name, account)| (name.clone(), account.role))
            .collect();
        users.sort_by(|(a, _), (b, _)| a.cmp(b));
        users
    }

    /// Sets `name`'s role; `None` if there is no such user. In the hardened
    /// configuration a ban also ends the user's sessions (ASVS 5.0 7.4.2).
    pub async fn set_role(&self, name: &str, role: Role) -> Option<Role> {
        let mut accounts = self.accounts.write().await;
        let account = accounts.get_mut(name)?;
        account.role = role;
        if self.hardened && role == Role::Banned {
            account.session_version += 1;
        }
        Some(role)
    }

    /// Ends every session of `name` (hardened only): `false` if there is
    /// no such user.
    pub async fn end_sessions(&self, name: &str) -> bool {
        let mut accounts = self.accounts.write().await;
        match accounts.get_mut(name) {
            Some(account) => {
                account.session_version += 1;
                true
            }
            None => false,
        }
    }
}

/// A demo user's Argon2id hash (OWASP parameters, the `argon2` crate's
/// default), with a salt made from the user's name instead of a random
/// one. The docs' `session_auth_hash` is the password hash, and every
/// server sharing a Redis store must compute the same one, or each refuses
/// (and deletes) the sessions the others made. A real deployment shares
/// its user database and so its hashes; these demo users are made at
/// start in each process, so their salts must not be random.
fn demo_hash(name: &str, password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::encode_b64(format!("peer-axum-login:{name}").as_bytes())?;
    let hash = Argon2::default().hash_password(password.as_bytes(), &salt)?;
    Ok(hash.to_string())
}

/// Whether `password` matches the PHC-string `hash`.
fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

impl AuthnBackend for Backend {
    type User = User;
    type Credentials = Credentials;
    type Error = BackendError;

    async fn authenticate(&self, creds: Credentials) -> Result<Option<User>, BackendError> {
        let user = {
            let accounts = self.accounts.read().await;
            accounts.get(&creds.username).map(|account| {
                let user = self.user(&creds.username, account);
                (user, account.password_hash.clone())
            })
        };
        let (user, hash) = match user {
            Some((user, hash)) => (Some(user), hash),
            // Hardened: an unknown name costs a full Argon2 check too, so
            // the answer's timing does not tell which names exist (OWASP
            // Authentication Cheat Sheet, "Authentication Responses"). The
            // example answers an unknown name at once.
            None if self.hardened => (None, self.dummy_hash.to_string()),
            None => return Ok(None),
        };
        self.verifications.fetch_add(1, Ordering::Relaxed);
        // As the example: Argon2 is slow on purpose, so off the async
        // threads.
        let matches = task::spawn_blocking(move || verify(&creds.password, &hash))
            .await
            .map_err(BackendError::PasswordCheck)?;
        Ok(user.filter(|_| matches))
    }

    async fn get_user(&self, name: &UserId<Self>) -> Result<Option<User>, BackendError> {
        let accounts = self.accounts.read().await;
        Ok(accounts.get(name).map(|account| self.user(name, account)))
    }
}

/// A permission, by name, as in the example.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Permission {
    /// `"orders"` or `"users"`.
    pub name: String,
}

impl From<&str> for Permission {
    fn from(name: &str) -> Self {
        Permission {
            name: name.to_owned(),
        }
    }
}

impl AuthzBackend for Backend {
    type Permission = Permission;

    /// The role is the group: read from the user `get_user` loaded for this
    /// request, so a role change applies at once.
    async fn get_group_permissions(
        &self,
        user: &User,
    ) -> Result<HashSet<Permission>, BackendError> {
        let names: &[&str] = match user.role {
            Role::Member => &["orders"],
            Role::Admin => &["orders", "users"],
            Role::Banned => &[],
        };
        Ok(names.iter().map(|name| Permission::from(*name)).collect())
    }
}

/// The extractor handlers take, with this backend.
pub type AuthSession = axum_login::AuthSession<Backend>;
