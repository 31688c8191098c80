//! `LIST kind [after] [count]`: one page of ids of a kind; replies
//! `[next-cursor-or-null, [ids…]]`.
use crate::model::EntityId;
use crate::resp::Frame;
use crate::server::command::{entity_kind, id, read_error, reply, text, Command, Context};

pub(crate) struct List;

impl Command for List {
    fn name(&self) -> &'static str {
        "LIST"
    }
    fn arity(&self) -> i32 {
        -2
    }
    fn summary(&self) -> &'static str {
        "LIST kind [after] [count]: [next cursor or null, [ids]] (count 1..100000, default 1000)"
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        reply((|| {
            if args.len() > 4 {
                return Err(Frame::Error(
                    "ERR wrong number of arguments for 'list' command".into(),
                ));
            }
            let kind = entity_kind(cx.db, args, 1)?;
            let after = match args.get(2) {
                Some(a) if *a != b"0" => Some(id(args, 2)?),
                _ => None,
            };
            let count = match args.get(3) {
                Some(_) => text(args, 3, "count")?
                    .parse::<usize>()
                    .map_err(|_| Frame::error("INVALID", "count must be a number"))?,
                None => 1000,
            };
            let page = cx.db.list(kind, after, count).map_err(|e| read_error(&e))?;
            let next = match page.next {
                Some(EntityId(n)) => Frame::Integer(n as i64),
                None => Frame::Null,
            };
            let ids = page
                .ids
                .into_iter()
                .map(|i| Frame::Integer(i.0 as i64))
                .collect();
            Ok(Frame::Array(vec![next, Frame::Array(ids)]))
        })())
    }
}
