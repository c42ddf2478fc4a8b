//! The café's answer, read completely.

use http::HeaderMap;
use http::header::SET_COOKIE;
use serde_json::Value;

/// A response, read to the end.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The HTTP version, as `HTTP/1.1`.
    pub version: String,
    /// Every header.
    pub headers: HeaderMap,
    /// The body as text (invalid UTF-8 replaced).
    pub text: String,
    /// The body as JSON, or `null` when it is not JSON.
    pub body: Value,
}

impl Reply {
    /// The first header called `name`, if it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Every `Set-Cookie` header, as text.
    pub fn set_cookies(&self) -> impl Iterator<Item = &str> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
    }

    /// The `Set-Cookie` header that sets cookie `name`.
    pub fn set_cookie(&self, name: &str) -> Option<&str> {
        self.set_cookies()
            .find(|value| cookie::Cookie::parse(*value).is_ok_and(|cookie| cookie.name() == name))
    }

    /// The value `Set-Cookie` gives cookie `name`; `None` when it is not
    /// set or is set empty (a cookie being cleared).
    pub fn cookie_value(&self, name: &str) -> Option<String> {
        let cookie = cookie::Cookie::parse(self.set_cookie(name)?).ok()?;
        (!cookie.value().is_empty()).then(|| cookie.value().to_owned())
    }

    /// A string member of the JSON body.
    pub fn json_str(&self, member: &str) -> Option<String> {
        self.body
            .get(member)
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    /// Status and error message: "401 not logged in, or the login has ended".
    pub fn summary(&self) -> String {
        match self.json_str("error") {
            Some(error) => format!("{} {error}", self.status),
            None => self.status.to_string(),
        }
    }
}
