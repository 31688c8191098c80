//! Reads: `get`, `lookup`, `find`, `context`, `check`, `stats`.

#[allow(unused_imports)]
use crate::cli::*;

/// `kith get`.
pub(crate) fn get(db_dir: &PathBuf, id: u64, json: bool) -> CliResult {
    let db = open_existing(db_dir)?;
    match db.get(EntityId(id))? {
        Some(e) => {
            show::entity(&db, &e, json)?;
            Ok(0)
        }
        None => Err(format!("no entity with id {id}").into()),
    }
}

/// `kith lookup`.
/// A source record's identifier answers the customer it resolves to
/// (following merges), unless `record`; a note on stderr says so.
pub(crate) fn lookup(
    db_dir: &PathBuf,
    system: String,
    key: String,
    record: bool,
    json: bool,
) -> CliResult {
    let db = open_existing(db_dir)?;
    let found = match db.lookup(&system, &key)? {
        Some(id) if !record => match db.customer_of_record(&system, &key)? {
            Some(c) => {
                let c = db.follow_merges(c)?;
                eprintln!("{system}:{key} is source record {id} of customer {c} (--record shows the record)");
                Some(c)
            }
            None => Some(id),
        },
        other => other,
    };
    match found {
        Some(id) => {
            let e = db.get(id)?.ok_or_else(|| {
                format!("identifier {system}:{key} points to missing entity {id}")
            })?;
            show::entity(&db, &e, json)?;
            Ok(0)
        }
        None => Err(format!("no entity has identifier {system}:{key}").into()),
    }
}

/// `kith find`.
pub(crate) fn find(db_dir: &PathBuf, attr: String, value: String) -> CliResult {
    let db = open_existing(db_dir)?;
    let index = Index::from_name(&attr).ok_or_else(|| {
        let names: Vec<&str> = Index::ALL.iter().map(|i| i.name()).collect();
        format!(
            "{attr:?} is not an indexed attribute; indexed: {}",
            names.join(", ")
        )
    })?;
    let ids = db.find(index, &value)?;
    if ids.is_empty() {
        eprintln!("no entity has {index} {value:?}");
        return Ok(1);
    }
    for id in ids {
        if let Some(e) = db.get(id)? {
            println!("{}", show::one_line(&db, &e));
        }
    }
    Ok(0)
}

/// `kith context`.
pub(crate) fn context(db_dir: &PathBuf, id: u64, interactions: usize, json: bool) -> CliResult {
    let builder = Db::builder().context_options(kith::ContextOptions {
        recent_interactions: interactions,
        ..Default::default()
    });
    let db = open_existing_with(builder, db_dir)?;
    let c = db.context(customer_target(&db, id)?)?;
    if json {
        println!("{}", kith::json::context_to_json(&db, &c));
    } else {
        show::context(&db, &c);
    }
    Ok(0)
}

/// `kith check`.
pub(crate) fn check(db_dir: &PathBuf) -> CliResult {
    let db = open_existing(db_dir)?;
    let r = db.check()?;
    println!(
        "checked {} entities, {} relationships, {} identifiers, {} index entries ({} keys, {:.1} MiB of keys and values)",
        r.entities, r.relationships, r.identifiers, r.index_entries, r.keys,
        r.logical_bytes as f64 / (1 << 20) as f64
    );
    if r.is_ok() {
        println!("ok: no violations");
        Ok(0)
    } else {
        for v in &r.violations {
            println!("violation: {v}");
        }
        println!("{} violations", r.violations.len());
        Ok(1)
    }
}

/// `kith stats`.
pub(crate) fn stats(db_dir: &PathBuf, json: bool) -> CliResult {
    let db = open_existing(db_dir)?;
    show::stats(&db.stats()?, json);
    Ok(0)
}
