//! `GROUP id [AT day] [SINCE day] [UNTIL day]`: the corporate group with
//! effective shares, each member's ownership relationships and exposure, as
//! JSON.
use crate::resp::Frame;
use crate::server::command::{customer_when, json_reply, reply, traverse_error, Command, Context};

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
            let (id, when) = customer_when(cx.db, args, "GROUP")?;
            let g = cx
                .db
                .group_on(id, &when, crate::traverse::MAX_GROUP_MEMBERS)
                .map_err(|e| traverse_error(&e))?;
            Ok(json_reply(&crate::json::queries::group(&g)))
        })())
    }
}
