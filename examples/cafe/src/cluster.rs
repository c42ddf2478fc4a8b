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
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::HOST;
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use cafe::error::ApiError;
use cafe::{BODY_LIMIT_BYTES, Config, ConnectionLimits};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;

/// How long an instance may take to answer before the balancer answers
/// `502 Bad Gateway` itself.
const INSTANCE_TIMEOUT: Duration = Duration::from_secs(10);

// ANCHOR: balancer
/// Round robin over the instances' addresses.
struct Balancer {
    instances: Vec<String>,
    next: AtomicUsize,
    client: Client<HttpConnector, Body>,
}

/// Forwards one request to the next instance, and its answer back.
async fn forward(
    State(balancer): State<Arc<Balancer>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let next = balancer.next.fetch_add(1, Ordering::Relaxed);
    let Some(turn) = next.checked_rem(balancer.instances.len()) else {
        return ApiError::unavailable("no instance to forward to").into_response();
    };
    let (mut parts, body) = request.into_parts();
    let Ok(body) = to_bytes(body, BODY_LIMIT_BYTES).await else {
        return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body too large").into_response();
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let Ok(uri) = format!("{}{path}", balancer.instances[turn]).parse::<Uri>() else {
        return ApiError::new(StatusCode::BAD_REQUEST, "bad request target").into_response();
    };
    parts.uri = uri;
    // The client names the instance as the host it talks to.
    parts.headers.remove(HOST);
    // Who the client is, for the instance's login throttle. The balancer
    // is the edge: it replaces whatever the client wrote there, so no client
    // can name itself, not even one on the balancer's own address (which
    // the instances trust).
    parts.headers.remove("x-forwarded-for");
    if let Ok(client) = HeaderValue::from_str(&client.ip().to_string()) {
        parts.headers.insert("x-forwarded-for", client);
    }
    let outgoing = Request::from_parts(parts, Body::from(body));
    let answer =
        match tokio::time::timeout(INSTANCE_TIMEOUT, balancer.client.request(outgoing)).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) | Err(_) => {
                return ApiError::new(StatusCode::BAD_GATEWAY, "the instance did not answer")
                    .into_response();
            }
        };
    let mut response = answer.map(Body::new);
    response
        .headers_mut()
        .insert("x-cafe-instance", HeaderValue::from(turn + 1));
    response
}
// ANCHOR_END: balancer

/// Serves `configs` on `instances`, and the balancer on `balancer`, until
/// the process ends. The balancer handles its connections as the instances
/// do ([`cafe::serve_router`]), with the first instance's timeouts and cap.
pub async fn run(
    balancer: TcpListener,
    instances: Vec<(TcpListener, Config)>,
) -> std::io::Result<()> {
    // The balancer is the edge: its limits are the first instance's, but
    // it trusts no proxy in front of it.
    let limits = instances.first().map_or_else(
        || ConnectionLimits::of(&Config::new(cafe::AuthMode::Sessions)),
        |(_, config)| ConnectionLimits {
            trusted_proxies: cafe::client_address::TrustedProxies::default(),
            ..ConnectionLimits::of(config)
        },
    );
    let mut addresses = Vec::new();
    for (listener, config) in instances {
        addresses.push(format!("http://{}", listener.local_addr()?));
        tokio::spawn(cafe::serve(listener, config));
    }
    let client = Client::builder(TokioExecutor::new()).build_http();
    let state = Arc::new(Balancer {
        instances: addresses,
        next: AtomicUsize::new(0),
        client,
    });
    let router = Router::new().fallback(forward).with_state(state);
    cafe::serve_router(balancer, router, limits).await
}
