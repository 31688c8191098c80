//! `GROUP id`: the corporate group with effective shares and exposure, as JSON.
use crate::resp::Frame;
use crate::server::command::{id, json_reply, reply, traverse_error, Command, Context};

pub(crate) struct Group;

impl Command for Group {
    fn name(&self) -> &'static str {
        "GROUP"
    }
    fn arity(&self) -> i32 {
        2
    }
    fn summary(&self) -> &'static str {
        "GROUP id: parents, ultimate parent, members with effective shares, exposure (JSON)"
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        reply((|| {
            let g = cx.db.group(id(args, 1)?).map_err(|e| traverse_error(&e))?;
            Ok(json_reply(&crate::json::queries::group(&g)))
        })())
    }
}
