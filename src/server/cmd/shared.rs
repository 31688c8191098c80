//! `SHARED id`: other parties sharing a phone, email or address, as JSON.
use crate::resp::Frame;
use crate::server::command::{customer, json_reply, reply, traverse_error, Command, Context};

pub(crate) struct Shared;

impl Command for Shared {
    fn name(&self) -> &'static str {
        "SHARED"
    }
    fn arity(&self) -> i32 {
        2
    }
    fn summary(&self) -> &'static str {
        "SHARED id: other parties sharing a phone, email or address (JSON)"
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        reply((|| {
            let s = cx
                .db
                .shared_identifiers(customer(cx.db, args, 1)?)
                .map_err(|e| traverse_error(&e))?;
            Ok(json_reply(&crate::json::queries::shared(&s)))
        })())
    }
}
