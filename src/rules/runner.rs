//! Running the rules: a consumer of the change log on its own thread, off
//! the writer's path. It reads whole commits after its stored position,
//! turns each into events (`interaction.added`, …) for the customers they
//! concern, evaluates the rules that listen to each event in priority
//! order, and commits what fired — the actions on `kith:actions`, their
//! effects, when each rule fired, and the new position — as one
//! transaction: a change is acted on exactly once, even across a crash.

use super::def::{Effect, Rule};
use super::facts;
use super::lang;
use crate::model::{attrs as a, Change, ChangeEntry, ChangeId, EntityId, EntityKind, Timestamp};
use crate::{Db, Direction, NewEntity, Patch, RelKind, Value};
use cel::Value as V;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The depth of rule-on-rule firing allowed unless a rule says otherwise.
pub(crate) const DEFAULT_MAX_DEPTH: u32 = 2;

/// One event: a trigger, the change behind it, what the condition sees as
/// `event`, and the customers it concerns.
pub(crate) struct Event {
    pub(crate) trigger: &'static str,
    pub(crate) cause: ChangeId,
    pub(crate) facts: V,
    pub(crate) customers: Vec<EntityId>,
}

/// A rule that fired: what the transaction writes for it.
pub(crate) struct Firing {
    pub(crate) rule: Arc<Rule>,
    pub(crate) trigger: &'static str,
    pub(crate) cause: ChangeId,
    pub(crate) customer: EntityId,
    pub(crate) depth: u32,
    pub(crate) why: Vec<(String, String)>,
}

/// What one commit's own actions say about it: the rules whose actions it
/// carries, and how deep in rule-on-rule firing its changes are.
fn origin(commit: &[ChangeEntry]) -> (BTreeSet<String>, u32) {
    let mut rules = BTreeSet::new();
    let mut depth = 0;
    for e in commit {
        if let Change::ActionRaised { rule, depth: d, .. } = &e.change {
            rules.insert(rule.clone());
            depth = depth.max(d + 1);
        }
    }
    (rules, depth)
}

fn text(s: impl Into<String>) -> V {
    V::String(Arc::new(s.into()))
}

/// The customers a party, account or interaction stands for.
fn customers_of(db: &Db, ids: Vec<EntityId>) -> Vec<EntityId> {
    let mut out: Vec<EntityId> = ids
        .into_iter()
        .filter_map(|i| db.customer_for(i).ok().flatten().or(Some(i)))
        .collect();
    out.sort();
    out.dedup();
    out
}

fn event_facts(trigger: &str, e: &ChangeEntry, depth: u32, fields: Vec<(&str, V)>) -> V {
    let mut all = vec![
        ("type", text(trigger)),
        ("change", text(e.id.to_string())),
        ("depth", V::Int(depth as i64)),
    ];
    all.extend(fields);
    for name in ["entity", "kind", "absorbed"] {
        if !all.iter().any(|(k, _)| *k == name) {
            all.push((name, V::Null));
        }
    }
    for name in ["before", "after"] {
        if !all.iter().any(|(k, _)| *k == name) {
            all.push((name, facts::object([])));
        }
    }
    if !all.iter().any(|(k, _)| *k == "changed") {
        all.push(("changed", V::List(Arc::new(Vec::new()))));
    }
    if !all.iter().any(|(k, _)| *k == "record") {
        all.push(("record", facts::object([])));
    }
    facts::object(all)
}

/// The trigger a change is an event of, if any (what [`events`] makes of it).
pub(crate) fn trigger_of(change: &Change) -> Option<&'static str> {
    match change {
        Change::EntityCreated { kind, .. } if kind == "interaction" => Some("interaction.added"),
        Change::EntityUpdated { kind, changed, .. }
            if kind == "account" && changed.iter().any(|c| c.name == a::BALANCE) =>
        {
            Some("account.balance_changed")
        }
        Change::EntityUpdated { kind, .. } if kind == "person" || kind == "organization" => {
            Some("party.updated")
        }
        Change::RecordLinked { .. } => Some("record.linked"),
        Change::CustomersMerged { .. } => Some("customers.merged"),
        Change::Committed { .. } => Some("customer.changed"),
        _ => None,
    }
}

/// The events of one commit that some rule listens to (`listened`: the
/// triggers of the rules); the others are never built.
pub(crate) fn events(
    db: &Db,
    commit: &[ChangeEntry],
    depth: u32,
    listened: &BTreeSet<&str>,
) -> Vec<Event> {
    let mut out = Vec::new();
    for e in commit {
        if !trigger_of(&e.change).is_some_and(|t| listened.contains(t)) {
            continue;
        }
        let ev = |trigger: &'static str, fields: Vec<(&str, V)>, customers: Vec<EntityId>| Event {
            trigger,
            cause: e.id,
            facts: event_facts(trigger, e, depth, fields),
            customers,
        };
        match &e.change {
            Change::EntityCreated { id, kind, attrs } if kind == "interaction" => {
                let parties = db
                    .neighbour_ids(*id, RelKind::HAD_INTERACTION, Direction::In)
                    .unwrap_or_default();
                out.push(ev(
                    "interaction.added",
                    vec![
                        ("entity", V::Int(id.0 as i64)),
                        ("kind", text(kind.as_str())),
                        ("after", facts::attrs(attrs)),
                    ],
                    customers_of(db, parties),
                ));
            }
            Change::EntityUpdated { id, kind, changed } => {
                let before = changed.iter().filter_map(|c| {
                    c.before
                        .as_ref()
                        .map(|v| (c.name.as_str(), facts::value(v)))
                });
                let after = match db.get(*id) {
                    Ok(Some(now)) => facts::attrs(&now.attrs()),
                    _ => facts::object([]),
                };
                let names = changed.iter().map(|c| text(c.name.as_str())).collect();
                let fields = vec![
                    ("entity", V::Int(id.0 as i64)),
                    ("kind", text(kind.as_str())),
                    ("before", facts::object(before)),
                    ("after", after),
                    ("changed", V::List(Arc::new(names))),
                ];
                if kind == "account" && changed.iter().any(|c| c.name == a::BALANCE) {
                    let owners = db
                        .neighbour_ids(*id, RelKind::OWNS, Direction::In)
                        .unwrap_or_default();
                    out.push(ev(
                        "account.balance_changed",
                        fields,
                        customers_of(db, owners),
                    ));
                } else if kind == "person" || kind == "organization" {
                    out.push(ev("party.updated", fields, customers_of(db, vec![*id])));
                }
            }
            Change::RecordLinked { record, customer } => {
                let x = db
                    .get(*record)
                    .ok()
                    .flatten()
                    .and_then(|r| r.identifiers().into_iter().next());
                let rec = facts::object([
                    ("id", V::Int(record.0 as i64)),
                    (
                        "system",
                        x.as_ref().map_or(V::Null, |x| text(x.system.as_str())),
                    ),
                    ("key", x.as_ref().map_or(V::Null, |x| text(x.key.as_str()))),
                ]);
                out.push(ev(
                    "record.linked",
                    vec![("entity", V::Int(record.0 as i64)), ("record", rec)],
                    customers_of(db, vec![*customer]),
                ));
            }
            Change::CustomersMerged { survivor, absorbed } => out.push(ev(
                "customers.merged",
                vec![
                    ("entity", V::Int(survivor.0 as i64)),
                    ("absorbed", V::Int(absorbed.0 as i64)),
                ],
                vec![*survivor],
            )),
            Change::Committed { customers, .. } => {
                out.push(ev("customer.changed", Vec::new(), customers.clone()))
            }
            _ => {}
        }
    }
    out
}

/// `sum(list)`: the sum of a list of numbers (nulls count as 0).
fn sum(
    cel::extractors::Arguments(args): cel::extractors::Arguments,
) -> Result<V, cel::ExecutionError> {
    let items: &[V] = match args.as_slice() {
        [V::List(l)] => l,
        other => other,
    };
    let mut total = 0.0;
    for v in items {
        total += match v {
            V::Int(i) => *i as f64,
            V::UInt(u) => *u as f64,
            V::Float(f) => *f,
            V::Null => 0.0,
            other => {
                return Err(cel::ExecutionError::function_error(
                    "sum",
                    format!("{other:?} is not a number"),
                ))
            }
        };
    }
    Ok(V::Float(total))
}

/// What evaluating a rule gave.
pub(crate) enum Outcome {
    Fired(Vec<(String, String)>),
    Silent,
    Failed(String),
}

/// What every condition about one customer sees: `customer`, `now_ms`
/// and kith's functions, converted once for all the rules and events of a
/// step (each event is a child scope of it: [`with_event`]).
pub(crate) fn scope(customer: &V, now_ms: u64) -> cel::Context<'static, 'static> {
    let mut cx = cel::Context::with_env(lang::env().clone());
    cx.add_variable_from_value("customer", customer.clone());
    cx.add_variable_from_value("now_ms", V::Int(now_ms as i64));
    let _ = cx.add_function("sum", sum);
    cx
}

/// A customer's scope with one event's `event`.
pub(crate) fn with_event<'p>(
    customer: &'p cel::Context<'static, 'static>,
    event: &V,
) -> cel::Context<'p, 'static> {
    let mut cx = customer.new_inner_scope();
    cx.add_variable_from_value("event", event.clone());
    cx
}

/// Evaluates one rule in a scope (the caller records the outcome in the
/// rule's counters, after its cooldown).
pub(crate) fn evaluate(rule: &Rule, cx: &cel::Context<'_, '_>) -> Outcome {
    let result = rule.condition.program.execute(cx);
    let outcome = match result {
        Ok(V::Bool(true)) => {
            let why = rule
                .condition
                .paths
                .iter()
                .map(|(p, prog)| {
                    let v = prog
                        .execute(cx)
                        .map(|v| show(&v))
                        .unwrap_or_else(|e| format!("(error: {e})"));
                    (p.clone(), v)
                })
                .collect();
            Outcome::Fired(why)
        }
        Ok(V::Bool(false)) => Outcome::Silent,
        Ok(other) => Outcome::Failed(format!(
            "the condition gave {}, not true or false",
            show(&other)
        )),
        Err(e) => Outcome::Failed(e.to_string()),
    };
    outcome
}

/// A CEL value as short text.
pub(crate) fn show(v: &V) -> String {
    match v {
        V::String(s) => s.to_string(),
        V::Int(i) => i.to_string(),
        V::UInt(u) => u.to_string(),
        V::Float(f) => f.to_string(),
        V::Bool(b) => b.to_string(),
        V::Null => "null".into(),
        V::List(l) => format!("[{}]", l.iter().map(show).collect::<Vec<_>>().join(", ")),
        V::Map(m) => {
            let mut fields: Vec<String> = m
                .map
                .iter()
                .map(|(k, v)| format!("{}: {}", key(k), show(v)))
                .collect();
            fields.sort();
            format!("{{{}}}", fields.join(", "))
        }
        other => format!("{other:?}"),
    }
}

fn key(k: &cel::objects::Key) -> String {
    match k {
        cel::objects::Key::String(s) => s.to_string(),
        cel::objects::Key::Int(i) => i.to_string(),
        cel::objects::Key::Uint(u) => u.to_string(),
        cel::objects::Key::Bool(b) => b.to_string(),
    }
}

/// Facts of customers, assembled once per step, as the scope conditions
/// about them run in.
pub(crate) struct FactCache<'a> {
    db: &'a Db,
    reads: BTreeSet<String>,
    now: Timestamp,
    facts: HashMap<EntityId, Option<cel::Context<'static, 'static>>>,
}

impl<'a> FactCache<'a> {
    /// Facts for `rules` evaluated on events of `triggers` (`None`: any).
    pub(crate) fn new(
        db: &'a Db,
        rules: &[Arc<Rule>],
        triggers: Option<&BTreeSet<&str>>,
        now: Timestamp,
    ) -> FactCache<'a> {
        let reads = rules
            .iter()
            .filter(|r| triggers.is_none_or(|t| r.triggers.iter().any(|x| t.contains(x.as_str()))))
            .flat_map(|r| r.condition.reads.iter().cloned())
            .collect();
        FactCache {
            db,
            reads,
            now,
            facts: HashMap::new(),
        }
    }

    /// The customer's scope (`None`: it is gone or is no party).
    pub(crate) fn get(&mut self, id: EntityId) -> Option<&cel::Context<'static, 'static>> {
        let (db, reads, now) = (self.db, &self.reads, self.now);
        let now_ms = (now.as_micros() / 1000) as u64;
        self.facts
            .entry(id)
            .or_insert_with(|| match context(db, id, reads) {
                Some(ctx) if ctx.is_party() => {
                    Some(scope(&facts::customer(db, &ctx, reads, now), now_ms))
                }
                _ => None,
            })
            .as_ref()
    }
}

/// The context the facts are built from: the cached one when current,
/// else assembled with only the parts the rules read (households and
/// relationships are the costly ones).
fn context(db: &Db, id: EntityId, reads: &BTreeSet<String>) -> Option<Arc<crate::CustomerContext>> {
    let id = db.customer_for(id).ok().flatten().unwrap_or(id);
    if let Some(c) = db.cached_context(id) {
        return Some(c);
    }
    let wants = |p: &str| reads.contains("*") || reads.contains(p);
    let households = wants("household") || wants("households");
    if households && wants("relationships") {
        return db.context(id).ok();
    }
    db.context_parts(
        id,
        &crate::ContextOptions::default(),
        households,
        wants("relationships"),
    )
    .ok()
    .map(Arc::new)
}

/// Evaluates every rule listening to the events of one commit; returns
/// what fired. `fired` holds when each (rule, customer) last fired, for
/// cooldowns across the step.
pub(crate) fn evaluate_commit(
    db: &Db,
    rules: &[Arc<Rule>],
    commit: &[ChangeEntry],
    cache: &mut FactCache<'_>,
    fired: &mut HashMap<(String, EntityId), u64>,
    now_ms: u64,
) -> Vec<Firing> {
    let (own, depth) = origin(commit);
    let mut out = Vec::new();
    let listened: BTreeSet<&str> = rules
        .iter()
        .flat_map(|r| r.triggers.iter().map(String::as_str))
        .collect();
    for event in events(db, commit, depth, &listened) {
        for &customer in &event.customers {
            let mut cx = None;
            for rule in rules {
                if !rule.triggers.iter().any(|t| t == event.trigger)
                    || own.contains(rule.name())
                    || depth > rule.def.max_depth.unwrap_or(DEFAULT_MAX_DEPTH)
                {
                    continue;
                }
                if cx.is_none() {
                    let Some(scope) = cache.get(customer) else {
                        break;
                    };
                    cx = Some(with_event(scope, &event.facts));
                }
                let Some(cx) = &cx else { break };
                let started = Instant::now();
                // The cooldown is read only for a rule that would fire.
                let outcome = match evaluate(rule, cx) {
                    Outcome::Fired(_) if cooling(db, rule, customer, fired, now_ms) => {
                        Outcome::Silent
                    }
                    o => o,
                };
                rule.stats.record(&outcome, started.elapsed());
                let Outcome::Fired(why) = outcome else {
                    continue;
                };
                fired.insert((rule.name().to_string(), customer), now_ms);
                out.push(Firing {
                    rule: rule.clone(),
                    trigger: event.trigger,
                    cause: event.cause,
                    customer,
                    depth,
                    why,
                });
                if rule.def.stop {
                    break;
                }
            }
        }
    }
    out
}

/// Whether `rule` fired for `customer` within its cooldown.
fn cooling(
    db: &Db,
    rule: &Rule,
    customer: EntityId,
    fired: &HashMap<(String, EntityId), u64>,
    now_ms: u64,
) -> bool {
    let Some(cooldown) = rule.cooldown else {
        return false;
    };
    let last = match fired.get(&(rule.name().to_string(), customer)) {
        Some(ms) => Some(*ms),
        None => db.last_fired(rule.name(), customer).ok().flatten(),
    };
    last.is_some_and(|ms| now_ms.saturating_sub(ms) < cooldown.as_millis() as u64)
}

/// The action's id: the same for every evaluation of the same change.
pub(crate) fn action_id(rule: &str, cause: ChangeId, customer: EntityId) -> String {
    format!("{rule}/{cause}/{}", customer.0)
}

/// Writes one firing into `tx`: its effects, when it fired, its action.
pub(crate) fn apply(
    tx: &mut crate::Transaction<'_>,
    f: &Firing,
    now: Timestamp,
) -> Result<(), crate::Error> {
    let id = action_id(f.rule.name(), f.cause, f.customer);
    let mut effects = Vec::new();
    let present = tx.get(f.customer)?.is_some();
    for e in &f.rule.effects {
        if !present {
            effects.push("skipped: the customer is gone".to_string());
            break;
        }
        effects.push(effect(tx, e, f, &id, now)?);
    }
    tx.note_fired(f.rule.name(), f.customer, (now.as_micros() / 1000) as u64);
    let mut fields: Vec<(String, String)> = Vec::new();
    if !f.rule.def.message.is_empty() {
        fields.push(("message".into(), f.rule.def.message.clone()));
    }
    fields.extend(
        f.rule
            .def
            .fields
            .iter()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    tx.raise_action(Change::ActionRaised {
        action: id,
        rule: f.rule.name().to_string(),
        cause: f.cause,
        trigger: f.trigger.to_string(),
        customer: f.customer,
        priority: f.rule.def.priority,
        depth: f.depth,
        why: f.why.clone(),
        fields,
        effects,
    });
    Ok(())
}

fn later(now: Timestamp, d: Duration) -> Timestamp {
    Timestamp::from_micros(now.as_micros().saturating_add(d.as_micros() as i64))
}

/// Carries out one effect; says what it did.
fn effect(
    tx: &mut crate::Transaction<'_>,
    e: &Effect,
    f: &Firing,
    action: &str,
    now: Timestamp,
) -> Result<String, crate::Error> {
    Ok(match e {
        Effect::Set { attribute, value } => {
            tx.update(
                f.customer,
                Patch::new().set(attribute.as_str(), value.clone()),
            )?;
            format!("set {attribute} = {value}")
        }
        Effect::SetAfter { attribute, after } => {
            let at = later(now, *after);
            tx.update(f.customer, Patch::new().set(attribute.as_str(), at))?;
            format!("set {attribute} = {at}")
        }
        Effect::Clear { attribute } => {
            tx.update(f.customer, Patch::new().remove(attribute.as_str()))?;
            format!("cleared {attribute}")
        }
        Effect::Tag { tag, on } => {
            let mut tags: Vec<Value> = match tx.get(f.customer)?.and_then(|c| c.attr(TAGS)) {
                Some(Value::List(l)) => l,
                Some(other) => vec![other],
                None => Vec::new(),
            };
            let this = Value::Text(tag.clone());
            let had = tags.contains(&this);
            match (on, had) {
                (true, false) => tags.push(this),
                (false, true) => tags.retain(|t| *t != this),
                _ => {
                    return Ok(format!(
                        "{} {tag}: unchanged",
                        if *on { "tag" } else { "untag" }
                    ))
                }
            }
            let patch = if tags.is_empty() {
                Patch::new().remove(TAGS)
            } else {
                Patch::new().set(TAGS, Value::List(tags))
            };
            tx.update(f.customer, patch)?;
            format!("{} {tag}", if *on { "tagged" } else { "untagged" })
        }
        Effect::Item {
            kind,
            summary,
            due,
            assignee,
        } => {
            let mut item = NewEntity::new(EntityKind::INTERACTION)
                .attr(a::INTERACTION_TYPE, *kind)
                .attr(a::CHANNEL, "rules")
                .attr(a::STATUS, "open")
                .attr(a::SUMMARY, summary.as_str())
                .attr(a::OCCURRED_AT, now)
                .attr("rule", f.rule.name())
                .attr("action", action);
            if let Some(d) = due {
                item = item.attr("due", later(now, *d));
            }
            let who = assign(tx, f.customer, assignee)?;
            if let Some(w) = who {
                item = item.attr("assignee", Value::Int(w.0 as i64));
            }
            let iid = tx.append_interaction(f.customer, item)?;
            match who {
                Some(w) => format!("{kind} {} assigned to {}", iid.0, w.0),
                None if assignee.is_empty() => format!("{kind} {}", iid.0),
                None => format!("{kind} {} (no assignee found)", iid.0),
            }
        }
    })
}

/// The attribute holding a customer's tags (a list of text).
const TAGS: &str = "tags";

/// Follows the assignee chain from the customer: the first party reached.
fn assign(
    tx: &crate::Transaction<'_>,
    customer: EntityId,
    chain: &[(String, Direction)],
) -> Result<Option<EntityId>, crate::Error> {
    if chain.is_empty() {
        return Ok(None);
    }
    let mut at = vec![customer];
    for (kind, dir) in chain {
        let Some(k) = tx.db().relationship_kind(kind) else {
            return Ok(None);
        };
        let mut next = Vec::new();
        for id in &at {
            next.extend(tx.neighbour_ids(*id, k, *dir)?);
        }
        next.sort();
        next.dedup();
        at = next;
    }
    Ok(at.into_iter().next())
}
