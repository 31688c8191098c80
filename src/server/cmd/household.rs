//! `HOUSEHOLD id [AT day] [SINCE day] [UNTIL day]`: the customer's
//! households with members, accounts, totals and the relationships'
//! properties, as JSON.
use crate::resp::Frame;
use crate::server::command::{customer_when, json_reply, reply, traverse_error, Command, Context};

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
            let (id, when) = customer_when(cx.db, args, "HOUSEHOLD")?;
            let views = cx
                .db
                .household_on(id, &when)
                .map_err(|e| traverse_error(&e))?;
            Ok(json_reply(&crate::json::queries::household(cx.db, &views)))
        })())
    }
}
