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
        ("http://app.localhost:5173", "http://app.localhost:5173"),
        ("http://127.8.9.10:8081", "http://127.8.9.10:8081"),
        ("https://192.0.2.7:8443", "https://192.0.2.7:8443"),
        ("https://xn--caf-dma.example", "https://xn--caf-dma.example"),
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

/// Plain `http://` is anyone's on the network to impersonate, so only the
/// hosts W3C Secure Contexts calls potentially trustworthy may use it:
/// `localhost`, `*.localhost`, `127.0.0.0/8` and `[::1]`.
#[test]
fn plain_http_is_refused_except_on_this_machine() {
    for given in [
        "http://app.example",
        "http://app.example:5173",
        "http://192.0.2.7:8080",
        "http://10.0.0.1",
        "http://[2001:db8::1]:8080",
        "http://localhost.example",
        "http://mylocalhost",
    ] {
        let error = parse_origin(given).unwrap_err();
        assert!(error.contains("use https://"), "{given:?}: {error}");
    }
    for given in [
        "http://localhost",
        "http://localhost:5173",
        "http://app.localhost:5173",
        "http://127.0.0.1:8080",
        "http://127.255.0.1",
        "http://[::1]:5173",
    ] {
        assert!(parse_origin(given).is_ok(), "{given}");
    }
}

/// Hosts no browser writes in an `Origin` header, each as the security
/// review found it accepted: each is refused at start, and the message
/// shows the form a browser sends where there is one.
#[test]
fn a_host_a_browser_would_write_otherwise_is_refused() {
    for (given, reason) in [
        ("https://app..example", "one exact name"),
        ("https://.example", "one exact name"),
        ("https://-", "one exact name"),
        ("https://app-.example", "one exact name"),
        ("https://app.example.", "one exact name"),
        ("https://1.2.3.4.5", "not a URL"),
        ("http://0x7f.1:5173", "http://127.0.0.1:5173"),
        ("http://2130706433", "http://127.0.0.1"),
        ("http://127.1", "http://127.0.0.1"),
        ("http://[0:0:0:0:0:0:0:1]:5173", "http://[::1]:5173"),
        ("http://[::FFFF:127.0.0.1]", "http://[::ffff:7f00:1]"),
        ("https://[::FFFF:127.0.0.1]", "https://[::ffff:7f00:1]"),
        ("http://[fe80::1%25eth0]", "not a URL"),
        ("https://app%2eexample", "https://app.example"),
        ("https://app.example:08443", "https://app.example:8443"),
    ] {
        let error = parse_origin(given).unwrap_err();
        assert!(error.contains(reason), "{given:?}: {error}");
    }
}

/// A name with letters beyond ASCII is sent by browsers in its `xn--`
/// form (IDNA), and the error says which.
#[test]
fn a_unicode_host_is_refused_with_its_xn_form() {
    let error = parse_origin("https://café.example").unwrap_err();
    assert!(error.contains("xn--"), "{error}");
    assert!(error.contains("https://xn--caf-dma.example"), "{error}");
    assert!(!error.contains("not a URL"), "{error}");
}

#[test]
fn everything_that_is_refused_stays_refused() {
    for (given, reason) in [
        ("https://app.example#", "nothing may follow"),
        ("https://app.example:99999", "not a URL"),
        ("https://app example", "not a URL"),
        ("https://:pw@app.example", "no user name"),
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
