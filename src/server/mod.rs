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
pub mod frame;

pub use frame::{Frame, FrameError, Limits};

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
    /// Worker threads (default: the number of CPUs).
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
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        let limits = Limits::default();
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 7379)),
            password: None,
            max_connections: 10_000,
            workers: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            idle_timeout: Some(Duration::from_secs(600)),
            read_timeout: Duration::from_secs(30),
            limits,
            max_input_buffer: limits.max_bulk + (64 << 20),
            max_output_buffer: 8 << 20,
        }
    }
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
        Ok(Server {
            shared: Arc::new(Shared {
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

    /// Serves until shut down; then finishes in-flight commands, flushes the
    /// database and returns.
    pub fn run(mut self) -> io::Result<()> {
        let mut workers = Vec::new();
        let mut handoff: Vec<(Handoff, Arc<Waker>)> = Vec::new();
        for n in 0..self.shared.config.workers {
            let (tx, rx) = crossbeam_channel::unbounded();
            let poll = Poll::new()?;
            let waker = Arc::new(Waker::new(poll.registry(), WAKE)?);
            let shared = self.shared.clone();
            workers.push(
                std::thread::Builder::new()
                    .name(format!("kith-worker-{n}"))
                    .spawn(move || worker(shared, poll, rx))?,
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
                        let (tx, waker) = &handoff[next % handoff.len()];
                        next = next.wrapping_add(1);
                        if tx.send((stream, addr)).is_ok() {
                            let _ = waker.wake();
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => {
                        // Out of file descriptors and the like: back off briefly.
                        std::thread::sleep(Duration::from_millis(20));
                        break;
                    }
                }
            }
        }
        for (_, waker) in &handoff {
            let _ = waker.wake();
        }
        drop(handoff);
        for w in workers {
            let _ = w.join();
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
fn worker(shared: Arc<Shared>, mut poll: Poll, rx: Receiver<(TcpStream, SocketAddr)>) {
    let mut events = Events::with_capacity(1024);
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
                    ev.is_readable() || ev.is_read_closed(),
                    stopping,
                ),
                None => false,
            };
            if done {
                close(&shared, &poll, &mut conns, t);
            }
        }
        while let Ok((stream, addr)) = rx.try_recv() {
            let token = Token(next_token);
            next_token += 1;
            let id = shared.next_client.fetch_add(1, Ordering::Relaxed);
            match Connection::new(stream, addr, id, &shared, poll.registry(), token) {
                Ok(c) => {
                    conns.insert(token, c);
                }
                Err(_) => {
                    shared.clients.fetch_sub(1, Ordering::SeqCst);
                }
            }
        }
        if stopping {
            // Every command already read has run (above); send what is left
            // of the replies, then close.
            for (_, mut c) in conns.drain() {
                c.finish(&poll);
                shared.clients.fetch_sub(1, Ordering::SeqCst);
            }
            return;
        }
        if last_sweep.elapsed() >= Duration::from_millis(500) {
            last_sweep = Instant::now();
            let expired: Vec<Token> = conns
                .iter_mut()
                .filter(|(_, c)| c.timed_out(&shared.config))
                .map(|(t, _)| *t)
                .collect();
            for t in expired {
                if let Some(c) = conns.get_mut(&t) {
                    c.say_timeout();
                }
                close(&shared, &poll, &mut conns, t);
            }
        }
    }
}

fn close(shared: &Shared, poll: &Poll, conns: &mut HashMap<Token, Connection>, t: Token) {
    if let Some(mut c) = conns.remove(&t) {
        c.deregister(poll.registry());
        shared.clients.fetch_sub(1, Ordering::SeqCst);
    }
}
