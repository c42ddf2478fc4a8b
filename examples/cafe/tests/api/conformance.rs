//! The suite every mechanism must pass. Each test takes the mechanism; the
//! call of `for_every_mechanism!` at the bottom runs every test once per
//! mechanism. Where mechanisms
//! are allowed to differ, the test says so with a `match` on the mode.

use crate::support::{Call, Mode, for_every_mechanism, login_call, spawn_app};
use serde_json::json;
use std::time::Duration;

pub const ALICE: (&str, &str) = ("alice", "wonderland-42");
pub const ADMIN: (&str, &str) = ("admin", "admin-secret-42");

async fn health_check_answers(mode: Mode) {
    let app = spawn_app(mode).await;
    let answer = app.visitor().get("/healthz").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, json!({ "status": "ok" }));
}

async fn login_returns_the_user_and_me_remembers_them(mode: Mode) {
    let app = spawn_app(mode).await;
    let mut alice = app.visitor();
    let answer = alice.log_in(ALICE.0, ALICE.1).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.body["user"],
        json!({ "name": "alice", "role": "member" })
    );

    let me = alice.get("/me").await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body, json!({ "name": "alice", "role": "member" }));
}

async fn me_without_a_credential_is_401(mode: Mode) {
    let app = spawn_app(mode).await;
    let answer = app.visitor().get("/me").await;
    assert_eq!(answer.status, 401);
    assert!(answer.body["error"].is_string());
    match mode {
        // No registered scheme fits a cookie; RFC 9110 still asks for one.
        Mode::Sessions => assert_eq!(
            answer.header("www-authenticate"),
            Some(cafe::mechanisms::sessions::SESSION_CHALLENGE)
        ),
        // RFC 6750 §3.1: no error code when no token was sent.
        Mode::Jwt | Mode::JwtDenylist | Mode::JwtChecked | Mode::Hybrid => {
            assert_eq!(answer.header("www-authenticate"), Some("Bearer"));
        }
    }
}

async fn unknown_user_and_wrong_password_get_the_same_401(mode: Mode) {
    let app = spawn_app(mode).await;
    let wrong_password = app.visitor().log_in("alice", "not-her-password").await;
    let unknown_user = app.visitor().log_in("mallory", "wonderland-42").await;
    assert_eq!(wrong_password.status, 401);
    assert_eq!(unknown_user.status, 401);
    assert_eq!(wrong_password.text, unknown_user.text);
    assert!(wrong_password.header("set-cookie").is_none());
}

async fn the_user_list_is_for_admins_only(mode: Mode) {
    let app = spawn_app(mode).await;
    assert_eq!(app.visitor().get("/users").await.status, 401);
    let alice = app.logged_in(ALICE.0, ALICE.1).await;
    assert_eq!(alice.get("/users").await.status, 403);
    let admin = app.logged_in(ADMIN.0, ADMIN.1).await;
    let list = admin.get("/users").await;
    assert_eq!(list.status, 200);
    assert_eq!(
        list.body,
        json!([{ "name": "admin", "role": "admin" }, { "name": "alice", "role": "member" }])
    );
}

async fn orders_are_placed_and_listed_per_user(mode: Mode) {
    let app = spawn_app(mode).await;
    let alice = app.logged_in(ALICE.0, ALICE.1).await;
    let admin = app.logged_in(ADMIN.0, ADMIN.1).await;

    let placed = alice.post("/orders", json!({ "item": "flat white" })).await;
    assert_eq!(placed.status, 201);
    assert_eq!(placed.body["item"], "flat white");
    assert_eq!(placed.body["by"], "alice");
    assert!(placed.body["id"].is_u64());
    assert_eq!(
        admin
            .post("/orders", json!({ "item": "espresso" }))
            .await
            .status,
        201
    );

    let mine = alice.get("/orders").await;
    assert_eq!(mine.status, 200);
    assert_eq!(mine.body.as_array().unwrap().len(), 1);
    assert_eq!(mine.body[0]["item"], "flat white");
    assert_eq!(
        app.visitor()
            .post("/orders", json!({ "item": "latte" }))
            .await
            .status,
        401
    );
}

async fn an_unreasonable_order_is_422(mode: Mode) {
    let app = spawn_app(mode).await;
    let alice = app.logged_in(ALICE.0, ALICE.1).await;
    for item in [
        json!(""),
        json!("   "),
        json!("x".repeat(101)),
        json!("tea\u{0}"),
    ] {
        assert_eq!(
            alice.post("/orders", json!({ "item": item })).await.status,
            422,
            "{item}"
        );
    }
    assert_eq!(
        alice
            .post("/orders", json!({ "drink": "latte" }))
            .await
            .status,
        422
    );
    assert_eq!(alice.get("/orders").await.body, json!([]));
}

async fn logout_ends_the_login_and_the_old_credential_is_refused(mode: Mode) {
    let app = spawn_app(mode).await;
    let alice = app.logged_in(ALICE.0, ALICE.1).await;
    let logout = alice.send(&Call::post("/logout")).await;
    assert_eq!(logout.status, 204);
    // Every mode keeps something in the browser: the answer says to forget it.
    assert_eq!(
        logout.header("clear-site-data"),
        Some(r#""cache", "cookies", "storage""#)
    );
    // The client kept a copy of its old credential and replays it.
    let replayed = alice.get("/me").await.status;
    match mode {
        Mode::Sessions | Mode::JwtDenylist => assert_eq!(replayed, 401),
        // Nothing is looked up per request, so nothing can say "logged out":
        // the access token works until it expires (the book says so).
        Mode::Jwt | Mode::JwtChecked | Mode::Hybrid => {
            assert_eq!(replayed, 200);
            app.wait(Duration::from_secs(15 * 60 + ::jwt::tokens::LEEWAY_SECONDS));
            assert_eq!(alice.get("/me").await.status, 401);
        }
    }
    // Logging out again is harmless.
    assert_eq!(alice.send(&Call::post("/logout")).await.status, 204);
    if mode.is_jwt() {
        // The whole login is over: its refresh token no longer works.
        let mut alice = alice;
        assert_eq!(alice.refresh().await.status, 401);
    }
}

async fn bodies_must_be_json(mode: Mode) {
    let app = spawn_app(mode).await;
    let form = Call::post("/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .raw_body("username=alice&password=wonderland-42");
    assert_eq!(app.visitor().send(&form).await.status, 415);
    let no_type = Call::post("/login").raw_body(r#"{"username":"alice","password":"x"}"#);
    assert_eq!(app.visitor().send(&no_type).await.status, 415);
    let alice = app.logged_in(ALICE.0, ALICE.1).await;
    let text = Call::post("/logout")
        .header("content-type", "text/plain")
        .raw_body("bye");
    assert_eq!(alice.send(&text).await.status, 415);
    assert_eq!(
        alice.get("/me").await.status,
        200,
        "the refused logout did nothing"
    );
}

async fn malformed_json_is_400_and_the_wrong_shape_422(mode: Mode) {
    let app = spawn_app(mode).await;
    let broken = Call::post("/login")
        .header("content-type", "application/json")
        .raw_body("{\"username\":");
    assert_eq!(app.visitor().send(&broken).await.status, 400);
    let wrong_shape = Call::post("/login").json(&json!({ "user": "alice" }));
    assert_eq!(app.visitor().send(&wrong_shape).await.status, 422);
}

async fn each_endpoint_accepts_only_its_method(mode: Mode) {
    let app = spawn_app(mode).await;
    let answer = app.visitor().get("/logout").await;
    assert_eq!(answer.status, 405);
    assert_eq!(answer.header("allow"), Some("POST"));
    // In JSON, like every other error.
    assert!(answer.body["error"].is_string(), "{}", answer.text);
    assert_eq!(app.visitor().get("/login").await.status, 405);
    assert_eq!(app.visitor().send(&Call::post("/me")).await.status, 405);
}

async fn an_oversized_body_is_413(mode: Mode) {
    let app = spawn_app(mode).await;
    let huge = json!({ "username": "alice", "password": "x".repeat(cafe::BODY_LIMIT_BYTES) });
    let answer = app.visitor().send(&Call::post("/login").json(&huge)).await;
    assert_eq!(answer.status, 413);
}

async fn an_overlong_password_is_refused_before_hashing(mode: Mode) {
    let app = spawn_app(mode).await;
    let hashed_before = app.passwords.verifications();
    let answer = app.visitor().log_in("alice", &"x".repeat(2000)).await;
    assert_eq!(answer.status, 422);
    assert_eq!(
        app.passwords.verifications(),
        hashed_before,
        "no hash was computed"
    );
}

async fn unknown_paths_are_404_in_json(mode: Mode) {
    let app = spawn_app(mode).await;
    let answer = app.visitor().get("/admin").await;
    assert_eq!(answer.status, 404);
    assert!(answer.body["error"].is_string());
}

/// A path segment that is not UTF-8 (`%FF`) is a bad request, answered in
/// JSON like every other error (axum's own answer is plain text).
async fn a_path_segment_that_is_not_text_is_400_in_json(mode: Mode) {
    let app = spawn_app(mode).await;
    let alice = app.logged_in(ALICE.0, ALICE.1).await;
    let admin = app.logged_in(ADMIN.0, ADMIN.1).await;
    let calls = [
        (&alice, Call::delete("/me/logins/%FF")),
        (
            &admin,
            Call::post("/admin/users/%FF/role").json(&json!({ "role": "member" })),
        ),
        (&admin, Call::post("/admin/users/%FF/logout-everywhere")),
    ];
    for (visitor, call) in calls {
        let answer = visitor.send(&call).await;
        assert_eq!(answer.status, 400, "{call:?}");
        assert!(
            answer
                .header("content-type")
                .is_some_and(|t| t.starts_with("application/json")),
            "{call:?}"
        );
        assert!(answer.body["error"].is_string(), "{call:?}");
    }
}

async fn answers_are_never_cached(mode: Mode) {
    let app = spawn_app(mode).await;
    let alice = app.logged_in(ALICE.0, ALICE.1).await;
    assert_eq!(
        alice.get("/me").await.header("cache-control"),
        Some("no-store")
    );
}

/// RFC 9110 §15.5.2: a 401 without a challenge is not a valid 401.
async fn every_401_carries_a_challenge(mode: Mode) {
    let app = spawn_app(mode).await;
    let visitor = app.visitor();
    let forged = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.";
    let refusals = [
        visitor.get("/me").await,
        visitor
            .send(&Call::get("/me").header("authorization", &format!("Bearer {forged}")))
            .await,
        visitor
            .send(&Call::get("/orders").header("cookie", "__Host-session=made-up"))
            .await,
        visitor.send(&login_call("alice", "not-her-password")).await,
        visitor.send(&login_call("nobody", "wonderland-42")).await,
    ];
    for answer in refusals {
        assert_eq!(answer.status, 401, "{:?}", answer.body);
        let challenge = answer.header("www-authenticate");
        assert!(
            challenge.is_some_and(|c| c.starts_with("Bearer") || c.starts_with("Cookie ")),
            "a 401 without a challenge: {challenge:?}"
        );
    }
}

/// ASVS 5.0 3.4: the browser-facing headers on every answer, JSON or not,
/// success or error.
async fn every_answer_carries_the_security_headers(mode: Mode) {
    let app = spawn_app(mode).await;
    let alice = app.logged_in(ALICE.0, ALICE.1).await;
    let answers = [
        alice.get("/me").await,
        alice.get("/").await,
        app.visitor().get("/me").await,
        app.visitor().get("/no-such-page").await,
        alice.post("/orders", json!({ "item": "" })).await,
    ];
    for answer in answers {
        for (name, value) in [
            ("cache-control", "no-store"),
            ("x-content-type-options", "nosniff"),
            ("referrer-policy", "no-referrer"),
            ("cross-origin-opener-policy", "same-origin"),
            ("cross-origin-resource-policy", "same-origin"),
            (
                "strict-transport-security",
                "max-age=31536000; includeSubDomains",
            ),
        ] {
            assert_eq!(
                answer.header(name),
                Some(value),
                "{name} on a {}",
                answer.status
            );
        }
        let policy = answer.header("content-security-policy").unwrap_or_default();
        assert!(
            policy.contains("frame-ancestors 'none'") && policy.contains("base-uri 'none'"),
            "{policy:?} on a {}",
            answer.status
        );
    }
}

async fn members_cannot_use_admin_endpoints(mode: Mode) {
    let app = spawn_app(mode).await;
    let alice = app.logged_in(ALICE.0, ALICE.1).await;
    let promote = alice
        .post("/admin/users/alice/role", json!({ "role": "admin" }))
        .await;
    assert_eq!(promote.status, 403);
    let end = alice
        .send(&Call::post("/admin/users/admin/logout-everywhere"))
        .await;
    assert_eq!(end.status, 403);
    assert_eq!(alice.get("/me").await.body["role"], "member");
}

async fn an_admin_changes_a_role(mode: Mode) {
    let app = spawn_app(mode).await;
    let admin = app.logged_in(ADMIN.0, ADMIN.1).await;
    let mut alice = app.logged_in(ALICE.0, ALICE.1).await;

    let changed = admin
        .post("/admin/users/alice/role", json!({ "role": "admin" }))
        .await;
    assert_eq!(changed.status, 200);
    assert_eq!(changed.body, json!({ "name": "alice", "role": "admin" }));
    assert_eq!(
        admin
            .post("/admin/users/nobody/role", json!({ "role": "admin" }))
            .await
            .status,
        404
    );
    assert_eq!(
        admin
            .post("/admin/users/alice/role", json!({ "role": "owner" }))
            .await
            .status,
        422
    );

    // When does alice's existing login see the new role?
    match mode {
        // The session holds no role: the very next request reads the new one.
        Mode::Sessions => {}
        // Her access token still says "member" until she refreshes it.
        Mode::Jwt | Mode::JwtDenylist | Mode::Hybrid => {
            assert_eq!(alice.get("/me").await.body["role"], "member");
            assert_eq!(alice.get("/users").await.status, 403);
            assert_eq!(alice.refresh().await.status, 200);
        }
        // Her token is refused at once, and a refresh brings the new role.
        Mode::JwtChecked => {
            let stale = alice.get("/me").await;
            assert_eq!(stale.status, 401);
            assert_eq!(
                stale.header("www-authenticate"),
                Some(r#"Bearer error="invalid_token""#)
            );
            assert_eq!(alice.refresh().await.status, 200);
        }
    }
    assert_eq!(alice.get("/me").await.body["role"], "admin");
    assert_eq!(alice.get("/users").await.status, 200);
}

async fn a_demoted_admin_loses_the_admin_routes_at_once(mode: Mode) {
    let app = spawn_app(mode).await;
    let admin = app.logged_in(ADMIN.0, ADMIN.1).await;
    let promote = json!({ "role": "admin" });
    let promoted = admin.post("/admin/users/alice/role", promote).await;
    assert_eq!(promoted.status, 200);
    let alice = app.logged_in(ALICE.0, ALICE.1).await;
    assert_eq!(alice.get("/users").await.status, 200);

    let demote = json!({ "role": "member" });
    let demoted = admin.post("/admin/users/alice/role", demote).await;
    assert_eq!(demoted.status, 200);
    // Whatever her credential still says, the admin routes read her
    // account: she can neither list users nor promote herself back.
    let refused = match mode {
        Mode::JwtChecked => 401,
        _ => 403,
    };
    assert_eq!(alice.get("/users").await.status, refused);
    let promote = json!({ "role": "admin" });
    let again = alice.post("/admin/users/alice/role", promote).await;
    assert_eq!(again.status, refused);
    let everywhere = Call::post("/admin/users/admin/logout-everywhere");
    assert_eq!(alice.send(&everywhere).await.status, refused);
    let accounts = admin.get("/users").await;
    assert_eq!(
        accounts.body,
        json!([{ "name": "admin", "role": "admin" }, { "name": "alice", "role": "member" }])
    );
    // Elsewhere, an old access token keeps the role it was issued with
    // until it expires (unless versions are checked): the staleness the
    // JWT chapters measure. Ordering coffee is all a member needs.
    let me = alice.get("/me").await;
    match mode {
        Mode::Sessions => assert_eq!(me.body["role"], "member"),
        Mode::JwtChecked => assert_eq!(me.status, 401),
        Mode::Jwt | Mode::JwtDenylist | Mode::Hybrid => assert_eq!(me.body["role"], "admin"),
    }
}

async fn a_banned_user_is_refused(mode: Mode) {
    let app = spawn_app(mode).await;
    let admin = app.logged_in(ADMIN.0, ADMIN.1).await;
    let mut alice = app.logged_in(ALICE.0, ALICE.1).await;
    let ban = json!({ "role": "banned" });
    assert_eq!(admin.post("/admin/users/alice/role", ban).await.status, 200);

    let mocha = json!({ "item": "mocha" });
    match mode {
        Mode::Sessions => {
            // Her existing session is refused on its very next request.
            assert_eq!(alice.get("/me").await.status, 403);
            assert_eq!(alice.post("/orders", mocha).await.status, 403);
        }
        Mode::Jwt | Mode::JwtDenylist | Mode::Hybrid => {
            // Her access token knows nothing of the ban: she keeps ordering
            // until it expires (at most 15 minutes; 5 for the hybrid), and
            // cannot refresh.
            assert_eq!(alice.get("/me").await.body["role"], "member");
            assert_eq!(alice.post("/orders", mocha).await.status, 201);
            assert_eq!(alice.refresh().await.status, 403);
        }
        Mode::JwtChecked => {
            assert_eq!(alice.get("/me").await.status, 401);
            assert_eq!(alice.post("/orders", mocha).await.status, 401);
            assert_eq!(alice.refresh().await.status, 403);
        }
    }
    // Logging in again: 403 with her password, and still 401 without it.
    assert_eq!(app.visitor().log_in(ALICE.0, ALICE.1).await.status, 403);
    assert_eq!(app.visitor().log_in("alice", "guess").await.status, 401);
}

async fn logout_everywhere_ends_every_login_of_that_user(mode: Mode) {
    let app = spawn_app(mode).await;
    let admin = app.logged_in(ADMIN.0, ADMIN.1).await;
    let mut alice_phone = app.logged_in(ALICE.0, ALICE.1).await;
    let alice_laptop = app.logged_in(ALICE.0, ALICE.1).await;

    let everywhere = Call::post("/admin/users/alice/logout-everywhere");
    let ended = admin.send(&everywhere).await;
    assert_eq!(ended.status, 200);
    assert_eq!(ended.body["name"], "alice");
    assert_eq!(ended.body["ended"], 2, "two logins ended");
    match mode {
        // Sessions end; the version check refuses every older token; the
        // denylist names each login ended, so every access token of each.
        Mode::Sessions | Mode::JwtChecked | Mode::JwtDenylist => {
            assert_eq!(alice_phone.get("/me").await.status, 401);
            assert_eq!(alice_laptop.get("/me").await.status, 401);
        }
        // The access tokens already handed out keep working until they expire.
        Mode::Jwt | Mode::Hybrid => {
            assert_eq!(alice_phone.get("/me").await.status, 200);
            assert_eq!(alice_laptop.get("/me").await.status, 200);
        }
    }
    if mode != Mode::Sessions {
        assert_eq!(
            alice_phone.refresh().await.status,
            401,
            "no login can be renewed"
        );
    }
    assert_eq!(
        admin.get("/me").await.status,
        200,
        "only alice's logins end"
    );
    let unknown = admin
        .send(&Call::post("/admin/users/nobody/logout-everywhere"))
        .await;
    assert_eq!(unknown.status, 404);
    if mode == Mode::JwtDenylist {
        // Still refused the last second they would have been accepted.
        app.wait(Duration::from_secs(
            15 * 60 + ::jwt::tokens::LEEWAY_SECONDS - 1,
        ));
        assert_eq!(alice_phone.get("/me").await.status, 401);
        assert_eq!(alice_laptop.get("/me").await.status, 401);
    }
}

async fn cross_site_writes_are_refused(mode: Mode) {
    let app = spawn_app(mode).await;
    let alice = app.logged_in(ALICE.0, ALICE.1).await;
    let order = json!({ "item": "flat white" });
    let forged = Call::post("/orders")
        .json(&order)
        .header("sec-fetch-site", "cross-site");
    assert_eq!(alice.send(&forged).await.status, 403);
    let sibling = Call::post("/orders")
        .json(&order)
        .header("sec-fetch-site", "same-site");
    assert_eq!(alice.send(&sibling).await.status, 403);
    let old_browser = Call::post("/orders")
        .json(&order)
        .header("origin", "https://evil.example");
    assert_eq!(alice.send(&old_browser).await.status, 403);
    // The café's own host and port, but another scheme: another origin.
    let port = app.address.rsplit(':').next().unwrap();
    let wrong_scheme = Call::post("/orders")
        .json(&order)
        .header("origin", &format!("https://localhost:{port}"));
    assert_eq!(alice.send(&wrong_scheme).await.status, 403);
    assert_eq!(
        alice.get("/orders").await.body,
        json!([]),
        "no forged order was placed"
    );

    let own_page = Call::post("/orders")
        .json(&order)
        .header("sec-fetch-site", "same-origin");
    assert_eq!(alice.send(&own_page).await.status, 201);
    let own_page_old_browser = Call::post("/orders")
        .json(&order)
        .header("origin", &format!("http://localhost:{port}"));
    assert_eq!(alice.send(&own_page_old_browser).await.status, 201);
}

async fn no_bad_input_gets_a_500(mode: Mode) {
    let app = spawn_app(mode).await;
    let alice = app.logged_in(ALICE.0, ALICE.1).await;
    let calls = [
        Call::get("/me").header("cookie", "__Host-session=\"quoted\"; __Host-session"),
        Call::get("/me").header("cookie", ";;;==;"),
        Call::get("/me").header("authorization", "Bearer"),
        Call::get("/me").header("authorization", "Bearer a.b.c"),
        Call::get("/me").header("authorization", &"x".repeat(8000)),
        Call::post("/login").json(&json!(null)),
        Call::post("/login").json(&json!([1, 2, 3])),
        Call::post("/login").json(&json!({ "username": 42, "password": true })),
        Call::post("/orders").json(&json!({ "item": { "nested": "object" } })),
        Call::post("/admin/users/%2e%2e%2fetc/role").json(&json!({ "role": "admin" })),
        Call::post("/admin/users/alice/role").json(&json!({ "role": null })),
        Call::get("/../../etc/passwd"),
        Call::get("/orders?%zz"),
    ];
    for call in &calls {
        // Alice's own cookie or token rides along, so some of these succeed.
        let status = alice.send(call).await.status;
        assert!(status < 500, "{call:?} got {status}");
        let anonymous = app.visitor().send(call).await.status;
        assert!((400..500).contains(&anonymous), "{call:?} got {anonymous}");
    }
    // Headers far beyond any real request: refused by the HTTP layer with 431.
    let huge = Call::get("/me").header("x-padding", &"x".repeat(512 * 1024));
    assert_eq!(app.visitor().send(&huge).await.status, 431);
    assert_eq!(
        alice.get("/me").await.status,
        200,
        "and the server is still up"
    );
}

for_every_mechanism!(
    health_check_answers,
    login_returns_the_user_and_me_remembers_them,
    me_without_a_credential_is_401,
    unknown_user_and_wrong_password_get_the_same_401,
    the_user_list_is_for_admins_only,
    orders_are_placed_and_listed_per_user,
    an_unreasonable_order_is_422,
    logout_ends_the_login_and_the_old_credential_is_refused,
    bodies_must_be_json,
    malformed_json_is_400_and_the_wrong_shape_422,
    each_endpoint_accepts_only_its_method,
    an_oversized_body_is_413,
    an_overlong_password_is_refused_before_hashing,
    unknown_paths_are_404_in_json,
    a_path_segment_that_is_not_text_is_400_in_json,
    answers_are_never_cached,
    every_401_carries_a_challenge,
    every_answer_carries_the_security_headers,
    members_cannot_use_admin_endpoints,
    an_admin_changes_a_role,
    a_demoted_admin_loses_the_admin_routes_at_once,
    a_banned_user_is_refused,
    logout_everywhere_ends_every_login_of_that_user,
    cross_site_writes_are_refused,
    no_bad_input_gets_a_500,
);
