//! `XCLAIM kith:changes group consumer min-idle id … [IDLE ms] [TIME ms]
//! [RETRYCOUNT n] [FORCE] [JUSTID] [LASTID id]` and `XAUTOCLAIM kith:changes
//! group consumer min-idle start [COUNT n] [JUSTID]`: give another consumer
//! the pending changes of one that stopped.
use crate::resp::Frame;
use crate::server::command::{Command, Context};
use crate::server::stream::{entry, feed_error, is_stream, parse_id, uint};
use crate::ClaimOptions;

pub(crate) struct Xclaim;
pub(crate) struct Xautoclaim;

/// `key group consumer min-idle`, the arguments both commands start with.
fn head(args: &[&[u8]]) -> Result<(String, String, String, u64), Frame> {
    let text = |i: usize| String::from_utf8_lossy(args[i]).into_owned();
    Ok((text(1), text(2), text(3), uint(args, 4)?))
}

fn no_group(key: &str, group: &str) -> Frame {
    Frame::Error(format!(
        "NOGROUP No such key '{key}' or consumer group '{group}'"
    ))
}

impl Command for Xclaim {
    fn name(&self) -> &'static str {
        "XCLAIM"
    }
    fn arity(&self) -> i32 {
        -6
    }
    fn summary(&self) -> &'static str {
        "XCLAIM kith:changes group consumer min-idle id … [IDLE|TIME|RETRYCOUNT|FORCE|JUSTID]: claim pending changes"
    }
    fn writes(&self) -> bool {
        true
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        let (key, group, consumer, min_idle) = match head(args) {
            Ok(h) => h,
            Err(e) => return e,
        };
        let mut ids = Vec::new();
        let mut i = 5;
        while i < args.len() {
            match parse_id(args[i], 0) {
                Ok(id) => ids.push(id),
                Err(_) => break,
            }
            i += 1;
        }
        let mut o = ClaimOptions::default();
        while i < args.len() {
            let word = String::from_utf8_lossy(args[i]).to_ascii_uppercase();
            let num = |j: usize| uint(args, j);
            match word.as_str() {
                "IDLE" | "TIME" | "RETRYCOUNT" => {
                    let n = match num(i + 1) {
                        Ok(n) => n,
                        Err(e) => return e,
                    };
                    match word.as_str() {
                        "IDLE" => o.idle_ms = Some(n),
                        "TIME" => o.time_ms = Some(n),
                        _ => o.retry_count = Some(n),
                    }
                    i += 2;
                }
                "FORCE" => {
                    o.force = true;
                    i += 1;
                }
                "JUSTID" => {
                    o.just_id = true;
                    i += 1;
                }
                "LASTID" => i += 2,
                _ => {
                    return Frame::Error(format!(
                        "ERR Unrecognized XCLAIM option '{}'",
                        String::from_utf8_lossy(args[i])
                    ))
                }
            }
        }
        if !is_stream(args[1]) {
            return no_group(&key, &group);
        }
        match cx.db.changes().claim(&group, &consumer, min_idle, &ids, &o) {
            Ok(rows) => Frame::Array(
                rows.iter()
                    .map(|(id, e)| match (o.just_id, e) {
                        (false, Some(e)) => entry(e),
                        _ => Frame::text(id.to_string()),
                    })
                    .collect(),
            ),
            Err(crate::FeedError::NoGroup(_)) => no_group(&key, &group),
            Err(e) => feed_error(&e, &key, &group),
        }
    }
}

impl Command for Xautoclaim {
    fn name(&self) -> &'static str {
        "XAUTOCLAIM"
    }
    fn arity(&self) -> i32 {
        -6
    }
    fn summary(&self) -> &'static str {
        "XAUTOCLAIM kith:changes group consumer min-idle start [COUNT n] [JUSTID]: claim idle pending changes"
    }
    fn writes(&self) -> bool {
        true
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        let (key, group, consumer, min_idle) = match head(args) {
            Ok(h) => h,
            Err(e) => return e,
        };
        let start = if args[5] == b"-" {
            crate::ChangeId::ZERO
        } else {
            match parse_id(args[5], 0) {
                Ok(s) => s,
                Err(e) => return e,
            }
        };
        let (mut count, mut just_id) = (100usize, false);
        let mut i = 6;
        while i < args.len() {
            if args[i].eq_ignore_ascii_case(b"COUNT") {
                count = match uint(args, i + 1) {
                    Ok(n) if n > 0 => n as usize,
                    _ => return Frame::Error("ERR COUNT must be > 0".into()),
                };
                i += 2;
            } else if args[i].eq_ignore_ascii_case(b"JUSTID") {
                just_id = true;
                i += 1;
            } else {
                return Frame::Error("ERR syntax error".into());
            }
        }
        if !is_stream(args[1]) {
            return no_group(&key, &group);
        }
        match cx
            .db
            .changes()
            .autoclaim(&group, &consumer, min_idle, start, count, just_id)
        {
            Ok((next, claimed, deleted)) => Frame::Array(vec![
                Frame::text(next.to_string()),
                Frame::Array(
                    claimed
                        .iter()
                        .map(|e| {
                            if just_id {
                                Frame::text(e.id.to_string())
                            } else {
                                entry(e)
                            }
                        })
                        .collect(),
                ),
                Frame::Array(deleted.iter().map(|d| Frame::text(d.to_string())).collect()),
            ]),
            Err(crate::FeedError::NoGroup(_)) => no_group(&key, &group),
            Err(e) => feed_error(&e, &key, &group),
        }
    }
}
