//! `ENTITY.MGET id [id …]`: many entities at once, in order, null where missing.
use crate::resp::Frame;
use crate::server::command::{id, read_error, reply, Command, Context};

pub(crate) struct EntityMget;

impl Command for EntityMget {
    fn name(&self) -> &'static str {
        "ENTITY.MGET"
    }
    fn arity(&self) -> i32 {
        -2
    }
    fn summary(&self) -> &'static str {
        "ENTITY.MGET id [id ...]: entities as JSON, null where missing"
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        reply((|| {
            let mut out = Vec::with_capacity(args.len() - 1);
            for i in 1..args.len() {
                let r = crate::server::replies::entity(cx, id(args, i)?);
                out.push(r.map_err(|e| read_error(&e))?);
            }
            Ok(Frame::Array(out))
        })())
    }
}
