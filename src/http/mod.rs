//! The customer 360 web page and the JSON endpoints behind it, served over
//! HTTP from the same process as the RESP server (`kith serve --http ADDR`)
//! or on its own (`kith ui`).
//!
//! Layout: this file binds, runs the request threads and routes; `api`
//! builds the JSON answers (search, a party, its graph) from the database's
//! public reads; `auth` keeps the password's sessions; `live` follows the
//! change log and pushes "this customer changed" to open pages
//! (server-sent events); `assets` holds the page's files, embedded in the
//! binary. Nothing here touches storage: it reads through [`Db`] like any
//! embedding program, and writes only the two review decisions
//! ([`Db::force_together`], [`Db::force_apart`]).
//!
//! Every answer is a fixed route or an embedded file: a path that names
//! neither is a 404, so no request can reach the file system.

mod api;
mod assets;
mod auth;
mod live;

use crate::Db;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tiny_http::{Header, Method, Request, Response};

/// How the web server runs.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// Address to listen on (default `127.0.0.1:8080`: loopback only).
    pub listen: SocketAddr,
    /// The password the page asks for (the RESP server's `--requirepass`);
    /// `None`: no login.
    pub password: Option<String>,
    /// Threads that answer requests (default 4).
    pub threads: usize,
    /// Most pages following live updates at once (default 256); one more
    /// gets 503 and the page falls back to reloading on focus.
    pub max_live: usize,
}

impl Default for HttpConfig {
    fn default() -> HttpConfig {
        HttpConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            password: None,
            threads: 4,
            max_live: 256,
        }
    }
}

/// Longest request line accepted (path and query), bytes.
const MAX_URL: usize = 8 * 1024;
/// Largest request body accepted (a login form, a review decision), bytes.
const MAX_BODY: usize = 16 * 1024;

/// State the request threads share.
struct Shared {
    db: Db,
    config: HttpConfig,
    sessions: auth::Sessions,
    live: live::Hub,
    shutdown: AtomicBool,
    live_pages: AtomicUsize,
}

/// A running web server.
pub struct HttpServer {
    server: Arc<tiny_http::Server>,
    shared: Arc<Shared>,
    addr: SocketAddr,
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        // The change-log follower holds a handle on the database: let it go.
        self.shared.live.close();
    }
}

/// Stops a running [`HttpServer`] from another thread.
#[derive(Clone)]
pub struct HttpShutdown {
    server: Arc<tiny_http::Server>,
    shared: Arc<Shared>,
}

impl HttpShutdown {
    /// Asks the server to stop: `run` returns once its threads have finished
    /// the requests in hand; live pages are closed.
    pub fn shutdown(&self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        self.shared.live.close();
        for _ in 0..self.shared.config.threads.max(1) {
            self.server.unblock();
        }
    }
}

/// An error answer: an HTTP status and a message, sent as `{"error": message}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpError {
    /// The HTTP status (400, 404, 409, 500, …).
    pub status: u16,
    /// What went wrong, for people.
    pub message: String,
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.message)
    }
}

impl std::error::Error for HttpError {}

/// The JSON of `/api/party/ID` (with at most 50 interactions), built in
/// process: what the page shows, for programs that embed kith.
pub fn party_json(db: &Db, id: crate::EntityId) -> Result<serde_json::Value, HttpError> {
    api::party(db, id, 50)
}

impl HttpError {
    pub(crate) fn new(status: u16, message: impl Into<String>) -> HttpError {
        HttpError {
            status,
            message: message.into(),
        }
    }
}

impl From<crate::ReadError> for HttpError {
    fn from(e: crate::ReadError) -> HttpError {
        HttpError::new(500, format!("read failed: {e}"))
    }
}

/// What a route answers.
pub(crate) enum Answer {
    /// JSON with status 200.
    Json(serde_json::Value),
    /// An embedded file.
    Asset(&'static assets::Asset),
    /// A redirect (303) to a path.
    Redirect(String, Option<String>),
    /// Server-sent events of one customer (the connection is kept).
    Events(crate::EntityId),
}

impl HttpServer {
    /// Binds `config.listen` over `db`.
    pub fn bind(db: Db, config: HttpConfig) -> std::io::Result<HttpServer> {
        let listener = std::net::TcpListener::bind(config.listen)?;
        no_delay(&listener);
        let server = tiny_http::Server::from_listener(listener, None).map_err(|e| {
            std::io::Error::other(format!("cannot listen on {}: {e}", config.listen))
        })?;
        let addr = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| std::io::Error::other("not a TCP address"))?;
        let live = live::Hub::start(db.clone());
        Ok(HttpServer {
            server: Arc::new(server),
            shared: Arc::new(Shared {
                db,
                config,
                sessions: auth::Sessions::default(),
                live,
                shutdown: AtomicBool::new(false),
                live_pages: AtomicUsize::new(0),
            }),
            addr,
        })
    }

    /// The address it listens on (with the port the system chose for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// A handle that stops the server.
    pub fn shutdown_handle(&self) -> HttpShutdown {
        HttpShutdown {
            server: self.server.clone(),
            shared: self.shared.clone(),
        }
    }

    /// Answers requests until [`HttpShutdown::shutdown`].
    pub fn run(self) -> std::io::Result<()> {
        let threads: Vec<_> = (0..self.shared.config.threads.max(1))
            .map(|i| {
                let server = self.server.clone();
                let shared = self.shared.clone();
                std::thread::Builder::new()
                    .name(format!("kith-http-{i}"))
                    .spawn(move || loop {
                        if shared.shutdown.load(Ordering::SeqCst) {
                            return;
                        }
                        match server.recv_timeout(Duration::from_millis(250)) {
                            Ok(Some(req)) => handle(&shared, req),
                            Ok(None) => {}
                            Err(_) => std::thread::sleep(Duration::from_millis(10)),
                        }
                    })
            })
            .collect::<Result<_, _>>()?;
        for t in threads {
            let _ = t.join();
        }
        Ok(())
    }
}

/// Turns Nagle's algorithm off on the listening socket; Linux hands the
/// setting to every accepted connection. Without it a reply written in
/// pieces waits for the client's delayed acknowledgement (40 ms a request).
fn no_delay(listener: &std::net::TcpListener) {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        let on: libc::c_int = 1;
        // SAFETY: a valid socket descriptor and a c_int option of the right size.
        unsafe {
            libc::setsockopt(
                listener.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_NODELAY,
                (&on as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes())
        .expect("header names and values are ASCII")
}

/// Headers every answer carries: no sniffing, no framing by other sites,
/// nothing loaded from elsewhere.
fn common_headers<R: Read>(r: Response<R>) -> Response<R> {
    r.with_header(header("X-Content-Type-Options", "nosniff"))
        .with_header(header("X-Frame-Options", "DENY"))
        .with_header(header("Referrer-Policy", "no-referrer"))
        .with_header(header(
            "Content-Security-Policy",
            "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
        ))
}

fn json_response(status: u16, body: &serde_json::Value) -> Response<std::io::Cursor<Vec<u8>>> {
    let bytes = serde_json::to_vec(body).expect("JSON values encode");
    common_headers(
        Response::from_data(bytes)
            .with_status_code(status)
            .with_header(header("Content-Type", "application/json; charset=utf-8"))
            .with_header(header("Cache-Control", "no-store")),
    )
}

/// Answers one request (never panics the thread: a panic in a route is a 500).
fn handle(shared: &Arc<Shared>, mut req: Request) {
    let answered =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| route(shared, &mut req)));
    let answer = match answered {
        Ok(a) => a,
        Err(_) => Err(HttpError::new(
            500,
            "internal error (the request was not completed)",
        )),
    };
    let _ = match answer {
        Ok(Answer::Json(j)) => req.respond(json_response(200, &j)),
        Ok(Answer::Asset(a)) => req.respond(common_headers(
            Response::from_data(a.body)
                .with_header(header("Content-Type", a.content_type))
                .with_header(header("Cache-Control", a.cache)),
        )),
        Ok(Answer::Redirect(to, cookie)) => {
            let mut r = Response::empty(303).with_header(header("Location", &to));
            if let Some(c) = cookie {
                r = r.with_header(header("Set-Cookie", &c));
            }
            req.respond(common_headers(r))
        }
        Ok(Answer::Events(id)) => {
            live::serve(shared.clone(), req, id);
            Ok(())
        }
        Err(e) => req.respond(json_response(
            e.status,
            &serde_json::json!({"error": e.message}),
        )),
    };
}

/// The request's path and query parameters (decoded).
struct Target {
    path: String,
    query: Vec<(String, String)>,
}

impl Target {
    fn parse(url: &str) -> Result<Target, HttpError> {
        if url.len() > MAX_URL {
            return Err(HttpError::new(
                414,
                format!("the request line is longer than {MAX_URL} bytes"),
            ));
        }
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        Ok(Target {
            path: path.to_string(),
            query: form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect(),
        })
    }

    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A numeric parameter in `lo..=hi`, `default` when absent.
    fn number(&self, name: &str, default: usize, lo: usize, hi: usize) -> Result<usize, HttpError> {
        match self.param(name) {
            None => Ok(default),
            Some(v) => match v.trim().parse::<usize>() {
                Ok(n) if (lo..=hi).contains(&n) => Ok(n),
                _ => Err(HttpError::new(
                    400,
                    format!("{name} must be a number from {lo} to {hi}, got {v:?}"),
                )),
            },
        }
    }
}

/// An id in a path segment.
fn id_segment(s: &str) -> Result<crate::EntityId, HttpError> {
    s.parse::<u64>()
        .ok()
        .filter(|&n| n > 0)
        .map(crate::EntityId)
        .ok_or_else(|| {
            HttpError::new(
                400,
                format!("{s:?} is not an entity id (a positive number)"),
            )
        })
}

fn read_body(req: &mut Request) -> Result<String, HttpError> {
    if req.body_length().is_some_and(|n| n > MAX_BODY) {
        return Err(HttpError::new(
            413,
            format!("the body is longer than {MAX_BODY} bytes"),
        ));
    }
    let mut body = Vec::new();
    req.as_reader()
        .take(MAX_BODY as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| HttpError::new(400, format!("cannot read the body: {e}")))?;
    if body.len() > MAX_BODY {
        return Err(HttpError::new(
            413,
            format!("the body is longer than {MAX_BODY} bytes"),
        ));
    }
    String::from_utf8(body).map_err(|_| HttpError::new(400, "the body is not UTF-8"))
}

fn route(shared: &Arc<Shared>, req: &mut Request) -> Result<Answer, HttpError> {
    let t = Target::parse(req.url())?;
    let method = req.method().clone();
    let segments: Vec<&str> = t.path.trim_start_matches('/').split('/').collect();
    // Files and the login page need no session.
    if method == Method::Get || method == Method::Head {
        if let Some(a) = assets::find(&t.path) {
            if a.public || shared.authorized(req) {
                return Ok(Answer::Asset(a));
            }
            return Ok(Answer::Redirect("/login".into(), None));
        }
    }
    match (&method, segments.as_slice()) {
        (Method::Get, ["login"]) => return Ok(Answer::Asset(assets::login())),
        (Method::Post, ["login"]) => {
            let body = read_body(req)?;
            return shared.login(&body);
        }
        (Method::Post, ["logout"]) => {
            shared.sessions.end(auth::cookie_token(req));
            return Ok(Answer::Redirect(
                "/login".into(),
                Some(auth::clear_cookie()),
            ));
        }
        _ => {}
    }
    if !shared.authorized(req) {
        return Err(HttpError::new(
            401,
            "authentication required: log in at /login, or send Authorization: Bearer <password>",
        ));
    }
    let db = &shared.db;
    match (&method, segments.as_slice()) {
        (Method::Get, ["api", "search"]) => {
            let q = t.param("q").ok_or_else(|| {
                HttpError::new(
                    400,
                    "q is required: /api/search?q=NAME|EMAIL|PHONE|SYSTEM:KEY|ID",
                )
            })?;
            let limit = t.number("limit", 20, 1, 200)?;
            Ok(Answer::Json(api::search(db, q, t.param("by"), limit)?))
        }
        (Method::Get, ["api", "party", id]) => {
            let limit = t.number("interactions", 50, 1, 1_000)?;
            Ok(Answer::Json(api::party(db, id_segment(id)?, limit)?))
        }
        (Method::Get, ["api", "party", id, "graph"]) => {
            let hops = t.number("hops", 1, 1, 2)?;
            let max = t.number("max_nodes", 150, 1, 1_000)?;
            Ok(Answer::Json(api::graph(db, id_segment(id)?, hops, max)?))
        }
        (Method::Get, ["api", "party", id, "events"]) => {
            let id = id_segment(id)?;
            if !db.contains(id)? {
                return Err(HttpError::new(404, format!("no entity with id {id}")));
            }
            Ok(Answer::Events(id))
        }
        (Method::Post, ["api", "party", id, decision @ ("same" | "apart"), other]) => {
            let (a, b) = (id_segment(id)?, id_segment(other)?);
            Ok(Answer::Json(api::review(db, a, b, *decision == "same")?))
        }
        (_, ["api", "search"] | ["api", "party", _] | ["api", "party", _, "graph" | "events"]) => {
            Err(HttpError::new(
                405,
                format!("{method} is not allowed on {}; use GET", t.path),
            ))
        }
        (_, ["api", "party", _, "same" | "apart", _]) => Err(HttpError::new(
            405,
            format!("{method} is not allowed on {}; use POST", t.path),
        )),
        (_, ["api", ..]) => Err(HttpError::new(
            404,
            format!("no endpoint {} {}", method, t.path),
        )),
        _ => Err(HttpError::new(404, format!("nothing at {}", t.path))),
    }
}

impl Shared {
    fn authorized(&self, req: &Request) -> bool {
        match &self.config.password {
            None => true,
            Some(p) => auth::bearer_matches(req, p) || self.sessions.valid(auth::cookie_token(req)),
        }
    }

    fn login(&self, body: &str) -> Result<Answer, HttpError> {
        let Some(expected) = &self.config.password else {
            return Ok(Answer::Redirect("/".into(), None));
        };
        let given: Option<String> = form_urlencoded::parse(body.as_bytes())
            .find(|(k, _)| k == "password")
            .map(|(_, v)| v.into_owned());
        match given {
            Some(g) if auth::same(g.as_bytes(), expected.as_bytes()) => {
                let token = self.sessions.start();
                Ok(Answer::Redirect(
                    "/".into(),
                    Some(auth::session_cookie(&token)),
                ))
            }
            _ => Ok(Answer::Redirect("/login?failed=1".into(), None)),
        }
    }
}
