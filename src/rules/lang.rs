//! The condition language: CEL (the `cel` crate), compiled once per rule,
//! with every field a condition names checked against what the rules can
//! see ([`Schema`]) before the rule is accepted.

use crate::error::did_you_mean;
use cel::common::ast::{EntryExpr, Expr, IdedExpr};
use cel::{Env, Program};
use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

/// What a value the condition can read holds.
#[derive(Clone, Debug)]
pub(crate) enum Shape {
    /// A number, text or boolean.
    Scalar,
    /// An object with these fields.
    Object(&'static [(&'static str, Shape)]),
    /// A list of these.
    List(&'static Shape),
    /// Attributes of an entity: any known attribute name.
    Attrs,
    /// A map whose keys are data (balances by product): any key.
    Open,
}

use Shape::{Attrs, List, Object, Open, Scalar};

const ACCOUNT: Shape = Object(&[
    ("id", Scalar),
    ("product", Scalar),
    ("balance", Scalar),
    ("status", Scalar),
    ("role", Scalar),
    ("currency", Scalar),
    ("attrs", Attrs),
]);

const MEMBER: Shape = Object(&[("id", Scalar), ("name", Scalar), ("role", Scalar)]);

const HOUSEHOLD: Shape = Object(&[
    ("id", Scalar),
    ("name", Scalar),
    ("size", Scalar),
    ("members", List(&MEMBER)),
    ("totals", Open),
    ("total", Scalar),
    ("deposits", Scalar),
]);

const ITEM: Shape = Object(&[
    ("what", Scalar),
    ("id", Scalar),
    ("kind", Scalar),
    ("type", Scalar),
    ("status", Scalar),
    ("attrs", Attrs),
]);

const INTERACTION: Shape = Object(&[
    ("id", Scalar),
    ("type", Scalar),
    ("channel", Scalar),
    ("status", Scalar),
    ("amount", Scalar),
    ("age_hours", Scalar),
    ("attrs", Attrs),
]);

const RELATED: Shape = Object(&[
    ("kind", Scalar),
    ("direction", Scalar),
    ("id", Scalar),
    ("name", Scalar),
    ("entity_kind", Scalar),
]);

const IDENTIFIER: Shape = Object(&[("system", Scalar), ("key", Scalar)]);

/// What `customer` holds.
const CUSTOMER: Shape = Object(&[
    ("id", Scalar),
    ("kind", Scalar),
    ("name", Scalar),
    ("profile", Attrs),
    ("tier", Scalar),
    ("segment", Scalar),
    ("status", Scalar),
    ("accounts", List(&ACCOUNT)),
    ("balances", Open),
    ("deposits", Scalar),
    ("credit", Scalar),
    ("open_products", Scalar),
    ("tenure_days", Scalar),
    ("households", List(&HOUSEHOLD)),
    ("household", HOUSEHOLD),
    ("open_items", List(&ITEM)),
    ("interactions", List(&INTERACTION)),
    ("interactions_truncated", Scalar),
    ("relationships", List(&RELATED)),
    ("identifiers", List(&IDENTIFIER)),
    ("systems", List(&Scalar)),
    ("records", Scalar),
    (
        "guarantees",
        Object(&[
            ("count", Scalar),
            ("guaranteed_by", Scalar),
            ("exposure", Scalar),
            ("truncated", Scalar),
        ]),
    ),
    (
        "group",
        Object(&[
            ("members", Scalar),
            ("exposure", Scalar),
            ("ultimate_parent", Scalar),
            ("truncated", Scalar),
        ]),
    ),
]);

/// What `event` holds.
const EVENT: Shape = Object(&[
    ("type", Scalar),
    ("change", Scalar),
    ("entity", Scalar),
    ("kind", Scalar),
    ("before", Attrs),
    ("after", Attrs),
    ("changed", List(&Scalar)),
    (
        "record",
        Object(&[("id", Scalar), ("system", Scalar), ("key", Scalar)]),
    ),
    ("absorbed", Scalar),
    ("depth", Scalar),
]);

/// The variables a condition may name.
pub(crate) const ROOTS: &[(&str, Shape)] =
    &[("event", EVENT), ("customer", CUSTOMER), ("now_ms", Scalar)];

/// The attributes a condition may read besides the built-in ones.
pub(crate) struct Schema<'a> {
    /// Extra attribute names the rules file declares.
    pub(crate) attributes: &'a BTreeSet<String>,
}

/// The built-in attribute names (`docs/attributes.md`).
pub(crate) fn builtin_attributes() -> &'static [&'static str] {
    use crate::model::attrs as a;
    &[
        a::GIVEN_NAME,
        a::MIDDLE_NAME,
        a::FAMILY_NAME,
        a::FULL_NAME,
        a::BIRTH_DATE,
        a::EMAIL,
        a::PHONE,
        a::HOUSE_NUMBER,
        a::STREET,
        a::UNIT,
        a::CITY,
        a::POSTAL_CODE,
        a::REGION,
        a::COUNTRY,
        a::NATIONAL_ID,
        a::TAX_ID,
        a::ORGANIZATION_NAME,
        a::REGISTRATION_NUMBER,
        a::STATUS,
        a::SEGMENT,
        a::TIER,
        a::NAME,
        a::PRODUCT_TYPE,
        a::ACCOUNT_NUMBER,
        a::BALANCE,
        a::CURRENCY,
        a::OPENED,
        a::CHANNEL,
        a::INTERACTION_TYPE,
        a::OCCURRED_AT,
        a::SUMMARY,
        a::ROLE,
        a::AMOUNT,
        a::SHARE,
        a::TRUST,
        "due",
        "assignee",
        "rule",
        "action",
        "next_best_action",
        "tags",
        "do_not_call_until",
    ]
}

/// The one CEL environment every rule is compiled and run in.
pub(crate) fn env() -> &'static Arc<Env> {
    static ENV: OnceLock<Arc<Env>> = OnceLock::new();
    ENV.get_or_init(|| Arc::new(Env::stdlib()))
}

/// A problem in a condition: what, and where in the condition's text
/// (line and column, from 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LangError {
    pub(crate) message: String,
    pub(crate) at: Option<(usize, usize)>,
}

/// A compiled condition and the field paths it reads (for the "why").
pub(crate) struct Condition {
    pub(crate) program: Program,
    /// Each `a.b.c` path the condition reads, outside comprehensions, with
    /// its own program (to say why a rule fired).
    pub(crate) paths: Vec<(String, Program)>,
    /// Which parts of the customer it reads (`accounts`, `group`, …).
    pub(crate) reads: BTreeSet<String>,
}

/// Compiles `text` and checks every name it uses; all problems at once.
pub(crate) fn compile(text: &str, schema: &Schema<'_>) -> Result<Condition, Vec<LangError>> {
    let program = env().compile(text).map_err(|errs| {
        errs.errors
            .iter()
            .map(|e| LangError {
                message: e.msg.clone(),
                at: (e.pos.0 > 0).then_some((e.pos.0 as usize, e.pos.1.max(0) as usize + 1)),
            })
            .collect::<Vec<_>>()
    })?;
    let mut c = Checker {
        schema,
        source: program.source_info(),
        scopes: Vec::new(),
        errors: Vec::new(),
        paths: BTreeSet::new(),
        reads: BTreeSet::new(),
    };
    c.walk(program.expression());
    if !c.errors.is_empty() {
        return Err(c.errors);
    }
    let reads = c.reads;
    // Only the longest paths: `customer.profile.tier`, not `customer.profile`.
    let all: Vec<String> = c.paths.into_iter().collect();
    let paths = all
        .iter()
        .filter(|p| {
            !all.iter()
                .any(|q| q.len() > p.len() && q.starts_with(&format!("{p}.")))
        })
        .filter_map(|p| env().compile(p).ok().map(|prog| (p.clone(), prog)))
        .collect();
    Ok(Condition {
        program,
        paths,
        reads,
    })
}

struct Checker<'a, 's> {
    schema: &'a Schema<'s>,
    source: &'a cel::common::ast::SourceInfo,
    /// Comprehension variables in scope, with what they hold.
    scopes: Vec<(String, Shape)>,
    errors: Vec<LangError>,
    paths: BTreeSet<String>,
    reads: BTreeSet<String>,
}

impl Checker<'_, '_> {
    fn error(&mut self, id: u64, message: String) {
        let at = self.source.offset_for(id).map(|(start, _)| {
            let text = &self.source.source;
            line_col(text, start as usize)
        });
        self.errors.push(LangError { message, at });
    }

    /// Walks `e`; returns the shape of its value when it is a path.
    fn walk(&mut self, e: &IdedExpr) -> Option<Shape> {
        match &e.expr {
            Expr::Ident(name) => self.ident(e.id, name, true),
            Expr::Select(s) => {
                let operand = match &s.operand.expr {
                    // `customer.f`: only the part `f` is read.
                    Expr::Ident(name) => self.ident(s.operand.id, name, false),
                    _ => self.walk(&s.operand),
                }?;
                let shape = self.field(e.id, &operand, &s.field)?;
                if let Some(p) = path_of(e) {
                    let root = p.split('.').next().unwrap_or("");
                    if self.scopes.iter().all(|(v, _)| v != root) {
                        if let Some(part) = p.strip_prefix("customer.") {
                            let part = part.split('.').next().unwrap_or(part);
                            self.reads.insert(part.to_string());
                        }
                        self.paths.insert(p);
                    }
                }
                Some(shape)
            }
            Expr::Call(call) => {
                if let Some(t) = &call.target {
                    self.walk(t);
                }
                for a in &call.args {
                    self.walk(a);
                }
                None
            }
            Expr::Comprehension(c) => {
                let range = self.walk(&c.iter_range);
                self.walk(&c.accu_init);
                let elem = match range {
                    Some(List(inner)) => inner.clone(),
                    _ => Open,
                };
                let n = self.scopes.len();
                self.scopes.push((c.iter_var.clone(), elem));
                if let Some(v2) = &c.iter_var2 {
                    self.scopes.push((v2.clone(), Open));
                }
                self.scopes.push((c.accu_var.clone(), Open));
                self.walk(&c.loop_cond);
                self.walk(&c.loop_step);
                self.walk(&c.result);
                self.scopes.truncate(n);
                None
            }
            Expr::List(l) => {
                for x in &l.elements {
                    self.walk(x);
                }
                None
            }
            Expr::Map(m) => {
                for entry in &m.entries {
                    if let EntryExpr::MapEntry(me) = &entry.expr {
                        self.walk(&me.key);
                        self.walk(&me.value);
                    }
                }
                None
            }
            Expr::Struct(s) => {
                self.error(
                    e.id,
                    format!("message types are not available ({})", s.type_name),
                );
                None
            }
            Expr::Literal(_) | Expr::Unspecified => None,
        }
    }

    /// A variable; `bare`: read whole, not through one of its fields.
    fn ident(&mut self, id: u64, name: &str, bare: bool) -> Option<Shape> {
        if let Some((_, s)) = self.scopes.iter().rev().find(|(v, _)| v == name) {
            return Some(s.clone());
        }
        if let Some((_, s)) = ROOTS.iter().find(|(v, _)| *v == name) {
            if name == "customer" && bare {
                self.reads.insert("*".into());
            }
            return Some(s.clone());
        }
        let names: Vec<&str> = ROOTS.iter().map(|(n, _)| *n).collect();
        self.error(
            id,
            format!("unknown variable {name:?}{}", did_you_mean(name, &names)),
        );
        None
    }

    fn field(&mut self, id: u64, of: &Shape, field: &str) -> Option<Shape> {
        match of {
            Object(fields) => match fields.iter().find(|(n, _)| *n == field) {
                Some((_, s)) => Some(s.clone()),
                None => {
                    let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
                    self.error(
                        id,
                        format!("unknown field {field:?}{}", did_you_mean(field, &names)),
                    );
                    None
                }
            },
            Attrs => {
                let builtin = builtin_attributes();
                if builtin.contains(&field) || self.schema.attributes.contains(field) {
                    return Some(Scalar);
                }
                let mut names: Vec<&str> = builtin.to_vec();
                names.extend(self.schema.attributes.iter().map(String::as_str));
                self.error(
                    id,
                    format!(
                        "unknown attribute {field:?}{} (declare it in the rules file's `attributes` list)",
                        did_you_mean(field, &names)
                    ),
                );
                None
            }
            Open => Some(Open),
            Scalar | List(_) => {
                self.error(id, format!("{field:?}: the value has no fields"));
                None
            }
        }
    }
}

/// `a.b.c` for a chain of selections on a variable.
fn path_of(e: &IdedExpr) -> Option<String> {
    match &e.expr {
        Expr::Ident(n) => Some(n.clone()),
        Expr::Select(s) if !s.test => path_of(&s.operand).map(|p| format!("{p}.{}", s.field)),
        _ => None,
    }
}

/// Line and column (from 1) of byte `offset` in `text`.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map_or(before.len(), |i| before.len() - i - 1)
        + 1;
    (line, col)
}
