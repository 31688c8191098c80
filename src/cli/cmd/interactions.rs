//! `kith interact` and `kith interactions`: a party's timeline.

#[allow(unused_imports)]
use crate::cli::*;

/// `kith interact`.
pub(crate) fn interact(
    db_dir: &PathBuf,
    id: u64,
    channel: String,
    kind: String,
    summary: String,
    status: String,
    at: Option<String>,
) -> CliResult {
    let db = open_existing_to_write(db_dir)?;
    let when = match at {
        Some(t) => kith::Timestamp::parse(&t)?,
        None => kith::Timestamp::now(),
    };
    let mut e = kith::NewEntity::new(kith::EntityKind::INTERACTION)
        .attr(kith::attrs::CHANNEL, channel)
        .attr(kith::attrs::INTERACTION_TYPE, kind)
        .attr(kith::attrs::STATUS, status)
        .attr(kith::attrs::OCCURRED_AT, when);
    if !summary.is_empty() {
        e = e.attr(kith::attrs::SUMMARY, summary);
    }
    let iid = db.append_interaction(EntityId(id), e)?;
    finish_rules(&db);
    say!("{iid}");
    Ok(0)
}

/// `kith interactions`.
pub(crate) fn interactions(
    db: &Db,
    id: u64,
    limit: usize,
    from: Option<String>,
    to: Option<String>,
) -> CliResult {
    let list = match (from, to) {
        (None, None) => db.recent_interactions(customer_target(db, id)?, limit)?,
        (f, t) => {
            let f = f
                .map(|s| kith::Timestamp::parse(&s))
                .transpose()?
                .unwrap_or(kith::Timestamp::from_micros(i64::MIN));
            let t = t
                .map(|s| kith::Timestamp::parse(&s))
                .transpose()?
                .unwrap_or(kith::Timestamp::from_micros(i64::MAX));
            db.interactions_between(customer_target(db, id)?, f, t, limit)?
        }
    };
    for (_, iid) in list {
        if let Some(e) = db.get(iid)? {
            say!("{}", show::one_line(db, &e));
        }
    }
    Ok(0)
}
