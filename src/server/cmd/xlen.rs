//! `XLEN kith:changes`: how many changes the log holds.
use crate::resp::Frame;
use crate::server::command::{Command, Context};
use crate::server::stream::stream;

pub(crate) struct Xlen;

impl Command for Xlen {
    fn name(&self) -> &'static str {
        "XLEN"
    }
    fn arity(&self) -> i32 {
        2
    }
    fn summary(&self) -> &'static str {
        "XLEN kith:changes: how many changes the log holds"
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        match stream(cx.db, args[1]) {
            Some(s) => Frame::Integer(s.len() as i64),
            None => Frame::Integer(0),
        }
    }
}
