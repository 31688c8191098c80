//! `LOOKUP system key`: the id a cross-system identifier names, or null.
use crate::resp::Frame;
use crate::server::command::{read_error, reply, text, Command, Context};

pub(crate) struct Lookup;

impl Command for Lookup {
    fn name(&self) -> &'static str {
        "LOOKUP"
    }
    fn arity(&self) -> i32 {
        3
    }
    fn summary(&self) -> &'static str {
        "LOOKUP system key: the id it names, or null"
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        reply((|| {
            let system = text(args, 1, "system")?;
            let key = text(args, 2, "key")?;
            Ok(
                match cx.db.lookup(system, key).map_err(|e| read_error(&e))? {
                    Some(id) => Frame::Integer(id.0 as i64),
                    None => Frame::Null,
                },
            )
        })())
    }
}
