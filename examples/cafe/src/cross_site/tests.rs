//! Unit tests for the module beside this folder: kept out of its file so
//! that the chapters, which include the whole file, stay light.

use super::*;

#[test]
fn an_origin_is_exactly_scheme_host_and_port() {
    for (given, origin) in [
        ("https://app.example", "https://app.example"),
        ("http://localhost:5173", "http://localhost:5173"),
        ("HTTPS://App.Example", "https://app.example"),
        ("http://127.0.0.1:8081", "http://127.0.0.1:8081"),
        ("http://[::1]:8081", "http://[::1]:8081"),
    ] {
        assert_eq!(parse_origin(given).as_deref(), Ok(origin), "{given}");
    }
}

#[test]
fn anything_else_is_refused_with_the_reason() {
    for (given, reason) in [
        ("*", "the scheme must be http or https"),
        ("null", "the scheme must be http or https"),
        ("app.example", "the scheme must be http or https"),
        ("ftp://app.example", "the scheme must be http or https"),
        ("https://*.app.example", "no wildcard"),
        ("https://alice@app.example", "no user name"),
        ("https://app.example/", "nothing may follow"),
        ("https://app.example/spa", "nothing may follow"),
        ("https://app.example?x=1", "nothing may follow"),
        ("https://app.example:443", "default port"),
        ("http://app.example:80", "default port"),
        ("", "not a URL"),
    ] {
        let error = parse_origin(given).unwrap_err();
        assert!(error.contains(reason), "{given:?}: {error}");
    }
}

#[test]
fn only_listed_origins_are_allowed() {
    let listed = CrossSiteOrigins::parse(["https://app.example"]).unwrap();
    assert!(listed.allows("https://app.example"));
    for other in [
        "http://app.example",
        "https://app.example:8443",
        "https://evil.app.example",
        "https://app.example.evil.example",
        "null",
    ] {
        assert!(!listed.allows(other), "{other}");
    }
    assert!(CrossSiteOrigins::parse(["https://app.example", "https://*.example"]).is_err());
}

#[test]
fn no_listed_origin_means_no_cors_and_same_site_cookies() {
    let none = CrossSiteOrigins::default();
    assert!(none.cors().is_none());
    assert_eq!(none.cookie_sites(), CookieSites::SameSiteOnly);
    let cookie = sessions::cookie::login_cookie(&sessions::id::SessionId::generate().unwrap());
    assert_eq!(none.cookie_sites().apply(cookie.clone()).unwrap(), cookie);
}

#[test]
fn the_cross_site_form_changes_same_site_and_adds_partitioned_only() {
    let id = sessions::id::SessionId::generate().unwrap();
    let cookie = sessions::cookie::login_cookie(&id);
    let cross = cross_site_form(&cookie).unwrap();
    assert_eq!(
        cross,
        format!(
            "__Host-session={}; HttpOnly; SameSite=None; Partitioned; Secure; Path=/",
            id.as_str()
        )
    );
}
