//! `RECORD.DELETE system key`: delete a source record (and a customer left
//! without records); 1 if it existed.
use crate::resolve::ResolveConfig;
use crate::resp::Frame;
use crate::server::command::{reply, resolve_error, text, Command, Context};

pub(crate) struct RecordDelete;

impl Command for RecordDelete {
    fn name(&self) -> &'static str {
        "RECORD.DELETE"
    }
    fn arity(&self) -> i32 {
        3
    }
    fn summary(&self) -> &'static str {
        "RECORD.DELETE system key: 1 if the record existed"
    }
    fn writes(&self) -> bool {
        true
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        reply((|| {
            let (system, key) = (text(args, 1, "system")?, text(args, 2, "key")?);
            let deleted = cx
                .db
                .delete_record(system, key, &ResolveConfig::default())
                .map_err(|e| resolve_error(&e))?;
            Ok(Frame::Integer(deleted.is_some() as i64))
        })())
    }
}
