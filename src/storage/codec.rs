//! Value encoding: a format-version byte, then bincode of a frozen record type.
//!
//! The bincode configuration is defined once, in [`options`]. Record types are
//! frozen once released: a new layout gets a new `…V2` type and a new version
//! byte, and the decoder upgrades old values on read.

use super::entity::Entity;
use super::Bytes;
use crate::error::StorageError;
use crate::model::{
    Attrs, EdgeProps, EntityId, EntityKind, EntityRecord, ExternalId, Timestamp, ValueRef,
};
use bincode::Options;
use serde::{Deserialize, Serialize};

/// Version byte of entity values.
pub const ENTITY_V1: u8 = 1;
/// Version byte of edge values.
pub const EDGE_V1: u8 = 1;
/// Version byte of small fixed values (ids, counters, names, empty markers).
pub const PLAIN_V1: u8 = 1;

/// The largest value the decoder accepts (guards against corrupt length prefixes).
const DECODE_LIMIT: u64 = 64 << 20;

/// The one bincode configuration kith uses.
fn options() -> impl Options {
    bincode::DefaultOptions::new()
        .with_varint_encoding()
        .with_little_endian()
        .reject_trailing_bytes()
        .with_limit(DECODE_LIMIT)
}

/// Entity value, version 1. Frozen.
#[derive(Serialize, Deserialize)]
pub struct EntityV1 {
    pub kind: u16,
    pub created: i64,
    pub updated: i64,
    pub attrs: Attrs,
    pub identifiers: Vec<(String, String)>,
}

/// Entity value, version 1, borrowed from the stored bytes. The same bytes as
/// [`EntityV1`]: a map encodes as a sequence of pairs.
#[derive(Deserialize)]
#[allow(dead_code)] // The header fields are read for their layout; the walk reads their values.
pub struct EntityV1Ref<'a> {
    pub kind: u16,
    pub created: i64,
    pub updated: i64,
    #[serde(borrow)]
    pub attrs: Vec<(&'a str, ValueRef<'a>)>,
    #[serde(borrow)]
    pub identifiers: Vec<(&'a str, &'a str)>,
}

/// Edge value, version 1. Frozen.
#[derive(Serialize, Deserialize)]
pub struct EdgeV1 {
    pub attrs: Attrs,
    pub since: Option<i32>,
    pub until: Option<i32>,
}

fn corrupt(key: &[u8], reason: impl Into<String>) -> StorageError {
    StorageError::Corrupt {
        key: super::keys::describe(key),
        reason: reason.into(),
    }
}

fn versioned<T: Serialize>(version: u8, record: &T) -> Vec<u8> {
    let mut out = vec![version];
    options()
        .serialize_into(&mut out, record)
        .expect("serializing into a Vec cannot fail");
    out
}

/// Splits off the version byte.
fn split<'a>(key: &[u8], bytes: &'a [u8]) -> Result<(u8, &'a [u8]), StorageError> {
    match bytes.split_first() {
        Some((v, rest)) => Ok((*v, rest)),
        None => Err(corrupt(key, "empty value")),
    }
}

/// Encodes an entity (its id lives in the key).
pub fn encode_entity(e: &EntityRecord) -> Vec<u8> {
    versioned(
        ENTITY_V1,
        &EntityV1 {
            kind: e.kind.0,
            created: e.created.as_micros(),
            updated: e.updated.as_micros(),
            attrs: e.attrs.clone(),
            identifiers: e
                .identifiers
                .iter()
                .map(|x| (x.system.clone(), x.key.clone()))
                .collect(),
        },
    )
}

/// A borrowed view of stored entity bytes (version byte included).
pub fn view_entity(bytes: &[u8]) -> Result<EntityV1Ref<'_>, String> {
    match bytes.split_first() {
        Some((&ENTITY_V1, body)) => options()
            .deserialize::<EntityV1Ref<'_>>(body)
            .map_err(|e| format!("entity does not decode: {e}")),
        Some((v, _)) => Err(format!("unknown entity value version {v}")),
        None => Err("empty value".into()),
    }
}

/// What the walk tells what it finds (the model's visitor).
pub use crate::model::EntityVisitor as EntitySink;

/// A sink that only validates.
pub struct Validate;
impl EntitySink<'_> for Validate {}

/// Walks stored entity bytes in place, validating every byte (UTF-8, order,
/// lengths, trailing bytes) and telling `sink` what it finds. Allocates
/// nothing unless a value is a list.
pub fn walk_entity<'a>(bytes: &'a [u8], sink: &mut dyn EntitySink<'a>) -> Result<(), String> {
    match bytes.split_first() {
        Some((&ENTITY_V1, body)) => options()
            .deserialize_seed(walk::EntitySeed { sink }, body)
            .map_err(|e| format!("entity does not decode: {e}")),
        Some((v, _)) => Err(format!("unknown entity value version {v}")),
        None => Err("empty value".into()),
    }
}

/// Finds one attribute by walking.
pub fn find_attr<'a>(bytes: &'a [u8], name: &str) -> Result<Option<ValueRef<'a>>, String> {
    struct Find<'a, 'n> {
        name: &'n str,
        found: Option<ValueRef<'a>>,
    }
    impl<'a> EntitySink<'a> for Find<'a, '_> {
        fn attr(&mut self, name: &'a str, value: ValueRef<'a>) {
            if name == self.name {
                self.found = Some(value);
            }
        }
    }
    let mut f = Find { name, found: None };
    walk_entity(bytes, &mut f)?;
    Ok(f.found)
}

mod walk {
    //! Serde visitors that walk an [`super::EntityV1`] encoding in place.
    use super::EntitySink;
    use crate::model::ValueRef;
    use serde::de::{self, DeserializeSeed, Deserializer, SeqAccess, Visitor};
    use std::fmt;

    pub struct EntitySeed<'s, 'a> {
        pub sink: &'s mut dyn EntitySink<'a>,
    }

    impl<'a> DeserializeSeed<'a> for EntitySeed<'_, 'a> {
        type Value = ();
        fn deserialize<D: Deserializer<'a>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_tuple(5, self)
        }
    }

    impl<'a> Visitor<'a> for EntitySeed<'_, 'a> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an entity")
        }
        fn visit_seq<A: SeqAccess<'a>>(self, mut seq: A) -> Result<(), A::Error> {
            let missing = |i| de::Error::invalid_length(i, &"5 fields");
            let kind: u16 = seq.next_element()?.ok_or_else(|| missing(0))?;
            let created: i64 = seq.next_element()?.ok_or_else(|| missing(1))?;
            let updated: i64 = seq.next_element()?.ok_or_else(|| missing(2))?;
            self.sink.header(
                crate::model::EntityKind(kind),
                crate::model::Timestamp::from_micros(created),
                crate::model::Timestamp::from_micros(updated),
            );
            seq.next_element_seed(Attrs {
                sink: &mut *self.sink,
            })?
            .ok_or_else(|| missing(3))?;
            seq.next_element_seed(Ids { sink: self.sink })?
                .ok_or_else(|| missing(4))?;
            Ok(())
        }
    }

    struct Attrs<'s, 'a> {
        sink: &'s mut dyn EntitySink<'a>,
    }

    impl<'a> DeserializeSeed<'a> for Attrs<'_, 'a> {
        type Value = ();
        fn deserialize<D: Deserializer<'a>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_seq(self)
        }
    }

    impl<'a> Visitor<'a> for Attrs<'_, 'a> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("attributes")
        }
        fn visit_seq<A: SeqAccess<'a>>(self, mut seq: A) -> Result<(), A::Error> {
            let mut prev: Option<&str> = None;
            while let Some((name, value)) = seq.next_element::<(&'a str, ValueRef<'a>)>()? {
                // Written from a map: names strictly ascending. Anything else is corrupt.
                if prev.is_some_and(|p| p >= name) {
                    return Err(de::Error::custom("attribute names out of order"));
                }
                prev = Some(name);
                self.sink.attr(name, value);
            }
            Ok(())
        }
    }

    struct Ids<'s, 'a> {
        sink: &'s mut dyn EntitySink<'a>,
    }

    impl<'a> DeserializeSeed<'a> for Ids<'_, 'a> {
        type Value = ();
        fn deserialize<D: Deserializer<'a>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_seq(self)
        }
    }

    impl<'a> Visitor<'a> for Ids<'_, 'a> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("identifiers")
        }
        fn visit_seq<A: SeqAccess<'a>>(self, mut seq: A) -> Result<(), A::Error> {
            let mut prev: Option<(&str, &str)> = None;
            while let Some(id) = seq.next_element::<(&'a str, &'a str)>()? {
                if prev.is_some_and(|p| p >= id) {
                    return Err(de::Error::custom("identifiers out of order"));
                }
                prev = Some(id);
                self.sink.identifier(id.0, id.1);
            }
            Ok(())
        }
    }
}

/// Decodes an entity stored under `key` into a zero-copy [`Entity`],
/// validating every byte of it first.
pub fn decode_entity(key: &[u8], id: EntityId, bytes: Bytes) -> Result<Entity, StorageError> {
    struct Header(EntityKind, Timestamp, Timestamp);
    impl EntitySink<'_> for Header {
        fn header(&mut self, kind: EntityKind, created: Timestamp, updated: Timestamp) {
            *self = Header(kind, created, updated);
        }
    }
    // The common case: a well-formed value, checked by hand; anything the
    // fast check is unsure of goes through the walk, which decides.
    if let Some((&ENTITY_V1, body)) = bytes.split_first() {
        if body.len() as u64 <= DECODE_LIMIT {
            if let Some((kind, created, updated)) = super::fastcheck::entity_header(body) {
                return Ok(Entity::from_validated(
                    id,
                    EntityKind(kind),
                    Timestamp::from_micros(created),
                    Timestamp::from_micros(updated),
                    bytes,
                ));
            }
        }
    }
    let mut h = Header(
        EntityKind(0),
        Timestamp::from_micros(0),
        Timestamp::from_micros(0),
    );
    walk_entity(&bytes, &mut h).map_err(|e| corrupt(key, e))?;
    let Header(kind, created, updated) = h;
    Ok(Entity::from_validated(id, kind, created, updated, bytes))
}

/// Decodes an entity stored under `key` into an owned record (after the same
/// validation as [`decode_entity`]).
pub fn decode_record(key: &[u8], id: EntityId, bytes: &[u8]) -> Result<EntityRecord, StorageError> {
    walk_entity(bytes, &mut Validate).map_err(|e| corrupt(key, e))?;
    let (version, body) = split(key, bytes)?;
    match version {
        ENTITY_V1 => {
            let r: EntityV1 = options()
                .deserialize(body)
                .map_err(|e| corrupt(key, format!("entity does not decode: {e}")))?;
            Ok(EntityRecord {
                id,
                kind: EntityKind(r.kind),
                attrs: r.attrs,
                identifiers: r
                    .identifiers
                    .into_iter()
                    .map(|(system, key)| ExternalId { system, key })
                    .collect(),
                created: Timestamp::from_micros(r.created),
                updated: Timestamp::from_micros(r.updated),
            })
        }
        v => Err(corrupt(key, format!("unknown entity value version {v}"))),
    }
}

/// Encodes edge properties.
pub fn encode_edge(p: &EdgeProps) -> Vec<u8> {
    versioned(
        EDGE_V1,
        &EdgeV1 {
            attrs: p.attrs.clone(),
            since: p.since.map(|d| d.days_since_epoch()),
            until: p.until.map(|d| d.days_since_epoch()),
        },
    )
}

/// Decodes edge properties stored under `key`.
pub fn decode_edge(key: &[u8], bytes: &[u8]) -> Result<EdgeProps, StorageError> {
    let (version, body) = split(key, bytes)?;
    match version {
        EDGE_V1 => {
            // The common case: no properties at all.
            if body == [0, 0, 0] {
                return Ok(EdgeProps::default());
            }
            let r: EdgeV1 = options()
                .deserialize(body)
                .map_err(|e| corrupt(key, format!("edge does not decode: {e}")))?;
            Ok(EdgeProps {
                attrs: r.attrs,
                since: r.since.map(crate::model::Date::from_days_since_epoch),
                until: r.until.map(crate::model::Date::from_days_since_epoch),
            })
        }
        v => Err(corrupt(key, format!("unknown edge value version {v}"))),
    }
}

/// Encodes a u64 (ids, counters).
pub fn encode_u64(n: u64) -> [u8; 9] {
    let mut out = [0u8; 9];
    out[0] = PLAIN_V1;
    out[1..].copy_from_slice(&n.to_be_bytes());
    out
}

/// Decodes a u64 stored under `key`.
pub fn decode_u64(key: &[u8], bytes: &[u8]) -> Result<u64, StorageError> {
    match bytes {
        [PLAIN_V1, rest @ ..] if rest.len() == 8 => {
            Ok(u64::from_be_bytes(rest.try_into().expect("length checked")))
        }
        _ => Err(corrupt(key, "expected a version-1 u64 value")),
    }
}

/// Encodes a text value (names, settings).
pub fn encode_text(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + s.len());
    out.push(PLAIN_V1);
    out.extend_from_slice(s.as_bytes());
    out
}

/// Decodes a text value stored under `key`.
pub fn decode_text(key: &[u8], bytes: &[u8]) -> Result<String, StorageError> {
    match bytes {
        [PLAIN_V1, rest @ ..] => {
            String::from_utf8(rest.to_vec()).map_err(|_| corrupt(key, "text value is not UTF-8"))
        }
        _ => Err(corrupt(key, "expected a version-1 text value")),
    }
}

/// Version byte of change-log rows and consumer-group state.
pub const CHANGE_V1: u8 = 1;

/// A change-log row: every change of one commit, in order (the row's key
/// holds the commit's milliseconds and first sequence number).
pub fn encode_commit(changes: &[crate::model::Change]) -> Vec<u8> {
    versioned(CHANGE_V1, &changes)
}

/// Decodes a change-log row.
pub fn decode_commit(key: &[u8], bytes: &[u8]) -> Result<Vec<crate::model::Change>, StorageError> {
    match split(key, bytes)? {
        (CHANGE_V1, rest) => {
            let v: Vec<crate::model::Change> = options()
                .deserialize(rest)
                .map_err(|e| corrupt(key, format!("commit does not decode: {e}")))?;
            if v.is_empty() {
                return Err(corrupt(key, "a commit row holds no change"));
            }
            Ok(v)
        }
        (v, _) => Err(corrupt(key, format!("unknown change version {v}"))),
    }
}

/// Consumer-group state, version 1. Frozen.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct GroupV1 {
    /// The last position delivered to the group (`ms`, `seq`).
    pub last_delivered: (u64, u64),
    /// How many changes the group has been delivered.
    pub entries_read: u64,
}

/// A pending (delivered, unacknowledged) change of a group, version 1. Frozen.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct PendingV1 {
    /// The consumer that holds it.
    pub consumer: String,
    /// When it was last delivered (ms since the epoch).
    pub delivered_ms: u64,
    /// How many times it was delivered.
    pub deliveries: u64,
}

/// A consumer of a group, version 1. Frozen.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ConsumerV1 {
    /// When it last asked for changes (ms since the epoch).
    pub seen_ms: u64,
    /// When it was last delivered a change (ms since the epoch; 0: never).
    pub active_ms: u64,
}

/// Encodes a piece of consumer-group state.
pub fn encode_state<T: Serialize>(v: &T) -> Vec<u8> {
    versioned(CHANGE_V1, v)
}

/// Decodes a piece of consumer-group state.
pub fn decode_state<T: serde::de::DeserializeOwned>(
    key: &[u8],
    bytes: &[u8],
) -> Result<T, StorageError> {
    match split(key, bytes)? {
        (CHANGE_V1, rest) => options()
            .deserialize(rest)
            .map_err(|e| corrupt(key, format!("value does not decode: {e}"))),
        (v, _) => Err(corrupt(key, format!("unknown value version {v}"))),
    }
}

/// Encodes a pair of u64 (a change position).
pub fn encode_pair(a: u64, b: u64) -> [u8; 17] {
    let mut out = [0u8; 17];
    out[0] = PLAIN_V1;
    out[1..9].copy_from_slice(&a.to_be_bytes());
    out[9..].copy_from_slice(&b.to_be_bytes());
    out
}

/// Decodes a pair of u64 stored under `key`.
pub fn decode_pair(key: &[u8], bytes: &[u8]) -> Result<(u64, u64), StorageError> {
    match bytes {
        [PLAIN_V1, rest @ ..] if rest.len() == 16 => Ok((
            u64::from_be_bytes(rest[..8].try_into().expect("length checked")),
            u64::from_be_bytes(rest[8..].try_into().expect("length checked")),
        )),
        _ => Err(corrupt(key, "expected a version-1 pair of u64")),
    }
}

/// The value of presence-only rows (index entries, kind listings).
pub const MARKER: [u8; 1] = [PLAIN_V1];

/// Checks a presence-only value.
pub fn check_marker(key: &[u8], bytes: &[u8]) -> Result<(), StorageError> {
    if bytes == MARKER {
        Ok(())
    } else {
        Err(corrupt(key, "expected a version-1 marker value"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Date, Decimal, Value};

    /// Golden bytes: if this test fails, the stored format changed. Do not
    /// edit the expected bytes; add a new version instead.
    #[test]
    fn entity_v1_bytes_are_frozen() {
        let mut attrs = Attrs::new();
        attrs.insert("a".into(), Value::Text("x".into()));
        attrs.insert("b".into(), Value::Int(-2));
        attrs.insert("c".into(), Value::Decimal(Decimal::parse("1.5").unwrap()));
        attrs.insert("d".into(), Value::Date(Date::from_days_since_epoch(3)));
        attrs.insert(
            "e".into(),
            Value::Timestamp(crate::model::Timestamp::from_micros(4)),
        );
        attrs.insert("f".into(), Value::Bool(true));
        attrs.insert("g".into(), Value::List(vec![Value::Int(1)]));
        let e = EntityRecord {
            id: EntityId(9),
            kind: EntityKind::PERSON,
            attrs,
            identifiers: vec![ExternalId::new("s", "k")],
            created: Timestamp::from_micros(1),
            updated: Timestamp::from_micros(2),
        };
        let bytes = encode_entity(&e);
        let expected: Vec<u8> = vec![
            1, 1, 2, 4, 7, 1, 97, 0, 1, 120, 1, 98, 1, 3, 1, 99, 2, 30, 1, 1, 100, 3, 6, 1, 101, 4,
            8, 1, 102, 5, 1, 1, 103, 6, 1, 1, 2, 1, 1, 115, 1, 107,
        ];
        assert_eq!(bytes, expected);
        assert_eq!(decode_record(b"k", EntityId(9), &bytes).unwrap(), e);
        // The borrowed view reads the same bytes to the same content.
        let view = decode_entity(b"k", EntityId(9), Bytes::from_vec(bytes)).unwrap();
        assert_eq!(view.attrs(), e.attrs);
        assert_eq!(view.identifiers(), e.identifiers);
        assert_eq!(view.text("a"), Some("x"));
        assert_eq!(view.get("g"), Some(ValueRef::List(vec![ValueRef::Int(1)])));
        assert_eq!((view.created, view.updated), (e.created, e.updated));
    }

    #[test]
    fn corrupt_values_are_errors_naming_the_key() {
        let key = super::super::keys::node(5);
        for bad in [&[][..], &[1, 200, 200, 200][..], &[9, 0][..]] {
            match decode_entity(&key, EntityId(5), Bytes::from_vec(bad.to_vec())) {
                Err(StorageError::Corrupt { key, .. }) => assert_eq!(key, "node/5"),
                other => panic!("expected corruption, got {other:?}"),
            }
        }
    }

    #[test]
    fn empty_edge_props_round_trip() {
        let p = EdgeProps::default();
        assert_eq!(decode_edge(b"k", &encode_edge(&p)).unwrap(), p);
        let p = EdgeProps::new()
            .attr("role", "joint")
            .valid(Some(Date::from_days_since_epoch(1)), None);
        assert_eq!(decode_edge(b"k", &encode_edge(&p)).unwrap(), p);
    }
}

#[cfg(test)]
mod change_tests {
    use super::*;
    use crate::model::{AttrChange, Change};
    use crate::model::{EntityId, Value};

    /// Golden bytes of change-log rows: if this fails, the stored format of
    /// the log changed. Append variants; never edit these bytes.
    #[test]
    fn change_v1_bytes_are_frozen() {
        let linked = Change::RecordLinked {
            record: EntityId(1),
            customer: EntityId(300),
        };
        assert_eq!(
            encode_commit(std::slice::from_ref(&linked)),
            vec![1, 1, 8, 1, 251, 44, 1]
        );
        let updated = Change::EntityUpdated {
            id: EntityId(7),
            kind: "person".into(),
            changed: vec![AttrChange {
                name: "tier".into(),
                before: None,
                after: Some(Value::Text("gold".into())),
            }],
        };
        let commit = Change::Committed {
            customers: vec![EntityId(2), EntityId(3)],
            changes: 1,
        };
        let both = vec![updated, commit];
        let bytes = encode_commit(&both);
        assert_eq!(
            bytes,
            vec![
                1, 2, 1, 7, 6, b'p', b'e', b'r', b's', b'o', b'n', 1, 4, b't', b'i', b'e', b'r', 0,
                1, 0, 4, b'g', b'o', b'l', b'd', 12, 2, 2, 3, 1
            ]
        );
        assert_eq!(decode_commit(b"k", &bytes).unwrap(), both);
        // Format 5 appended the actions of interaction rules.
        let action = Change::ActionRaised {
            action: "r/1-2/3".into(),
            rule: "r".into(),
            cause: crate::model::ChangeId { ms: 1, seq: 2 },
            trigger: "t".into(),
            customer: EntityId(3),
            priority: -1,
            depth: 0,
            why: vec![("a".into(), "b".into())],
            fields: vec![],
            effects: vec!["e".into()],
        };
        let bytes = encode_commit(std::slice::from_ref(&action));
        assert_eq!(
            bytes,
            vec![
                1, 1, 13, 7, b'r', b'/', b'1', b'-', b'2', b'/', b'3', 1, b'r', 1, 2, 1, b't', 3,
                1, 0, 1, 1, b'a', 1, b'b', 0, 1, 1, b'e'
            ]
        );
        assert_eq!(decode_commit(b"k", &bytes).unwrap(), vec![action]);
        assert!(decode_commit(b"k", &[2, 0]).is_err());
        assert!(decode_commit(b"k", &[1, 1, 99]).is_err());
        assert!(decode_commit(b"k", &[1, 0]).is_err(), "an empty commit row");
    }
}
