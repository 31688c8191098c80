//! `kith changes`: the change log.

#[allow(unused_imports)]
use crate::cli::*;

/// `kith changes`.
pub(crate) fn changes(
    db_dir: &PathBuf,
    from: String,
    count: usize,
    json: bool,
    follow: bool,
    server: Option<String>,
) -> CliResult {
    match (follow, server) {
    (true, Some(addr)) => changes::follow(&addr, &from, json),
    (true, None) => Err("--follow needs --server HOST:PORT: a database is open in one process at a time, so follow the server that writes it".into()),
    (false, Some(_)) => Err("--server is for --follow; without it kith changes reads --db".into()),
    (false, None) => changes::local(&open_existing(db_dir)?, &from, count, json),
}
}
