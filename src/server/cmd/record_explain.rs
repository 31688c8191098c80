//! `RECORD.EXPLAIN system key [system2 key2]`: why a record belongs to its
//! customer (its comparison with each other record of the customer), or how
//! two records compare; JSON.
use crate::json::{explanation_to_json, field_scores_to_json};
use crate::resp::Frame;
use crate::server::command::{json_reply, reply, resolve_error, text, Command, Context};

pub(crate) struct RecordExplain;

impl Command for RecordExplain {
    fn name(&self) -> &'static str {
        "RECORD.EXPLAIN"
    }
    fn arity(&self) -> i32 {
        -3
    }
    fn summary(&self) -> &'static str {
        "RECORD.EXPLAIN system key [system2 key2]: why a record belongs to its customer, or how two compare (JSON)"
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        reply((|| {
            let x = (text(args, 1, "system")?, text(args, 2, "key")?);
            match args.len() {
                3 => {
                    let e = cx.db.explain(x.0, x.1).map_err(|e| resolve_error(&e))?;
                    Ok(json_reply(&explanation_to_json(&e)))
                }
                5 => {
                    let y = (text(args, 3, "system2")?, text(args, 4, "key2")?);
                    let (scores, total) =
                        cx.db.compare_records(x, y).map_err(|e| resolve_error(&e))?;
                    Ok(json_reply(&serde_json::json!({
                        "fields": field_scores_to_json(&scores),
                        "total": total,
                    })))
                }
                _ => Err(Frame::error(
                    "INVALID",
                    "RECORD.EXPLAIN takes system key, or system key system2 key2",
                )),
            }
        })())
    }
}
