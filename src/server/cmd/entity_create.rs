//! `ENTITY.CREATE kind json`: create an entity; replies with its id.
//! The JSON is `{"attrs": {…}, "identifiers": [{"system": …, "key": …}]}`.
use crate::json::attrs_from_json;
use crate::model::{ExternalId, NewEntity};
use crate::resp::Frame;
use crate::server::command::{entity_kind, json, reply, write_error, Command, Context};

pub(crate) struct EntityCreate;

/// Reads `[{"system": …, "key": …}, …]`.
pub(crate) fn identifiers(j: Option<&serde_json::Value>) -> Result<Vec<ExternalId>, Frame> {
    let Some(j) = j else { return Ok(Vec::new()) };
    let bad = || {
        Frame::error(
            "INVALID",
            "identifiers must be [{\"system\": \"…\", \"key\": \"…\"}, …]",
        )
    };
    j.as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|x| {
            let s = x.get("system").and_then(|v| v.as_str()).ok_or_else(bad)?;
            let k = x.get("key").and_then(|v| v.as_str()).ok_or_else(bad)?;
            Ok(ExternalId::new(s, k))
        })
        .collect()
}

impl Command for EntityCreate {
    fn name(&self) -> &'static str {
        "ENTITY.CREATE"
    }
    fn arity(&self) -> i32 {
        3
    }
    fn summary(&self) -> &'static str {
        "ENTITY.CREATE kind {\"attrs\":{…},\"identifiers\":[…]}: create; replies with the id"
    }
    fn writes(&self) -> bool {
        true
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        reply((|| {
            let kind = entity_kind(cx.db, args, 1)?;
            let doc = json(args, 2)?;
            let mut new = NewEntity::new(kind);
            if let Some(a) = doc.get("attrs") {
                new.attrs = attrs_from_json(a).map_err(|e| Frame::error("INVALID", e))?;
            }
            new.identifiers = identifiers(doc.get("identifiers"))?;
            let id = cx.db.create(new).map_err(|e| write_error(&e))?;
            Ok(Frame::Integer(id.0 as i64))
        })())
    }
}
