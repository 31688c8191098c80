//! `kith rules load|list|stats|delete|test|actions`: the interaction rules
//! of a database and the actions they raised (`docs/rules.md`).

#[allow(unused_imports)]
use crate::cli::*;
use clap::Subcommand;
use kith::{Change, ChangeEntry, ChangeId};

/// The rules subcommands.
#[derive(Subcommand)]
pub(crate) enum RulesCommand {
    /// Load a rules file (TOML): every rule is checked, and the file is
    /// refused whole, with every error, if any is wrong. Rules it names
    /// replace stored rules of the same name.
    Load {
        /// The rules file.
        file: PathBuf,
    },
    /// The stored rules, highest priority first.
    List,
    /// Per rule: evaluations, fires, errors, last fired, mean evaluation
    /// time; the engine's position in the change log and its lag.
    Stats,
    /// Remove a rule.
    Delete {
        /// The rule's name.
        name: String,
    },
    /// Dry-run rules against a real customer: which fire and why. Changes
    /// nothing.
    Test {
        /// A rules file; without it, the stored rules.
        file: Option<PathBuf>,
        /// The customer (or a record or merged id of theirs).
        #[arg(long)]
        customer: u64,
        /// The triggering event's fields, as JSON (`{"after": {"amount": 12000.0}}`).
        #[arg(long)]
        event: Option<String>,
    },
    /// The actions the rules raised (`kith:actions`), oldest first.
    Actions {
        /// Start after this id (`<ms>-<seq>`; 0: from the oldest).
        #[arg(long, default_value = "0")]
        from: String,
        /// At most this many.
        #[arg(long, default_value_t = usize::MAX)]
        count: usize,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a rules subcommand on `db`.
pub(crate) fn run(db: &Db, command: RulesCommand) -> CliResult {
    match command {
        RulesCommand::Load { file } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("cannot read rules file {}: {e}", file.display()))?;
            let names = db
                .load_rules(&text)
                .map_err(|e| format!("{}: {e}", file.display()))?;
            say!(
                "loaded {} rule(s) from {}: {}",
                names.len(),
                file.display(),
                names.join(", ")
            );
            Ok(0)
        }
        RulesCommand::List => {
            for r in db.rules()? {
                say!(
                    "{}  priority {}  on {}",
                    r.name(),
                    r.priority(),
                    r.triggers().join(",")
                );
                say!("    when {}", r.condition().trim());
            }
            Ok(0)
        }
        RulesCommand::Stats => stats(db),
        RulesCommand::Delete { name } => {
            if db.delete_rule(&name)? {
                say!("deleted rule {name}");
                Ok(0)
            } else {
                Err(format!("no rule named {name:?}").into())
            }
        }
        RulesCommand::Test {
            file,
            customer,
            event,
        } => test(db, file, customer, event),
        RulesCommand::Actions { from, count, json } => {
            let after = ChangeId::parse(&from, 0)
                .ok_or_else(|| format!("--from {from:?} is not a position like 1700000000000-5"))?;
            for e in db.actions().read_after(after, count)? {
                if json {
                    say!("{}", kith::json::change_to_json(&e));
                } else {
                    say!("{}", action_line(&e));
                }
            }
            Ok(0)
        }
    }
}

/// One action as a line of text.
fn action_line(e: &ChangeEntry) -> String {
    match &e.change {
        Change::ActionRaised {
            rule,
            customer,
            why,
            fields,
            effects,
            cause,
            ..
        } => {
            let why: Vec<String> = why.iter().map(|(k, v)| format!("{k} = {v}")).collect();
            let fields: Vec<String> = fields.iter().map(|(k, v)| format!("{k}: {v}")).collect();
            format!(
                "{} rule {rule} for customer {customer} (change {cause}): {}; because {}{}",
                e.id,
                if fields.is_empty() {
                    "-".to_string()
                } else {
                    fields.join(", ")
                },
                why.join(", "),
                if effects.is_empty() {
                    String::new()
                } else {
                    format!("; did: {}", effects.join("; "))
                }
            )
        }
        other => format!("{} {}", e.id, other.type_name()),
    }
}

fn stats(db: &Db) -> CliResult {
    let s = db.rules_status()?;
    say!(
        "{} rule(s), {}; position {} (lag {}), {} action(s) since opening",
        s.rules,
        if s.running { "running" } else { "not running" },
        s.position,
        s.lag,
        s.actions
    );
    if let Some(e) = &s.last_error {
        say!("last engine error: {e}");
    }
    if !s.running {
        say!("(counts are kept by the process that runs the rules — `kith serve`, or a writing command while it runs; this one runs none)");
    }
    for r in db.rule_stats()? {
        say!(
            "{}: {} evaluations, {} fires, {} errors, mean {:.1} µs{}{}",
            r.name,
            r.evaluations,
            r.fires,
            r.errors,
            r.mean_eval_us,
            r.last_fired_ms
                .map(|m| format!(", last fired at {m} ms"))
                .unwrap_or_default(),
            r.last_error
                .as_ref()
                .map(|e| format!(", last error: {e}"))
                .unwrap_or_default()
        );
    }
    Ok(0)
}

fn test(db: &Db, file: Option<PathBuf>, customer: u64, event: Option<String>) -> CliResult {
    let text = match &file {
        Some(f) => Some(
            std::fs::read_to_string(f)
                .map_err(|e| format!("cannot read rules file {}: {e}", f.display()))?,
        ),
        None => None,
    };
    let event: Option<serde_json::Value> = match &event {
        Some(e) => {
            Some(serde_json::from_str(e).map_err(|err| format!("--event is not JSON: {err}"))?)
        }
        None => None,
    };
    let parsed = match &text {
        Some(t) => Some(db.parse_rules(t)?),
        None => None,
    };
    let outcomes = db.test_rules(parsed.as_deref(), EntityId(customer), event.as_ref())?;
    let hint = if event.is_none() {
        " (the event has no fields: give them with --event JSON)"
    } else {
        ""
    };
    for o in outcomes {
        match (&o.error, o.fires) {
            (Some(e), _) => say!("{}: error: {e}{hint}", o.rule),
            (None, true) => {
                let why: Vec<String> = o.why.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                say!("{}: FIRES because {}", o.rule, why.join(", "))
            }
            (None, false) => say!("{}: silent", o.rule),
        }
    }
    Ok(0)
}
