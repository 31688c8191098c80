//! `PATH a b [depth] [KIND …]`: the shortest paths between two entities, as JSON.
use crate::resp::Frame;
use crate::server::command::{
    id, json_reply, number_or, rel_kind, reply, traverse_error, Command, Context,
};

pub(crate) struct Path;

impl Command for Path {
    fn name(&self) -> &'static str {
        "PATH"
    }
    fn arity(&self) -> i32 {
        -3
    }
    fn summary(&self) -> &'static str {
        "PATH a b [depth=6] [KIND ...]: shortest paths as [[id, ...], ...] (JSON; all kinds by default)"
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        reply((|| {
            let (a, b) = (id(args, 1)?, id(args, 2)?);
            let depth = number_or(args, 3, 6, "depth")?;
            let kinds = if args.len() > 4 {
                (4..args.len())
                    .map(|i| rel_kind(cx.db, args, i))
                    .collect::<Result<Vec<_>, _>>()?
            } else {
                crate::traverse::default_kinds(cx.db)
            };
            let paths = crate::traverse::shortest_paths(cx.db, a, b, &kinds, depth, 10)
                .map_err(|e| traverse_error(&e))?;
            Ok(json_reply(&crate::json::queries::paths(&paths)))
        })())
    }
}
