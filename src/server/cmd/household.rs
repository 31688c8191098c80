//! `HOUSEHOLD id`: the customer's households with members, accounts and totals, as JSON.
use crate::resp::Frame;
use crate::server::command::{id, json_reply, reply, traverse_error, Command, Context};

pub(crate) struct Household;

impl Command for Household {
    fn name(&self) -> &'static str {
        "HOUSEHOLD"
    }
    fn arity(&self) -> i32 {
        2
    }
    fn summary(&self) -> &'static str {
        "HOUSEHOLD id: households, members, their accounts, totals by product (JSON)"
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        reply((|| {
            let views = cx
                .db
                .household(id(args, 1)?)
                .map_err(|e| traverse_error(&e))?;
            Ok(json_reply(&crate::json::queries::household(cx.db, &views)))
        })())
    }
}
