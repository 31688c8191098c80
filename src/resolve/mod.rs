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

mod cluster;
pub mod compare;
mod evaluate;
pub mod normalize;
mod review;
mod settle;
pub(crate) mod survive;

pub use cluster::Deleted;
pub use evaluate::Evaluation;
pub use review::{PossibleMatch, ReviewQueue};
pub(crate) use settle::PairMemo;
pub use survive::Lineage;

use crate::error::{ReadError, WriteError};
use crate::model::attrs as a;
use crate::model::{Attrs, Direction, EntityId, EntityKind, NewEntity, Patch, RelKind, Value};
use crate::{Db, Transaction};
use compare::{Rules, PARTY_KIND};

/// Thresholds, limits and scoring rules of resolution.
#[derive(Clone, Debug, PartialEq)]
pub struct ResolveConfig {
    /// A score at or above this links the record to the customer.
    pub match_threshold: f64,
    /// A score at or above this (and below a match) records a possible match.
    pub possible_threshold: f64,
    /// Blocking keys shared by more records than this are skipped (too common).
    pub max_block: usize,
    /// A neighbourhood re-clustered after a change stops following
    /// `SHARES_CONTACT` links past this many records (its customers are
    /// still taken whole): one change never reads an unbounded part of the
    /// store, and past the bound the customers can depend on order.
    pub max_region: usize,
    /// Weights and blocking keys.
    pub rules: Rules,
}

impl Default for ResolveConfig {
    fn default() -> ResolveConfig {
        ResolveConfig {
            match_threshold: 12.0,
            possible_threshold: 7.0,
            max_block: 50,
            max_region: 2_000,
            rules: Rules::default(),
        }
    }
}

/// What resolving a record did.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
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
    /// A stored record whose fields changed was resolved again: its old
    /// customer was split if its other records no longer hold together.
    Updated {
        /// Where the record belongs now.
        customer: EntityId,
        /// Customers split off its old customer.
        split_off: Vec<EntityId>,
        /// How the record was placed (linked, merged, possible or created).
        placed: Box<Outcome>,
    },
}

impl Outcome {
    /// The customer the record belongs to after this outcome.
    pub fn customer(&self) -> EntityId {
        match self {
            Outcome::Created { customer }
            | Outcome::Linked { customer, .. }
            | Outcome::Possible { customer, .. }
            | Outcome::Unchanged { customer }
            | Outcome::Updated { customer, .. } => *customer,
            Outcome::Merged { survivor, .. } => *survivor,
        }
    }
}

/// Why resolving failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// The record itself is malformed.
    #[error("invalid record: {0}")]
    Invalid(String),
    /// No record with this `(system, key)`.
    #[error("no source record {system}:{key}")]
    UnknownRecord {
        /// The system.
        system: String,
        /// The key.
        key: String,
    },
    /// A read failed.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// A write failed.
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// The attributes of a record that are compared (not bookkeeping), plus its
/// party kind (which decides the rules).
fn comparable(attrs: &Attrs) -> Attrs {
    attrs
        .iter()
        .filter(|(k, _)| k.as_str() == PARTY_KIND || !survive::bookkeeping(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// [`comparable`] of a stored entity, read from its bytes without copying
/// the bookkeeping attributes (a record's blocking keys are a dozen strings).
fn comparable_entity(e: &crate::Entity) -> Attrs {
    e.attr_refs()
        .into_iter()
        .filter(|(k, _)| *k == PARTY_KIND || !survive::bookkeeping(k))
        .map(|(k, v)| (k.to_string(), v.to_value()))
        .collect()
}

/// The fields of a stored record as given (everything but derived keys).
/// A record describes a party, and its trust ranks are integers.
fn check_record(party: EntityKind, fields: &Attrs) -> Result<(), ResolveError> {
    if !party.is_party() {
        return Err(ResolveError::Invalid(format!(
            "a record must describe a party, not {party}"
        )));
    }
    for (k, v) in fields {
        if (k == a::TRUST || k.starts_with("trust_")) && !matches!(v, Value::Int(_)) {
            return Err(ResolveError::Invalid(format!(
                "{k} must be an integer trust rank"
            )));
        }
    }
    Ok(())
}

/// The patch that turns a stored record's fields `old` into `new`, with
/// its blocking keys.
fn record_patch(old: &Attrs, new: &Attrs, keys: &[String]) -> Patch {
    let mut patch = Patch::new();
    for k in old.keys().filter(|k| !new.contains_key(*k)) {
        patch = patch.remove(k.clone());
    }
    for (k, v) in new {
        patch = patch.set(k.clone(), v.clone());
    }
    patch.set(
        a::BLOCKING_KEYS,
        Value::List(keys.iter().cloned().map(Value::Text).collect()),
    )
}

fn given(attrs: &Attrs) -> Attrs {
    attrs
        .iter()
        .filter(|(k, _)| k.as_str() != a::BLOCKING_KEYS)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The golden profile a customer starts with: the record's fields.
fn profile_of(attrs: &Attrs) -> Attrs {
    let mut p: Attrs = attrs
        .iter()
        .filter(|(k, _)| !survive::bookkeeping(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let names: Vec<String> = p.keys().cloned().collect();
    p.insert(a::SURVIVED.into(), survive::survived_list(names));
    p
}

fn party_name(kind: EntityKind) -> &'static str {
    if kind == EntityKind::ORGANIZATION {
        "organization"
    } else {
        "person"
    }
}

/// Reads resolution needs both on the committed state (`Db`) and inside
/// a transaction (which sees its own writes).
macro_rules! resolve_reads {
    () => {
        /// The customer a source record is linked to.
        pub(crate) fn customer_of(&self, record: EntityId) -> Result<Option<EntityId>, ReadError> {
            Ok(self
                .neighbour_ids(record, RelKind::RESOLVES_TO, Direction::Out)?
                .into_iter()
                .next())
        }

        /// The source records of a customer.
        pub(crate) fn records_of(&self, customer: EntityId) -> Result<Vec<EntityId>, ResolveError> {
            Ok(self.neighbour_ids(customer, RelKind::RESOLVES_TO, Direction::In)?)
        }

        fn record_attrs(&self, system: &str, key: &str) -> Result<(EntityId, Attrs), ResolveError> {
            let unknown = || ResolveError::UnknownRecord {
                system: system.to_string(),
                key: key.to_string(),
            };
            let id = self.lookup(system, key)?.ok_or_else(unknown)?;
            let e = self.get(id)?.ok_or_else(unknown)?;
            if e.kind != EntityKind::SOURCE_RECORD {
                return Err(ResolveError::Invalid(format!(
                    "{system}:{key} names a {}, not a source record",
                    e.kind
                )));
            }
            Ok((id, comparable_entity(&e)))
        }
    };
}

impl Db {
    resolve_reads!();
}

impl Transaction<'_> {
    resolve_reads!();

    fn record_id(&self, system: &str, key: &str) -> Result<EntityId, ResolveError> {
        self.record_attrs(system, key).map(|(id, _)| id)
    }
}

impl Db {
    /// Resolves one source record as it arrives, in one transaction: stores
    /// it (or updates it), and links it to the customer it belongs to,
    /// creating, merging or splitting customers as the comparisons decide.
    /// Fields named `trust` and `trust_<attribute>` (integers) are the
    /// source's trust ranks for survivorship, not compared. Atomic and
    /// isolated from concurrent resolutions: two upserts of the same person
    /// at once never make two customers.
    pub fn upsert_record(
        &self,
        system: &str,
        key: &str,
        party: EntityKind,
        fields: Attrs,
        config: &ResolveConfig,
    ) -> Result<Outcome, ResolveError> {
        Ok(self
            .transaction(|tx| tx.upsert_record(system, key, party, fields, config))?
            .value)
    }
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
        self.customer_of(rec)
    }

    /// The customer a query about `id` is about: a source record's customer
    /// (the one it resolves to), a merged-away customer's survivor, or `id`
    /// itself. `None` when no entity has that id.
    pub fn customer_for(&self, id: EntityId) -> Result<Option<EntityId>, ReadError> {
        let Some(e) = self.get(id)? else {
            return Ok(None);
        };
        let next = if e.kind == crate::model::EntityKind::SOURCE_RECORD {
            self.customer_of(id)?
        } else {
            match e.attr(a::MERGED_INTO) {
                Some(Value::Int(n)) if n >= 0 && n as u64 != id.0 => Some(EntityId(n as u64)),
                _ => None,
            }
        };
        // Only the uncommon cases read more than the entity itself.
        match next {
            Some(n) => Ok(Some(self.follow_merges(n)?)),
            None => Ok(Some(id)),
        }
    }

    /// The customer an id stands for now: a customer merged into another
    /// is a redirect to its survivor (followed through chains of merges).
    pub fn follow_merges(&self, id: EntityId) -> Result<EntityId, ReadError> {
        let mut id = id;
        for _ in 0..64 {
            match self.get(id)?.and_then(|e| e.attr(a::MERGED_INTO)) {
                Some(Value::Int(next)) if next >= 0 && next as u64 != id.0 => {
                    id = EntityId(next as u64)
                }
                _ => return Ok(id),
            }
        }
        Ok(id)
    }
}

impl Transaction<'_> {
    /// Resolves one source record as it arrives: stores it (or updates it),
    /// and links it to the customer it belongs to, creating, merging or
    /// splitting customers as the comparisons decide. Fields named `trust`
    /// and `trust_<attribute>` (integers) are the source's trust ranks for
    /// survivorship, not compared.
    pub fn upsert_record(
        &mut self,
        system: &str,
        key: &str,
        party: EntityKind,
        fields: Attrs,
        config: &ResolveConfig,
    ) -> Result<Outcome, ResolveError> {
        check_record(party, &fields)?;
        let mut fields = given(&fields);
        fields.insert(PARTY_KIND.into(), Value::Text(party_name(party).into()));
        let keys = compare::blocking_keys_with(&config.rules, &comparable(&fields));
        let Some(existing) = self.lookup(system, key)? else {
            let mut record = NewEntity::new(EntityKind::SOURCE_RECORD).identifier(system, key);
            record.attrs = fields;
            record.attrs.insert(
                a::BLOCKING_KEYS.into(),
                Value::List(keys.iter().cloned().map(Value::Text).collect()),
            );
            let rec = self.create(record)?;
            let settled = self.settle(&[rec], &keys, &[], config)?;
            return Ok(outcome(rec, None, &settled));
        };
        let rec = self
            .get(existing)?
            .ok_or_else(|| ResolveError::Invalid(format!("{system}:{key} vanished")))?;
        if rec.kind != EntityKind::SOURCE_RECORD {
            return Err(ResolveError::Invalid(format!(
                "{system}:{key} names a {}, not a source record",
                rec.kind
            )));
        }
        let old = given(&rec.attrs());
        let customer = self.customer_of(existing)?;
        if old == fields {
            if let Some(c) = customer {
                return Ok(Outcome::Unchanged { customer: c });
            }
        }
        // Changed fields: store them and settle the neighbourhoods of the
        // old values and the new ones (the old customer may split).
        let mut touched = settle::stored_keys(&rec);
        self.update(existing, record_patch(&old, &fields, &keys))?;
        touched.extend(keys);
        touched.sort();
        touched.dedup();
        let customers: Vec<EntityId> = customer.into_iter().collect();
        let settled = self.settle(&[existing], &touched, &customers, config)?;
        let placed = outcome(existing, customer, &settled);
        let now = placed.customer();
        let split_off = customer
            .and_then(|c| settled.split_off.get(&c))
            .map(|s| {
                // The record's own new customer, when it holds only the
                // record, is not a part split off.
                let own = |x: &EntityId| {
                    *x == now && settled.customer.values().filter(|c| **c == now).count() == 1
                };
                s.iter().copied().filter(|x| !own(x)).collect()
            })
            .unwrap_or_default();
        Ok(Outcome::Updated {
            customer: now,
            split_off,
            placed: Box::new(placed),
        })
    }

    /// Moves every relationship of `from` to `into` and leaves `from` as a
    /// redirect (`merged_into`), in one atomic write.
    /// The redirect keeps no attribute of its own: its golden values now live
    /// in the survivor, and a stale copy would answer `find`, name search
    /// and the indexes beside the survivor.
    fn merge_customer(&mut self, from: EntityId, into: EntityId) -> Result<(), ResolveError> {
        let mut redirect = Patch::new().set(a::MERGED_INTO, Value::Int(into.0 as i64));
        if let Some(e) = self.get(from)? {
            for (name, _) in e.attr_refs() {
                if name != a::MERGED_INTO {
                    redirect = redirect.remove(name);
                }
            }
        }
        self.merge_into(from, into, redirect)?;
        Ok(())
    }
}

/// What settling did for `record` (whose customer was `before`).
fn outcome(record: EntityId, before: Option<EntityId>, settled: &settle::Settled) -> Outcome {
    let Some(&now) = settled.customer.get(&record) else {
        // Not reached: a settled record always has a customer.
        return Outcome::Created {
            customer: before.unwrap_or(record),
        };
    };
    let score = settled.best.get(&record).copied().unwrap_or(0.0);
    let alone = settled.customer.values().filter(|c| **c == now).count() == 1;
    if alone {
        return match settled.possible.get(&now) {
            Some((possibly, score)) => Outcome::Possible {
                customer: now,
                possibly: *possibly,
                score: *score,
            },
            None => Outcome::Created { customer: now },
        };
    }
    let merged: Vec<EntityId> = settled
        .merged
        .iter()
        .filter(|(c, into)| {
            // The record's old customer, when it held nothing else, is
            // the record moving, not a merge.
            let own = Some(**c) == before
                && settled
                    .before
                    .iter()
                    .all(|(r, b)| *r == record || *b != Some(**c));
            **into == now && !own
        })
        .map(|(c, _)| *c)
        .collect();
    if merged.is_empty() {
        Outcome::Linked {
            customer: now,
            score,
        }
    } else {
        Outcome::Merged {
            survivor: now,
            merged,
            score,
        }
    }
}

impl Db {
    /// Every source record with its customer: `(system, key, customer)`.
    pub fn links(&self) -> Result<Vec<(String, String, EntityId)>, ReadError> {
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = self.list(EntityKind::SOURCE_RECORD, after, 10_000)?;
            for id in &page.ids {
                let Some(e) = self.get(*id)? else { continue };
                let cust = self.customer_of(*id)?;
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

/// Two source records side by side: how they compare and, when they are in
/// different customers, what keeps them apart.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct PairExplanation {
    /// The first record's customer.
    pub customer_a: Option<EntityId>,
    /// The second record's customer.
    pub customer_b: Option<EntityId>,
    /// Field by field (without the store's value frequencies).
    pub fields: Vec<compare::FieldScore>,
    /// The total of `fields`.
    pub total: f64,
    /// Why they are where they are.
    pub why: PairWhy,
}

/// Why two records are in one customer, or not.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum PairWhy {
    /// One customer.
    Together {
        /// A user decided so (`kith same`).
        forced: bool,
    },
    /// A user decided they are not the same (`kith apart`).
    ForcedApart,
    /// A veto holds them apart (`compare::VETOES`).
    Veto(&'static str),
    /// Their score is below the match threshold (and this one, the
    /// possible-match threshold, says whether it is a possible match).
    BelowThreshold {
        /// The match threshold.
        threshold: f64,
        /// Whether the score reaches the possible-match threshold.
        possible: bool,
    },
    /// Their score reaches the threshold, yet they are apart: joining them
    /// would put two other records that are held apart into one customer.
    Conflict {
        /// A record of the first one's customer.
        a: crate::model::ExternalId,
        /// A record of the second one's customer, held apart from `a`.
        b: crate::model::ExternalId,
        /// What holds them apart: a veto's name, or `apart` (a user's
        /// decision).
        reason: &'static str,
    },
    /// Their score reaches the threshold, yet they are apart: the values'
    /// frequencies in the store decided (a shared phone or address weighs
    /// less as more records hold it), or a block too large to search.
    Other,
}

impl Db {
    /// Two records side by side: their comparison and why they are in one
    /// customer or two (a user's decision, a veto, the threshold).
    pub fn explain_pair(
        &self,
        a: (&str, &str),
        b: (&str, &str),
        config: &ResolveConfig,
    ) -> Result<PairExplanation, ResolveError> {
        let (ra, x) = self.record_attrs(a.0, a.1)?;
        let (rb, y) = self.record_attrs(b.0, b.1)?;
        let (fields, total) = compare::compare(&x, &y);
        let (ca, cb) = (self.customer_of(ra)?, self.customer_of(rb)?);
        let linked = |kind| -> Result<bool, ResolveError> {
            Ok(self.neighbour_ids(ra, kind, Direction::Out)?.contains(&rb)
                || self.neighbour_ids(rb, kind, Direction::Out)?.contains(&ra))
        };
        let why = if ca.is_some() && ca == cb {
            PairWhy::Together {
                forced: linked(RelKind::SAME_AS)?,
            }
        } else if linked(RelKind::NOT_SAME)? {
            PairWhy::ForcedApart
        } else if let Some(v) = config
            .rules
            .veto(&x, &y)
            .filter(|_| total >= config.possible_threshold)
        {
            // A veto that mattered: without it they could have linked.
            PairWhy::Veto(v)
        } else if total < config.match_threshold {
            PairWhy::BelowThreshold {
                threshold: config.match_threshold,
                possible: total >= config.possible_threshold,
            }
        } else {
            match (ca, cb) {
                (Some(ca), Some(cb)) => self.conflict(ca, cb, config)?.unwrap_or(PairWhy::Other),
                _ => PairWhy::Other,
            }
        };
        Ok(PairExplanation {
            customer_a: ca,
            customer_b: cb,
            fields,
            total,
            why,
        })
    }

    /// Two records, one of customer `ca` and one of `cb`, that are held
    /// apart (a veto or a user's decision): why the two customers are two.
    fn conflict(
        &self,
        ca: EntityId,
        cb: EntityId,
        config: &ResolveConfig,
    ) -> Result<Option<PairWhy>, ResolveError> {
        let load = |c: EntityId| -> Result<Vec<(EntityId, crate::Entity)>, ResolveError> {
            let mut out = Vec::new();
            for r in self.records_of(c)? {
                if let Some(e) = self.get(r)? {
                    out.push((r, e));
                }
            }
            Ok(out)
        };
        let (xs, ys) = (load(ca)?, load(cb)?);
        for (rx, ex) in &xs {
            let apart = self.neighbour_ids(*rx, RelKind::NOT_SAME, Direction::Out)?;
            let apart_in = self.neighbour_ids(*rx, RelKind::NOT_SAME, Direction::In)?;
            let x = comparable_entity(ex);
            for (ry, ey) in &ys {
                let reason = if apart.contains(ry) || apart_in.contains(ry) {
                    Some("apart")
                } else {
                    config.rules.veto(&x, &comparable_entity(ey))
                };
                let name = |e: &crate::Entity| e.identifiers().into_iter().next();
                if let (Some(reason), Some(a), Some(b)) = (reason, name(ex), name(ey)) {
                    return Ok(Some(PairWhy::Conflict { a, b, reason }));
                }
            }
        }
        Ok(None)
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
                let (scores, total) = compare::compare(&attrs, &comparable_entity(&o));
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
}
