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
    if follow {
        let addr = reads::server_of(db_dir, server.as_deref()).ok_or_else(|| {
            format!(
                "--follow follows a running `kith serve`: none holds {} (no {} there); name one with --server HOST:PORT",
                db_dir.display(),
                reads::SERVER_FILE
            )
        })?;
        return changes::follow(&addr, &from, json);
    }
    if server.is_some() {
        return Err("--server is for --follow; without it kith changes reads --db".into());
    }
    let db = open_existing(db_dir).map_err(|e| match reads::server_of(db_dir, None) {
        Some(addr) if reads::is_in_use(e.as_ref()) => format!(
            "{e}: the server at {addr} holds it; read its log with `kith changes --follow --from {from}`"
        )
        .into(),
        _ => e,
    })?;
    changes::local(&db, &from, count, json)
}
