//! `OWNERS id [min_share_percent] [PERSONS] [AT day] [SINCE day] [UNTIL day]`:
//! the direct and indirect owners of an organization with effective shares
//! and controlling chains with their holdings' properties (JSON).
use crate::resp::Frame;
use crate::server::command::{
    customer, json_reply, reply, text, traverse_error, when_tail, Command, Context,
};

pub(crate) struct Owners;

impl Command for Owners {
    fn name(&self) -> &'static str {
        "OWNERS"
    }
    fn arity(&self) -> i32 {
        -2
    }
    fn summary(&self) -> &'static str {
        "OWNERS id [min_share_percent (25)] [PERSONS] [AT day] [SINCE day] [UNTIL day]: beneficial owners with effective shares (JSON)"
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        reply((|| {
            let (args, when) = when_tail(args, 2)?;
            if args.len() > 4 {
                return Err(Frame::Error(
                    "ERR wrong number of arguments for 'owners' command".into(),
                ));
            }
            let org = customer(cx.db, args, 1)?;
            let pct = match args.get(2) {
                Some(_) => {
                    let t = text(args, 2, "min share")?;
                    crate::Decimal::parse(t).map_err(|_| {
                        Frame::error("INVALID", format!("min share must be a percent, got {t:?}"))
                    })?
                }
                None => crate::Decimal::new(25, 0),
            };
            let persons = match args.get(3) {
                None => false,
                Some(a) if a.eq_ignore_ascii_case(b"PERSONS") => true,
                Some(_) => {
                    return Err(Frame::error(
                        "INVALID",
                        "the fourth argument may only be PERSONS",
                    ))
                }
            };
            let fraction = crate::Decimal::new(pct.mantissa(), pct.scale().saturating_add(2));
            let o = cx
                .db
                .owners_on(org, fraction, persons, &when)
                .map_err(|e| traverse_error(&e))?;
            Ok(json_reply(&crate::json::queries::owners(cx.db, &o)))
        })())
    }
}
