//! Just enough of the W3C WebDriver protocol to drive headless Chromium through Debian's
//! `chromedriver`: a session, navigation, finding and clicking elements, typing, running a
//! script, sizing the window. Chromium runs with a fresh profile and everything that would
//! reach the network off (the machine has none to reach).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::process::Reaped;
use crate::support::wait::eventually;

/// What to install when a browser is missing.
const INSTALL: &str = "the dashboard's browser tests need Chromium and its WebDriver: \
                       apt-get install chromium chromium-driver (or set QUEUEPRIM_TEST_CHROMIUM \
                       and QUEUEPRIM_TEST_CHROMEDRIVER)";
/// The key a WebDriver element reference is kept under.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long a page may take to show what a test waits for before the test calls it a hang:
/// the dashboard polls every 3 s, and the machine is shared.
pub const PAGE: Duration = Duration::from_secs(30);

fn program(env: &str, default: &str) -> PathBuf {
    let path = std::env::var_os(env).map_or_else(|| PathBuf::from(default), PathBuf::from);
    assert!(path.exists(), "{} is missing: {INSTALL}", path.display());
    path
}

/// A chromedriver process and one browser session on it, both ended when dropped.
pub struct Browser {
    _driver: Reaped,
    agent: ureq::Agent,
    /// `http://127.0.0.1:PORT/session/ID`
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free port and a headless Chromium of `width` × `height`.
    pub fn start(width: u32, height: u32) -> Browser {
        let chromium = program("QUEUEPRIM_TEST_CHROMIUM", "/usr/bin/chromium");
        let chromedriver = program("QUEUEPRIM_TEST_CHROMEDRIVER", "/usr/bin/chromedriver");
        let port = free_port();
        let driver = Reaped::new(
            Command::new(&chromedriver)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("cannot start {}: {e}; {INSTALL}", chromedriver.display())
                }),
        );
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let base = format!("http://127.0.0.1:{port}");
        eventually(PAGE, "chromedriver to listen", || {
            agent
                .get(format!("{base}/status"))
                .call()
                .ok()
                .and_then(|mut r| r.body_mut().read_to_string().ok())
                .is_some_and(|body| body.contains("\"ready\":true"))
        });
        let profile = tempfile::tempdir().expect("a profile folder");
        let session = new_session(&agent, &base, &chromium, profile.path(), width, height);
        Browser {
            _driver: driver,
            agent,
            session: format!("{base}/session/{session}"),
            _profile: profile,
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.session);
        request(&self.agent, method, &url, body)
            .unwrap_or_else(|e| panic!("webdriver {method} {path}: {e}"))
    }

    pub fn goto(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url })));
    }

    /// Runs `script` (a function body: `return …`) in the page with `args`.
    pub fn run(&self, script: &str, args: Value) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// Waits until `script` returns something truthy, and returns it.
    #[track_caller]
    pub fn wait_for(&self, what: &str, script: &str) -> Value {
        let start = Instant::now();
        loop {
            let value = self.run(script, json!([]));
            let truthy = match &value {
                Value::Null | Value::Bool(false) => false,
                Value::String(s) => !s.is_empty(),
                Value::Number(n) => n.as_f64() != Some(0.0),
                _ => true,
            };
            if truthy {
                return value;
            }
            assert!(
                start.elapsed() < PAGE,
                "timed out waiting for {what}; the page shows:\n{}",
                self.text("body")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until an element matching `css` is there, and returns its reference.
    #[track_caller]
    pub fn find(&self, css: &str) -> String {
        self.wait_for(
            &format!("an element matching {css}"),
            &format!("return document.querySelector({}) !== null", json!(css)),
        );
        let found = self.call(
            "POST",
            "/element",
            Some(json!({ "using": "css selector", "value": css })),
        );
        found[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element reference for {css}: {found}"))
            .to_string()
    }

    /// Clicks the first element matching `css`, once it is there, as a person would.
    #[track_caller]
    pub fn click(&self, css: &str) {
        self.act_on(css, "click", json!({}));
    }

    /// Types `text` into the element matching `css`.
    #[track_caller]
    pub fn type_into(&self, css: &str, text: &str) {
        self.act_on(css, "value", json!({ "text": text }));
    }

    /// Finds the element matching `css` and sends it `action`. The page redraws itself
    /// every few seconds, replacing its elements with equal new ones: one found just before
    /// a redraw is gone ("stale") by the time it is acted on, so it is found again, as a
    /// person would see the new one.
    #[track_caller]
    fn act_on(&self, css: &str, action: &str, body: Value) {
        let start = Instant::now();
        loop {
            let element = self.find(css);
            let url = format!("{}/element/{element}/{action}", self.session);
            match request(&self.agent, "POST", &url, Some(body.clone())) {
                Ok(_) => return,
                Err(e) if e.contains("stale element reference") && start.elapsed() < PAGE => {}
                Err(e) => panic!("webdriver {action} on {css}: {e}"),
            }
        }
    }

    /// The text of the first element matching `css`, as it is rendered ("" when none).
    pub fn text(&self, css: &str) -> String {
        let value = self.run(
            "const el = document.querySelector(arguments[0]); return el ? el.innerText : ''",
            json!([css]),
        );
        value.as_str().unwrap_or_default().to_string()
    }

    /// Saves a screenshot for a person to look at (under target/, never in the repository).
    pub fn screenshot(&self, path: &Path) {
        let encoded = self.call("GET", "/screenshot", None);
        if let Some(bytes) = encoded.as_str().and_then(base64_decode) {
            let _ = std::fs::write(path, bytes);
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = request(&self.agent, "DELETE", &self.session, None);
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

fn new_session(
    agent: &ureq::Agent,
    base: &str,
    chromium: &Path,
    profile: &Path,
    width: u32,
    height: u32,
) -> String {
    let args = [
        "--headless=new".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-dev-shm-usage".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--no-first-run".into(),
        "--no-default-browser-check".into(),
        format!("--user-data-dir={}", profile.display()),
        format!("--window-size={width},{height}"),
    ];
    let mut options = json!({ "binary": chromium, "args": args });
    // A window cannot be made as narrow as a phone: its screen is emulated instead.
    if width < 600 {
        options["mobileEmulation"] = json!({
            "deviceMetrics": { "width": width, "height": height, "pixelRatio": 2.0, "touch": true }
        });
    }
    let capabilities = json!({ "capabilities": { "alwaysMatch": {
        "browserName": "chrome",
        "goog:chromeOptions": options
    } } });
    let created = request(
        agent,
        "POST",
        &format!("{base}/session"),
        Some(capabilities),
    )
    .unwrap_or_else(|e| panic!("cannot start a Chromium session: {e}; {INSTALL}"));
    created["sessionId"]
        .as_str()
        .unwrap_or_else(|| panic!("no session id: {created}"))
        .to_string()
}

/// One WebDriver command: its `value`, or the error it answered.
fn request(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    let sent = match (method, body) {
        ("GET", _) => agent.get(url).call(),
        ("DELETE", _) => agent.delete(url).call(),
        (_, body) => agent
            .post(url)
            .header("Content-Type", "application/json")
            .send(body.unwrap_or(json!({})).to_string()),
    };
    let mut response = sent.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_string()
        .map_err(|e| e.to_string())?;
    let answer: Value = serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))?;
    match status {
        200 => Ok(answer["value"].clone()),
        _ => Err(format!("{status}: {}", answer["value"])),
    }
}

/// Standard base64, as WebDriver sends screenshots.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let (mut out, mut buffer, mut bits) = (Vec::new(), 0u32, 0);
    for c in text.bytes().filter(|&c| c != b'=') {
        buffer = (buffer << 6) | u32::from(value(c)?);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    Some(out)
}
