//! Reads: `get`, `lookup`, `find`, `context`, `check`, `stats`.

#[allow(unused_imports)]
use crate::cli::*;

/// `kith get`.
pub(crate) fn get(db: &Db, id: u64, json: bool) -> CliResult {
    match db.get(EntityId(id))? {
        Some(e) => {
            show::entity(db, &e, json)?;
            Ok(0)
        }
        None => Err(format!("no entity with id {id}").into()),
    }
}

/// `kith lookup`.
/// A source record's identifier answers the customer it resolves to
/// (following merges), unless `record`; a note on stderr says so.
pub(crate) fn lookup(db: &Db, system: &str, key: &str, record: bool, json: bool) -> CliResult {
    let found = match db.lookup(system, key)? {
        Some(id) if !record => match db.customer_of_record(system, key)? {
            Some(c) => {
                let c = db.follow_merges(c)?;
                note!("{system}:{key} is source record {id} of customer {c} (--record shows the record)");
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
            show::entity(db, &e, json)?;
            Ok(0)
        }
        None => Err(format!("no entity has identifier {system}:{key}").into()),
    }
}

/// `kith find`.
pub(crate) fn find(db: &Db, attr: &str, value: &str) -> CliResult {
    let index = Index::from_name(attr).ok_or_else(|| {
        let names: Vec<&str> = Index::ALL.iter().map(|i| i.name()).collect();
        format!(
            "{attr:?} is not an indexed attribute; indexed: {}",
            names.join(", ")
        )
    })?;
    let ids = db.find(index, value)?;
    if ids.is_empty() {
        note!("no entity has {index} {value:?}");
        return Ok(1);
    }
    for id in ids {
        if let Some(e) = db.get(id)? {
            say!("{}", show::one_line(db, &e));
        }
    }
    Ok(0)
}

/// `kith context`.
pub(crate) fn context(db: &Db, id: u64, interactions: usize, json: bool) -> CliResult {
    let id = customer_target(db, id)?;
    let options = kith::ContextOptions {
        recent_interactions: interactions,
        ..Default::default()
    };
    // The default assembly comes from the context cache; another is built.
    let c = if options == kith::ContextOptions::default() {
        db.context(id)?
    } else {
        std::sync::Arc::new(db.context_uncached(id, &options)?)
    };
    if json {
        say!("{}", kith::json::context_to_json(db, &c));
    } else {
        show::context(db, &c);
    }
    Ok(0)
}

/// `kith check`.
pub(crate) fn check(db: &Db) -> CliResult {
    let r = db.check()?;
    say!(
        "checked {} entities, {} relationships, {} identifiers, {} index entries ({} keys, {:.1} MiB of keys and values)",
        r.entities, r.relationships, r.identifiers, r.index_entries, r.keys,
        r.logical_bytes as f64 / (1 << 20) as f64
    );
    if r.is_ok() {
        say!("ok: no violations");
        Ok(0)
    } else {
        for v in &r.violations {
            say!("violation: {v}");
        }
        say!("{} violations", r.violations.len());
        Ok(1)
    }
}

/// `kith stats`.
pub(crate) fn stats(db: &Db, json: bool) -> CliResult {
    show::stats(&db.stats()?, db.engine(), json);
    Ok(0)
}
