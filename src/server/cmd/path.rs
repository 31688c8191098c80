//! `PATH a b [depth] [KIND[:out|in|any] …] [AT day] [SINCE day] [UNTIL day]`:
//! the shortest paths between two entities with the relationships they
//! cross, as JSON.
use crate::resp::Frame;
use crate::server::command::{
    customer, json_reply, number_or, reply, traverse_error, when_tail, Command, Context,
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
        "PATH a b [depth=6] [KIND[:out|in|any] ...] [AT day] [SINCE day] [UNTIL day]: shortest paths with their hops (JSON; every kind but identity resolution's by default)"
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        reply((|| {
            let (args, when) = when_tail(args, 3)?;
            let (a, b) = (customer(cx.db, args, 1)?, customer(cx.db, args, 2)?);
            let depth = number_or(args, 3, 6, "depth")?;
            use crate::traverse::Follow;
            let follow = if args.len() > 4 {
                (4..args.len())
                    .map(|i| {
                        let t = crate::server::command::text(args, i, "relationship kind")?;
                        crate::traverse::parse_follow(cx.db, t, Follow::Both)
                            .map_err(|e| Frame::error("INVALID", e))
                    })
                    .collect::<Result<Vec<_>, _>>()?
            } else {
                crate::traverse::default_kinds(cx.db)
                    .into_iter()
                    .map(|k| (k, Follow::Both))
                    .collect()
            };
            let mut spec = crate::traverse::PathSpec::new(follow, depth);
            spec.when = when;
            let paths = crate::traverse::shortest_paths_following(cx.db, a, b, &spec)
                .map_err(|e| traverse_error(&e))?;
            Ok(json_reply(&crate::json::queries::paths(cx.db, &paths)))
        })())
    }
}
