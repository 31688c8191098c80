//! `XLEN kith:changes`: how many changes the log holds.
use crate::resp::Frame;
use crate::server::command::{Command, Context};
use crate::server::stream::is_stream;

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
        if !is_stream(args[1]) {
            return Frame::Integer(0);
        }
        Frame::Integer(cx.db.changes().len() as i64)
    }
}
