//! `kith serve`: the RESP server.

#[allow(unused_imports)]
use crate::cli::*;

/// `kith serve`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn serve(
    db_dir: &PathBuf,
    listen: std::net::SocketAddr,
    requirepass: Option<String>,
    max_connections: usize,
    workers: Option<usize>,
    idle_timeout: u64,
    background_flush_ms: Option<u64>,
    prewarm: bool,
    cache_mib: u64,
    write_threads: usize,
    retain_changes: u64,
    retain_hours: u64,
) -> CliResult {
    if write_threads == 0 {
        return Err("--write-threads must be at least 1".into());
    }
    let durability = match background_flush_ms {
        Some(ms) => Durability::Background { every_ms: ms },
        None => Durability::Immediate,
    };
    let retention = kith::Retention {
        max_changes: (retain_changes > 0).then_some(retain_changes),
        max_age: (retain_hours > 0).then(|| std::time::Duration::from_secs(retain_hours * 3600)),
    };
    let db = Db::builder()
        .path(db_dir)
        .cache_bytes(cache_mib << 20)
        .durability(durability)
        .retention(retention)
        .open()?;
    if prewarm {
        eprintln!("prewarmed the page cache: {}", db.prewarm()?);
    }
    let mut config = kith::server::ServerConfig {
        listen,
        password: requirepass,
        max_connections,
        idle_timeout: (idle_timeout > 0).then(|| std::time::Duration::from_secs(idle_timeout)),
        write_threads,
        ..Default::default()
    };
    if let Some(w) = workers {
        config.workers = w;
    }
    let server = kith::server::Server::bind(db, config)
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let handle = server.shutdown_handle();
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
    ])?;
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            handle.shutdown();
        }
    });
    eprintln!(
        "kith: serving {} on {}",
        db_dir.display(),
        server.local_addr()?
    );
    server.run()?;
    eprintln!("kith: stopped; database flushed");
    Ok(0)
}
