//! Scoring resolution against a known truth: pairwise precision, recall and
//! F1, and the false merges and false splits themselves — what a team
//! tuning a matcher reads first.

use super::ResolveError;
use crate::model::{EntityId, ExternalId};
use crate::Db;
use std::collections::{BTreeMap, HashMap};

/// How the database's customers compare with a truth.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Evaluation {
    /// Truth rows whose record the database holds.
    pub records: u64,
    /// Truth rows whose record the database does not hold (left out of the scores).
    pub missing: Vec<ExternalId>,
    /// Pairs of those records the database puts in one customer.
    pub predicted_pairs: u64,
    /// Pairs of those records the truth puts in one entity.
    pub true_pairs: u64,
    /// Pairs both put together.
    pub true_positives: u64,
    /// Pairs one customer holds that the truth keeps apart (at most the
    /// limit asked for; `false_merge_count` counts them all).
    pub false_merges: Vec<(ExternalId, ExternalId, EntityId)>,
    /// How many pairs are falsely merged.
    pub false_merge_count: u64,
    /// Pairs of one true entity in two customers (at most the limit; the
    /// count is `false_split_count`).
    pub false_splits: Vec<(ExternalId, ExternalId, EntityId, EntityId)>,
    /// How many pairs are falsely split.
    pub false_split_count: u64,
}

impl Evaluation {
    /// True positives over predicted pairs (1 when nothing was predicted).
    pub fn precision(&self) -> f64 {
        if self.predicted_pairs == 0 {
            1.0
        } else {
            self.true_positives as f64 / self.predicted_pairs as f64
        }
    }

    /// True positives over true pairs (1 when the truth has none).
    pub fn recall(&self) -> f64 {
        if self.true_pairs == 0 {
            1.0
        } else {
            self.true_positives as f64 / self.true_pairs as f64
        }
    }

    /// The harmonic mean of precision and recall.
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

fn pairs(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

impl Db {
    /// Scores the customers against `truth`: `(entity, system, key)` rows,
    /// the records of one true entity sharing its `entity` label. Lists at
    /// most `limit` false merges and false splits (the counts are exact).
    pub fn evaluate(
        &self,
        truth: &[(String, String, String)],
        limit: usize,
    ) -> Result<Evaluation, ResolveError> {
        let mut customer_of: HashMap<(String, String), EntityId> = HashMap::new();
        for (system, key, customer) in self.links()? {
            customer_of.insert((system, key), customer);
        }
        let mut ev = Evaluation::default();
        // Records by predicted customer and by true entity.
        let mut by_customer: BTreeMap<EntityId, Vec<(usize, ExternalId)>> = BTreeMap::new();
        let mut by_entity: BTreeMap<usize, Vec<(EntityId, ExternalId)>> = BTreeMap::new();
        let mut labels: HashMap<&str, usize> = HashMap::new();
        let mut cells: HashMap<(EntityId, usize), u64> = HashMap::new();
        for (entity, system, key) in truth {
            let x = ExternalId::new(system.clone(), key.clone());
            let Some(&c) = customer_of.get(&(system.clone(), key.clone())) else {
                ev.missing.push(x);
                continue;
            };
            let n = labels.len();
            let label = *labels.entry(entity.as_str()).or_insert(n);
            ev.records += 1;
            by_customer.entry(c).or_default().push((label, x.clone()));
            by_entity.entry(label).or_default().push((c, x));
            *cells.entry((c, label)).or_insert(0) += 1;
        }
        ev.predicted_pairs = by_customer.values().map(|v| pairs(v.len() as u64)).sum();
        ev.true_pairs = by_entity.values().map(|v| pairs(v.len() as u64)).sum();
        ev.true_positives = cells.values().map(|n| pairs(*n)).sum();
        ev.false_merge_count = ev.predicted_pairs - ev.true_positives;
        ev.false_split_count = ev.true_pairs - ev.true_positives;
        'merges: for (c, recs) in &by_customer {
            for (i, (li, xi)) in recs.iter().enumerate() {
                for (lj, xj) in &recs[i + 1..] {
                    if li != lj {
                        if ev.false_merges.len() >= limit {
                            break 'merges;
                        }
                        ev.false_merges.push((xi.clone(), xj.clone(), *c));
                    }
                }
            }
        }
        'splits: for recs in by_entity.values() {
            for (i, (ci, xi)) in recs.iter().enumerate() {
                for (cj, xj) in &recs[i + 1..] {
                    if ci != cj {
                        if ev.false_splits.len() >= limit {
                            break 'splits;
                        }
                        ev.false_splits.push((xi.clone(), xj.clone(), *ci, *cj));
                    }
                }
            }
        }
        Ok(ev)
    }
}
