//! `Browser`: a headless Chromium driven over the Chrome DevTools Protocol,
//! one WebSocket and a few of its commands, enough for the browser tests and
//! the token lab's.

use crate::support::TestApp;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A headless Chromium with one page open, killed when the test ends.
pub struct Browser {
    child: Child,
    profile: std::path::PathBuf,
    socket: Socket,
    /// One DevTools session per open tab; commands go to `current`.
    tabs: Vec<String>,
    current: usize,
    next_id: u64,
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
        std::fs::remove_dir_all(&self.profile).ok();
    }
}

fn chromium() -> Option<&'static str> {
    ["chromium", "google-chrome"].into_iter().find(|name| {
        Command::new(name)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    })
}

impl Browser {
    /// Starts Chromium, or `None` when `SKIP_BROWSER_TESTS` is set.
    pub async fn start() -> Option<Browser> {
        Browser::start_with_preferences(None).await
    }

    /// Starts Chromium with third-party cookies allowed or blocked, as the
    /// user's own setting "Block third-party cookies" does: the profile's
    /// `profile.cookie_controls_mode` preference, 0 to allow, 1 to block.
    /// Set either way explicitly, because which one a fresh profile gets
    /// depends on the browser and its version.
    pub async fn start_with_third_party_cookies(allowed: bool) -> Option<Browser> {
        let mode = if allowed { 0 } else { 1 };
        let preferences = json!({ "profile": { "cookie_controls_mode": mode } });
        Browser::start_with_preferences(Some(preferences)).await
    }

    /// Starts Chromium on a fresh profile whose `Default/Preferences` file
    /// holds `preferences`, if any.
    async fn start_with_preferences(preferences: Option<Value>) -> Option<Browser> {
        if std::env::var_os("SKIP_BROWSER_TESTS").is_some() {
            eprintln!("SKIP_BROWSER_TESTS is set: skipping a browser test");
            return None;
        }
        let program = chromium().expect(
            "the browser tests need Chromium: apt-get install chromium \
             (or set SKIP_BROWSER_TESTS=1 to skip them)",
        );
        let profile = std::env::temp_dir().join(format!(
            "cafe-browser-{}-{}",
            std::process::id(),
            crate::support::unique_number()
        ));
        std::fs::create_dir_all(&profile).unwrap();
        if let Some(preferences) = preferences {
            let default = profile.join("Default");
            std::fs::create_dir_all(&default).unwrap();
            std::fs::write(default.join("Preferences"), preferences.to_string()).unwrap();
        }
        let child = Command::new(program)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Chromium writes the port it picked, and the browser's path, here.
        let port_file = profile.join("DevToolsActivePort");
        let deadline = Instant::now() + Duration::from_secs(20);
        let endpoint = loop {
            if let Ok(text) = std::fs::read_to_string(&port_file)
                && let [port, path] = text.lines().collect::<Vec<_>>()[..]
            {
                break format!("ws://127.0.0.1:{port}{path}");
            }
            assert!(Instant::now() < deadline, "Chromium did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let (socket, _) = tokio_tungstenite::connect_async(&endpoint).await.unwrap();
        let mut browser = Browser {
            child,
            profile,
            socket,
            tabs: Vec::new(),
            current: 0,
            next_id: 0,
        };
        browser.open_tab().await;
        Some(browser)
    }

    /// Opens another tab of the same browser profile (same cookies, same
    /// localStorage, same locks) and makes it the current one.
    pub async fn open_tab(&mut self) -> usize {
        let browser_level = std::mem::take(&mut self.tabs);
        let target = self
            .command("Target.createTarget", json!({ "url": "about:blank" }))
            .await;
        let attached = self
            .command(
                "Target.attachToTarget",
                json!({ "targetId": target["targetId"], "flatten": true }),
            )
            .await;
        self.tabs = browser_level;
        self.tabs
            .push(attached["sessionId"].as_str().unwrap().to_owned());
        self.current = self.tabs.len() - 1;
        self.current
    }

    /// Sends the next commands to tab `index`.
    pub fn use_tab(&mut self, index: usize) {
        self.current = index;
    }

    /// Sends one DevTools command (to the page, once attached) and returns
    /// its result, skipping the events that arrive meanwhile.
    pub(super) async fn command(&mut self, method: &str, params: Value) -> Value {
        let answer = self.answer(method, params).await;
        assert!(answer.get("error").is_none(), "{method}: {answer}");
        answer["result"].clone()
    }

    /// Sends one DevTools command and returns Chromium's whole answer, an
    /// error included.
    async fn answer(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = self.tabs.get(self.current) {
            message["sessionId"] = json!(session);
        }
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .unwrap();
        loop {
            let answer = tokio::time::timeout(Duration::from_secs(20), self.socket.next())
                .await
                .expect("Chromium answers within 20 s")
                .expect("the connection stays open")
                .unwrap();
            let Message::Text(text) = answer else {
                continue;
            };
            let answer: Value = serde_json::from_str(&text).unwrap();
            if answer["id"] == id {
                return answer;
            }
        }
    }

    /// Evaluates `expression` in the page (awaiting it if it is a promise)
    /// and returns its value.
    pub async fn eval(&mut self, expression: &str) -> Value {
        let result = self
            .command(
                "Runtime.evaluate",
                json!({ "expression": expression, "awaitPromise": true, "returnByValue": true }),
            )
            .await;
        assert!(
            result.get("exceptionDetails").is_none(),
            "{expression}: {}",
            result["exceptionDetails"]
        );
        result["result"]["value"].clone()
    }

    /// Waits until `condition` is true in the page. A page that is
    /// navigating (a form posted, a redirect) has no context to evaluate in
    /// for a moment: Chromium answers "navigated or closed", or "context
    /// was destroyed", and that counts as "not yet", never as a failure.
    pub async fn wait_for(&mut self, condition: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.holds(condition).await {
            assert!(Instant::now() < deadline, "never true: {condition}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Whether `condition` is true in the page now; false while it
    /// navigates.
    async fn holds(&mut self, condition: &str) -> bool {
        let expression = format!("Boolean({condition})");
        let params =
            json!({ "expression": expression, "awaitPromise": true, "returnByValue": true });
        let answer = self.answer("Runtime.evaluate", params).await;
        let navigating = |text: &str| {
            [
                "navigated or closed",
                "context was destroyed",
                "Cannot find context",
            ]
            .iter()
            .any(|sign| text.contains(sign))
        };
        if let Some(error) = answer.get("error") {
            let message = error["message"].as_str().unwrap_or_default();
            assert!(navigating(message), "{expression}: {answer}");
            return false;
        }
        let result = &answer["result"];
        if let Some(exception) = result.get("exceptionDetails") {
            assert!(
                navigating(&exception.to_string()),
                "{expression}: {exception}"
            );
            return false;
        }
        result["result"]["value"] == json!(true)
    }

    /// Saves the whole page, 720 pixels wide, as
    /// `book/browser/screenshots/NAME.png`, for the chapters:
    /// `UPDATE_SCREENSHOTS=1 cargo test -p cafe --test api the_page_logs_in`
    /// rewrites one per mode, and `… browser::logins` the logins panel's.
    pub async fn screenshot(&mut self, name: &str) {
        let folder = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../book/browser/screenshots"
        );
        let path = std::path::Path::new(folder).join(format!("{name}.png"));
        let width = 720;
        self.command(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": 420, "deviceScaleFactor": 1, "mobile": false }),
        )
        .await;
        let height = self
            .eval("Math.ceil(document.documentElement.getBoundingClientRect().height) + 32")
            .await;
        let height = height.as_u64().map_or(420, |height| height.max(420));
        self.screenshot_to(&path, width, u32::try_from(height).unwrap())
            .await;
    }

    /// Saves what the tab shows, `width` × `height` pixels, as a PNG at `path`.
    pub async fn screenshot_to(&mut self, path: &std::path::Path, width: u32, height: u32) {
        use base64::Engine;
        self.command(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false }),
        )
        .await;
        let shot = self
            .command("Page.captureScreenshot", json!({ "format": "png" }))
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }

    /// Loads `url` in the current tab.
    pub async fn navigate(&mut self, url: &str) {
        self.command("Page.navigate", json!({ "url": url })).await;
    }

    /// Opens the café's page and waits until its script has started.
    pub async fn open(&mut self, app: &TestApp) {
        // localhost, not 127.0.0.1: the name browsers trust with Secure cookies.
        let url = app.address.replace("127.0.0.1", "localhost") + "/";
        self.navigate(&url).await;
        self.wait_for("window.cafe && window.cafe.ready").await;
        self.eval("window.cafe.ready").await;
    }
}
