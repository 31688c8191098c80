//! The zero-copy read view of a stored entity: what `Db::get` returns. It
//! lives with the encoding it reads (`codec`), below the database; the data
//! model above knows nothing of stored bytes.

use super::{codec, Bytes};
use crate::model::{
    Attrs, EntityId, EntityKind, EntityRecord, ExternalId, Timestamp, Value, ValueRef,
};
use std::fmt;

/// A stored entity, as read: a zero-copy view of its stored bytes.
///
/// Reading an entity copies nothing: text attributes are borrowed from the
/// stored value ([`Entity::text`], [`Entity::get`]); [`Entity::attrs`] and
/// [`Entity::identifiers`] make owned copies when they are wanted.
#[derive(Clone)]
pub struct Entity {
    /// Its id.
    pub id: EntityId,
    /// Its kind.
    pub kind: EntityKind,
    /// When it was created.
    pub created: Timestamp,
    /// When it was last changed.
    pub updated: Timestamp,
    raw: Bytes,
}

impl Entity {
    /// A 64-bit hash of its stored bytes: equal for an unchanged entity
    /// (different, but for a chance of 2^-64, for a changed one).
    pub(crate) fn fingerprint(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.raw[..].hash(&mut h);
        h.finish() | 1
    }

    /// Wraps stored bytes that `codec` has already validated.
    pub(crate) fn from_validated(
        id: EntityId,
        kind: EntityKind,
        created: Timestamp,
        updated: Timestamp,
        raw: Bytes,
    ) -> Entity {
        Entity {
            id,
            kind,
            created,
            updated,
            raw,
        }
    }

    /// An entity built from owned content (its encoding is the stored one).
    pub(crate) fn from_record(r: &EntityRecord) -> Entity {
        Entity {
            id: r.id,
            kind: r.kind,
            created: r.created,
            updated: r.updated,
            raw: Bytes::from_vec(codec::encode_entity(r)),
        }
    }

    fn view(&self) -> codec::EntityV1Ref<'_> {
        codec::view_entity(&self.raw).expect("entity bytes were validated when read")
    }

    /// One attribute, borrowed. Walks the stored bytes; allocates nothing
    /// unless the value is a list.
    pub fn get(&self, name: &str) -> Option<ValueRef<'_>> {
        codec::find_attr(&self.raw, name).expect("entity bytes were validated when read")
    }

    /// One attribute, owned.
    pub fn attr(&self, name: &str) -> Option<Value> {
        self.get(name).map(|v| v.to_value())
    }

    /// One text attribute, borrowed.
    pub fn text(&self, name: &str) -> Option<&str> {
        match self.get(name) {
            Some(ValueRef::Text(s)) => Some(s),
            _ => None,
        }
    }

    /// Every attribute, borrowed, in name order.
    pub fn attr_refs(&self) -> Vec<(&str, ValueRef<'_>)> {
        self.view().attrs
    }

    /// Every attribute and every identifier, borrowed, from one decode.
    #[cfg(feature = "json")]
    pub(crate) fn parts(&self) -> codec::EntityV1Ref<'_> {
        self.view()
    }

    /// Every attribute, owned.
    pub fn attrs(&self) -> Attrs {
        self.view()
            .attrs
            .into_iter()
            .map(|(n, v)| (n.to_string(), v.to_value()))
            .collect()
    }

    /// The cross-system identifiers that name it (each unique in the database).
    pub fn identifiers(&self) -> Vec<ExternalId> {
        self.view()
            .identifiers
            .into_iter()
            .map(|(s, k)| ExternalId::new(s, k))
            .collect()
    }
}

impl PartialEq for Entity {
    fn eq(&self, other: &Entity) -> bool {
        self.id == other.id && self.raw[..] == other.raw[..]
    }
}

impl Eq for Entity {}

impl fmt::Debug for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entity")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("attrs", &self.attrs())
            .field("identifiers", &self.identifiers())
            .field("created", &self.created)
            .field("updated", &self.updated)
            .finish()
    }
}
