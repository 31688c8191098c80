//! `GUARANTORS id [depth] [YYYY-MM-DD]`: the guarantor network with
//! exposure, as JSON; with a day, only the guarantees valid on it.
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
        "GUARANTORS id [depth=7] [YYYY-MM-DD]: whom it guarantees, who guarantees it, exposure (JSON)"
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        reply((|| {
            if args.len() > 4 {
                return Err(Frame::Error(
                    "ERR wrong number of arguments for 'guarantors' command".into(),
                ));
            }
            let depth = number_or(args, 2, 7, "depth")?;
            let day = match args.get(3) {
                None => None,
                Some(_) => {
                    let t = crate::server::command::text(args, 3, "day")?;
                    Some(crate::Date::parse(t).map_err(|_| {
                        Frame::error("INVALID", format!("day must be YYYY-MM-DD, got {t:?}"))
                    })?)
                }
            };
            let n = cx
                .db
                .guarantors_on(id(args, 1)?, depth, day)
                .map_err(|e| traverse_error(&e))?;
            Ok(json_reply(&crate::json::queries::guarantors(cx.db, &n)))
        })())
    }
}
