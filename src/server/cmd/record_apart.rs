//! `RECORD.APART system key system2 key2`: a user's decision that two source
//! records are two customers; replies with both customers' ids.
use crate::resolve::ResolveConfig;
use crate::resp::Frame;
use crate::server::command::{reply, resolve_error, two_records, Command, Context};

pub(crate) struct RecordApart;

impl Command for RecordApart {
    fn name(&self) -> &'static str {
        "RECORD.APART"
    }
    fn arity(&self) -> i32 {
        5
    }
    fn summary(&self) -> &'static str {
        "RECORD.APART system key system2 key2: keep two records in different customers; both ids"
    }
    fn writes(&self) -> bool {
        true
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        reply((|| {
            let (x, y) = two_records(args)?;
            let (a, b) = cx
                .db
                .force_apart(x, y, &ResolveConfig::default())
                .map_err(|e| resolve_error(&e))?;
            Ok(Frame::Array(vec![
                Frame::Integer(a.0 as i64),
                Frame::Integer(b.0 as i64),
            ]))
        })())
    }
}
