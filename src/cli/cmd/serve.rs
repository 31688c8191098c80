//! `kith serve`: the RESP server.

#[allow(unused_imports)]
use crate::cli::*;

/// `kith serve`.
pub(crate) fn serve(db_dir: &PathBuf, args: ServeArgs) -> CliResult {
    let ServeArgs {
        listen,
        requirepass,
        max_connections,
        workers,
        idle_timeout,
        background_flush_ms,
        prewarm,
        cache_mib,
        write_threads,
        retain_changes,
        retain_hours,
        reply_cache_mib,
        http,
    } = args;
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
    let db = db_builder()
        .path(db_dir)
        .cache_bytes(mib("cache-mib", cache_mib)?)
        .durability(durability)
        .retention(retention)
        .open()?;
    if prewarm {
        eprintln!("prewarmed the page cache: {}", db.prewarm()?);
    }
    let mut config = kith::server::ServerConfig {
        listen,
        password: requirepass.clone(),
        max_connections,
        idle_timeout: (idle_timeout > 0).then(|| std::time::Duration::from_secs(idle_timeout)),
        write_threads,
        reply_cache_bytes: mib("reply-cache-mib", reply_cache_mib)?,
        ..Default::default()
    };
    if let Some(w) = workers {
        config.workers = w;
    }
    // The command line's reads, answered here while this process holds the
    // database (`kith --db DIR context 42` finds this server by its file).
    config.extensions.push(reads::extension());
    // The web page, on its own threads over the same database.
    let web = match http {
        Some(addr) => {
            let web = kith::http::HttpServer::bind(
                db.clone(),
                kith::http::HttpConfig {
                    listen: addr,
                    password: requirepass,
                    ..Default::default()
                },
            )?;
            eprintln!("kith: the customer page is at http://{}/", web.local_addr());
            let stop = web.shutdown_handle();
            Some((std::thread::spawn(move || web.run()), stop))
        }
        None => None,
    };
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
    let addr = server.local_addr()?;
    eprintln!("kith: serving {} on {addr}", db_dir.display());
    let file = db_dir.join(reads::SERVER_FILE);
    let reachable = if addr.ip().is_unspecified() {
        std::net::SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port())
    } else {
        addr
    };
    if let Err(e) = std::fs::write(&file, format!("{reachable}\n")) {
        eprintln!(
            "kith: cannot write {} ({e}): the command line finds this server only with --server {reachable}",
            file.display()
        );
    }
    let ran = server.run();
    let _ = std::fs::remove_file(&file);
    if let Some((thread, stop)) = web {
        stop.shutdown();
        let _ = thread.join();
    }
    ran?;
    eprintln!("kith: stopped; database flushed");
    Ok(0)
}

/// The arguments of `kith serve`.
#[derive(clap::Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7379")]
    pub(crate) listen: std::net::SocketAddr,
    /// Password clients must give with AUTH (or HELLO … AUTH).
    #[arg(long)]
    pub(crate) requirepass: Option<String>,
    /// Most connections at once.
    #[arg(long, default_value_t = 10_000)]
    pub(crate) max_connections: usize,
    /// Worker threads (default: one less than the CPUs, at least one).
    #[arg(long)]
    pub(crate) workers: Option<usize>,
    /// Close connections idle this many seconds (0: never).
    #[arg(long, default_value_t = 600)]
    pub(crate) idle_timeout: u64,
    /// Read the whole store into the page cache before taking
    /// connections (see `Db::prewarm`).
    #[arg(long)]
    pub(crate) prewarm: bool,
    /// Flush in the background every N ms instead of on every write.
    #[arg(long)]
    pub(crate) background_flush_ms: Option<u64>,
    /// Page cache in MiB.
    #[arg(long, default_value_t = 512)]
    pub(crate) cache_mib: u64,
    /// Threads that run writes off the event loop; concurrent writes
    /// share one flush (group commit). 1 gives one flush per write.
    #[arg(long, default_value_t = 32)]
    pub(crate) write_threads: usize,
    /// Keep at most this many changes in the change log (0: no limit by count).
    #[arg(long, default_value_t = 1_000_000)]
    pub(crate) retain_changes: u64,
    /// Keep changes at most this many hours (0: no limit by age).
    #[arg(long, default_value_t = 168)]
    pub(crate) retain_hours: u64,
    /// MiB of encoded replies (entity and context JSON) served again until
    /// a commit touches them (0: no reply cache).
    #[arg(long, default_value_t = 256)]
    pub(crate) reply_cache_mib: u64,
    /// Also serve the customer 360 page and its JSON API over HTTP on this
    /// address (same password as RESP).
    #[arg(long)]
    pub(crate) http: Option<std::net::SocketAddr>,
}

/// The arguments of `kith ui`.
#[derive(clap::Args)]
pub(crate) struct UiArgs {
    /// Address to serve the page on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub(crate) listen: std::net::SocketAddr,
    /// Password the page asks for.
    #[arg(long)]
    pub(crate) requirepass: Option<String>,
    /// Page cache in MiB.
    #[arg(long, default_value_t = 512)]
    pub(crate) cache_mib: u64,
}

/// `kith ui`: the customer 360 page over a local database, until SIGTERM/SIGINT.
pub(crate) fn ui(db_dir: &PathBuf, args: UiArgs) -> CliResult {
    let db = open_existing_with(
        db_builder().cache_bytes(mib("cache-mib", args.cache_mib)?),
        db_dir,
    )?;
    let web = kith::http::HttpServer::bind(
        db,
        kith::http::HttpConfig {
            listen: args.listen,
            password: args.requirepass,
            ..Default::default()
        },
    )?;
    let stop = web.shutdown_handle();
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
    ])?;
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            stop.shutdown();
        }
    });
    eprintln!(
        "kith: the customer page for {} is at http://{}/",
        db_dir.display(),
        web.local_addr()
    );
    web.run()?;
    eprintln!("kith: stopped");
    Ok(0)
}
