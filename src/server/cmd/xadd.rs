//! `XADD`, `XDEL`, `XTRIM`, `XSETID`: refused. The change log is written by
//! kith's own commits only; its retention is a database option.
use crate::resp::Frame;
use crate::server::command::{Command, Context};
use crate::server::stream::read_only;

/// One of the refused stream writes.
pub(crate) struct Refused(pub(crate) &'static str);

impl Command for Refused {
    fn name(&self) -> &'static str {
        self.0
    }
    fn arity(&self) -> i32 {
        -2
    }
    fn summary(&self) -> &'static str {
        "refused: kith:changes is written by kith's commits only"
    }
    fn run(&self, _cx: &mut Context<'_>, _args: &[&[u8]]) -> Frame {
        read_only(self.0)
    }
}
