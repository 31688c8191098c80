//! `FIND attribute value`: ids whose indexed attribute matches, normalized.
use crate::index::Index;
use crate::resp::Frame;
use crate::server::command::{read_error, reply, text, Command, Context};

pub(crate) struct Find;

impl Command for Find {
    fn name(&self) -> &'static str {
        "FIND"
    }
    fn arity(&self) -> i32 {
        3
    }
    fn summary(&self) -> &'static str {
        "FIND email|phone|national_id|tax_id|account_number|postal_code|registration_number|family_name+birth_date|name value: matching ids (name: one whole word of a party's names)"
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        reply((|| {
            let attr = text(args, 1, "attribute")?;
            let index = Index::from_name(attr).ok_or_else(|| {
                Frame::error("INVALID", format!("{attr:?} is not an indexed attribute"))
            })?;
            let ids = cx
                .db
                .find(index, text(args, 2, "value")?)
                .map_err(|e| read_error(&e))?;
            Ok(Frame::Array(
                ids.into_iter()
                    .map(|i| Frame::Integer(i.0 as i64))
                    .collect(),
            ))
        })())
    }
}
