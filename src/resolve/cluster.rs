//! Unmerge and user overrides: when a record changes or goes, the records
//! left on its customer are clustered again (every pair compared, the
//! user's "same" and "not same" respected) and a customer that no longer
//! holds together splits, each part taking back the relationships its
//! records stated.

use super::{ResolveConfig, ResolveError};
use crate::model::attrs as a;
use crate::model::{Direction, EdgeProps, EntityId, RelKind, Value};
use crate::{Db, Transaction};
use std::collections::BTreeSet;

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
    /// Adds to `w` the move from `from` to `to` (or the removal, when `to`
    /// is `None`) of every relationship of `from` that one of `records`
    /// stated (its `from_record` or `to_record` property).
    pub(super) fn stated_edges(
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
        let keys = match self.get(id)? {
            Some(e) => super::settle::stored_keys(&e),
            None => Vec::new(),
        };
        self.delete(id)?;
        let Some(c) = customer else {
            return Ok(Some(Deleted {
                customer: None,
                customer_deleted: false,
                split_off: Vec::new(),
            }));
        };
        let settled = self.settle(&[], &keys, &[c], config)?;
        Ok(Some(Deleted {
            customer: Some(c),
            customer_deleted: !self.contains(c)?,
            split_off: settled.split_off.get(&c).cloned().unwrap_or_default(),
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
        let customers: Vec<EntityId> = [self.customer_of(rx)?, self.customer_of(ry)?]
            .into_iter()
            .flatten()
            .collect();
        self.settle(&[rx, ry], &[], &customers, config)?;
        let cx = self.customer_of(rx)?;
        let cy = self.customer_of(ry)?;
        match (cx, cy) {
            (Some(cx), Some(cy)) => Ok((cx, cy)),
            _ => Err(ResolveError::Invalid("a record has no customer".into())),
        }
    }
}
