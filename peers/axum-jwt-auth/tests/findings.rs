//! What axum-jwt-auth 0.7 (on jsonwebtoken 10) does as its docs leave it,
//! and what the hardened configuration changes: each test sends the same
//! attack to both configurations and asserts each answer. Tokens are forged
//! with the server's secret, as a key holder could (the attack lab's
//! `--jwt-secret-file`), or taken from a real login.

mod common;

use axum_jwt_auth::JwtDecoder;
use common::{Peer, SECRET, both, challenge, now, parts, resign, sign, token};
use peer_axum_jwt_auth::tokens::{
    AUDIENCE, default_validation, hardened_validation, local_decoder,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Claims in the default configuration's shape, for `alice`, valid now.
fn default_claims() -> Value {
    let now = now();
    json!({
        "sub": "alice", "role": "member", "exp": now + 900, "iat": now, "aud": AUDIENCE,
    })
}

/// A token signed with the server's secret: the default configuration's
/// header and claims, changed by `change`.
fn forged_default(change: impl FnOnce(&mut Value, &mut Value)) -> String {
    let mut header = json!({"alg": "HS256", "typ": "JWT"});
    let mut claims = default_claims();
    change(&mut header, &mut claims);
    sign(&header, &claims, SECRET)
}

/// A real hardened token for `alice`, changed by `change` and signed again.
async fn forged_hardened(peer: &Peer, change: impl FnOnce(&mut Value, &mut Value)) -> String {
    let login = peer.log_in("alice").await;
    resign(token(&login, "access_token"), change)
}

/// `GET /me` with `token`: the status.
async fn me(peer: &Peer, token: &str) -> StatusCode {
    peer.get("/me", token).await.status()
}

#[tokio::test]
async fn a_malformed_token_is_a_500_by_default_and_a_401_hardened() {
    let [default, hardened] = both().await;
    // Bad base64, and a header that is not JSON: jsonwebtoken's Base64 and
    // Json errors, which axum-jwt-auth maps to InternalError.
    let not_base64 = "x.y.z".to_owned();
    let header_not_json = format!("{}.e30.c2ln", b64("not json"));
    // `alg: none`, which jsonwebtoken's `Algorithm` cannot even name.
    let alg_none = format!(
        "{}.{}.",
        b64(r#"{"alg":"none","typ":"JWT"}"#),
        b64(&default_claims().to_string())
    );
    // Signed with the key, but claims the struct cannot hold: no `role`,
    // no `exp` (jsonwebtoken deserializes the struct before it checks the
    // required claims), and `role` twice.
    let no_role = forged_default(|_, claims| {
        claims.as_object_mut().unwrap().remove("role");
    });
    let no_exp = forged_default(|_, claims| {
        claims.as_object_mut().unwrap().remove("exp");
    });
    let duplicate_role = {
        let header = b64(r#"{"alg":"HS256","typ":"JWT"}"#);
        let claims = default_claims();
        let body = format!(
            concat!(
                r#"{{"sub":"alice","role":"member","role":"admin","#,
                r#""exp":{},"iat":{},"aud":"{}"}}"#,
            ),
            claims["exp"], claims["iat"], AUDIENCE
        );
        hs256(&format!("{header}.{}", b64(&body)))
    };
    for garbage in [
        not_base64,
        header_not_json,
        alg_none,
        no_role,
        no_exp,
        duplicate_role,
    ] {
        let reply = default.get("/me", &garbage).await;
        assert_eq!(
            reply.status(),
            StatusCode::INTERNAL_SERVER_ERROR,
            "{garbage}"
        );
        assert_eq!(reply.text().await.unwrap(), "Internal error");
        let reply = hardened.get("/me", &garbage).await;
        assert_eq!(reply.status(), StatusCode::UNAUTHORIZED, "{garbage}");
        assert_eq!(
            challenge(&reply).as_deref(),
            Some("Bearer error=\"invalid_token\"")
        );
    }
    // Not three parts at all is jsonwebtoken's InvalidToken: a 401 in both.
    assert_eq!(me(&default, "not-a-jwt").await, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&hardened, "not-a-jwt").await, StatusCode::UNAUTHORIZED);
}

fn b64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

/// `header.claims` (already encoded) signed HS256 with the server's secret.
fn hs256(input: &str) -> String {
    let key = jsonwebtoken10::EncodingKey::from_secret(SECRET);
    let signature =
        jsonwebtoken10::crypto::sign(input.as_bytes(), &key, jsonwebtoken10::Algorithm::HS256)
            .unwrap();
    format!("{input}.{signature}")
}

#[tokio::test]
async fn a_refusal_carries_no_www_authenticate_by_default_and_a_bearer_challenge_hardened() {
    let [default, hardened] = both().await;
    let wrong_key = sign(
        &json!({"alg": "HS256", "typ": "JWT"}),
        &default_claims(),
        b"a-key-the-server-has-never-seen-000",
    );
    let reply = default.get("/me", &wrong_key).await;
    assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(challenge(&reply), None);
    assert_eq!(reply.text().await.unwrap(), "Invalid signature");
    let no_token = default.client.get(default.url("/me")).send().await.unwrap();
    assert_eq!(no_token.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(challenge(&no_token), None);
    assert_eq!(no_token.text().await.unwrap(), "Missing token");

    let reply = hardened.get("/me", &wrong_key).await;
    assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenge(&reply).as_deref(),
        Some("Bearer error=\"invalid_token\"")
    );
    // RFC 6750 §3.1: no error code when the request carried no credential.
    let no_token = hardened
        .client
        .get(hardened.url("/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(challenge(&no_token).as_deref(), Some("Bearer"));
}

#[tokio::test]
async fn jsonwebtoken_passes_a_token_without_aud_though_the_decoder_insists_on_an_audience() {
    let no_aud = forged_default(|_, claims| {
        claims.as_object_mut().unwrap().remove("aud");
    });
    // The library itself: a `LocalDecoder` configured with an audience, as
    // `LocalDecoder::new` insists, decodes a token that has none.
    let decoder = local_decoder(SECRET, default_validation()).unwrap();
    let decoded = JwtDecoder::<Value>::decode(&decoder, &no_aud).await;
    assert_eq!(decoded.unwrap().claims["sub"], "alice");
    let decoder = local_decoder(SECRET, hardened_validation()).unwrap();
    let refused = JwtDecoder::<Value>::decode(&decoder, &no_aud).await;
    assert!(refused.is_err(), "aud is a required claim when hardened");

    // The peer: the docs' claims struct has `aud: String`, so serde refuses
    // what jsonwebtoken let through, with the crate's 500.
    let [default, hardened] = both().await;
    assert_eq!(
        me(&default, &no_aud).await,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    let hardened_no_aud = forged_hardened(&hardened, |_, claims| {
        claims.as_object_mut().unwrap().remove("aud");
    })
    .await;
    assert_eq!(
        me(&hardened, &hardened_no_aud).await,
        StatusCode::UNAUTHORIZED
    );

    // A present `aud` is compared in both.
    let other_aud = forged_default(|_, claims| claims["aud"] = json!("another-api"));
    assert_eq!(me(&default, &other_aud).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_token_not_valid_for_another_hour_passes_by_default_and_is_refused_hardened() {
    let [default, hardened] = both().await;
    let hour_ahead = now() + 3600;
    let early = forged_default(|_, claims| claims["nbf"] = json!(hour_ahead));
    assert_eq!(me(&default, &early).await, StatusCode::OK);
    let early = forged_hardened(&hardened, |_, claims| claims["nbf"] = json!(hour_ahead)).await;
    let reply = hardened.get("/me", &early).await;
    assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenge(&reply).as_deref(),
        Some("Bearer error=\"invalid_token\"")
    );
}

#[tokio::test]
async fn a_token_expired_30_seconds_ago_passes_by_default_and_is_refused_hardened() {
    let [default, hardened] = both().await;
    let expired = |seconds_ago: i64| {
        let exp = now() - seconds_ago;
        move |_: &mut Value, claims: &mut Value| claims["exp"] = json!(exp)
    };
    // Default: jsonwebtoken's 60 s leeway.
    assert_eq!(
        me(&default, &forged_default(expired(30))).await,
        StatusCode::OK
    );
    let reply = default.get("/me", &forged_default(expired(90))).await;
    assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(reply.text().await.unwrap(), "Expired signature");
    // Hardened: 5 s.
    let thirty = forged_hardened(&hardened, expired(30)).await;
    assert_eq!(me(&hardened, &thirty).await, StatusCode::UNAUTHORIZED);
    let one = forged_hardened(&hardened, expired(1)).await;
    assert_eq!(me(&hardened, &one).await, StatusCode::OK, "within 5 s");
}

#[tokio::test]
async fn any_typ_and_crit_pass_by_default_and_only_an_access_token_type_passes_hardened() {
    let [default, hardened] = both().await;
    let login = default.log_in("alice").await;
    let real = token(&login, "access_token");
    assert_eq!(parts(real).0["typ"], "JWT", "jsonwebtoken's Header::new");
    for typ in [json!("refresh+jwt"), json!("JWT"), Value::Null] {
        let retyped = resign(real, |header, _| header["typ"] = typ.clone());
        assert_eq!(me(&default, &retyped).await, StatusCode::OK, "typ {typ}");
    }
    let critical = resign(real, |header, _| {
        header["crit"] = json!(["urn:example:must-understand"]);
        header["urn:example:must-understand"] = json!("yes");
    });
    assert_eq!(me(&default, &critical).await, StatusCode::OK);

    let login = hardened.log_in("alice").await;
    let real = token(&login, "access_token");
    assert_eq!(parts(real).0["typ"], "at+jwt");
    for (typ, expected) in [
        (json!("JWT"), StatusCode::UNAUTHORIZED),
        (json!("refresh+jwt"), StatusCode::UNAUTHORIZED),
        (Value::Null, StatusCode::UNAUTHORIZED),
        (json!("application/at+jwt"), StatusCode::OK),
        (json!("AT+JWT"), StatusCode::OK),
    ] {
        let retyped = resign(real, |header, _| match &typ {
            Value::Null => {
                header.as_object_mut().unwrap().remove("typ");
            }
            typ => header["typ"] = typ.clone(),
        });
        assert_eq!(me(&hardened, &retyped).await, expected, "typ {typ}");
    }
    let critical = resign(real, |header, _| {
        header["crit"] = json!(["urn:example:must-understand"]);
        header["urn:example:must-understand"] = json!("yes");
    });
    assert_eq!(me(&hardened, &critical).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn iss_is_never_checked_by_default_and_required_hardened() {
    let [default, hardened] = both().await;
    let foreign = forged_default(|_, claims| claims["iss"] = json!("someone-else"));
    assert_eq!(me(&default, &foreign).await, StatusCode::OK);
    let foreign =
        forged_hardened(&hardened, |_, claims| claims["iss"] = json!("someone-else")).await;
    assert_eq!(me(&hardened, &foreign).await, StatusCode::UNAUTHORIZED);
    let missing = forged_hardened(&hardened, |_, claims| {
        claims.as_object_mut().unwrap().remove("iss");
    })
    .await;
    assert_eq!(me(&hardened, &missing).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_demoted_admin_keeps_admin_until_expiry_by_default_and_is_refused_at_once_hardened() {
    for peer in both().await {
        peer.set_role("alice", "admin").await;
        let as_admin = peer.log_in("alice").await;
        let admin_token = token(&as_admin, "access_token");
        assert_eq!(
            peer.get("/users", admin_token).await.status(),
            StatusCode::OK
        );

        peer.set_role("alice", "member").await;
        let users = peer.get("/users", admin_token).await;
        if peer.hardened {
            assert_eq!(users.status(), StatusCode::UNAUTHORIZED, "version raised");
        } else {
            assert_eq!(users.status(), StatusCode::OK, "the token still says admin");
            let me: Value = peer.get("/me", admin_token).await.json().await.unwrap();
            assert_eq!(me["role"], "admin");
        }
        // Both: a refresh reads the account, so the new token says member.
        let renewed: Value = peer
            .refresh(token(&as_admin, "refresh_token"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(renewed["user"]["role"], "member", "{}", peer.name());
        let users = peer.get("/users", token(&renewed, "access_token")).await;
        assert_eq!(users.status(), StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn logout_leaves_the_access_token_working_by_default_and_ends_the_login_hardened() {
    for peer in both().await {
        let first = peer.log_in("alice").await;
        let renewed: Value = peer
            .refresh(token(&first, "refresh_token"))
            .await
            .json()
            .await
            .unwrap();
        let other_device = peer.log_in("alice").await;
        let logout = peer.log_out(token(&renewed, "access_token")).await;
        assert_eq!(logout.status(), StatusCode::NO_CONTENT);

        let presented = me(&peer, token(&renewed, "access_token")).await;
        let earlier = me(&peer, token(&first, "access_token")).await;
        let other = peer.refresh(token(&other_device, "refresh_token")).await;
        if peer.hardened {
            assert_eq!(presented, StatusCode::UNAUTHORIZED);
            assert_eq!(earlier, StatusCode::UNAUTHORIZED, "the login's every token");
            assert_eq!(other.status(), StatusCode::OK, "another login lives on");
        } else {
            assert_eq!(presented, StatusCode::OK);
            assert_eq!(earlier, StatusCode::OK);
            assert_eq!(
                other.status(),
                StatusCode::UNAUTHORIZED,
                "the claims name no login, so every refresh token of the user went"
            );
        }
        let refresh = peer.refresh(token(&renewed, "refresh_token")).await;
        assert_eq!(
            refresh.status(),
            StatusCode::UNAUTHORIZED,
            "{}",
            peer.name()
        );
    }
}

#[tokio::test]
async fn refresh_reuse_after_rotation_ends_the_whole_login_only_when_hardened() {
    for peer in both().await {
        let login = peer.log_in("alice").await;
        let first = token(&login, "refresh_token");
        let rotated: Value = peer.refresh(first).await.json().await.unwrap();
        let reused = peer.refresh(first).await;
        assert_eq!(reused.status(), StatusCode::UNAUTHORIZED, "{}", peer.name());
        let successor = peer.refresh(token(&rotated, "refresh_token")).await;
        let access = me(&peer, token(&rotated, "access_token")).await;
        if peer.hardened {
            assert_eq!(successor.status(), StatusCode::UNAUTHORIZED);
            assert_eq!(access, StatusCode::UNAUTHORIZED, "the thief's access too");
        } else {
            assert_eq!(successor.status(), StatusCode::OK, "no family to end");
            assert_eq!(access, StatusCode::OK);
        }
    }
}

#[tokio::test]
async fn a_banned_users_token_works_until_expiry_by_default_and_is_403_at_once_hardened() {
    for peer in both().await {
        let alice = peer.log_in("alice").await;
        let access = token(&alice, "access_token");
        peer.set_role("alice", "banned").await;
        let expected = if peer.hardened {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::OK
        };
        assert_eq!(me(&peer, access).await, expected, "{}", peer.name());
        let order = peer
            .post("/orders", access, json!({"item": "flat white"}))
            .await;
        let expected = if peer.hardened {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::CREATED
        };
        assert_eq!(order.status(), expected);

        // Lifting the ban brings back nothing from before it, when hardened.
        peer.set_role("alice", "member").await;
        let after = me(&peer, access).await;
        let refresh = peer.refresh(token(&alice, "refresh_token")).await.status();
        if peer.hardened {
            assert_eq!(
                (after, refresh),
                (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
            );
        } else {
            assert_eq!((after, refresh), (StatusCode::OK, StatusCode::OK));
        }
    }
}

#[tokio::test]
async fn logout_everywhere_leaves_access_tokens_working_by_default_and_ends_them_hardened() {
    for peer in both().await {
        let alice = peer.log_in("alice").await;
        let admin = peer.log_in("admin").await;
        let reply = peer
            .post(
                "/admin/users/alice/logout-everywhere",
                token(&admin, "access_token"),
                json!({}),
            )
            .await;
        assert_eq!(reply.status(), StatusCode::OK);
        let access = me(&peer, token(&alice, "access_token")).await;
        let expected = if peer.hardened {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::OK
        };
        assert_eq!(access, expected, "{}", peer.name());
        let refresh = peer.refresh(token(&alice, "refresh_token")).await;
        assert_eq!(refresh.status(), StatusCode::UNAUTHORIZED);
    }
}

/// Review finding H2. The docs' logout needs a live access token: with only
/// the refresh token it is 401 and the login lives on. Hardened, either
/// credential names the login (as the café's logout): the refresh token
/// alone ends it (204), after which it cannot be refreshed and the login's
/// access tokens are refused; so does an access token that has expired
/// but is genuine.
#[tokio::test]
async fn logout_with_only_the_refresh_token_ends_the_login_only_hardened() {
    for peer in both().await {
        let login = peer.log_in("alice").await;
        let logout = peer
            .log_out_with_refresh_token(token(&login, "refresh_token"))
            .await;
        let refresh = peer.refresh(token(&login, "refresh_token")).await;
        let access = me(&peer, token(&login, "access_token")).await;
        if peer.hardened {
            assert_eq!(logout.status(), StatusCode::NO_CONTENT);
            assert_eq!(refresh.status(), StatusCode::UNAUTHORIZED);
            assert_eq!(access, StatusCode::UNAUTHORIZED, "the login's access token");
        } else {
            assert_eq!(logout.status(), StatusCode::UNAUTHORIZED);
            assert_eq!(refresh.status(), StatusCode::OK, "the login lives on");
            assert_eq!(access, StatusCode::OK);
        }
    }
    // Hardened: an access token an hour past its expiry still ends its
    // login; one signed with another key ends nothing; 204 either way.
    let peer = Peer::start(true).await;
    let login = peer.log_in("alice").await;
    let expired = resign(token(&login, "access_token"), |_, claims| {
        claims["exp"] = json!(now() - 3600);
    });
    assert_eq!(me(&peer, &expired).await, StatusCode::UNAUTHORIZED);
    let mut foreign = expired.rsplit_once('.').unwrap().0.to_owned();
    foreign.push_str(".AAAA");
    assert_eq!(
        peer.log_out(&foreign).await.status(),
        StatusCode::NO_CONTENT
    );
    let still = peer.refresh(token(&login, "refresh_token")).await;
    assert_eq!(
        still.status(),
        StatusCode::OK,
        "a forged token ends nothing"
    );
    let renewed: Value = still.json().await.unwrap();
    assert_eq!(
        peer.log_out(&expired).await.status(),
        StatusCode::NO_CONTENT
    );
    let after = peer.refresh(token(&renewed, "refresh_token")).await;
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        me(&peer, token(&renewed, "access_token")).await,
        StatusCode::UNAUTHORIZED
    );
}

/// Second review, M1: the hardened logout reads the bearer scheme in any
/// case and after any amount of whitespace, as the library's extractor
/// does for every other route (RFC 9110 §11.1), so `bearer`, `BEARER` and
/// two spaces each end the login: `/me` and `/refresh` are 401 after.
#[tokio::test]
async fn a_hardened_logout_reads_the_bearer_scheme_in_any_case_and_spacing() {
    let peer = Peer::start(true).await;
    for scheme in ["bearer ", "BEARER ", "Bearer  ", "Bearer\t"] {
        let login = peer.log_in("alice").await;
        let access = token(&login, "access_token");
        let logout = peer
            .client
            .post(peer.url("/logout"))
            .header("authorization", format!("{scheme}{access}"))
            .send()
            .await
            .unwrap();
        assert_eq!(logout.status(), StatusCode::NO_CONTENT, "{scheme:?}");
        assert_eq!(
            me(&peer, access).await,
            StatusCode::UNAUTHORIZED,
            "{scheme:?}: the access token after the logout"
        );
        let refresh = peer.refresh(token(&login, "refresh_token")).await;
        assert_eq!(
            refresh.status(),
            StatusCode::UNAUTHORIZED,
            "{scheme:?}: the refresh token after the logout"
        );
    }
}

/// Review finding L6. By default a banned user's refresh rotates, then
/// answers 403: the token is spent, and the next try is 401. Hardened, the
/// ban is checked first: 403 each time, nothing rotated or ended.
#[tokio::test]
async fn a_banned_users_refresh_spends_the_token_by_default_and_ends_nothing_hardened() {
    for peer in both().await {
        let alice = peer.log_in("alice").await;
        peer.set_role("alice", "banned").await;
        let first = peer.refresh(token(&alice, "refresh_token")).await;
        assert_eq!(first.status(), StatusCode::FORBIDDEN, "{}", peer.name());
        let second = peer.refresh(token(&alice, "refresh_token")).await;
        let expected = match peer.hardened {
            true => StatusCode::FORBIDDEN,
            false => StatusCode::UNAUTHORIZED,
        };
        assert_eq!(second.status(), expected, "{}", peer.name());
    }
}

/// Review finding L6. Hardened, a refused login or refresh (401) carries a
/// `WWW-Authenticate` challenge, as RFC 9110 §15.5.2 asks of every 401; the
/// default's carry none.
#[tokio::test]
async fn refused_logins_and_refreshes_carry_a_challenge_only_hardened() {
    for peer in both().await {
        let login = peer.try_log_in("alice", "not-her-password").await;
        let refresh = peer.refresh("not-a-refresh-token").await;
        for reply in [login, refresh] {
            assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);
            let expected = peer.hardened.then(|| "Bearer".to_owned());
            assert_eq!(challenge(&reply), expected, "{}", peer.name());
        }
    }
}

/// Review finding M6: the default's login is the one a reader writes from
/// the docs (which have none): an unknown name is answered without a
/// password check, so the answer's timing tells which names exist. The
/// hardened one checks a decoy hash. Counted, not timed, as
/// `peer-axum-login`'s test of the same name.
#[tokio::test]
async fn an_unknown_name_costs_an_argon2_check_only_hardened() {
    use peer_axum_jwt_auth::accounts::{Accounts, LoginRefusal};
    for (hardened, unknown_name_checks) in [(false, 0), (true, 1)] {
        let accounts = Accounts::demo(hardened);
        let wrong = accounts.log_in("alice", "not-her-password");
        assert_eq!(wrong, Err(LoginRefusal::BadCredentials));
        assert_eq!(accounts.verifications(), 1);
        let unknown = accounts.log_in("bob", "not-her-password");
        assert_eq!(unknown, Err(LoginRefusal::BadCredentials));
        assert_eq!(
            accounts.verifications(),
            1 + unknown_name_checks,
            "hardened: {hardened}"
        );
    }
}

/// Review finding M6: the default has no length cap and axum's 2 MB body
/// limit, so a 1 MiB password is read and hashed (401, one Argon2 run);
/// hardened refuses it unhashed (413; a 2 KiB one 422).
#[tokio::test]
async fn a_long_password_is_hashed_by_default_and_refused_unhashed_hardened() {
    for peer in both().await {
        let long = peer.try_log_in("alice", &"x".repeat(2048)).await;
        let huge = peer.try_log_in("alice", &"x".repeat(1024 * 1024)).await;
        let hashed = peer.accounts.verifications();
        if peer.hardened {
            assert_eq!(long.status(), StatusCode::UNPROCESSABLE_ENTITY);
            assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);
            assert_eq!(hashed, 0);
        } else {
            assert_eq!(long.status(), StatusCode::UNAUTHORIZED);
            assert_eq!(huge.status(), StatusCode::UNAUTHORIZED);
            assert_eq!(hashed, 2);
        }
    }
}
