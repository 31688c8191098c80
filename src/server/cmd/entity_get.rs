//! `ENTITY.GET id`: the entity as JSON, or null (from the reply cache when
//! current).
use crate::resp::Frame;
use crate::server::command::{id, read_error, shared_bulk, Command, Context};

pub(crate) struct EntityGet;

/// One entity as a JSON bulk reply (null when missing).
pub(crate) fn entity_reply(cx: &Context<'_>, e: Option<crate::Entity>) -> Frame {
    match e {
        None => Frame::Null,
        Some(e) => {
            let kind = cx
                .db
                .entity_kind_name(e.kind)
                .unwrap_or_else(|| e.kind.to_string());
            Frame::Bulk(crate::json::entity_json_bytes(&e, &kind))
        }
    }
}

impl Command for EntityGet {
    fn name(&self) -> &'static str {
        "ENTITY.GET"
    }
    fn arity(&self) -> i32 {
        2
    }
    fn summary(&self) -> &'static str {
        "ENTITY.GET id: the entity as JSON, or null"
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        let found = (|| {
            crate::server::replies::entity_bytes(cx, id(args, 1)?).map_err(|e| read_error(&e))
        })();
        shared_bulk(cx, found)
    }
}
