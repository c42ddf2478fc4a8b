//! `cafe cluster`: several café servers behind a round-robin load balancer,
//! in one process, to watch what sharing (or not sharing) state does.
//!
//! ```console
//! $ cargo run -p cafe -- cluster --instances 3 --auth sessions --store memory
//! load balancer on http://127.0.0.1:8080
//! instance 1 on http://127.0.0.1:8081
//! ...
//! ```
//!
//! Each instance is a whole app with its own [`Config`]: with memory stores
//! they share nothing, exactly like separate machines; with Redis they share
//! everything. The balancer sends each request to the next instance in turn
//! and says which one answered in an `x-cafe-instance` header.

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::header::HOST;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use cafe::error::ApiError;
use cafe::{BODY_LIMIT_BYTES, Config};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;

// ANCHOR: balancer
/// Round robin over the instances' addresses.
struct Balancer {
    instances: Vec<String>,
    next: AtomicUsize,
    client: reqwest::Client,
}

/// Forwards one request to the next instance, and its answer back.
async fn forward(State(balancer): State<Arc<Balancer>>, request: Request) -> Response {
    let turn = balancer.next.fetch_add(1, Ordering::Relaxed) % balancer.instances.len();
    let (parts, body) = request.into_parts();
    let Ok(body) = to_bytes(body, BODY_LIMIT_BYTES).await else {
        return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body too large").into_response();
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut outgoing = balancer
        .client
        .request(parts.method, format!("{}{path}", balancer.instances[turn]));
    for (name, value) in &parts.headers {
        if name != HOST {
            outgoing = outgoing.header(name, value);
        }
    }
    let answer = match outgoing.body(body).send().await {
        Ok(answer) => answer,
        Err(_) => {
            return ApiError::new(StatusCode::BAD_GATEWAY, "the instance did not answer")
                .into_response();
        }
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let body = answer.bytes().await.unwrap_or_default();
    let mut response = (status, Body::from(body)).into_response();
    *response.headers_mut() = headers;
    response
        .headers_mut()
        .insert("x-cafe-instance", HeaderValue::from(turn + 1));
    response
}
// ANCHOR_END: balancer

/// Serves `configs` on `instances`, and the balancer on `balancer`, until
/// the process ends.
pub async fn run(
    balancer: TcpListener,
    instances: Vec<(TcpListener, Config)>,
) -> std::io::Result<()> {
    let mut addresses = Vec::new();
    for (listener, config) in instances {
        addresses.push(format!("http://{}", listener.local_addr()?));
        tokio::spawn(cafe::serve(listener, config));
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(std::io::Error::other)?;
    let state = Arc::new(Balancer {
        instances: addresses,
        next: AtomicUsize::new(0),
        client,
    });
    let router = Router::new().fallback(forward).with_state(state);
    axum::serve(balancer, router).await
}
