//! `INTERACTION.ADD party json`: record an interaction of a party; replies
//! with its id. JSON: `{"attrs": {"channel": …, "interaction_type": …,
//! "occurred_at": {"$timestamp": …}, "status": …, "summary": …}}`.
use crate::json::attrs_from_json;
use crate::model::{EntityKind, NewEntity};
use crate::resp::Frame;
use crate::server::command::{id, json, reply, write_error, Command, Context};

pub(crate) struct InteractionAdd;

impl Command for InteractionAdd {
    fn name(&self) -> &'static str {
        "INTERACTION.ADD"
    }
    fn arity(&self) -> i32 {
        3
    }
    fn summary(&self) -> &'static str {
        "INTERACTION.ADD party {\"attrs\":{…}}: record an interaction; its id"
    }
    fn writes(&self) -> bool {
        true
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        reply((|| {
            let party = id(args, 1)?;
            let doc = json(args, 2)?;
            let mut e = NewEntity::new(EntityKind::INTERACTION);
            if let Some(a) = doc.get("attrs") {
                e.attrs = attrs_from_json(a).map_err(|e| Frame::error("INVALID", e))?;
            }
            let iid = cx
                .db
                .append_interaction(party, e)
                .map_err(|e| write_error(&e))?;
            Ok(Frame::Integer(iid.0 as i64))
        })())
    }
}
