//! Writes. Every logical write is one atomic batch, built under the writer
//! lock from a consistent read of what it replaces.

use super::{Db, Durability};
use crate::error::{StorageError, WriteError};
use crate::index;
use crate::model::{
    EdgeProps, Entity, EntityId, EntityKind, EntityRecord, ExternalId, NewEntity, Patch, RelKind,
    Timestamp, FIRST_USER_CODE,
};
use crate::storage::{codec, keys, Bytes, WriteBatch};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::Ordering;

/// Changes to the entity and relationship counters made by one write.
#[derive(Default)]
pub(super) struct Delta(BTreeMap<(u8, u16), i64>);

impl Delta {
    fn entity(&mut self, kind: EntityKind, by: i64) {
        *self.0.entry((keys::SPACE_ENTITY, kind.0)).or_insert(0) += by;
    }
    fn rel(&mut self, kind: u16, by: i64) {
        *self.0.entry((keys::SPACE_REL, kind)).or_insert(0) += by;
    }
}

/// When an interaction happened: its `occurred_at` timestamp, else when it was created.
pub(crate) fn interaction_time(e: &EntityRecord) -> i64 {
    match e.attrs.get(crate::model::attrs::OCCURRED_AT) {
        Some(crate::model::Value::Timestamp(t)) => t.as_micros(),
        _ => e.created.as_micros(),
    }
}

fn validate_identifiers(ids: &[ExternalId]) -> Result<(), WriteError> {
    for x in ids {
        if x.system.trim().is_empty() || x.key.trim().is_empty() {
            return Err(WriteError::Invalid(format!(
                "identifier {x} has an empty system or key"
            )));
        }
    }
    Ok(())
}

fn validate_attrs<'a>(names: impl Iterator<Item = &'a String>) -> Result<(), WriteError> {
    for n in names {
        if n.trim().is_empty() {
            return Err(WriteError::Invalid("attribute name is empty".into()));
        }
    }
    Ok(())
}

impl Db {
    /// Applies a batch, then makes it durable if the durability mode asks for it.
    /// The flush happens after the writer lock is released, so that concurrent
    /// writers share one flush.
    ///
    /// `delta` changes the entity and relationship counters; their new values
    /// are written in the same batch. Call with the writer lock held.
    fn commit(&self, mut batch: WriteBatch, delta: &Delta) -> Result<(), StorageError> {
        let mut updated = Vec::new();
        if !delta.0.is_empty() {
            let counts = self.inner.counts.read();
            for (&(space, code), &d) in &delta.0 {
                let now = counts.get(&(space, code)).copied().unwrap_or(0) as i64 + d;
                let now = now.max(0) as u64;
                batch.put(keys::count(space, code), codec::encode_u64(now));
                updated.push(((space, code), now));
            }
        }
        self.inner.engine.apply(batch)?;
        if !updated.is_empty() {
            let mut counts = self.inner.counts.write();
            for (k, v) in updated {
                counts.insert(k, v);
            }
        }
        Ok(())
    }

    fn sync(&self) -> Result<(), StorageError> {
        if self.inner.durability == Durability::Immediate {
            self.inner.engine.flush()?;
        }
        Ok(())
    }

    /// The owner of an identifier, read inside the writer lock.
    fn owner_of(&self, x: &ExternalId) -> Result<Option<EntityId>, StorageError> {
        let key = keys::xref(&x.system, &x.key);
        match self.inner.engine.get(&key)? {
            Some(v) => Ok(Some(EntityId(codec::decode_u64(&key, &v)?))),
            None => Ok(None),
        }
    }

    fn load(&self, id: EntityId) -> Result<Option<EntityRecord>, StorageError> {
        let key = keys::node(id.0);
        match self.inner.engine.get(&key)? {
            Some(v) => Ok(Some(codec::decode_record(&key, id, &v)?)),
            None => Ok(None),
        }
    }

    fn check_entity_kind(&self, kind: EntityKind) -> Result<(), WriteError> {
        if self.inner.registry.read().entity.contains_key(&kind.0) {
            Ok(())
        } else {
            Err(WriteError::UnknownKind {
                space: "entity",
                name: kind.0.to_string(),
            })
        }
    }

    fn check_rel_kind(&self, kind: RelKind) -> Result<(), WriteError> {
        if self.inner.registry.read().rel.contains_key(&kind.0) {
            Ok(())
        } else {
            Err(WriteError::UnknownKind {
                space: "relationship",
                name: kind.0.to_string(),
            })
        }
    }

    /// Puts the index entries, identifiers and listing of `e` into `b`
    /// (or removes them, when `remove`).
    fn entity_rows(&self, b: &mut WriteBatch, e: &EntityRecord, remove: bool) {
        let id = e.id.0;
        for (ix, value) in index::entries(&e.attrs, &self.inner.country_code) {
            let k = keys::idx(ix.code(), value.as_bytes(), id);
            if remove {
                b.remove(k);
            } else {
                b.put(k, codec::MARKER);
            }
        }
        for x in &e.identifiers {
            let k = keys::xref(&x.system, &x.key);
            if remove {
                b.remove(k);
            } else {
                b.put(k, codec::encode_u64(id));
            }
        }
        let k = keys::kind(e.kind.0, id);
        if remove {
            b.remove(k);
        } else {
            b.put(k, codec::MARKER);
        }
    }

    /// Starts a set of creates and relationships that [`WriteSet::commit`]
    /// writes atomically: all of it, or none of it.
    pub fn write_set(&self) -> WriteSet<'_> {
        WriteSet {
            db: self,
            creates: Vec::new(),
            edges: Vec::new(),
            removes: Vec::new(),
        }
    }

    /// Creates an entity with its identifiers and index entries, atomically.
    ///
    /// Fails with [`WriteError::IdentifierTaken`] if one of its identifiers
    /// already names another entity; nothing is written then.
    pub fn create(&self, new: NewEntity) -> Result<EntityId, WriteError> {
        let mut w = self.write_set();
        let id = w.create(new)?;
        w.commit()?;
        Ok(id)
    }

    /// Records an interaction (a call, web session, email, ticket …) of a
    /// party: creates it and relates the party to it (`HAD_INTERACTION`),
    /// atomically. Its place in the party's timeline is its `occurred_at`
    /// timestamp, or its creation time when it has none.
    pub fn append_interaction(
        &self,
        party: EntityId,
        interaction: NewEntity,
    ) -> Result<EntityId, WriteError> {
        let mut w = self.write_set();
        let id = w.create(interaction)?;
        w.relate(party, RelKind::HAD_INTERACTION, id, EdgeProps::new())?;
        w.commit()?;
        Ok(id)
    }

    /// Changes an entity's attributes and identifiers, keeping its index
    /// entries exact, atomically.
    pub fn update(&self, id: EntityId, patch: Patch) -> Result<Entity, WriteError> {
        validate_identifiers(&patch.add_identifiers)?;
        validate_attrs(patch.set.keys())?;
        let updated = {
            let _w = self.inner.writer.lock();
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
            let mut b = WriteBatch::default();
            // Removes first, then puts: a row present in both old and new is kept.
            self.entity_rows(&mut b, &old, true);
            self.entity_rows(&mut b, &new, false);
            let (t_old, t_new) = (interaction_time(&old), interaction_time(&new));
            if t_old != t_new {
                let prefix = keys::adj_kind_prefix(id.0, keys::DIR_IN, RelKind::HAD_INTERACTION.0);
                for row in self.inner.engine.scan_prefix(&prefix) {
                    let (k, _) = row.map_err(StorageError::from)?;
                    if let Some(a) = keys::parse_adj(&k) {
                        b.remove(keys::timeline(a.other, t_old, id.0));
                        b.put(keys::timeline(a.other, t_new, id.0), codec::MARKER);
                    }
                }
            }
            let bytes = codec::encode_entity(&new);
            b.put(keys::node(id.0), &bytes);
            self.commit(b, &Delta::default())?;
            self.inner.contexts.invalidate([id]);
            codec::decode_entity(&keys::node(id.0), id, Bytes::from_vec(bytes))?
        };
        self.sync()?;
        Ok(updated)
    }

    /// Deletes an entity with its identifiers, index entries and every
    /// relationship in both directions, atomically. Returns whether it existed.
    pub fn delete(&self, id: EntityId) -> Result<bool, WriteError> {
        {
            let _w = self.inner.writer.lock();
            let Some(old) = self.load(id)? else {
                return Ok(false);
            };
            let mut b = WriteBatch::default();
            let mut delta = Delta::default();
            delta.entity(old.kind, -1);
            self.entity_rows(&mut b, &old, true);
            b.remove(keys::node(id.0));
            // Its own timeline, as a party.
            let mut touched = vec![id];
            for (a, _) in self.remove_all_edges(&mut b, &mut delta, &old)? {
                touched.push(EntityId(a.other));
            }
            self.commit(b, &delta)?;
            self.inner.contexts.invalidate(touched);
        }
        self.sync()?;
        Ok(true)
    }

    /// Adds the relationship `from -kind-> to` (both directions, atomically),
    /// or replaces its properties if it exists. Returns whether it is new.
    pub fn relate(
        &self,
        from: EntityId,
        kind: RelKind,
        to: EntityId,
        props: EdgeProps,
    ) -> Result<bool, WriteError> {
        let mut w = self.write_set();
        w.relate(from, kind, to, props)?;
        Ok(w.commit()?.new_relationships == 1)
    }

    /// Removes the relationship `from -kind-> to` in both directions.
    /// Returns whether it existed.
    pub fn unrelate(
        &self,
        from: EntityId,
        kind: RelKind,
        to: EntityId,
    ) -> Result<bool, WriteError> {
        let existed = {
            let _w = self.inner.writer.lock();
            let out = keys::adj(from.0, keys::DIR_OUT, kind.0, to.0);
            if !self
                .inner
                .engine
                .contains(&out)
                .map_err(StorageError::from)?
            {
                return Ok(false);
            }
            let mut b = WriteBatch::default();
            b.remove(out);
            b.remove(keys::adj(to.0, keys::DIR_IN, kind.0, from.0));
            if kind == RelKind::HAD_INTERACTION {
                if let Some(i) = self.load(to)? {
                    b.remove(keys::timeline(from.0, interaction_time(&i), to.0));
                }
            }
            let mut delta = Delta::default();
            delta.rel(kind.0, -1);
            self.commit(b, &delta)?;
            self.inner.contexts.invalidate([from, to]);
            true
        };
        self.sync()?;
        Ok(existed)
    }

    /// Puts into `b` the removal of every relationship of `old` in both
    /// directions, of its own interaction timeline, and of its place in
    /// other parties' timelines (as an interaction); counts the removals in
    /// `delta`. Returns the relationships removed, seen from `old`.
    fn remove_all_edges(
        &self,
        b: &mut WriteBatch,
        delta: &mut Delta,
        old: &EntityRecord,
    ) -> Result<Vec<(keys::AdjKey, Bytes)>, StorageError> {
        let id = old.id.0;
        for row in self.inner.engine.scan_prefix(&keys::timeline_prefix(id)) {
            let (k, _) = row?;
            b.remove(&k[..]);
        }
        let mut removed = Vec::new();
        for row in self.inner.engine.scan_prefix(&keys::adj_node_prefix(id)) {
            let (k, v) = row?;
            let a = keys::parse_adj(&k).ok_or_else(|| StorageError::Corrupt {
                key: keys::describe(&k),
                reason: "malformed adjacency key".into(),
            })?;
            b.remove(&k[..]);
            b.remove(keys::adj(a.other, 1 - a.dir, a.kind, a.id));
            if a.kind == RelKind::HAD_INTERACTION.0 && a.dir == keys::DIR_IN {
                b.remove(keys::timeline(a.other, interaction_time(old), id));
            }
            // A self-loop shows up twice here; count it once.
            if a.dir == keys::DIR_OUT || a.other != a.id {
                delta.rel(a.kind, -1);
            }
            removed.push((a, v));
        }
        Ok(removed)
    }

    /// Merges entity `from` into `into`, atomically: every relationship of
    /// `from` moves to `into` (relationships between the two are dropped;
    /// one `into` already has keeps `into`'s properties), its interactions
    /// move to `into`'s timeline, and `from` keeps only the attributes in
    /// `redirect` set on it (a `merged_into` marker, say). One batch: a crash
    /// leaves either both entities as they were or the merge complete.
    pub fn merge_into(
        &self,
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
        {
            let _w = self.inner.writer.lock();
            let old = self.load(from)?.ok_or(WriteError::NotFound(from))?;
            if !self
                .inner
                .engine
                .contains(&keys::node(into.0))
                .map_err(StorageError::from)?
            {
                return Err(WriteError::NotFound(into));
            }
            let mut b = WriteBatch::default();
            let mut delta = Delta::default();
            let mut touched = vec![from, into];
            let mut moved = HashSet::new();
            for (a, v) in self.remove_all_edges(&mut b, &mut delta, &old)? {
                touched.push(EntityId(a.other));
                let other = if a.other == from.0 { into.0 } else { a.other };
                if other == into.0 {
                    continue; // between the two: dropped
                }
                let (src, dst) = if a.dir == keys::DIR_OUT {
                    (into.0, other)
                } else {
                    (other, into.0)
                };
                let outk = keys::adj(src, keys::DIR_OUT, a.kind, dst);
                if !moved.insert(outk) {
                    continue;
                }
                if self
                    .inner
                    .engine
                    .contains(&outk)
                    .map_err(StorageError::from)?
                {
                    continue; // `into` has it already: keep its properties
                }
                b.put(outk, &v[..]);
                b.put(keys::adj(dst, keys::DIR_IN, a.kind, src), &v[..]);
                delta.rel(a.kind, 1);
                if a.kind == RelKind::HAD_INTERACTION.0 {
                    // The moved relationship's place in the party's timeline.
                    if let Some(i) = self.load(EntityId(dst))? {
                        b.put(
                            keys::timeline(src, interaction_time(&i), dst),
                            codec::MARKER,
                        );
                    }
                }
            }
            let mut new = old.clone();
            for (k, v) in redirect.set {
                new.attrs.insert(k, v);
            }
            new.updated = Timestamp::now().max(old.updated);
            self.entity_rows(&mut b, &old, true);
            self.entity_rows(&mut b, &new, false);
            b.put(keys::node(from.0), codec::encode_entity(&new));
            self.commit(b, &delta)?;
            self.inner.contexts.invalidate(touched);
        }
        self.sync()?;
        Ok(())
    }

    /// Registers a kind name in one space, or returns its code if present.
    pub(super) fn register(&self, space: u8, name: &str) -> Result<u16, WriteError> {
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
        let code = {
            let _w = self.inner.writer.lock();
            let existing = {
                let r = self.inner.registry.read();
                let by_name = if entity {
                    &r.entity_by_name
                } else {
                    &r.rel_by_name
                };
                by_name.get(name).copied()
            };
            if let Some(code) = existing {
                return Ok(code);
            }
            let code = {
                let r = self.inner.registry.read();
                let codes = if entity { &r.entity } else { &r.rel };
                let last = codes.keys().next_back().copied().unwrap_or(0);
                last.max(FIRST_USER_CODE - 1)
                    .checked_add(1)
                    .ok_or_else(|| WriteError::Invalid("no kind codes left in this space".into()))?
            };
            let mut b = WriteBatch::default();
            b.put(keys::reg(space, code), codec::encode_text(name));
            self.commit(b, &Delta::default())?;
            self.inner.registry.write().insert(space, code, name);
            code
        };
        self.sync()?;
        Ok(code)
    }
}

/// Creates and relationships written together, atomically. Start one with
/// [`Db::write_set`]. Ids are given out as entities are added, so later
/// relationships in the same set can name them; an id of a set that is never
/// committed is never reused.
pub struct WriteSet<'db> {
    db: &'db Db,
    creates: Vec<EntityRecord>,
    edges: Vec<(EntityId, RelKind, EntityId, EdgeProps)>,
    removes: Vec<(EntityId, RelKind, EntityId)>,
}

/// What a committed [`WriteSet`] wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Committed {
    /// Ids of the entities created, in the order they were added.
    pub created: Vec<EntityId>,
    /// Relationships that did not exist before (the rest replaced properties).
    pub new_relationships: u64,
}

impl WriteSet<'_> {
    /// Adds an entity; returns the id it will have.
    pub fn create(&mut self, new: NewEntity) -> Result<EntityId, WriteError> {
        self.db.check_entity_kind(new.kind)?;
        validate_identifiers(&new.identifiers)?;
        validate_attrs(new.attrs.keys())?;
        let mut identifiers = new.identifiers;
        identifiers.sort();
        identifiers.dedup();
        let id = EntityId(self.db.inner.next_id.fetch_add(1, Ordering::Relaxed));
        let now = Timestamp::now();
        self.creates.push(EntityRecord {
            id,
            kind: new.kind,
            attrs: new.attrs,
            identifiers,
            created: now,
            updated: now,
        });
        Ok(id)
    }

    /// Adds the relationship `from -kind-> to` (replacing the properties of an
    /// existing one). Both ends must exist, or be created by this set.
    pub fn relate(
        &mut self,
        from: EntityId,
        kind: RelKind,
        to: EntityId,
        props: EdgeProps,
    ) -> Result<(), WriteError> {
        self.db.check_rel_kind(kind)?;
        validate_attrs(props.attrs.keys())?;
        if let (Some(s), Some(u)) = (props.since, props.until) {
            if u < s {
                return Err(WriteError::Invalid(format!(
                    "relationship ends ({u}) before it starts ({s})"
                )));
            }
        }
        self.edges.push((from, kind, to, props));
        Ok(())
    }

    /// Removes the relationship `from -kind-> to` (in both directions) if it
    /// exists. Removals apply before the set's relationships, so removing an
    /// edge and adding it again in one set replaces it.
    pub fn unrelate(&mut self, from: EntityId, kind: RelKind, to: EntityId) {
        self.removes.push((from, kind, to));
    }

    /// Number of creates, relationships and removals added so far.
    pub fn len(&self) -> usize {
        self.creates.len() + self.edges.len() + self.removes.len()
    }

    /// Whether nothing has been added.
    pub fn is_empty(&self) -> bool {
        self.creates.is_empty() && self.edges.is_empty() && self.removes.is_empty()
    }

    /// Writes everything atomically, after checking that no identifier is
    /// taken (in the database or twice in the set) and that every
    /// relationship's ends exist. On error nothing is written.
    pub fn commit(self) -> Result<Committed, WriteError> {
        let db = self.db;
        let engine = &db.inner.engine;
        let mut out = Committed::default();
        {
            let _w = db.inner.writer.lock();
            let mut claimed: HashMap<&ExternalId, EntityId> = HashMap::new();
            for e in &self.creates {
                for x in &e.identifiers {
                    if let Some(owner) = claimed.insert(x, e.id) {
                        return Err(WriteError::IdentifierTaken {
                            identifier: x.clone(),
                            owner,
                        });
                    }
                    if let Some(owner) = db.owner_of(x)? {
                        return Err(WriteError::IdentifierTaken {
                            identifier: x.clone(),
                            owner,
                        });
                    }
                }
            }
            let created: HashSet<EntityId> = self.creates.iter().map(|e| e.id).collect();
            let mut b = WriteBatch::default();
            let mut delta = Delta::default();
            let mut edge_keys = HashSet::new();
            let mut removed = HashSet::new();
            for (from, kind, to) in &self.removes {
                let outk = keys::adj(from.0, keys::DIR_OUT, kind.0, to.0);
                if removed.contains(&outk) || !engine.contains(&outk).map_err(StorageError::from)? {
                    continue;
                }
                b.remove(outk);
                b.remove(keys::adj(to.0, keys::DIR_IN, kind.0, from.0));
                if *kind == RelKind::HAD_INTERACTION {
                    if let Some(i) = db.load(*to)? {
                        b.remove(keys::timeline(from.0, interaction_time(&i), to.0));
                    }
                }
                delta.rel(kind.0, -1);
                removed.insert(outk);
            }
            for (from, kind, to, props) in &self.edges {
                for id in [*from, *to] {
                    if !created.contains(&id)
                        && !engine
                            .contains(&keys::node(id.0))
                            .map_err(StorageError::from)?
                    {
                        return Err(WriteError::NotFound(id));
                    }
                }
                let outk = keys::adj(from.0, keys::DIR_OUT, kind.0, to.0);
                let existed = !removed.contains(&outk)
                    && engine.contains(&outk).map_err(StorageError::from)?;
                if !existed && edge_keys.insert(outk) {
                    out.new_relationships += 1;
                    delta.rel(kind.0, 1);
                }
                let value = codec::encode_edge(props);
                b.put(outk, &value);
                b.put(keys::adj(to.0, keys::DIR_IN, kind.0, from.0), &value);
                if *kind == RelKind::HAD_INTERACTION {
                    let t = match self.creates.iter().find(|e| e.id == *to) {
                        Some(e) => interaction_time(e),
                        None => match db.load(*to)? {
                            Some(e) => interaction_time(&e),
                            None => return Err(WriteError::NotFound(*to)),
                        },
                    };
                    b.put(keys::timeline(from.0, t, to.0), codec::MARKER);
                }
            }
            for e in &self.creates {
                delta.entity(e.kind, 1);
                b.put(keys::node(e.id.0), codec::encode_entity(e));
                db.entity_rows(&mut b, e, false);
            }
            if !self.creates.is_empty() {
                b.put(
                    keys::meta(super::format::META_NEXT_ID),
                    codec::encode_u64(db.inner.next_id.load(Ordering::Relaxed)),
                );
            }
            db.commit(b, &delta)?;
            db.inner.contexts.invalidate(
                self.creates
                    .iter()
                    .map(|e| e.id)
                    .chain(self.edges.iter().flat_map(|(f, _, t, _)| [*f, *t]))
                    .chain(self.removes.iter().flat_map(|(f, _, t)| [*f, *t])),
            );
        }
        db.sync()?;
        out.created = self.creates.iter().map(|e| e.id).collect();
        Ok(out)
    }
}
