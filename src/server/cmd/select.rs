//! `SELECT index`: kith has one database, index 0.
use crate::resp::Frame;
use crate::server::command::{Command, Context};

pub(crate) struct Select;

impl Command for Select {
    fn name(&self) -> &'static str {
        "SELECT"
    }
    fn arity(&self) -> i32 {
        2
    }
    fn summary(&self) -> &'static str {
        "SELECT 0: kith has one database"
    }
    fn run(&self, _cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        if args[1] == b"0" {
            Frame::ok()
        } else {
            Frame::Error("ERR DB index is out of range".into())
        }
    }
}
