//! `XCLAIM kith:changes group consumer min-idle id … [IDLE ms] [TIME ms]
//! [RETRYCOUNT n] [FORCE] [JUSTID] [LASTID id]` and `XAUTOCLAIM kith:changes
//! group consumer min-idle start [COUNT n] [JUSTID]`: give another consumer
//! the pending changes of one that stopped.
use crate::resp::Frame;
use crate::server::command::{Command, Context};
use crate::server::stream::{entry, feed_error, parse_id, stream, uint};
use crate::ClaimOptions;

/// `XCLAIM` (`auto: false`) and `XAUTOCLAIM` (`auto: true`).
pub(crate) struct Claim {
    auto: bool,
}

/// `XCLAIM`.
pub(crate) const XCLAIM: Claim = Claim { auto: false };
/// `XAUTOCLAIM`.
pub(crate) const XAUTOCLAIM: Claim = Claim { auto: true };

/// `key group consumer min-idle`, the arguments both commands start with.
struct Head {
    key: String,
    group: String,
    consumer: String,
    min_idle: u64,
}

fn head(args: &[&[u8]]) -> Result<Head, Frame> {
    let text = |i: usize| String::from_utf8_lossy(args[i]).into_owned();
    Ok(Head {
        key: text(1),
        group: text(2),
        consumer: text(3),
        min_idle: uint(args, 4)?,
    })
}

/// The error a claim on a missing stream or group answers.
fn no_group(h: &Head) -> Frame {
    Frame::Error(format!(
        "NOGROUP No such key '{}' or consumer group '{}'",
        h.key, h.group
    ))
}

fn group_error(e: &crate::FeedError, h: &Head) -> Frame {
    match e {
        crate::FeedError::NoGroup(_) => no_group(h),
        e => feed_error(e, &h.key, &h.group),
    }
}

impl Command for Claim {
    fn name(&self) -> &'static str {
        if self.auto {
            "XAUTOCLAIM"
        } else {
            "XCLAIM"
        }
    }
    fn arity(&self) -> i32 {
        -6
    }
    fn summary(&self) -> &'static str {
        if self.auto {
            "XAUTOCLAIM kith:changes group consumer min-idle start [COUNT n] [JUSTID]: claim idle pending changes"
        } else {
            "XCLAIM kith:changes group consumer min-idle id … [IDLE|TIME|RETRYCOUNT|FORCE|JUSTID]: claim pending changes"
        }
    }
    fn writes(&self) -> bool {
        true
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        let r = head(args).and_then(|h| {
            if self.auto {
                autoclaim(cx, args, &h)
            } else {
                claim(cx, args, &h)
            }
        });
        r.unwrap_or_else(|e| e)
    }
}

/// XCLAIM's ids and options.
fn claim_args(args: &[&[u8]]) -> Result<(Vec<crate::ChangeId>, ClaimOptions), Frame> {
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
        match word.as_str() {
            "IDLE" | "TIME" | "RETRYCOUNT" => {
                let n = uint(args, i + 1)?;
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
                return Err(Frame::Error(format!(
                    "ERR Unrecognized XCLAIM option '{}'",
                    String::from_utf8_lossy(args[i])
                )))
            }
        }
    }
    Ok((ids, o))
}

fn claim(cx: &mut Context<'_>, args: &[&[u8]], h: &Head) -> Result<Frame, Frame> {
    let (ids, o) = claim_args(args)?;
    let Some(changes) = stream(cx.db, args[1]) else {
        return Err(no_group(h));
    };
    let rows = changes
        .claim(&h.group, &h.consumer, h.min_idle, &ids, &o)
        .map_err(|e| group_error(&e, h))?;
    Ok(Frame::Array(
        rows.iter()
            .map(|(id, e)| match (o.just_id, e) {
                (false, Some(e)) => entry(e),
                _ => Frame::text(id.to_string()),
            })
            .collect(),
    ))
}

fn autoclaim(cx: &mut Context<'_>, args: &[&[u8]], h: &Head) -> Result<Frame, Frame> {
    let start = if args[5] == b"-" {
        crate::ChangeId::ZERO
    } else {
        parse_id(args[5], 0)?
    };
    let (mut count, mut just_id) = (100usize, false);
    let mut i = 6;
    while i < args.len() {
        if args[i].eq_ignore_ascii_case(b"COUNT") {
            count = match uint(args, i + 1) {
                Ok(n) if n > 0 => n as usize,
                _ => return Err(Frame::Error("ERR COUNT must be > 0".into())),
            };
            i += 2;
        } else if args[i].eq_ignore_ascii_case(b"JUSTID") {
            just_id = true;
            i += 1;
        } else {
            return Err(Frame::Error("ERR syntax error".into()));
        }
    }
    let Some(changes) = stream(cx.db, args[1]) else {
        return Err(no_group(h));
    };
    let (next, claimed, deleted) = changes
        .autoclaim(&h.group, &h.consumer, h.min_idle, start, count, just_id)
        .map_err(|e| group_error(&e, h))?;
    let claimed = claimed
        .iter()
        .map(|e| {
            if just_id {
                Frame::text(e.id.to_string())
            } else {
                entry(e)
            }
        })
        .collect();
    Ok(Frame::Array(vec![
        Frame::text(next.to_string()),
        Frame::Array(claimed),
        Frame::Array(deleted.iter().map(|d| Frame::text(d.to_string())).collect()),
    ]))
}
