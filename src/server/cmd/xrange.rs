//! `XRANGE kith:changes start end [COUNT n]` and `XREVRANGE kith:changes
//! end start [COUNT n]`: changes between two ids (`-`, `+`, `(id` exclusive).
use crate::resp::Frame;
use crate::server::command::{Command, Context};
use crate::server::stream::{entry, feed_error, parse_bound, stream, uint};

pub(crate) struct Xrange;
pub(crate) struct Xrevrange;

fn range(cx: &mut Context<'_>, args: &[&[u8]], rev: bool) -> Frame {
    let (lo, hi) = if rev {
        (args[3], args[2])
    } else {
        (args[2], args[3])
    };
    let (from, to) = match (parse_bound(lo, true), parse_bound(hi, false)) {
        (Ok(f), Ok(t)) => (f, t),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let count = match args.len() {
        4 => usize::MAX,
        6 if args[4].eq_ignore_ascii_case(b"COUNT") => match uint(args, 5) {
            Ok(n) => n as usize,
            Err(e) => return e,
        },
        _ => return Frame::Error("ERR syntax error".into()),
    };
    let Some(changes) = stream(cx.db, args[1]) else {
        return Frame::Array(Vec::new());
    };
    match changes.range(from, to, count, rev) {
        Ok(rows) => Frame::Array(rows.iter().map(entry).collect()),
        Err(e) => feed_error(&e, changes.stream().key(), ""),
    }
}

impl Command for Xrange {
    fn name(&self) -> &'static str {
        "XRANGE"
    }
    fn arity(&self) -> i32 {
        -4
    }
    fn summary(&self) -> &'static str {
        "XRANGE kith:changes|kith:actions start end [COUNT n]: changes between two ids"
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        range(cx, args, false)
    }
}

impl Command for Xrevrange {
    fn name(&self) -> &'static str {
        "XREVRANGE"
    }
    fn arity(&self) -> i32 {
        -4
    }
    fn summary(&self) -> &'static str {
        "XREVRANGE kith:changes|kith:actions end start [COUNT n]: changes between two ids, newest first"
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        range(cx, args, true)
    }
}
