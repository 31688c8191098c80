//! `LINEAGE id`: where each golden attribute of a customer comes from — the
//! record, its system and key, when, and the survivorship rule; JSON.
use crate::json::lineage_to_json;
use crate::resp::Frame;
use crate::server::command::{id, json_reply, reply, resolve_error, Command, Context};

pub(crate) struct Lineage;

impl Command for Lineage {
    fn name(&self) -> &'static str {
        "LINEAGE"
    }
    fn arity(&self) -> i32 {
        2
    }
    fn summary(&self) -> &'static str {
        "LINEAGE id: the source of each golden attribute of a customer (JSON)"
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        reply((|| {
            let c = id(args, 1)?;
            if !cx
                .db
                .contains(c)
                .map_err(|e| crate::server::command::read_error(&e))?
            {
                return Err(Frame::error(
                    "NOTFOUND",
                    format!("no entity with id {}", c.0),
                ));
            }
            let l = cx.db.lineage(c).map_err(|e| resolve_error(&e))?;
            Ok(json_reply(&lineage_to_json(&l)))
        })())
    }
}
