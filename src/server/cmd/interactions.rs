//! `INTERACTIONS party [count]`: the newest interactions as JSON, newest first.
use crate::resp::Frame;
use crate::server::command::{customer, number_or, read_error, reply, Command, Context};

pub(crate) struct Interactions;

impl Command for Interactions {
    fn name(&self) -> &'static str {
        "INTERACTIONS"
    }
    fn arity(&self) -> i32 {
        -2
    }
    fn summary(&self) -> &'static str {
        "INTERACTIONS party [count=20]: newest interactions, as entity JSON"
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        reply((|| {
            let n = number_or(args, 2, 20, "count")?;
            let list = cx
                .db
                .recent_interactions(customer(cx.db, args, 1)?, n)
                .map_err(|e| read_error(&e))?;
            let mut out = Vec::with_capacity(list.len());
            for (_, iid) in list {
                if let Some(json) =
                    crate::json::entity_json(cx.db, iid).map_err(|e| read_error(&e))?
                {
                    out.push(Frame::Bulk(json));
                }
            }
            Ok(Frame::Array(out))
        })())
    }
}
