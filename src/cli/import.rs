//! `kith import`, `kith apply`, `kith export links`: the library's import
//! (`kith::import`) with a progress bar, a reject file and a summary line.

use kith::import::{self, Mapping, Reject};
use kith::Db;
use std::io::Write;
use std::path::{Path, PathBuf};

fn csv_field(s: &str) -> String {
    if s.contains(',') || s.contains('"') || s.contains('\n') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Runs an import; rejected rows go to `rejects` (`file,line,reason`). The
/// exit code is 1 when more than `max_rejects` rows were rejected.
pub fn run(
    db: &Db,
    mapping_path: &Path,
    files: &[PathBuf],
    rejects: &Path,
    max_rejects: u64,
) -> Result<i32, Box<dyn std::error::Error>> {
    run_with(
        mapping_path,
        rejects,
        max_rejects,
        |m, on_reject, on_progress| {
            Ok(import::import_files(
                db,
                m,
                mapping_path,
                files,
                on_reject,
                on_progress,
            )?)
        },
    )
}

/// A bulk load into the new database `dir` (`kith import --bulk`): resolved
/// in memory, then written in key order and checked.
pub fn run_bulk(
    dir: &Path,
    engine: kith::StorageEngine,
    mapping_path: &Path,
    files: &[PathBuf],
    rejects: &Path,
    max_rejects: u64,
) -> Result<i32, Box<dyn std::error::Error>> {
    run_with(
        mapping_path,
        rejects,
        max_rejects,
        |m, on_reject, on_progress| {
            let b = import::bulk_load(
                dir,
                engine,
                None,
                m,
                mapping_path,
                files,
                on_reject,
                on_progress,
            )?;
            eprintln!(
            "kith: bulk load: resolved in memory in {:.1} s ({:.0} rows/s); wrote {} rows ({:.1} MiB) to {} ({engine}) in key order in {:.1} s; checked the database in {:.1} s: no violations",
            b.resolve_seconds,
            b.summary.rows as f64 / b.resolve_seconds.max(1e-9),
            b.written.keys,
            b.written.logical_bytes as f64 / (1 << 20) as f64,
            dir.display(),
            b.write_seconds,
            b.written.check_seconds,
        );
            Ok(b.summary)
        },
    )
}

/// The reject file, the progress bar and the summary line around one run.
fn run_with(
    mapping_path: &Path,
    rejects: &Path,
    max_rejects: u64,
    body: impl FnOnce(
        &Mapping,
        &mut dyn FnMut(Reject<'_>),
        &mut dyn FnMut(&Path, u64, u64),
    ) -> Result<import::Summary, Box<dyn std::error::Error>>,
) -> Result<i32, Box<dyn std::error::Error>> {
    let m = Mapping::load(mapping_path)?;
    let mut rej = std::io::BufWriter::new(
        std::fs::File::create(rejects)
            .map_err(|e| format!("cannot create {}: {e}", rejects.display()))?,
    );
    writeln!(rej, "file,line,reason")?;
    let mut write_failed = None;
    let mut on_reject = |r: Reject<'_>| {
        let line = writeln!(
            rej,
            "{},{},{}",
            csv_field(&r.file.display().to_string()),
            r.line,
            csv_field(r.reason)
        );
        if let Err(e) = line {
            write_failed.get_or_insert(e);
        }
    };
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} {per_sec} eta {eta}",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    let mut on_progress = |file: &Path, pos: u64, size: u64| {
        if pos == 0 {
            bar.reset();
            bar.set_length(size);
            bar.set_message(file.display().to_string());
        }
        bar.set_position(pos);
    };
    let started = std::time::Instant::now();
    let s = body(&m, &mut on_reject, &mut on_progress)?;
    bar.finish_and_clear();
    if let Some(e) = write_failed {
        return Err(format!("cannot write {}: {e}", rejects.display()).into());
    }
    rej.flush()?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "rows {}; records created {} (possible matches {}); linked to an existing customer {}; customers merged {}; unmerged {}; records updated {}; entities written {}; relationships {}; interactions {}; unchanged {}; rejected {} (see {}); {:.0} rows/s",
        s.rows, s.created, s.possible, s.linked, s.merged, s.unmerged, s.updated, s.entities, s.relationships, s.interactions, s.unchanged, s.rejected, rejects.display(),
        s.rows as f64 / secs.max(1e-9)
    );
    if s.rows > 0 && s.rejected == s.rows {
        eprintln!(
            "kith: every row ({}) was rejected; nothing was imported; each is in {} with its file, line and reason",
            s.rows,
            rejects.display()
        );
        return Ok(1);
    }
    if s.rejected > max_rejects {
        eprintln!(
            "kith: {} rows rejected (more than --max-rejects {max_rejects}); each is in {} with its file, line and reason",
            s.rejected,
            rejects.display()
        );
        return Ok(1);
    }
    Ok(0)
}

/// Writes `system,key,customer_id` for every source record.
pub fn export_links(db: &Db, out: &mut dyn Write) -> Result<i32, Box<dyn std::error::Error>> {
    import::export_links(db, out)?;
    Ok(0)
}

/// Applies a JSON Lines file of record events; bad lines are reported on
/// stderr (file, line and reason) and the exit code is 1.
pub fn apply(db: &Db, path: &Path) -> Result<i32, Box<dyn std::error::Error>> {
    let a = import::apply(db, path, &mut |r| {
        eprintln!("{}:{}: {}", r.file.display(), r.line, r.reason)
    })?;
    println!(
        "upserts {}; deletes {} ({} not found: nothing to delete); overrides {}; rejected {}",
        a.upserts, a.deletes, a.not_found, a.overrides, a.rejected
    );
    Ok(if a.rejected > 0 { 1 } else { 0 })
}
