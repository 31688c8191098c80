//! `PING [message]`.
use crate::resp::Frame;
use crate::server::command::{Command, Context};

pub(crate) struct Ping;

impl Command for Ping {
    fn name(&self) -> &'static str {
        "PING"
    }
    fn arity(&self) -> i32 {
        -1
    }
    fn summary(&self) -> &'static str {
        "PING [message]: PONG, or the message"
    }
    fn before_auth(&self) -> bool {
        true
    }
    fn run(&self, _cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        match args.len() {
            1 => Frame::Simple("PONG".into()),
            2 => Frame::Bulk(args[1].to_vec()),
            _ => Frame::Error("ERR wrong number of arguments for 'ping' command".into()),
        }
    }
}
