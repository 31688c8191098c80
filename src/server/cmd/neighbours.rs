//! `NEIGHBOURS id kind|* out|in`: relationships at one end, as JSON.
use crate::model::Direction;
use crate::resp::Frame;
use crate::server::command::{id, read_error, rel_kind, reply, text, Command, Context};

pub(crate) struct Neighbours;

impl Command for Neighbours {
    fn name(&self) -> &'static str {
        "NEIGHBOURS"
    }
    fn arity(&self) -> i32 {
        4
    }
    fn summary(&self) -> &'static str {
        "NEIGHBOURS id KIND|* out|in: relationships as JSON [{\"id\",\"kind\",\"direction\",\"props\"}]"
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        reply((|| {
            let node = id(args, 1)?;
            let dir = match text(args, 3, "direction")?.to_ascii_lowercase().as_str() {
                "out" => Direction::Out,
                "in" => Direction::In,
                other => {
                    return Err(Frame::error(
                        "INVALID",
                        format!("direction must be out or in, got {other:?}"),
                    ))
                }
            };
            let list = if args[2] == b"*" {
                cx.db.edges(node, dir)
            } else {
                cx.db.neighbours(node, rel_kind(cx.db, args, 2)?, dir)
            }
            .map_err(|e| read_error(&e))?;
            let docs: Vec<serde_json::Value> = list
                .iter()
                .map(|n| {
                    let name = cx
                        .db
                        .relationship_kind_name(n.kind)
                        .unwrap_or_else(|| n.kind.to_string());
                    crate::json::neighbour_to_json(n, &name)
                })
                .collect();
            Ok(crate::server::command::json_reply(
                &serde_json::Value::Array(docs),
            ))
        })())
    }
}
