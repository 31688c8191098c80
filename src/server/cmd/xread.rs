//! `XREAD [COUNT n] [BLOCK ms] STREAMS kith:changes|kith:actions id|$`: entries after
//! `id`, as a Redis stream. `BLOCK` waits for a commit without holding a
//! worker thread (the connection is parked and woken by the commit).
use crate::resp::Frame;
use crate::server::command::{Blocked, Command, Context};
use crate::server::stream::{entry, feed_error, parse_id, read_options, read_replies, stream};
use crate::ChangeId;

pub(crate) struct Xread;

impl Command for Xread {
    fn name(&self) -> &'static str {
        "XREAD"
    }
    fn arity(&self) -> i32 {
        -4
    }
    fn summary(&self) -> &'static str {
        "XREAD [COUNT n] [BLOCK ms] STREAMS key … id|$ …: kith:changes (the change log) or kith:actions after id"
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        let o = match read_options(args, 1, false) {
            Ok(o) => o,
            Err(e) => return e,
        };
        let n = (args.len() - o.streams_at) / 2;
        let mut replies = Vec::new();
        let mut resolved: Vec<Vec<u8>> = args.iter().map(|a| a.to_vec()).collect();
        for k in 0..n {
            let (key, id) = (args[o.streams_at + k], args[o.streams_at + n + k]);
            let found = stream(cx.db, key);
            let after = match (id, &found) {
                (b"$", _) => cx.db.changes().last(),
                (b"+", Some(s)) => {
                    // The last entry: read from just before it.
                    let last = match s.range(ChangeId::ZERO, ChangeId::MAX, 1, true) {
                        Ok(mut l) => l.pop().map_or(ChangeId::ZERO, |e| e.id),
                        Err(e) => return feed_error(&e, s.stream().key(), ""),
                    };
                    ChangeId {
                        ms: last.ms,
                        seq: last.seq.saturating_sub(1),
                    }
                }
                (b"+", None) => cx.db.changes().last(),
                _ => match parse_id(id, 0) {
                    Ok(i) => i,
                    Err(e) => return e,
                },
            };
            resolved[o.streams_at + n + k] = after.to_string().into_bytes();
            let Some(s) = found else {
                continue; // no such stream: nothing to read, as Redis
            };
            match s.read_after(after, o.count) {
                Ok(batch) if batch.is_empty() => {}
                Ok(batch) => {
                    replies.push((s.stream(), Frame::Array(batch.iter().map(entry).collect())))
                }
                Err(e) => return feed_error(&e, s.stream().key(), ""),
            }
        }
        if replies.is_empty() {
            if let Some(ms) = o.block_ms {
                cx.blocked = Some(Blocked::new(ms, resolved));
            }
            return Frame::Null;
        }
        read_replies(cx, replies)
    }
}
