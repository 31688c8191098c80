//! `REL.ADD from kind to [json]`: add a relationship (or replace its
//! properties); 1 if new. JSON: `{"attrs": {…}, "since": "…", "until": "…"}`.
use crate::json::edge_props_from_json;
use crate::model::EdgeProps;
use crate::resp::Frame;
use crate::server::command::{id, json, rel_kind, reply, write_error, Command, Context};

pub(crate) struct RelAdd;

impl Command for RelAdd {
    fn name(&self) -> &'static str {
        "REL.ADD"
    }
    fn arity(&self) -> i32 {
        -4
    }
    fn summary(&self) -> &'static str {
        "REL.ADD from KIND to [{\"attrs\":{…},\"since\":…,\"until\":…}]: 1 if new"
    }
    fn writes(&self) -> bool {
        true
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        reply((|| {
            if args.len() > 5 {
                return Err(Frame::Error(
                    "ERR wrong number of arguments for 'rel.add' command".into(),
                ));
            }
            let (from, kind, to) = (id(args, 1)?, rel_kind(cx.db, args, 2)?, id(args, 3)?);
            let props = match args.get(4) {
                Some(_) => {
                    edge_props_from_json(&json(args, 4)?).map_err(|e| Frame::error("INVALID", e))?
                }
                None => EdgeProps::new(),
            };
            let new = cx
                .db
                .relate(from, kind, to, props)
                .map_err(|e| write_error(&e))?;
            Ok(Frame::Integer(new as i64))
        })())
    }
}
