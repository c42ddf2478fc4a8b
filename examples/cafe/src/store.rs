//! Every piece of the café's server state, behind a trait: sessions,
//! refresh families, the denylist and token versions (from the `sessions`
//! and `jwt` crates), and here the accounts, the orders and the login
//! throttle's counters. [`Stores::in_memory`] keeps them all in this
//! process; a shared store for many servers implements the same traits.

use async_trait::async_trait;
use cafe::orders::{MAX_ORDERS_PER_USER, Order};
use cafe::throttle::{Attempt, ThrottlePolicy, reserve};
use cafe::users::{Account, DEMO_USERS, Profile, Role};
use jwt::TokenStores;
use jwt::revocation::{DenylistStore, RefreshFamilyStore, TokenVersionStore};
use sessions::SessionStore;
pub use sessions::StoreError;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

// ANCHOR: traits
/// The accounts: names, roles and password hashes.
#[async_trait]
pub trait AccountStore: Send + Sync + 'static {
    /// Adds or replaces an account.
    async fn insert(&self, account: Account) -> Result<(), StoreError>;
    /// The account called `name`, with its password hash.
    async fn account(&self, name: &str) -> Result<Option<Account>, StoreError>;
    /// Gives `name` a new role; `None` if there is no such account.
    async fn set_role(&self, name: &str, role: Role) -> Result<Option<Profile>, StoreError>;
    /// Every account, by name.
    async fn all(&self) -> Result<Vec<Profile>, StoreError>;
}

/// The coffee orders.
#[async_trait]
pub trait OrderStore: Send + Sync + 'static {
    /// Records an order of `item` by `by`, unless `by` already has
    /// [`MAX_ORDERS_PER_USER`](cafe::orders::MAX_ORDERS_PER_USER): then
    /// `None`. Counting and recording are one atomic step, so however many
    /// orders arrive at once, no user ever has more.
    async fn place(&self, by: &str, item: &str) -> Result<Option<Order>, StoreError>;
    /// Up to `count` of the orders `by` placed with an id above `after`
    /// (0 for the first), oldest first.
    async fn placed_by(&self, by: &str, after: u64, count: usize)
    -> Result<Vec<Order>, StoreError>;
}

/// The login throttle's counters.
#[async_trait]
pub trait ThrottleStore: Send + Sync + 'static {
    /// Counts one login attempt for `name` *before* the password is checked,
    /// as one atomic step: allowed only while fewer than the policy's
    /// maximum fall inside its window. However many requests arrive at
    /// once, at most that many passwords are ever checked.
    async fn reserve_attempt(
        &self,
        name: &str,
        now: SystemTime,
        policy: ThrottlePolicy,
    ) -> Result<Attempt, StoreError>;
    /// Forgets `name`'s attempts after a correct password.
    async fn clear(&self, name: &str) -> Result<(), StoreError>;
}
// ANCHOR_END: traits

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
        }
    }

    /// Everything in one store that implements every trait, for example
    /// one connection to a shared store.
    pub fn all_in<S>(store: Arc<S>) -> Stores
    where
        S: SessionStore
            + RefreshFamilyStore
            + DenylistStore
            + TokenVersionStore
            + AccountStore
            + OrderStore
            + ThrottleStore,
    {
        Stores {
            sessions: store.clone(),
            tokens: TokenStores::all_in(store.clone()),
            accounts: store.clone(),
            orders: store.clone(),
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

    async fn set_role(&self, name: &str, role: Role) -> Result<Option<Profile>, StoreError> {
        let mut accounts = self.write();
        let Some(account) = accounts.get_mut(name) else {
            return Ok(None);
        };
        account.role = role;
        Ok(Some(account.profile()))
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
    async fn place(&self, by: &str, item: &str) -> Result<Option<Order>, StoreError> {
        // One lock around the count and the push: two orders at 999 cannot
        // both see room for one more.
        let mut placed = self.placed.lock().unwrap_or_else(|p| p.into_inner());
        let PlacedOrders { last_id, by_user } = &mut *placed;
        let theirs = by_user.entry(by.to_owned()).or_default();
        if theirs.len() >= MAX_ORDERS_PER_USER {
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

/// Above this many tracked names, names whose attempts are all old are dropped.
const TRACKED_NAMES_BEFORE_PRUNING: usize = 10_000;

/// Recent login attempts per submitted name (known or not, so the throttle
/// does not reveal which names exist), in this process's memory.
#[derive(Debug, Default)]
pub struct MemoryThrottle {
    attempts: Mutex<HashMap<String, Vec<SystemTime>>>,
}

impl MemoryThrottle {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<SystemTime>>> {
        self.attempts.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl ThrottleStore for MemoryThrottle {
    async fn reserve_attempt(
        &self,
        name: &str,
        now: SystemTime,
        policy: ThrottlePolicy,
    ) -> Result<Attempt, StoreError> {
        // The count and the check happen under one lock: atomic.
        let mut attempts = self.lock();
        if attempts.len() >= TRACKED_NAMES_BEFORE_PRUNING {
            attempts.retain(|_, times| {
                times
                    .iter()
                    .any(|t| now.duration_since(*t).unwrap_or_default() < policy.window)
            });
        }
        let times = attempts.entry(name.to_owned()).or_default();
        Ok(reserve(times, now, policy))
    }

    async fn clear(&self, name: &str) -> Result<(), StoreError> {
        self.lock().remove(name);
        Ok(())
    }
}
