//! The page's login: the RESP server's password, given once on a form, then
//! a random session token in an `HttpOnly`, `SameSite=Strict` cookie
//! (12 hours). Programs may send `Authorization: Bearer <password>` instead.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tiny_http::Request;

/// How long a session lasts.
const SESSION: Duration = Duration::from_secs(12 * 3600);
/// Most sessions kept; the oldest goes first.
const MAX_SESSIONS: usize = 10_000;
/// The cookie's name.
const COOKIE: &str = "kith_session";

/// Open sessions: token → when it ends.
#[derive(Default)]
pub(crate) struct Sessions {
    open: Mutex<HashMap<String, Instant>>,
}

impl Sessions {
    /// Starts a session; its token.
    pub(crate) fn start(&self) -> String {
        let token = random_token();
        let mut open = self.open.lock();
        let now = Instant::now();
        open.retain(|_, end| *end > now);
        if open.len() >= MAX_SESSIONS {
            if let Some(oldest) = open.iter().min_by_key(|(_, e)| **e).map(|(k, _)| k.clone()) {
                open.remove(&oldest);
            }
        }
        open.insert(token.clone(), now + SESSION);
        token
    }

    /// Whether `token` is an open session.
    pub(crate) fn valid(&self, token: Option<String>) -> bool {
        let Some(t) = token else { return false };
        let open = self.open.lock();
        open.iter()
            .any(|(k, end)| same(k.as_bytes(), t.as_bytes()) && *end > Instant::now())
    }

    /// Ends a session.
    pub(crate) fn end(&self, token: Option<String>) {
        if let Some(t) = token {
            self.open.lock().remove(&t);
        }
    }
}

/// Compares in time that depends only on the lengths.
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// 32 hex digits from the system's random source.
fn random_token() -> String {
    let mut bytes = [0u8; 16];
    let read = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes));
    if read.is_err() {
        // No /dev/urandom: the standard library's per-process random keys.
        use std::hash::{BuildHasher, Hasher};
        for chunk in bytes.chunks_mut(8) {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u128(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or(0),
            );
            chunk.copy_from_slice(&h.finish().to_le_bytes()[..chunk.len()]);
        }
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The session cookie's value in a request, if any.
pub(crate) fn cookie_token(req: &Request) -> Option<String> {
    req.headers()
        .iter()
        .filter(|h| h.field.equiv("Cookie"))
        .flat_map(|h| h.value.as_str().split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
}

/// Whether the request carries `Authorization: Bearer <password>`.
pub(crate) fn bearer_matches(req: &Request, password: &str) -> bool {
    req.headers()
        .iter()
        .filter(|h| h.field.equiv("Authorization"))
        .filter_map(|h| h.value.as_str().strip_prefix("Bearer "))
        .any(|given| same(given.trim().as_bytes(), password.as_bytes()))
}

/// `Set-Cookie` for a new session.
pub(crate) fn session_cookie(token: &str) -> String {
    format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        SESSION.as_secs()
    )
}

/// `Set-Cookie` that ends the session in the browser.
pub(crate) fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}
