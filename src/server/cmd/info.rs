//! `INFO [section]`: server, clients, stats, the reply cache, entities,
//! memory, persistence.
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

/// One section of the reply: `# Name`, a `field:value` line each, a blank line.
fn section(out: &mut String, name: &str, fields: &[(&str, String)]) {
    let _ = write!(out, "# {name}\r\n");
    for (k, v) in fields {
        let _ = write!(out, "{k}:{v}\r\n");
    }
    out.push_str("\r\n");
}

impl Command for Info {
    fn name(&self) -> &'static str {
        "INFO"
    }
    fn arity(&self) -> i32 {
        -1
    }
    fn summary(&self) -> &'static str {
        "INFO [server|clients|stats|replies|rules|entities|memory|persistence|all]"
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
        let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed).to_string();
        if show("server") {
            section(
                &mut out,
                "Server",
                &[
                    ("kith_version", env!("CARGO_PKG_VERSION").to_string()),
                    ("redis_version", "7.0.0".into()),
                    ("redis_mode", "standalone".into()),
                    ("process_id", std::process::id().to_string()),
                    ("tcp_port", sh.port.to_string()),
                    (
                        "uptime_in_seconds",
                        sh.started.elapsed().as_secs().to_string(),
                    ),
                    ("io_threads", sh.config.workers.to_string()),
                ],
            );
        }
        if show("clients") {
            section(
                &mut out,
                "Clients",
                &[
                    (
                        "connected_clients",
                        sh.clients.load(Ordering::Relaxed).to_string(),
                    ),
                    ("maxclients", sh.config.max_connections.to_string()),
                ],
            );
        }
        if show("stats") {
            section(
                &mut out,
                "Stats",
                &[
                    ("total_connections_received", load(&sh.total_connections)),
                    ("total_commands_processed", load(&sh.total_commands)),
                    ("rejected_connections", load(&sh.rejected)),
                ],
            );
        }
        if show("replies") {
            let fields = match crate::server::replies::stats(cx) {
                None => vec![("reply_cache", "off".to_string())],
                Some((c, cap)) => vec![
                    ("reply_cache_hits", c.hits.to_string()),
                    ("reply_cache_misses", c.misses.to_string()),
                    ("reply_cache_evictions", c.evictions.to_string()),
                    ("reply_cache_invalidations", c.invalidations.to_string()),
                    ("reply_cache_entries", c.entries.to_string()),
                    ("reply_cache_bytes", c.weight.to_string()),
                    ("reply_cache_max_bytes", cap.to_string()),
                ],
            };
            section(&mut out, "Replies", &fields);
        }
        if show("rules") {
            let fields = match cx.db.rules_status() {
                Ok(r) => vec![
                    ("rules", r.rules.to_string()),
                    ("rules_running", (r.running as u8).to_string()),
                    ("rules_position", r.position.to_string()),
                    ("rules_lag", r.lag.to_string()),
                    ("rules_actions", r.actions.to_string()),
                ],
                Err(e) => vec![("rules_error", e.to_string().replace(['\r', '\n'], " "))],
            };
            section(&mut out, "Rules", &fields);
        }
        let stats = cx.db.stats();
        if show("entities") {
            out.push_str("# Entities\r\n");
            if let Ok(s) = &stats {
                for (k, n) in &s.entities {
                    let _ = write!(out, "entities_{k}:{n}\r\n");
                }
                for (k, n) in &s.merged {
                    let _ = write!(out, "merged_{k}:{n}\r\n");
                }
                for (k, n) in &s.relationships {
                    let _ = write!(out, "relationships_{}:{n}\r\n", k.to_lowercase());
                }
            }
            out.push_str("\r\n");
        }
        if show("memory") {
            section(
                &mut out,
                "Memory",
                &[("used_memory_rss", rss_bytes().to_string())],
            );
        }
        if show("persistence") {
            let mode = match cx.db.durability() {
                crate::Durability::Immediate => "immediate".to_string(),
                crate::Durability::Background { every_ms } => format!("background:{every_ms}ms"),
            };
            let disk = stats.as_ref().map(|s| s.disk_bytes).unwrap_or(0);
            section(
                &mut out,
                "Persistence",
                &[
                    ("storage_engine", cx.db.engine().name().to_string()),
                    ("durability", mode),
                    ("disk_bytes", disk.to_string()),
                ],
            );
        }
        Frame::Bulk(out.into_bytes())
    }
}
