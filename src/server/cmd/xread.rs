//! `XREAD [COUNT n] [BLOCK ms] STREAMS kith:changes id|$`: changes after
//! `id`, as a Redis stream. `BLOCK` waits for a commit without holding a
//! worker thread (the connection is parked and woken by the commit).
use crate::resp::Frame;
use crate::server::command::{Blocked, Command, Context};
use crate::server::stream::{
    self, entry, feed_error, is_stream, parse_id, read_options, read_reply,
};

pub(crate) struct Xread;

impl Command for Xread {
    fn name(&self) -> &'static str {
        "XREAD"
    }
    fn arity(&self) -> i32 {
        -4
    }
    fn summary(&self) -> &'static str {
        "XREAD [COUNT n] [BLOCK ms] STREAMS kith:changes id|$: the change log after id"
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        let o = match read_options(args, 1, false) {
            Ok(o) => o,
            Err(e) => return e,
        };
        let n = (args.len() - o.streams_at) / 2;
        let mut entries = Vec::new();
        let mut resolved: Vec<Vec<u8>> = args.iter().map(|a| a.to_vec()).collect();
        for k in 0..n {
            let (key, id) = (args[o.streams_at + k], args[o.streams_at + n + k]);
            let after = match id {
                b"$" => cx.db.changes().last(),
                b"+" => {
                    // The last entry: read from just before it.
                    let last = cx.db.changes().last();
                    crate::ChangeId {
                        ms: last.ms,
                        seq: last.seq.saturating_sub(1),
                    }
                }
                _ => match parse_id(id, 0) {
                    Ok(i) => i,
                    Err(e) => return e,
                },
            };
            resolved[o.streams_at + n + k] = after.to_string().into_bytes();
            if !is_stream(key) {
                continue; // no such stream: nothing to read, as Redis
            }
            match cx.db.changes().read_after(after, o.count) {
                Ok(batch) => entries.extend(batch.iter().map(entry)),
                Err(e) => return feed_error(&e, stream::KEY, ""),
            }
        }
        if entries.is_empty() {
            if let Some(ms) = o.block_ms {
                cx.blocked = Some(Blocked::new(ms, resolved));
            }
            return Frame::Null;
        }
        read_reply(cx, Frame::Array(entries))
    }
}
