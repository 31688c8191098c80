//! Committing a transaction: its rows, the change log's rows, counters and
//! the id counter in one engine batch; then the context cache, durability
//! (group commit) and the followers of the change log.

use super::tx::Transaction;
use super::Db;
use crate::db::changes::{self, Change, ChangeSet};
use crate::error::{StorageError, WriteError};
use crate::model::{Direction, EntityId, EntityKind, RelKind};
use crate::storage::{codec, keys};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;

/// What [`Db::transaction`] returns: the closure's value and what the
/// commit changed.
#[derive(Clone, Debug)]
pub struct Commit<T> {
    /// What the closure returned.
    pub value: T,
    /// The commit's changes, as written to the change log.
    pub changes: ChangeSet,
}

impl Db {
    /// Runs `f` as one transaction under the writer lock and commits what
    /// it wrote as one atomic batch, with its rows of the change log: all
    /// of it, or — when `f` returns `Err` or the commit fails — none of it.
    /// In [`crate::Durability::Immediate`] it returns after the commit is on
    /// disk; concurrent transactions share one flush (group commit).
    ///
    /// ```
    /// # use kith::{attrs, Db, EdgeProps, NewEntity, RelKind, WriteError};
    /// let db = Db::temporary()?;
    /// let done = db.transaction(|tx| {
    ///     let ann = tx.create(NewEntity::person().attr(attrs::GIVEN_NAME, "Ann"))?;
    ///     let acct = tx.create(NewEntity::account())?;
    ///     tx.relate(ann, RelKind::OWNS, acct, EdgeProps::new())?;
    ///     assert_eq!(tx.neighbour_ids(ann, RelKind::OWNS, kith::Direction::Out)?, vec![acct]);
    ///     Ok::<_, kith::Error>(ann)
    /// })?;
    /// assert_eq!(done.changes.customers, vec![done.value]);
    /// # Ok::<(), kith::Error>(())
    /// ```
    pub fn transaction<T, E>(
        &self,
        f: impl FnOnce(&mut Transaction<'_>) -> Result<T, E>,
    ) -> Result<Commit<T>, E>
    where
        E: From<WriteError>,
    {
        let (value, changes) = {
            let _w = self.inner.writer.lock();
            let mut tx = Transaction::new(self);
            let value = f(&mut tx)?;
            let changes = self
                .commit_tx(tx)
                .map_err(|e| E::from(WriteError::Storage(e)))?;
            (value, changes)
        };
        if let Some(n) = changes.1 {
            self.sync_to(n)
                .map_err(|e| E::from(WriteError::Storage(e)))?;
        }
        Ok(Commit {
            value,
            changes: changes.0,
        })
    }

    /// Commits `tx`; call with the writer lock held. Returns its change set
    /// and its commit number (`None`: it wrote nothing).
    fn commit_tx(&self, tx: Transaction<'_>) -> Result<(ChangeSet, Option<u64>), StorageError> {
        if tx.rows.is_empty() {
            return Ok((ChangeSet::default(), None));
        }
        let logged = self.inner.change_log;
        let customers = self.customers_of(&tx)?;
        let Transaction {
            mut rows,
            delta,
            changes,
            touched,
            written,
            registered,
            created_any,
            block_delta,
            ..
        } = tx;
        let mut last = self.inner.feed.last.lock();
        let mut entries = Vec::new();
        let mut new_last = *last;
        if logged {
            entries = changes::place_entries(*last, pair_moves(changes), customers.clone());
            let first = entries[0].id;
            for e in &entries {
                if let Change::ActionRaised { .. } = e.change {
                    rows.put(
                        keys::entry(&keys::ACTIONS, e.id.ms, e.id.seq),
                        codec::encode_commit(std::slice::from_ref(&e.change)),
                    );
                }
            }
            let all: Vec<Change> = entries.iter().map(|e| e.change.clone()).collect();
            rows.put(
                keys::change(first.ms, first.seq),
                codec::encode_commit(&all),
            );
            new_last = entries
                .last()
                .expect("a commit has its Committed change")
                .id;
        }
        let mut updated = Vec::new();
        {
            let counts = self.inner.counts.read();
            for (&(space, code), &d) in &delta.0 {
                if d == 0 {
                    continue;
                }
                let now = counts.get(&(space, code)).copied().unwrap_or(0) as i64 + d;
                let now = now.max(0) as u64;
                rows.put(keys::count(space, code), codec::encode_u64(now));
                updated.push(((space, code), now));
            }
        }
        if created_any {
            rows.put(
                keys::meta(super::format::META_NEXT_ID),
                codec::encode_u64(self.inner.next_id.load(Ordering::Relaxed)),
            );
        }
        self.inner.engine.apply(rows.into_batch())?;
        if !block_delta.is_empty() {
            let mut held = self.inner.blocks.lock();
            for (key, d) in &block_delta {
                held.apply(key, d);
            }
        }
        *last = new_last;
        let commit = self.inner.commits.fetch_add(1, Ordering::SeqCst) + 1;
        drop(last);
        if !updated.is_empty() {
            let mut counts = self.inner.counts.write();
            for (k, v) in updated {
                counts.insert(k, v);
            }
        }
        if !registered.is_empty() {
            let mut r = self.inner.registry.write();
            for (space, code, name) in registered {
                r.insert(space, code, &name);
            }
        }
        self.inner.views.invalidate(&touched, &written);
        if let Some(replies) = self.inner.replies.get() {
            replies.invalidate(&touched, &written);
        }
        if self.inner.durability != crate::Durability::Immediate {
            self.inner.feed.publish(new_last);
        }
        Ok((
            ChangeSet {
                changes: entries,
                touched: touched.into_iter().collect(),
                customers,
            },
            Some(commit),
        ))
    }

    /// Group commit: makes commit number `commit` durable with at most one
    /// flush, shared with every transaction committed meanwhile, then
    /// publishes what it made durable to the change log's readers.
    fn sync_to(&self, commit: u64) -> Result<(), StorageError> {
        if self.inner.durability != crate::Durability::Immediate {
            return Ok(());
        }
        let mut flushed = self.inner.flushed.lock();
        if *flushed >= commit {
            return Ok(());
        }
        // Everything applied so far rides on this flush: read what that is
        // before flushing.
        let (target_commit, target_log) = {
            let last = self.inner.feed.last.lock();
            (self.inner.commits.load(Ordering::SeqCst), *last)
        };
        self.inner.engine.flush()?;
        *flushed = target_commit;
        self.inner.feed.publish(target_log);
        Ok(())
    }

    /// The customers whose context a transaction changed: every party it
    /// touched, the parties an account, household, interaction or record it
    /// touched belongs to, and the other members of those parties'
    /// households (whose context shows the household's members and totals).
    fn customers_of(&self, tx: &Transaction<'_>) -> Result<Vec<EntityId>, StorageError> {
        let deleted_parties: BTreeSet<EntityId> = tx
            .changes
            .iter()
            .filter_map(|c| match c {
                Change::EntityDeleted { id, kind, .. }
                    if kind == "person" || kind == "organization" =>
                {
                    Some(*id)
                }
                _ => None,
            })
            .collect();
        let reader = tx.reader();
        let mut parties = BTreeSet::new();
        for id in &tx.touched {
            match reader.get(*id).map_err(storage)? {
                Some(e) if e.kind.is_party() => {
                    parties.insert(*id);
                }
                Some(e) => {
                    for p in parties_of(&reader, *id, e.kind)? {
                        parties.insert(p);
                    }
                }
                None if deleted_parties.contains(id) => {
                    parties.insert(*id);
                }
                None => {}
            }
        }
        let mut out = parties.clone();
        for p in &parties {
            for h in reader
                .neighbour_ids(*p, RelKind::MEMBER_OF, Direction::Out)
                .map_err(storage)?
            {
                out.extend(
                    reader
                        .neighbour_ids(h, RelKind::MEMBER_OF, Direction::In)
                        .map_err(storage)?,
                );
            }
        }
        Ok(out.into_iter().collect())
    }
}

/// A read failure inside a commit, as the storage error it is.
fn storage(e: crate::ReadError) -> StorageError {
    match e {
        crate::ReadError::Storage(s) => s,
        other => StorageError::io(other.to_string(), other),
    }
}

/// The parties a non-party entity belongs to: an account's owners, a
/// household's members, an interaction's parties, a record's customer, and
/// for any other kind every party it is related to.
fn parties_of<S: crate::storage::Source>(
    reader: &super::read::Reader<'_, S>,
    id: EntityId,
    kind: EntityKind,
) -> Result<Vec<EntityId>, StorageError> {
    let ends: Vec<EntityId> = match kind {
        EntityKind::ACCOUNT => reader.neighbour_ids(id, RelKind::OWNS, Direction::In),
        EntityKind::HOUSEHOLD => reader.neighbour_ids(id, RelKind::MEMBER_OF, Direction::In),
        EntityKind::INTERACTION => {
            reader.neighbour_ids(id, RelKind::HAD_INTERACTION, Direction::In)
        }
        EntityKind::SOURCE_RECORD => reader.neighbour_ids(id, RelKind::RESOLVES_TO, Direction::Out),
        _ => {
            let mut all = reader.edges(id, Direction::Out).map_err(storage)?;
            all.extend(reader.edges(id, Direction::In).map_err(storage)?);
            Ok(all.into_iter().map(|n| n.id).collect())
        }
    }
    .map_err(storage)?;
    let mut out = Vec::new();
    for e in ends {
        if reader
            .get(e)
            .map_err(storage)?
            .is_some_and(|x| x.kind.is_party())
        {
            out.push(e);
        }
    }
    Ok(out)
}

/// An identifier removed from one entity and added to another in the same
/// commit is one move.
fn pair_moves(changes: Vec<Change>) -> Vec<Change> {
    let mut added: BTreeMap<(String, String), EntityId> = BTreeMap::new();
    for c in &changes {
        if let Change::IdentifierAdded {
            system,
            key,
            entity,
        } = c
        {
            added.insert((system.clone(), key.clone()), *entity);
        }
    }
    let mut moved = BTreeMap::new();
    for c in &changes {
        if let Change::IdentifierRemoved {
            system,
            key,
            entity,
        } = c
        {
            if let Some(to) = added.get(&(system.clone(), key.clone())) {
                if to != entity {
                    moved.insert((system.clone(), key.clone()), (*entity, *to));
                }
            }
        }
    }
    if moved.is_empty() {
        return changes;
    }
    let mut out = Vec::with_capacity(changes.len());
    for c in changes {
        match &c {
            Change::IdentifierRemoved { system, key, .. }
                if moved.contains_key(&(system.clone(), key.clone())) => {}
            Change::IdentifierAdded { system, key, .. } => {
                match moved.get(&(system.clone(), key.clone())) {
                    Some((from, to)) => out.push(Change::IdentifierMoved {
                        system: system.clone(),
                        key: key.clone(),
                        from: *from,
                        to: *to,
                    }),
                    None => out.push(c),
                }
            }
            _ => out.push(c),
        }
    }
    out
}
