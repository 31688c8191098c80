//! Entities, identifiers, relationships and the writes that change them.

use super::kind::{Direction, EntityKind, RelKind};
use super::value::{Date, Timestamp, Value, ValueRef};
use std::collections::BTreeMap;
use std::fmt;

/// What reads an entity's stored bytes in place, without copying them
/// ([`crate::Db::visit`]): the header, then each attribute in name order,
/// then each identifier, all borrowed from the bytes (which are validated on
/// the way). The wire protocol writes an entity's JSON this way.
pub trait EntityVisitor<'a> {
    /// The header fields.
    fn header(&mut self, _kind: EntityKind, _created: Timestamp, _updated: Timestamp) {}
    /// One attribute, borrowed from the bytes.
    fn attr(&mut self, _name: &'a str, _value: ValueRef<'a>) {}
    /// One identifier, borrowed from the bytes.
    fn identifier(&mut self, _system: &'a str, _key: &'a str) {}
}

/// The stable id of an entity. Ids are never reused.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct EntityId(pub u64);

impl fmt::Display for EntityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Attributes of an entity or an edge, by canonical name (see [`crate::attrs`]).
pub type Attrs = BTreeMap<String, Value>;

/// A cross-system identifier: the key of one record in one source system.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExternalId {
    /// The source system ("core_banking", "crm", …).
    pub system: String,
    /// The record's key in that system.
    pub key: String,
}

impl ExternalId {
    /// `(system, key)`.
    pub fn new(system: impl Into<String>, key: impl Into<String>) -> ExternalId {
        ExternalId {
            system: system.into(),
            key: key.into(),
        }
    }
}

impl fmt::Display for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.system, self.key)
    }
}

/// An entity's content, owned: what writes build and encode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EntityRecord {
    pub(crate) id: EntityId,
    pub(crate) kind: EntityKind,
    pub(crate) attrs: Attrs,
    pub(crate) identifiers: Vec<ExternalId>,
    pub(crate) created: Timestamp,
    pub(crate) updated: Timestamp,
}

impl EntityRecord {
    /// When an interaction happened: its `occurred_at` timestamp, else when
    /// it was created. Its place in its parties' timelines.
    pub(crate) fn interaction_time(&self) -> i64 {
        match self.attrs.get(super::attrs::OCCURRED_AT) {
            Some(Value::Timestamp(t)) => t.as_micros(),
            _ => self.created.as_micros(),
        }
    }
}

/// An entity to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEntity {
    /// Its kind.
    pub kind: EntityKind,
    /// Its attributes.
    pub attrs: Attrs,
    /// Its cross-system identifiers.
    pub identifiers: Vec<ExternalId>,
}

impl NewEntity {
    /// An entity of `kind` with no attributes yet.
    pub fn new(kind: EntityKind) -> NewEntity {
        NewEntity {
            kind,
            attrs: Attrs::new(),
            identifiers: Vec::new(),
        }
    }

    /// A person.
    pub fn person() -> NewEntity {
        NewEntity::new(EntityKind::PERSON)
    }

    /// An organization.
    pub fn organization() -> NewEntity {
        NewEntity::new(EntityKind::ORGANIZATION)
    }

    /// A household.
    pub fn household() -> NewEntity {
        NewEntity::new(EntityKind::HOUSEHOLD)
    }

    /// An account.
    pub fn account() -> NewEntity {
        NewEntity::new(EntityKind::ACCOUNT)
    }

    /// Sets an attribute.
    pub fn attr(mut self, name: impl Into<String>, value: impl Into<Value>) -> NewEntity {
        self.attrs.insert(name.into(), value.into());
        self
    }

    /// Adds a cross-system identifier.
    pub fn identifier(mut self, system: impl Into<String>, key: impl Into<String>) -> NewEntity {
        self.identifiers.push(ExternalId::new(system, key));
        self
    }
}

/// A change to an entity: attributes to set or remove, identifiers to add or remove.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Patch {
    /// Attributes to set (replacing any old value).
    pub set: Attrs,
    /// Attributes to remove.
    pub remove: Vec<String>,
    /// Identifiers to add.
    pub add_identifiers: Vec<ExternalId>,
    /// Identifiers to remove.
    pub remove_identifiers: Vec<ExternalId>,
}

impl Patch {
    /// An empty patch.
    pub fn new() -> Patch {
        Patch::default()
    }

    /// Sets an attribute.
    pub fn set(mut self, name: impl Into<String>, value: impl Into<Value>) -> Patch {
        self.set.insert(name.into(), value.into());
        self
    }

    /// Removes an attribute.
    pub fn remove(mut self, name: impl Into<String>) -> Patch {
        self.remove.push(name.into());
        self
    }

    /// Adds an identifier.
    pub fn add_identifier(mut self, system: impl Into<String>, key: impl Into<String>) -> Patch {
        self.add_identifiers.push(ExternalId::new(system, key));
        self
    }

    /// Removes an identifier.
    pub fn remove_identifier(mut self, system: impl Into<String>, key: impl Into<String>) -> Patch {
        self.remove_identifiers.push(ExternalId::new(system, key));
        self
    }
}

/// Properties of a relationship: attributes and an optional validity period.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EdgeProps {
    /// Attributes (`role`, `amount`, `share`, …).
    pub attrs: Attrs,
    /// First day the relationship holds, if known.
    pub since: Option<Date>,
    /// Last day the relationship holds, if it has ended.
    pub until: Option<Date>,
}

impl EdgeProps {
    /// No properties.
    pub fn new() -> EdgeProps {
        EdgeProps::default()
    }

    /// Sets an attribute.
    pub fn attr(mut self, name: impl Into<String>, value: impl Into<Value>) -> EdgeProps {
        self.attrs.insert(name.into(), value.into());
        self
    }

    /// Sets the validity period.
    pub fn valid(mut self, since: Option<Date>, until: Option<Date>) -> EdgeProps {
        self.since = since;
        self.until = until;
        self
    }

    /// Its `role` attribute (primary, joint, head, …), if it has one.
    pub fn role(&self) -> Option<String> {
        self.attrs
            .get(super::attrs::ROLE)
            .and_then(Value::as_text)
            .map(str::to_string)
    }

    /// Whether the relationship holds on `day`.
    pub fn holds_on(&self, day: Date) -> bool {
        self.since.is_none_or(|s| s <= day) && self.until.is_none_or(|u| day <= u)
    }
}

/// A relationship seen from one of its ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Neighbour {
    /// The entity at the other end.
    pub id: EntityId,
    /// The relationship kind.
    pub kind: RelKind,
    /// `Out` if the relationship starts at the node asked about.
    pub direction: Direction,
    /// Its properties.
    pub props: EdgeProps,
}
