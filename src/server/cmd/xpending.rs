//! `XPENDING kith:changes group [[IDLE ms] start end count [consumer]]`:
//! a group's delivered, unacknowledged changes.
use crate::resp::Frame;
use crate::server::command::{Command, Context};
use crate::server::stream::{feed_error, parse_bound, stream, uint};

pub(crate) struct Xpending;

impl Command for Xpending {
    fn name(&self) -> &'static str {
        "XPENDING"
    }
    fn arity(&self) -> i32 {
        -3
    }
    fn summary(&self) -> &'static str {
        "XPENDING kith:changes group [[IDLE ms] start end count [consumer]]: pending changes"
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        let key = String::from_utf8_lossy(args[1]).into_owned();
        let group = String::from_utf8_lossy(args[2]).into_owned();
        let no_group = || {
            Frame::Error(format!(
                "NOGROUP No such key '{key}' or consumer group '{group}'"
            ))
        };
        let Some(changes) = stream(cx.db, args[1]) else {
            return no_group();
        };
        if args.len() == 3 {
            return match changes.pending_summary(&group) {
                Ok(s) => Frame::Array(vec![
                    Frame::Integer(s.count as i64),
                    s.bounds
                        .map_or(Frame::Null, |b| Frame::text(b.0.to_string())),
                    s.bounds
                        .map_or(Frame::Null, |b| Frame::text(b.1.to_string())),
                    if s.consumers.is_empty() {
                        Frame::Null
                    } else {
                        Frame::Array(
                            s.consumers
                                .iter()
                                .map(|(c, n)| {
                                    Frame::Array(vec![Frame::text(c), Frame::text(n.to_string())])
                                })
                                .collect(),
                        )
                    },
                ]),
                Err(crate::FeedError::NoGroup(_)) => no_group(),
                Err(e) => feed_error(&e, &key, &group),
            };
        }
        let mut i = 3;
        let mut min_idle = 0;
        if args[i].eq_ignore_ascii_case(b"IDLE") {
            min_idle = match uint(args, i + 1) {
                Ok(n) => n,
                Err(e) => return e,
            };
            i += 2;
        }
        if args.len() < i + 3 || args.len() > i + 4 {
            return Frame::Error("ERR syntax error".into());
        }
        let (start, end) = match (parse_bound(args[i], true), parse_bound(args[i + 1], false)) {
            (Ok(s), Ok(e)) => (s, e),
            (Err(e), _) | (_, Err(e)) => return e,
        };
        let count = match uint(args, i + 2) {
            Ok(n) => n as usize,
            Err(e) => return e,
        };
        let consumer = args
            .get(i + 3)
            .map(|c| String::from_utf8_lossy(c).into_owned());
        match changes.pending(&group, start, end, count, consumer.as_deref(), min_idle) {
            Ok(rows) => Frame::Array(
                rows.into_iter()
                    .map(|p| {
                        Frame::Array(vec![
                            Frame::text(p.id.to_string()),
                            Frame::text(p.consumer),
                            Frame::Integer(p.idle_ms as i64),
                            Frame::Integer(p.deliveries as i64),
                        ])
                    })
                    .collect(),
            ),
            Err(crate::FeedError::NoGroup(_)) => no_group(),
            Err(e) => feed_error(&e, &key, &group),
        }
    }
}
