//! What the change log holds: one [`Change`] per stored row, each at a
//! [`ChangeId`] (`<ms>-<seq>`, the form of a Redis stream id).

use crate::model::{Attrs, EdgeProps, EntityId, Value};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The position of one change in the log: the commit's wall-clock
/// milliseconds and the change's sequence number. Sequence numbers start at 1,
/// rise by one per change with no gaps, and never go backwards; so do the
/// milliseconds (a clock that steps back keeps the last value). Written
/// `<ms>-<seq>`, the form of a Redis stream id.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct ChangeId {
    /// Milliseconds since the Unix epoch of the commit.
    pub ms: u64,
    /// The change's sequence number in the log (1, 2, 3, …).
    pub seq: u64,
}

impl ChangeId {
    /// The position before every change (`0-0`).
    pub const ZERO: ChangeId = ChangeId { ms: 0, seq: 0 };
    /// The position after every change.
    pub const MAX: ChangeId = ChangeId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    /// Parses `<ms>-<seq>` or `<ms>` (whose sequence is `default_seq`).
    pub fn parse(text: &str, default_seq: u64) -> Option<ChangeId> {
        let (ms, seq) = match text.split_once('-') {
            Some((m, s)) => (m.parse().ok()?, s.parse().ok()?),
            None => (text.parse().ok()?, default_seq),
        };
        Some(ChangeId { ms, seq })
    }

    /// The next position (for exclusive ranges).
    pub fn successor(self) -> Option<ChangeId> {
        match self.seq.checked_add(1) {
            Some(seq) => Some(ChangeId { ms: self.ms, seq }),
            None => self.ms.checked_add(1).map(|ms| ChangeId { ms, seq: 0 }),
        }
    }
}

impl fmt::Display for ChangeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// One attribute changed by an update: its value before and after (`None`:
/// absent).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttrChange {
    /// The attribute's name.
    pub name: String,
    /// Its value before the update.
    pub before: Option<Value>,
    /// Its value after the update.
    pub after: Option<Value>,
}

/// One change to the database, as the change log records it.
///
/// Stored as is (after a version byte): variants are only ever appended and
/// fields never change; `storage::codec` holds their golden bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Change {
    /// An entity was created.
    EntityCreated {
        /// Its id.
        id: EntityId,
        /// Its kind's name.
        kind: String,
        /// Its attributes.
        attrs: Attrs,
    },
    /// An entity's attributes changed.
    EntityUpdated {
        /// Its id.
        id: EntityId,
        /// Its kind's name.
        kind: String,
        /// The attributes that changed, before and after.
        changed: Vec<AttrChange>,
    },
    /// An entity was deleted.
    EntityDeleted {
        /// Its id.
        id: EntityId,
        /// Its kind's name.
        kind: String,
        /// Its attributes when deleted.
        attrs: Attrs,
    },
    /// A relationship was added, or its properties replaced.
    RelationshipAdded {
        /// Where it starts.
        from: EntityId,
        /// Its kind's name.
        kind: String,
        /// Where it ends.
        to: EntityId,
        /// Its properties now.
        props: EdgeProps,
        /// Its properties before, when it existed already.
        before: Option<EdgeProps>,
    },
    /// A relationship was removed.
    RelationshipRemoved {
        /// Where it started.
        from: EntityId,
        /// Its kind's name.
        kind: String,
        /// Where it ended.
        to: EntityId,
    },
    /// A cross-system identifier now names an entity.
    IdentifierAdded {
        /// The source system.
        system: String,
        /// The key in that system.
        key: String,
        /// The entity it names.
        entity: EntityId,
    },
    /// A cross-system identifier no longer names anything.
    IdentifierRemoved {
        /// The source system.
        system: String,
        /// The key in that system.
        key: String,
        /// The entity it named.
        entity: EntityId,
    },
    /// A cross-system identifier moved from one entity to another.
    IdentifierMoved {
        /// The source system.
        system: String,
        /// The key in that system.
        key: String,
        /// The entity it named.
        from: EntityId,
        /// The entity it names now.
        to: EntityId,
    },
    /// A source record was linked to a customer (`RESOLVES_TO`).
    RecordLinked {
        /// The source record.
        record: EntityId,
        /// Its customer.
        customer: EntityId,
    },
    /// A source record was taken off a customer.
    RecordUnlinked {
        /// The source record.
        record: EntityId,
        /// The customer it left.
        customer: EntityId,
    },
    /// Customers were merged: `absorbed` is now a redirect to `survivor`.
    CustomersMerged {
        /// The surviving customer.
        survivor: EntityId,
        /// The customer merged into it.
        absorbed: EntityId,
    },
    /// A customer's records no longer held together: some left for new customers.
    CustomerSplit {
        /// The customer split.
        customer: EntityId,
        /// The customers split off it.
        split_off: Vec<EntityId>,
    },
    /// The last change of every commit: the customers whose context
    /// (profile, accounts, household, relationships, interactions) it changed.
    Committed {
        /// The customers, ascending.
        customers: Vec<EntityId>,
        /// How many changes the commit wrote before this one.
        changes: u64,
    },
    /// An interaction rule fired for a customer and acted (format v5): the
    /// entry of the actions stream (`kith:actions`), written in the same
    /// commit as the action's effects.
    ActionRaised {
        /// The action's id, `<rule>/<cause>/<customer>`: the same however
        /// often the change that fired it is evaluated.
        action: String,
        /// The rule that fired.
        rule: String,
        /// The change that fired it.
        cause: ChangeId,
        /// The trigger that matched (`interaction.added`, …).
        trigger: String,
        /// The customer it is about.
        customer: EntityId,
        /// The rule's priority.
        priority: i64,
        /// How many rule firings led to the change that fired it (0: a
        /// change no rule made).
        depth: u32,
        /// Why it fired: each value its condition read, as `(path, value)`.
        why: Vec<(String, String)>,
        /// What it asks for: the rule's `message` and fields.
        fields: Vec<(String, String)>,
        /// What it did in the database, one line per effect.
        effects: Vec<String>,
    },
}

impl Change {
    /// The event's type name on the wire (`entity.created`, `commit`, …).
    pub fn type_name(&self) -> &'static str {
        match self {
            Change::EntityCreated { .. } => "entity.created",
            Change::EntityUpdated { .. } => "entity.updated",
            Change::EntityDeleted { .. } => "entity.deleted",
            Change::RelationshipAdded { .. } => "relationship.added",
            Change::RelationshipRemoved { .. } => "relationship.removed",
            Change::IdentifierAdded { .. } => "identifier.added",
            Change::IdentifierRemoved { .. } => "identifier.removed",
            Change::IdentifierMoved { .. } => "identifier.moved",
            Change::RecordLinked { .. } => "record.linked",
            Change::RecordUnlinked { .. } => "record.unlinked",
            Change::CustomersMerged { .. } => "customers.merged",
            Change::CustomerSplit { .. } => "customer.split",
            Change::Committed { .. } => "commit",
            Change::ActionRaised { .. } => "action",
        }
    }
}

/// One change read from the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeEntry {
    /// Its position.
    pub id: ChangeId,
    /// The sequence number of the first change of its commit: every change
    /// of one commit carries the same `commit`.
    pub commit: u64,
    /// The change.
    pub change: Change,
}
