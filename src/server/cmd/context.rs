//! `CONTEXT id`: the customer context as JSON (served from the context cache
//! when current); a source record's id answers for its customer, a merged
//! customer's for its survivor.
use crate::resp::Frame;
use crate::server::command::{id, read_error, shared_bulk, Command, Context};

pub(crate) struct ContextCmd;

impl Command for ContextCmd {
    fn name(&self) -> &'static str {
        "CONTEXT"
    }
    fn arity(&self) -> i32 {
        2
    }
    fn summary(&self) -> &'static str {
        "CONTEXT id: profile, identifiers, accounts, households, relationships, interactions, open items, figures (JSON)"
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        let found = (|| {
            crate::server::replies::context_bytes(cx, id(args, 1)?).map_err(|e| match e {
                crate::ContextError::NotFound(_) => Frame::error("NOTFOUND", e),
                crate::ContextError::Read(r) => read_error(&r),
            })
        })();
        shared_bulk(cx, found)
    }
}
