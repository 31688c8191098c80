//! Identity resolution: source records become customers, one record at a time.
//!
//! A source record is stored as a `source_record` entity named by its
//! `(system, key)`, with its canonical attributes and its blocking keys, and
//! `RESOLVES_TO` the customer (a person or organization) it belongs to.
//! Resolving a new record: candidates come from the blocking-key index (never
//! a scan), each candidate record is compared field by field
//! (`compare.rs`), the best score per customer decides — match (link),
//! possible match (a new customer plus `POSSIBLY_SAME`), or no match (a new
//! customer) — and a record that matches two customers merges them.
//!
//! Built on `Db`'s public API only.

pub mod compare;
pub mod normalize;

use crate::error::{ReadError, WriteError};
use crate::index::Index;
use crate::model::attrs as a;
use crate::model::{
    Attrs, Direction, EdgeProps, EntityId, EntityKind, NewEntity, Patch, RelKind, Value,
};
use crate::Db;
use std::collections::{BTreeMap, BTreeSet};

/// Thresholds and limits of resolution.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ResolveConfig {
    /// A score at or above this links the record to the customer.
    pub match_threshold: f64,
    /// A score at or above this (and below a match) records a possible match.
    pub possible_threshold: f64,
    /// Blocking keys shared by more records than this are skipped (too common).
    pub max_block: usize,
}

impl Default for ResolveConfig {
    fn default() -> ResolveConfig {
        ResolveConfig {
            match_threshold: 12.0,
            possible_threshold: 7.0,
            max_block: 500,
        }
    }
}

/// What resolving a record did.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// No customer matched: a new one was created.
    Created {
        /// The new customer.
        customer: EntityId,
    },
    /// Linked to an existing customer.
    Linked {
        /// The customer.
        customer: EntityId,
        /// The best comparison score.
        score: f64,
    },
    /// The record matched several customers, now merged into one.
    Merged {
        /// The surviving customer.
        survivor: EntityId,
        /// The customers merged into it (now redirects).
        merged: Vec<EntityId>,
        /// The best comparison score.
        score: f64,
    },
    /// A possible match: a new customer, related `POSSIBLY_SAME` to the candidate.
    Possible {
        /// The new customer.
        customer: EntityId,
        /// The customer it may be the same as.
        possibly: EntityId,
        /// The best comparison score.
        score: f64,
    },
    /// The record was already stored with the same fields.
    Unchanged {
        /// Its customer.
        customer: EntityId,
    },
}

/// Why resolving failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// The record itself is malformed.
    #[error("invalid record: {0}")]
    Invalid(String),
    /// A read failed.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// A write failed.
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// The attributes of a record that are compared (not bookkeeping).
fn comparable(attrs: &Attrs) -> Attrs {
    attrs
        .iter()
        .filter(|(k, _)| {
            k.as_str() != a::BLOCKING_KEYS && k.as_str() != a::TRUST && k.as_str() != "party_kind"
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

impl Db {
    /// The customer a source record resolves to (following merges).
    pub fn customer_of_record(
        &self,
        system: &str,
        key: &str,
    ) -> Result<Option<EntityId>, ReadError> {
        let Some(rec) = self.lookup(system, key)? else {
            return Ok(None);
        };
        Ok(self
            .neighbour_ids(rec, RelKind::RESOLVES_TO, Direction::Out)?
            .into_iter()
            .next())
    }

    /// Resolves one source record as it arrives: stores it (or updates it),
    /// and links it to the customer it belongs to, creating or merging
    /// customers as the comparisons decide.
    pub fn upsert_record(
        &self,
        system: &str,
        key: &str,
        party: EntityKind,
        fields: Attrs,
        config: &ResolveConfig,
    ) -> Result<Outcome, ResolveError> {
        if !party.is_party() {
            return Err(ResolveError::Invalid(format!(
                "a record must describe a party, not {party}"
            )));
        }
        let mut attrs = comparable(&fields);
        let keys = compare::blocking_keys(&attrs);
        if let Some(existing) = self.lookup(system, key)? {
            let old = self
                .get(existing)?
                .map(|e| comparable(&e.attrs()))
                .unwrap_or_default();
            let customer = self
                .neighbour_ids(existing, RelKind::RESOLVES_TO, Direction::Out)?
                .into_iter()
                .next();
            if old == attrs {
                if let Some(c) = customer {
                    return Ok(Outcome::Unchanged { customer: c });
                }
            }
            // Changed fields: store them; the link stays (re-resolution of a
            // changed record is not done yet: see docs/resolution.md).
            let mut patch = Patch::new();
            for k in old.keys().filter(|k| !attrs.contains_key(*k)) {
                patch = patch.remove(k.clone());
            }
            for (k, v) in &attrs {
                patch = patch.set(k.clone(), v.clone());
            }
            patch = patch.set(
                a::BLOCKING_KEYS,
                Value::List(keys.into_iter().map(Value::Text).collect()),
            );
            self.update(existing, patch)?;
            let c = customer.ok_or_else(|| {
                ResolveError::Invalid(format!("record {system}:{key} has no customer"))
            })?;
            return Ok(Outcome::Linked {
                customer: c,
                score: f64::INFINITY,
            });
        }

        // Candidates by blocking key, best score per customer.
        let mut seen = BTreeSet::new();
        let mut best: BTreeMap<EntityId, f64> = BTreeMap::new();
        for k in &keys {
            let hits = self.find(Index::BlockingKey, k)?;
            if hits.len() > config.max_block {
                continue;
            }
            for cand in hits {
                if !seen.insert(cand) {
                    continue;
                }
                let Some(c) = self.get(cand)? else { continue };
                let (_, score) = compare::compare(&attrs, &comparable(&c.attrs()));
                if score < config.possible_threshold {
                    continue;
                }
                for cust in self.neighbour_ids(cand, RelKind::RESOLVES_TO, Direction::Out)? {
                    let e = best.entry(cust).or_insert(f64::MIN);
                    *e = e.max(score);
                }
            }
        }
        let matches: Vec<(EntityId, f64)> = best
            .iter()
            .filter(|(_, s)| **s >= config.match_threshold)
            .map(|(c, s)| (*c, *s))
            .collect();
        let top = best
            .iter()
            .max_by(|x, y| x.1.total_cmp(y.1).then(y.0.cmp(x.0)))
            .map(|(c, s)| (*c, *s));

        attrs.insert(
            a::BLOCKING_KEYS.into(),
            Value::List(keys.into_iter().map(Value::Text).collect()),
        );
        let mut record = NewEntity::new(EntityKind::SOURCE_RECORD).identifier(system, key);
        record.attrs = attrs.clone();
        let profile = comparable(&attrs);

        if matches.is_empty() {
            let mut w = self.write_set();
            let rec = w.create(record)?;
            let mut cust = NewEntity::new(party);
            cust.attrs = profile;
            let customer = w.create(cust)?;
            w.relate(rec, RelKind::RESOLVES_TO, customer, EdgeProps::new())?;
            if let Some((possibly, score)) = top {
                w.relate(
                    customer,
                    RelKind::POSSIBLY_SAME,
                    possibly,
                    EdgeProps::new().attr("score", Value::Int((score * 100.0) as i64)),
                )?;
                w.commit()?;
                return Ok(Outcome::Possible {
                    customer,
                    possibly,
                    score,
                });
            }
            w.commit()?;
            return Ok(Outcome::Created { customer });
        }

        let survivor = matches.iter().map(|(c, _)| *c).min().expect("not empty");
        let score = matches.iter().map(|(_, s)| *s).fold(f64::MIN, f64::max);
        let mut w = self.write_set();
        let rec = w.create(record)?;
        w.relate(rec, RelKind::RESOLVES_TO, survivor, EdgeProps::new())?;
        w.commit()?;
        // Fill the customer's missing attributes from the new record.
        if let Some(cust) = self.get(survivor)? {
            let have = cust.attrs();
            let mut patch = Patch::new();
            for (k, v) in &profile {
                if !have.contains_key(k) {
                    patch = patch.set(k.clone(), v.clone());
                }
            }
            if !patch.set.is_empty() {
                self.update(survivor, patch)?;
            }
        }
        let merged: Vec<EntityId> = matches
            .iter()
            .map(|(c, _)| *c)
            .filter(|c| *c != survivor)
            .collect();
        if merged.is_empty() {
            return Ok(Outcome::Linked {
                customer: survivor,
                score,
            });
        }
        for m in &merged {
            self.merge_customer(*m, survivor)?;
        }
        Ok(Outcome::Merged {
            survivor,
            merged,
            score,
        })
    }

    /// Moves every relationship of `from` to `into` and leaves `from` as a
    /// redirect (`merged_into`), in one atomic write.
    fn merge_customer(&self, from: EntityId, into: EntityId) -> Result<(), ResolveError> {
        self.merge_into(
            from,
            into,
            Patch::new().set(a::MERGED_INTO, Value::Int(into.0 as i64)),
        )?;
        Ok(())
    }

    /// Every source record with its customer: `(system, key, customer)`.
    pub fn links(&self) -> Result<Vec<(String, String, EntityId)>, ReadError> {
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = self.list(EntityKind::SOURCE_RECORD, after, 10_000)?;
            for id in &page.ids {
                let Some(e) = self.get(*id)? else { continue };
                let cust = self
                    .neighbour_ids(*id, RelKind::RESOLVES_TO, Direction::Out)?
                    .into_iter()
                    .next();
                for x in e.identifiers() {
                    if let Some(c) = cust {
                        out.push((x.system, x.key, c));
                    }
                }
            }
            match page.next {
                Some(n) => after = Some(n),
                None => return Ok(out),
            }
        }
    }
}

/// Why a record belongs to its customer: how it compares with each other
/// record of that customer.
#[derive(Clone, Debug, PartialEq)]
pub struct Explanation {
    /// The record.
    pub record: EntityId,
    /// Its customer.
    pub customer: Option<EntityId>,
    /// Each other record of the customer, with the field comparisons and total.
    pub comparisons: Vec<(crate::model::ExternalId, Vec<compare::FieldScore>, f64)>,
}

impl Db {
    fn record_attrs(&self, system: &str, key: &str) -> Result<(EntityId, Attrs), ResolveError> {
        let id = self
            .lookup(system, key)?
            .ok_or_else(|| ResolveError::Invalid(format!("no record {system}:{key}")))?;
        let e = self
            .get(id)?
            .ok_or_else(|| ResolveError::Invalid(format!("no record {system}:{key}")))?;
        if e.kind != EntityKind::SOURCE_RECORD {
            return Err(ResolveError::Invalid(format!(
                "{system}:{key} names a {}, not a source record",
                e.kind
            )));
        }
        Ok((id, comparable(&e.attrs())))
    }

    /// How two source records compare, field by field.
    pub fn compare_records(
        &self,
        a: (&str, &str),
        b: (&str, &str),
    ) -> Result<(Vec<compare::FieldScore>, f64), ResolveError> {
        let (_, x) = self.record_attrs(a.0, a.1)?;
        let (_, y) = self.record_attrs(b.0, b.1)?;
        Ok(compare::compare(&x, &y))
    }

    /// Why a record belongs to its customer.
    pub fn explain(&self, system: &str, key: &str) -> Result<Explanation, ResolveError> {
        let (id, attrs) = self.record_attrs(system, key)?;
        let customer = self
            .neighbour_ids(id, RelKind::RESOLVES_TO, Direction::Out)?
            .into_iter()
            .next();
        let mut comparisons = Vec::new();
        if let Some(c) = customer {
            for other in self.neighbour_ids(c, RelKind::RESOLVES_TO, Direction::In)? {
                if other == id {
                    continue;
                }
                let Some(o) = self.get(other)? else { continue };
                let (scores, total) = compare::compare(&attrs, &comparable(&o.attrs()));
                for x in o.identifiers() {
                    comparisons.push((x, scores.clone(), total));
                }
            }
        }
        comparisons.sort_by(|p, q| q.2.total_cmp(&p.2));
        Ok(Explanation {
            record: id,
            customer,
            comparisons,
        })
    }

    /// Deletes a source record. A customer left without records is deleted
    /// too. Returns whether the record existed. (Splitting a customer whose
    /// remaining records no longer hold together is not done yet.)
    pub fn delete_record(&self, system: &str, key: &str) -> Result<bool, ResolveError> {
        let Some(id) = self.lookup(system, key)? else {
            return Ok(false);
        };
        let customer = self
            .neighbour_ids(id, RelKind::RESOLVES_TO, Direction::Out)?
            .into_iter()
            .next();
        self.delete(id)?;
        if let Some(c) = customer {
            if self
                .neighbour_ids(c, RelKind::RESOLVES_TO, Direction::In)?
                .is_empty()
            {
                self.delete(c)?;
            }
        }
        Ok(true)
    }
}
