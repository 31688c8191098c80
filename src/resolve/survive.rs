//! Survivorship: each golden attribute of a customer is chosen from its
//! source records by rules — the source's trust rank for that attribute,
//! then how many records agree on the value, then the most recent record —
//! and keeps its lineage: which record of which system said it, and when.

use super::compare::PARTY_KIND;
use super::ResolveError;
use crate::model::attrs as a;
use crate::model::{Attrs, EntityId, ExternalId, Patch, Timestamp, Value};
use crate::Db;
use crate::Entity;
use std::collections::BTreeMap;

/// Where one golden attribute of a customer came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Lineage {
    /// The attribute.
    pub attr: String,
    /// The value chosen.
    pub value: Value,
    /// The record it came from.
    pub record: ExternalId,
    /// When that record last changed.
    pub at: Timestamp,
    /// The record's trust rank for this attribute.
    pub trust: i64,
    /// How many of the customer's records hold the same value.
    pub agreeing: usize,
    /// Which rule decided: `only` (every record agrees), `trust`, `frequency`,
    /// `primary` (a record's first value of a list before its others),
    /// `recency`, or `record id` (a tie broken by the lowest id).
    pub rule: &'static str,
}

/// Whether an attribute of a record is bookkeeping rather than a field.
pub(crate) fn bookkeeping(name: &str) -> bool {
    name == a::BLOCKING_KEYS || name == a::TRUST || name == PARTY_KIND || name.starts_with("trust_")
}

/// Chooses each golden attribute from `records`.
pub(crate) fn choose(records: &[Entity]) -> BTreeMap<String, Lineage> {
    struct Candidate<'r> {
        value: Value,
        record: &'r Entity,
        trust: i64,
        /// Its place in the record's list of values (0: the primary).
        position: usize,
    }
    let mut by_attr: BTreeMap<String, Vec<Candidate>> = BTreeMap::new();
    for r in records {
        let attrs = r.attrs();
        let int = |n: &str| match attrs.get(n) {
            Some(Value::Int(i)) => Some(*i),
            _ => None,
        };
        let default_trust = int(a::TRUST).unwrap_or(0);
        let has_own = attrs.keys().any(|k| k.starts_with("trust_"));
        for (name, value) in &attrs {
            if bookkeeping(name) {
                continue;
            }
            // The record's trust in this attribute, from the attributes
            // already read (one decode per record).
            let trust = if has_own {
                int(&format!("trust_{name}")).unwrap_or(default_trust)
            } else {
                default_trust
            };
            // Each value of a list (a primary and an alias, a home and a
            // mobile phone) is a candidate of its own: the golden value is
            // one of them, and every record agreeing on it counts.
            let values = match value {
                Value::List(vs) => vs.clone(),
                v => vec![v.clone()],
            };
            let list = by_attr.entry(name.clone()).or_default();
            for (position, value) in values.into_iter().enumerate() {
                if list.iter().any(|c| c.record.id == r.id && c.value == value) {
                    continue; // a value repeated in one record counts once
                }
                list.push(Candidate {
                    value,
                    record: r,
                    trust,
                    position,
                });
            }
        }
    }
    let mut out = BTreeMap::new();
    for (attr, cands) in by_attr {
        let agreeing = |v: &Value| cands.iter().filter(|c| &c.value == v).count();
        // Best: highest trust, then most records agreeing, then a record's
        // primary value before its others, then most recent, then the
        // lowest record id (so the choice never depends on order).
        let order = |x: &&Candidate, y: &&Candidate| {
            x.trust
                .cmp(&y.trust)
                .then(agreeing(&x.value).cmp(&agreeing(&y.value)))
                .then(y.position.cmp(&x.position))
                .then(x.record.updated.cmp(&y.record.updated))
                .then(y.record.id.cmp(&x.record.id))
        };
        // Best: highest trust, then most records agreeing, then most recent,
        // then the lowest record id (so the choice never depends on order).
        let best = cands.iter().max_by(order).expect("at least one candidate");
        // The rule is the first criterion that sets the best value apart
        // from the strongest other value.
        let runner = cands.iter().filter(|c| c.value != best.value).max_by(order);
        let rule = match runner {
            None => "only",
            Some(r) if r.trust != best.trust => "trust",
            Some(r) if agreeing(&r.value) != agreeing(&best.value) => "frequency",
            Some(r) if r.position != best.position => "primary",
            Some(r) if r.record.updated != best.record.updated => "recency",
            Some(_) => "record id",
        };
        out.insert(
            attr.clone(),
            Lineage {
                attr,
                value: best.value.clone(),
                record: best
                    .record
                    .identifiers()
                    .into_iter()
                    .next()
                    .unwrap_or_else(|| ExternalId::new("", "")),
                at: best.record.updated,
                trust: best.trust,
                agreeing: agreeing(&best.value),
                rule,
            },
        );
    }
    out
}

/// The attributes survivorship owns on a customer, as stored.
pub(crate) fn survived_list(names: impl IntoIterator<Item = String>) -> Value {
    Value::List(names.into_iter().map(Value::Text).collect())
}

impl Db {
    /// Where each golden attribute of `customer` comes from: the record,
    /// its system and key, when it last changed, and the rule that chose it.
    pub fn lineage(&self, customer: EntityId) -> Result<Vec<Lineage>, ResolveError> {
        let mut records = Vec::new();
        for r in self.records_of(customer)? {
            if let Some(e) = self.get(r)? {
                records.push(e);
            }
        }
        Ok(choose(&records).into_values().collect())
    }
}

impl crate::Transaction<'_> {
    /// Recomputes the golden attributes of `customer` from its records:
    /// sets the chosen values, removes attributes survivorship set before
    /// that no record holds any more, and leaves attributes set by other
    /// means (a tier, a segment) alone.
    pub(crate) fn survive(&mut self, customer: EntityId) -> Result<(), ResolveError> {
        let Some(cust) = self.get(customer)? else {
            return Ok(());
        };
        let mut records = Vec::new();
        for r in self.records_of(customer)? {
            if let Some(e) = self.get(r)? {
                records.push(e);
            }
        }
        if records.is_empty() {
            return Ok(());
        }
        let chosen = choose(&records);
        let have: Attrs = cust.attrs();
        let mut patch = Patch::new();
        let before: Vec<String> = match have.get(a::SURVIVED) {
            Some(Value::List(l)) => l
                .iter()
                .filter_map(|v| v.as_text().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        };
        for name in &before {
            if !chosen.contains_key(name) && have.contains_key(name) {
                patch = patch.remove(name.clone());
            }
        }
        for (name, l) in &chosen {
            if have.get(name) != Some(&l.value) {
                patch = patch.set(name.clone(), l.value.clone());
            }
        }
        let list = survived_list(chosen.keys().cloned());
        if have.get(a::SURVIVED) != Some(&list) {
            patch = patch.set(a::SURVIVED, list);
        }
        if !patch.set.is_empty() || !patch.remove.is_empty() {
            self.update(customer, patch)?;
        }
        Ok(())
    }
}
