//! `INFO [section]`: server, clients, stats, entities, memory, persistence.
use crate::resp::Frame;
use crate::server::command::{Command, Context};
use std::fmt::Write;
use std::sync::atomic::Ordering;

pub(crate) struct Info;

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

impl Command for Info {
    fn name(&self) -> &'static str {
        "INFO"
    }
    fn arity(&self) -> i32 {
        -1
    }
    fn summary(&self) -> &'static str {
        "INFO [server|clients|stats|entities|memory|persistence|all]"
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        let want = args
            .get(1)
            .map(|a| String::from_utf8_lossy(a).to_lowercase())
            .unwrap_or_else(|| "all".into());
        let show =
            |s: &str| want == "all" || want == "default" || want == "everything" || want == s;
        let sh = cx.shared;
        let mut out = String::new();
        if show("server") {
            let _ = write!(
                out,
                "# Server\r\nkith_version:{}\r\nredis_version:7.0.0\r\nredis_mode:standalone\r\nprocess_id:{}\r\ntcp_port:{}\r\nuptime_in_seconds:{}\r\nio_threads:{}\r\n\r\n",
                env!("CARGO_PKG_VERSION"),
                std::process::id(),
                sh.port,
                sh.started.elapsed().as_secs(),
                sh.config.workers
            );
        }
        if show("clients") {
            let _ = write!(
                out,
                "# Clients\r\nconnected_clients:{}\r\nmaxclients:{}\r\n\r\n",
                sh.clients.load(Ordering::Relaxed),
                sh.config.max_connections
            );
        }
        if show("stats") {
            let _ = write!(
                out,
                "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\nrejected_connections:{}\r\n\r\n",
                sh.total_connections.load(Ordering::Relaxed),
                sh.total_commands.load(Ordering::Relaxed),
                sh.rejected.load(Ordering::Relaxed)
            );
        }
        let stats = cx.db.stats();
        if show("entities") {
            out.push_str("# Entities\r\n");
            if let Ok(s) = &stats {
                for (k, n) in &s.entities {
                    let _ = write!(out, "entities_{k}:{n}\r\n");
                }
                for (k, n) in &s.relationships {
                    let _ = write!(out, "relationships_{}:{n}\r\n", k.to_lowercase());
                }
            }
            out.push_str("\r\n");
        }
        if show("memory") {
            let _ = write!(out, "# Memory\r\nused_memory_rss:{}\r\n\r\n", rss_bytes());
        }
        if show("persistence") {
            let mode = match cx.db.durability() {
                crate::Durability::Immediate => "immediate".to_string(),
                crate::Durability::Background { every_ms } => format!("background:{every_ms}ms"),
            };
            let disk = stats.as_ref().map(|s| s.disk_bytes).unwrap_or(0);
            let _ = write!(
                out,
                "# Persistence\r\ndurability:{mode}\r\ndisk_bytes:{disk}\r\n\r\n"
            );
        }
        Frame::Bulk(out.into_bytes())
    }
}
