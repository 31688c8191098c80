//! `QUIT`: reply OK, then close the connection.
use crate::resp::Frame;
use crate::server::command::{Command, Context};

pub(crate) struct Quit;

impl Command for Quit {
    fn name(&self) -> &'static str {
        "QUIT"
    }
    fn arity(&self) -> i32 {
        -1
    }
    fn summary(&self) -> &'static str {
        "QUIT: close the connection"
    }
    fn before_auth(&self) -> bool {
        true
    }
    fn run(&self, cx: &mut Context<'_>, _args: &[&[u8]]) -> Frame {
        cx.session.quit = true;
        Frame::ok()
    }
}
