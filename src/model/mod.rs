//! The data model: entities, kinds, typed values, relationships.

pub mod attrs;
mod entity;
mod kind;
mod value;

pub(crate) use entity::EntityRecord;
pub use entity::{
    Attrs, EdgeProps, Entity, EntityId, EntityVisitor, ExternalId, Neighbour, NewEntity, Patch,
};
pub use kind::{Direction, EntityKind, RelKind};
pub(crate) use kind::{BUILTIN_ENTITY_KINDS, BUILTIN_REL_KINDS, FIRST_USER_CODE};
pub use value::{Date, Decimal, ParseValueError, Timestamp, Value, ValueRef};
