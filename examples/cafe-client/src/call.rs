//! One request, kept as data: the lab prints it, the transcripts turn it
//! into the curl command a reader would type.

use http::Method;
use serde_json::Value;

/// One HTTP request to the café: method, path (with query), headers in the
/// order they are sent, and the body.
#[derive(Debug, Clone)]
pub struct Call {
    /// `GET`, `POST`, ….
    pub method: Method,
    /// The path and query, starting with `/`.
    pub path: String,
    /// Headers as sent, in order (a name may repeat).
    pub headers: Vec<(String, String)>,
    /// The body, if any.
    pub body: Option<String>,
}

impl Call {
    /// Any method, no headers, no body.
    pub fn new(method: Method, path: &str) -> Call {
        Call {
            method,
            path: path.to_owned(),
            headers: Vec::new(),
            body: None,
        }
    }

    /// `GET path`.
    pub fn get(path: &str) -> Call {
        Call::new(Method::GET, path)
    }

    /// `POST path`, no body yet.
    pub fn post(path: &str) -> Call {
        Call::new(Method::POST, path)
    }

    /// `DELETE path`.
    pub fn delete(path: &str) -> Call {
        Call::new(Method::DELETE, path)
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Call {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// `Authorization: Bearer token`.
    pub fn bearer(self, token: &str) -> Call {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// A `Cookie` header with one cookie.
    pub fn cookie(self, name: &str, value: &str) -> Call {
        self.header("cookie", &format!("{name}={value}"))
    }

    /// A JSON body, with its `Content-Type`.
    pub fn json(self, body: &Value) -> Call {
        self.body("application/json", &body.to_string())
    }

    /// A body of any type, with its `Content-Type`.
    pub fn body(self, content_type: &str, body: &str) -> Call {
        self.header("content-type", content_type).raw_body(body)
    }

    /// A body with no `Content-Type` header: for tests of what the café
    /// does with a body it was not told the type of.
    pub fn raw_body(mut self, body: impl Into<String>) -> Call {
        self.body = Some(body.into());
        self
    }
}
