//! `REL.DEL from kind to`: remove a relationship; 1 if it existed.
use crate::resp::Frame;
use crate::server::command::{id, rel_kind, reply, write_error, Command, Context};

pub(crate) struct RelDel;

impl Command for RelDel {
    fn name(&self) -> &'static str {
        "REL.DEL"
    }
    fn arity(&self) -> i32 {
        4
    }
    fn summary(&self) -> &'static str {
        "REL.DEL from KIND to: 1 if it existed"
    }
    fn writes(&self) -> bool {
        true
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        reply((|| {
            let (from, kind, to) = (id(args, 1)?, rel_kind(cx.db, args, 2)?, id(args, 3)?);
            let existed = cx
                .db
                .unrelate(from, kind, to)
                .map_err(|e| write_error(&e))?;
            Ok(Frame::Integer(existed as i64))
        })())
    }
}
