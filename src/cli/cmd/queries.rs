//! Relationship queries: `household`, `guarantors`, `group`, `path`, `connected`, `shared`, `graph`.

#[allow(unused_imports)]
use crate::cli::*;

/// `kith household`.
pub(crate) fn household(db_dir: &PathBuf, id: u64, json: bool) -> CliResult {
    let db = open_existing(db_dir)?;
    let views = db.household(customer_target(&db, id)?)?;
    if json {
        println!("{}", kith::json::queries::household(&db, &views));
    } else {
        show::household(&db, &views);
    }
    Ok(0)
}

/// `kith guarantors`.
pub(crate) fn guarantors(
    db_dir: &PathBuf,
    id: u64,
    depth: usize,
    json: bool,
    at: Option<String>,
) -> CliResult {
    let db = open_existing(db_dir)?;
    let day = parse_day(at.as_deref())?;
    let n = db.guarantors_on(customer_target(&db, id)?, depth, day)?;
    if json {
        println!("{}", kith::json::queries::guarantors(&db, &n));
    } else {
        show::guarantors(&db, &n)?;
    }
    Ok(0)
}

/// `kith group`.
pub(crate) fn group(db_dir: &PathBuf, id: u64, json: bool) -> CliResult {
    let db = open_existing(db_dir)?;
    let g = db.group(customer_target(&db, id)?)?;
    if json {
        println!("{}", kith::json::queries::group(&g));
    } else {
        show::group(&db, &g)?;
    }
    Ok(0)
}

/// `kith owners`.
pub(crate) fn owners(
    db_dir: &PathBuf,
    id: u64,
    min_share: String,
    persons_only: bool,
    json: bool,
    at: Option<String>,
) -> CliResult {
    let db = open_existing(db_dir)?;
    let day = parse_day(at.as_deref())?;
    let pct = kith::Decimal::parse(&min_share)
        .map_err(|_| format!("--min-share {min_share:?} is not a number of percent"))?;
    let fraction = kith::Decimal::new(pct.mantissa(), pct.scale().saturating_add(2));
    let o = db.owners_on(customer_target(&db, id)?, fraction, persons_only, day)?;
    if json {
        println!("{}", kith::json::queries::owners(&db, &o));
        return Ok(0);
    }
    for w in &o.owners {
        let e = db
            .get(w.id)?
            .map(|e| show::one_line(&db, &e))
            .unwrap_or_default();
        let chain: Vec<String> = w.chain.iter().map(|c| c.to_string()).collect();
        println!(
            "{e}  effective {}{}  via {}",
            w.effective_share,
            w.direct_share
                .map(|d| format!(" (direct {d})"))
                .unwrap_or_default(),
            chain.join(" → ")
        );
    }
    if o.owners.is_empty() {
        println!("no owner holds {min_share}% or more");
    }
    if let Some(why) = &o.truncation {
        println!("(truncated: {why})");
    }
    Ok(0)
}

/// `kith path`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn path(
    db_dir: &PathBuf,
    a: u64,
    b: u64,
    kinds: Option<String>,
    depth: usize,
    max_paths: usize,
    json: bool,
    at: Option<String>,
) -> CliResult {
    let db = open_existing(db_dir)?;
    let follow = parse_follows(&db, kinds.as_deref())?;
    let day = parse_day(at.as_deref())?;
    let (a, b) = (customer_target(&db, a)?, customer_target(&db, b)?);
    let paths =
        kith::traverse::shortest_paths_following(&db, a, b, &follow, depth, max_paths, day)?;
    if json {
        println!("{}", kith::json::queries::paths(&paths));
        return Ok(0);
    }
    if paths.is_empty() {
        eprintln!("no path between {a} and {b} within {depth} hops");
        return Ok(1);
    }
    for p in paths {
        let parts: Vec<String> = p
            .iter()
            .map(|id| {
                db.get(*id)
                    .ok()
                    .flatten()
                    .map(|e| show::one_line(&db, &e))
                    .unwrap_or_else(|| id.to_string())
            })
            .collect();
        println!("{}", parts.join("  —  "));
    }
    Ok(0)
}

/// `kith connected`.
pub(crate) fn connected(
    db_dir: &PathBuf,
    id: u64,
    depth: usize,
    kinds: Option<String>,
    at: Option<String>,
) -> CliResult {
    let db = open_existing(db_dir)?;
    let mut spec = kith::traverse::TraverseSpec::new(&[], kith::traverse::Follow::Both, depth);
    spec.follow = parse_follows(&db, kinds.as_deref())?;
    spec.as_of = parse_day(at.as_deref())?;
    spec.node_kinds = Some(vec![
        kith::EntityKind::PERSON,
        kith::EntityKind::ORGANIZATION,
    ]);
    let t = db.traverse(customer_target(&db, id)?, &spec)?;
    for r in &t.reached {
        if let Some(e) = db.get(r.id)? {
            println!("{} hop(s)  {}", r.depth, show::one_line(&db, &e));
        }
    }
    if t.truncated {
        println!("(truncated at the traversal limits)");
    }
    Ok(0)
}

/// `kith shared`.
pub(crate) fn shared(db_dir: &PathBuf, id: u64, json: bool) -> CliResult {
    let db = open_existing(db_dir)?;
    let s = db.shared_identifiers(customer_target(&db, id)?)?;
    if json {
        println!("{}", kith::json::queries::shared(&s));
        return Ok(0);
    }
    for x in &s {
        let who = db
            .get(x.id)?
            .map(|e| show::one_line(&db, &e))
            .unwrap_or_default();
        println!("{:<8} {:<32} {who}", x.what, x.value);
    }
    Ok(0)
}

/// `kith graph`.
pub(crate) fn graph(db_dir: &PathBuf, id: u64, depth: usize, dot: bool) -> CliResult {
    let db = open_existing(db_dir)?;
    let _ = dot;
    let text = kith::traverse::neighbourhood_dot(&db, customer_target(&db, id)?, depth, |n| {
        db.get(n)
            .ok()
            .flatten()
            .map(|e| show::one_line(&db, &e))
            .unwrap_or_else(|| n.to_string())
    })?;
    print!("{text}");
    Ok(0)
}
