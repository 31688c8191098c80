//! `COMMAND [COUNT | DOCS | INFO name…]`: enough for redis-cli.
use crate::resp::Frame;
use crate::server::command::{Command, Context, ALL};

pub(crate) struct CommandCmd;

fn info(c: &dyn Command) -> Frame {
    let mut flags = vec![Frame::Simple(
        if c.writes() { "write" } else { "readonly" }.into(),
    )];
    if c.before_auth() {
        flags.push(Frame::Simple("no-auth".into()));
    }
    Frame::Array(vec![
        Frame::text(c.name().to_lowercase()),
        Frame::Integer(c.arity() as i64),
        Frame::Array(flags),
        Frame::Integer(0),
        Frame::Integer(0),
        Frame::Integer(0),
    ])
}

impl Command for CommandCmd {
    fn name(&self) -> &'static str {
        "COMMAND"
    }
    fn arity(&self) -> i32 {
        -1
    }
    fn summary(&self) -> &'static str {
        "COMMAND [COUNT | DOCS [name…] | INFO [name…]]: the commands kith knows"
    }
    fn run(&self, _cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        let sub = args.get(1).map(|a| a.to_ascii_uppercase());
        match sub.as_deref() {
            None => Frame::Array(ALL.iter().map(|c| info(*c)).collect()),
            Some(b"COUNT") => Frame::Integer(ALL.len() as i64),
            Some(b"INFO") => Frame::Array(
                args[2..]
                    .iter()
                    .map(|n| match crate::server::command::lookup(n) {
                        Some(c) => info(c),
                        None => Frame::Null,
                    })
                    .collect(),
            ),
            Some(b"DOCS") => {
                let pick: Vec<&dyn Command> = if args.len() > 2 {
                    args[2..]
                        .iter()
                        .filter_map(|n| crate::server::command::lookup(n))
                        .collect()
                } else {
                    ALL.to_vec()
                };
                Frame::Map(
                    pick.into_iter()
                        .map(|c| {
                            (
                                Frame::text(c.name().to_lowercase()),
                                Frame::Map(vec![(
                                    Frame::text("summary"),
                                    Frame::text(c.summary()),
                                )]),
                            )
                        })
                        .collect(),
                )
            }
            Some(_) => Frame::Error("ERR unknown subcommand of COMMAND. Try COMMAND HELP.".into()),
        }
    }
}
