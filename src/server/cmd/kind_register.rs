//! `KIND.REGISTER entity|relationship NAME`: register a user kind; replies
//! with its code (the existing code if already registered).
use crate::resp::Frame;
use crate::server::command::{reply, text, write_error, Command, Context};

pub(crate) struct KindRegister;

impl Command for KindRegister {
    fn name(&self) -> &'static str {
        "KIND.REGISTER"
    }
    fn arity(&self) -> i32 {
        3
    }
    fn summary(&self) -> &'static str {
        "KIND.REGISTER entity|relationship NAME: its code"
    }
    fn writes(&self) -> bool {
        true
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        reply((|| {
            let name = text(args, 2, "name")?;
            let code = match text(args, 1, "space")?.to_ascii_lowercase().as_str() {
                "entity" => cx.db.register_entity_kind(name).map(|k| k.code()),
                "relationship" => cx.db.register_relationship_kind(name).map(|k| k.code()),
                other => {
                    return Err(Frame::error(
                        "INVALID",
                        format!("space must be entity or relationship, got {other:?}"),
                    ))
                }
            }
            .map_err(|e| write_error(&e))?;
            Ok(Frame::Integer(code as i64))
        })())
    }
}
