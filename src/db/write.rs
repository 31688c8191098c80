//! The single-operation write API and write sets: each is one
//! [`Transaction`](super::Transaction) (see `tx.rs`).

use super::tx::prepare_record;
use super::Db;
use crate::error::WriteError;
use crate::model::{EdgeProps, EntityId, EntityRecord, NewEntity, Patch, RelKind};
use crate::storage::keys;
use crate::storage::Entity;

impl Db {
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
        Ok(self.transaction(|tx| tx.create(new))?.value)
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
        Ok(self
            .transaction(|tx| tx.append_interaction(party, interaction))?
            .value)
    }

    /// Changes an entity's attributes and identifiers, keeping its index
    /// entries exact, atomically.
    pub fn update(&self, id: EntityId, patch: Patch) -> Result<Entity, WriteError> {
        Ok(self.transaction(|tx| tx.update(id, patch))?.value)
    }

    /// Deletes an entity with its identifiers, index entries and every
    /// relationship in both directions, atomically. Returns whether it existed.
    pub fn delete(&self, id: EntityId) -> Result<bool, WriteError> {
        Ok(self.transaction(|tx| tx.delete(id))?.value)
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
        Ok(self
            .transaction(|tx| tx.relate(from, kind, to, props))?
            .value)
    }

    /// Removes the relationship `from -kind-> to` in both directions.
    /// Returns whether it existed.
    pub fn unrelate(
        &self,
        from: EntityId,
        kind: RelKind,
        to: EntityId,
    ) -> Result<bool, WriteError> {
        Ok(self.transaction(|tx| tx.unrelate(from, kind, to))?.value)
    }

    /// Merges entity `from` into `into`, atomically: every relationship of
    /// `from` moves to `into` (relationships between the two are dropped;
    /// one `into` already has keeps `into`'s properties), its interactions
    /// move to `into`'s timeline, and `redirect` is applied to `from` (its
    /// attributes removed and set: a `merged_into` marker, say). One batch: a crash
    /// leaves either both entities as they were or the merge complete.
    pub fn merge_into(
        &self,
        from: EntityId,
        into: EntityId,
        redirect: Patch,
    ) -> Result<(), WriteError> {
        self.transaction(|tx| tx.merge_into(from, into, redirect))?;
        Ok(())
    }

    /// Registers a kind name in one space, or returns its code if present.
    pub(super) fn register(&self, space: u8, name: &str) -> Result<u16, WriteError> {
        {
            let r = self.inner.registry.read();
            let by_name = if space == keys::SPACE_ENTITY {
                &r.entity_by_name
            } else {
                &r.rel_by_name
            };
            if let Some(code) = by_name.get(name) {
                return Ok(*code);
            }
        }
        Ok(self.transaction(|tx| tx.register(space, name))?.value)
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
        if !self
            .db
            .inner
            .registry
            .read()
            .entity
            .contains_key(&new.kind.0)
        {
            return Err(WriteError::UnknownKind {
                space: "entity",
                name: new.kind.0.to_string(),
            });
        }
        let record = prepare_record(self.db, new)?;
        let id = record.id;
        self.creates.push(record);
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
        if !self.db.inner.registry.read().rel.contains_key(&kind.0) {
            return Err(WriteError::UnknownKind {
                space: "relationship",
                name: kind.0.to_string(),
            });
        }
        super::tx::validate_props(&props)?;
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
        let WriteSet {
            db,
            creates,
            edges,
            removes,
        } = self;
        let created: Vec<EntityId> = creates.iter().map(|e| e.id).collect();
        let new_relationships = db
            .transaction(|tx| {
                for e in creates {
                    tx.insert(e)?;
                }
                for (from, kind, to) in removes {
                    tx.unrelate(from, kind, to)?;
                }
                let mut new = 0;
                let mut seen = std::collections::HashSet::new();
                for (from, kind, to, props) in edges {
                    if tx.relate(from, kind, to, props)? && seen.insert((from, kind, to)) {
                        new += 1;
                    }
                }
                Ok::<_, WriteError>(new)
            })?
            .value;
        Ok(Committed {
            created,
            new_relationships,
        })
    }
}
