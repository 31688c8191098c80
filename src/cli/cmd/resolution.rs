//! Identity resolution: `import`, `explain`, `lineage`, `same`, `apart`, `apply`.

#[allow(unused_imports)]
use crate::cli::*;

/// `kith import`.
pub(crate) fn import(
    db_dir: &PathBuf,
    mapping: PathBuf,
    rejects: PathBuf,
    cache_mib: u64,
    max_rejects: u64,
    files: Vec<PathBuf>,
) -> CliResult {
    let db = Db::builder()
        .path(db_dir)
        .cache_bytes(mib("cache-mib", cache_mib)?)
        .durability(Durability::Background { every_ms: 1000 })
        .open()?;
    let code = import::run(&db, &mapping, &files, &rejects, max_rejects);
    finish_rules(&db);
    code
}

/// `kith explain`.
pub(crate) fn explain(db: &Db, system: &str, key: &str, with: Option<Vec<String>>) -> CliResult {
    let print = |scores: &[kith::resolve::compare::FieldScore], total: f64| {
        for f in scores {
            say!(
                "    {:<22} {:<9} {:+.1}",
                f.field,
                format!("{:?}", f.agreement).to_lowercase(),
                f.weight
            );
        }
        say!("    {:<22} {:<9} {:+.1}", "total", "", total);
    };
    if let Some(other) = with {
        let (scores, total) = db.compare_records((system, key), (&other[0], &other[1]))?;
        say!("{system}:{key} against {}:{}", other[0], other[1]);
        print(&scores, total);
        return Ok(0);
    }
    let x = db.explain(system, key)?;
    match x.customer {
        Some(c) => say!(
            "{system}:{key} (record {}) belongs to customer {c}",
            x.record
        ),
        None => say!(
            "{system}:{key} (record {}) belongs to no customer",
            x.record
        ),
    }
    if x.comparisons.is_empty() {
        say!("  it is the customer's only record");
    }
    for (other, scores, total) in &x.comparisons {
        say!("  against {other}:");
        print(scores, *total);
    }
    if let Some(c) = x.customer {
        say!("  the customer's golden attributes:");
        show::lineage(&db.lineage(c)?);
    }
    Ok(0)
}

/// `kith lineage`.
pub(crate) fn lineage(db: &Db, id: u64) -> CliResult {
    let id = db.follow_merges(EntityId(id))?;
    if !db.contains(id)? {
        return Err(format!("no entity with id {}", id.0).into());
    }
    show::lineage(&db.lineage(id)?);
    Ok(0)
}

/// `kith same`.
pub(crate) fn same(db_dir: &PathBuf, records: Vec<String>) -> CliResult {
    let db = open_existing_to_write(db_dir)?;
    let c = db.force_together((&records[0], &records[1]), (&records[2], &records[3]))?;
    db.flush()?;
    finish_rules(&db);
    say!(
        "{}:{} and {}:{} are customer {c}",
        records[0],
        records[1],
        records[2],
        records[3]
    );
    Ok(0)
}

/// `kith apart`.
pub(crate) fn apart(db_dir: &PathBuf, records: Vec<String>) -> CliResult {
    let db = open_existing_to_write(db_dir)?;
    let (x, y) = db.force_apart(
        (&records[0], &records[1]),
        (&records[2], &records[3]),
        &kith::resolve::ResolveConfig::default(),
    )?;
    db.flush()?;
    finish_rules(&db);
    say!(
        "{}:{} is customer {x}; {}:{} is customer {y}",
        records[0],
        records[1],
        records[2],
        records[3]
    );
    Ok(0)
}

/// `kith apply`.
pub(crate) fn apply(db_dir: &PathBuf, events: PathBuf) -> CliResult {
    let db = Db::builder()
        .path(db_dir)
        .durability(Durability::Background { every_ms: 1000 })
        .open()?;
    let code = import::apply(&db, &events);
    finish_rules(&db);
    code
}
