//! `RECORD.UPSERT system key json`: a source record through identity
//! resolution; replies with the outcome as JSON. The JSON is
//! `{"kind": "person"|"organization", "attrs": {…}}`.
use crate::json::attrs_from_json;
use crate::model::EntityKind;
use crate::resolve::{Outcome, ResolveConfig};
use crate::resp::Frame;
use crate::server::command::{json, json_reply, reply, resolve_error, text, Command, Context};
use serde_json::json as j;

pub(crate) struct RecordUpsert;

/// An outcome as JSON.
pub(crate) fn outcome_json(o: &Outcome) -> serde_json::Value {
    let num = |s: f64| {
        if s.is_finite() {
            j!(s)
        } else {
            serde_json::Value::Null
        }
    };
    match o {
        Outcome::Created { customer } => j!({"outcome": "created", "customer": customer.0}),
        Outcome::Linked { customer, score } => {
            j!({"outcome": "linked", "customer": customer.0, "score": num(*score)})
        }
        Outcome::Merged {
            survivor,
            merged,
            score,
        } => {
            j!({"outcome": "merged", "customer": survivor.0, "merged": merged.iter().map(|m| m.0).collect::<Vec<_>>(), "score": num(*score)})
        }
        Outcome::Possible {
            customer,
            possibly,
            score,
        } => {
            j!({"outcome": "possible", "customer": customer.0, "possibly_same": possibly.0, "score": num(*score)})
        }
        Outcome::Unchanged { customer } => j!({"outcome": "unchanged", "customer": customer.0}),
        Outcome::Updated {
            customer,
            split_off,
            placed,
        } => {
            j!({"outcome": "updated", "customer": customer.0, "split_off": split_off.iter().map(|m| m.0).collect::<Vec<_>>(), "placed": outcome_json(placed)})
        }
    }
}

impl Command for RecordUpsert {
    fn name(&self) -> &'static str {
        "RECORD.UPSERT"
    }
    fn arity(&self) -> i32 {
        4
    }
    fn summary(&self) -> &'static str {
        "RECORD.UPSERT system key {\"kind\":\"person\",\"attrs\":{…}}: resolve a source record; the outcome (JSON)"
    }
    fn writes(&self) -> bool {
        true
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        reply((|| {
            let (system, key) = (text(args, 1, "system")?, text(args, 2, "key")?);
            let doc = json(args, 3)?;
            let kind = match doc.get("kind").and_then(|k| k.as_str()).unwrap_or("person") {
                "person" => EntityKind::PERSON,
                "organization" => EntityKind::ORGANIZATION,
                other => {
                    return Err(Frame::error(
                        "INVALID",
                        format!("kind must be person or organization, not {other:?}"),
                    ))
                }
            };
            let attrs = match doc.get("attrs") {
                Some(a) => attrs_from_json(a).map_err(|e| Frame::error("INVALID", e))?,
                None => Default::default(),
            };
            let o = cx
                .db
                .upsert_record(system, key, kind, attrs, &ResolveConfig::default())
                .map_err(|e| resolve_error(&e))?;
            Ok(json_reply(&outcome_json(&o)))
        })())
    }
}
