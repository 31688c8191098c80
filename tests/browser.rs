#![cfg(feature = "cli")]
//! The customer page in a real browser: headless Chromium, driven over the
//! DevTools protocol, loads a demo customer's page; the test reads the
//! rendered DOM (the name, the accounts, the graph's nodes drawn), writes
//! through RESP and sees the open page change within a second, and saves
//! screenshots at 1280×800 and at a phone's width under
//! `target/screenshots/`.
//!
//! Needs `chromium` (`apt-get install chromium`; `.ci/run` installs it).
//! `KITH_CHROMIUM` names another binary; `KITH_SKIP_BROWSER=1` skips the
//! test where no browser can be installed, saying so.
mod common;

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

struct Browser {
    child: Child,
    _profile: tempfile::TempDir,
    cdp: WebSocket<MaybeTlsStream<TcpStream>>,
    next: u64,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chromium() -> Option<String> {
    if let Ok(b) = std::env::var("KITH_CHROMIUM") {
        return Some(b);
    }
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .map(str::to_string)
}

impl Browser {
    fn launch(binary: &str) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(binary)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--hide-scrollbars",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.split("DevTools listening on ").nth(1) {
                    let _ = tx.send(url.trim().to_string());
                }
            }
        });
        let browser_url = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("chromium printed no DevTools address within 30 s");
        let hostport = browser_url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .unwrap()
            .to_string();
        // The page target (about:blank) and its own socket.
        let deadline = Instant::now() + Duration::from_secs(10);
        let page_url = loop {
            let r = common::http(hostport.parse().unwrap(), "GET", "/json/list", &[], b"");
            let list: Value = serde_json::from_slice(&r.body).unwrap_or(json!([]));
            if let Some(u) = list
                .as_array()
                .into_iter()
                .flatten()
                .find(|t| t["type"] == "page")
                .and_then(|t| t["webSocketDebuggerUrl"].as_str())
            {
                break u.to_string();
            }
            assert!(Instant::now() < deadline, "no page target: {list}");
            std::thread::sleep(Duration::from_millis(100));
        };
        let (cdp, _) = tungstenite::connect(page_url.as_str()).unwrap();
        Browser {
            child,
            _profile: profile,
            cdp,
            next: 0,
        }
    }

    /// One DevTools call; its result.
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = self.next;
        let msg = json!({"id": id, "method": method, "params": params});
        self.cdp.send(Message::text(msg.to_string())).unwrap();
        loop {
            let m = self.cdp.read().unwrap();
            let Message::Text(t) = m else { continue };
            let v: Value = serde_json::from_str(t.as_str()).unwrap();
            if v["id"] == id {
                assert!(v.get("error").is_none(), "{method}: {v}");
                return v["result"].clone();
            }
        }
    }

    /// Evaluates JavaScript in the page; its value.
    fn eval(&mut self, expr: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expr, "returnByValue": true, "awaitPromise": true}),
        );
        assert!(r.get("exceptionDetails").is_none(), "{expr}: {r}");
        r["result"]["value"].clone()
    }

    /// Waits until `expr` is true in the page; how long it took.
    fn wait_for(&mut self, expr: &str, timeout: Duration) -> Duration {
        let start = Instant::now();
        loop {
            if self.eval(expr) == json!(true) {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < timeout,
                "not true within {timeout:?}: {expr}\nthe page: {}",
                self.eval("document.getElementById('main').innerText.slice(0, 2000)")
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn viewport(&mut self, width: u32, height: u32, mobile: bool) {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}),
        );
    }

    /// A PNG of the viewport, or with `full` of the whole page.
    fn screenshot(&mut self, path: &std::path::Path, full: bool) {
        use base64::Engine as _;
        let mut params = json!({"format": "png"});
        if full {
            let m = self.call("Page.getLayoutMetrics", json!({}));
            let size = &m["cssContentSize"];
            params["captureBeyondViewport"] = json!(true);
            params["clip"] = json!({"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1});
        }
        let r = self.call("Page.captureScreenshot", params);
        let png = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }
}

const LOADED: &str = "!!document.body && document.body.dataset.live === 'open' && !!document.querySelector('#graph[data-nodes]')";

#[test]
fn the_customer_page_renders_draws_its_graph_and_updates_live() {
    let Some(binary) = chromium() else {
        if std::env::var("KITH_SKIP_BROWSER").is_ok() {
            eprintln!("SKIPPED: no chromium and KITH_SKIP_BROWSER is set");
            return;
        }
        panic!("no chromium found: apt-get install chromium (or set KITH_CHROMIUM, or KITH_SKIP_BROWSER=1 to skip)");
    };
    let (db, rich) = common::web_bank(300);
    let resp = common::start_with(db.clone(), Default::default());
    let web = common::start_web(db.clone(), None);
    let person = db.get(rich).unwrap().unwrap();
    let family = person.text(kith::attrs::FAMILY_NAME).unwrap().to_string();
    let accounts = db
        .neighbour_ids(rich, kith::RelKind::OWNS, kith::Direction::Out)
        .unwrap()
        .len();

    let mut b = Browser::launch(&binary);
    b.viewport(1280, 800, false);
    b.call("Page.enable", json!({}));
    let url = format!("http://{}/party/{}", web.addr, rich.0);
    b.call("Page.navigate", json!({"url": url}));
    b.wait_for(LOADED, Duration::from_secs(20));

    // The name, the accounts, the graph's nodes drawn.
    let name = b.eval("document.getElementById('party-name').textContent");
    assert!(name.as_str().unwrap().contains(&family), "{name}");
    let rows = b.eval("document.querySelectorAll('table.accounts tbody tr').length");
    assert_eq!(rows.as_u64().unwrap() as usize, accounts);
    let nodes = b.eval("Number(document.getElementById('graph').dataset.nodes)");
    assert!(nodes.as_u64().unwrap() > 2, "graph nodes: {nodes}");
    let canvas = b.eval("document.querySelectorAll('#graph canvas').length");
    assert!(canvas.as_u64().unwrap() >= 1, "cytoscape drew no canvas");
    for section in [
        "profile",
        "identifiers",
        "accounts",
        "household",
        "guarantors",
        "relationships",
        "timeline",
        "records",
    ] {
        let found = b.eval(&format!("!!document.getElementById('{section}')"));
        assert_eq!(found, json!(true), "section {section} missing");
    }
    let interactive = b.eval("Number(document.body.dataset.interactiveMs)");
    eprintln!("page interactive after {interactive} ms (the page's own timing, loopback)");
    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    b.screenshot(&shots.join("customer-1280x800.png"), false);
    b.screenshot(&shots.join("customer-1280-full.png"), true);
    // Co-owners are links to their own pages.
    let co = db
        .neighbour_ids(rich, kith::RelKind::OWNS, kith::Direction::Out)
        .unwrap()
        .into_iter()
        .map(|a| {
            db.neighbour_ids(a, kith::RelKind::OWNS, kith::Direction::In)
                .unwrap()
                .len()
                - 1
        })
        .sum::<usize>();
    let links = b.eval("document.querySelectorAll('table.accounts a[data-party]').length");
    assert_eq!(links.as_u64().unwrap() as usize, co);

    // A write through RESP shows up on the open page within a second.
    let mut client = kith::client::Client::connect(resp.addr).unwrap();
    let summary = "Called about the mortgage payment holiday";
    let body = json!({"attrs": {"channel": "phone", "interaction_type": "call", "summary": summary, "status": "open"}});
    let wrote = Instant::now();
    let reply = client
        .command(&[
            b"INTERACTION.ADD",
            rich.0.to_string().as_bytes(),
            body.to_string().as_bytes(),
        ])
        .unwrap();
    assert!(
        matches!(reply, kith::server::Frame::Integer(_)),
        "{reply:?}"
    );
    let seen = format!("document.getElementById('timeline').innerText.includes('{summary}')");
    b.wait_for(&seen, Duration::from_secs(5));
    let took = wrote.elapsed();
    let lag = b.eval("Number(document.body.dataset.lastUpdateLagMs)");
    eprintln!(
        "the write showed on the open page after {took:?} (commit to render in the page: {lag} ms)"
    );
    assert!(
        took <= Duration::from_secs(1),
        "the page took {took:?} to show the write"
    );
    assert_eq!(
        b.eval("document.body.dataset.liveUpdates >= 1"),
        json!(true)
    );

    // Search from the page, by keyboard: type, Enter, first result focused.
    b.eval(&format!(
        "document.getElementById('q').value = '{family}'; document.getElementById('search').requestSubmit(); true"
    ));
    b.wait_for(
        "!!document.getElementById('results')",
        Duration::from_secs(10),
    );
    let focused = b.eval("document.activeElement && document.activeElement.dataset.party || ''");
    assert!(
        !focused.as_str().unwrap().is_empty(),
        "the first result is focused"
    );

    // A phone's width: no sideways scrolling of the page itself.
    b.viewport(390, 844, true);
    b.call("Page.navigate", json!({"url": url}));
    b.wait_for(LOADED, Duration::from_secs(20));
    let overflow = b.eval("document.documentElement.scrollWidth - window.innerWidth");
    assert!(
        overflow.as_i64().unwrap() <= 0,
        "the page is {overflow} px wider than the phone"
    );
    b.screenshot(&shots.join("customer-390x844.png"), false);
    drop(resp);
}

/// A screenshot of any page for people checking the page by eye:
/// `KITH_SHOT_URL=http://127.0.0.1:8080/party/42 cargo test --test browser
/// -- --ignored screenshot` writes `target/screenshots/shot.png` (whole
/// page; `KITH_SHOT_WIDTH` sets the width, default 1280).
#[test]
#[ignore]
fn screenshot() {
    let url = std::env::var("KITH_SHOT_URL").expect("set KITH_SHOT_URL");
    let width = std::env::var("KITH_SHOT_WIDTH")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(1280);
    let mut b = Browser::launch(&chromium().expect("chromium"));
    b.viewport(width, 800, width < 600);
    b.call("Page.enable", json!({}));
    b.call("Page.navigate", json!({"url": url}));
    b.wait_for("!!document.body && (document.body.dataset.live === 'open' || !!document.getElementById('results')) && (!document.getElementById('graph') || !!document.querySelector('#graph[data-nodes]'))", Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(300));
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots/shot.png");
    b.screenshot(&out, true);
    eprintln!("wrote {}", out.display());
}
