//! `ENTITY.UPDATE id json`: change attributes and identifiers; replies with
//! the updated entity. The JSON is `{"set": {…}, "remove": ["name", …],
//! "add_identifiers": […], "remove_identifiers": […]}`, every field optional.
use super::entity_create::identifiers;
use super::entity_get::entity_reply;
use crate::json::attrs_from_json;
use crate::model::Patch;
use crate::resp::Frame;
use crate::server::command::{id, json, reply, write_error, Command, Context};

pub(crate) struct EntityUpdate;

impl Command for EntityUpdate {
    fn name(&self) -> &'static str {
        "ENTITY.UPDATE"
    }
    fn arity(&self) -> i32 {
        3
    }
    fn summary(&self) -> &'static str {
        "ENTITY.UPDATE id {\"set\":{…},\"remove\":[…],\"add_identifiers\":[…],\"remove_identifiers\":[…]}"
    }
    fn writes(&self) -> bool {
        true
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        reply((|| {
            let id = id(args, 1)?;
            let doc = json(args, 2)?;
            let mut patch = Patch::new();
            if let Some(s) = doc.get("set") {
                patch.set = attrs_from_json(s).map_err(|e| Frame::error("INVALID", e))?;
            }
            if let Some(r) = doc.get("remove") {
                let names = r
                    .as_array()
                    .ok_or_else(|| Frame::error("INVALID", "remove must be an array of names"))?;
                for n in names {
                    let n = n.as_str().ok_or_else(|| {
                        Frame::error("INVALID", "remove must be an array of names")
                    })?;
                    patch.remove.push(n.to_string());
                }
            }
            patch.add_identifiers = identifiers(doc.get("add_identifiers"))?;
            patch.remove_identifiers = identifiers(doc.get("remove_identifiers"))?;
            let e = cx.db.update(id, patch).map_err(|e| write_error(&e))?;
            Ok(entity_reply(cx, Some(e)))
        })())
    }
}
