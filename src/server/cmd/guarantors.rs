//! `GUARANTORS id [depth]`: the guarantor network with exposure, as JSON.
use crate::resp::Frame;
use crate::server::command::{id, json_reply, number_or, reply, traverse_error, Command, Context};

pub(crate) struct Guarantors;

impl Command for Guarantors {
    fn name(&self) -> &'static str {
        "GUARANTORS"
    }
    fn arity(&self) -> i32 {
        -2
    }
    fn summary(&self) -> &'static str {
        "GUARANTORS id [depth=7]: whom it guarantees, who guarantees it, exposure (JSON)"
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        reply((|| {
            if args.len() > 3 {
                return Err(Frame::Error(
                    "ERR wrong number of arguments for 'guarantors' command".into(),
                ));
            }
            let depth = number_or(args, 2, 7, "depth")?;
            let n = cx
                .db
                .guarantors(id(args, 1)?, depth)
                .map_err(|e| traverse_error(&e))?;
            Ok(json_reply(&crate::json::queries::guarantors(cx.db, &n)))
        })())
    }
}
