//! Identity resolution: `import`, `explain`, `lineage`, `same`, `apart`, `apply`, `evaluate`.

#[allow(unused_imports)]
use crate::cli::*;

/// `kith import`.
pub(crate) fn import(
    db_dir: &PathBuf,
    mapping: PathBuf,
    rejects: Option<PathBuf>,
    cache_mib: u64,
    max_rejects: u64,
    bulk: bool,
    files: Vec<PathBuf>,
) -> CliResult {
    // Beside the database, not wherever the command happens to run.
    let rejects = rejects.unwrap_or_else(|| {
        let mut name = db_dir.file_name().unwrap_or_default().to_os_string();
        name.push(".rejects.csv");
        db_dir.with_file_name(name)
    });
    if bulk {
        let engine = ENGINE.get().copied().flatten().unwrap_or_default();
        return import::run_bulk(db_dir, engine, &mapping, &files, &rejects, max_rejects);
    }
    let db = db_builder()
        .path(db_dir)
        .cache_bytes(mib("cache-mib", cache_mib)?)
        .durability(Durability::Background { every_ms: 1000 })
        .open()?;
    let code = import::run(&db, &mapping, &files, &rejects, max_rejects);
    finish_rules(&db);
    code
}

/// `kith explain`.
pub(crate) fn explain(
    db: &Db,
    system: &str,
    key: &str,
    with: Option<Vec<String>>,
    mapping: Option<&std::path::Path>,
) -> CliResult {
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
        let (b0, b1) = (other[0].as_str(), other[1].as_str());
        let config = match mapping {
            Some(path) => kith::import::Mapping::load(path)?
                .config()
                .map_err(|e| format!("{}: {e}", path.display()))?,
            None => kith::resolve::ResolveConfig::default(),
        };
        let p = db.explain_pair((system, key), (b0, b1), &config)?;
        say!("{system}:{key} against {b0}:{b1}");
        print(&p.fields, p.total);
        let cust = |c: Option<kith::EntityId>| {
            c.map_or("no customer".to_string(), |c| format!("customer {c}"))
        };
        use kith::resolve::PairWhy as W;
        let why = match p.why {
            W::Together { forced: true } => "one customer: a user decided they are the same".to_string(),
            W::Together { forced: false } => "one customer".to_string(),
            W::ForcedApart => "kept apart: a user decided they are not the same".to_string(),
            W::Veto(v) => format!("kept apart by the {v} veto: strong evidence of two people, whatever else they share (docs/resolution.md)"),
            W::BelowThreshold { threshold, possible: true } => format!("kept apart: the total is below the match threshold {threshold}, a possible match"),
            W::BelowThreshold { threshold, .. } => format!("kept apart: the total is below the match threshold {threshold}"),
            W::Conflict { a, b, reason } => format!("apart although the total reaches the threshold: joining them would put {a} and {b} in one customer, and {} holds those two apart", if reason == "apart" { "a user's decision".to_string() } else { format!("the {reason} veto") }),
            _ => "apart although the total reaches the threshold: the store's value frequencies (a phone or address many records share weighs less) or a block too large to search decided".to_string(),
        };
        say!(
            "{system}:{key} is {}; {b0}:{b1} is {}: {why}",
            cust(p.customer_a),
            cust(p.customer_b)
        );
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
    let asked = EntityId(id);
    let Some(e) = db.get(asked)? else {
        return Err(format!("no entity with id {id}").into());
    };
    let id = db.customer_for(asked)?.unwrap_or(asked);
    if id != asked {
        eprintln!("kith: {asked} is not a customer; showing its customer {id}");
    } else if !e.kind.is_party() {
        let kind = db.entity_kind_name(e.kind).unwrap_or_default();
        return Err(
            format!("entity {id} is a {kind}, not a customer: lineage is a customer's").into(),
        );
    }
    if db
        .neighbour_ids(id, kith::RelKind::RESOLVES_TO, kith::Direction::In)?
        .is_empty()
    {
        eprintln!("kith: customer {id} has no source records: its attributes were written directly, not chosen by survivorship");
    }
    show::lineage(&db.lineage(id)?);
    Ok(0)
}

/// Says so when a decision replaces an earlier, opposite one between the
/// same two records (`kind` is that earlier decision's relationship).
fn replaces(db: &Db, records: &[String], kind: kith::RelKind, earlier: &str) -> CliResult {
    let (Some(x), Some(y)) = (
        db.lookup(&records[0], &records[1])?,
        db.lookup(&records[2], &records[3])?,
    ) else {
        return Ok(0);
    };
    let linked = db
        .neighbour_ids(x, kind, kith::Direction::Out)?
        .contains(&y)
        || db
            .neighbour_ids(y, kind, kith::Direction::Out)?
            .contains(&x);
    if linked {
        eprintln!(
            "kith: {}:{} and {}:{} were decided {earlier} earlier; this decision replaces that one",
            records[0], records[1], records[2], records[3]
        );
    }
    Ok(0)
}

/// `kith same`.
pub(crate) fn same(db_dir: &PathBuf, records: Vec<String>) -> CliResult {
    let db = open_existing_to_write(db_dir)?;
    replaces(&db, &records, kith::RelKind::NOT_SAME, "not the same")?;
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
    replaces(&db, &records, kith::RelKind::SAME_AS, "the same")?;
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
    let db = db_builder()
        .path(db_dir)
        .durability(Durability::Background { every_ms: 1000 })
        .open()?;
    let code = import::apply(&db, &events);
    finish_rules(&db);
    code
}

/// Truth rows: `(entity_id, system, key)`.
type TruthRows = Vec<(String, String, String)>;

/// Reads a truth file: CSV with a header naming `entity_id`, `system` and
/// `key` (in any order; other columns ignored).
fn read_truth(path: &std::path::Path) -> Result<TruthRows, Box<dyn std::error::Error>> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let headers = rdr
        .headers()
        .map_err(|e| format!("{}: cannot read the header: {e}", path.display()))?
        .clone();
    let col = |name: &str| {
        headers.iter().position(|h| h.trim() == name).ok_or_else(|| {
            format!(
                "{}: no column {name:?} (a truth file has the columns entity_id,system,key; found {})",
                path.display(),
                headers.iter().collect::<Vec<_>>().join(",")
            )
        })
    };
    let (e, s, k) = (col("entity_id")?, col("system")?, col("key")?);
    let mut out = Vec::new();
    for (i, row) in rdr.records().enumerate() {
        let line = i + 2;
        let row = row.map_err(|err| format!("{}:{line}: {err}", path.display()))?;
        let get = |c: usize, name: &str| {
            row.get(c)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
                .ok_or_else(|| format!("{}:{line}: {name} is empty", path.display()))
        };
        out.push((get(e, "entity_id")?, get(s, "system")?, get(k, "key")?));
    }
    if out.is_empty() {
        return Err(format!("{}: the truth file has no rows", path.display()).into());
    }
    Ok(out)
}

/// `kith evaluate --truth FILE`.
pub(crate) fn evaluate(db: &Db, truth: &std::path::Path, limit: usize, json: bool) -> CliResult {
    let rows = read_truth(truth)?;
    let ev = db.evaluate(&rows, limit)?;
    let fields = |x: &kith::ExternalId| -> String {
        let Ok(Some(id)) = db.lookup(&x.system, &x.key) else {
            return String::new();
        };
        let Ok(Some(e)) = db.get(id) else {
            return String::new();
        };
        [
            kith::attrs::GIVEN_NAME,
            kith::attrs::FAMILY_NAME,
            kith::attrs::BIRTH_DATE,
            kith::attrs::NATIONAL_ID,
            kith::attrs::EMAIL,
            kith::attrs::POSTAL_CODE,
        ]
        .iter()
        .filter_map(|f| e.attr(f).map(|v| v.to_string()))
        .collect::<Vec<_>>()
        .join(" | ")
    };
    if json {
        let j = serde_json::json!({
            "records": ev.records,
            "missing": ev.missing.iter().map(|x| x.to_string()).collect::<Vec<_>>(),
            "predicted_pairs": ev.predicted_pairs,
            "true_pairs": ev.true_pairs,
            "true_positives": ev.true_positives,
            "precision": ev.precision(),
            "recall": ev.recall(),
            "f1": ev.f1(),
            "false_merge_count": ev.false_merge_count,
            "false_split_count": ev.false_split_count,
            "false_merges": ev.false_merges.iter().map(|(a, b, c)| serde_json::json!({"a": a.to_string(), "b": b.to_string(), "customer": c.0, "a_fields": fields(a), "b_fields": fields(b)})).collect::<Vec<_>>(),
            "false_splits": ev.false_splits.iter().map(|(a, b, ca, cb)| serde_json::json!({"a": a.to_string(), "b": b.to_string(), "customers": [ca.0, cb.0], "a_fields": fields(a), "b_fields": fields(b)})).collect::<Vec<_>>(),
        });
        say!("{}", serde_json::to_string_pretty(&j)?);
    } else {
        say!(
            "records {}; predicted pairs {}; true pairs {}; true positives {}; precision {:.4}; recall {:.4}; F1 {:.4}",
            ev.records, ev.predicted_pairs, ev.true_pairs, ev.true_positives, ev.precision(), ev.recall(), ev.f1()
        );
        say!(
            "false merges: {} pairs{}",
            ev.false_merge_count,
            if ev.false_merge_count > ev.false_merges.len() as u64 {
                format!(" (the first {} shown)", ev.false_merges.len())
            } else {
                String::new()
            }
        );
        for (a, b, c) in &ev.false_merges {
            say!(
                "  customer {c}: {a} [{}]  vs  {b} [{}]",
                fields(a),
                fields(b)
            );
        }
        say!(
            "false splits: {} pairs{}",
            ev.false_split_count,
            if ev.false_split_count > ev.false_splits.len() as u64 {
                format!(" (the first {} shown)", ev.false_splits.len())
            } else {
                String::new()
            }
        );
        for (a, b, ca, cb) in &ev.false_splits {
            say!(
                "  {a} (customer {ca}) [{}]  vs  {b} (customer {cb}) [{}]",
                fields(a),
                fields(b)
            );
        }
    }
    if !ev.missing.is_empty() {
        let first: Vec<String> = ev.missing.iter().take(5).map(|x| x.to_string()).collect();
        eprintln!(
            "kith: {} truth rows name records this database does not hold (left out of the scores): {}{}",
            ev.missing.len(),
            first.join(", "),
            if ev.missing.len() > 5 { ", …" } else { "" }
        );
        return Ok(1);
    }
    Ok(0)
}

/// `kith review`.
pub(crate) fn review(db: &Db, limit: usize, json: bool) -> CliResult {
    let q = db.review_queue(limit)?;
    let first_record = |c: EntityId| -> Result<Option<kith::ExternalId>, kith::ReadError> {
        for r in db.neighbour_ids(c, kith::RelKind::RESOLVES_TO, kith::Direction::In)? {
            if let Some(x) = db.get(r)?.and_then(|e| e.identifiers().into_iter().next()) {
                return Ok(Some(x));
            }
        }
        Ok(None)
    };
    let label = |c: EntityId| -> String {
        db.get(c)
            .ok()
            .flatten()
            .map(|e| show::label(&e))
            .unwrap_or_default()
    };
    let config = kith::resolve::ResolveConfig::default();
    let mut out = Vec::new();
    for m in &q.matches {
        let (ra, rb) = (first_record(m.customer)?, first_record(m.candidate)?);
        let pair = match (&ra, &rb) {
            (Some(a), Some(b)) => {
                Some(db.explain_pair((&a.system, &a.key), (&b.system, &b.key), &config)?)
            }
            _ => None,
        };
        out.push((m, ra, rb, pair));
    }
    if json {
        let j: Vec<serde_json::Value> = out
            .iter()
            .map(|(m, ra, rb, pair)| {
                serde_json::json!({
                    "customer": m.customer.0,
                    "candidate": m.candidate.0,
                    "score": m.score,
                    "records": [ra.as_ref().map(|x| x.to_string()), rb.as_ref().map(|x| x.to_string())],
                    "fields": pair.as_ref().map(|p| kith::json::field_scores_to_json(&p.fields)),
                })
            })
            .collect();
        say!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"total": q.total, "matches": j}))?
        );
        return Ok(0);
    }
    say!(
        "{} possible matches await review{}",
        q.total,
        if q.total > q.matches.len() as u64 {
            format!(" (the best {} shown)", q.matches.len())
        } else {
            String::new()
        }
    );
    for (m, ra, rb, pair) in out {
        say!();
        say!(
            "customer {} ({}) may be customer {} ({}): score {:.2}",
            m.customer,
            label(m.customer),
            m.candidate,
            label(m.candidate),
            m.score
        );
        if let Some(p) = pair {
            let agree: Vec<String> = p
                .fields
                .iter()
                .filter(|f| f.agreement != kith::resolve::compare::Agreement::Missing)
                .map(|f| {
                    format!(
                        "{} {}",
                        f.field,
                        format!("{:?}", f.agreement).to_lowercase()
                    )
                })
                .collect();
            say!("  {}", agree.join(", "));
        }
        if let (Some(a), Some(b)) = (ra, rb) {
            say!(
                "  decide: kith same {} {} {} {}   |   kith apart {} {} {} {}",
                a.system,
                a.key,
                b.system,
                b.key,
                a.system,
                a.key,
                b.system,
                b.key
            );
        }
    }
    Ok(0)
}
