//! A role change landing in the middle of a login or a refresh, forced
//! rather than timed: a store wrapper stops the request right after one of
//! its reads of alice's account or token version, an admin demotes alice
//! over HTTP, and only then does the request go on. Every read is tried in
//! turn, so whichever two reads a credential is minted from, the demotion
//! lands between them once.

use crate::support::{Mode, Visitor, spawn_app_with};
use async_trait::async_trait;
use cafe::store::{AccountStore, StoreError};
use cafe::users::{Account, Profile, Role};
use jwt::revocation::{StoreError as TokenStoreError, TokenVersionStore};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

const ALL_MODES: [Mode; 5] = [
    Mode::Sessions,
    Mode::Jwt,
    Mode::JwtDenylist,
    Mode::JwtChecked,
    Mode::Hybrid,
];

/// Where the request under test stops: after its `stop_after`-th read of
/// alice (counting from 1), until the test says go on.
#[derive(Default)]
struct Interleaving {
    stop_after: Mutex<Option<usize>>,
    reads: AtomicUsize,
    stopped: Notify,
    go_on: Notify,
}

impl Interleaving {
    fn arm(&self, stop_after: usize) {
        self.reads.store(0, Ordering::SeqCst);
        *self.stop_after.lock().unwrap() = Some(stop_after);
    }

    fn disarm(&self) {
        *self.stop_after.lock().unwrap() = None;
    }

    /// Called after every read of alice: stops on the chosen one.
    async fn after_read_of(&self, user: &str) {
        if user != "alice" {
            return;
        }
        let count = self.reads.fetch_add(1, Ordering::SeqCst) + 1;
        let stop = {
            let mut armed = self.stop_after.lock().unwrap();
            let stop = *armed == Some(count);
            if stop {
                *armed = None;
            }
            stop
        };
        if stop {
            self.stopped.notify_one();
            self.go_on.notified().await;
        }
    }
}

struct Accounts {
    inner: Arc<dyn AccountStore>,
    interleaving: Arc<Interleaving>,
}

#[async_trait]
impl AccountStore for Accounts {
    async fn insert(&self, account: Account) -> Result<(), StoreError> {
        self.inner.insert(account).await
    }
    async fn account(&self, name: &str) -> Result<Option<Account>, StoreError> {
        let account = self.inner.account(name).await;
        self.interleaving.after_read_of(name).await;
        account
    }
    async fn set_role(&self, name: &str, role: Role) -> Result<Option<Profile>, StoreError> {
        self.inner.set_role(name, role).await
    }
    async fn set_password(
        &self,
        name: &str,
        current_hash: &str,
        new_hash: &str,
    ) -> Result<bool, StoreError> {
        self.inner.set_password(name, current_hash, new_hash).await
    }
    async fn all(&self) -> Result<Vec<Profile>, StoreError> {
        self.inner.all().await
    }
}

struct Versions {
    inner: Arc<dyn TokenVersionStore>,
    interleaving: Arc<Interleaving>,
}

#[async_trait]
impl TokenVersionStore for Versions {
    async fn current(&self, user: &str) -> Result<u64, TokenStoreError> {
        let version = self.inner.current(user).await;
        self.interleaving.after_read_of(user).await;
        version
    }
    async fn bump(&self, user: &str) -> Result<u64, TokenStoreError> {
        self.inner.bump(user).await
    }
}

/// A café in `mode` whose account and version reads go through an
/// [`Interleaving`], with alice promoted to admin and the real admin logged in.
async fn cafe_with_admin_alice(
    mode: Mode,
) -> (crate::support::TestApp, Arc<Interleaving>, Visitor) {
    let interleaving = Arc::new(Interleaving::default());
    let mut config = mode.config();
    config.stores.accounts = Arc::new(Accounts {
        inner: config.stores.accounts.clone(),
        interleaving: interleaving.clone(),
    });
    config.stores.tokens.versions = Arc::new(Versions {
        inner: config.stores.tokens.versions.clone(),
        interleaving: interleaving.clone(),
    });
    let app = spawn_app_with(mode, config).await;
    let admin = app.logged_in("admin", "admin-secret-42").await;
    let promote = json!({ "role": "admin" });
    let promoted = admin.post("/admin/users/alice/role", promote).await;
    assert_eq!(promoted.status, 200);
    (app, interleaving, admin)
}

/// Runs `request` (a login or a refresh of alice's), stopping it after its
/// `read`-th read of alice to demote her. `None` if the request made fewer
/// reads than that: every interleaving has been tried.
async fn demoted_during<F>(
    interleaving: &Interleaving,
    admin: &Visitor,
    read: usize,
    request: F,
) -> Option<Visitor>
where
    F: Future<Output = Visitor> + Send + 'static,
{
    interleaving.arm(read);
    let mut request = tokio::spawn(request);
    let finished_first = tokio::select! {
        finished = &mut request => Some(finished.unwrap()),
        () = interleaving.stopped.notified() => None,
    };
    interleaving.disarm();
    if finished_first.is_some() {
        return None;
    }
    let demote = json!({ "role": "member" });
    let demoted = admin.post("/admin/users/alice/role", demote).await;
    assert_eq!(demoted.status, 200, "{:?}", demoted.body);
    interleaving.go_on.notify_one();
    Some(request.await.unwrap())
}

/// What alice holds after the demotion has landed: it must not act as an
/// admin, and where the mode checks token versions (or reads the account,
/// as sessions do) it must not even claim to be one.
async fn assert_no_admin_rights(mode: Mode, alice: &Visitor, context: &str) {
    let users = alice.get("/users").await.status;
    assert!(
        users == 403 || users == 401,
        "{mode:?} {context}: GET /users answered {users}"
    );
    let promote = json!({ "role": "admin" });
    let again = alice.post("/admin/users/alice/role", promote).await.status;
    assert!(
        again == 403 || again == 401,
        "{mode:?} {context}: re-promoting herself answered {again}"
    );
    if matches!(mode, Mode::Sessions | Mode::JwtChecked) {
        let me = alice.get("/me").await;
        assert!(
            me.status == 401 || me.body["role"] == "member",
            "{mode:?} {context}: /me answered {} {}",
            me.status,
            me.body
        );
    }
}

#[tokio::test]
async fn a_demotion_during_a_login_never_mints_a_credential_with_admin_rights() {
    for mode in ALL_MODES {
        let (app, interleaving, admin) = cafe_with_admin_alice(mode).await;
        for read in 1.. {
            let mut alice = app.visitor();
            let login = async move {
                let answer = alice.log_in("alice", "wonderland-42").await;
                assert_eq!(answer.status, 200, "{:?}", answer.body);
                alice
            };
            let Some(alice) = demoted_during(&interleaving, &admin, read, login).await else {
                break;
            };
            let context = format!("demoted after read {read} of the login");
            assert_no_admin_rights(mode, &alice, &context).await;
            let promote = json!({ "role": "admin" });
            let promoted = admin.post("/admin/users/alice/role", promote).await;
            assert_eq!(promoted.status, 200);
        }
    }
}

#[tokio::test]
async fn a_demotion_during_a_refresh_never_mints_a_credential_with_admin_rights() {
    for mode in [Mode::Jwt, Mode::JwtDenylist, Mode::JwtChecked, Mode::Hybrid] {
        let (app, interleaving, admin) = cafe_with_admin_alice(mode).await;
        for read in 1.. {
            let alice = app.logged_in("alice", "wonderland-42").await;
            assert_eq!(alice.get("/users").await.status, 200, "{mode:?}");
            let mut refreshing = alice.clone();
            let refresh = async move {
                let answer = refreshing.refresh().await;
                assert_eq!(answer.status, 200, "{:?}", answer.body);
                refreshing
            };
            let Some(alice) = demoted_during(&interleaving, &admin, read, refresh).await else {
                break;
            };
            let context = format!("demoted after read {read} of the refresh");
            assert_no_admin_rights(mode, &alice, &context).await;
            let promote = json!({ "role": "admin" });
            let promoted = admin.post("/admin/users/alice/role", promote).await;
            assert_eq!(promoted.status, 200);
        }
    }
}
