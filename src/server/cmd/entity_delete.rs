//! `ENTITY.DELETE id`: delete with all its relationships; 1 if it existed.
use crate::resp::Frame;
use crate::server::command::{id, reply, write_error, Command, Context};

pub(crate) struct EntityDelete;

impl Command for EntityDelete {
    fn name(&self) -> &'static str {
        "ENTITY.DELETE"
    }
    fn arity(&self) -> i32 {
        2
    }
    fn summary(&self) -> &'static str {
        "ENTITY.DELETE id: delete it and its relationships; 1 if it existed"
    }
    fn writes(&self) -> bool {
        true
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        reply((|| {
            let existed = cx.db.delete(id(args, 1)?).map_err(|e| write_error(&e))?;
            Ok(Frame::Integer(existed as i64))
        })())
    }
}
