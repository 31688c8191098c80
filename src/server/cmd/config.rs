//! `CONFIG GET pattern`: the few settings clients and redis-benchmark ask
//! about. kith is configured on its command line; `CONFIG SET` is refused.
use crate::resp::Frame;
use crate::server::command::{Command, Context};

pub(crate) struct Config;

impl Command for Config {
    fn name(&self) -> &'static str {
        "CONFIG"
    }
    fn arity(&self) -> i32 {
        -2
    }
    fn summary(&self) -> &'static str {
        "CONFIG GET pattern: save, appendonly, maxclients, databases (read-only)"
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        let sub = args[1].to_ascii_uppercase();
        if sub.as_slice() != b"GET" || args.len() != 3 {
            return Frame::Error(
                "ERR kith is configured on its command line; only CONFIG GET is supported".into(),
            );
        }
        let pattern = String::from_utf8_lossy(args[2]).to_lowercase();
        let settings = [
            ("save", String::new()),
            ("appendonly", "no".to_string()),
            ("maxclients", cx.shared.config.max_connections.to_string()),
            ("databases", "1".to_string()),
        ];
        let matches = |name: &str| pattern == "*" || pattern == name;
        Frame::Map(
            settings
                .into_iter()
                .filter(|(n, _)| matches(n))
                .map(|(n, v)| (Frame::text(n), Frame::text(v)))
                .collect(),
        )
    }
}
