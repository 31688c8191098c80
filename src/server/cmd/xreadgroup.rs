//! `XREADGROUP GROUP g consumer [COUNT n] [BLOCK ms] [NOACK] STREAMS
//! kith:changes >|id`: new changes for a consumer group (`>`), or the
//! consumer's pending ones after `id`. Delivered changes stay pending until
//! `XACK`, durably.
use crate::resp::Frame;
use crate::server::command::{Blocked, Command, Context};
use crate::server::stream::{
    entries_or_nil, entry, feed_error, parse_id, read_options, read_reply, stream,
};

pub(crate) struct Xreadgroup;

impl Command for Xreadgroup {
    fn name(&self) -> &'static str {
        "XREADGROUP"
    }
    fn arity(&self) -> i32 {
        -7
    }
    fn summary(&self) -> &'static str {
        "XREADGROUP GROUP g c [COUNT n] [BLOCK ms] [NOACK] STREAMS kith:changes|kith:actions >|id: read as a consumer group"
    }
    fn writes(&self) -> bool {
        true
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        if !args[1].eq_ignore_ascii_case(b"GROUP") {
            return Frame::Error("ERR syntax error".into());
        }
        let (group, consumer) = (
            String::from_utf8_lossy(args[2]).into_owned(),
            String::from_utf8_lossy(args[3]).into_owned(),
        );
        let o = match read_options(args, 4, true) {
            Ok(o) => o,
            Err(e) => return e,
        };
        if args.len() - o.streams_at != 2 {
            return Frame::Error("ERR kith serves one stream: XREADGROUP takes one key".into());
        }
        let (key, id) = (args[o.streams_at], args[o.streams_at + 1]);
        let key_text = String::from_utf8_lossy(key).into_owned();
        let Some(changes) = stream(cx.db, key) else {
            return Frame::Error(format!(
                "NOGROUP No such key '{key_text}' or consumer group '{group}' in XREADGROUP with GROUP option"
            ));
        };
        if id == b">" {
            match changes.read_group(&group, &consumer, o.count, o.no_ack) {
                Ok(batch) if batch.is_empty() => {
                    if let Some(ms) = o.block_ms {
                        let owned = args.iter().map(|a| a.to_vec()).collect();
                        cx.blocked = Some(Blocked::new(ms, owned));
                    }
                    Frame::Null
                }
                Ok(batch) => read_reply(
                    cx,
                    changes.stream(),
                    Frame::Array(batch.iter().map(entry).collect()),
                ),
                Err(e) => feed_error(&e, &key_text, &group),
            }
        } else {
            let after = match parse_id(id, 0) {
                Ok(a) => a,
                Err(e) => return e,
            };
            match changes.read_pending(&group, &consumer, after, o.count) {
                Ok(rows) => read_reply(cx, changes.stream(), entries_or_nil(&rows)),
                Err(e) => feed_error(&e, &key_text, &group),
            }
        }
    }
}
