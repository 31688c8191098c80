//! The wire protocol: a RESP2/RESP3 server over a [`crate::Db`], so that
//! redis-cli, redis-benchmark and every Redis client library talk to kith.
//!
//! Layout (after mini-redis): `frame` parses and encodes RESP with limits;
//! `command` holds the command trait, the table and the argument helpers;
//! `cmd/` has one file per command; `connection` reads requests, runs them
//! and writes replies for one client; this file accepts connections and runs
//! the worker threads.
//!
//! Threads: one acceptor and a bounded pool of workers. Each worker runs an
//! event loop (mio) over its share of the connections and executes their
//! commands in order, so pipelined commands are answered in order and reads
//! from different workers run in parallel.

mod cmd;
mod command;
mod connection;
/// RESP frames: the protocol's parsing and encoding, shared with the client.
pub use crate::resp as frame;
mod replies;
mod stream;

pub use crate::resp::{Frame, FrameError, Limits};

use crate::Db;
use connection::Connection;
use crossbeam_channel::{Receiver, Sender};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How a server runs.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Address to listen on (default `127.0.0.1:7379`: loopback only).
    pub listen: SocketAddr,
    /// Password clients must give (AUTH or HELLO … AUTH) before other commands.
    pub password: Option<String>,
    /// Most connections at once; one more is refused with an error (default 10,000).
    pub max_connections: usize,
    /// Worker threads (default: one less than the CPUs, at least one — the
    /// writes, the rules, sled's flushers and co-located clients keep a
    /// core; `docs/benchmarks.md` has the measurements behind it).
    pub workers: usize,
    /// Close a connection that sends no complete command for this long
    /// (default 10 minutes; `None` keeps idle connections open).
    pub idle_timeout: Option<Duration>,
    /// Close a connection that leaves a command half-sent for this long (default 30 s).
    pub read_timeout: Duration,
    /// Limits on one request.
    pub limits: Limits,
    /// Most bytes of unprocessed input held for one connection (default 64 MiB
    /// beyond the largest bulk string).
    pub max_input_buffer: usize,
    /// Stop running a connection's commands while this much output waits for
    /// the client to read it (default 8 MiB).
    pub max_output_buffer: usize,
    /// Threads that run writes (default 32). A write runs off the event
    /// loop, so that its flush does not stall the worker's other
    /// connections; concurrent writes share one flush (group commit), so
    /// more write threads let more writes share each flush.
    pub write_threads: usize,
    /// Commands the embedding program adds (read-only, run on a worker).
    pub extensions: Vec<Extension>,
    /// Bytes of encoded replies (entity and context JSON) to keep, served
    /// again until a commit touches what they were built from (default
    /// 256 MiB; 0 turns the cache off).
    pub reply_cache_bytes: u64,
}

/// A command the embedding program adds to the wire protocol: `kith serve`
/// adds `KITH.CLI`, which runs the command line's read commands against the
/// open database. It runs on a worker thread like the built-in reads, after
/// authentication, and must not write.
#[derive(Clone)]
pub struct Extension {
    /// Its name, upper-case (it may not shadow a built-in command).
    pub name: String,
    /// One line for `COMMAND DOCS`.
    pub summary: String,
    /// Runs it: `args[0]` is the name.
    #[allow(clippy::type_complexity)]
    pub run: std::sync::Arc<dyn Fn(&Db, &[&[u8]]) -> Frame + Send + Sync>,
}

impl std::fmt::Debug for Extension {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Extension")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        let limits = Limits::default();
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 7379)),
            password: None,
            max_connections: 10_000,
            workers: default_workers(),
            idle_timeout: Some(Duration::from_secs(600)),
            read_timeout: Duration::from_secs(30),
            limits,
            max_input_buffer: limits.max_bulk + (64 << 20),
            max_output_buffer: 8 << 20,
            write_threads: 32,
            extensions: Vec::new(),
            reply_cache_bytes: 256 << 20,
        }
    }
}

/// The default number of workers: one less than the CPUs, at least one.
/// On 2 vCPUs shared with the load generator, one worker met both the
/// throughput and the p99 targets with margin where two contended with
/// the writes and the clients for the cores.
fn default_workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get().saturating_sub(1).max(1))
        .unwrap_or(1)
}

/// State shared by the acceptor, the workers and the commands.
pub(crate) struct Shared {
    pub(crate) db: Db,
    pub(crate) config: ServerConfig,
    pub(crate) port: u16,
    pub(crate) started: Instant,
    pub(crate) shutdown: AtomicBool,
    pub(crate) clients: AtomicUsize,
    pub(crate) total_connections: AtomicU64,
    pub(crate) total_commands: AtomicU64,
    pub(crate) rejected: AtomicU64,
    next_client: AtomicU64,
    /// Where writes go to run (the write pool).
    jobs: Sender<Job>,
    jobs_rx: Receiver<Job>,
    /// Where blocked reads wait for a commit.
    waiters: Sender<(Job, Option<Instant>)>,
    waiters_rx: Receiver<(Job, Option<Instant>)>,
    /// Each worker's mailbox of replies computed elsewhere, and its waker.
    mailboxes: std::sync::OnceLock<Vec<Mailbox>>,
}

/// Where a worker receives replies computed elsewhere, and how to wake it.
type Mailbox = (Sender<(Token, Frame)>, Arc<Waker>);

/// A command that runs away from its connection's event loop.
pub(crate) struct Job {
    pub(crate) worker: usize,
    pub(crate) token: Token,
    pub(crate) args: Vec<Vec<u8>>,
    pub(crate) session: command::Session,
}

impl Shared {
    /// Sends a write to the write pool.
    pub(crate) fn offload(&self, job: Job) {
        let _ = self.jobs.send(job);
    }

    /// Parks a blocked read until a commit or `deadline`.
    pub(crate) fn block(&self, job: Job, deadline: Option<Instant>) {
        let _ = self.waiters.send((job, deadline));
    }

    /// Hands a reply back to the worker that owns the connection.
    fn reply(&self, job: &Job, frame: Frame) {
        if let Some(boxes) = self.mailboxes.get() {
            if let Some((tx, waker)) = boxes.get(job.worker) {
                if tx.send((job.token, frame)).is_ok() {
                    let _ = waker.wake();
                }
            }
        }
    }

    /// Runs a job's command; `None` when it blocked again.
    fn run_job(&self, job: &mut Job) -> Option<(Frame, Option<command::Blocked>)> {
        let args: Vec<&[u8]> = job.args.iter().map(|a| &a[..]).collect();
        let mut cx = command::Context {
            db: &self.db,
            session: &mut job.session,
            shared: self,
            blocked: None,
            encoded: None,
        };
        let frame = command::execute(&mut cx, &args);
        let frame = match cx.encoded.take() {
            Some(bytes) => Frame::Bulk(bytes.as_ref().clone()),
            None => frame,
        };
        Some((frame, cx.blocked.take()))
    }
}

/// A write-pool thread: runs writes and hands their replies back.
fn write_thread(shared: Arc<Shared>) {
    // A write spends most of its time waiting for its flush: on a busy
    // machine the event loops serving reads take the CPU first.
    crate::priority::below_normal();
    loop {
        let mut job = match shared.jobs_rx.recv_timeout(Duration::from_millis(100)) {
            Ok(job) => job,
            Err(_) if shared.shutdown.load(Ordering::SeqCst) => return,
            Err(_) => continue,
        };
        if let Some((frame, blocked)) = shared.run_job(&mut job) {
            match blocked {
                Some(b) => {
                    job.args = b.args;
                    shared.block(job, b.deadline);
                }
                None => {
                    shared.reply(&job, frame);
                    replies::refresh(&shared.db, shared.config.reply_cache_bytes);
                }
            }
        }
    }
}

/// The blocker: holds every blocked read, runs each again when a commit
/// lands (woken by the commit, not by polling), and answers nil at its
/// deadline. One thread for all of them, so a blocked read holds no worker.
fn blocker(shared: Arc<Shared>) {
    let mut waiting: Vec<(Job, Option<Instant>)> = Vec::new();
    let mut seen = shared.db.changes().last();
    loop {
        if shared.shutdown.load(Ordering::SeqCst) {
            for (job, _) in waiting.drain(..) {
                shared.reply(&job, Frame::Null);
            }
            return;
        }
        while let Ok(w) = shared.waiters_rx.try_recv() {
            waiting.push(w);
        }
        if waiting.is_empty() {
            match shared.waiters_rx.recv_timeout(Duration::from_millis(200)) {
                Ok(w) => waiting.push(w),
                Err(_) => continue,
            }
            seen = seen.min(shared.db.changes().last());
        }
        let now = Instant::now();
        let next = waiting
            .iter()
            .filter_map(|(_, d)| *d)
            .min()
            .map_or(Duration::from_millis(50), |d| {
                d.saturating_duration_since(now)
            })
            .min(Duration::from_millis(50));
        let woke = shared.db.changes().wait(seen, Some(next));
        if woke {
            seen = shared.db.changes().last();
        }
        let now = Instant::now();
        let mut still = Vec::with_capacity(waiting.len());
        for (mut job, deadline) in waiting.drain(..) {
            let expired = deadline.is_some_and(|d| now >= d);
            if !woke && !expired {
                still.push((job, deadline));
                continue;
            }
            match shared.run_job(&mut job) {
                Some((frame, None)) => shared.reply(&job, frame),
                Some((_, Some(b))) if !expired => {
                    job.args = b.args;
                    still.push((job, deadline));
                }
                _ => shared.reply(&job, Frame::Null),
            }
        }
        waiting = still;
    }
}

/// Where the acceptor hands a new connection to a worker.
type Handoff = Sender<(TcpStream, SocketAddr)>;

const LISTENER: Token = Token(0);
const WAKE: Token = Token(1);
const FIRST_CONN: usize = 2;

/// A bound server, ready to [`Server::run`].
pub struct Server {
    shared: Arc<Shared>,
    listener: TcpListener,
    poll: Poll,
    waker: Arc<Waker>,
}

/// Stops a running server from another thread (or a signal handler thread).
#[derive(Clone)]
pub struct ShutdownHandle {
    shared: Arc<Shared>,
    waker: Arc<Waker>,
}

impl ShutdownHandle {
    /// Asks the server to stop: it stops accepting, finishes the commands it
    /// has read, sends their replies, flushes the database and returns.
    pub fn shutdown(&self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        let _ = self.waker.wake();
    }
}

impl Server {
    /// Binds the listening socket (port 0 picks a free port).
    pub fn bind(db: Db, config: ServerConfig) -> io::Result<Server> {
        if config.workers == 0 || config.max_connections == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "workers and max_connections must be at least 1",
            ));
        }
        let std_listener = std::net::TcpListener::bind(config.listen)?;
        std_listener.set_nonblocking(true)?;
        let port = std_listener.local_addr()?.port();
        let mut listener = TcpListener::from_std(std_listener);
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKE)?);
        let (jobs, jobs_rx) = crossbeam_channel::unbounded();
        let (waiters, waiters_rx) = crossbeam_channel::unbounded();
        Ok(Server {
            shared: Arc::new(Shared {
                jobs,
                jobs_rx,
                waiters,
                waiters_rx,
                mailboxes: std::sync::OnceLock::new(),
                db,
                config,
                port,
                started: Instant::now(),
                shutdown: AtomicBool::new(false),
                clients: AtomicUsize::new(0),
                total_connections: AtomicU64::new(0),
                total_commands: AtomicU64::new(0),
                rejected: AtomicU64::new(0),
                next_client: AtomicU64::new(1),
            }),
            listener,
            poll,
            waker,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// A handle that stops the server.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            shared: self.shared.clone(),
            waker: self.waker.clone(),
        }
    }

    /// The write threads and the blocker (see [`ServerConfig::write_threads`]).
    fn start_helpers(&self) -> io::Result<Vec<std::thread::JoinHandle<()>>> {
        let mut helpers = Vec::new();
        for n in 0..self.shared.config.write_threads.max(1) {
            let shared = self.shared.clone();
            helpers.push(
                std::thread::Builder::new()
                    .name(format!("kith-write-{n}"))
                    .spawn(move || write_thread(shared))?,
            );
        }
        let shared = self.shared.clone();
        helpers.push(
            std::thread::Builder::new()
                .name("kith-blocker".into())
                .spawn(move || blocker(shared))?,
        );
        Ok(helpers)
    }

    /// Accepts every pending connection, refusing those over the limit and
    /// handing the others to the workers in turn.
    fn accept_all(&mut self, handoff: &[(Handoff, Arc<Waker>)], next: &mut usize) {
        loop {
            match self.listener.accept() {
                Ok((stream, addr)) => {
                    self.shared
                        .total_connections
                        .fetch_add(1, Ordering::Relaxed);
                    if self.shared.clients.load(Ordering::SeqCst)
                        >= self.shared.config.max_connections
                    {
                        self.shared.rejected.fetch_add(1, Ordering::Relaxed);
                        refuse(stream);
                        continue;
                    }
                    self.shared.clients.fetch_add(1, Ordering::SeqCst);
                    let (tx, waker) = &handoff[*next % handoff.len()];
                    *next = next.wrapping_add(1);
                    if tx.send((stream, addr)).is_ok() {
                        let _ = waker.wake();
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    // Out of file descriptors and the like: back off briefly.
                    std::thread::sleep(Duration::from_millis(20));
                    return;
                }
            }
        }
    }

    /// Serves until shut down; then finishes in-flight commands, flushes the
    /// database and returns.
    pub fn run(mut self) -> io::Result<()> {
        let mut workers = Vec::new();
        let mut handoff: Vec<(Handoff, Arc<Waker>)> = Vec::new();
        let mut mailboxes = Vec::new();
        let mut polls = Vec::new();
        for _ in 0..self.shared.config.workers {
            let poll = Poll::new()?;
            let waker = Arc::new(Waker::new(poll.registry(), WAKE)?);
            let (mtx, mrx) = crossbeam_channel::unbounded();
            mailboxes.push((mtx, waker.clone()));
            polls.push((poll, waker, mrx));
        }
        let _ = self.shared.mailboxes.set(mailboxes);
        let helpers = self.start_helpers()?;
        for (n, (poll, waker, mrx)) in polls.into_iter().enumerate() {
            let (tx, rx) = crossbeam_channel::unbounded();
            let shared = self.shared.clone();
            workers.push(
                std::thread::Builder::new()
                    .name(format!("kith-worker-{n}"))
                    .spawn(move || worker(shared, poll, rx, mrx, n))?,
            );
            handoff.push((tx, waker));
        }
        let mut events = Events::with_capacity(256);
        let mut next = 0usize;
        while !self.shared.shutdown.load(Ordering::SeqCst) {
            if let Err(e) = self
                .poll
                .poll(&mut events, Some(Duration::from_millis(200)))
            {
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
            self.accept_all(&handoff, &mut next);
        }
        for (_, waker) in &handoff {
            let _ = waker.wake();
        }
        drop(handoff);
        for w in workers {
            let _ = w.join();
        }
        for h in helpers {
            let _ = h.join();
        }
        self.shared
            .db
            .flush()
            .map_err(|e| io::Error::other(e.to_string()))
    }
}

/// Tells a connection over the limit why, then closes it.
fn refuse(stream: TcpStream) {
    use std::io::Write;
    let mut s = stream;
    let _ = s.write(b"-ERR max number of clients reached\r\n");
}

/// One worker's event loop.
fn worker(
    shared: Arc<Shared>,
    mut poll: Poll,
    rx: Receiver<(TcpStream, SocketAddr)>,
    mailbox: Receiver<(Token, Frame)>,
    me: usize,
) {
    let mut events = Events::with_capacity(1024);
    // One read buffer for all of this worker's connections.
    let mut scratch = vec![0u8; 16 * 1024];
    let mut conns: HashMap<Token, Connection> = HashMap::new();
    let mut next_token = FIRST_CONN;
    let mut last_sweep = Instant::now();
    loop {
        if let Err(e) = poll.poll(&mut events, Some(Duration::from_millis(250))) {
            if e.kind() != io::ErrorKind::Interrupted {
                break;
            }
        }
        let stopping = shared.shutdown.load(Ordering::SeqCst);
        for ev in events.iter() {
            if ev.token() == WAKE {
                continue;
            }
            let t = ev.token();
            let done = match conns.get_mut(&t) {
                Some(c) => c.on_event(
                    &shared,
                    poll.registry(),
                    &mut scratch,
                    ev.is_readable() || ev.is_read_closed(),
                    ev.is_read_closed(),
                    stopping,
                ),
                None => false,
            };
            if done {
                close(&shared, &poll, &mut conns, t);
            }
        }
        deliver(&shared, &poll, &mut conns, &mailbox, stopping);
        while let Ok((stream, addr)) = rx.try_recv() {
            let token = Token(next_token);
            next_token += 1;
            let id = shared.next_client.fetch_add(1, Ordering::Relaxed);
            match Connection::new(stream, addr, id, &shared, poll.registry(), token, me) {
                Ok(c) => {
                    conns.insert(token, c);
                }
                Err(_) => {
                    shared.clients.fetch_sub(1, Ordering::SeqCst);
                }
            }
        }
        if stopping {
            wind_down(&shared, &poll, &mut conns, &mailbox);
            return;
        }
        if last_sweep.elapsed() >= Duration::from_millis(500) {
            last_sweep = Instant::now();
            sweep(&shared, &poll, &mut conns);
        }
    }
}

/// Every command already read has run or is running elsewhere: waits
/// briefly for those replies, sends what is left of the replies, then
/// closes every connection.
fn wind_down(
    shared: &Shared,
    poll: &Poll,
    conns: &mut HashMap<Token, Connection>,
    mailbox: &Receiver<(Token, Frame)>,
) {
    let deadline = Instant::now() + Duration::from_secs(2);
    while conns.values().any(Connection::is_waiting) && Instant::now() < deadline {
        if let Ok((t, f)) = mailbox.recv_timeout(Duration::from_millis(20)) {
            if let Some(c) = conns.get_mut(&t) {
                c.complete(f);
            }
        }
    }
    for (_, mut c) in conns.drain() {
        c.finish(poll);
        shared.clients.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Closes the connections idle or half-sent past their timeouts, saying so.
fn sweep(shared: &Shared, poll: &Poll, conns: &mut HashMap<Token, Connection>) {
    let expired: Vec<Token> = conns
        .iter_mut()
        .filter(|(_, c)| c.timed_out(&shared.config))
        .map(|(t, _)| *t)
        .collect();
    for t in expired {
        if let Some(c) = conns.get_mut(&t) {
            c.say_timeout();
        }
        close(shared, poll, conns, t);
    }
}

/// Hands replies computed elsewhere to their connections, which then go on
/// with their next commands.
fn deliver(
    shared: &Shared,
    poll: &Poll,
    conns: &mut HashMap<Token, Connection>,
    mailbox: &Receiver<(Token, Frame)>,
    stopping: bool,
) {
    while let Ok((t, frame)) = mailbox.try_recv() {
        let done = match conns.get_mut(&t) {
            Some(c) => {
                c.complete(frame);
                c.on_event(shared, poll.registry(), &mut [], false, false, stopping)
            }
            None => false,
        };
        if done {
            close(shared, poll, conns, t);
        }
    }
}

fn close(shared: &Shared, poll: &Poll, conns: &mut HashMap<Token, Connection>, t: Token) {
    if let Some(mut c) = conns.remove(&t) {
        c.deregister(poll.registry());
        shared.clients.fetch_sub(1, Ordering::SeqCst);
    }
}
