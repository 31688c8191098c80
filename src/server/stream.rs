//! What the stream commands (`cmd/x*.rs`) share: the two stream keys
//! (`kith:changes`, `kith:actions`), stream ids, options, and the encoding
//! of a change as a stream entry.

use super::command::{text, Context};
use crate::resp::Frame;
use crate::{ChangeEntry, ChangeId, Changes, Db, FeedError, Stream};

/// The key under which the change log is served as a Redis stream.
pub(crate) const KEY: &str = "kith:changes";
/// The key under which the rules' actions are served.
pub(crate) const ACTIONS_KEY: &str = "kith:actions";

/// Redis's own words for an id that does not parse.
pub(crate) const BAD_ID: &str = "ERR Invalid stream ID specified as stream command argument";

/// The stream `arg` names, if it names one.
pub(crate) fn stream<'a>(db: &'a Db, arg: &[u8]) -> Option<Changes<'a>> {
    match Stream::from_key(arg)? {
        Stream::Changes => Some(db.changes()),
        _ => Some(db.actions()),
    }
}

/// The error for a write to the stream (or any other stream key).
pub(crate) fn read_only(name: &str) -> Frame {
    Frame::Error(format!(
        "ERR {name} refused: {KEY} and {ACTIONS_KEY} are read-only (kith writes them from its own commits) and are the only streams kith serves"
    ))
}

/// A stream id argument: `ms-seq` or `ms` (whose sequence is `default_seq`).
pub(crate) fn parse_id(arg: &[u8], default_seq: u64) -> Result<ChangeId, Frame> {
    std::str::from_utf8(arg)
        .ok()
        .and_then(|t| ChangeId::parse(t, default_seq))
        .ok_or_else(|| Frame::Error(BAD_ID.into()))
}

/// A range bound of `XRANGE`: `-`, `+`, `(id` (exclusive) or an id.
pub(crate) fn parse_bound(arg: &[u8], start: bool) -> Result<ChangeId, Frame> {
    match arg {
        b"-" => Ok(ChangeId::ZERO),
        b"+" => Ok(ChangeId::MAX),
        [b'(', rest @ ..] => {
            let id = parse_id(rest, if start { 0 } else { u64::MAX })?;
            let moved = if start {
                id.successor()
            } else if id.seq > 0 {
                Some(ChangeId {
                    ms: id.ms,
                    seq: id.seq - 1,
                })
            } else {
                id.ms
                    .checked_sub(1)
                    .map(|ms| ChangeId { ms, seq: u64::MAX })
            };
            moved.ok_or_else(|| Frame::Error(BAD_ID.into()))
        }
        _ => parse_id(arg, if start { 0 } else { u64::MAX }),
    }
}

/// A non-negative integer argument.
pub(crate) fn uint(args: &[&[u8]], i: usize) -> Result<u64, Frame> {
    let t = args
        .get(i)
        .ok_or_else(|| Frame::Error("ERR syntax error".into()))?;
    std::str::from_utf8(t)
        .ok()
        .and_then(|t| t.parse::<u64>().ok())
        .ok_or_else(|| Frame::Error("ERR value is not an integer or out of range".into()))
}

/// A change as a stream entry: `[id, [field, value, …]]`. Strings are
/// sent as they are, numbers as decimal text, the rest as JSON.
pub(crate) fn entry(e: &ChangeEntry) -> Frame {
    let mut fields = Vec::new();
    for (k, v) in crate::json::change_fields(e) {
        fields.push(Frame::text(k));
        fields.push(match v {
            serde_json::Value::String(s) => Frame::text(s),
            serde_json::Value::Number(n) => Frame::text(n.to_string()),
            other => Frame::Bulk(serde_json::to_vec(&other).expect("JSON serializes")),
        });
    }
    Frame::Array(vec![Frame::text(e.id.to_string()), Frame::Array(fields)])
}

/// Entries, or `[id, nil]` for pending changes trimmed from the log.
pub(crate) fn entries_or_nil(rows: &[(ChangeId, Option<ChangeEntry>)]) -> Frame {
    Frame::Array(
        rows.iter()
            .map(|(id, e)| match e {
                Some(e) => entry(e),
                None => Frame::Array(vec![Frame::text(id.to_string()), Frame::Null]),
            })
            .collect(),
    )
}

/// The reply of `XREADGROUP` for one stream: a map in RESP3,
/// `[[key, entries]]` in RESP2.
pub(crate) fn read_reply(cx: &Context<'_>, stream: Stream, entries: Frame) -> Frame {
    read_replies(cx, vec![(stream, entries)])
}

/// The reply of `XREAD` for the streams that have entries.
pub(crate) fn read_replies(cx: &Context<'_>, streams: Vec<(Stream, Frame)>) -> Frame {
    if cx.session.resp3 {
        Frame::Map(
            streams
                .into_iter()
                .map(|(s, e)| (Frame::text(s.key()), e))
                .collect(),
        )
    } else {
        Frame::Array(
            streams
                .into_iter()
                .map(|(s, e)| Frame::Array(vec![Frame::text(s.key()), e]))
                .collect(),
        )
    }
}

/// The reply for a change-log failure.
pub(crate) fn feed_error(e: &FeedError, key: &str, group: &str) -> Frame {
    match e {
        FeedError::NoGroup(_) => Frame::Error(format!(
            "NOGROUP No such key '{key}' or consumer group '{group}'"
        )),
        FeedError::GroupExists(_) => {
            Frame::Error("BUSYGROUP Consumer Group name already exists".into())
        }
        FeedError::Storage(s) => super::command::storage_error(s),
        other => Frame::Error(format!("ERR {other}")),
    }
}

/// Options shared by `XREAD` and `XREADGROUP`, and where `STREAMS` ends them.
pub(crate) struct ReadOptions {
    pub(crate) count: usize,
    pub(crate) block_ms: Option<u64>,
    pub(crate) no_ack: bool,
    /// Index of the first key after `STREAMS`.
    pub(crate) streams_at: usize,
}

/// Parses `[COUNT n] [BLOCK ms] [NOACK] STREAMS` from `args[from..]`.
pub(crate) fn read_options(args: &[&[u8]], from: usize, group: bool) -> Result<ReadOptions, Frame> {
    let mut o = ReadOptions {
        count: usize::MAX,
        block_ms: None,
        no_ack: false,
        streams_at: 0,
    };
    let mut i = from;
    while i < args.len() {
        let word = text(args, i, "option")
            .map_err(|_| Frame::Error("ERR syntax error".into()))?
            .to_ascii_uppercase();
        match word.as_str() {
            "COUNT" => {
                o.count = uint(args, i + 1)?.max(1) as usize;
                i += 2;
            }
            "BLOCK" => {
                o.block_ms = Some(uint(args, i + 1).map_err(|_| {
                    Frame::Error("ERR timeout is not an integer or out of range".into())
                })?);
                i += 2;
            }
            "NOACK" if group => {
                o.no_ack = true;
                i += 1;
            }
            "STREAMS" => {
                o.streams_at = i + 1;
                let rest = args.len() - o.streams_at;
                if rest == 0 || !rest.is_multiple_of(2) {
                    return Err(Frame::Error(
                        "ERR Unbalanced 'xread' list of streams: for each stream key an ID or '$' must be specified.".into(),
                    ));
                }
                return Ok(o);
            }
            _ => return Err(Frame::Error("ERR syntax error".into())),
        }
    }
    Err(Frame::Error("ERR syntax error".into()))
}
