//! `kith generate` and `kith generate-records`: synthetic banks and records.

#[allow(unused_imports)]
use crate::cli::*;

/// `kith generate`.
pub(crate) fn generate(
    db_dir: &PathBuf,
    persons: u64,
    seed: u64,
    interactions: u64,
    cache_mib: u64,
    change_log: bool,
) -> CliResult {
    let db = db_builder()
        .path(db_dir)
        .cache_bytes(mib("cache-mib", cache_mib)?)
        .durability(Durability::Background { every_ms: 1000 })
        .change_log(change_log)
        .open()?;
    if db.stats()?.entities.values().any(|n| *n > 0) {
        return Err(format!(
            "{} already holds data; generate into an empty directory",
            db_dir.display()
        )
        .into());
    }
    let t = std::time::Instant::now();
    let s = demo::generate(&db, persons, seed, interactions)?;
    db.flush()?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "generated {} persons, {} organizations, {} households, {} accounts, {} interactions, {} relationships in {:.1} s",
        s.persons, s.organizations, s.households, s.accounts, s.interactions, s.relationships, secs
    );
    Ok(0)
}

/// `kith generate-records`.
pub(crate) fn generate_records(
    records: u64,
    seed: u64,
    out: PathBuf,
    messy: bool,
    employment: Option<PathBuf>,
) -> CliResult {
    let cfg = kith::generate::RecordsConfig {
        records,
        seed,
        messy,
        ..Default::default()
    };
    let create = |path: &PathBuf| -> Result<std::io::BufWriter<std::fs::File>, String> {
        std::fs::File::create(path)
            .map(std::io::BufWriter::new)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))
    };
    let mut jobs = employment.as_ref().map(create).transpose()?;
    let jobs_out = jobs.as_mut().map(|w| w as &mut dyn std::io::Write);
    let s = if out.as_os_str() == "-" {
        kith::generate::generate_records_with(&cfg, &mut std::io::stdout().lock(), jobs_out)?
    } else {
        let mut w = create(&out)?;
        let s = kith::generate::generate_records_with(&cfg, &mut w, jobs_out)?;
        std::io::Write::flush(&mut w)?;
        s
    };
    if let Some(mut j) = jobs {
        std::io::Write::flush(&mut j)?;
    }
    eprintln!(
        "generated {} records of {} people ({} true pairs){}",
        s.records,
        s.people,
        s.true_pairs,
        if employment.is_some() {
            format!(
                "; {} organizations, {} employment rows",
                s.organizations, s.employments
            )
        } else {
            String::new()
        }
    );
    Ok(0)
}
