//! The one write path. Every write — the single-operation API, write sets,
//! merges, identity resolution, the generator — is a [`Transaction`]: it runs
//! under the writer lock, reads its own writes, keeps every derived row
//! (both adjacency rows, timeline rows, index entries, identifiers, the kind
//! listing, counters) in one place (`put_entity`, `put_edge`), records what
//! it changed, and commits as one engine batch together with its rows of the
//! change log.

use super::read::{read_api, Reader};
use super::Db;
use crate::db::changes::{AttrChange, Change};
use crate::error::{ReadError, StorageError, WriteError};
use crate::index::{self, Index};
use crate::model::{
    attrs, Attrs, Direction, EdgeProps, EntityId, EntityKind, EntityRecord, ExternalId, Neighbour,
    NewEntity, Patch, RelKind, Timestamp, FIRST_USER_CODE,
};
use crate::storage::Entity;
use crate::storage::{codec, keys, Overlay, Source};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::Ordering;

use super::read::Page;

/// Changes to the entity and relationship counters made by one transaction.
#[derive(Default)]
pub(super) struct Delta(pub(super) BTreeMap<(u8, u16), i64>);

impl Delta {
    fn add(&mut self, space: u8, code: u16, by: i64) {
        *self.0.entry((space, code)).or_insert(0) += by;
    }
}

/// The most blocks one generation of [`HeldBlocks`] holds (about 80 bytes
/// each with their members: 2 x 512 Ki blocks, about 80 MiB at most).
const BLOCKS_HELD: usize = 1 << 19;

/// The committed members of blocking keys read before (see
/// [`super::generations::Generations`]).
#[derive(Default)]
pub(crate) struct HeldBlocks(super::generations::Generations<Box<str>, Vec<u64>, BLOCKS_HELD>);

impl HeldBlocks {
    fn get(&mut self, key: &str) -> Option<&Vec<u64>> {
        self.0.get_mut(key).map(|ids| &*ids)
    }

    fn insert(&mut self, key: Box<str>, ids: Vec<u64>) {
        self.0.insert(key, ids);
    }

    /// Applies a commit's changes to one block, if it is held.
    pub(super) fn apply(&mut self, key: &str, d: &BlockDelta) {
        if let Some(ids) = self.0.get_mut(key) {
            ids.retain(|id| !d.removed.contains(id));
            for id in &d.added {
                if let Err(at) = ids.binary_search(id) {
                    ids.insert(at, *id);
                }
            }
        }
    }
}

/// The records a transaction added to and removed from one blocking key.
#[derive(Default)]
pub(super) struct BlockDelta {
    pub(super) added: BTreeSet<u64>,
    pub(super) removed: BTreeSet<u64>,
}

pub(super) fn validate_identifiers(ids: &[ExternalId]) -> Result<(), WriteError> {
    for x in ids {
        if x.system.trim().is_empty() || x.key.trim().is_empty() {
            return Err(WriteError::Invalid(format!(
                "identifier {x} has an empty system or key"
            )));
        }
    }
    Ok(())
}

pub(super) fn validate_attrs<'a>(
    names: impl Iterator<Item = &'a String>,
) -> Result<(), WriteError> {
    for n in names {
        if n.trim().is_empty() {
            return Err(WriteError::Invalid("attribute name is empty".into()));
        }
    }
    Ok(())
}

pub(super) fn validate_props(props: &EdgeProps) -> Result<(), WriteError> {
    validate_attrs(props.attrs.keys())?;
    if let (Some(s), Some(u)) = (props.since, props.until) {
        if u < s {
            return Err(WriteError::Invalid(format!(
                "relationship ends ({u}) before it starts ({s})"
            )));
        }
    }
    Ok(())
}

fn corrupt_adj(k: &[u8]) -> StorageError {
    StorageError::Corrupt {
        key: keys::describe(k),
        reason: "malformed adjacency key".into(),
    }
}

/// An open transaction. Start one with [`Db::transaction`]; what the closure
/// does is committed atomically when it returns `Ok`, and dropped when it
/// returns `Err` (ids it gave out are skipped, never reused).
///
/// Its reads (`get`, `lookup`, `neighbours`, `find`, …, the same methods as
/// [`Db`]'s) see its own writes. Concurrent transactions run one at a time:
/// a transaction is isolated from every other write.
pub struct Transaction<'db> {
    pub(super) db: &'db Db,
    pub(super) rows: Overlay<'db>,
    pub(super) delta: Delta,
    pub(super) changes: Vec<Change>,
    pub(super) touched: BTreeSet<EntityId>,
    /// The entities whose own row was written or deleted (a subset of
    /// `touched`, which also holds the ends of relationships changed).
    pub(super) written: BTreeSet<EntityId>,
    pub(super) registered: Vec<(u8, u16, String)>,
    pub(super) created_any: bool,
    /// Records this transaction added to (removed from) each blocking key.
    pub(super) block_delta: HashMap<String, BlockDelta>,
}

impl<'db> Transaction<'db> {
    pub(super) fn new(db: &'db Db) -> Transaction<'db> {
        Transaction {
            db,
            rows: Overlay::new(&db.inner.engine),
            delta: Delta::default(),
            changes: Vec::new(),
            touched: BTreeSet::new(),
            written: BTreeSet::new(),
            registered: Vec::new(),
            created_any: false,
            block_delta: HashMap::new(),
        }
    }

    pub(crate) fn reader(&self) -> Reader<'_, Overlay<'db>> {
        Reader {
            src: &self.rows,
            country_code: &self.db.inner.country_code,
        }
    }

    read_api!();

    /// How many records hold the blocking key `key` (as this transaction
    /// sees it, its own writes included), counting at most `limit`.
    pub(crate) fn block_count(&self, key: &str, limit: usize) -> Result<usize, ReadError> {
        Ok(self.block_members(key, limit)?.len())
    }

    /// The records that hold the blocking key `key`, as this transaction
    /// sees them (its own writes included): the first `limit` by id, like
    /// `find_at_most(Index::BlockingKey, key, limit)`. Blocks are kept in
    /// memory once read whole (exact across commits: each commit applies
    /// the records it added to and removed from each block), so a block
    /// read before costs a hash lookup instead of a scan of its index rows.
    pub(crate) fn block_members(
        &self,
        key: &str,
        limit: usize,
    ) -> Result<Vec<EntityId>, ReadError> {
        if let Some(held) = self.held_block(key, limit) {
            return Ok(held);
        }
        let hits = self.find_at_most(Index::BlockingKey, key, limit)?;
        if hits.len() < limit && !key.is_empty() && key.trim() == key {
            // The committed block: these, but for this transaction's own.
            let mut committed: BTreeSet<u64> = hits.iter().map(|e| e.0).collect();
            if let Some(d) = self.block_delta.get(key) {
                committed.retain(|id| !d.added.contains(id));
                committed.extend(&d.removed);
            }
            self.db
                .inner
                .blocks
                .lock()
                .insert(key.into(), committed.into_iter().collect());
        }
        Ok(hits)
    }

    /// [`Transaction::block_members`] if the block is held in memory.
    fn held_block(&self, key: &str, limit: usize) -> Option<Vec<EntityId>> {
        let mut held = self.db.inner.blocks.lock();
        let committed = held.get(key)?;
        let ids: Vec<u64> = match self.block_delta.get(key) {
            None => committed.iter().take(limit).copied().collect(),
            Some(d) => {
                let mut all: BTreeSet<u64> = committed.iter().copied().collect();
                all.extend(&d.added);
                all.retain(|id| !d.removed.contains(id));
                all.into_iter().take(limit).collect()
            }
        };
        Some(ids.into_iter().map(EntityId).collect())
    }

    /// The database this transaction writes to (its reads see the committed
    /// state, not this transaction's writes).
    pub fn db(&self) -> &'db Db {
        self.db
    }

    /// How many relationships of `kind` there are with this transaction's
    /// writes (the committed count, kept in memory, plus its own).
    pub(crate) fn relationship_count(&self, kind: RelKind) -> u64 {
        let own = self
            .delta
            .0
            .get(&(keys::SPACE_REL, kind.0))
            .copied()
            .unwrap_or(0);
        (self.db.relationship_count(kind) as i64 + own).max(0) as u64
    }

    /// Records a change that only the caller can name (a merge of
    /// customers, a split), in this transaction's part of the change log.
    pub(crate) fn note(&mut self, change: Change) {
        self.changes.push(change);
    }

    fn kind_name(&self, space: u8, code: u16) -> String {
        if let Some((_, _, n)) = self
            .registered
            .iter()
            .find(|(s, c, _)| *s == space && *c == code)
        {
            return n.clone();
        }
        let r = self.db.inner.registry.read();
        let names = if space == keys::SPACE_ENTITY {
            &r.entity
        } else {
            &r.rel
        };
        names
            .get(&code)
            .cloned()
            .unwrap_or_else(|| code.to_string())
    }

    fn entity_kind_known(&self, kind: EntityKind) -> bool {
        self.db.inner.registry.read().entity.contains_key(&kind.0)
            || self
                .registered
                .iter()
                .any(|(s, c, _)| *s == keys::SPACE_ENTITY && *c == kind.0)
    }

    fn rel_kind_known(&self, kind: RelKind) -> bool {
        self.db.inner.registry.read().rel.contains_key(&kind.0)
            || self
                .registered
                .iter()
                .any(|(s, c, _)| *s == keys::SPACE_REL && *c == kind.0)
    }

    pub(super) fn load(&self, id: EntityId) -> Result<Option<EntityRecord>, StorageError> {
        let key = keys::node(id.0);
        match self.rows.get(&key)? {
            Some(v) => Ok(Some(codec::decode_record(&key, id, &v)?)),
            None => Ok(None),
        }
    }

    fn owner_of(&self, x: &ExternalId) -> Result<Option<EntityId>, StorageError> {
        let key = keys::xref(&x.system, &x.key);
        match self.rows.get(&key)? {
            Some(v) => Ok(Some(EntityId(codec::decode_u64(&key, &v)?))),
            None => Ok(None),
        }
    }

    fn edge(
        &self,
        from: EntityId,
        kind: RelKind,
        to: EntityId,
    ) -> Result<Option<EdgeProps>, StorageError> {
        let k = keys::adj(from.0, keys::DIR_OUT, kind.0, to.0);
        match self.rows.get(&k)? {
            Some(v) => Ok(Some(codec::decode_edge(&k, &v)?)),
            None => Ok(None),
        }
    }

    fn exists(&self, id: EntityId) -> Result<bool, StorageError> {
        Ok(self.rows.get(&keys::node(id.0))?.is_some())
    }

    /// Writes `new` in place of `old` (`None`: absent) with every row derived
    /// from an entity: its value, index entries, identifiers, kind listing,
    /// counter, and its place in the timelines of the parties it is an
    /// interaction of. The one place these rows are kept.
    fn put_entity(
        &mut self,
        old: Option<&EntityRecord>,
        new: Option<&EntityRecord>,
    ) -> Result<(), StorageError> {
        let Some(any) = new.or(old) else {
            return Ok(());
        };
        let id = any.id;
        self.put_index_rows(id, old, new);
        // An entity's creation comes before its identifiers in the log.
        let first_change = self.changes.len();
        self.put_identifier_rows(id, old, new);
        let kind = self.kind_name(keys::SPACE_ENTITY, any.kind.0);
        // Redirects left by a merge are counted apart (stats shows live ones).
        let merged =
            |r: Option<&EntityRecord>| r.is_some_and(|r| r.attrs.contains_key(attrs::MERGED_INTO));
        match (merged(old), merged(new)) {
            (false, true) => self.delta.add(keys::SPACE_MERGED, any.kind.0, 1),
            (true, false) => self.delta.add(keys::SPACE_MERGED, any.kind.0, -1),
            _ => {}
        }
        match (old, new) {
            (None, Some(n)) => {
                self.rows.put(keys::kind(n.kind.0, id.0), codec::MARKER);
                self.delta.add(keys::SPACE_ENTITY, n.kind.0, 1);
                self.rows.put(keys::node(id.0), codec::encode_entity(n));
                let created = Change::EntityCreated {
                    id,
                    kind,
                    attrs: n.attrs.clone(),
                };
                self.changes.insert(first_change, created);
            }
            (Some(o), None) => {
                self.rows.remove(keys::kind(o.kind.0, id.0));
                self.delta.add(keys::SPACE_ENTITY, o.kind.0, -1);
                self.rows.remove(keys::node(id.0));
                self.changes.push(Change::EntityDeleted {
                    id,
                    kind,
                    attrs: o.attrs.clone(),
                });
            }
            (Some(o), Some(n)) => {
                self.rows.put(keys::node(id.0), codec::encode_entity(n));
                let changed = attr_changes(&o.attrs, &n.attrs);
                if !changed.is_empty() {
                    self.changes
                        .push(Change::EntityUpdated { id, kind, changed });
                }
                self.move_in_timelines(id, o.interaction_time(), n.interaction_time())?;
            }
            (None, None) => {}
        }
        self.touched.insert(id);
        self.written.insert(id);
        Ok(())
    }

    /// The index entries of an entity: those `old` had and `new` has not
    /// are removed, the new ones put.
    fn put_index_rows(
        &mut self,
        id: EntityId,
        old: Option<&EntityRecord>,
        new: Option<&EntityRecord>,
    ) {
        let cc = &self.db.inner.country_code;
        let entries = |r: Option<&EntityRecord>| -> BTreeSet<(Index, String)> {
            r.map(|r| index::entries(r.kind, &r.attrs, cc).into_iter().collect())
                .unwrap_or_default()
        };
        let (old_index, new_index) = (entries(old), entries(new));
        for (ix, v) in old_index.difference(&new_index) {
            self.rows.remove(keys::idx(ix.code(), v.as_bytes(), id.0));
            if *ix == Index::BlockingKey {
                let d = self.block_delta.entry(v.clone()).or_default();
                if !d.added.remove(&id.0) {
                    d.removed.insert(id.0);
                }
            }
        }
        for (ix, v) in new_index.difference(&old_index) {
            self.rows
                .put(keys::idx(ix.code(), v.as_bytes(), id.0), codec::MARKER);
            if *ix == Index::BlockingKey {
                let d = self.block_delta.entry(v.clone()).or_default();
                if !d.removed.remove(&id.0) {
                    d.added.insert(id.0);
                }
            }
        }
    }

    /// The cross-system identifiers of an entity, with their changes.
    fn put_identifier_rows(
        &mut self,
        id: EntityId,
        old: Option<&EntityRecord>,
        new: Option<&EntityRecord>,
    ) {
        let ids = |r: Option<&EntityRecord>| -> BTreeSet<ExternalId> {
            r.map(|r| r.identifiers.iter().cloned().collect())
                .unwrap_or_default()
        };
        let (old_ids, new_ids) = (ids(old), ids(new));
        for x in old_ids.difference(&new_ids) {
            self.rows.remove(keys::xref(&x.system, &x.key));
            self.changes.push(Change::IdentifierRemoved {
                system: x.system.clone(),
                key: x.key.clone(),
                entity: id,
            });
        }
        for x in new_ids.difference(&old_ids) {
            self.rows
                .put(keys::xref(&x.system, &x.key), codec::encode_u64(id.0));
            self.changes.push(Change::IdentifierAdded {
                system: x.system.clone(),
                key: x.key.clone(),
                entity: id,
            });
        }
    }

    /// An interaction whose time changed moves in the timeline of every
    /// party it is an interaction of (and those parties are touched).
    fn move_in_timelines(
        &mut self,
        id: EntityId,
        t_old: i64,
        t_new: i64,
    ) -> Result<(), StorageError> {
        if t_old == t_new {
            return Ok(());
        }
        let prefix = keys::adj_kind_prefix(id.0, keys::DIR_IN, RelKind::HAD_INTERACTION.0);
        let parties: Vec<u64> = super::read::scan_prefix(&self.rows, &prefix, false)
            .map(|row| {
                let (k, _) = row?;
                keys::parse_adj(&k)
                    .map(|a| a.other)
                    .ok_or_else(|| corrupt_adj(&k))
            })
            .collect::<Result<_, StorageError>>()?;
        for party in parties {
            self.rows.remove(keys::timeline(party, t_old, id.0));
            self.rows
                .put(keys::timeline(party, t_new, id.0), codec::MARKER);
            self.touched.insert(EntityId(party));
        }
        Ok(())
    }

    /// Writes the relationship `from -kind-> to` with `props` (`None`: removes
    /// it), with both adjacency rows, its timeline row and its counter. The
    /// one place these rows are kept. Returns whether it existed before.
    fn put_edge(
        &mut self,
        from: EntityId,
        kind: RelKind,
        to: EntityId,
        props: Option<&EdgeProps>,
    ) -> Result<bool, StorageError> {
        let before = self.edge(from, kind, to)?;
        let existed = before.is_some();
        if props.is_none() && !existed {
            return Ok(false);
        }
        let out = keys::adj(from.0, keys::DIR_OUT, kind.0, to.0);
        let inn = keys::adj(to.0, keys::DIR_IN, kind.0, from.0);
        let timeline = if kind == RelKind::HAD_INTERACTION {
            self.load(to)?
                .map(|i| keys::timeline(from.0, i.interaction_time(), to.0))
        } else {
            None
        };
        let name = self.kind_name(keys::SPACE_REL, kind.0);
        match props {
            Some(p) => {
                let v = codec::encode_edge(p);
                self.rows.put(out, &v);
                self.rows.put(inn, &v);
                if let Some(t) = timeline {
                    self.rows.put(t, codec::MARKER);
                }
                if !existed {
                    self.delta.add(keys::SPACE_REL, kind.0, 1);
                }
                if before.as_ref() != Some(p) {
                    self.changes.push(Change::RelationshipAdded {
                        from,
                        kind: name,
                        to,
                        props: p.clone(),
                        before,
                    });
                }
                if kind == RelKind::RESOLVES_TO && !existed {
                    self.changes.push(Change::RecordLinked {
                        record: from,
                        customer: to,
                    });
                }
            }
            None => {
                self.rows.remove(out);
                self.rows.remove(inn);
                if let Some(t) = timeline {
                    self.rows.remove(t);
                }
                self.delta.add(keys::SPACE_REL, kind.0, -1);
                self.changes.push(Change::RelationshipRemoved {
                    from,
                    kind: name,
                    to,
                });
                if kind == RelKind::RESOLVES_TO {
                    self.changes.push(Change::RecordUnlinked {
                        record: from,
                        customer: to,
                    });
                }
            }
        }
        self.touched.insert(from);
        self.touched.insert(to);
        Ok(existed)
    }

    /// Every relationship of `id`, both directions, as `(from, kind, to, props)`,
    /// each once (a self-loop is seen from both of its rows).
    fn all_edges(
        &self,
        id: EntityId,
    ) -> Result<Vec<(EntityId, RelKind, EntityId, EdgeProps)>, StorageError> {
        let mut out = Vec::new();
        for row in super::read::scan_prefix(&self.rows, &keys::adj_node_prefix(id.0), false) {
            let (k, v) = row?;
            let a = keys::parse_adj(&k).ok_or_else(|| corrupt_adj(&k))?;
            if a.dir == keys::DIR_IN && a.other == a.id {
                continue; // a self-loop: its out row stands for it
            }
            let props = codec::decode_edge(&k, &v)?;
            let (f, t) = if a.dir == keys::DIR_OUT {
                (a.id, a.other)
            } else {
                (a.other, a.id)
            };
            out.push((EntityId(f), RelKind(a.kind), EntityId(t), props));
        }
        Ok(out)
    }

    /// Adds a fully formed record (id given out already).
    pub(super) fn insert(&mut self, record: EntityRecord) -> Result<EntityId, WriteError> {
        for x in &record.identifiers {
            if let Some(owner) = self.owner_of(x)? {
                return Err(WriteError::IdentifierTaken {
                    identifier: x.clone(),
                    owner,
                });
            }
        }
        self.created_any = true;
        self.put_entity(None, Some(&record))?;
        Ok(record.id)
    }

    /// Checks a new entity and gives it an id.
    pub(super) fn prepare(&self, new: NewEntity) -> Result<EntityRecord, WriteError> {
        if !self.entity_kind_known(new.kind) {
            return Err(WriteError::UnknownKind {
                space: "entity",
                name: new.kind.0.to_string(),
            });
        }
        prepare_record(self.db, new)
    }

    /// Creates an entity with its identifiers and index entries.
    ///
    /// Fails with [`WriteError::IdentifierTaken`] if one of its identifiers
    /// already names another entity.
    pub fn create(&mut self, new: NewEntity) -> Result<EntityId, WriteError> {
        let record = self.prepare(new)?;
        self.insert(record)
    }

    /// Records an interaction of a party: creates it and relates the party
    /// to it (`HAD_INTERACTION`). Its place in the party's timeline is its
    /// `occurred_at` timestamp, or its creation time when it has none.
    pub fn append_interaction(
        &mut self,
        party: EntityId,
        interaction: NewEntity,
    ) -> Result<EntityId, WriteError> {
        let id = self.create(interaction)?;
        self.relate(party, RelKind::HAD_INTERACTION, id, EdgeProps::new())?;
        Ok(id)
    }

    /// Changes an entity's attributes and identifiers, keeping its index
    /// entries exact. Returns the entity as it is now.
    pub fn update(&mut self, id: EntityId, patch: Patch) -> Result<Entity, WriteError> {
        validate_identifiers(&patch.add_identifiers)?;
        validate_attrs(patch.set.keys())?;
        let old = self.load(id)?.ok_or(WriteError::NotFound(id))?;
        let mut new = old.clone();
        for name in &patch.remove {
            new.attrs.remove(name);
        }
        for (k, v) in patch.set {
            new.attrs.insert(k, v);
        }
        let mut ids: BTreeSet<ExternalId> = new.identifiers.into_iter().collect();
        for x in &patch.remove_identifiers {
            ids.remove(x);
        }
        for x in patch.add_identifiers {
            if !ids.contains(&x) {
                if let Some(owner) = self.owner_of(&x)? {
                    if owner != id {
                        return Err(WriteError::IdentifierTaken {
                            identifier: x,
                            owner,
                        });
                    }
                }
                ids.insert(x);
            }
        }
        new.identifiers = ids.into_iter().collect();
        new.updated = Timestamp::now().max(old.updated);
        self.put_entity(Some(&old), Some(&new))?;
        Ok(Entity::from_record(&new))
    }

    /// Deletes an entity with its identifiers, index entries and every
    /// relationship in both directions. Returns whether it existed.
    pub fn delete(&mut self, id: EntityId) -> Result<bool, WriteError> {
        let Some(old) = self.load(id)? else {
            return Ok(false);
        };
        for (f, k, t, _) in self.all_edges(id)? {
            self.put_edge(f, k, t, None)?;
        }
        self.put_entity(Some(&old), None)?;
        Ok(true)
    }

    /// Adds the relationship `from -kind-> to`, or replaces its properties
    /// if it exists. Both ends must exist (or be created by this
    /// transaction). Returns whether it is new.
    pub fn relate(
        &mut self,
        from: EntityId,
        kind: RelKind,
        to: EntityId,
        props: EdgeProps,
    ) -> Result<bool, WriteError> {
        if !self.rel_kind_known(kind) {
            return Err(WriteError::UnknownKind {
                space: "relationship",
                name: kind.0.to_string(),
            });
        }
        validate_props(&props)?;
        for end in [from, to] {
            if !self.exists(end)? {
                return Err(WriteError::NotFound(end));
            }
        }
        Ok(!self.put_edge(from, kind, to, Some(&props))?)
    }

    /// Removes the relationship `from -kind-> to` in both directions.
    /// Returns whether it existed.
    pub fn unrelate(
        &mut self,
        from: EntityId,
        kind: RelKind,
        to: EntityId,
    ) -> Result<bool, WriteError> {
        Ok(self.put_edge(from, kind, to, None)?)
    }

    /// Merges entity `from` into `into`: every relationship of `from` moves
    /// to `into` (relationships between the two are dropped; one `into`
    /// already has keeps `into`'s properties), its interactions move to
    /// `into`'s timeline, and `redirect`'s attributes are removed from and
    /// set on `from` (a `merged_into` marker, say; identity resolution
    /// removes every other attribute, so the redirect answers no index).
    pub fn merge_into(
        &mut self,
        from: EntityId,
        into: EntityId,
        redirect: Patch,
    ) -> Result<(), WriteError> {
        if from == into {
            return Err(WriteError::Invalid(
                "an entity cannot be merged into itself".into(),
            ));
        }
        validate_attrs(redirect.set.keys())?;
        let old = self.load(from)?.ok_or(WriteError::NotFound(from))?;
        if !self.exists(into)? {
            return Err(WriteError::NotFound(into));
        }
        let edges = self.all_edges(from)?;
        for (f, k, t, _) in &edges {
            self.put_edge(*f, *k, *t, None)?;
        }
        for (f, k, t, props) in edges {
            let moved = |e: EntityId| if e == from { into } else { e };
            let (src, dst) = (moved(f), moved(t));
            if src == into && dst == into {
                continue; // between the two: dropped
            }
            if self.edge(src, k, dst)?.is_some() {
                continue; // `into` has it already: keep its properties
            }
            self.put_edge(src, k, dst, Some(&props))?;
        }
        let mut new = old.clone();
        for k in &redirect.remove {
            new.attrs.remove(k);
        }
        for (k, v) in redirect.set {
            new.attrs.insert(k, v);
        }
        new.updated = Timestamp::now().max(old.updated);
        self.put_entity(Some(&old), Some(&new))?;
        self.changes.push(Change::CustomersMerged {
            survivor: into,
            absorbed: from,
        });
        Ok(())
    }

    /// Registers a kind name in one space, or returns its code if present.
    pub(super) fn register(&mut self, space: u8, name: &str) -> Result<u16, WriteError> {
        let entity = space == keys::SPACE_ENTITY;
        let valid_char = |c: char| {
            c.is_ascii_digit()
                || c == '_'
                || if entity {
                    c.is_ascii_lowercase()
                } else {
                    c.is_ascii_uppercase()
                }
        };
        if name.is_empty() || name.len() > 64 || !name.chars().all(valid_char) {
            return Err(WriteError::Invalid(format!(
                "kind name {name:?} must be 1 to 64 {} letters, digits or _",
                if entity { "lower-case" } else { "upper-case" }
            )));
        }
        if let Some((_, c, _)) = self
            .registered
            .iter()
            .find(|(s, _, n)| *s == space && n == name)
        {
            return Ok(*c);
        }
        let last = {
            let r = self.db.inner.registry.read();
            let (by_name, codes) = if entity {
                (&r.entity_by_name, &r.entity)
            } else {
                (&r.rel_by_name, &r.rel)
            };
            if let Some(code) = by_name.get(name) {
                return Ok(*code);
            }
            codes.keys().next_back().copied().unwrap_or(0)
        };
        let last = self
            .registered
            .iter()
            .filter(|(s, _, _)| *s == space)
            .map(|(_, c, _)| *c)
            .fold(last, u16::max);
        let code = last
            .max(FIRST_USER_CODE - 1)
            .checked_add(1)
            .ok_or_else(|| WriteError::Invalid("no kind codes left in this space".into()))?;
        self.rows
            .put(keys::reg(space, code), codec::encode_text(name));
        self.registered.push((space, code, name.to_string()));
        Ok(code)
    }

    /// Registers a user-defined entity kind, or returns the existing kind of that name.
    pub fn register_entity_kind(&mut self, name: &str) -> Result<EntityKind, WriteError> {
        self.register(keys::SPACE_ENTITY, name).map(EntityKind)
    }

    /// Registers a user-defined relationship kind, or returns the existing kind of that name.
    pub fn register_relationship_kind(&mut self, name: &str) -> Result<RelKind, WriteError> {
        self.register(keys::SPACE_REL, name).map(RelKind)
    }

    /// Whether this transaction has written anything so far.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// Checks a new entity's attributes and identifiers and gives it an id.
pub(super) fn prepare_record(db: &Db, new: NewEntity) -> Result<EntityRecord, WriteError> {
    validate_identifiers(&new.identifiers)?;
    validate_attrs(new.attrs.keys())?;
    let mut identifiers = new.identifiers;
    identifiers.sort();
    identifiers.dedup();
    let id = EntityId(db.inner.next_id.fetch_add(1, Ordering::Relaxed));
    let now = Timestamp::now();
    Ok(EntityRecord {
        id,
        kind: new.kind,
        attrs: new.attrs,
        identifiers,
        created: now,
        updated: now,
    })
}

/// The attributes that differ between two maps, before and after.
fn attr_changes(old: &Attrs, new: &Attrs) -> Vec<AttrChange> {
    let mut out = Vec::new();
    for (k, v) in old {
        match new.get(k) {
            Some(n) if n == v => {}
            n => out.push(AttrChange {
                name: k.clone(),
                before: Some(v.clone()),
                after: n.cloned(),
            }),
        }
    }
    for (k, v) in new {
        if !old.contains_key(k) {
            out.push(AttrChange {
                name: k.clone(),
                before: None,
                after: Some(v.clone()),
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}
