//! The café's accounts: names, roles, and Argon2id password hashes, and the
//! password check, which is slow on purpose and so is rationed.

use argon2::password_hash::{PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

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

impl Role {
    /// The role as a token claim (`"member"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Admin => "admin",
            Role::Banned => "banned",
        }
    }

    /// The role a token claim names, if any.
    pub fn from_claim(claim: &str) -> Option<Role> {
        match claim {
            "member" => Some(Role::Member),
            "admin" => Some(Role::Admin),
            "banned" => Some(Role::Banned),
            _ => None,
        }
    }
}

/// The public face of an account, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Profile {
    /// The login name.
    pub name: String,
    /// The current role.
    pub role: Role,
}

/// An account as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The login name.
    pub name: String,
    /// The current role.
    pub role: Role,
    /// The Argon2id hash of the password, in PHC string format.
    pub password_hash: String,
}

impl Account {
    /// A new account, its password hashed now.
    pub fn new(name: &str, password: &str, role: Role) -> Result<Account, PasswordError> {
        Ok(Account {
            name: name.to_owned(),
            role,
            password_hash: hash_password(password)?,
        })
    }

    /// What the API shows of it.
    pub fn profile(&self) -> Profile {
        Profile {
            name: self.name.clone(),
            role: self.role,
        }
    }
}

/// The demo accounts every server starts with (also listed in the README).
pub const DEMO_USERS: &[(&str, &str, Role)] = &[
    ("alice", "wonderland-42", Role::Member),
    ("admin", "admin-secret-42", Role::Admin),
];

// ANCHOR: hasher
/// Argon2id's memory cost in KiB: 19 MiB, the OWASP Password Storage Cheat
/// Sheet's minimum, with 2 passes and 1 lane. Written out rather than taken
/// from the crate's defaults, so a dependency update cannot weaken them.
const MEMORY_KIB: u32 = 19_456;
const PASSES: u32 = 2;
const LANES: u32 = 1;

fn hasher() -> Result<Argon2<'static>, PasswordError> {
    let params =
        Params::new(MEMORY_KIB, PASSES, LANES, None).map_err(|e| PasswordError(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}
// ANCHOR_END: hasher

/// Hashing failed: no random salt, or bad parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordError(pub String);

impl std::fmt::Display for PasswordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "password hashing failed: {}", self.0)
    }
}

impl std::error::Error for PasswordError {}

/// Hashes a password with a fresh 128-bit salt from the OS, in 19 MiB of
/// its own: for start-up (the demo accounts). A request hashes through
/// [`PasswordChecker::hash`], which reuses its threads' memory.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    let mut memory = vec![Block::default(); MEMORY_KIB as usize];
    hash_in(&mut memory, password)
}

/// Hashes `password` with a fresh 128-bit salt from the OS, computed in
/// `memory`, as a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
fn hash_in(memory: &mut [Block], password: &str) -> Result<String, PasswordError> {
    let error = |e: &dyn std::fmt::Display| PasswordError(e.to_string());
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| error(&e))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| error(&e))?;
    let argon2 = hasher()?;
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt
        .as_salt()
        .decode_b64(&mut salt_bytes)
        .map_err(|e| error(&e))?;
    let mut computed = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon2
        .hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut computed, memory)
        .map_err(|e| error(&e))?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: argon2::password_hash::ParamsString::try_from(argon2.params())
            .map_err(|e| error(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(argon2::password_hash::Output::new(&computed).map_err(|e| error(&e))?),
    };
    Ok(hash.to_string())
}

/// Whether `password` matches `stored_hash`, computed in `memory`: the
/// caller's own 19 MiB, reused check after check. (Allocating it afresh each
/// time, as the crate's `verify_password` does, left the allocator holding
/// about 200 MB after a burst of logins.) Only hashes with the café's own
/// parameters are accepted: a stored hash cannot ask for more memory.
fn password_matches(memory: &mut [Block], stored_hash: &str, password: &str) -> bool {
    let Ok(hash) = PasswordHash::new(stored_hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    let ours = Params::try_from(&hash).is_ok_and(|p| {
        (p.m_cost(), p.t_cost(), p.p_cost()) == (MEMORY_KIB, PASSES, LANES)
            && p.output_len() == Some(expected.len())
    });
    let mut salt_bytes = [0u8; 64];
    let (true, Ok(salt), Ok(argon2)) = (
        ours && hash.algorithm == Algorithm::Argon2id.ident(),
        salt.decode_b64(&mut salt_bytes),
        hasher(),
    ) else {
        return false;
    };
    let mut computed = [0u8; 64];
    let computed = &mut computed[..expected.len()];
    let hashed = argon2
        .hash_password_into_with_memory(password.as_bytes(), salt, computed, memory)
        .is_ok();
    // Constant-time, so the comparison leaks nothing either.
    hashed && bool::from(computed.ct_eq(expected.as_bytes()))
}

/// The check could not start in time: every permit was taken. The app
/// answers 503 with `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// How many password checks may run at once, and how long a login waits
/// for its turn before it is told to come back later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashingLimits {
    /// Checks running at once. Each holds 19 MiB for tens of milliseconds.
    pub concurrent: usize,
    /// How long a login waits for a free slot.
    pub queue_wait: Duration,
}

impl Default for HashingLimits {
    /// One check per core, and a two-second wait.
    fn default() -> HashingLimits {
        HashingLimits {
            concurrent: std::thread::available_parallelism().map_or(2, |n| n.get()),
            queue_wait: Duration::from_secs(2),
        }
    }
}

/// Work for a hashing thread: check a password against a hash, or hash a
/// new one, and where to answer.
enum Work {
    Check {
        stored_hash: String,
        password: String,
        answer: tokio::sync::oneshot::Sender<bool>,
    },
    Hash {
        password: String,
        answer: tokio::sync::oneshot::Sender<Result<String, PasswordError>>,
    },
}

/// A [`Work`] and its slot.
struct HashJob {
    work: Work,
    /// Held until the work is done, even if the client goes away meanwhile.
    _permit: tokio::sync::OwnedSemaphorePermit,
}

// ANCHOR: password_checker
/// Checks passwords with Argon2id on a few dedicated threads.
///
/// Argon2id is memory-hard: each check takes 19 MiB. Unbounded, 48
/// concurrent logins took about 900 MB, so a burst of logins could exhaust
/// the server's memory. A semaphore caps the checks in flight, and each runs
/// on one of a fixed set of threads that owns its 19 MiB for good: memory
/// for hashing is exactly threads × 19 MiB, however many logins arrive.
pub struct PasswordChecker {
    permits: Arc<Semaphore>,
    queue_wait: Duration,
    jobs: std::sync::mpsc::Sender<HashJob>,
    /// Checked when the name is unknown, so that "no such user" costs the
    /// same as "wrong password" and timing does not reveal which names exist.
    dummy_hash: String,
    verifications: AtomicU64,
}

impl PasswordChecker {
    /// A checker with these limits, and its hashing threads.
    pub fn new(limits: HashingLimits) -> Result<PasswordChecker, PasswordError> {
        let threads = limits.concurrent.max(1);
        let (jobs, queue) = std::sync::mpsc::channel::<HashJob>();
        let queue = Arc::new(std::sync::Mutex::new(queue));
        for n in 0..threads {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || {
                    let mut memory = vec![Block::default(); MEMORY_KIB as usize];
                    // Ends when the checker, and so the sender, is dropped.
                    loop {
                        let job = queue.lock().unwrap_or_else(|p| p.into_inner()).recv();
                        let Ok(job) = job else { break };
                        match job.work {
                            Work::Check {
                                stored_hash,
                                password,
                                answer,
                            } => {
                                let matches =
                                    password_matches(&mut memory, &stored_hash, &password);
                                answer.send(matches).ok();
                            }
                            Work::Hash { password, answer } => {
                                answer.send(hash_in(&mut memory, &password)).ok();
                            }
                        }
                    }
                })
                .map_err(|e| PasswordError(e.to_string()))?;
        }
        Ok(PasswordChecker {
            permits: Arc::new(Semaphore::new(threads)),
            queue_wait: limits.queue_wait,
            jobs,
            dummy_hash: hash_password("no account has this password")?,
            verifications: AtomicU64::new(0),
        })
    }

    /// Whether `password` is the password of `account`. An unknown account
    /// (`None`) costs a full check against the dummy hash, and answers false.
    pub async fn check(&self, account: Option<&Account>, password: &str) -> Result<bool, Busy> {
        let permit = self.slot().await?;
        let known = account.is_some();
        let stored_hash =
            account.map_or_else(|| self.dummy_hash.clone(), |a| a.password_hash.clone());
        let (answer, answered) = tokio::sync::oneshot::channel();
        let work = Work::Check {
            stored_hash,
            password: password.to_owned(),
            answer,
        };
        self.jobs
            .send(HashJob {
                work,
                _permit: permit,
            })
            .map_err(|_| Busy)?;
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let matches = answered.await.map_err(|_| Busy)?;
        Ok(known && matches)
    }
    // ANCHOR_END: password_checker

    /// A fresh Argon2id hash of a new `password`, computed in one of the
    /// same slots as the checks (a password change costs what a login
    /// costs, and is rationed with them). `Err(Busy)` if no slot came free
    /// in time; `Ok(Err(_))` if the OS gave no random salt.
    pub async fn hash(&self, password: &str) -> Result<Result<String, PasswordError>, Busy> {
        let permit = self.slot().await?;
        let (answer, answered) = tokio::sync::oneshot::channel();
        let work = Work::Hash {
            password: password.to_owned(),
            answer,
        };
        self.jobs
            .send(HashJob {
                work,
                _permit: permit,
            })
            .map_err(|_| Busy)?;
        answered.await.map_err(|_| Busy)
    }

    /// A free slot, or `Busy` after the queue wait.
    async fn slot(&self) -> Result<tokio::sync::OwnedSemaphorePermit, Busy> {
        tokio::time::timeout(self.queue_wait, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| Busy)?
            .map_err(|_| Busy)
    }

    /// How many Argon2 verifications have run: what a test counts to prove
    /// that an unknown name costs as much as a wrong password.
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests;
