//! Printing entities, relationships and statistics for people and for machines.

use crate::cli::out::say;
use kith::{Db, Direction, EdgeProps, Entity, Neighbour, Stats};
use serde_json::{json, Value as J};

/// A readable kind name.
pub fn kind_name(db: &Db, e: &Entity) -> String {
    db.entity_kind_name(e.kind)
        .unwrap_or_else(|| e.kind.to_string())
}

/// A short label: the name of a person or organization, the number of an account.
pub fn label(e: &Entity) -> String {
    let t = |k| e.text(k).unwrap_or("");
    let s = match () {
        _ if e.text("given_name").is_some() => format!("{} {}", t("given_name"), t("family_name")),
        _ if e.text("organization_name").is_some() => t("organization_name").to_string(),
        _ if e.text("account_number").is_some() => {
            let bal = e.attr("balance").map(|v| v.to_string()).unwrap_or_default();
            format!(
                "{} {} {} {} ({})",
                t("product_type"),
                t("account_number"),
                bal,
                t("currency"),
                t("status")
            )
        }
        _ if e.text("name").is_some() => t("name").to_string(),
        _ if e.text("summary").is_some() => {
            let at = e
                .attr("occurred_at")
                .map(|v| v.to_string())
                .unwrap_or_default();
            format!("{at} {} ({})", t("summary"), t("status"))
        }
        _ => String::new(),
    };
    s.trim().to_string()
}

/// `id kind label`.
pub fn one_line(db: &Db, e: &Entity) -> String {
    format!("{} {} {}", e.id, kind_name(db, e), label(e))
}

fn props_text(p: &EdgeProps) -> String {
    let mut parts: Vec<String> = p.attrs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    if let Some(s) = p.since {
        parts.push(format!("since={s}"));
    }
    if let Some(u) = p.until {
        parts.push(format!("until={u}"));
    }
    parts.join(" ")
}

/// ` [props]` when the relationship has any, else nothing.
pub fn bracketed(p: &EdgeProps) -> String {
    let t = props_text(p);
    if t.is_empty() {
        t
    } else {
        format!(" [{t}]")
    }
}

/// A relationship crossed: `-KIND->` along it or `<-KIND-` against it, with
/// its properties.
pub fn hop(db: &Db, h: &kith::traverse::Hop) -> String {
    let name = db
        .relationship_kind_name(h.kind)
        .unwrap_or_else(|| h.kind.to_string());
    let arrow = if h.direction == Direction::Out {
        format!("-{name}->")
    } else {
        format!("<-{name}-")
    };
    format!("{arrow}{}", bracketed(&h.props))
}

/// A path: each entity, and each relationship crossed between them.
pub fn path(db: &Db, p: &kith::traverse::Path) -> String {
    let node = |id: kith::EntityId| {
        db.get(id)
            .ok()
            .flatten()
            .map(|e| one_line(db, &e))
            .unwrap_or_else(|| id.to_string())
    };
    let mut out = node(p.nodes[0]);
    for (h, next) in p.hops.iter().zip(&p.nodes[1..]) {
        out.push_str(&format!("  {}  {}", hop(db, h), node(*next)));
    }
    out
}

fn all_edges(db: &Db, e: &Entity) -> Result<Vec<Neighbour>, kith::ReadError> {
    let mut v = db.edges(e.id, Direction::Out)?;
    v.extend(db.edges(e.id, Direction::In)?);
    Ok(v)
}

/// Prints an entity with its relationships.
pub fn entity(db: &Db, e: &Entity, as_json: bool) -> Result<(), kith::ReadError> {
    let edges = all_edges(db, e)?;
    if as_json {
        let mut doc = kith::json::entity_to_json(e, &kind_name(db, e));
        doc["relationships"] = J::Array(
            edges
                .iter()
                .map(|n| {
                    let name = db
                        .relationship_kind_name(n.kind)
                        .unwrap_or_else(|| n.kind.to_string());
                    kith::json::neighbour_to_json(n, &name)
                })
                .collect(),
        );
        say!("{doc}");
        return Ok(());
    }
    say!("{} {}", kind_name(db, e), e.id);
    for (k, v) in &e.attrs() {
        say!("  {k}: {v}");
    }
    let identifiers = e.identifiers();
    if !identifiers.is_empty() {
        let ids: Vec<String> = identifiers.iter().map(|x| x.to_string()).collect();
        say!("  identifiers: {}", ids.join(", "));
    }
    say!("  created: {}  updated: {}", e.created, e.updated);
    if !edges.is_empty() {
        say!("  relationships:");
        for n in &edges {
            let other = db
                .get(n.id)?
                .map(|o| one_line(db, &o))
                .unwrap_or_else(|| n.id.to_string());
            let arrow = if n.direction == Direction::Out {
                "->"
            } else {
                "<-"
            };
            let name = db
                .relationship_kind_name(n.kind)
                .unwrap_or_else(|| n.kind.to_string());
            say!("    {arrow} {name} {other} {}", props_text(&n.props));
        }
    }
    Ok(())
}

/// Prints statistics.
pub fn stats(s: &Stats, engine: kith::StorageEngine, as_json: bool) {
    if as_json {
        say!(
            "{}",
            json!({"entities": s.entities, "merged": s.merged, "relationships": s.relationships, "disk_bytes": s.disk_bytes, "engine": engine.name()})
        );
        return;
    }
    say!("entities:");
    for (k, n) in &s.entities {
        match s.merged.get(k) {
            Some(m) => say!("  {k:<16} {n:>12}  (and {m} merged into others)"),
            None => say!("  {k:<16} {n:>12}"),
        }
    }
    say!("relationships:");
    for (k, n) in &s.relationships {
        say!("  {k:<16} {n:>12}");
    }
    say!(
        "disk: {:.1} MiB ({engine})",
        s.disk_bytes as f64 / (1 << 20) as f64
    );
}

/// Prints households.
pub fn household(db: &Db, views: &[kith::traverse::HouseholdView]) {
    if views.is_empty() {
        say!("(in no household)");
    }
    for v in views {
        say!("{}", one_line(db, &v.household));
        for m in &v.members {
            say!(
                "  {:<8} {}{}",
                m.role.as_deref().unwrap_or(""),
                one_line(db, &m.person),
                bracketed(&m.props)
            );
            for a in &m.accounts {
                say!(
                    "           {:<8} {}{}",
                    a.role.as_deref().unwrap_or(""),
                    one_line(db, &a.account),
                    bracketed(&a.props)
                );
            }
        }
        say!("  totals:");
        for (product, total) in &v.totals {
            say!("    {product:<12} {total}");
        }
    }
}

/// Prints a guarantor network.
pub fn guarantors(db: &Db, n: &kith::traverse::GuarantorNetwork) -> Result<(), kith::ReadError> {
    let line = |l: &kith::traverse::GuarantorLink| -> Result<String, kith::ReadError> {
        let chain: Vec<String> = l.chain.iter().map(|c| c.to_string()).collect();
        let who = db.get(l.id)?.map(|e| one_line(db, &e)).unwrap_or_default();
        let last = l.props.last().map(bracketed).unwrap_or_default();
        Ok(format!(
            "  depth {}  {who}{last}  (chain {})",
            l.depth,
            chain.join(" -> ")
        ))
    };
    say!("guarantees ({}):", n.guarantees.len());
    for l in &n.guarantees {
        say!("{}", line(l)?);
    }
    say!("guaranteed by ({}):", n.guaranteed_by.len());
    for l in &n.guaranteed_by {
        say!("{}", line(l)?);
    }
    say!(
        "exposure: {} across {} loan accounts{}",
        n.total_exposure,
        n.exposed_accounts.len(),
        if n.truncated { " (truncated)" } else { "" }
    );
    Ok(())
}

/// Prints a corporate group.
pub fn group(db: &Db, g: &kith::traverse::CorporateGroup) -> Result<(), kith::ReadError> {
    let name = |id: kith::EntityId| -> Result<String, kith::ReadError> {
        Ok(db
            .get(id)?
            .map(|e| one_line(db, &e))
            .unwrap_or_else(|| id.to_string()))
    };
    say!("ultimate parent: {}", name(g.ultimate_parent)?);
    for m in &g.members {
        let held: Vec<String> = m
            .owned_by
            .iter()
            .map(|(p, props)| format!("{p}{}", bracketed(props)))
            .collect();
        say!(
            "  {}{}  effective share {}{}",
            "  ".repeat(m.depth),
            name(m.id)?,
            m.effective_share,
            if held.is_empty() {
                String::new()
            } else {
                format!("  held by {}", held.join(", "))
            }
        );
    }
    say!(
        "consolidated exposure: {}{}",
        g.consolidated_exposure,
        match &g.truncation {
            Some(why) => format!(" (truncated: {why})"),
            None => String::new(),
        }
    );
    Ok(())
}

/// Prints a customer context.
pub fn context(db: &Db, c: &kith::CustomerContext) {
    say!("{}", one_line(db, &c.customer));
    say!("profile:");
    for p in &c.profile {
        let src = p
            .source
            .as_ref()
            .map(|s| format!("  (from {s})"))
            .unwrap_or_default();
        say!("  {:<16} {}{src}", p.name, p.value);
    }
    let ids: Vec<String> = c.identifiers.iter().map(|x| x.to_string()).collect();
    say!("identifiers: {}", ids.join(", "));
    say!("accounts:");
    for a in &c.accounts {
        say!(
            "  {:<8} {}",
            a.role.as_deref().unwrap_or(""),
            one_line(db, &a.account)
        );
    }
    for h in &c.households {
        say!(
            "household {} ({}):",
            one_line(db, &h.household),
            h.role.as_deref().unwrap_or("member")
        );
        for (m, r) in &h.members {
            say!("  {:<8} {}", r.as_deref().unwrap_or(""), one_line(db, m));
        }
        let totals: Vec<String> = h.totals.iter().map(|(k, v)| format!("{k} {v}")).collect();
        say!("  totals: {}", totals.join(", "));
    }
    if !c.relationships.is_empty() {
        say!("relationships:");
        for r in &c.relationships {
            let arrow = if r.direction == Direction::Out {
                "->"
            } else {
                "<-"
            };
            let name = db
                .relationship_kind_name(r.kind)
                .unwrap_or_else(|| r.kind.to_string());
            say!("  {arrow} {name:<14} {}", one_line(db, &r.other));
        }
    }
    if !c.recent_interactions.is_empty() {
        say!("recent interactions:");
        for i in &c.recent_interactions {
            say!("  {}", one_line(db, i));
        }
    }
    if !c.open_items.is_empty() {
        say!("open items:");
        for o in &c.open_items {
            say!("  {:<28} {}", o.what, one_line(db, &o.entity));
        }
    }
    let f = &c.figures;
    say!(
        "figures: deposits {}, credit {}, {} open products, tenure {} days, tier {}",
        f.deposits,
        f.credit,
        f.open_products,
        f.tenure_days
            .map(|d| d.to_string())
            .unwrap_or_else(|| "-".into()),
        f.tier.as_deref().unwrap_or("-")
    );
}

/// A customer's lineage: each golden attribute, its value, source and rule.
pub fn lineage(l: &[kith::resolve::Lineage]) {
    for x in l {
        say!(
            "    {:<16} {:<28} from {} ({}, trust {}, {} agreeing, by {})",
            x.attr,
            x.value.to_string(),
            x.record,
            x.at,
            x.trust,
            x.agreeing,
            x.rule
        );
    }
}
