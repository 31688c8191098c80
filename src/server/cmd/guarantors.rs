//! `GUARANTORS id [depth] [YYYY-MM-DD] [AT day] [SINCE day] [UNTIL day]`:
//! the guarantor network with exposure and each link's properties, as
//! JSON; with a day, only the guarantees valid on it; with a window, only
//! those begun in it.
use crate::resp::Frame;
use crate::server::command::{
    customer, json_reply, number_or, reply, traverse_error, when_tail, Command, Context,
};

pub(crate) struct Guarantors;

impl Command for Guarantors {
    fn name(&self) -> &'static str {
        "GUARANTORS"
    }
    fn arity(&self) -> i32 {
        -2
    }
    fn summary(&self) -> &'static str {
        "GUARANTORS id [depth=7] [YYYY-MM-DD] [AT day] [SINCE day] [UNTIL day]: whom it guarantees, who guarantees it, exposure (JSON)"
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        reply((|| {
            let (args, mut when) = when_tail(args, 2)?;
            if args.len() > 4 {
                return Err(Frame::Error(
                    "ERR wrong number of arguments for 'guarantors' command".into(),
                ));
            }
            let depth = number_or(args, 2, 7, "depth")?;
            if args.get(3).is_some() {
                let t = crate::server::command::text(args, 3, "day")?;
                if when.at.is_some() {
                    return Err(Frame::error("INVALID", "a day is given twice (and AT)"));
                }
                when.at = Some(crate::Date::parse(t).map_err(|_| {
                    Frame::error("INVALID", format!("day must be YYYY-MM-DD, got {t:?}"))
                })?);
            }
            let n = cx
                .db
                .guarantors_on(customer(cx.db, args, 1)?, depth, &when)
                .map_err(|e| traverse_error(&e))?;
            Ok(json_reply(&crate::json::queries::guarantors(cx.db, &n)))
        })())
    }
}
