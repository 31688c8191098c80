//! `kith upgrade`: migrates an older database to this build's format;
//! `kith migrate --to-engine`: copies a database into another engine.

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

/// `kith migrate --to-engine NAME --out DIR`.
pub(crate) fn migrate(
    db_dir: &PathBuf,
    engine: kith::StorageEngine,
    out: &std::path::Path,
) -> CliResult {
    let started = std::time::Instant::now();
    let db = open_existing(db_dir)?;
    let r = db.copy_to_engine(out, engine)?;
    println!(
        "copied {} rows ({:.1} MiB of keys and values) from {} ({}) to {} ({engine}) in {:.1} s; the copy checks clean: {} entities, {:.1} MiB on disk",
        r.keys,
        r.logical_bytes as f64 / (1 << 20) as f64,
        db_dir.display(),
        db.engine(),
        out.display(),
        started.elapsed().as_secs_f64(),
        r.entities,
        r.disk_bytes as f64 / (1 << 20) as f64,
    );
    Ok(0)
}
