#![cfg(feature = "cli")]
//! What the wire tests share: a server on a free port, stopped on drop.
#![allow(dead_code)] // each test binary uses its own part

use kith::server::{Server, ServerConfig, ShutdownHandle};
use kith::Db;
use std::net::SocketAddr;

pub struct Running {
    pub addr: SocketAddr,
    pub handle: ShutdownHandle,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl Running {
    pub fn stop(mut self) -> std::io::Result<()> {
        self.handle.shutdown();
        self.thread.take().unwrap().join().unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            self.handle.shutdown();
            let _ = t.join();
        }
    }
}

/// Serves `db` with `config` on a free loopback port.
pub fn start_with(db: Db, config: ServerConfig) -> Running {
    let server = Server::bind(
        db,
        ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            ..config
        },
    )
    .unwrap();
    let addr = server.local_addr().unwrap();
    let handle = server.shutdown_handle();
    let thread = Some(std::thread::spawn(move || server.run()));
    Running {
        addr,
        handle,
        thread,
    }
}

/// A web server on a free loopback port, stopped on drop.
pub struct Web {
    pub addr: SocketAddr,
    pub handle: kith::http::HttpShutdown,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl Drop for Web {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            self.handle.shutdown();
            let _ = t.join();
        }
    }
}

/// Serves the customer page over `db` (with `password`, if any).
pub fn start_web(db: Db, password: Option<&str>) -> Web {
    let server = kith::http::HttpServer::bind(
        db,
        kith::http::HttpConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            password: password.map(str::to_string),
            ..Default::default()
        },
    )
    .unwrap();
    let addr = server.local_addr();
    let handle = server.shutdown_handle();
    let thread = Some(std::thread::spawn(move || server.run()));
    Web {
        addr,
        handle,
        thread,
    }
}

/// One HTTP answer.
#[derive(Debug)]
pub struct HttpReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one raw HTTP/1.1 request (`Connection: close`) and reads the answer.
pub fn http(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpReply {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let mut req = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(&raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    HttpReply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let n = usize::from_str_radix(String::from_utf8_lossy(&b[..eol]).trim(), 16).unwrap_or(0);
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + n]);
        b = &b[eol + 2 + n + 2..];
    }
}

/// A bank of `persons` persons with a few customers built from source
/// records (lineage, explanations, a possible match); returns the database
/// and the richest generated person (household, accounts, guarantees).
pub fn web_bank(persons: u64) -> (Db, kith::EntityId) {
    use kith::{Direction, EntityKind, RelKind};
    let db = Db::temporary().unwrap();
    kith::generate::generate_bank(
        &db,
        &kith::generate::BankConfig {
            persons,
            seed: 7,
            interactions_per_person: 2,
        },
        |_| {},
    )
    .unwrap();
    let mut best = (0, kith::EntityId(0));
    for id in db.list(EntityKind::PERSON, None, 10_000).unwrap().ids {
        let n = |k, d| db.neighbour_ids(id, k, d).unwrap().len();
        let score = n(RelKind::OWNS, Direction::Out).min(3)
            + 3 * n(RelKind::MEMBER_OF, Direction::Out).min(1)
            + 2 * (n(RelKind::GUARANTEES, Direction::Out) + n(RelKind::GUARANTEES, Direction::In))
                .min(2)
            + n(RelKind::SPOUSE_OF, Direction::Out).min(1);
        if score > best.0 {
            best = (score, id);
        }
    }
    (db, best.1)
}
