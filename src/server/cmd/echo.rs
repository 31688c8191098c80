//! `ECHO message`.
use crate::resp::Frame;
use crate::server::command::{Command, Context};

pub(crate) struct Echo;

impl Command for Echo {
    fn name(&self) -> &'static str {
        "ECHO"
    }
    fn arity(&self) -> i32 {
        2
    }
    fn summary(&self) -> &'static str {
        "ECHO message: the message"
    }
    fn run(&self, _cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        Frame::Bulk(args[1].to_vec())
    }
}
