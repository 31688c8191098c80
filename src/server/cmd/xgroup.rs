//! `XGROUP CREATE|SETID|DESTROY|CREATECONSUMER|DELCONSUMER kith:changes|kith:actions
//! group …`: consumer groups, stored in the database.
use crate::resp::Frame;
use crate::server::command::{Command, Context};
use crate::server::stream::{feed_error, parse_id, stream};
use crate::ChangeId;

pub(crate) struct Xgroup;

fn position(cx: &Context<'_>, arg: &[u8]) -> Result<ChangeId, Frame> {
    if arg == b"$" {
        Ok(cx.db.changes().last())
    } else {
        parse_id(arg, 0)
    }
}

impl Command for Xgroup {
    fn name(&self) -> &'static str {
        "XGROUP"
    }
    fn arity(&self) -> i32 {
        -2
    }
    fn summary(&self) -> &'static str {
        "XGROUP CREATE|SETID|DESTROY|CREATECONSUMER|DELCONSUMER kith:changes group …: consumer groups"
    }
    fn writes(&self) -> bool {
        true
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        let sub = String::from_utf8_lossy(args[1]).to_ascii_uppercase();
        if sub == "HELP" {
            return Frame::Array(
                [
                    "XGROUP CREATE kith:changes <group> <id|$> [MKSTREAM] [ENTRIESREAD n]",
                    "XGROUP SETID kith:changes <group> <id|$> [ENTRIESREAD n]",
                    "XGROUP DESTROY kith:changes <group>",
                    "XGROUP CREATECONSUMER kith:changes <group> <consumer>",
                    "XGROUP DELCONSUMER kith:changes <group> <consumer>",
                ]
                .iter()
                .map(|l| Frame::Simple(l.to_string()))
                .collect(),
            );
        }
        let want = match sub.as_str() {
            "CREATE" | "SETID" => 5,
            "DESTROY" => 4,
            "CREATECONSUMER" | "DELCONSUMER" => 5,
            _ => return Frame::Error(format!("ERR unknown subcommand '{sub}'. Try XGROUP HELP.")),
        };
        if args.len() < want {
            return Frame::Error(format!(
                "ERR wrong number of arguments for 'xgroup|{}' command",
                sub.to_lowercase()
            ));
        }
        let key = String::from_utf8_lossy(args[2]).into_owned();
        let group = String::from_utf8_lossy(args[3]).into_owned();
        let Some(changes) = stream(cx.db, args[2]) else {
            return Frame::Error(
                "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.".into(),
            );
        };
        let no_group = || {
            Frame::Error(format!(
                "NOGROUP No such consumer group '{group}' for key name '{key}'"
            ))
        };
        let r = match sub.as_str() {
            "CREATE" | "SETID" => {
                let at = match position(cx, args[4]) {
                    Ok(a) => a,
                    Err(e) => return e,
                };
                let r = if sub == "CREATE" {
                    changes.create_group(&group, at)
                } else {
                    changes.set_group_position(&group, at)
                };
                r.map(|_| Frame::ok())
            }
            "DESTROY" => changes
                .destroy_group(&group)
                .map(|d| Frame::Integer(d as i64)),
            "CREATECONSUMER" => {
                let c = String::from_utf8_lossy(args[4]);
                changes
                    .create_consumer(&group, &c)
                    .map(|n| Frame::Integer(n as i64))
            }
            _ => {
                let c = String::from_utf8_lossy(args[4]);
                changes
                    .delete_consumer(&group, &c)
                    .map(|n| Frame::Integer(n as i64))
            }
        };
        match r {
            Ok(f) => f,
            Err(crate::FeedError::NoGroup(_)) => no_group(),
            Err(e) => feed_error(&e, changes.stream().key(), &group),
        }
    }
}
