//! Slow clients: a connection that stalls in a request's head, in its body,
//! or between requests is closed within its timeout. Each test talks to a
//! real server (`cafe::serve` on a free port) over a raw TCP socket, so it
//! can send exactly half a request and then nothing; every read has a bound,
//! so no test waits forever even if the server does.

use cafe::{AuthMode, Config, ConnectionTimeouts, REQUEST_BODY_TIMEOUT, REQUEST_HEAD_TIMEOUT};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, timeout};

/// Short timeouts, so a test sees them fire in a second.
const TIMEOUTS: ConnectionTimeouts = ConnectionTimeouts {
    request_head: Duration::from_secs(1),
    request_body: Duration::from_secs(1),
};

/// How much later than its timeout a connection may close: timers and a
/// busy two-core machine, not the server, account for it.
const SLACK: Duration = Duration::from_secs(4);

/// A café serving `--auth sessions` with [`TIMEOUTS`].
async fn serve() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let config = Config {
        connection_timeouts: TIMEOUTS,
        ..Config::new(AuthMode::Sessions)
    };
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
    assert!(REQUEST_HEAD_TIMEOUT <= Duration::from_secs(30));
    assert!(REQUEST_BODY_TIMEOUT <= Duration::from_secs(30));
}

#[tokio::test]
async fn a_request_head_sent_in_half_is_closed_within_the_head_timeout() {
    let address = serve().await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"POST /login HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let closed = read_until_closed(&mut stream, TIMEOUTS.request_head + SLACK).await;
    assert!(
        closed.is_some(),
        "a half-sent head still holds its connection"
    );
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
