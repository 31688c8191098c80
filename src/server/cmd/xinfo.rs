//! `XINFO STREAM key`, `XINFO GROUPS key`, `XINFO CONSUMERS key group`
//! for `kith:changes` (the change log) and `kith:actions` (the rules'
//! actions): a stream and its groups.
use crate::resp::Frame;
use crate::server::command::{Command, Context};
use crate::server::stream::{entry, feed_error};
use crate::Stream;

pub(crate) struct Xinfo;

fn pairs(items: Vec<(&str, Frame)>) -> Frame {
    Frame::Map(
        items
            .into_iter()
            .map(|(k, v)| (Frame::text(k), v))
            .collect(),
    )
}

impl Command for Xinfo {
    fn name(&self) -> &'static str {
        "XINFO"
    }
    fn arity(&self) -> i32 {
        -2
    }
    fn summary(&self) -> &'static str {
        "XINFO STREAM|GROUPS|CONSUMERS kith:changes|kith:actions [group]: a stream and its consumer groups"
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        let sub = String::from_utf8_lossy(args[1]).to_ascii_uppercase();
        if sub == "HELP" {
            return Frame::Array(
                [
                    "XINFO STREAM kith:changes|kith:actions",
                    "XINFO GROUPS kith:changes|kith:actions",
                    "XINFO CONSUMERS kith:changes|kith:actions <group>",
                ]
                .iter()
                .map(|l| Frame::Simple(l.to_string()))
                .collect(),
            );
        }
        if args.len() < 3 {
            return Frame::Error(format!(
                "ERR wrong number of arguments for 'xinfo|{}' command",
                sub.to_lowercase()
            ));
        }
        let Some(changes) = crate::server::stream::stream(cx.db, args[2]) else {
            return Frame::Error("ERR no such key".into());
        };
        match sub.as_str() {
            "STREAM" => stream(changes),
            "GROUPS" => groups(changes),
            "CONSUMERS" => consumers(changes, args),
            _ => Frame::Error(format!("ERR unknown subcommand '{sub}'. Try XINFO HELP.")),
        }
    }
}

/// `XINFO STREAM`.
fn stream(changes: crate::Changes<'_>) -> Frame {
    let key = changes.stream().key();
    let groups = match changes.groups() {
        Ok(g) => g.len(),
        Err(e) => return feed_error(&e, key, ""),
    };
    let first = match changes.first() {
        Ok(f) => f,
        Err(e) => return feed_error(&e, key, ""),
    };
    let last = match changes.range(crate::ChangeId::ZERO, crate::ChangeId::MAX, 1, true) {
        Ok(mut l) => l.pop(),
        Err(e) => return feed_error(&e, key, ""),
    };
    let len = changes.len();
    let (last_id, added) = match changes.stream() {
        Stream::Changes => (changes.last(), changes.last().seq),
        _ => (last.as_ref().map_or(crate::ChangeId::ZERO, |e| e.id), len),
    };
    pairs(vec![
        ("length", Frame::Integer(len as i64)),
        ("last-generated-id", Frame::text(last_id.to_string())),
        (
            "max-deleted-entry-id",
            Frame::text(changes.trimmed().to_string()),
        ),
        ("entries-added", Frame::Integer(added as i64)),
        (
            "recorded-first-entry-id",
            Frame::text(
                first
                    .as_ref()
                    .map_or("0-0".to_string(), |f| f.id.to_string()),
            ),
        ),
        ("groups", Frame::Integer(groups as i64)),
        ("first-entry", first.as_ref().map_or(Frame::Null, entry)),
        ("last-entry", last.as_ref().map_or(Frame::Null, entry)),
    ])
}

/// `XINFO GROUPS`.
fn groups(changes: crate::Changes<'_>) -> Frame {
    match changes.groups() {
        Ok(gs) => Frame::Array(
            gs.into_iter()
                .map(|g| {
                    pairs(vec![
                        ("name", Frame::text(g.name)),
                        ("consumers", Frame::Integer(g.consumers as i64)),
                        ("pending", Frame::Integer(g.pending as i64)),
                        (
                            "last-delivered-id",
                            Frame::text(g.last_delivered.to_string()),
                        ),
                        ("entries-read", Frame::Integer(g.entries_read as i64)),
                        ("lag", Frame::Integer(g.lag as i64)),
                    ])
                })
                .collect(),
        ),
        Err(e) => feed_error(&e, changes.stream().key(), ""),
    }
}

/// `XINFO CONSUMERS`.
fn consumers(changes: crate::Changes<'_>, args: &[&[u8]]) -> Frame {
    let Some(group) = args.get(3).map(|g| String::from_utf8_lossy(g).into_owned()) else {
        return Frame::Error("ERR wrong number of arguments for 'xinfo|consumers' command".into());
    };
    match changes.consumers(&group) {
        Ok(cs) => Frame::Array(
            cs.into_iter()
                .map(|c| {
                    pairs(vec![
                        ("name", Frame::text(c.name)),
                        ("pending", Frame::Integer(c.pending as i64)),
                        ("idle", Frame::Integer(c.idle_ms as i64)),
                        (
                            "inactive",
                            Frame::Integer(c.inactive_ms.map_or(-1, |i| i as i64)),
                        ),
                    ])
                })
                .collect(),
        ),
        Err(crate::FeedError::NoGroup(_)) => Frame::Error(format!(
            "NOGROUP No such consumer group '{group}' for key name '{}'",
            changes.stream().key()
        )),
        Err(e) => feed_error(&e, changes.stream().key(), &group),
    }
}
