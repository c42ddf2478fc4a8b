//! The cross-site JSON attacks against a server that parses JSON whatever
//! the `Content-Type` says: the same body sent as `text/plain`, which a
//! browser sends from another site with no preflight (a `no-cors` fetch, a
//! text/plain form), gets in, and the lab says so (ASVS 5.0 3.5.2).

use attack_lab::{Lab, Outcome};
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use serde_json::{Value, json};

/// A session server for the café's profile whose `/login` and `/orders`
/// read the body with `serde_json::from_slice`, never looking at its
/// `Content-Type`. Every login of a demo user gets the same session.
async fn serve_json_whatever_the_type() -> String {
    let login = |body: Bytes| async move {
        let body: Value = serde_json::from_slice(&body).unwrap_or_default();
        let user = match (body["username"].as_str(), body["password"].as_str()) {
            (Some("alice"), Some("wonderland-42")) => ("alice", "member"),
            (Some("admin"), Some("admin-secret-42")) => ("admin", "admin"),
            _ => return StatusCode::UNAUTHORIZED.into_response(),
        };
        let mut headers = HeaderMap::new();
        let cookie = "__Host-session=the-session; Path=/; Secure; HttpOnly";
        headers.insert(header::SET_COOKIE, cookie.parse().unwrap());
        let user = json!({ "user": { "name": user.0, "role": user.1 } });
        (StatusCode::OK, headers, axum::Json(user)).into_response()
    };
    let orders = |headers: HeaderMap, body: Bytes| async move {
        let logged_in = headers
            .get(header::COOKIE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.contains("__Host-session=the-session"));
        let item = serde_json::from_slice::<Value>(&body).unwrap_or_default()["item"].clone();
        match (logged_in, item.as_str()) {
            (false, _) => StatusCode::UNAUTHORIZED.into_response(),
            (true, None) => StatusCode::UNPROCESSABLE_ENTITY.into_response(),
            (true, Some(item)) => {
                let order = json!({ "id": 1, "item": item, "by": "alice" });
                (StatusCode::CREATED, axum::Json(order)).into_response()
            }
        }
    };
    let app = axum::Router::new()
        .route("/login", axum::routing::post(login))
        .route("/orders", axum::routing::post(orders));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    address
}

/// Both attacks are accepted on the `text/plain` request alone, which is
/// recorded first, with the session cookie, from another site; the JSON
/// request's preflight (no CORS here) would not have saved the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_parses_json_whatever_the_type_takes_a_text_plain_csrf() {
    let lab = Lab::connect(&serve_json_whatever_the_type().await)
        .await
        .unwrap();
    for name in ["csrf-fetch-json", "csrf-login"] {
        let attack = attack_lab::find(name).unwrap();
        let outcome = lab.run(&attack).await.unwrap();
        let exchanges = lab.take_exchanges();
        match &outcome {
            Outcome::Accepted(what) => assert!(
                what.starts_with(attack_lab::browser::NO_PREFLIGHT)
                    && what.contains("whatever the Content-Type"),
                "{name}: {what}"
            ),
            other => panic!("{name}: {other:?}"),
        }
        let plain = exchanges
            .iter()
            .find(|exchange| {
                exchange.request_headers.iter().any(|(header, value)| {
                    header == "content-type" && value.starts_with("text/plain")
                })
            })
            .unwrap_or_else(|| panic!("{name}: no text/plain request in {exchanges:?}"));
        let sent = |wanted: &str| {
            plain
                .request_headers
                .iter()
                .find(|(header, _)| header == wanted)
                .map(|(_, value)| value.as_str())
        };
        assert_eq!(sent("origin"), Some(attack_lab::ATTACKER_ORIGIN), "{name}");
        assert_eq!(sent("sec-fetch-site"), Some("cross-site"), "{name}");
        assert_eq!(sent("sec-fetch-mode"), Some("no-cors"), "{name}");
        if name == "csrf-fetch-json" {
            assert_eq!(
                sent("cookie"),
                Some("__Host-session=the-session"),
                "the victim's cookie goes along"
            );
        }
        assert!((200..300).contains(&plain.reply.status), "{name}");
        assert!(
            plain
                .request_body
                .as_deref()
                .is_some_and(|body| body.starts_with('{')),
            "{name}: the JSON body, as text"
        );
    }
}
