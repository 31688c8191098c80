//! `HOUSEHOLD id [AT day] [SINCE day] [UNTIL day]`: the customer's
//! households with members, accounts, totals and the relationships'
//! properties, as JSON.
use crate::resp::Frame;
use crate::server::command::{
    customer, json_reply, reply, traverse_error, when_tail, Command, Context,
};

pub(crate) struct Household;

impl Command for Household {
    fn name(&self) -> &'static str {
        "HOUSEHOLD"
    }
    fn arity(&self) -> i32 {
        -2
    }
    fn summary(&self) -> &'static str {
        "HOUSEHOLD id [AT day] [SINCE day] [UNTIL day]: households, members, their accounts, totals by product (JSON)"
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        reply((|| {
            let (args, when) = when_tail(args, 2)?;
            if args.len() > 2 {
                return Err(Frame::error(
                    "INVALID",
                    "HOUSEHOLD takes an id, then only AT, SINCE or UNTIL with a day",
                ));
            }
            let views = cx
                .db
                .household_on(customer(cx.db, args, 1)?, &when)
                .map_err(|e| traverse_error(&e))?;
            Ok(json_reply(&crate::json::queries::household(cx.db, &views)))
        })())
    }
}
