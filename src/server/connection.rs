//! One client connection: read bytes, parse requests, run them in order,
//! write replies — without blocking the worker that owns it.

use super::command::{self, Context, Session};
use super::{ServerConfig, Shared};
use crate::resp::{parse_request_into, Frame, Spans};
use mio::net::TcpStream;
use mio::{Interest, Poll, Registry, Token};
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Instant;

pub(crate) struct Connection {
    stream: TcpStream,
    token: Token,
    session: Session,
    input: Vec<u8>,
    /// Bytes of `input` already parsed and run.
    consumed: usize,
    /// Where the arguments of the request being run lie in `input` (kept
    /// from request to request: parsing allocates nothing).
    spans: Spans,
    output: Vec<u8>,
    /// Bytes of `output` already written.
    written: usize,
    /// Close once the output is written (QUIT, a protocol error, end of input).
    closing: bool,
    writable_interest: bool,
    last_command: Instant,
    partial_since: Option<Instant>,
    /// A command of this connection runs elsewhere (a write on the write
    /// pool, a blocked read with the blocker): nothing after it runs, so
    /// that replies keep their order.
    waiting: bool,
    worker: usize,
}

impl Connection {
    pub(crate) fn new(
        mut stream: TcpStream,
        addr: SocketAddr,
        id: u64,
        shared: &Shared,
        registry: &Registry,
        token: Token,
        worker: usize,
    ) -> io::Result<Connection> {
        stream.set_nodelay(true)?;
        registry.register(&mut stream, token, Interest::READABLE)?;
        Ok(Connection {
            stream,
            token,
            session: Session {
                id,
                addr: addr.to_string(),
                name: None,
                resp3: false,
                authenticated: shared.config.password.is_none(),
                quit: false,
            },
            input: Vec::with_capacity(4096),
            consumed: 0,
            spans: Vec::with_capacity(8),
            output: Vec::with_capacity(4096),
            written: 0,
            closing: false,
            writable_interest: false,
            last_command: Instant::now(),
            partial_since: None,
            waiting: false,
            worker,
        })
    }

    /// Handles readiness. Returns true when the connection is finished.
    pub(crate) fn on_event(
        &mut self,
        shared: &Shared,
        registry: &Registry,
        scratch: &mut [u8],
        readable: bool,
        read_closed: bool,
        stopping: bool,
    ) -> bool {
        if readable && !self.closing {
            self.read(shared, scratch, read_closed);
        }
        self.run_commands(shared, stopping);
        if self.write().is_err() {
            return true;
        }
        if self.closing && self.pending_output() == 0 {
            return true;
        }
        // Ask for writability only while output waits.
        let want_write = self.pending_output() > 0;
        if want_write != self.writable_interest {
            let interest = if want_write {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            if registry
                .reregister(&mut self.stream, self.token, interest)
                .is_err()
            {
                return true;
            }
            self.writable_interest = want_write;
        }
        false
    }

    /// The reply of a command that ran elsewhere: the connection goes on
    /// with the commands after it.
    pub(crate) fn complete(&mut self, reply: Frame) {
        reply.encode(&mut self.output, self.session.resp3);
        self.waiting = false;
    }

    /// Whether a command of this connection runs elsewhere.
    pub(crate) fn is_waiting(&self) -> bool {
        self.waiting
    }

    fn pending_output(&self) -> usize {
        self.output.len() - self.written
    }

    /// Reads everything available (the poller is edge-triggered). A read
    /// shorter than asked has emptied the socket's buffer (epoll(7) on
    /// stream sockets): more input will raise a new event, so no second
    /// read is spent to hear `WouldBlock` — unless the peer has closed,
    /// when reading goes on to the end of the input. `scratch` is the
    /// worker's read buffer (not zeroed again for every read).
    fn read(&mut self, shared: &Shared, scratch: &mut [u8], to_the_end: bool) {
        loop {
            match self.stream.read(scratch) {
                Ok(0) => {
                    self.closing = true;
                    return;
                }
                Ok(n) => {
                    self.input.extend_from_slice(&scratch[..n]);
                    if self.input.len() - self.consumed > shared.config.max_input_buffer {
                        self.protocol_error("Protocol error: input buffer limit exceeded");
                        return;
                    }
                    if n < scratch.len() && !to_the_end {
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.closing = true;
                    return;
                }
            }
        }
    }

    fn protocol_error(&mut self, message: &str) {
        Frame::Error(format!("ERR {message}")).encode(&mut self.output, self.session.resp3);
        // Anything after a broken frame cannot be trusted: close after the reply.
        self.closing = true;
        self.input.clear();
        self.consumed = 0;
    }

    /// Runs every complete request in order, while the output has room.
    fn run_commands(&mut self, shared: &Shared, stopping: bool) {
        while !self.waiting
            && !self.session.quit
            && self.pending_output() < shared.config.max_output_buffer
        {
            let start = self.consumed;
            match parse_request_into(&self.input[start..], &shared.config.limits, &mut self.spans) {
                Ok(Some(used)) => {
                    self.consumed += used;
                    self.last_command = Instant::now();
                    if self.spans.is_empty() {
                        continue; // an empty inline line
                    }
                    shared.total_commands.fetch_add(1, Ordering::Relaxed);
                    let input = &self.input[start..];
                    let args: smallvec::SmallVec<[&[u8]; 8]> =
                        self.spans.iter().map(|r| &input[r.clone()]).collect();
                    let found = command::lookup(args[0]);
                    if found.is_some_and(|c| c.writes()) && self.session.authenticated {
                        // Writes run on the write pool: their flush must not
                        // stall this worker's other connections.
                        self.waiting = true;
                        shared.offload(super::Job {
                            worker: self.worker,
                            token: self.token,
                            args: args.iter().map(|a| a.to_vec()).collect(),
                            session: self.session.clone(),
                        });
                        continue;
                    }
                    let mut cx = Context {
                        db: &shared.db,
                        session: &mut self.session,
                        shared,
                        blocked: None,
                        encoded: None,
                    };
                    let reply = command::execute_found(&mut cx, found, &args);
                    if let Some(bytes) = cx.encoded.take() {
                        // A reply held by the reply cache: one copy into
                        // the output, nothing allocated.
                        crate::resp::encode_bulk(&mut self.output, &bytes);
                        continue;
                    }
                    if let Some(b) = cx.blocked.take() {
                        self.waiting = true;
                        shared.block(
                            super::Job {
                                worker: self.worker,
                                token: self.token,
                                args: b.args,
                                session: self.session.clone(),
                            },
                            b.deadline,
                        );
                        continue;
                    }
                    reply.encode(&mut self.output, self.session.resp3);
                }
                Ok(None) => break,
                Err(e) => {
                    self.protocol_error(&e.to_string());
                    return;
                }
            }
        }
        if self.session.quit {
            self.closing = true;
        }
        // Drop what has been consumed, keeping the unparsed tail.
        if self.consumed > 0 && (self.consumed == self.input.len() || self.consumed > 64 * 1024) {
            self.input.drain(..self.consumed);
            self.consumed = 0;
        }
        self.partial_since = if self.consumed < self.input.len() {
            self.partial_since.or(Some(Instant::now()))
        } else {
            None
        };
        if stopping {
            self.closing = true;
        }
    }

    /// Writes what the socket takes now.
    fn write(&mut self) -> io::Result<()> {
        while self.written < self.output.len() {
            match self.stream.write(&self.output[self.written..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        if self.written == self.output.len() {
            self.output.clear();
            self.written = 0;
        } else if self.written > 1 << 20 {
            self.output.drain(..self.written);
            self.written = 0;
        }
        Ok(())
    }

    /// Whether an idle or half-sent connection has waited too long.
    pub(crate) fn timed_out(&self, config: &ServerConfig) -> bool {
        if let Some(since) = self.partial_since {
            if since.elapsed() > config.read_timeout {
                return true;
            }
        }
        match config.idle_timeout {
            Some(t) => self.last_command.elapsed() > t && self.pending_output() == 0,
            None => false,
        }
    }

    /// Best effort: tell a timed-out client why it is being closed.
    pub(crate) fn say_timeout(&mut self) {
        let mut msg = Vec::new();
        Frame::Error("ERR timeout: connection closed".into()).encode(&mut msg, self.session.resp3);
        let _ = self.stream.write(&msg);
    }

    /// At shutdown: send the rest of the replies (waiting briefly for a slow
    /// reader), then close.
    pub(crate) fn finish(&mut self, poll: &Poll) {
        let deadline = Instant::now() + std::time::Duration::from_secs(2);
        while self.pending_output() > 0 && Instant::now() < deadline {
            if self.write().is_err() {
                break;
            }
            if self.pending_output() > 0 {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
        self.deregister(poll.registry());
    }

    pub(crate) fn deregister(&mut self, registry: &Registry) {
        let _ = registry.deregister(&mut self.stream);
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
    }
}
