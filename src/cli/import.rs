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
    let s = import::import_files(
        db,
        &m,
        mapping_path,
        files,
        &mut on_reject,
        &mut on_progress,
    )?;
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
