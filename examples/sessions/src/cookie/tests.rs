//! Unit tests for the module beside this folder: kept out of its file so
//! that the chapters, which include the whole file, stay light.

use super::*;
use http::HeaderValue;

fn headers_with_cookie(value: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(COOKIE, HeaderValue::from_str(value).unwrap());
    headers
}

#[test]
fn the_login_cookie_has_every_attribute() {
    let id = SessionId::generate().unwrap();
    let cookie = login_cookie(&id);
    assert!(cookie.starts_with(&format!("__Host-session={}", id.as_str())));
    for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(
            cookie.split("; ").any(|a| a == attribute),
            "{attribute} in {cookie}"
        );
    }
    assert!(!cookie.contains("Domain"));
    assert!(!cookie.contains("Max-Age"));
}

#[test]
fn the_logout_cookie_expires_at_once() {
    let cookie = logout_cookie();
    assert!(cookie.starts_with("__Host-session=;"));
    assert!(cookie.contains("Max-Age=0"));
    assert!(cookie.contains("Secure"));
}

#[test]
fn the_session_cookie_is_found_among_others() {
    let id = SessionId::generate().unwrap();
    let headers = headers_with_cookie(&format!("theme=dark; __Host-session={}", id.as_str()));
    assert_eq!(presented_id(&headers), Some(id));
}

#[test]
fn a_malformed_or_differently_named_cookie_is_ignored() {
    let id = SessionId::generate().unwrap();
    for value in [
        "__Host-session=admin".to_owned(),
        format!("session={}", id.as_str()),
        format!("__host-session={}", id.as_str()),
        "garbage".to_owned(),
    ] {
        assert_eq!(presented_id(&headers_with_cookie(&value)), None, "{value}");
    }
}
