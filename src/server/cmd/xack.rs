//! `XACK kith:changes group id [id …]`: acknowledges delivered changes;
//! replies how many were pending.
use crate::resp::Frame;
use crate::server::command::{Command, Context};
use crate::server::stream::{feed_error, parse_id, stream};
use crate::FeedError;

pub(crate) struct Xack;

impl Command for Xack {
    fn name(&self) -> &'static str {
        "XACK"
    }
    fn arity(&self) -> i32 {
        -4
    }
    fn summary(&self) -> &'static str {
        "XACK kith:changes group id [id …]: acknowledge changes; how many were pending"
    }
    fn writes(&self) -> bool {
        true
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        let mut ids = Vec::new();
        for a in &args[3..] {
            match parse_id(a, 0) {
                Ok(i) => ids.push(i),
                Err(e) => return e,
            }
        }
        let Some(changes) = stream(cx.db, args[1]) else {
            return Frame::Integer(0);
        };
        let group = String::from_utf8_lossy(args[2]);
        match changes.ack(&group, &ids) {
            Ok(n) => Frame::Integer(n as i64),
            Err(FeedError::NoGroup(_)) => Frame::Integer(0),
            Err(e) => feed_error(&e, changes.stream().key(), &group),
        }
    }
}
