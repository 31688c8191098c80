//! The JSON answers behind the page (documented in `docs/protocol.md`):
//! search, one party's 360 view, its relationship graph, and the review
//! decisions on a possible match.

use super::HttpError;
use crate::json::{self, queries};
use crate::model::attrs as a;
use crate::{ChangeId, Db, Direction, Entity, EntityId, EntityKind, Index, RelKind};
use serde_json::{json, Value as J};
use std::collections::BTreeSet;
use std::time::Instant;

/// Longest search query, characters.
const MAX_QUERY: usize = 256;
/// Most source records explained on one page.
const MAX_EXPLAINED: usize = 50;
/// Newest actions looked through for a customer's.
const ACTIONS_WINDOW: usize = 1_000;
/// How search decides what a query is.
const SEARCH_BY: [&str; 7] = [
    "any",
    "name",
    "email",
    "phone",
    "record",
    "id",
    "identifier",
];

fn kind_name(db: &Db, e: &Entity) -> String {
    db.entity_kind_name(e.kind)
        .unwrap_or_else(|| e.kind.to_string())
}

fn entity(db: &Db, e: &Entity) -> J {
    json::entity_to_json(e, &kind_name(db, e))
}

/// A party's name for people: given and family names, or the organization's name.
pub(crate) fn display_name(e: &Entity) -> String {
    let t = |k| e.text(k).unwrap_or("");
    let n = if let Some(f) = e
        .text(a::FULL_NAME)
        .filter(|_| e.text(a::GIVEN_NAME).is_none())
    {
        f.to_string()
    } else if e.text(a::GIVEN_NAME).is_some() || e.text(a::FAMILY_NAME).is_some() {
        format!("{} {}", t(a::GIVEN_NAME), t(a::FAMILY_NAME))
    } else if let Some(o) = e.text(a::ORGANIZATION_NAME) {
        o.to_string()
    } else {
        t(a::NAME).to_string()
    };
    n.trim().to_string()
}

/// A short label of an account, household or other entity for the graph.
fn label(e: &Entity) -> String {
    let t = |k| e.text(k).unwrap_or("");
    let s = if e.text(a::ACCOUNT_NUMBER).is_some() {
        format!("{} {}", t(a::PRODUCT_TYPE), t(a::ACCOUNT_NUMBER))
    } else if let Some(n) = e.text(a::NAME) {
        n.to_string()
    } else if let Some(s) = e.text(a::SUMMARY) {
        s.to_string()
    } else {
        format!("#{}", e.id)
    };
    s.trim().to_string()
}

fn is_party(e: &Entity) -> bool {
    e.kind == EntityKind::PERSON || e.kind == EntityKind::ORGANIZATION
}

/// The parties an entity stands for in search results: a party (its
/// survivor if merged), a source record's customer, an account's owners.
fn parties_of(db: &Db, e: &Entity) -> Result<Vec<EntityId>, HttpError> {
    Ok(match e.kind {
        k if k == EntityKind::ACCOUNT => db
            .neighbour_ids(e.id, RelKind::OWNS, Direction::In)?
            .into_iter()
            .map(|p| db.follow_merges(p))
            .collect::<Result<_, _>>()?,
        _ => db.customer_for(e.id)?.into_iter().collect(),
    })
}

/// `/api/search?q=&by=&limit=`: parties matching a name, email, phone,
/// `system:key`, identifier or id.
pub(crate) fn search(db: &Db, q: &str, by: Option<&str>, limit: usize) -> Result<J, HttpError> {
    let started = Instant::now();
    let q = q.trim();
    if q.is_empty() {
        return Err(HttpError::new(
            400,
            "q is empty: give a name, email, phone, system:key or id",
        ));
    }
    if q.chars().count() > MAX_QUERY {
        return Err(HttpError::new(
            400,
            format!("q is longer than {MAX_QUERY} characters"),
        ));
    }
    let by = by.unwrap_or("any").trim().to_ascii_lowercase();
    if !SEARCH_BY.contains(&by.as_str()) {
        let close = crate::error::did_you_mean(&by, &SEARCH_BY);
        return Err(HttpError::new(
            400,
            format!("by={by:?} is not one of {}{close}", SEARCH_BY.join(", ")),
        ));
    }
    let digits = q.chars().filter(char::is_ascii_digit).count();
    let phone_like = digits >= 7
        && q.chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    let record_like = q
        .split_once(':')
        .is_some_and(|(s, k)| !s.is_empty() && !k.is_empty() && !s.contains(' '));
    let any = by == "any";
    // (entity, how it matched, score)
    let mut hits: Vec<(EntityId, &'static str, f64)> = Vec::new();
    let mut truncated: Option<String> = None;
    if by == "id" || (any && q.bytes().all(|b| b.is_ascii_digit())) {
        if let Ok(n) = q.parse::<u64>() {
            if db.contains(EntityId(n))? {
                hits.push((EntityId(n), "id", 1.0));
            }
        }
    }
    if by == "email" || (any && q.contains('@')) {
        for id in db.find_at_most(Index::Email, q, limit + 1)? {
            hits.push((id, "email", 1.0));
        }
    }
    if by == "phone" || (any && phone_like) {
        for id in db.find_at_most(Index::Phone, q, limit + 1)? {
            hits.push((id, "phone", 1.0));
        }
    }
    if by == "record" || (any && record_like) {
        let (system, key) = q
            .split_once(':')
            .ok_or_else(|| HttpError::new(400, "a record is system:key"))?;
        if let Some(id) = db.lookup(system.trim(), key.trim())? {
            hits.push((id, "record", 1.0));
        }
    }
    if by == "identifier" || (any && digits > 0 && !q.contains('@') && !record_like) {
        for (index, how) in [
            (Index::AccountNumber, "account_number"),
            (Index::NationalId, "national_id"),
            (Index::TaxId, "tax_id"),
            (Index::RegistrationNumber, "registration_number"),
        ] {
            for id in db.find_at_most(index, q, limit + 1)? {
                hits.push((id, how, 1.0));
            }
        }
    }
    if by == "name" || (any && hits.is_empty() && !q.contains('@')) {
        let found = db.search_names(q, limit)?;
        truncated = found.truncated;
        for m in found.matches {
            hits.push((
                m.id,
                if m.prefix { "name" } else { "name (close)" },
                m.score,
            ));
        }
    }
    let mut seen = BTreeSet::new();
    let mut results = Vec::new();
    for (id, how, score) in hits {
        let Some(e) = db.get(id)? else { continue };
        for p in parties_of(db, &e)? {
            if !seen.insert(p) {
                continue;
            }
            if results.len() == limit {
                truncated.get_or_insert_with(|| {
                    format!("more than {limit} parties match; the first {limit} are shown")
                });
                break;
            }
            let Some(party) = db.get(p)? else { continue };
            if !is_party(&party) {
                continue;
            }
            results.push(json!({
                "id": p.0,
                "kind": kind_name(db, &party),
                "name": display_name(&party),
                "city": party.text(a::CITY),
                "birth_date": party.attr(a::BIRTH_DATE).map(|v| v.to_string()),
                "records": db.neighbour_ids(p, RelKind::RESOLVES_TO, Direction::In)?.len(),
                "matched_by": how,
                "score": (score * 1000.0).round() / 1000.0,
            }));
        }
    }
    Ok(json!({
        "query": q,
        "results": results,
        "truncated": truncated,
        "elapsed_us": started.elapsed().as_micros() as u64,
    }))
}

/// The records that resolve to `party`, each with its system and key.
fn records(db: &Db, party: EntityId) -> Result<Vec<Entity>, HttpError> {
    let mut out = Vec::new();
    for r in db.neighbour_ids(party, RelKind::RESOLVES_TO, Direction::In)? {
        if let Some(e) = db.get(r)? {
            out.push(e);
        }
    }
    Ok(out)
}

fn not_a_party(db: &Db, e: &Entity) -> Result<HttpError, HttpError> {
    let mut msg = format!(
        "entity {} is a {}, not a person or organization",
        e.id,
        kind_name(db, e)
    );
    let parties = parties_of(db, e)?;
    if !parties.is_empty() {
        let list: Vec<String> = parties.iter().map(|p| p.to_string()).collect();
        msg.push_str(&format!(" (its customers: {})", list.join(", ")));
    }
    Ok(HttpError::new(404, msg))
}

/// `/api/party/ID`: everything the customer page shows.
pub(crate) fn party(db: &Db, id: EntityId, interactions: usize) -> Result<J, HttpError> {
    let started = Instant::now();
    let Some(e) = db.get(id)? else {
        return Err(HttpError::new(404, format!("no entity with id {id}")));
    };
    if !is_party(&e) {
        return Err(not_a_party(db, &e)?);
    }
    let survivor = db.follow_merges(id)?;
    if survivor != id {
        return Ok(json!({"id": id.0, "merged_into": survivor.0}));
    }
    let context = db.context(id).map_err(|e| match e {
        crate::ContextError::NotFound(_) => HttpError::new(404, format!("no entity with id {id}")),
        other => HttpError::new(500, other.to_string()),
    })?;
    let recs = records(db, id)?;
    let lineage = if recs.is_empty() {
        J::Array(Vec::new())
    } else {
        json::lineage_to_json(
            &db.lineage(id)
                .map_err(|e| HttpError::new(500, e.to_string()))?,
        )
    };
    // Identifiers grouped by system.
    let mut by_system = serde_json::Map::new();
    for x in &context.identifiers {
        by_system
            .entry(x.system.clone())
            .or_insert_with(|| J::Array(Vec::new()))
            .as_array_mut()
            .expect("an array")
            .push(J::String(x.key.clone()));
    }
    // Accounts with their other owners.
    let mut accounts = Vec::new();
    for h in &context.accounts {
        let mut co = Vec::new();
        for n in db.neighbours(h.account.id, RelKind::OWNS, Direction::In)? {
            if n.id == id {
                continue;
            }
            if let Some(o) = db.get(n.id)? {
                co.push(json!({
                    "id": n.id.0,
                    "name": display_name(&o),
                    "role": n.props.attrs.get(a::ROLE).map(|v| v.to_string()),
                }));
            }
        }
        accounts.push(json!({"account": entity(db, &h.account), "role": h.role, "co_owners": co}));
    }
    // The timeline, newest first.
    let mut timeline = Vec::new();
    let recent = db.recent_interactions(id, interactions + 1)?;
    let timeline_truncated = recent.len() > interactions;
    for (_, i) in recent.into_iter().take(interactions) {
        if let Some(x) = db.get(i)? {
            timeline.push(entity(db, &x));
        }
    }
    // Possible matches awaiting review.
    let mut possible = Vec::new();
    for dir in [Direction::Out, Direction::In] {
        for n in db.neighbours(id, RelKind::POSSIBLY_SAME, dir)? {
            let other = db.follow_merges(n.id)?;
            if other == id {
                continue;
            }
            if let Some(o) = db.get(other)? {
                possible.push(json!({
                    "id": other.0,
                    "name": display_name(&o),
                    "kind": kind_name(db, &o),
                    "city": o.text(a::CITY),
                    "birth_date": o.attr(a::BIRTH_DATE).map(|v| v.to_string()),
                    // Stored as the resolution score × 100.
                    "score": match n.props.attrs.get("score") {
                        Some(crate::Value::Int(x)) => Some(*x as f64 / 100.0),
                        _ => None,
                    },
                }));
            }
        }
    }
    // Source records and why each belongs.
    let mut sources = Vec::new();
    for r in recs.iter().take(MAX_EXPLAINED) {
        let x = r.identifiers();
        let explain = match x.first() {
            Some(x) => db
                .explain(&x.system, &x.key)
                .ok()
                .map(|ex| json::explanation_to_json(&ex)),
            None => None,
        };
        sources.push(json!({"record": entity(db, r), "explain": explain}));
    }
    let guarantors = db
        .guarantors(id, 4)
        .map(|g| queries::guarantors(db, &g))
        .map_err(|e| HttpError::new(500, e.to_string()))?;
    let group = if e.kind == EntityKind::ORGANIZATION {
        db.group(id)
            .map(|g| queries::group(&g))
            .map_err(|e| HttpError::new(500, e.to_string()))?
    } else {
        // A person's employers' groups are one click away; the person has none.
        J::Null
    };
    // Names of everyone the guarantor network and group mention.
    let mut mentioned = BTreeSet::new();
    for part in [
        &guarantors["guarantees"],
        &guarantors["guaranteed_by"],
        &group["members"],
    ] {
        for l in part.as_array().into_iter().flatten() {
            mentioned.extend(l["id"].as_u64());
            for c in l["chain"].as_array().into_iter().flatten() {
                mentioned.extend(c.as_u64());
            }
        }
    }
    for x in guarantors["exposed_accounts"]
        .as_array()
        .into_iter()
        .flatten()
    {
        mentioned.extend(x.as_u64());
    }
    let mut names = serde_json::Map::new();
    for m in mentioned {
        if let Some(x) = db.get(EntityId(m))? {
            let n = if is_party(&x) {
                display_name(&x)
            } else {
                label(&x)
            };
            names.insert(m.to_string(), json!({"name": n, "kind": kind_name(db, &x)}));
        }
    }
    // Actions the rules raised about this customer, among the newest.
    let mut actions = Vec::new();
    let window = db
        .actions()
        .range(ChangeId::ZERO, ChangeId::MAX, ACTIONS_WINDOW, true)
        .map_err(|e| HttpError::new(500, e.to_string()))?;
    let looked = window.len();
    for entry in window {
        if let crate::Change::ActionRaised { customer, .. } = &entry.change {
            if *customer == id && actions.len() < 20 {
                actions.push(json::change_to_json(&entry));
            }
        }
    }
    Ok(json!({
        "id": id.0,
        "kind": kind_name(db, &e),
        "name": display_name(&e),
        "context": json::context_to_json(db, &context),
        "lineage": lineage,
        "identifiers_by_system": by_system,
        "accounts": accounts,
        "timeline": timeline,
        "timeline_truncated": timeline_truncated.then(|| format!("only the newest {interactions} interactions")),
        "possible_matches": possible,
        "records": sources,
        "records_truncated": (recs.len() > MAX_EXPLAINED).then(|| format!("{} records; the first {MAX_EXPLAINED} are shown", recs.len())),
        "guarantors": guarantors,
        "group": group,
        "names": names,
        "actions": actions,
        "actions_window": looked,
        "live": db.inner.change_log,
        "elapsed_us": started.elapsed().as_micros() as u64,
    }))
}

/// `/api/party/ID/graph?hops=&max_nodes=`: the party's neighbourhood as
/// nodes and edges (identity-resolution and interaction links left out).
pub(crate) fn graph(db: &Db, id: EntityId, hops: usize, max_nodes: usize) -> Result<J, HttpError> {
    let started = Instant::now();
    let Some(e) = db.get(id)? else {
        return Err(HttpError::new(404, format!("no entity with id {id}")));
    };
    if !is_party(&e) {
        return Err(not_a_party(db, &e)?);
    }
    let kinds: Vec<RelKind> = crate::traverse::default_kinds(db)
        .into_iter()
        .filter(|k| *k != RelKind::HAD_INTERACTION)
        .collect();
    let mut spec = crate::traverse::TraverseSpec::new(&kinds, crate::traverse::Follow::Both, hops);
    spec.max_results = max_nodes;
    let sub = db
        .subgraph(id, &spec)
        .map_err(|e| HttpError::new(500, e.to_string()))?;
    let mut nodes = Vec::new();
    for n in sub.graph.node_indices() {
        let nid = sub.graph[n];
        let Some(x) = db.get(nid)? else { continue };
        let label = if is_party(&x) {
            display_name(&x)
        } else {
            label(&x)
        };
        nodes.push(json!({
            "id": nid.0,
            "kind": kind_name(db, &x),
            "label": label,
            "center": nid == id,
        }));
    }
    let mut edges = Vec::new();
    for ei in sub.graph.edge_indices() {
        let (p, q) = sub.graph.edge_endpoints(ei).expect("an edge has ends");
        let (kind, source) = sub.graph[ei];
        let (x, y) = (sub.graph[p], sub.graph[q]);
        let target = if source == x { y } else { x };
        edges.push(json!({
            "source": source.0,
            "target": target.0,
            "kind": db.relationship_kind_name(kind).unwrap_or_else(|| kind.to_string()),
        }));
    }
    Ok(json!({
        "center": id.0,
        "hops": hops,
        "nodes": nodes,
        "edges": edges,
        "truncated": sub.truncated.then(|| format!("the neighbourhood has more than {max_nodes} nodes; the nearest are shown")),
        "elapsed_us": started.elapsed().as_micros() as u64,
    }))
}

/// `POST /api/party/A/same/B` and `/apart/B`: a steward's decision on a
/// possible match, taken on one source record of each.
pub(crate) fn review(db: &Db, a: EntityId, b: EntityId, same: bool) -> Result<J, HttpError> {
    if a == b {
        return Err(HttpError::new(
            400,
            "a party is compared with another, not itself",
        ));
    }
    let mut pick = Vec::new();
    for id in [a, b] {
        let Some(e) = db.get(id)? else {
            return Err(HttpError::new(404, format!("no entity with id {id}")));
        };
        if !is_party(&e) {
            return Err(not_a_party(db, &e)?);
        }
        let rec = records(db, id)?
            .into_iter()
            .find_map(|r| r.identifiers().into_iter().next())
            .ok_or_else(|| {
                HttpError::new(
                    409,
                    format!("party {id} has no source records to decide on"),
                )
            })?;
        pick.push(rec);
    }
    let (x, y) = (
        (pick[0].system.as_str(), pick[0].key.as_str()),
        (pick[1].system.as_str(), pick[1].key.as_str()),
    );
    let bad = |e: crate::resolve::ResolveError| HttpError::new(409, e.to_string());
    if same {
        let c = db.force_together(x, y).map_err(bad)?;
        Ok(json!({"decision": "same", "customer": c.0}))
    } else {
        db.force_apart(x, y, &crate::resolve::ResolveConfig::default())
            .map_err(bad)?;
        Ok(json!({"decision": "apart", "customers": [a.0, b.0]}))
    }
}
