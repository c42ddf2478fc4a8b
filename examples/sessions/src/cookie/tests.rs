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

/// The pairs `Cookie::split_parse` finds in `header`, as `(name, value)`.
fn as_the_cookie_crate_reads(header: &str) -> Vec<(String, String)> {
    Cookie::split_parse(header)
        .filter_map(Result::ok)
        .map(|cookie| (cookie.name().to_owned(), cookie.value().to_owned()))
        .collect()
}

#[test]
fn the_cookie_header_is_read_as_the_cookie_crate_reads_it() {
    let id = SessionId::generate().unwrap();
    let id = id.as_str();
    let headers = [
        format!("__Host-session={id}"),
        format!("  __Host-session = {id} ;theme=dark"),
        format!("theme=dark;__Host-session={id}"),
        format!("__Host-session=; __Host-session={id}"),
        format!("__Host-session=  ; __Host-session=x; __Host-session={id}"),
        format!("=x; ={id}; __Host-session"),
        format!(";;; ;__Host-session={id}=more;"),
        format!("__Host-session=\"{id}\""),
        format!("__Host-session={id}; __Host-session=second"),
        format!("__Host-session\t=\t{id}\t"),
        format!("__Host-session%3D{id}"),
        format!("__host-session={id}"),
        String::new(),
        " ; ".to_owned(),
        "=".to_owned(),
        "a=b=c; =; ==; a".to_owned(),
    ];
    for header in &headers {
        let names: Vec<String> = as_the_cookie_crate_reads(header)
            .into_iter()
            .map(|(name, _)| name)
            .chain(["".to_owned(), COOKIE_NAME.to_owned(), "a".to_owned()])
            .collect();
        for name in &names {
            let theirs = as_the_cookie_crate_reads(header)
                .into_iter()
                .find(|(n, value)| n == name && !value.is_empty())
                .map(|(_, value)| value);
            let headers = headers_with_cookie(header);
            assert_eq!(
                cookie_value(&headers, name),
                theirs,
                "{name:?} in {header:?}"
            );
        }
    }
}

#[test]
fn every_cookie_header_counts_and_the_first_session_cookie_decides() {
    let (first, second) = (
        SessionId::generate().unwrap(),
        SessionId::generate().unwrap(),
    );
    let mut headers = HeaderMap::new();
    headers.append(COOKIE, HeaderValue::from_static("theme=dark"));
    let value = format!("__Host-session={}", first.as_str());
    headers.append(COOKIE, HeaderValue::from_str(&value).unwrap());
    let value = format!("__Host-session={}", second.as_str());
    headers.append(COOKIE, HeaderValue::from_str(&value).unwrap());
    assert_eq!(presented_id(&headers), Some(first));
    // A malformed first one is not passed over for a well-formed second.
    let mut headers = HeaderMap::new();
    headers.append(COOKIE, HeaderValue::from_static("__Host-session=admin"));
    let value = format!("__Host-session={}", second.as_str());
    headers.append(COOKIE, HeaderValue::from_str(&value).unwrap());
    assert_eq!(presented_id(&headers), None);
}

/// The session cookie as the code before the hand-written reader found it:
/// every pair `Cookie::split_parse` reads, the first non-empty one named
/// [`COOKIE_NAME`] (or `name`).
fn as_before(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == name && !cookie.value().is_empty())
        .map(|cookie| cookie.value().to_owned())
}

#[test]
fn every_header_of_up_to_five_pieces_is_read_as_before() {
    // Every header made of up to five of these pieces, in every order, as
    // one `Cookie` header and split over two: what the reader finds for our
    // name, another name and the empty name, and the ID it presents, must be
    // what `Cookie::split_parse` gave.
    let id = SessionId::generate().unwrap();
    let pieces: [&[u8]; 10] = [
        b"__Host-session",
        b"a",
        b"=",
        b";",
        b" ",
        b"\t",
        b"\"",
        id.as_str().as_bytes(),
        b"__host-session",
        b"\xc3\xa9", // obs-text: the whole header is unreadable as text
    ];
    let mut headers_run = 0_usize;
    let mut found = 0_usize;
    let mut header: Vec<usize> = Vec::new();
    loop {
        let bytes: Vec<u8> = header.iter().flat_map(|&p| pieces[p].to_vec()).collect();
        let whole = HeaderValue::from_bytes(&bytes).unwrap();
        let mut one = HeaderMap::new();
        one.append(COOKIE, whole);
        let mut split = HeaderMap::new();
        let middle = bytes.len() / 2;
        for half in [&bytes[..middle], &bytes[middle..]] {
            split.append(COOKIE, HeaderValue::from_bytes(half).unwrap());
        }
        for headers in [&one, &split] {
            for name in [COOKIE_NAME, "a", ""] {
                let before = as_before(headers, name);
                found += usize::from(before.is_some());
                assert_eq!(cookie_value(headers, name), before, "{name:?} in {bytes:?}");
            }
            let before = as_before(headers, COOKIE_NAME).and_then(|v| SessionId::parse(&v));
            assert_eq!(presented_id(headers), before, "{bytes:?}");
            headers_run += 1;
        }
        // The next header: count in base 10, up to five digits.
        let mut digit = 0;
        loop {
            if digit == header.len() {
                header.push(0);
                break;
            }
            header[digit] += 1;
            if header[digit] < pieces.len() {
                break;
            }
            header[digit] = 0;
            digit += 1;
        }
        if header.len() > 5 {
            break;
        }
    }
    // 1 + 10 + 100 + 1,000 + 10,000 + 100,000 headers, each read whole and
    // split over two Cookie headers.
    assert_eq!(headers_run, 2 * 111_111);
    // And the pieces make headers in which the cookies are found, not only
    // headers where both readers find nothing.
    assert!(found > 4_000, "only {found} cookies found");
}
