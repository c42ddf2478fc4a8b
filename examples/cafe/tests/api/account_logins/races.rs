//! A password change racing a login, or another change, forced rather than
//! timed: a store wrapper stops one request at a chosen point among its
//! store calls on alice's state (before and after each), the other request
//! runs to its end, and only then does the stopped one go on. Every point
//! is tried in turn, so whatever the order of the two requests' store
//! calls, it is run once.
//!
//! The rule each order must keep: no login made with the old password
//! outlives the change. A login is either refused, having created nothing
//! that lives on, or answered and then ended by the change like any login
//! made before it.

use super::{
    ALICE, LAPTOP, PHONE, assert_login_ended, change_password, log_in_on_device, logins_of,
};
use crate::support::{Credential, Mode, Reply, TestApp, for_every_mechanism, opening_time};
use ::jwt::revocation::{
    Device, FamilyRecord, RefreshFamilyStore, RevokedAll, Rotation, TokenVersionStore,
};
use ::sessions::id::SessionKey;
use ::sessions::{ActiveSession, KeepFor, SessionRecord, SessionStore};
use async_trait::async_trait;
use cafe::clock::ManualClock;
use cafe::store::{AccountStore, StoreError};
use cafe::users::{Account, Profile, Role};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::sync::{Barrier, Notify};

/// The two passwords alice goes back and forth between, one change per
/// round.
const PASSWORDS: [&str; 2] = [ALICE.1, "through-the-looking-glass"];

/// How long a request stopped and let go may take to finish.
const PATIENCE: Duration = Duration::from_secs(30);

/// Where the request under test stops: at its `stop_at`-th point (counting
/// from 1), until the test says go on. A point is the moment before or
/// after one store call on alice's state.
#[derive(Default)]
struct Interleaving {
    stop_at: Mutex<Option<usize>>,
    passed: AtomicUsize,
    stopped_at: Mutex<Option<String>>,
    stopped: Notify,
    go_on: Notify,
    /// Whether a new password hash of alice's was stored since armed.
    password_written: AtomicBool,
    /// Where every `set_password` of alice's waits until all the changes
    /// expected have arrived: none of them has written yet, each with the
    /// hash it checked.
    meeting: Mutex<Option<Arc<Barrier>>>,
    met: AtomicUsize,
}

impl Interleaving {
    fn arm(&self, stop_at: usize) {
        self.passed.store(0, Ordering::SeqCst);
        self.password_written.store(false, Ordering::SeqCst);
        *self.stop_at.lock().unwrap() = Some(stop_at);
    }

    fn disarm(&self) {
        *self.stop_at.lock().unwrap() = None;
    }

    /// Called before and after each store call on `user`'s state.
    async fn point(&self, user: &str, what: &str) {
        if user != ALICE.0 {
            return;
        }
        let count = self.passed.fetch_add(1, Ordering::SeqCst) + 1;
        let stop = {
            let mut armed = self.stop_at.lock().unwrap();
            let stop = *armed == Some(count);
            if stop {
                *armed = None;
            }
            stop
        };
        if stop {
            *self.stopped_at.lock().unwrap() = Some(format!("point {count}, {what}"));
            self.stopped.notify_one();
            self.go_on.notified().await;
        }
    }

    /// From now on, every `set_password` of alice's waits until `changes`
    /// of them have arrived.
    fn meet_before_writing(&self, changes: usize) {
        *self.meeting.lock().unwrap() = Some(Arc::new(Barrier::new(changes)));
    }

    async fn before_password_write(&self, user: &str) {
        let meeting = self.meeting.lock().unwrap().clone();
        if let Some(meeting) = meeting.filter(|_| user == ALICE.0) {
            self.met.fetch_add(1, Ordering::SeqCst);
            meeting.wait().await;
        }
    }
}

/// A store between the app and the real one, which tells the
/// [`Interleaving`] of each call on alice's state.
struct Watched<T: ?Sized> {
    inner: Arc<T>,
    interleaving: Arc<Interleaving>,
}

impl<T: ?Sized> Watched<T> {
    fn new(inner: Arc<T>, interleaving: &Arc<Interleaving>) -> Arc<Watched<T>> {
        Arc::new(Watched {
            inner,
            interleaving: Arc::clone(interleaving),
        })
    }

    /// `call`, with a point before and after it.
    async fn around<R>(&self, user: &str, what: &str, call: impl Future<Output = R>) -> R {
        self.interleaving
            .point(user, &format!("before {what}"))
            .await;
        let result = call.await;
        self.interleaving
            .point(user, &format!("after {what}"))
            .await;
        result
    }
}

#[async_trait]
impl AccountStore for Watched<dyn AccountStore> {
    async fn insert(&self, account: Account) -> Result<(), StoreError> {
        self.inner.insert(account).await
    }
    async fn account(&self, name: &str) -> Result<Option<Account>, StoreError> {
        let read = self.inner.account(name);
        self.around(name, "reading the account", read).await
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
        self.interleaving.before_password_write(name).await;
        let write = async {
            let written = self.inner.set_password(name, current_hash, new_hash).await;
            if name == ALICE.0 && written == Ok(true) {
                self.interleaving
                    .password_written
                    .store(true, Ordering::SeqCst);
            }
            written
        };
        self.around(name, "writing the password hash", write).await
    }
    async fn all(&self) -> Result<Vec<Profile>, StoreError> {
        self.inner.all().await
    }
}

#[async_trait]
impl SessionStore for Watched<dyn SessionStore> {
    async fn create(
        &self,
        key: SessionKey,
        record: SessionRecord,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let user = record.user.clone();
        let create = self.inner.create(key, record, ttl);
        self.around(&user, "storing a session", create).await
    }
    async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        self.inner.load(key).await
    }
    async fn touch(
        &self,
        key: &SessionKey,
        now: SystemTime,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        self.inner.touch(key, now, ttl).await
    }
    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.inner.delete(key).await
    }
    /// The real store's own `resume` (the memory store's: one lock), as the
    /// app runs it; like the load and the touch, not a point.
    async fn resume(
        &self,
        key: &SessionKey,
        now: SystemTime,
        keep_for: &KeepFor<'_>,
    ) -> Result<Option<ActiveSession>, StoreError> {
        self.inner.resume(key, now, keep_for).await
    }
    async fn delete_all_for_user(&self, user: &str) -> Result<usize, StoreError> {
        let delete = self.inner.delete_all_for_user(user);
        self.around(user, "ending every session", delete).await
    }
    async fn list_for_user(
        &self,
        user: &str,
    ) -> Result<Vec<(SessionKey, SessionRecord)>, StoreError> {
        self.inner.list_for_user(user).await
    }
}

#[async_trait]
impl RefreshFamilyStore for Watched<dyn RefreshFamilyStore> {
    async fn start(
        &self,
        sid: &str,
        user: &str,
        jti: &str,
        expires: u64,
        now: u64,
        device: &Device,
    ) -> Result<(), StoreError> {
        let start = self.inner.start(sid, user, jti, expires, now, device);
        self.around(user, "storing a refresh family", start).await
    }
    async fn rotate(
        &self,
        sid: &str,
        jti: &str,
        next_jti: &str,
        now: u64,
        idle: u64,
    ) -> Result<Rotation, StoreError> {
        self.inner.rotate(sid, jti, next_jti, now, idle).await
    }
    async fn revoke(&self, sid: &str) -> Result<(), StoreError> {
        self.inner.revoke(sid).await
    }
    async fn end(&self, user: &str, sid: &str) -> Result<Option<FamilyRecord>, StoreError> {
        self.inner.end(user, sid).await
    }
    async fn revoke_all_for(&self, user: &str) -> Result<RevokedAll, StoreError> {
        let revoke = self.inner.revoke_all_for(user);
        self.around(user, "ending every refresh family", revoke)
            .await
    }
    async fn list_for_user(&self, user: &str) -> Result<Vec<FamilyRecord>, StoreError> {
        self.inner.list_for_user(user).await
    }
}

#[async_trait]
impl TokenVersionStore for Watched<dyn TokenVersionStore> {
    async fn current(&self, user: &str) -> Result<u64, StoreError> {
        let read = self.inner.current(user);
        self.around(user, "reading the token version", read).await
    }
    async fn bump(&self, user: &str) -> Result<u64, StoreError> {
        let bump = self.inner.bump(user);
        self.around(user, "bumping the token version", bump).await
    }
}

/// A café in `mode` whose account, session, refresh-family and
/// token-version stores are watched by one [`Interleaving`].
async fn watched_cafe(mode: Mode) -> (TestApp, Arc<Interleaving>) {
    let interleaving = Arc::new(Interleaving::default());
    let mut config = mode.config();
    let stores = &mut config.stores;
    stores.accounts = Watched::new(stores.accounts.clone(), &interleaving);
    stores.sessions = Watched::new(stores.sessions.clone(), &interleaving);
    stores.tokens.families = Watched::new(stores.tokens.families.clone(), &interleaving);
    stores.tokens.versions = Watched::new(stores.tokens.versions.clone(), &interleaving);
    let clock = Arc::new(ManualClock::starting_at(opening_time()));
    let app = crate::support::spawn_configured(mode, config, clock).await;
    (app, interleaving)
}

/// Runs `request` on a task of its own, stopped at its `point`-th point;
/// while it is stopped, runs `meanwhile` to its end, then lets the request
/// go on. Returns where it stopped and both results; `None` if the request
/// ended before reaching that point (every point has been tried).
async fn while_stopped<R, M>(
    interleaving: &Interleaving,
    point: usize,
    request: impl Future<Output = R> + Send + 'static,
    meanwhile: impl Future<Output = M>,
) -> Option<(String, M, R)>
where
    R: Send + 'static,
{
    interleaving.arm(point);
    let mut request = tokio::spawn(request);
    let ended_first = tokio::select! {
        ended = &mut request => Some(ended.unwrap()),
        () = interleaving.stopped.notified() => None,
    };
    interleaving.disarm();
    if ended_first.is_some() {
        return None;
    }
    let stopped_at = interleaving.stopped_at.lock().unwrap().take().unwrap();
    let during = meanwhile.await;
    interleaving.go_on.notify_one();
    let result = tokio::time::timeout(PATIENCE, request)
        .await
        .expect("the stopped request ends once let go")
        .unwrap();
    Some((stopped_at, during, result))
}

/// A refused login hands out nothing: no cookie, no token.
fn assert_no_credential(mode: Mode, login: &Reply, context: &str) {
    assert!(
        Credential::issued(mode.mechanism(), login).is_none(),
        "{context}: a refused login handed out {login:?}"
    );
    assert!(login.json_str("access_token").is_none(), "{context}");
}

/// After a change by `changer`: its own login is the only one left, and the
/// old password is refused (from `address`, a client of its own).
async fn assert_only_the_changers_login_is_left(
    app: &TestApp,
    changer: &crate::support::Visitor,
    old: &str,
    address: &str,
    context: &str,
) {
    let left = logins_of(changer).await;
    assert_eq!(left.len(), 1, "{context}: {left:?}");
    assert_eq!(left[0]["current"], true, "{context}");
    let mut elsewhere = app.visitor_from(address);
    let login = elsewhere.log_in(ALICE.0, old).await;
    assert_eq!(login.status, 401, "{context}: the old password logs in");
}

/// A login whose check passed with the old password is stopped at each
/// of its points in turn while a password change runs from start to end.
async fn a_login_stopped_while_the_password_changes_never_outlives_the_change(mode: Mode) {
    let (app, interleaving) = watched_cafe(mode).await;
    let (mut refused, mut answered) = (Vec::new(), Vec::new());
    let mut points = 0;
    for round in 1_usize.. {
        let (old, new) = (PASSWORDS[(round + 1) % 2], PASSWORDS[round % 2]);
        let mut changer = app.visitor();
        assert_eq!(changer.log_in(ALICE.0, old).await.status, 200);
        let mut racer = app.visitor_from(&format!("127.0.1.{round}"));
        let login = async move {
            let answer = racer.log_in(ALICE.0, old).await;
            (racer, answer)
        };
        let change = change_password(&mut changer, old, new);
        let Some((stopped_at, changed, (racer, login))) =
            while_stopped(&interleaving, round, login, change).await
        else {
            points = round - 1;
            break;
        };
        let context = format!("{mode:?}: the login stopped at {stopped_at} while the change ran");
        assert_eq!(changed.status, 200, "{context}: {}", changed.text);
        match login.status {
            401 => {
                assert_no_credential(mode, &login, &context);
                refused.push(round);
            }
            // Its check and its second read of the hash both came before
            // the change: it is a login made before the change, and the
            // change ends it.
            200 => {
                assert_login_ended(mode, &racer, true, true, &context).await;
                answered.push(round);
            }
            other => panic!("{context}: the login answered {other}: {}", login.text),
        }
        let address = format!("127.0.2.{round}");
        assert_only_the_changers_login_is_left(&app, &changer, old, &address, &context).await;
    }
    eprintln!("{mode:?}: {points} points; refused at {refused:?}, answered at {answered:?}");
    // Before and after each of: the account read, the login's record and
    // the second read; the token modes read the account once more for the
    // role (and the token version, where it is checked).
    let least = if mode == Mode::Sessions { 6 } else { 8 };
    assert!(points >= least, "{mode:?}: only {points} points");
    // Only a login stopped after its last store call, its second read of
    // the hash, is answered; stopped anywhere before, it is refused.
    assert_eq!(answered, [points], "{mode:?}");
    assert_eq!(refused.len(), points - 1, "{mode:?}");
}

/// A password change is stopped at each of its points in turn while a
/// login with the old password runs from start to end.
async fn a_login_while_the_change_is_stopped_never_outlives_the_change(mode: Mode) {
    let (app, interleaving) = watched_cafe(mode).await;
    let (mut refused, mut answered) = (0, 0);
    let mut points = 0;
    for round in 1_usize.. {
        let (old, new) = (PASSWORDS[(round + 1) % 2], PASSWORDS[round % 2]);
        let mut changer = app.visitor();
        assert_eq!(changer.log_in(ALICE.0, old).await.status, 200);
        let change = async move {
            let answer = change_password(&mut changer, old, new).await;
            (changer, answer)
        };
        let mut racer = app.visitor_from(&format!("127.0.1.{round}"));
        let login = async {
            let answer = racer.log_in(ALICE.0, old).await;
            let written = interleaving.password_written.load(Ordering::SeqCst);
            (answer, written)
        };
        let Some((stopped_at, (login, written), (changer, changed))) =
            while_stopped(&interleaving, round, change, login).await
        else {
            points = round - 1;
            break;
        };
        let context = format!("{mode:?}: the change stopped at {stopped_at} while the login ran");
        assert_eq!(changed.status, 200, "{context}: {}", changed.text);
        match (login.status, written) {
            // The change had not written the new hash: the login is made
            // before the change, which ends it, and with the denylist its
            // access token too, wherever the change was stopped. (Stopped
            // between listing alice's logins and revoking them, the change
            // once revoked this login without denying it; the revocation
            // now names every login it reached, and each is denied.)
            (200, false) => {
                assert_login_ended(mode, &racer, true, true, &context).await;
                answered += 1;
            }
            (401, true) => {
                assert_no_credential(mode, &login, &context);
                refused += 1;
            }
            (status, written) => panic!(
                "{context}: the login answered {status} with the new hash {}: {}",
                if written {
                    "written"
                } else {
                    "not yet written"
                },
                login.text
            ),
        }
        let address = format!("127.0.2.{round}");
        assert_only_the_changers_login_is_left(&app, &changer, old, &address, &context).await;
    }
    eprintln!("{mode:?}: {points} points; {answered} answered then ended, {refused} refused");
    assert!(points >= 8, "{mode:?}: only {points} points");
    assert!(
        answered > 0 && refused > 0,
        "{mode:?}: both orders were run"
    );
    assert_eq!(answered + refused, points);
}

/// Two changes from two devices with the same current password, both
/// past their check before either writes: one wins, the other is told the
/// password changed meanwhile, and only the winner's password logs in.
async fn two_changes_with_the_same_current_password_one_wins(mode: Mode) {
    let (app, interleaving) = watched_cafe(mode).await;
    let phone = log_in_on_device(&app, "127.0.0.2", PHONE, ALICE).await;
    let laptop = log_in_on_device(&app, "127.0.0.3", LAPTOP, ALICE).await;
    interleaving.meet_before_writing(2);
    let changes = [
        (phone, "the-phone-chose-this"),
        (laptop, "the-laptop-chose-this"),
    ]
    .map(|(mut device, new)| {
        tokio::spawn(async move {
            let answer = change_password(&mut device, ALICE.1, new).await;
            (device, new, answer)
        })
    });
    let mut results = Vec::new();
    for change in changes {
        let ended = tokio::time::timeout(PATIENCE, change).await;
        results.push(ended.expect("both changes end").unwrap());
    }
    *interleaving.meeting.lock().unwrap() = None;
    assert_eq!(
        interleaving.met.load(Ordering::SeqCst),
        2,
        "both reached the write"
    );

    let mut statuses: Vec<u16> = results.iter().map(|(_, _, answer)| answer.status).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{mode:?}");
    results.sort_by_key(|(_, _, answer)| answer.status);
    let mut results = results.into_iter();
    let (winner, winners, _) = results.next().unwrap();
    let (loser, losers, conflict) = results.next().unwrap();
    assert!(
        conflict
            .json_str("error")
            .is_some_and(|e| e.contains("changed meanwhile")),
        "{}",
        conflict.text
    );

    assert_eq!(winner.get("/me").await.status, 200);
    assert_eq!(
        logins_of(&winner).await.len(),
        1,
        "the winner's login alone"
    );
    assert_login_ended(mode, &loser, true, true, &format!("{mode:?}: the loser")).await;
    let mut elsewhere = app.visitor_from("127.0.0.4");
    assert_eq!(elsewhere.log_in(ALICE.0, ALICE.1).await.status, 401);
    assert_eq!(elsewhere.log_in(ALICE.0, losers).await.status, 401);
    assert_eq!(elsewhere.log_in(ALICE.0, winners).await.status, 200);
}

for_every_mechanism!(
    a_login_stopped_while_the_password_changes_never_outlives_the_change,
    a_login_while_the_change_is_stopped_never_outlives_the_change,
    two_changes_with_the_same_current_password_one_wins,
);
