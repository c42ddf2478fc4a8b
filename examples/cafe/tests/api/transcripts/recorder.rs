//! Writing a transcript: each exchange as the curl command a reader would
//! type and the answer the server gave, with random values replaced by
//! placeholders.

use super::*;

/// How a curl command carries the session cookie.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Jar {
    /// No cookie.
    None,
    /// `-c cookies.txt`: save what the server sets.
    Save,
    /// `-b cookies.txt`: send what was saved.
    Send,
    /// `-b cookies.txt -c cookies.txt`: both.
    SendAndSave,
}

/// A transcript being written: commands, answers and comments, with the
/// random values the test knows about replaced by placeholders.
pub(super) struct Transcript {
    pub(super) text: String,
    pub(super) placeholders: Vec<(String, String)>,
}

impl Transcript {
    pub(super) fn new() -> Transcript {
        Transcript {
            text: String::new(),
            placeholders: Vec::new(),
        }
    }

    /// From now on, print `secret` as `placeholder`.
    pub(super) fn hide(&mut self, secret: &str, placeholder: &str) {
        self.placeholders
            .push((secret.to_owned(), placeholder.to_owned()));
    }

    pub(super) fn comment(&mut self, line: &str) {
        self.text.push_str(&format!("# {line}\n"));
    }

    /// Sends `call` as `visitor` and writes the curl command and the answer.
    pub(super) async fn exchange(&mut self, visitor: &Visitor, call: &Call, jar: Jar) -> Reply {
        self.record(None, visitor, call, jar).await
    }

    /// The same from `visitor` at client `address` (127.0.0.2, …): the
    /// command says so with curl's `--interface`.
    pub(super) async fn exchange_from(
        &mut self,
        address: &str,
        visitor: &Visitor,
        call: &Call,
        jar: Jar,
    ) -> Reply {
        self.record(Some(address), visitor, call, jar).await
    }

    async fn record(
        &mut self,
        address: Option<&str>,
        visitor: &Visitor,
        call: &Call,
        jar: Jar,
    ) -> Reply {
        let mut sent = call.clone();
        match &visitor.credential {
            Some(Credential::Cookie(cookie)) if jar == Jar::None => {
                sent = sent.header("cookie", cookie);
            }
            Some(Credential::Bearer { access, .. }) => {
                sent = sent.header("authorization", &format!("Bearer {access}"));
            }
            _ => {}
        }
        // The credential, if any, is now either an explicit header or curl's jar.
        let mut sender = visitor.clone();
        if jar == Jar::None {
            sender.credential = None;
        }
        let answer = sender.send(&sent).await;
        self.text.push_str(&curl_command(&sent, jar, address));
        self.text.push_str(&render(&answer));
        self.text.push('\n');
        answer
    }

    pub(super) fn finish(&self) -> String {
        let mut text = self.text.clone();
        for (secret, placeholder) in &self.placeholders {
            text = text.replace(secret, placeholder);
        }
        text
    }
}

/// `call` as the curl command a reader would type against the default port,
/// sent from `address` if given: the request on the first line, each header
/// and the body on a line of its own.
pub(super) fn curl_command(call: &Call, jar: Jar, address: Option<&str>) -> String {
    let mut first = String::from("$ curl -i");
    if let Some(address) = address {
        first.push_str(&format!(" --interface {address}"));
    }
    // curl sends GET, or POST when given a body: any other method is named.
    let implied = match call.body {
        None => cafe_client::Method::GET,
        Some(_) => cafe_client::Method::POST,
    };
    if call.method != implied {
        first.push_str(&format!(" -X {}", call.method));
    }
    first.push_str(&format!(" localhost:8080{}", call.path));
    first.push_str(match jar {
        Jar::None => "",
        Jar::Save => " -c cookies.txt",
        Jar::Send => " -b cookies.txt",
        Jar::SendAndSave => " -b cookies.txt -c cookies.txt",
    });
    let mut lines = vec![first];
    for (name, value) in &call.headers {
        lines.push(format!("    -H '{name}: {value}'"));
    }
    if let Some(body) = &call.body {
        lines.push(format!("    -d '{body}'"));
    }
    lines.join(" \\\n") + "\n"
}

/// The answer as `curl -i` prints it, without the `date` header (it changes
/// every second and teaches nothing).
/// The headers no transcript shows: the date changes every run; the
/// browser-security headers are the same on every answer
/// (`cafe::guards::security_headers`) and would bury the ones each
/// transcript is about, so only Cache-Control stays.
pub(crate) const LEFT_OUT: [&str; 7] = [
    "date",
    "x-content-type-options",
    "referrer-policy",
    "cross-origin-opener-policy",
    "cross-origin-resource-policy",
    "strict-transport-security",
    "content-security-policy",
];

pub(super) fn render(answer: &Reply) -> String {
    let reason = axum::http::StatusCode::from_u16(answer.status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or_default();
    let mut out = format!("{} {} {reason}\n", answer.version, answer.status);
    for (name, value) in &answer.headers {
        if !LEFT_OUT.contains(&name.as_str()) {
            out.push_str(&format!(
                "{name}: {}\n",
                value.to_str().unwrap_or("<binary>")
            ));
        }
    }
    if !answer.text.is_empty() {
        out.push('\n');
        out.push_str(&answer.text);
        out.push('\n');
    }
    out
}
