//! `CLIENT SETNAME name | GETNAME | ID | INFO`.
use crate::resp::Frame;
use crate::server::command::{Command, Context};

pub(crate) struct Client;

impl Command for Client {
    fn name(&self) -> &'static str {
        "CLIENT"
    }
    fn arity(&self) -> i32 {
        -2
    }
    fn summary(&self) -> &'static str {
        "CLIENT SETNAME name | GETNAME | ID | INFO"
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        let sub = args[1].to_ascii_uppercase();
        match (sub.as_slice(), args.len()) {
            (b"SETNAME", 3) => {
                if args[2].iter().any(|b| *b <= b' ') {
                    return Frame::Error(
                        "ERR Client names cannot contain spaces, newlines or special characters."
                            .into(),
                    );
                }
                cx.session.name = Some(String::from_utf8_lossy(args[2]).into_owned());
                Frame::ok()
            }
            (b"GETNAME", 2) => match &cx.session.name {
                Some(n) => Frame::text(n.clone()),
                None => Frame::Null,
            },
            (b"ID", 2) => Frame::Integer(cx.session.id as i64),
            (b"INFO", 2) => Frame::text(format!(
                "id={} addr={} name={} resp={}\n",
                cx.session.id,
                cx.session.addr,
                cx.session.name.as_deref().unwrap_or(""),
                if cx.session.resp3 { 3 } else { 2 }
            )),
            (b"SETINFO", 4) => Frame::ok(),
            _ => Frame::Error(format!(
                "ERR unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
                String::from_utf8_lossy(args[1])
            )),
        }
    }
}
