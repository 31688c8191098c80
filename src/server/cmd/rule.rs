//! `RULE.SET name toml`, `RULE.DEL name`, `RULE.LIST`, `RULE.STATS`: the
//! interaction rules stored in the database (`docs/rules.md`).
use crate::resp::Frame;
use crate::rules::{RulesError, RulesStatus};
use crate::server::command::{json_reply, reply, storage_error, text, Command, Context};
use serde_json::json;

pub(crate) struct RuleSet;
pub(crate) struct RuleDel;
pub(crate) struct RuleList;
pub(crate) struct RuleStats;

/// A rules failure as a reply: `INVALID` lists every problem.
fn rules_error(e: &RulesError) -> Frame {
    match e {
        RulesError::Invalid(errs) => Frame::error(
            "INVALID",
            errs.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("; "),
        ),
        RulesError::Storage(s) => storage_error(s),
        RulesError::NoSuchRule(_) | RulesError::NoCustomer(_) => Frame::error("NOTFOUND", e),
        other => Frame::error("ERR", other),
    }
}

impl Command for RuleSet {
    fn name(&self) -> &'static str {
        "RULE.SET"
    }
    fn arity(&self) -> i32 {
        3
    }
    fn summary(&self) -> &'static str {
        "RULE.SET name toml: add or replace a rule (its TOML table: on, when, actions, …)"
    }
    fn writes(&self) -> bool {
        true
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        reply((|| {
            let name = text(args, 1, "name")?;
            let body = text(args, 2, "rule")?;
            cx.db.set_rule(name, body).map_err(|e| rules_error(&e))?;
            Ok(Frame::ok())
        })())
    }
}

impl Command for RuleDel {
    fn name(&self) -> &'static str {
        "RULE.DEL"
    }
    fn arity(&self) -> i32 {
        2
    }
    fn summary(&self) -> &'static str {
        "RULE.DEL name: remove a rule; 1 if it existed"
    }
    fn writes(&self) -> bool {
        true
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        reply((|| {
            let name = text(args, 1, "name")?;
            let gone = cx.db.delete_rule(name).map_err(|e| rules_error(&e))?;
            Ok(Frame::Integer(gone as i64))
        })())
    }
}

impl Command for RuleList {
    fn name(&self) -> &'static str {
        "RULE.LIST"
    }
    fn arity(&self) -> i32 {
        1
    }
    fn summary(&self) -> &'static str {
        "RULE.LIST: the rules, highest priority first, as JSON"
    }
    fn run(&self, cx: &mut Context<'_>, _args: &[&[u8]]) -> Frame {
        reply((|| {
            let rules = cx.db.rules().map_err(|e| rules_error(&e))?;
            Ok(json_reply(&json!(rules
                .iter()
                .map(|r| json!({
                    "name": r.name(),
                    "priority": r.priority(),
                    "on": r.triggers(),
                    "when": r.condition(),
                    "text": r.text(),
                }))
                .collect::<Vec<_>>())))
        })())
    }
}

/// The engine's status as JSON.
pub(crate) fn status_json(s: &RulesStatus) -> serde_json::Value {
    json!({
        "rules": s.rules,
        "running": s.running,
        "position": s.position.to_string(),
        "lag": s.lag,
        "actions": s.actions,
        "last_error": s.last_error,
    })
}

impl Command for RuleStats {
    fn name(&self) -> &'static str {
        "RULE.STATS"
    }
    fn arity(&self) -> i32 {
        1
    }
    fn summary(&self) -> &'static str {
        "RULE.STATS: per rule evaluations, fires, errors, last fired, mean evaluation µs; the engine's position and lag"
    }
    fn run(&self, cx: &mut Context<'_>, _args: &[&[u8]]) -> Frame {
        reply((|| {
            let stats = cx.db.rule_stats().map_err(|e| rules_error(&e))?;
            let status = cx.db.rules_status().map_err(|e| rules_error(&e))?;
            Ok(json_reply(&json!({
                "engine": status_json(&status),
                "rules": stats.iter().map(|s| json!({
                    "name": s.name,
                    "priority": s.priority,
                    "on": s.triggers,
                    "evaluations": s.evaluations,
                    "fires": s.fires,
                    "errors": s.errors,
                    "last_fired_ms": s.last_fired_ms,
                    "last_error": s.last_error,
                    "mean_eval_us": s.mean_eval_us,
                })).collect::<Vec<_>>(),
            })))
        })())
    }
}
