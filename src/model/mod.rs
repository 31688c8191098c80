//! The data model: entities, kinds, typed values, relationships.

pub mod attrs;
mod change;
mod entity;
mod kind;
mod value;

pub use change::{AttrChange, Change, ChangeEntry, ChangeId};
pub(crate) use entity::EntityRecord;
pub use entity::{
    Attrs, EdgeProps, EntityId, EntityVisitor, ExternalId, Neighbour, NewEntity, Patch,
};
pub use kind::{Direction, EntityKind, RelKind};
pub(crate) use kind::{BUILTIN_ENTITY_KINDS, BUILTIN_REL_KINDS, FIRST_USER_CODE};
pub use value::{Date, Decimal, ParseValueError, Timestamp, Value, ValueRef};
