//! Every piece of the café's server state, behind a trait: sessions,
//! refresh families, the denylist and token versions (from the `sessions`
//! and `jwt` crates), and here the accounts, the orders and the login
//! throttle's counters. [`Stores::in_memory`] keeps them all in this
//! process; a shared store for many servers implements the same traits.

use async_trait::async_trait;
use cafe::orders::Order;
use cafe::throttle::{Attempt, CountedAttempt, KNOWN_CLIENTS_PER_ACCOUNT, Limit, reserve};
use cafe::users::{Account, DEMO_USERS, Profile, Role};
use jwt::TokenStores;
use jwt::revocation::{BothChecksStore, DenylistStore, RefreshFamilyStore, TokenVersionStore};
pub use sessions::StoreError;
use sessions::{SessionKey, SessionStore, Timeouts};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

// ANCHOR: traits
/// The accounts: names, roles and password hashes.
#[async_trait]
pub trait AccountStore: Send + Sync + 'static {
    /// Adds or replaces an account.
    async fn insert(&self, account: Account) -> Result<(), StoreError>;
    /// The account called `name`, with its password hash.
    async fn account(&self, name: &str) -> Result<Option<Account>, StoreError>;
    /// The role of `name` now, without the password hash: what a request
    /// needs. `None` if there is no such account.
    async fn role(&self, name: &str) -> Result<Option<Role>, StoreError> {
        Ok(self.account(name).await?.map(|account| account.role))
    }
    /// Gives `name` a new role; `None` if there is no such account.
    async fn set_role(&self, name: &str, role: Role) -> Result<Option<Profile>, StoreError>;
    /// Replaces `name`'s password hash with `new_hash` if it is still
    /// `current_hash`, one atomic step (a compare-and-swap): of two changes
    /// made with the same current password, one wins. `false` if the hash
    /// had changed meanwhile, or there is no such account.
    async fn set_password(
        &self,
        name: &str,
        current_hash: &str,
        new_hash: &str,
    ) -> Result<bool, StoreError>;
    /// Every account, by name.
    async fn all(&self) -> Result<Vec<Profile>, StoreError>;
}

/// The coffee orders.
#[async_trait]
pub trait OrderStore: Send + Sync + 'static {
    /// Records an order of `item` by `by`, unless `by` already has `most`
    /// orders (the café keeps
    /// [`MAX_ORDERS_PER_USER`](cafe::orders::MAX_ORDERS_PER_USER)): then
    /// `None`. Counting and recording are one atomic step, so however many
    /// orders arrive at once, no user ever has more.
    async fn place(&self, by: &str, item: &str, most: usize) -> Result<Option<Order>, StoreError>;
    /// Up to `count` of the orders `by` placed with an id above `after`
    /// (0 for the first), oldest first.
    async fn placed_by(&self, by: &str, after: u64, count: usize)
    -> Result<Vec<Order>, StoreError>;
}

/// The login throttle's counts, each under a key ([`cafe::throttle`]).
#[async_trait]
pub trait ThrottleStore: Send + Sync + 'static {
    /// Counts `attempt` under `key`, one atomic step, if `limit` lets it
    /// through ([`cafe::throttle::reserve`]); sent twice, counted once.
    async fn reserve_attempt(
        &self,
        key: &str,
        attempt: CountedAttempt,
        limit: Limit,
    ) -> Result<Attempt, StoreError>;
    /// Takes the attempt named `id` back out of `key`'s count.
    async fn release(&self, key: &str, id: u64) -> Result<(), StoreError>;
    /// Forgets every attempt under `key`.
    async fn clear(&self, key: &str) -> Result<(), StoreError>;
    /// Remembers `client` under `key` (an account's known clients) for
    /// `known_for`; the most recent few only.
    async fn remember(
        &self,
        key: &str,
        client: &str,
        now: SystemTime,
        known_for: Duration,
    ) -> Result<(), StoreError>;
    /// Whether `client` is one of `key`'s known clients at `now`.
    async fn remembers(&self, key: &str, client: &str, now: SystemTime)
    -> Result<bool, StoreError>;
}
// ANCHOR_END: traits

/// A session as one authenticated request needs it, from
/// [`SessionCheck::check`]: whose it is, which login, and the user's role
/// now. Never the password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedSession {
    /// The account name.
    pub user: String,
    /// The login's public id.
    pub login_id: String,
    /// The account's role at this request; `None` if the account is gone.
    pub role: Option<Role>,
}

/// An authenticated request's whole lookup in sessions mode, in one step
/// where the store can do it (Redis: one script on one hash slot): the
/// session judged by `timeouts` at `now`, touched if it is active, ended if
/// it has expired, and its user's current role read in the same step.
#[async_trait]
pub trait SessionCheck: Send + Sync + 'static {
    /// The session under `key`, if it is active at `now`.
    async fn check(
        &self,
        key: &SessionKey,
        now: SystemTime,
        timeouts: Timeouts,
    ) -> Result<Option<CheckedSession>, StoreError>;
}

/// Where the app keeps all its state.
#[derive(Clone)]
pub struct Stores {
    /// Session records (sessions mode).
    pub sessions: Arc<dyn SessionStore>,
    /// Refresh families, the denylist and token versions (JWT mode).
    pub tokens: TokenStores,
    /// The accounts.
    pub accounts: Arc<dyn AccountStore>,
    /// The orders.
    pub orders: Arc<dyn OrderStore>,
    /// Login attempts.
    pub throttle: Arc<dyn ThrottleStore>,
    /// A session request's lookups in one step, where the store that keeps
    /// `sessions` and `accounts` can (Redis); `None`: the session, then the
    /// account. Set it only to the store `sessions` and `accounts` are.
    pub session_check: Option<Arc<dyn SessionCheck>>,
}

impl Stores {
    /// Everything in this process's memory, with the demo accounts: fast,
    /// and gone when the process ends.
    pub fn in_memory() -> Stores {
        Stores {
            sessions: Arc::new(sessions::MemoryStore::new()),
            tokens: TokenStores::in_memory(),
            accounts: Arc::new(MemoryAccounts::with_demo_users()),
            orders: Arc::new(MemoryOrders::default()),
            throttle: Arc::new(MemoryThrottle::default()),
            session_check: None,
        }
    }

    /// Everything in one store that implements every trait, for example
    /// one connection to a shared store, with each request's lookups in one
    /// step.
    pub fn all_in<S>(store: Arc<S>) -> Stores
    where
        S: SessionStore
            + SessionCheck
            + RefreshFamilyStore
            + DenylistStore
            + TokenVersionStore
            + BothChecksStore
            + AccountStore
            + OrderStore
            + ThrottleStore,
    {
        Stores {
            sessions: store.clone(),
            tokens: TokenStores {
                both: Some(store.clone()),
                ..TokenStores::all_in(store.clone())
            },
            accounts: store.clone(),
            orders: store.clone(),
            session_check: Some(store.clone()),
            throttle: store,
        }
    }
}

/// Every account, in this process's memory.
#[derive(Debug, Default)]
pub struct MemoryAccounts {
    accounts: RwLock<BTreeMap<String, Account>>,
}

impl MemoryAccounts {
    /// The demo accounts of [`DEMO_USERS`].
    ///
    /// # Panics
    ///
    /// If the OS gives no random bytes for the salts: at start-up, before
    /// any request, where stopping is the right answer.
    #[allow(clippy::expect_used)] // start-up, not a request path
    pub fn with_demo_users() -> MemoryAccounts {
        let accounts = MemoryAccounts::default();
        for (name, password, role) in DEMO_USERS {
            let account = Account::new(name, password, *role).expect("hashing at start-up");
            accounts.write().insert(account.name.clone(), account);
        }
        accounts
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Account>> {
        self.accounts.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Account>> {
        self.accounts.write().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl AccountStore for MemoryAccounts {
    async fn insert(&self, account: Account) -> Result<(), StoreError> {
        self.write().insert(account.name.clone(), account);
        Ok(())
    }

    async fn account(&self, name: &str) -> Result<Option<Account>, StoreError> {
        Ok(self.read().get(name).cloned())
    }

    async fn role(&self, name: &str) -> Result<Option<Role>, StoreError> {
        // The role alone: no copy of the account and its hash.
        Ok(self.read().get(name).map(|account| account.role))
    }

    async fn set_role(&self, name: &str, role: Role) -> Result<Option<Profile>, StoreError> {
        let mut accounts = self.write();
        let Some(account) = accounts.get_mut(name) else {
            return Ok(None);
        };
        account.role = role;
        Ok(Some(account.profile()))
    }

    async fn set_password(
        &self,
        name: &str,
        current_hash: &str,
        new_hash: &str,
    ) -> Result<bool, StoreError> {
        // The compare and the write under one lock.
        let mut accounts = self.write();
        match accounts.get_mut(name) {
            Some(account) if account.password_hash == current_hash => {
                new_hash.clone_into(&mut account.password_hash);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn all(&self) -> Result<Vec<Profile>, StoreError> {
        Ok(self.read().values().map(Account::profile).collect())
    }
}

/// Every order, in this process's memory.
#[derive(Debug, Default)]
pub struct MemoryOrders {
    placed: Mutex<PlacedOrders>,
}

#[derive(Debug, Default)]
struct PlacedOrders {
    last_id: u64,
    /// Each user's orders, by id: they are pushed under the lock that
    /// hands out the ids, so each list is in order.
    by_user: BTreeMap<String, Vec<Order>>,
}

#[async_trait]
impl OrderStore for MemoryOrders {
    async fn place(&self, by: &str, item: &str, most: usize) -> Result<Option<Order>, StoreError> {
        // One lock around the count and the push: two orders at 999 cannot
        // both see room for one more.
        let mut placed = self.placed.lock().unwrap_or_else(|p| p.into_inner());
        let PlacedOrders { last_id, by_user } = &mut *placed;
        let theirs = by_user.entry(by.to_owned()).or_default();
        if theirs.len() >= most {
            return Ok(None);
        }
        *last_id += 1;
        let order = Order {
            id: *last_id,
            item: item.to_owned(),
            by: by.to_owned(),
        };
        theirs.push(order.clone());
        Ok(Some(order))
    }

    async fn placed_by(
        &self,
        by: &str,
        after: u64,
        count: usize,
    ) -> Result<Vec<Order>, StoreError> {
        let placed = self.placed.lock().unwrap_or_else(|p| p.into_inner());
        let Some(theirs) = placed.by_user.get(by) else {
            return Ok(Vec::new());
        };
        let first = theirs.partition_point(|order| order.id <= after);
        Ok(theirs.iter().skip(first).take(count).cloned().collect())
    }
}

/// How many counts the memory throttle keeps: past it, the count used
/// least recently is forgotten. Each is a few attempts, so 100,000 counts
/// stay within a few tens of megabytes, however many made-up names and
/// addresses a flood brings.
pub const THROTTLE_COUNTS_KEPT: usize = 100_000;

/// Recent login attempts per count (for names that exist or not, so the
/// throttle does not reveal which do), in this process's memory: a bounded
/// least-recently-used map (the `lru` crate), so every attempt costs the
/// same whatever the number of counts.
pub struct MemoryThrottle {
    counts: Mutex<lru::LruCache<String, Vec<CountedAttempt>>>,
    /// Each account's known clients and until when, newest last. Only a
    /// correct password adds one, so strangers cannot crowd these out.
    known: Mutex<lru::LruCache<String, Vec<(String, SystemTime)>>>,
}

impl Default for MemoryThrottle {
    fn default() -> MemoryThrottle {
        MemoryThrottle::keeping(THROTTLE_COUNTS_KEPT)
    }
}

impl std::fmt::Debug for MemoryThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryThrottle")
            .field("counts", &self.lock().len())
            .finish()
    }
}

impl MemoryThrottle {
    /// A throttle that keeps at most `counts` counts (at least one).
    pub fn keeping(counts: usize) -> MemoryThrottle {
        let counts = std::num::NonZeroUsize::new(counts).unwrap_or(std::num::NonZeroUsize::MIN);
        MemoryThrottle {
            counts: Mutex::new(lru::LruCache::new(counts)),
            known: Mutex::new(lru::LruCache::new(counts)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, lru::LruCache<String, Vec<CountedAttempt>>> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl ThrottleStore for MemoryThrottle {
    async fn reserve_attempt(
        &self,
        key: &str,
        attempt: CountedAttempt,
        limit: Limit,
    ) -> Result<Attempt, StoreError> {
        // The count and the check happen under one lock: atomic.
        let mut counts = self.lock();
        let attempts = counts.get_or_insert_mut(key.to_owned(), Vec::new);
        Ok(reserve(attempts, attempt, limit))
    }

    async fn release(&self, key: &str, id: u64) -> Result<(), StoreError> {
        let mut counts = self.lock();
        if let Some(attempts) = counts.peek_mut(key) {
            attempts.retain(|(_, counted)| *counted != id);
            // An empty count is no count: keep no key for it, so attempts
            // that were taken back cannot crowd out counts that matter.
            if attempts.is_empty() {
                counts.pop(key);
            }
        }
        Ok(())
    }

    async fn clear(&self, key: &str) -> Result<(), StoreError> {
        self.lock().pop(key);
        Ok(())
    }

    async fn remember(
        &self,
        key: &str,
        client: &str,
        now: SystemTime,
        known_for: Duration,
    ) -> Result<(), StoreError> {
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        let clients = known.get_or_insert_mut(key.to_owned(), Vec::new);
        clients.retain(|(known, until)| known != client && *until > now);
        clients.push((client.to_owned(), now + known_for));
        let too_many = clients.len().saturating_sub(KNOWN_CLIENTS_PER_ACCOUNT);
        clients.drain(..too_many);
        Ok(())
    }

    async fn remembers(
        &self,
        key: &str,
        client: &str,
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        Ok(known
            .get(key)
            .is_some_and(|clients| clients.iter().any(|(c, until)| c == client && *until > now)))
    }
}
