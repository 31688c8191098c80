//! `GROUP id [AT day] [SINCE day] [UNTIL day]`: the corporate group with
//! effective shares, each member's ownership relationships and exposure, as
//! JSON.
use crate::resp::Frame;
use crate::server::command::{
    customer, json_reply, reply, traverse_error, when_tail, Command, Context,
};

pub(crate) struct Group;

impl Command for Group {
    fn name(&self) -> &'static str {
        "GROUP"
    }
    fn arity(&self) -> i32 {
        -2
    }
    fn summary(&self) -> &'static str {
        "GROUP id [AT day] [SINCE day] [UNTIL day]: parents, ultimate parent, members with effective shares, exposure (JSON)"
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        reply((|| {
            let (args, when) = when_tail(args, 2)?;
            if args.len() > 2 {
                return Err(Frame::error(
                    "INVALID",
                    "GROUP takes an id, then only AT, SINCE or UNTIL with a day",
                ));
            }
            let g = cx
                .db
                .group_on(
                    customer(cx.db, args, 1)?,
                    &when,
                    crate::traverse::MAX_GROUP_MEMBERS,
                )
                .map_err(|e| traverse_error(&e))?;
            Ok(json_reply(&crate::json::queries::group(&g)))
        })())
    }
}
