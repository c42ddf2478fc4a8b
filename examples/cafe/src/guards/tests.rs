//! Unit tests for the module beside this folder: kept out of its file so
//! that the chapters, which include the whole file, stay light.

use super::*;

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(*name, HeaderValue::from_static(value));
    }
    map
}

fn ours() -> AllowedOrigins {
    AllowedOrigins::new(["http://localhost:8080", "https://cafe.example/"])
}

#[test]
fn fetch_metadata_decides_when_present() {
    for site in ["same-origin", "none"] {
        let mut map = HeaderMap::new();
        map.insert("sec-fetch-site", HeaderValue::from_static(site));
        assert_eq!(cross_site_verdict(&map, &ours()), Ok(()), "{site}");
    }
    for site in ["cross-site", "same-site", "nonsense"] {
        let mut map = headers(&[("origin", "https://cafe.example")]);
        map.insert("sec-fetch-site", HeaderValue::from_static(site));
        assert!(cross_site_verdict(&map, &ours()).is_err(), "{site}");
    }
}

#[test]
fn without_fetch_metadata_the_whole_origin_must_be_ours() {
    for origin in [
        "http://localhost:8080",
        "https://cafe.example",
        "HTTPS://CAFE.EXAMPLE",
    ] {
        let map = headers(&[("origin", origin)]);
        assert_eq!(cross_site_verdict(&map, &ours()), Ok(()), "{origin}");
    }
    for origin in [
        "http://cafe.example",       // the right host, the wrong scheme
        "https://cafe.example:8443", // the right host, another port
        "http://localhost:9090",
        "https://evil.example",
        "https://cafe.example.evil.example",
        "null", // an opaque origin: a sandboxed frame, a file
    ] {
        let map = headers(&[("origin", origin)]);
        assert!(cross_site_verdict(&map, &ours()).is_err(), "{origin}");
    }
}

#[test]
fn a_request_with_neither_header_is_not_from_a_browser_and_passes() {
    assert_eq!(cross_site_verdict(&HeaderMap::new(), &ours()), Ok(()));
}

#[test]
fn json_with_parameters_is_json() {
    assert!(is_json(&headers(&[(
        "content-type",
        "application/json; charset=utf-8"
    )])));
    assert!(!is_json(&headers(&[("content-type", "text/plain")])));
    assert!(!is_json(&headers(&[("content-type", "application/jsonx")])));
}

/// `--cross-site-origin https://app.example`: that page's writes pass, with
/// fetch metadata or without; every other site's are refused as before,
/// and the café's own origins still do not pass as "cross-site".
#[test]
fn a_named_cross_site_origin_passes_and_no_other_does() {
    let partner = cafe::cross_site::CrossSiteOrigins::parse(["https://app.example"]).unwrap();
    let allowed = ours().with_cross_site(partner);
    for site in ["cross-site", "same-site"] {
        let mut map = headers(&[("origin", "https://app.example")]);
        map.insert("sec-fetch-site", HeaderValue::from_static(site));
        assert_eq!(cross_site_verdict(&map, &allowed), Ok(()), "{site}");
        for other in [
            "https://evil.example",
            "http://app.example",
            "https://app.example:8443",
            "https://cafe.example",
            "null",
        ] {
            let mut map = headers(&[("origin", other)]);
            map.insert("sec-fetch-site", HeaderValue::from_static(site));
            assert!(
                cross_site_verdict(&map, &allowed).is_err(),
                "{site} {other}"
            );
        }
        // No Origin at all: nothing to match.
        let mut map = HeaderMap::new();
        map.insert("sec-fetch-site", HeaderValue::from_static(site));
        assert!(cross_site_verdict(&map, &allowed).is_err(), "{site}");
    }
    let map = headers(&[("origin", "https://app.example")]);
    assert_eq!(cross_site_verdict(&map, &allowed), Ok(()));
    assert!(cross_site_verdict(&map, &ours()).is_err());
}

/// With `--cross-site-origin`, the café's cookies are `SameSite=None` and
/// may come with a request from any site; so a write that carries one and
/// says nothing of where it comes from (neither `Origin` nor
/// `Sec-Fetch-Site`, as some older browsers send a body-less `POST`) is
/// refused. Without a café cookie (curl with a bearer token, a phone app)
/// it passes, and without the flag it passes as before.
#[test]
fn with_cross_site_cookies_a_write_with_a_cafe_cookie_must_say_where_it_comes_from() {
    let partner = cafe::cross_site::CrossSiteOrigins::parse(["https://app.example"]).unwrap();
    let allowed = ours().with_cross_site(partner);
    for cookie in [
        "__Host-session=abc",
        "theme=dark; __Secure-cafe-refresh=xyz",
    ] {
        let map = headers(&[("cookie", cookie)]);
        assert!(cross_site_verdict(&map, &allowed).is_err(), "{cookie}");
        assert_eq!(cross_site_verdict(&map, &ours()), Ok(()), "{cookie}");
        // Either header, and the request is judged by it as before.
        let mut from_the_app = map.clone();
        from_the_app.insert("origin", HeaderValue::from_static("https://app.example"));
        assert_eq!(cross_site_verdict(&from_the_app, &allowed), Ok(()));
        let mut typed = map.clone();
        typed.insert("sec-fetch-site", HeaderValue::from_static("none"));
        assert_eq!(cross_site_verdict(&typed, &allowed), Ok(()));
    }
    // A second Cookie header is read too.
    let mut two = headers(&[("cookie", "theme=dark")]);
    two.append("cookie", HeaderValue::from_static("__Host-session=abc"));
    assert!(cross_site_verdict(&two, &allowed).is_err());
    for other in [
        headers(&[]),
        headers(&[("cookie", "theme=dark")]),
        headers(&[("authorization", "Bearer abc")]),
    ] {
        assert_eq!(cross_site_verdict(&other, &allowed), Ok(()), "{other:?}");
    }
}
