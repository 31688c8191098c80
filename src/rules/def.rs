//! Rules as data: the TOML form of a rules file and of one rule, checked
//! whole (every error of every rule, each with the rule's name and where)
//! and compiled into [`Rule`]s.

use super::lang::{self, Condition, Schema};
use super::{RuleError, RulesError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// The triggers a rule can name, and what each matches in the change log.
pub const TRIGGERS: &[(&str, &str)] = &[
    (
        "interaction.added",
        "an interaction was recorded for the customer",
    ),
    (
        "account.balance_changed",
        "the balance of an account the customer owns changed",
    ),
    ("party.updated", "the customer's own attributes changed"),
    (
        "record.linked",
        "a source record was linked to the customer",
    ),
    (
        "customers.merged",
        "another customer was merged into the customer",
    ),
    (
        "customer.changed",
        "anything in the customer's context changed (any commit touching it)",
    ),
];

/// The action types a rule can take besides its entry on `kith:actions`.
pub const ACTION_TYPES: &[&str] = &["set", "clear", "tag", "untag", "task", "alert"];

/// A rules file: rules, and the extra attribute names they may read.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDef {
    #[serde(default)]
    attributes: Vec<String>,
    #[serde(default)]
    rule: Vec<toml::Spanned<RuleDef>>,
}

/// One rule as written (in a rules file's `[[rule]]`, or alone in `RULE.SET`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleDef {
    #[serde(default)]
    pub(crate) name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) description: String,
    pub(crate) on: Vec<String>,
    pub(crate) when: String,
    #[serde(default)]
    pub(crate) priority: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cooldown: Option<String>,
    #[serde(default)]
    pub(crate) stop: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) message: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) fields: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) attributes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) max_depth: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) actions: Vec<ActionDef>,
}

/// One action of a rule, as written.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ActionDef {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) attribute: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) value: Option<toml::Value>,
    /// For `set`: a timestamp this far after the firing (`7d`).
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "in")]
    pub(crate) after: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) due: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) assignee: Option<String>,
}

/// What an action does, checked.
#[derive(Clone, Debug)]
pub(crate) enum Effect {
    /// Set an attribute of the customer.
    Set {
        attribute: String,
        value: crate::Value,
    },
    /// Set an attribute to the firing time plus a duration.
    SetAfter { attribute: String, after: Duration },
    /// Remove an attribute of the customer.
    Clear { attribute: String },
    /// Add (`on`) or remove a tag in the customer's `tags` list.
    Tag { tag: String, on: bool },
    /// Create an open interaction (`task` or `alert`) for the customer.
    Item {
        kind: &'static str,
        summary: String,
        due: Option<Duration>,
        assignee: Vec<(String, crate::Direction)>,
    },
}

/// A rule, checked and compiled: ready to run.
pub struct Rule {
    pub(crate) def: RuleDef,
    pub(crate) condition: Condition,
    pub(crate) triggers: Vec<String>,
    pub(crate) cooldown: Option<Duration>,
    pub(crate) effects: Vec<Effect>,
    pub(crate) text: String,
    pub(crate) stats: super::Counters,
}

impl Rule {
    /// Its name.
    pub fn name(&self) -> &str {
        &self.def.name
    }

    /// Its priority (higher runs first).
    pub fn priority(&self) -> i64 {
        self.def.priority
    }

    /// Its triggers.
    pub fn triggers(&self) -> &[String] {
        &self.triggers
    }

    /// Its condition, as written.
    pub fn condition(&self) -> &str {
        &self.def.when
    }

    /// Its stored form: the rule's TOML table.
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rule")
            .field("name", &self.def.name)
            .finish()
    }
}

/// Parses a rules file (`[[rule]]` tables and an optional `attributes`
/// list); every error of every rule is reported, or none is accepted.
pub(crate) fn parse_file(
    text: &str,
    known_kinds: &dyn Fn(&str) -> bool,
) -> Result<Vec<Rule>, RulesError> {
    let file: FileDef = toml::from_str(text).map_err(|e| {
        RulesError::Invalid(vec![RuleError {
            rule: String::new(),
            line: e.span().map(|s| lang::line_col(text, s.start).0),
            message: e.message().to_string(),
        }])
    })?;
    let mut errors = Vec::new();
    let mut rules = Vec::new();
    let mut seen = BTreeSet::new();
    for spanned in file.rule {
        let line = lang::line_col(text, spanned.span().start).0;
        let mut def = spanned.into_inner();
        def.attributes.extend(file.attributes.iter().cloned());
        def.attributes.sort();
        def.attributes.dedup();
        if !def.name.is_empty() && !seen.insert(def.name.clone()) {
            errors.push(RuleError {
                rule: def.name.clone(),
                line: Some(line),
                message: "a second rule of this name".into(),
            });
            continue;
        }
        match compile(def, known_kinds) {
            Ok(r) => rules.push(r),
            Err(es) => errors.extend(es.into_iter().map(|mut e| {
                e.line = Some(line + e.line.unwrap_or(1) - 1);
                e
            })),
        }
    }
    if errors.is_empty() {
        Ok(rules)
    } else {
        Err(RulesError::Invalid(errors))
    }
}

/// Parses one rule's TOML table (its stored form, or `RULE.SET`'s body),
/// naming it `name` when the table names none.
pub(crate) fn parse_one(
    name: &str,
    text: &str,
    known_kinds: &dyn Fn(&str) -> bool,
) -> Result<Rule, RulesError> {
    let mut def: RuleDef = toml::from_str(text).map_err(|e| {
        RulesError::Invalid(vec![RuleError {
            rule: name.to_string(),
            line: e.span().map(|s| lang::line_col(text, s.start).0),
            message: e.message().to_string(),
        }])
    })?;
    if def.name.is_empty() {
        def.name = name.to_string();
    } else if def.name != name {
        return Err(RulesError::Invalid(vec![RuleError {
            rule: name.to_string(),
            line: None,
            message: format!("the rule's text names it {:?}", def.name),
        }]));
    }
    compile(def, known_kinds).map_err(RulesError::Invalid)
}

/// Checks and compiles one rule; every error in it.
fn compile(def: RuleDef, known_kinds: &dyn Fn(&str) -> bool) -> Result<Rule, Vec<RuleError>> {
    let mut errors = Vec::new();
    let name = def.name.clone();
    let mut err = |message: String| {
        errors.push(RuleError {
            rule: name.clone(),
            line: None,
            message,
        })
    };
    if def.name.is_empty() || def.name.len() > 200 || def.name.chars().any(char::is_whitespace) {
        err("a rule needs a name of 1 to 200 characters without spaces".into());
    }
    let trigger_names: Vec<&str> = TRIGGERS.iter().map(|(t, _)| *t).collect();
    if def.on.is_empty() {
        err(format!(
            "`on` names no trigger; one of {}",
            trigger_names.join(", ")
        ));
    }
    for t in &def.on {
        if !trigger_names.contains(&t.as_str()) {
            err(format!(
                "unknown trigger {t:?}{}",
                crate::error::did_you_mean(t, &trigger_names)
            ));
        }
    }
    let cooldown = match def.cooldown.as_deref().map(parse_duration) {
        Some(Err(e)) => {
            err(format!("cooldown: {e}"));
            None
        }
        Some(Ok(d)) => Some(d),
        None => None,
    };
    let mut effects = Vec::new();
    for (i, a) in def.actions.iter().enumerate() {
        match effect(a, known_kinds) {
            Ok(e) => effects.push(e),
            Err(e) => err(format!("action {}: {e}", i + 1)),
        }
    }
    let attributes: BTreeSet<String> = def.attributes.iter().cloned().collect();
    if def.when.len() > MAX_CONDITION {
        // The parser and the interpreter recurse: a bounded text keeps a
        // hostile condition from exhausting a thread's stack.
        err(format!(
            "the condition is {} bytes; at most {MAX_CONDITION}",
            def.when.len()
        ));
        return Err(errors);
    }
    let condition = match lang::compile(
        &def.when,
        &Schema {
            attributes: &attributes,
        },
    ) {
        Ok(c) => Some(c),
        Err(es) => {
            for e in es {
                let at =
                    e.at.map(|(l, c)| format!(" (condition line {l}, column {c})"))
                        .unwrap_or_default();
                err(format!("when: {}{at}", e.message));
            }
            None
        }
    };
    match condition {
        Some(condition) if errors.is_empty() => {
            let text = toml::to_string(&def).expect("a rule serializes");
            Ok(Rule {
                triggers: def.on.clone(),
                def,
                condition,
                cooldown,
                effects,
                text,
                stats: Default::default(),
            })
        }
        _ => Err(errors),
    }
}

/// Checks one action.
fn effect(a: &ActionDef, known_kinds: &dyn Fn(&str) -> bool) -> Result<Effect, String> {
    let attribute = || -> Result<String, String> {
        match &a.attribute {
            Some(n) if !n.trim().is_empty() && !RESERVED.contains(&n.as_str()) => Ok(n.clone()),
            Some(n) => Err(format!("attribute {n:?} cannot be written by a rule")),
            None => Err(format!("`{}` needs `attribute`", a.kind)),
        }
    };
    match a.kind.as_str() {
        "set" => match (&a.value, &a.after) {
            (Some(v), None) => Ok(Effect::Set {
                attribute: attribute()?,
                value: toml_value(v)?,
            }),
            (None, Some(d)) => Ok(Effect::SetAfter {
                attribute: attribute()?,
                after: parse_duration(d)?,
            }),
            _ => Err("`set` needs exactly one of `value` and `in`".into()),
        },
        "clear" => Ok(Effect::Clear {
            attribute: attribute()?,
        }),
        kind @ ("tag" | "untag") => match &a.value {
            Some(toml::Value::String(t)) if !t.trim().is_empty() => Ok(Effect::Tag {
                tag: t.clone(),
                on: kind == "tag",
            }),
            _ => Err(format!("`{kind}` needs a text `value`: the tag")),
        },
        kind @ ("task" | "alert") => {
            let summary = a
                .summary
                .clone()
                .ok_or_else(|| format!("`{kind}` needs `summary`"))?;
            let due = a.due.as_deref().map(parse_duration).transpose()?;
            let assignee = match &a.assignee {
                Some(chain) => parse_chain(chain, known_kinds)?,
                None => Vec::new(),
            };
            Ok(Effect::Item {
                kind: if kind == "task" { "task" } else { "alert" },
                summary,
                due,
                assignee,
            })
        }
        other => Err(format!(
            "unknown action type {other:?}{}; one of {}",
            crate::error::did_you_mean(other, ACTION_TYPES),
            ACTION_TYPES.join(", ")
        )),
    }
}

/// The longest condition accepted, in bytes.
pub const MAX_CONDITION: usize = 4096;

/// Attributes kith itself keeps, which rules may not write.
const RESERVED: &[&str] = &[
    crate::model::attrs::MERGED_INTO,
    crate::model::attrs::BLOCKING_KEYS,
    crate::model::attrs::SURVIVED,
];

/// `KIND[:out|in] > KIND[:out|in] …`: the hops from the customer to the assignee.
fn parse_chain(
    text: &str,
    known_kinds: &dyn Fn(&str) -> bool,
) -> Result<Vec<(String, crate::Direction)>, String> {
    let mut out = Vec::new();
    for hop in text.split('>') {
        let hop = hop.trim();
        let (kind, dir) = match hop.split_once(':') {
            Some((k, "out")) => (k, crate::Direction::Out),
            Some((k, "in")) => (k, crate::Direction::In),
            Some((_, d)) => return Err(format!("assignee: direction {d:?} must be `out` or `in`")),
            None => (hop, crate::Direction::Out),
        };
        if kind.is_empty() {
            return Err(format!("assignee {text:?} has an empty hop"));
        }
        if !known_kinds(kind) {
            return Err(format!(
                "assignee: no relationship kind {kind:?} in this database"
            ));
        }
        out.push((kind.to_string(), dir));
    }
    Ok(out)
}

/// A TOML scalar as a stored value.
fn toml_value(v: &toml::Value) -> Result<crate::Value, String> {
    match v {
        toml::Value::String(s) => Ok(crate::Value::Text(s.clone())),
        toml::Value::Integer(i) => Ok(crate::Value::Int(*i)),
        toml::Value::Boolean(b) => Ok(crate::Value::Bool(*b)),
        toml::Value::Float(f) => crate::Decimal::parse(&f.to_string())
            .map(crate::Value::Decimal)
            .map_err(|e| format!("value {f}: {e}")),
        other => Err(format!("value {other} must be text, a number or a boolean")),
    }
}

/// `500ms`, `30s`, `15m`, `24h`, `7d`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 30s, 15m, 24h or 7d"))?;
    let ms = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(format!("{text:?}: the unit must be ms, s, m, h or d")),
    };
    n.checked_mul(ms)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("{text:?} is too long"))
}
