//! What a condition reads: the triggering event and the customer's
//! assembled context, as CEL values (`lang.rs` lists their fields).
//! Numbers are doubles (money included), ids integers, dates and times
//! their ISO text.

use crate::model::{attrs as a, Attrs, Decimal, EntityId, Timestamp, Value};
use crate::{CustomerContext, Db, Entity};
use cel::objects::{Key, Map};
use cel::Value as V;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// A CEL map from `(name, value)` pairs.
pub(crate) fn object<'a>(fields: impl IntoIterator<Item = (&'a str, V)>) -> V {
    let map: HashMap<Key, V> = fields
        .into_iter()
        .map(|(k, v)| (Key::String(Arc::new(k.to_string())), v))
        .collect();
    V::Map(Map { map: Arc::new(map) })
}

fn list(items: Vec<V>) -> V {
    V::List(Arc::new(items))
}

fn text(s: impl Into<String>) -> V {
    V::String(Arc::new(s.into()))
}

fn id(i: EntityId) -> V {
    V::Int(i.0 as i64)
}

fn opt_text(s: Option<&str>) -> V {
    s.map_or(V::Null, text)
}

/// A decimal as a double.
pub(crate) fn number(d: Decimal) -> f64 {
    d.to_string().parse().unwrap_or(0.0)
}

/// A stored value as CEL.
pub(crate) fn value(v: &Value) -> V {
    match v {
        Value::Text(s) => text(s.as_str()),
        Value::Int(i) => V::Int(*i),
        Value::Decimal(d) => V::Float(number(*d)),
        Value::Bool(b) => V::Bool(*b),
        Value::List(vs) => list(vs.iter().map(value).collect()),
        Value::Date(_) | Value::Timestamp(_) => text(v.to_string()),
    }
}

/// Attributes as a CEL map.
pub(crate) fn attrs(attrs: &Attrs) -> V {
    object(attrs.iter().map(|(k, v)| (k.as_str(), value(v))))
}

fn entity_attrs(e: &Entity) -> V {
    attrs(&e.attrs())
}

/// A party's display name.
pub(crate) fn name(e: &Entity) -> String {
    match (e.text(a::GIVEN_NAME), e.text(a::FAMILY_NAME)) {
        (Some(g), Some(f)) => format!("{g} {f}"),
        (Some(g), None) => g.to_string(),
        _ => e
            .text(a::ORGANIZATION_NAME)
            .or(e.text(a::NAME))
            .or(e.text(a::FULL_NAME))
            .unwrap_or("")
            .to_string(),
    }
}

fn attr_number(e: &Entity, name: &str) -> V {
    match e.attr(name) {
        Some(Value::Decimal(d)) => V::Float(number(d)),
        Some(Value::Int(i)) => V::Float(i as f64),
        _ => V::Null,
    }
}

/// The customer's facts. `reads` says which parts the rules read beyond
/// the assembled context (`interactions`, `guarantees`, `group`; `*`: all).
pub(crate) fn customer(
    db: &Db,
    ctx: &CustomerContext,
    reads: &BTreeSet<String>,
    now: Timestamp,
) -> V {
    let c = &ctx.customer;
    // Only the parts some rule reads are built (the field check knows them).
    let wants = |part: &str| reads.contains("*") || reads.contains(part);
    let profile = |name: &str| {
        ctx.profile
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| p.value.as_text())
    };
    let mut fields = vec![
        ("id", id(c.id)),
        (
            "kind",
            text(db.entity_kind_name(c.kind).unwrap_or_default()),
        ),
        ("name", text(name(c))),
        ("tier", opt_text(profile(a::TIER))),
        ("segment", opt_text(profile(a::SEGMENT))),
        ("status", opt_text(profile(a::STATUS))),
        ("deposits", V::Float(number(ctx.figures.deposits))),
        ("credit", V::Float(number(ctx.figures.credit))),
        ("open_products", V::Int(ctx.figures.open_products as i64)),
        (
            "tenure_days",
            ctx.figures.tenure_days.map_or(V::Null, V::Int),
        ),
        ("records", V::Int(ctx.identifiers.len() as i64)),
    ];
    type Part = fn(&Db, &CustomerContext, Timestamp) -> V;
    let parts: [(&str, Part); 10] = [
        ("profile", |_, ctx, _| {
            object(
                ctx.profile
                    .iter()
                    .map(|p| (p.name.as_str(), value(&p.value))),
            )
        }),
        ("accounts", |_, ctx, _| accounts(ctx)),
        ("balances", |_, ctx, _| {
            object(
                ctx.figures
                    .balances_by_product
                    .iter()
                    .map(|(k, v)| (k.as_str(), V::Float(number(*v)))),
            )
        }),
        ("open_items", |_, ctx, _| open_items(ctx)),
        ("relationships", |db, ctx, _| relationships(db, ctx)),
        ("identifiers", |_, ctx, _| identifiers(ctx)),
        ("systems", |_, ctx, _| {
            let systems: BTreeSet<&str> =
                ctx.identifiers.iter().map(|x| x.system.as_str()).collect();
            list(systems.into_iter().map(text).collect())
        }),
        ("household", |_, ctx, _| {
            households(ctx)
                .into_iter()
                .next()
                .unwrap_or_else(no_household)
        }),
        ("households", |_, ctx, _| list(households(ctx))),
        ("guarantees", |db, ctx, _| guarantees(db, ctx.customer.id)),
    ];
    for (name, part) in parts {
        if wants(name) {
            fields.push((name, part(db, ctx, now)));
        }
    }
    if wants("group") {
        fields.push(("group", group(db, c)));
    }
    if wants("interactions") || wants("interactions_truncated") {
        let (list, truncated) = interactions(db, ctx, now);
        fields.push(("interactions", list));
        fields.push(("interactions_truncated", V::Bool(truncated)));
    }
    object(fields)
}

fn accounts(ctx: &CustomerContext) -> V {
    list(
        ctx.accounts
            .iter()
            .map(|h| {
                let acct = &h.account;
                object([
                    ("id", id(acct.id)),
                    ("product", opt_text(acct.text(a::PRODUCT_TYPE))),
                    ("balance", attr_number(acct, a::BALANCE)),
                    ("status", opt_text(acct.text(a::STATUS))),
                    ("role", opt_text(h.role.as_deref())),
                    ("currency", opt_text(acct.text(a::CURRENCY))),
                    ("attrs", entity_attrs(acct)),
                ])
            })
            .collect(),
    )
}

fn no_household() -> V {
    object([
        ("id", V::Null),
        ("name", V::Null),
        ("size", V::Int(0)),
        ("members", list(Vec::new())),
        ("totals", object([])),
        ("total", V::Float(0.0)),
        ("deposits", V::Float(0.0)),
    ])
}

/// Products whose balances are deposits (the context's own list).
const DEPOSITS: &[&str] = &["checking", "savings", "brokerage", "deposit"];

fn households(ctx: &CustomerContext) -> Vec<V> {
    ctx.households
        .iter()
        .map(|h| {
            let total: f64 = h.totals.values().map(|d| number(*d)).sum();
            let deposits: f64 = h
                .totals
                .iter()
                .filter(|(p, _)| DEPOSITS.contains(&p.as_str()))
                .map(|(_, d)| number(*d))
                .sum();
            let members = h
                .members
                .iter()
                .map(|(m, role)| {
                    object([
                        ("id", id(m.id)),
                        ("name", text(name(m))),
                        ("role", opt_text(role.as_deref())),
                    ])
                })
                .collect();
            object([
                ("id", id(h.household.id)),
                ("name", opt_text(h.household.text(a::NAME))),
                ("size", V::Int(h.members.len() as i64)),
                ("members", list(members)),
                (
                    "totals",
                    object(
                        h.totals
                            .iter()
                            .map(|(k, v)| (k.as_str(), V::Float(number(*v)))),
                    ),
                ),
                ("total", V::Float(total)),
                ("deposits", V::Float(deposits)),
            ])
        })
        .collect()
}

fn open_items(ctx: &CustomerContext) -> V {
    list(
        ctx.open_items
            .iter()
            .map(|o| {
                let e = &o.entity;
                object([
                    ("what", text(o.what.as_str())),
                    ("id", id(e.id)),
                    ("kind", text(e.kind.to_string())),
                    (
                        "type",
                        opt_text(e.text(a::INTERACTION_TYPE).or(e.text(a::PRODUCT_TYPE))),
                    ),
                    ("status", opt_text(e.text(a::STATUS))),
                    ("attrs", entity_attrs(e)),
                ])
            })
            .collect(),
    )
}

fn relationships(db: &Db, ctx: &CustomerContext) -> V {
    list(
        ctx.relationships
            .iter()
            .map(|r| {
                object([
                    (
                        "kind",
                        text(db.relationship_kind_name(r.kind).unwrap_or_default()),
                    ),
                    (
                        "direction",
                        text(if r.direction == crate::Direction::Out {
                            "out"
                        } else {
                            "in"
                        }),
                    ),
                    ("id", id(r.other.id)),
                    ("name", text(name(&r.other))),
                    (
                        "entity_kind",
                        text(db.entity_kind_name(r.other.kind).unwrap_or_default()),
                    ),
                ])
            })
            .collect(),
    )
}

fn identifiers(ctx: &CustomerContext) -> V {
    list(
        ctx.identifiers
            .iter()
            .map(|x| {
                object([
                    ("system", text(x.system.as_str())),
                    ("key", text(x.key.as_str())),
                ])
            })
            .collect(),
    )
}

/// How far back `customer.interactions` reaches, and how many it holds.
const INTERACTION_WINDOW_DAYS: i64 = 30;
const INTERACTION_LIMIT: usize = 1_000;

/// The customer's interactions of the last 30 days (the newest 1,000 of
/// them, oldest first), each with its age in hours; and whether older ones
/// of the window were left out (or could not be read).
fn interactions(db: &Db, ctx: &CustomerContext, now: Timestamp) -> (V, bool) {
    let from = now.as_micros() - INTERACTION_WINDOW_DAYS * 86_400_000_000;
    let Ok(rows) = db.recent_interactions(ctx.customer.id, INTERACTION_LIMIT + 1) else {
        return (list(Vec::new()), true);
    };
    let in_window: Vec<_> = rows
        .into_iter()
        .filter(|(t, _)| t.as_micros() <= now.as_micros())
        .take_while(|(t, _)| t.as_micros() >= from)
        .collect();
    let truncated = in_window.len() > INTERACTION_LIMIT;
    let mut out = Vec::with_capacity(in_window.len().min(INTERACTION_LIMIT));
    for (t, iid) in in_window.into_iter().take(INTERACTION_LIMIT).rev() {
        let Ok(Some(e)) = db.get(iid) else { continue };
        let age = (now.as_micros() - t.as_micros()) as f64 / 3_600_000_000.0;
        out.push(object([
            ("id", id(iid)),
            ("type", opt_text(e.text(a::INTERACTION_TYPE))),
            ("channel", opt_text(e.text(a::CHANNEL))),
            ("status", opt_text(e.text(a::STATUS))),
            ("amount", attr_number(&e, a::AMOUNT)),
            ("age_hours", V::Float(age)),
            ("attrs", entity_attrs(&e)),
        ]));
    }
    (list(out), truncated)
}

fn guarantees(db: &Db, customer: EntityId) -> V {
    match db.guarantors_on(customer, 4, &crate::traverse::When::ANY) {
        Ok(n) => object([
            ("count", V::Int(n.guarantees.len() as i64)),
            ("guaranteed_by", V::Int(n.guaranteed_by.len() as i64)),
            ("exposure", V::Float(number(n.total_exposure))),
            ("truncated", V::Bool(n.truncated)),
        ]),
        // Not read: nothing known, and said so.
        Err(_) => object([
            ("count", V::Int(0)),
            ("guaranteed_by", V::Int(0)),
            ("exposure", V::Float(0.0)),
            ("truncated", V::Bool(true)),
        ]),
    }
}

/// Largest corporate group a rule's facts assemble.
const GROUP_LIMIT: usize = 10_000;

fn group(db: &Db, c: &Entity) -> V {
    let none = |truncated: bool| {
        object([
            ("members", V::Int(0)),
            ("exposure", V::Float(0.0)),
            ("ultimate_parent", V::Null),
            ("truncated", V::Bool(truncated)),
        ])
    };
    if c.kind != crate::EntityKind::ORGANIZATION {
        return none(false);
    }
    match db.group_on(c.id, &crate::traverse::When::ANY, GROUP_LIMIT) {
        Ok(g) => object([
            ("members", V::Int(g.members.len() as i64)),
            ("exposure", V::Float(number(g.consolidated_exposure))),
            ("ultimate_parent", id(g.ultimate_parent)),
            ("truncated", V::Bool(g.truncated)),
        ]),
        // Not read: nothing known, and said so.
        Err(_) => none(true),
    }
}
