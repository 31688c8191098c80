//! The JSON form of entities and relationships, shared by the `kith`
//! command's `--json` output, the wire protocol's replies and the Rust
//! client, which reads it back into the same typed results as the embedded
//! API.
//!
//! ```json
//! {"id": 7, "kind": "person", "kind_code": 1,
//!  "attrs": {"given_name": "Ann", "birth_date": {"$date": "1980-02-01"}},
//!  "identifiers": [{"system": "crm", "key": "C-1"}],
//!  "created": "2026-01-01T00:00:00Z", "updated": "2026-01-01T00:00:00Z"}
//! ```
//!
//! Attribute values follow [`Value::to_json`]: decimals, dates and timestamps
//! are tagged so that they keep their type.

use crate::model::{
    Attrs, Date, Direction, EdgeProps, EntityId, EntityKind, EntityRecord, ExternalId, Neighbour,
    RelKind, Timestamp, Value,
};
use crate::Entity;
use serde_json::{json, Map, Value as J};

/// Attributes as a JSON object.
pub fn attrs_to_json(attrs: &Attrs) -> J {
    J::Object(
        attrs
            .iter()
            .map(|(k, v)| (k.clone(), v.to_json()))
            .collect(),
    )
}

/// Attributes from a JSON object.
pub fn attrs_from_json(j: &J) -> Result<Attrs, String> {
    let obj = j.as_object().ok_or("attributes must be a JSON object")?;
    obj.iter()
        .map(|(k, v)| {
            Value::from_json(v)
                .map(|v| (k.clone(), v))
                .map_err(|e| format!("attribute {k:?}: {e}"))
        })
        .collect()
}

/// An entity as JSON; `kind_name` is its kind's registered name. The one
/// definition of the form is `fast::EntityJson`'s `Serialize`: this tree,
/// [`entity_json_bytes`] and the wire's one-pass writer ([`entity_json`],
/// tested byte for byte against it) all give it.
pub fn entity_to_json(e: &Entity, kind_name: &str) -> J {
    serde_json::to_value(fast::EntityJson { e, kind: kind_name })
        .expect("an entity always has a JSON form")
}

fn field<'a>(j: &'a J, name: &str) -> Result<&'a J, String> {
    j.get(name).ok_or_else(|| format!("missing field {name:?}"))
}

fn u64_field(j: &J, name: &str) -> Result<u64, String> {
    field(j, name)?
        .as_u64()
        .ok_or_else(|| format!("field {name:?} must be a non-negative integer"))
}

fn str_field<'a>(j: &'a J, name: &str) -> Result<&'a str, String> {
    field(j, name)?
        .as_str()
        .ok_or_else(|| format!("field {name:?} must be a string"))
}

fn code_field(j: &J, name: &str) -> Result<u16, String> {
    u16::try_from(u64_field(j, name)?).map_err(|_| format!("field {name:?} out of range"))
}

/// An entity from the JSON of [`entity_to_json`].
pub fn entity_from_json(j: &J) -> Result<Entity, String> {
    let ts = |name| Timestamp::parse(str_field(j, name)?).map_err(|e| e.to_string());
    let identifiers = field(j, "identifiers")?
        .as_array()
        .ok_or("identifiers must be an array")?
        .iter()
        .map(|x| {
            Ok(ExternalId::new(
                str_field(x, "system")?,
                str_field(x, "key")?,
            ))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let mut identifiers = identifiers;
    identifiers.sort();
    identifiers.dedup();
    Ok(Entity::from_record(&EntityRecord {
        id: EntityId(u64_field(j, "id")?),
        kind: EntityKind(code_field(j, "kind_code")?),
        attrs: attrs_from_json(field(j, "attrs")?)?,
        identifiers,
        created: ts("created")?,
        updated: ts("updated")?,
    }))
}

/// Relationship properties as JSON: `{"attrs": {…}, "since": …, "until": …}`.
pub fn edge_props_to_json(p: &EdgeProps) -> J {
    json!({
        "attrs": attrs_to_json(&p.attrs),
        "since": p.since.map(|d| d.to_string()),
        "until": p.until.map(|d| d.to_string()),
    })
}

/// Relationship properties from JSON; every field is optional.
pub fn edge_props_from_json(j: &J) -> Result<EdgeProps, String> {
    if !j.is_object() {
        return Err("relationship properties must be a JSON object".into());
    }
    let date = |name: &str| -> Result<Option<Date>, String> {
        match j.get(name) {
            None | Some(J::Null) => Ok(None),
            Some(J::String(s)) => Date::parse(s).map(Some).map_err(|e| e.to_string()),
            Some(_) => Err(format!("{name} must be a date string")),
        }
    };
    Ok(EdgeProps {
        attrs: match j.get("attrs") {
            None | Some(J::Null) => Attrs::new(),
            Some(a) => attrs_from_json(a)?,
        },
        since: date("since")?,
        until: date("until")?,
    })
}

/// A relationship seen from one end, as JSON; `kind_name` is its kind's name.
pub fn neighbour_to_json(n: &Neighbour, kind_name: &str) -> J {
    json!({
        "id": n.id.0,
        "kind": kind_name,
        "kind_code": n.kind.0,
        "direction": if n.direction == Direction::Out { "out" } else { "in" },
        "props": edge_props_to_json(&n.props),
    })
}

/// A relationship from the JSON of [`neighbour_to_json`].
pub fn neighbour_from_json(j: &J) -> Result<Neighbour, String> {
    Ok(Neighbour {
        id: EntityId(u64_field(j, "id")?),
        kind: RelKind(code_field(j, "kind_code")?),
        direction: match str_field(j, "direction")? {
            "out" => Direction::Out,
            "in" => Direction::In,
            other => return Err(format!("direction must be out or in, not {other:?}")),
        },
        props: edge_props_from_json(field(j, "props")?)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Decimal;

    #[test]
    fn entities_and_relationships_round_trip_with_types() {
        let mut attrs = Attrs::new();
        attrs.insert("t".into(), Value::Text("x".into()));
        attrs.insert("i".into(), Value::Int(-3));
        attrs.insert("d".into(), Value::Decimal(Decimal::parse("12.50").unwrap()));
        attrs.insert(
            "date".into(),
            Value::Date(Date::parse("2024-02-29").unwrap()),
        );
        attrs.insert(
            "ts".into(),
            Value::Timestamp(Timestamp::from_micros(1_500_000)),
        );
        attrs.insert("b".into(), Value::Bool(false));
        attrs.insert(
            "l".into(),
            Value::List(vec![Value::Int(1), Value::Text("a".into())]),
        );
        let e = Entity::from_record(&EntityRecord {
            id: EntityId(5),
            kind: EntityKind::PERSON,
            attrs: attrs.clone(),
            identifiers: vec![ExternalId::new("crm", "C-1")],
            created: Timestamp::from_micros(1),
            updated: Timestamp::from_micros(2),
        });
        let j = entity_to_json(&e, "person");
        let fast: serde_json::Value =
            serde_json::from_slice(&entity_json_bytes(&e, "person")).unwrap();
        assert_eq!(fast, j);
        // The wire's one-pass writer gives the same bytes.
        let db = crate::Db::temporary().unwrap();
        let mut new = crate::NewEntity::person().identifier("crm", "C-1");
        for (k, v) in &attrs {
            new = new.attr(k.clone(), v.clone());
        }
        let id = db.create(new).unwrap();
        let stored = db.get(id).unwrap().unwrap();
        assert_eq!(
            entity_json(&db, id).unwrap().unwrap(),
            entity_json_bytes(&stored, "person")
        );
        assert_eq!(j["attrs"]["d"], json!({"$decimal": "12.50"}));
        let back = entity_from_json(&j).unwrap();
        assert_eq!(back, e);
        assert_eq!(back.attrs(), attrs);

        let n = Neighbour {
            id: EntityId(9),
            kind: RelKind::GUARANTEES,
            direction: Direction::In,
            props: EdgeProps::new()
                .attr("amount", Decimal::parse("100").unwrap())
                .valid(Date::parse("2020-01-01").ok(), None),
        };
        assert_eq!(
            neighbour_from_json(&neighbour_to_json(&n, "GUARANTEES")).unwrap(),
            n
        );
        assert!(entity_from_json(&json!({"id": 1})).is_err());
        assert!(attrs_from_json(&json!({"x": null})).is_err());
        assert!(attrs_from_json(&json!({"x": {"$date": "2024-13-01"}})).is_err());
        assert_eq!(
            attrs_from_json(&json!({"x": 1.25})).unwrap()["x"],
            Value::Decimal(Decimal::parse("1.25").unwrap())
        );
    }
}

/// The JSON of [`entity_to_json`], written straight from the stored bytes
/// without building a JSON tree (the wire protocol's hot path).
pub fn entity_json_bytes(e: &Entity, kind_name: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    serde_json::to_writer(&mut out, &fast::EntityJson { e, kind: kind_name })
        .expect("writing JSON into a Vec cannot fail");
    out
}

/// The entity with `id` as JSON (the form of [`entity_to_json`]), written in
/// one pass over its stored bytes, which are validated on the way
/// ([`crate::Db::visit`]): the wire protocol's `ENTITY.GET`.
pub fn entity_json(db: &crate::Db, id: EntityId) -> Result<Option<Vec<u8>>, crate::ReadError> {
    let mut out = Vec::with_capacity(512);
    let name = |code: u16| {
        db.entity_kind_name(EntityKind(code))
            .unwrap_or_else(|| EntityKind(code).to_string())
    };
    let mut sink = JsonSink::new(&mut out, id.0, name);
    if !db.visit(id, &mut sink)? {
        return Ok(None);
    }
    sink.finish();
    Ok(Some(out))
}

/// Writes the JSON of [`entity_to_json`] while walking the stored bytes once
/// (validating them on the way): the wire protocol's `ENTITY.GET`.
pub(crate) struct JsonSink<'o, F: Fn(u16) -> String> {
    pub(crate) out: &'o mut Vec<u8>,
    pub(crate) id: u64,
    pub(crate) kind_name: F,
    times: (i64, i64),
    attrs: usize,
    ids: Option<usize>,
}

impl<'o, F: Fn(u16) -> String> JsonSink<'o, F> {
    pub(crate) fn new(out: &'o mut Vec<u8>, id: u64, kind_name: F) -> Self {
        JsonSink {
            out,
            id,
            kind_name,
            times: (0, 0),
            attrs: 0,
            ids: None,
        }
    }

    fn string(&mut self, s: &str) {
        serde_json::to_writer(&mut *self.out, s).expect("writing JSON into a Vec cannot fail");
    }

    /// Closes the document after a successful walk.
    pub(crate) fn finish(self) {
        if self.ids.is_none() {
            self.out.extend_from_slice(b"},\"identifiers\":[");
        }
        let (c, u) = self.times;
        self.out.extend_from_slice(b"],\"created\":\"");
        self.out
            .extend_from_slice(Timestamp::from_micros(c).to_string().as_bytes());
        self.out.extend_from_slice(b"\",\"updated\":\"");
        self.out
            .extend_from_slice(Timestamp::from_micros(u).to_string().as_bytes());
        self.out.extend_from_slice(b"\"}");
    }
}

impl<'a, F: Fn(u16) -> String> crate::model::EntityVisitor<'a> for JsonSink<'_, F> {
    fn header(&mut self, kind: EntityKind, created: Timestamp, updated: Timestamp) {
        let kind = kind.0;
        self.times = (created.as_micros(), updated.as_micros());
        self.out.extend_from_slice(b"{\"id\":");
        self.out.extend_from_slice(self.id.to_string().as_bytes());
        self.out.extend_from_slice(b",\"kind\":");
        let name = (self.kind_name)(kind);
        self.string(&name);
        self.out.extend_from_slice(b",\"kind_code\":");
        self.out.extend_from_slice(kind.to_string().as_bytes());
        self.out.extend_from_slice(b",\"attrs\":{");
    }

    fn attr(&mut self, name: &'a str, value: crate::model::ValueRef<'a>) {
        if self.attrs > 0 {
            self.out.push(b',');
        }
        self.attrs += 1;
        self.string(name);
        self.out.push(b':');
        serde::Serialize::serialize(
            &fast::V(&value),
            &mut serde_json::Serializer::new(&mut *self.out),
        )
        .expect("writing JSON into a Vec cannot fail");
    }

    fn identifier(&mut self, system: &'a str, key: &'a str) {
        match self.ids {
            None => {
                self.out.extend_from_slice(b"},\"identifiers\":[");
                self.ids = Some(1);
            }
            Some(ref mut n) => {
                *n += 1;
                self.out.push(b',');
            }
        }
        self.out.extend_from_slice(b"{\"system\":");
        self.string(system);
        self.out.extend_from_slice(b",\"key\":");
        self.string(key);
        self.out.push(b'}');
    }
}

mod fast {
    //! `Serialize` views over borrowed entity data.
    use crate::model::ValueRef;
    use crate::Entity;
    use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

    pub(super) struct EntityJson<'a> {
        pub(super) e: &'a Entity,
        pub(super) kind: &'a str,
    }

    struct Tagged<'a>(&'static str, String, std::marker::PhantomData<&'a ()>);

    impl Serialize for Tagged<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut m = s.serialize_map(Some(1))?;
            m.serialize_entry(self.0, &self.1)?;
            m.end()
        }
    }

    pub(super) struct V<'a, 'b>(pub(super) &'b ValueRef<'a>);

    impl Serialize for V<'_, '_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let tag = |t, text| Tagged(t, text, std::marker::PhantomData);
            match self.0 {
                ValueRef::Text(t) => s.serialize_str(t),
                ValueRef::Int(i) => s.serialize_i64(*i),
                ValueRef::Decimal(d) => tag("$decimal", d.to_string()).serialize(s),
                ValueRef::Date(d) => tag("$date", d.to_string()).serialize(s),
                ValueRef::Timestamp(t) => tag("$timestamp", t.to_string()).serialize(s),
                ValueRef::Bool(b) => s.serialize_bool(*b),
                ValueRef::List(items) => {
                    let mut seq = s.serialize_seq(Some(items.len()))?;
                    for v in items {
                        seq.serialize_element(&V(v))?;
                    }
                    seq.end()
                }
            }
        }
    }

    struct Attrs<'a>(Vec<(&'a str, ValueRef<'a>)>);

    impl Serialize for Attrs<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut m = s.serialize_map(Some(self.0.len()))?;
            for (k, v) in &self.0 {
                m.serialize_entry(k, &V(v))?;
            }
            m.end()
        }
    }

    struct Ids<'a>(Vec<(&'a str, &'a str)>);

    struct Id<'a>(&'a str, &'a str);

    impl Serialize for Id<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut m = s.serialize_map(Some(2))?;
            m.serialize_entry("system", self.0)?;
            m.serialize_entry("key", self.1)?;
            m.end()
        }
    }

    impl Serialize for Ids<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut seq = s.serialize_seq(Some(self.0.len()))?;
            for (system, key) in &self.0 {
                seq.serialize_element(&Id(system, key))?;
            }
            seq.end()
        }
    }

    impl Serialize for EntityJson<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut m = s.serialize_map(Some(7))?;
            m.serialize_entry("id", &self.e.id.0)?;
            m.serialize_entry("kind", self.kind)?;
            m.serialize_entry("kind_code", &self.e.kind.code())?;
            let parts = self.e.parts();
            m.serialize_entry("attrs", &Attrs(parts.attrs))?;
            m.serialize_entry("identifiers", &Ids(parts.identifiers))?;
            m.serialize_entry("created", &self.e.created.to_string())?;
            m.serialize_entry("updated", &self.e.updated.to_string())?;
            m.end()
        }
    }
}

/// JSON of the domain queries, shared by the command line and the wire protocol.
pub mod queries {
    use crate::traverse::{CorporateGroup, GuarantorNetwork, HouseholdView, SharedIdentifier};
    use crate::{Db, Entity};
    use serde_json::{json, Value as J};

    fn entity(db: &Db, e: &Entity) -> J {
        let kind = db
            .entity_kind_name(e.kind)
            .unwrap_or_else(|| e.kind.to_string());
        super::entity_to_json(e, &kind)
    }

    /// `[{"household": {…}, "members": [{"person": {…}, "role", "props", "accounts": [{"account": {…}, "role", "props"}]}], "totals": {"mortgage": {"$decimal": …}}}]`;
    /// `props` are the membership's and the holding's relationship
    /// properties (`{"attrs", "since", "until"}`).
    pub fn household(db: &Db, views: &[HouseholdView]) -> J {
        J::Array(
            views
                .iter()
                .map(|v| {
                    json!({
                        "household": entity(db, &v.household),
                        "members": v.members.iter().map(|m| json!({
                            "person": entity(db, &m.person),
                            "role": m.role,
                            "props": super::edge_props_to_json(&m.props),
                            "accounts": m.accounts.iter().map(|a| json!({
                                "account": entity(db, &a.account),
                                "role": a.role,
                                "props": super::edge_props_to_json(&a.props),
                            })).collect::<Vec<_>>(),
                        })).collect::<Vec<_>>(),
                        "totals": v.totals.iter().map(|(k, d)| (k.clone(), crate::Value::Decimal(*d).to_json())).collect::<serde_json::Map<_, _>>(),
                    })
                })
                .collect(),
        )
    }

    /// `{"customer", "guarantees": [{"id","kind","depth","chain","props"}], "guaranteed_by": […], "exposed_accounts", "total_exposure", "truncated"}`
    pub fn guarantors(db: &Db, n: &GuarantorNetwork) -> J {
        let links = |v: &[crate::traverse::GuarantorLink]| -> J {
            J::Array(
                v.iter()
                    .map(|l| {
                        json!({
                            "id": l.id.0,
                            "kind": db.entity_kind_name(l.kind).unwrap_or_default(),
                            "depth": l.depth,
                            "chain": l.chain.iter().map(|c| c.0).collect::<Vec<_>>(),
                            "props": l.props.iter().map(super::edge_props_to_json).collect::<Vec<_>>(),
                        })
                    })
                    .collect(),
            )
        };
        json!({
            "customer": n.customer.0,
            "guarantees": links(&n.guarantees),
            "guaranteed_by": links(&n.guaranteed_by),
            "exposed_accounts": n.exposed_accounts.iter().map(|a| a.0).collect::<Vec<_>>(),
            "total_exposure": crate::Value::Decimal(n.total_exposure).to_json(),
            "truncated": n.truncated,
        })
    }

    /// `{"organization", "owners": [{"id","kind","direct_share","effective_share","chain","chain_props"}], "truncated", "truncation"}`;
    /// `chain_props[i]` is the holding of `chain[i]` in `chain[i + 1]`.
    pub fn owners(db: &Db, o: &crate::traverse::Owners) -> J {
        let dec = |d: crate::Decimal| crate::Value::Decimal(d).to_json();
        json!({
            "organization": o.organization.0,
            "owners": o.owners.iter().map(|w| json!({
                "id": w.id.0,
                "kind": db.entity_kind_name(w.kind).unwrap_or_else(|| w.kind.to_string()),
                "direct_share": w.direct_share.map(dec),
                "effective_share": dec(w.effective_share),
                "chain": w.chain.iter().map(|c| c.0).collect::<Vec<_>>(),
                "chain_props": w.chain_props.iter().map(|p| super::edge_props_to_json(p)).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "truncated": o.truncated,
            "truncation": o.truncation,
        })
    }

    /// `{"organization", "parents", "ultimate_parent", "members": [{"id","depth","effective_share","owned_by": [{"parent","props"}]}], "consolidated_exposure", "truncated", "truncation": why or null}`
    pub fn group(g: &CorporateGroup) -> J {
        json!({
            "organization": g.organization.0,
            "parents": g.parents.iter().map(|p| p.0).collect::<Vec<_>>(),
            "ultimate_parent": g.ultimate_parent.0,
            "members": g.members.iter().map(|m| json!({
                "id": m.id.0,
                "depth": m.depth,
                "effective_share": crate::Value::Decimal(m.effective_share).to_json(),
                "owned_by": m.owned_by.iter().map(|(p, props)| json!({
                    "parent": p.0,
                    "props": super::edge_props_to_json(props),
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "consolidated_exposure": crate::Value::Decimal(g.consolidated_exposure).to_json(),
            "truncated": g.truncated,
            "truncation": g.truncation,
        })
    }

    /// `[{"id", "shared": "phone"|"email"|"address", "value"}]`
    pub fn shared(s: &[SharedIdentifier]) -> J {
        J::Array(
            s.iter()
                .map(|x| json!({"id": x.id.0, "shared": x.what, "value": x.value}))
                .collect(),
        )
    }

    /// `{"paths": [{"nodes": [id, …], "hops": [{"from", "to", "kind", "direction", "props"}]}, …], "truncated"}`;
    /// `direction` is `out` when the relationship points from `from` to `to`;
    /// `truncated` when more shortest paths exist than were asked for.
    pub fn paths(db: &Db, found: &crate::traverse::Paths) -> J {
        let paths = J::Array(
            found
                .paths
                .iter()
                .map(|path| {
                    json!({
                        "nodes": path.nodes.iter().map(|i| i.0).collect::<Vec<_>>(),
                        "hops": path.hops.iter().map(|h| json!({
                            "from": h.from.0,
                            "to": h.to.0,
                            "kind": db.relationship_kind_name(h.kind).unwrap_or_else(|| h.kind.to_string()),
                            "direction": if h.direction == crate::Direction::Out { "out" } else { "in" },
                            "props": super::edge_props_to_json(&h.props),
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect(),
        );
        json!({"paths": paths, "truncated": found.truncated})
    }
}

/// JSON of a customer context, shared by `kith context --json` and `CONTEXT`.
pub fn context_to_json(db: &crate::Db, c: &crate::CustomerContext) -> J {
    let ent = |e: &Entity| {
        let kind = db
            .entity_kind_name(e.kind)
            .unwrap_or_else(|| e.kind.to_string());
        entity_to_json(e, &kind)
    };
    let dec = |d: &crate::Decimal| Value::Decimal(*d).to_json();
    json!({
        "customer": ent(&c.customer),
        "profile": c.profile.iter().map(|p| json!({
            "name": p.name,
            "value": p.value.to_json(),
            "source": p.source.as_ref().map(|s| json!({"system": s.system, "key": s.key})),
        })).collect::<Vec<_>>(),
        "identifiers": c.identifiers.iter().map(|x| json!({"system": x.system, "key": x.key})).collect::<Vec<_>>(),
        "accounts": c.accounts.iter().map(|a| json!({"account": ent(&a.account), "role": a.role})).collect::<Vec<_>>(),
        "households": c.households.iter().map(|h| json!({
            "household": ent(&h.household),
            "role": h.role,
            "members": h.members.iter().map(|(m, r)| json!({"person": ent(m), "role": r})).collect::<Vec<_>>(),
            "totals": h.totals.iter().map(|(k, d)| (k.clone(), dec(d))).collect::<Map<_, _>>(),
        })).collect::<Vec<_>>(),
        "relationships": c.relationships.iter().map(|r| json!({
            "kind": db.relationship_kind_name(r.kind).unwrap_or_else(|| r.kind.to_string()),
            "direction": if r.direction == Direction::Out { "out" } else { "in" },
            "other": ent(&r.other),
            "props": edge_props_to_json(&r.props),
        })).collect::<Vec<_>>(),
        "recent_interactions": c.recent_interactions.iter().map(ent).collect::<Vec<_>>(),
        "open_items": c.open_items.iter().map(|o| json!({"what": o.what, "entity": ent(&o.entity)})).collect::<Vec<_>>(),
        "figures": {
            "balances_by_product": c.figures.balances_by_product.iter().map(|(k, d)| (k.clone(), dec(d))).collect::<Map<_, _>>(),
            "deposits": dec(&c.figures.deposits),
            "credit": dec(&c.figures.credit),
            "open_products": c.figures.open_products,
            "tenure_days": c.figures.tenure_days,
            "tier": c.figures.tier,
        },
    })
}

/// Field comparisons as JSON: `[{"field", "agreement", "weight"}]`.
pub fn field_scores_to_json(scores: &[crate::resolve::compare::FieldScore]) -> J {
    J::Array(
        scores
            .iter()
            .map(|s| {
                json!({
                    "field": s.field,
                    "agreement": format!("{:?}", s.agreement).to_lowercase(),
                    "weight": if s.weight.is_finite() { json!(s.weight) } else { J::Null },
                })
            })
            .collect(),
    )
}

/// Why a record belongs to its customer, as JSON.
pub fn explanation_to_json(x: &crate::resolve::Explanation) -> J {
    json!({
        "record": x.record.0,
        "customer": x.customer.map(|c| c.0),
        "comparisons": x.comparisons.iter().map(|(other, scores, total)| json!({
            "record": other.to_string(),
            "fields": field_scores_to_json(scores),
            "total": total,
        })).collect::<Vec<_>>(),
    })
}

/// A customer's lineage (survivorship), as JSON.
pub fn lineage_to_json(lineage: &[crate::resolve::Lineage]) -> J {
    J::Array(
        lineage
            .iter()
            .map(|l| {
                json!({
                    "attr": l.attr,
                    "value": l.value.to_json(),
                    "record": l.record.to_string(),
                    "at": l.at.to_string(),
                    "trust": l.trust,
                    "agreeing": l.agreeing,
                    "rule": l.rule,
                })
            })
            .collect(),
    )
}

/// The fields of one change, in order: `type`, `commit`, then what the
/// change names. Ids and counts are JSON numbers, names are strings,
/// attributes and properties are objects in the form above. The wire's
/// stream entries and `kith changes --json` both use it.
pub fn change_fields(e: &crate::ChangeEntry) -> Vec<(&'static str, J)> {
    let mut out = vec![
        ("type", json!(e.change.type_name())),
        ("commit", json!(e.commit)),
    ];
    data_fields(&e.change, &mut out);
    out
}

/// The fields of entity and relationship changes.
fn data_fields(c: &crate::Change, out: &mut Vec<(&'static str, J)>) {
    use crate::Change as C;
    let id = |i: &EntityId| json!(i.0);
    match c {
        C::EntityCreated { id: i, kind, attrs } | C::EntityDeleted { id: i, kind, attrs } => {
            out.extend([
                ("id", id(i)),
                ("kind", json!(kind)),
                ("attrs", attrs_to_json(attrs)),
            ]);
        }
        C::EntityUpdated {
            id: i,
            kind,
            changed,
        } => {
            let before: Map<String, J> = changed
                .iter()
                .map(|c| {
                    (
                        c.name.clone(),
                        c.before.as_ref().map_or(J::Null, Value::to_json),
                    )
                })
                .collect();
            let after: Map<String, J> = changed
                .iter()
                .map(|c| {
                    (
                        c.name.clone(),
                        c.after.as_ref().map_or(J::Null, Value::to_json),
                    )
                })
                .collect();
            out.extend([
                ("id", id(i)),
                ("kind", json!(kind)),
                ("before", J::Object(before)),
                ("after", J::Object(after)),
            ]);
        }
        C::RelationshipAdded {
            from,
            kind,
            to,
            props,
            before,
        } => {
            out.extend([
                ("from", id(from)),
                ("rel", json!(kind)),
                ("to", id(to)),
                ("props", edge_props_to_json(props)),
            ]);
            if let Some(b) = before {
                out.push(("before", edge_props_to_json(b)));
            }
        }
        C::RelationshipRemoved { from, kind, to } => {
            out.extend([("from", id(from)), ("rel", json!(kind)), ("to", id(to))]);
        }
        _ => resolution_fields(c, out),
    }
}

/// The fields of identifier, record and customer changes, and of commits.
fn resolution_fields(c: &crate::Change, out: &mut Vec<(&'static str, J)>) {
    use crate::Change as C;
    let id = |i: &EntityId| json!(i.0);
    let ids = |v: &[EntityId]| J::Array(v.iter().map(|i| json!(i.0)).collect());
    match c {
        C::IdentifierAdded {
            system,
            key,
            entity,
        }
        | C::IdentifierRemoved {
            system,
            key,
            entity,
        } => {
            out.extend([
                ("system", json!(system)),
                ("key", json!(key)),
                ("entity", id(entity)),
            ]);
        }
        C::IdentifierMoved {
            system,
            key,
            from,
            to,
        } => {
            out.extend([
                ("system", json!(system)),
                ("key", json!(key)),
                ("from", id(from)),
                ("to", id(to)),
            ]);
        }
        C::RecordLinked { record, customer } | C::RecordUnlinked { record, customer } => {
            out.extend([("record", id(record)), ("customer", id(customer))]);
        }
        C::CustomersMerged { survivor, absorbed } => {
            out.extend([("survivor", id(survivor)), ("absorbed", id(absorbed))]);
        }
        C::CustomerSplit {
            customer,
            split_off,
        } => {
            out.extend([("customer", id(customer)), ("split_off", ids(split_off))]);
        }
        C::Committed { customers, changes } => {
            out.extend([("customers", ids(customers)), ("changes", json!(changes))]);
        }
        C::ActionRaised {
            action,
            rule,
            cause,
            trigger,
            customer,
            priority,
            depth,
            why,
            fields,
            effects,
        } => {
            let pairs = |v: &[(String, String)]| {
                J::Object(v.iter().map(|(k, v)| (k.clone(), json!(v))).collect())
            };
            out.extend([
                ("action", json!(action)),
                ("rule", json!(rule)),
                ("cause", json!(cause.to_string())),
                ("trigger", json!(trigger)),
                ("customer", id(customer)),
                ("priority", json!(priority)),
                ("depth", json!(depth)),
                ("why", pairs(why)),
                ("fields", pairs(fields)),
                ("effects", json!(effects)),
            ]);
        }
        _ => {}
    }
}

/// One change as a JSON object: `{"id": "<ms>-<seq>", "type": …, …}`.
pub fn change_to_json(e: &crate::ChangeEntry) -> J {
    let mut m = Map::new();
    m.insert("id".into(), json!(e.id.to_string()));
    for (k, v) in change_fields(e) {
        m.insert(k.into(), v);
    }
    J::Object(m)
}
