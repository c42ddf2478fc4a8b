//! Slow clients: a connection that stalls in a request's head, in its body,
//! between requests, or in reading its responses is closed within its
//! timeout, and no more than the cap of connections are served at once.
//! Each test talks to a real server (`cafe::serve` on a free port, or the
//! `cafe cluster` balancer) over a raw TCP socket, so it can send exactly
//! half a request and then nothing; every read has a bound, so no test waits
//! forever even if the server does.

use cafe::{
    AuthMode, Config, ConnectionTimeouts, REQUEST_BODY_TIMEOUT, REQUEST_HEAD_TIMEOUT,
    RESPONSE_WRITE_TIMEOUT,
};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::time::{Instant, timeout};

/// Short timeouts, so a test sees them fire in a second.
const TIMEOUTS: ConnectionTimeouts = ConnectionTimeouts {
    request_head: Duration::from_secs(1),
    request_body: Duration::from_secs(1),
    response_write: Duration::from_secs(1),
};

/// How much later than its timeout a connection may close: timers and a
/// busy two-core machine, not the server, account for it.
const SLACK: Duration = Duration::from_secs(4);

/// A café serving `--auth sessions` with [`TIMEOUTS`].
async fn serve() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    serve_on(listener, config())
}

/// `--auth sessions` with [`TIMEOUTS`].
fn config() -> Config {
    Config {
        connection_timeouts: TIMEOUTS,
        ..Config::new(AuthMode::Sessions)
    }
}

/// The café with `config`, on `listener`.
fn serve_on(listener: TcpListener, config: Config) -> SocketAddr {
    let address = listener.local_addr().unwrap();
    tokio::spawn(cafe::serve(listener, config));
    address
}

/// Everything the server sends until it closes the connection, and how long
/// that took; `None` if it is still open after `bound`.
async fn read_until_closed(stream: &mut TcpStream, bound: Duration) -> Option<(String, Duration)> {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let left = bound.checked_sub(started.elapsed())?;
        match timeout(left, stream.read(&mut buffer)).await {
            Err(_still_open) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => {
                let text = String::from_utf8_lossy(&received).into_owned();
                return Some((text, started.elapsed()));
            }
            Ok(Ok(read)) => received.extend_from_slice(&buffer[..read]),
        }
    }
}

/// Reads one whole response (head and `Content-Length` body) and leaves
/// the connection open.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&received).into_owned();
        if let Some(head_end) = text.find("\r\n\r\n") {
            let length = text[..head_end]
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if received.len() >= head_end + 4 + length {
                return text;
            }
        }
        let read = timeout(SLACK, stream.read(&mut buffer))
            .await
            .expect("a response within the bound")
            .expect("a readable connection");
        assert!(read > 0, "closed before the whole response: {text}");
        received.extend_from_slice(&buffer[..read]);
    }
}

const LOGIN_BODY: &str = r#"{"username":"alice","password":"wonderland-42"}"#;

fn login_head(content_length: usize) -> String {
    format!(
        "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \
            {content_length}\r\n\r\n"
    )
}

#[test]
fn the_default_timeouts_close_a_stalled_request_within_30_seconds() {
    let defaults = Config::new(AuthMode::Sessions).connection_timeouts;
    assert_eq!(defaults.request_head, REQUEST_HEAD_TIMEOUT);
    assert_eq!(defaults.request_body, REQUEST_BODY_TIMEOUT);
    assert_eq!(defaults.response_write, RESPONSE_WRITE_TIMEOUT);
    assert!(REQUEST_HEAD_TIMEOUT <= Duration::from_secs(30));
    assert!(REQUEST_BODY_TIMEOUT <= Duration::from_secs(30));
    assert!(RESPONSE_WRITE_TIMEOUT <= Duration::from_secs(30));
}

/// Sends half a request head to `address` and asserts the server closes
/// the connection within the head timeout.
async fn assert_half_a_head_is_closed(address: std::net::SocketAddr, held: &str) {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"POST /login HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let closed = read_until_closed(&mut stream, TIMEOUTS.request_head + SLACK).await;
    assert!(closed.is_some(), "{held}");
}

#[tokio::test]
async fn a_request_head_sent_in_half_is_closed_within_the_head_timeout() {
    let address = serve().await;
    assert_half_a_head_is_closed(address, "a half-sent head still holds its connection").await;
}

#[tokio::test]
async fn a_request_head_trickled_a_byte_at_a_time_is_closed_within_the_head_timeout() {
    // Each byte comes well inside the timeout; the head as a whole does not.
    let address = serve().await;
    let stream = TcpStream::connect(address).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    writer
        .write_all(b"GET /me HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    let trickle = tokio::spawn(async move {
        while writer.write_all(b"z").await.is_ok() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let bound = TIMEOUTS.request_head + SLACK;
    let closed = timeout(bound, reader.read_to_end(&mut Vec::new())).await;
    trickle.abort();
    assert!(closed.is_ok(), "a trickled head still holds its connection");
}

#[tokio::test]
async fn a_connection_that_never_sends_a_byte_is_closed_within_the_head_timeout() {
    let address = serve().await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    let closed = read_until_closed(&mut stream, TIMEOUTS.request_head + SLACK).await;
    assert!(closed.is_some(), "a silent connection is held open");
}

#[tokio::test]
async fn a_request_body_sent_in_half_gets_408_and_the_connection_is_closed() {
    let address = serve().await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    let half = &LOGIN_BODY[..LOGIN_BODY.len() / 2];
    let request = format!("{}{half}", login_head(LOGIN_BODY.len()));
    stream.write_all(request.as_bytes()).await.unwrap();
    let closed = read_until_closed(&mut stream, TIMEOUTS.request_body + SLACK).await;
    let (response, _) = closed.expect("a half-sent body still holds its connection");
    assert!(response.starts_with("HTTP/1.1 408 "), "{response}");
    assert!(
        response.to_ascii_lowercase().contains("connection: close"),
        "{response}"
    );
}

#[tokio::test]
async fn a_half_sent_body_the_app_never_reads_does_not_hold_the_connection_either() {
    // Refused before anything reads the body (no such route, and no JSON
    // content type): the answer goes out, and the rest is not waited for.
    let address = serve().await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    let request = "POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"half\":";
    stream.write_all(request.as_bytes()).await.unwrap();
    let closed = read_until_closed(&mut stream, TIMEOUTS.request_body + SLACK).await;
    let (response, _) = closed.expect("a half-sent, unread body still holds its connection");
    assert!(response.starts_with("HTTP/1.1 4"), "{response}");
}

#[tokio::test]
async fn a_request_body_trickled_a_byte_at_a_time_is_cut_off_at_the_body_timeout() {
    // One deadline for the whole body, not one per read: a byte every
    // 100 ms would otherwise keep the connection for as long as it likes.
    let address = serve().await;
    let stream = TcpStream::connect(address).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let length = 8 * 1024; // under the body limit; 13 minutes at 10 bytes a second
    writer
        .write_all(login_head(length).as_bytes())
        .await
        .unwrap();
    let trickle = tokio::spawn(async move {
        while writer.write_all(b" ").await.is_ok() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut response = Vec::new();
    let bound = TIMEOUTS.request_body + SLACK;
    let closed = timeout(bound, reader.read_to_end(&mut response)).await;
    trickle.abort();
    assert!(closed.is_ok(), "a trickled body still holds its connection");
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 408 "), "{response}");
}

#[tokio::test]
async fn a_kept_alive_connection_that_sends_nothing_more_is_closed() {
    let address = serve().await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let response = read_response(&mut stream).await;
    assert!(response.starts_with("HTTP/1.1 200 "), "{response}");
    let closed = read_until_closed(&mut stream, TIMEOUTS.request_head + SLACK).await;
    let (after, _) = closed.expect("an idle kept-alive connection is held open");
    assert_eq!(after, "", "nothing more is sent before the close");
}

#[tokio::test]
async fn prompt_requests_are_answered_and_the_connection_kept_alive() {
    let address = serve().await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    // A login whose body follows its head a little later, inside the timeout.
    stream
        .write_all(login_head(LOGIN_BODY.len()).as_bytes())
        .await
        .unwrap();
    tokio::time::sleep(TIMEOUTS.request_body / 4).await;
    stream.write_all(LOGIN_BODY.as_bytes()).await.unwrap();
    let login = read_response(&mut stream).await;
    assert!(login.starts_with("HTTP/1.1 200 "), "{login}");
    // The same connection takes more requests, each idle gap inside the timeout.
    for _ in 0..3 {
        tokio::time::sleep(TIMEOUTS.request_head / 4).await;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let health = read_response(&mut stream).await;
        assert!(health.starts_with("HTTP/1.1 200 "), "{health}");
    }
}

/// The socket buffers of the tests that watch responses pile up: small, so
/// a few responses fill them. (The kernel would otherwise grow them to
/// megabytes, and hold a whole batch of responses for a client that never
/// reads.)
const SMALL_BUFFER: u32 = 4 * 1024;

/// One request for the café's script, about 7 KiB of answer.
const GET_SCRIPT: &str = "GET /app.js HTTP/1.1\r\nHost: x\r\n\r\n";

/// A loopback listener whose connections have a [`SMALL_BUFFER`] to send
/// from (accepted sockets take the listener's buffer size).
fn listener_with_small_send_buffer() -> TcpListener {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_send_buffer_size(SMALL_BUFFER).unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    socket.listen(128).unwrap()
}

/// A connection with a [`SMALL_BUFFER`] to receive into: set before the
/// connection opens, since the window it advertises is agreed then.
async fn connect_with_small_receive_buffer(address: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(SMALL_BUFFER).unwrap();
    timeout(SLACK, socket.connect(address))
        .await
        .expect("connected within the bound")
        .unwrap()
}

/// How many responses (`200 OK` heads) `received` holds.
fn answered(received: &[u8]) -> usize {
    String::from_utf8_lossy(received)
        .matches("HTTP/1.1 200 ")
        .count()
}

#[tokio::test]
async fn a_client_that_pipelines_requests_and_never_reads_is_disconnected_within_the_write_timeout()
{
    // 400 requests in one go, about 3 MiB of answers, and then the client
    // reads nothing: the server's writes stall once the buffers are full.
    let pipelined = 400;
    let address = serve_on(listener_with_small_send_buffer(), config());
    let mut stream = connect_with_small_receive_buffer(address).await;
    let requests = GET_SCRIPT.repeat(pipelined);
    timeout(SLACK, stream.write_all(requests.as_bytes()))
        .await
        .expect("the requests are sent within the bound")
        .unwrap();
    tokio::time::sleep(TIMEOUTS.response_write + SLACK).await;
    // Now the client reads: what the buffers held, and then the close. A
    // server that had waited would send all 400 answers instead.
    let closed = read_until_closed(&mut stream, SLACK).await;
    let (received, _) = closed.expect("the connection is closed");
    let answered = received.matches("HTTP/1.1 200 ").count();
    assert!(
        answered < pipelined,
        "all {answered} answers were kept for a client that did not read"
    );
}

#[tokio::test]
async fn a_client_that_reads_slowly_but_steadily_gets_every_response() {
    // Reading a little and pausing, each pause under the write timeout: the
    // whole takes longer than the timeout, but no write stalls that long.
    let pipelined = 20;
    let address = serve_on(listener_with_small_send_buffer(), config());
    let mut stream = connect_with_small_receive_buffer(address).await;
    let requests = GET_SCRIPT.repeat(pipelined);
    stream.write_all(requests.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buffer = vec![0u8; SMALL_BUFFER as usize];
    while answered(&received) < pipelined {
        assert!(started.elapsed() < 30 * SLACK, "too slow to test anything");
        tokio::time::sleep(TIMEOUTS.response_write / 4).await;
        let read = timeout(SLACK, stream.read(&mut buffer))
            .await
            .expect("more of the answers within the bound")
            .unwrap_or(0);
        assert!(read > 0, "closed after {} answers", answered(&received));
        received.extend_from_slice(&buffer[..read]);
    }
    assert!(
        started.elapsed() > TIMEOUTS.response_write,
        "the answers came faster than the write timeout, so it was never at stake"
    );
}

#[tokio::test]
async fn one_connection_more_than_the_cap_is_not_served_until_one_closes() {
    let cap = 2;
    let config = Config {
        // The connections that fill the cap sit idle between requests, so
        // their idle timeout is longer than the test: the cap, not a
        // timeout, is what is tested here.
        connection_timeouts: ConnectionTimeouts {
            request_head: Duration::from_secs(60),
            ..TIMEOUTS
        },
        max_connections: cap,
        ..Config::new(AuthMode::Sessions)
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = serve_on(listener, config);
    let health = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut held = Vec::new();
    for _ in 0..cap {
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream.write_all(health).await.unwrap();
        let response = read_response(&mut stream).await;
        assert!(response.starts_with("HTTP/1.1 200 "), "{response}");
        held.push(stream);
    }
    let mut one_more = TcpStream::connect(address).await.unwrap();
    one_more.write_all(health).await.unwrap();
    let early = timeout(TIMEOUTS.request_body, one_more.read(&mut [0u8; 64])).await;
    assert!(early.is_err(), "a connection over the cap was served");
    drop(held.pop());
    let response = read_response(&mut one_more).await;
    assert!(response.starts_with("HTTP/1.1 200 "), "{response}");
}

/// Found by a review: one client could hold every connection slot with a
/// request every 20 s, and nobody else was served. Past its own limit, a
/// client's next connection is closed at once; another client is served.
#[tokio::test]
async fn one_client_cannot_hold_every_connection() {
    let per_client = 2;
    let config = Config {
        connection_timeouts: ConnectionTimeouts {
            request_head: Duration::from_secs(60),
            ..TIMEOUTS
        },
        max_connections: 3,
        max_connections_per_client: per_client,
        ..Config::new(AuthMode::Sessions)
    };
    let listener = TcpListener::bind("0.0.0.0:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    serve_on(listener, config);
    let from = |client: [u8; 4]| async move {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket
            .bind((std::net::Ipv4Addr::from(client), 0).into())
            .unwrap();
        socket
            .connect((std::net::Ipv4Addr::LOCALHOST, port).into())
            .await
            .unwrap()
    };
    let health = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut held = Vec::new();
    for _ in 0..per_client {
        let mut stream = from([127, 0, 0, 5]).await;
        stream.write_all(health).await.unwrap();
        let response = read_response(&mut stream).await;
        assert!(response.starts_with("HTTP/1.1 200 "), "{response}");
        held.push(stream);
    }
    let mut one_more = from([127, 0, 0, 5]).await;
    one_more.write_all(health).await.ok();
    let closed = read_until_closed(&mut one_more, SLACK).await;
    let (answer, _) = closed.expect("the client's extra connection is closed");
    assert_eq!(answer, "", "closed unanswered");
    let mut another = from([127, 0, 0, 6]).await;
    another.write_all(health).await.unwrap();
    let response = read_response(&mut another).await;
    assert!(response.starts_with("HTTP/1.1 200 "), "{response}");
}

#[tokio::test]
async fn the_cluster_balancer_closes_a_half_sent_request_head_within_the_head_timeout() {
    // `cafe cluster` in-process; the balancer takes its connection handling
    // from the first instance's configuration.
    let balancer = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = balancer.local_addr().unwrap();
    let instance = TcpListener::bind("127.0.0.1:0").await.unwrap();
    tokio::spawn(cafe::cluster::run(balancer, vec![(instance, config())]));
    // A prompt request is forwarded and answered...
    let mut prompt = TcpStream::connect(address).await.unwrap();
    prompt
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let response = read_response(&mut prompt).await;
    assert!(response.starts_with("HTTP/1.1 200 "), "{response}");
    // ...and half a head is not waited for.
    assert_half_a_head_is_closed(
        address,
        "a half-sent head still holds its balancer connection",
    )
    .await;
}
