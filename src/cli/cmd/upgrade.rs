//! `kith upgrade`: migrates an older database to this build's format.

#[allow(unused_imports)]
use crate::cli::*;

/// `kith upgrade`.
pub(crate) fn upgrade(db_dir: &PathBuf) -> CliResult {
    let started = std::time::Instant::now();
    eprintln!(
        "kith: opening {} to migrate it to format {} (each step writes in batches; an interrupted upgrade can be run again)",
        db_dir.display(),
        Db::format_version()
    );
    let db = open_existing_with(db_builder().upgrade(true).run_rules(false), db_dir)?;
    db.flush()?;
    match db.migrated_from() {
        Some(from) => println!(
            "upgraded {} from format {from} to {} in {:.1} s",
            db_dir.display(),
            Db::format_version(),
            started.elapsed().as_secs_f64()
        ),
        None => println!(
            "{} is already at format {}: nothing to do",
            db_dir.display(),
            Db::format_version()
        ),
    }
    Ok(0)
}
