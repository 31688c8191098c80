//! `STATS`: entity and relationship counts by kind, and disk size, as JSON.
use crate::resp::Frame;
use crate::server::command::{json_reply, read_error, reply, Command, Context};

pub(crate) struct Stats;

impl Command for Stats {
    fn name(&self) -> &'static str {
        "STATS"
    }
    fn arity(&self) -> i32 {
        1
    }
    fn summary(&self) -> &'static str {
        "STATS: {\"entities\":{…},\"merged\":{…},\"relationships\":{…},\"disk_bytes\":n}"
    }
    fn run(&self, cx: &mut Context<'_>, _args: &[&[u8]]) -> Frame {
        reply((|| {
            let s = cx.db.stats().map_err(|e| read_error(&e))?;
            Ok(json_reply(&serde_json::json!({
                "entities": s.entities,
                "merged": s.merged,
                "relationships": s.relationships,
                "disk_bytes": s.disk_bytes,
            })))
        })())
    }
}
