//! Unmerge and user overrides: when a record changes or goes, the records
//! left on its customer are clustered again (every pair compared, the
//! user's "same" and "not same" respected) and a customer that no longer
//! holds together splits, each part taking back the relationships its
//! records stated.

use super::{comparable_entity, compare, ResolveConfig, ResolveError};
use crate::model::attrs as a;
use crate::model::{Direction, EdgeProps, EntityId, NewEntity, RelKind, Value};
use crate::{Db, Transaction};
use std::collections::{BTreeMap, BTreeSet};

/// What deleting a source record did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deleted {
    /// The customer the record belonged to.
    pub customer: Option<EntityId>,
    /// Whether that customer was deleted (it had no other record).
    pub customer_deleted: bool,
    /// Customers split off it because its other records no longer hold together.
    pub split_off: Vec<EntityId>,
}

/// Union-find that refuses a union joining two records kept apart.
struct Clusters {
    parent: Vec<usize>,
    members: Vec<Vec<usize>>,
}

impl Clusters {
    fn new(n: usize) -> Clusters {
        Clusters {
            parent: (0..n).collect(),
            members: (0..n).map(|i| vec![i]).collect(),
        }
    }

    fn root(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    fn union(&mut self, x: usize, y: usize, apart: &BTreeSet<(usize, usize)>) {
        let (rx, ry) = (self.root(x), self.root(y));
        if rx == ry {
            return;
        }
        for p in &self.members[rx] {
            for q in &self.members[ry] {
                if apart.contains(&((*p).min(*q), (*p).max(*q))) {
                    return;
                }
            }
        }
        let moved = std::mem::take(&mut self.members[ry]);
        self.members[rx].extend(moved);
        self.parent[ry] = rx;
    }
}

impl Db {
    /// Deletes a source record, in one transaction. The relationships it
    /// stated go with it; a customer left without records is deleted; one
    /// whose remaining records no longer hold together splits. `None` if
    /// there was no such record.
    pub fn delete_record(
        &self,
        system: &str,
        key: &str,
        config: &ResolveConfig,
    ) -> Result<Option<Deleted>, ResolveError> {
        Ok(self
            .transaction(|tx| tx.delete_record(system, key, config))?
            .value)
    }

    /// Forces two records into one customer (a user's decision), in one
    /// transaction; see [`Transaction::force_together`].
    pub fn force_together(
        &self,
        x: (&str, &str),
        y: (&str, &str),
    ) -> Result<EntityId, ResolveError> {
        Ok(self.transaction(|tx| tx.force_together(x, y))?.value)
    }

    /// Forces two records into different customers (a user's decision), in
    /// one transaction; see [`Transaction::force_apart`].
    pub fn force_apart(
        &self,
        x: (&str, &str),
        y: (&str, &str),
        config: &ResolveConfig,
    ) -> Result<(EntityId, EntityId), ResolveError> {
        Ok(self.transaction(|tx| tx.force_apart(x, y, config))?.value)
    }
}

impl Transaction<'_> {
    /// Pairs of `records` the user linked with `kind` (indexes into `records`).
    fn override_pairs(
        &self,
        records: &[EntityId],
        kind: RelKind,
    ) -> Result<BTreeSet<(usize, usize)>, ResolveError> {
        let pos: BTreeMap<EntityId, usize> =
            records.iter().enumerate().map(|(i, r)| (*r, i)).collect();
        let mut out = BTreeSet::new();
        for (i, r) in records.iter().enumerate() {
            for other in self.neighbour_ids(*r, kind, Direction::Out)? {
                if let Some(j) = pos.get(&other) {
                    out.insert((i.min(*j), i.max(*j)));
                }
            }
        }
        Ok(out)
    }

    /// The records clustered by their pairwise comparisons: every pair at
    /// or above the match threshold joined, strongest evidence first (so a
    /// "not same" cuts the weakest link); the user's overrides win.
    fn cluster(
        &self,
        records: &[EntityId],
        config: &ResolveConfig,
    ) -> Result<Clusters, ResolveError> {
        let mut attrs = Vec::with_capacity(records.len());
        for r in records {
            attrs.push(
                self.get(*r)?
                    .map(|e| comparable_entity(&e))
                    .unwrap_or_default(),
            );
        }
        let together = self.override_pairs(records, RelKind::SAME_AS)?;
        let apart = self.override_pairs(records, RelKind::NOT_SAME)?;
        let mut pairs = Vec::new();
        for i in 0..records.len() {
            for j in i + 1..records.len() {
                let c = compare::compare_with(
                    &config.rules,
                    &attrs[i],
                    &attrs[j],
                    &compare::Frequencies::default(),
                );
                let s = if together.contains(&(i, j)) {
                    f64::INFINITY
                } else if config.rules.veto(&attrs[i], &attrs[j]).is_some() {
                    continue;
                } else {
                    c.identifying
                };
                if s >= config.match_threshold {
                    pairs.push((s, i, j));
                }
            }
        }
        pairs.sort_by(|x, y| y.0.total_cmp(&x.0).then((x.1, x.2).cmp(&(y.1, y.2))));
        let mut clusters = Clusters::new(records.len());
        for (_, i, j) in pairs {
            clusters.union(i, j, &apart);
        }
        Ok(clusters)
    }

    /// Clusters the records of `customer` again and splits off every part
    /// that no longer holds together with the part holding its oldest
    /// record. Returns the new customers. A customer left without records
    /// is deleted.
    pub(crate) fn split_if_needed(
        &mut self,
        customer: EntityId,
        config: &ResolveConfig,
    ) -> Result<Vec<EntityId>, ResolveError> {
        let mut records = self.records_of(customer)?;
        if records.is_empty() {
            self.delete(customer)?;
            return Ok(Vec::new());
        }
        if records.len() == 1 || records.len() > config.max_cluster {
            self.survive(customer)?;
            return Ok(Vec::new());
        }
        records.sort();
        let mut clusters = self.cluster(&records, config)?;
        let mut parts: BTreeMap<usize, Vec<EntityId>> = BTreeMap::new();
        for (i, rec) in records.iter().enumerate() {
            let r = clusters.root(i);
            parts.entry(r).or_default().push(*rec);
        }
        let keep = clusters.root(0);
        let Some(kind) = self.get(customer)?.map(|c| c.kind) else {
            return Ok(Vec::new());
        };
        let mut split_off = Vec::new();
        for (root, part) in parts {
            if root == keep {
                continue;
            }
            let new = self.create(NewEntity::new(kind))?;
            for r in &part {
                self.unrelate(*r, RelKind::RESOLVES_TO, customer)?;
                self.relate(*r, RelKind::RESOLVES_TO, new, EdgeProps::new())?;
            }
            self.stated_edges(customer, Some(new), &part.iter().copied().collect())?;
            self.survive(new)?;
            split_off.push(new);
        }
        self.survive(customer)?;
        if !split_off.is_empty() {
            self.note(crate::Change::CustomerSplit {
                customer,
                split_off: split_off.clone(),
            });
        }
        Ok(split_off)
    }

    /// Adds to `w` the move from `from` to `to` (or the removal, when `to`
    /// is `None`) of every relationship of `from` that one of `records`
    /// stated (its `from_record` or `to_record` property).
    fn stated_edges(
        &mut self,
        from: EntityId,
        to: Option<EntityId>,
        records: &BTreeSet<EntityId>,
    ) -> Result<(), ResolveError> {
        let by = |props: &EdgeProps, name: &str| match props.attrs.get(name) {
            Some(Value::Int(i)) => records.contains(&EntityId(*i as u64)),
            _ => false,
        };
        for e in self.edges(from, Direction::Out)? {
            if by(&e.props, a::FROM_RECORD) {
                self.unrelate(from, e.kind, e.id)?;
                if let Some(to) = to {
                    self.relate(to, e.kind, e.id, e.props)?;
                }
            }
        }
        for e in self.edges(from, Direction::In)? {
            if by(&e.props, a::TO_RECORD) {
                self.unrelate(e.id, e.kind, from)?;
                if let Some(to) = to {
                    self.relate(e.id, e.kind, to, e.props)?;
                }
            }
        }
        Ok(())
    }

    /// Moves the relationships `records` stated from customer `from` to `to`.
    pub(crate) fn move_stated_edges(
        &mut self,
        from: EntityId,
        to: EntityId,
        records: &BTreeSet<EntityId>,
    ) -> Result<(), ResolveError> {
        if !self.contains(from)? || !self.contains(to)? {
            return Ok(());
        }
        self.stated_edges(from, Some(to), records)?;
        Ok(())
    }

    /// Whether merging customers `x` and `y` would put together two records
    /// the user forced apart.
    pub(crate) fn apart_conflict(&self, x: EntityId, y: EntityId) -> Result<bool, ResolveError> {
        let xs: BTreeSet<EntityId> = self.records_of(x)?.into_iter().collect();
        for r in self.records_of(y)? {
            for dir in [Direction::Out, Direction::In] {
                if self
                    .neighbour_ids(r, RelKind::NOT_SAME, dir)?
                    .iter()
                    .any(|o| xs.contains(o))
                {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// Deletes a source record. The relationships it stated go with it; a
    /// customer left without records is deleted; one whose remaining
    /// records no longer hold together splits. `None` if there was no such
    /// record.
    pub fn delete_record(
        &mut self,
        system: &str,
        key: &str,
        config: &ResolveConfig,
    ) -> Result<Option<Deleted>, ResolveError> {
        if self.lookup(system, key)?.is_none() {
            return Ok(None);
        }
        let id = self.record_id(system, key)?;
        let customer = self.customer_of(id)?;
        if let Some(c) = customer {
            let by = |props: &EdgeProps, name: &str| matches!(props.attrs.get(name), Some(Value::Int(i)) if *i as u64 == id.0);
            for e in self.edges(c, Direction::Out)? {
                if by(&e.props, a::FROM_RECORD) {
                    self.unrelate(c, e.kind, e.id)?;
                }
            }
            for e in self.edges(c, Direction::In)? {
                if by(&e.props, a::TO_RECORD) {
                    self.unrelate(e.id, e.kind, c)?;
                }
            }
        }
        self.delete(id)?;
        let Some(c) = customer else {
            return Ok(Some(Deleted {
                customer: None,
                customer_deleted: false,
                split_off: Vec::new(),
            }));
        };
        let split_off = self.split_if_needed(c, config)?;
        Ok(Some(Deleted {
            customer: Some(c),
            customer_deleted: !self.contains(c)?,
            split_off,
        }))
    }

    /// Forces two records into one customer (a user's decision): they are
    /// linked `SAME_AS`, any `NOT_SAME` between them is dropped, and their
    /// customers merge. Later resolution keeps them together. Returns the
    /// customer.
    pub fn force_together(
        &mut self,
        x: (&str, &str),
        y: (&str, &str),
    ) -> Result<EntityId, ResolveError> {
        let (rx, ry) = (self.record_id(x.0, x.1)?, self.record_id(y.0, y.1)?);
        if rx == ry {
            return Err(ResolveError::Invalid("a record is always itself".into()));
        }
        self.unrelate(rx, RelKind::NOT_SAME, ry)?;
        self.unrelate(ry, RelKind::NOT_SAME, rx)?;
        self.relate(rx, RelKind::SAME_AS, ry, EdgeProps::new())?;
        let (cx, cy) = (self.customer_of(rx)?, self.customer_of(ry)?);
        match (cx, cy) {
            (Some(cx), Some(cy)) if cx != cy => {
                let (keep, gone) = (cx.min(cy), cx.max(cy));
                self.merge_customer(gone, keep)?;
                self.survive(keep)?;
                Ok(keep)
            }
            (Some(c), _) | (_, Some(c)) => Ok(c),
            (None, None) => Err(ResolveError::Invalid(
                "neither record has a customer".into(),
            )),
        }
    }

    /// Forces two records into different customers (a user's decision):
    /// they are linked `NOT_SAME`, any `SAME_AS` between them is dropped,
    /// and if they share a customer it splits, cutting the weakest links.
    /// Later resolution keeps them apart. Returns their customers.
    pub fn force_apart(
        &mut self,
        x: (&str, &str),
        y: (&str, &str),
        config: &ResolveConfig,
    ) -> Result<(EntityId, EntityId), ResolveError> {
        let (rx, ry) = (self.record_id(x.0, x.1)?, self.record_id(y.0, y.1)?);
        if rx == ry {
            return Err(ResolveError::Invalid(
                "a record cannot be kept apart from itself".into(),
            ));
        }
        self.unrelate(rx, RelKind::SAME_AS, ry)?;
        self.unrelate(ry, RelKind::SAME_AS, rx)?;
        self.relate(rx, RelKind::NOT_SAME, ry, EdgeProps::new())?;
        if let (Some(cx), Some(cy)) = (self.customer_of(rx)?, self.customer_of(ry)?) {
            if cx == cy {
                self.split_if_needed(cx, config)?;
                if self.customer_of(rx)? == self.customer_of(ry)? {
                    // Still together (a customer too large to recluster):
                    // take the second record out on its own.
                    let new = self.create(NewEntity::new(
                        self.get(cx)?
                            .map(|e| e.kind)
                            .unwrap_or(crate::EntityKind::PERSON),
                    ))?;
                    self.unrelate(ry, RelKind::RESOLVES_TO, cx)?;
                    self.relate(ry, RelKind::RESOLVES_TO, new, EdgeProps::new())?;
                    self.stated_edges(cx, Some(new), &BTreeSet::from([ry]))?;
                    self.survive(new)?;
                    self.survive(cx)?;
                }
            }
        }
        let cx = self.customer_of(rx)?;
        let cy = self.customer_of(ry)?;
        match (cx, cy) {
            (Some(cx), Some(cy)) => Ok((cx, cy)),
            _ => Err(ResolveError::Invalid("a record has no customer".into())),
        }
    }
}
