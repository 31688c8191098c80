//! `RECORD.SAME system key system2 key2`: a user's decision that two source
//! records are one customer; replies with that customer's id.
use crate::resp::Frame;
use crate::server::command::{reply, resolve_error, two_records, Command, Context};

pub(crate) struct RecordSame;

impl Command for RecordSame {
    fn name(&self) -> &'static str {
        "RECORD.SAME"
    }
    fn arity(&self) -> i32 {
        5
    }
    fn summary(&self) -> &'static str {
        "RECORD.SAME system key system2 key2: force two records into one customer; its id"
    }
    fn writes(&self) -> bool {
        true
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        reply((|| {
            let (x, y) = two_records(args)?;
            let c = cx.db.force_together(x, y).map_err(|e| resolve_error(&e))?;
            Ok(Frame::Integer(c.0 as i64))
        })())
    }
}
