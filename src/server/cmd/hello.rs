//! `HELLO [protover [AUTH username password] [SETNAME name]]`.
use super::auth::authenticate;
use crate::resp::Frame;
use crate::server::command::{Command, Context};

pub(crate) struct Hello;

impl Command for Hello {
    fn name(&self) -> &'static str {
        "HELLO"
    }
    fn arity(&self) -> i32 {
        -1
    }
    fn summary(&self) -> &'static str {
        "HELLO [2|3] [AUTH user pass] [SETNAME name]: switch protocol, reply with server facts"
    }
    fn before_auth(&self) -> bool {
        true
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        let mut resp3 = cx.session.resp3;
        let mut i = 1;
        if let Some(v) = args.get(1) {
            match *v {
                b"2" => resp3 = false,
                b"3" => resp3 = true,
                _ => return Frame::Error("NOPROTO unsupported protocol version".into()),
            }
            i = 2;
        }
        let mut name = None;
        while i < args.len() {
            match args[i].to_ascii_uppercase().as_slice() {
                b"AUTH" if i + 2 < args.len() => {
                    if let Err(e) = authenticate(cx, Some(args[i + 1]), args[i + 2]) {
                        return e;
                    }
                    i += 3;
                }
                b"SETNAME" if i + 1 < args.len() => {
                    name = Some(String::from_utf8_lossy(args[i + 1]).into_owned());
                    i += 2;
                }
                _ => return Frame::Error("ERR syntax error in HELLO option".into()),
            }
        }
        if !cx.session.authenticated {
            return Frame::Error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time".into());
        }
        cx.session.resp3 = resp3;
        if name.is_some() {
            cx.session.name = name;
        }
        Frame::Map(vec![
            (Frame::text("server"), Frame::text("kith")),
            (
                Frame::text("version"),
                Frame::text(env!("CARGO_PKG_VERSION")),
            ),
            (
                Frame::text("proto"),
                Frame::Integer(if resp3 { 3 } else { 2 }),
            ),
            (Frame::text("id"), Frame::Integer(cx.session.id as i64)),
            (Frame::text("mode"), Frame::text("standalone")),
            (Frame::text("role"), Frame::text("master")),
            (Frame::text("modules"), Frame::Array(Vec::new())),
        ])
    }
}
