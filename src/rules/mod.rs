//! Interaction rules: policies that watch every change to a customer and
//! act within milliseconds.
//!
//! A rule has a name, triggers ([`TRIGGERS`]: an interaction recorded, an
//! account's balance changed, a record linked, customers merged, any change
//! to a customer's context), a condition in [CEL](https://cel.dev) over the
//! triggering `event` and the `customer`'s assembled context, actions (set
//! or clear an attribute of the customer, open a task or alert for them with
//! an assignee found through relationships), and limits (a cooldown per
//! customer, a priority, `stop`, a depth limit on rules triggered by rules).
//! Every firing appends an entry to the actions stream ([`Db::actions`],
//! `kith:actions` on the wire) in the same transaction as its effects.
//!
//! Rules are stored in the database and run while it is open with its
//! change log: a consumer of the log on its own thread, never on the
//! writer's path, resuming from its stored position after a restart. A
//! change is acted on exactly once: the actions, effects and the new
//! position commit together. `docs/rules.md` is the guide.
//!
//! ```
//! use kith::{attrs, Db, EntityKind, NewEntity};
//!
//! let db = Db::temporary()?;
//! db.load_rules(r#"
//!     [[rule]]
//!     name = "big-withdrawal"
//!     on = ["interaction.added"]
//!     when = 'event.after.interaction_type == "withdrawal" && event.after.amount > 10000.0'
//!     message = "Have their banker call today"
//! "#)?;
//! let ann = db.create(NewEntity::person().attr(attrs::GIVEN_NAME, "Ann"))?;
//! db.append_interaction(ann, NewEntity::new(EntityKind::INTERACTION)
//!     .attr(attrs::INTERACTION_TYPE, "withdrawal")
//!     .attr(attrs::AMOUNT, kith::Decimal::parse("12500.00")?))?;
//! assert!(db.wait_for_rules(std::time::Duration::from_secs(10)));
//! let actions = db.actions().read_after(kith::ChangeId::ZERO, 10)?;
//! assert_eq!(actions.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Layout: `def.rs` is the rule as data (TOML, checks, compile), `lang.rs`
//! the condition language and what it may name, `facts.rs` the values a
//! condition reads, `runner.rs` evaluation and the writes of a firing; this
//! file holds the engine's thread and the [`Db`] methods. Rules touch the
//! database only through `Db`, `Transaction` and the rows of
//! `db/rule_rows.rs`.

mod def;
mod facts;
mod lang;
mod runner;

pub use def::{Rule, ACTION_TYPES, MAX_CONDITION, TRIGGERS};

use crate::error::StorageError;
use crate::model::{ChangeEntry, ChangeId, EntityId, Timestamp};
use crate::{Change, Db, FeedError};
use parking_lot::{Condvar, Mutex, RwLock};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// One problem in a rule or a rules file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleError {
    /// The rule's name (empty: the file as a whole).
    pub rule: String,
    /// The line of the rules file, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.rule, self.line) {
            (r, Some(l)) if !r.is_empty() => write!(f, "rule {r:?} (line {l}): {}", self.message),
            (r, None) if !r.is_empty() => write!(f, "rule {r:?}: {}", self.message),
            (_, Some(l)) => write!(f, "line {l}: {}", self.message),
            (_, None) => write!(f, "{}", self.message),
        }
    }
}

/// Why a rules operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RulesError {
    /// Rules that do not parse or check; every problem, and none was stored.
    #[error("{} error(s), nothing loaded:\n{}", .0.len(), .0.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<RuleError>),
    /// The database was opened without its change log, which rules follow.
    #[error("rules need the change log; this database was opened without it")]
    NoChangeLog,
    /// No rule of that name.
    #[error("no rule named {0:?}")]
    NoSuchRule(String),
    /// The customer asked about does not exist or is no party.
    #[error("no customer {0}")]
    NoCustomer(EntityId),
    /// A dry-run event that is not a JSON object of the event's fields.
    #[error("invalid event: {0}")]
    BadEvent(String),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Counts kept per rule while the database is open.
#[derive(Default)]
pub(crate) struct Counters {
    evaluations: AtomicU64,
    fires: AtomicU64,
    errors: AtomicU64,
    eval_ns: AtomicU64,
    last_fired_ms: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl Counters {
    fn record(&self, o: &runner::Outcome, took: Duration) {
        self.evaluations.fetch_add(1, Ordering::Relaxed);
        self.eval_ns
            .fetch_add(took.as_nanos() as u64, Ordering::Relaxed);
        match o {
            runner::Outcome::Fired(_) => {
                self.fires.fetch_add(1, Ordering::Relaxed);
                self.last_fired_ms
                    .store(crate::db::changes::log::now_ms(), Ordering::Relaxed);
            }
            runner::Outcome::Failed(e) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                *self.last_error.lock() = Some(e.clone());
            }
            runner::Outcome::Silent => {}
        }
    }
}

/// A rule's counts since the database was opened (`RULE.STATS`).
#[derive(Clone, Debug, PartialEq)]
pub struct RuleStats {
    /// The rule.
    pub name: String,
    /// Its priority.
    pub priority: i64,
    /// Its triggers.
    pub triggers: Vec<String>,
    /// How often its condition was evaluated.
    pub evaluations: u64,
    /// How often it fired.
    pub fires: u64,
    /// How often its condition failed at run time (a missing value, a type
    /// mismatch): it did not fire, and the other rules ran on.
    pub errors: u64,
    /// When it last fired (ms since the epoch), since opening.
    pub last_fired_ms: Option<u64>,
    /// Its last run-time error.
    pub last_error: Option<String>,
    /// Mean evaluation time of its condition, in microseconds.
    pub mean_eval_us: f64,
}

/// Where the rules are in the change log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RulesStatus {
    /// How many rules are loaded.
    pub rules: usize,
    /// Whether they run (rules need the change log).
    pub running: bool,
    /// The last change evaluated.
    pub position: ChangeId,
    /// Changes committed and not evaluated yet.
    pub lag: u64,
    /// Actions raised since opening.
    pub actions: u64,
    /// The last failure of the engine itself (a storage error), if any.
    pub last_error: Option<String>,
}

/// What a dry run of one rule against one customer gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestOutcome {
    /// The rule.
    pub rule: String,
    /// Whether it fires.
    pub fires: bool,
    /// Why: each value the condition read (when it fires), or the run-time
    /// error, or why it was not evaluated.
    pub why: Vec<(String, String)>,
    /// The run-time error, if the condition failed.
    pub error: Option<String>,
}

/// The rules of one open database and the thread that runs them.
pub(crate) struct Engine {
    rules: RwLock<Arc<Vec<Arc<Rule>>>>,
    position: Mutex<ChangeId>,
    idle: Condvar,
    started: std::sync::atomic::AtomicBool,
    actions: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl Engine {
    fn load(db: &Db) -> Result<Engine, RulesError> {
        let mut rules = Vec::new();
        let known = |k: &str| db.relationship_kind(k).is_some();
        for (name, text) in db.stored_rules()? {
            // A stored rule was checked when stored; if it no longer
            // compiles (a relationship kind gone), it is reported, not run.
            match def::parse_one(&name, &text, &known) {
                Ok(r) => rules.push(Arc::new(r)),
                Err(e) => {
                    return Err(RulesError::Invalid(vec![RuleError {
                        rule: name,
                        line: None,
                        message: format!("stored rule no longer loads: {e}"),
                    }]))
                }
            }
        }
        sort(&mut rules);
        let position = match db.stored_rules_position()? {
            Some(p) => p,
            // First run: from the end of the log (rules act on what
            // happens from now on).
            None => db.changes().last(),
        };
        Ok(Engine {
            rules: RwLock::new(Arc::new(rules)),
            position: Mutex::new(position),
            idle: Condvar::new(),
            started: Default::default(),
            actions: AtomicU64::new(0),
            last_error: Mutex::new(None),
        })
    }

    fn current(&self) -> Arc<Vec<Arc<Rule>>> {
        self.rules.read().clone()
    }
}

/// Higher priority first, then by name.
fn sort(rules: &mut [Arc<Rule>]) {
    rules.sort_by(|a, b| {
        b.def
            .priority
            .cmp(&a.def.priority)
            .then_with(|| a.name().cmp(b.name()))
    });
}

impl Db {
    /// The rules engine, loaded on first use.
    fn rules_engine(&self) -> Result<Arc<Engine>, RulesError> {
        if let Some(e) = self.inner.rules.get() {
            return Ok(e.clone());
        }
        let _g = self.inner.rules_init.lock();
        if let Some(e) = self.inner.rules.get() {
            return Ok(e.clone());
        }
        let engine = Arc::new(Engine::load(self)?);
        let _ = self.inner.rules.set(engine.clone());
        Ok(engine)
    }

    /// Starts the rules' thread if there are rules and a change log.
    pub(crate) fn start_rules_if_any(&self) -> Result<(), RulesError> {
        if !self.logs_changes() || !self.inner.run_rules || self.stored_rules()?.is_empty() {
            return Ok(());
        }
        let engine = self.rules_engine()?;
        self.start_rules(&engine);
        Ok(())
    }

    fn start_rules(&self, engine: &Arc<Engine>) {
        if !self.logs_changes()
            || !self.inner.run_rules
            || engine.started.swap(true, Ordering::SeqCst)
        {
            return;
        }
        self.hold_trim_at(engine.position.lock().seq);
        let weak = Arc::downgrade(&self.inner);
        let engine = engine.clone();
        let _ = std::thread::Builder::new()
            .name("kith-rules".into())
            .spawn(move || run(weak, engine));
    }

    /// Loads a rules file (TOML: `[[rule]]` tables, an optional
    /// `attributes` list of extra attribute names the conditions read).
    /// Every rule is checked first — triggers, the condition (compiled
    /// once; every field it names must exist), actions, limits — and the
    /// file is refused whole, with every error, if any rule is wrong. The
    /// rules it names are added or replace the stored ones of the same
    /// name. Returns their names.
    pub fn load_rules(&self, text: &str) -> Result<Vec<String>, RulesError> {
        if !self.logs_changes() {
            return Err(RulesError::NoChangeLog);
        }
        let known = |k: &str| self.relationship_kind(k).is_some();
        let parsed = def::parse_file(text, &known)?;
        let names = parsed.iter().map(|r| r.name().to_string()).collect();
        self.install(parsed, &[])?;
        Ok(names)
    }

    /// Adds or replaces one rule from its TOML table (`RULE.SET`).
    pub fn set_rule(&self, name: &str, text: &str) -> Result<(), RulesError> {
        if !self.logs_changes() {
            return Err(RulesError::NoChangeLog);
        }
        let known = |k: &str| self.relationship_kind(k).is_some();
        let rule = def::parse_one(name, text, &known)?;
        self.install(vec![rule], &[])
    }

    /// Removes a rule, with when it fired. Returns whether it existed.
    pub fn delete_rule(&self, name: &str) -> Result<bool, RulesError> {
        let engine = self.rules_engine()?;
        if !engine.current().iter().any(|r| r.name() == name) {
            return Ok(false);
        }
        self.install(Vec::new(), &[name.to_string()])?;
        Ok(true)
    }

    /// Stores `put` and removes `delete`, then swaps the running set.
    fn install(&self, put: Vec<Rule>, delete: &[String]) -> Result<(), RulesError> {
        let engine = self.rules_engine()?;
        let rows: Vec<(String, String)> = put
            .iter()
            .map(|r| (r.name().to_string(), r.text().to_string()))
            .collect();
        self.write_rules(&rows, delete)?;
        let mut next: Vec<Arc<Rule>> = engine
            .current()
            .iter()
            .filter(|r| {
                !delete.iter().any(|d| d == r.name()) && !rows.iter().any(|(n, _)| n == r.name())
            })
            .cloned()
            .collect();
        next.extend(put.into_iter().map(Arc::new));
        sort(&mut next);
        *engine.rules.write() = Arc::new(next);
        self.start_rules(&engine);
        Ok(())
    }

    /// The rules stored, highest priority first.
    pub fn rules(&self) -> Result<Vec<Arc<Rule>>, RulesError> {
        Ok(self.rules_engine()?.current().to_vec())
    }

    /// Each rule's counts since opening.
    pub fn rule_stats(&self) -> Result<Vec<RuleStats>, RulesError> {
        Ok(self.rules()?.iter().map(|r| stats(r)).collect())
    }

    /// Where the rules are in the change log.
    pub fn rules_status(&self) -> Result<RulesStatus, RulesError> {
        let e = self.rules_engine()?;
        let position = *e.position.lock();
        let status = RulesStatus {
            rules: e.current().len(),
            running: e.started.load(Ordering::SeqCst),
            position,
            lag: self.changes().last().seq.saturating_sub(position.seq),
            actions: e.actions.load(Ordering::Relaxed),
            last_error: e.last_error.lock().clone(),
        };
        Ok(status)
    }

    /// Blocks until the rules have evaluated every change committed before
    /// the call (or `timeout` passes); returns whether they have. True at
    /// once when no rules run.
    pub fn wait_for_rules(&self, timeout: Duration) -> bool {
        let Ok(engine) = self.rules_engine() else {
            return false;
        };
        if !engine.started.load(Ordering::SeqCst) {
            return true;
        }
        let target = self.changes().last();
        let deadline = Instant::now() + timeout;
        let mut p = engine.position.lock();
        while p.seq < target.seq {
            if engine.idle.wait_until(&mut p, deadline).timed_out() {
                return p.seq >= target.seq;
            }
        }
        true
    }

    /// Checks and compiles a rules file without storing it (what
    /// [`Db::load_rules`] checks), for [`Db::test_rules`].
    pub fn parse_rules(&self, text: &str) -> Result<Vec<Arc<Rule>>, RulesError> {
        let known = |k: &str| self.relationship_kind(k).is_some();
        let mut r: Vec<Arc<Rule>> = def::parse_file(text, &known)?
            .into_iter()
            .map(Arc::new)
            .collect();
        sort(&mut r);
        Ok(r)
    }

    /// Dry-runs `rules` (`None`: the stored rules) against customer
    /// `customer`, with `event` as the triggering event's fields (a JSON
    /// object; default: an event of each rule's first trigger with no
    /// fields). Changes nothing; cooldowns are ignored. The customer's facts
    /// come from its context (assembled, or from the context cache).
    pub fn test_rules(
        &self,
        rules: Option<&[Arc<Rule>]>,
        customer: EntityId,
        event: Option<&serde_json::Value>,
    ) -> Result<Vec<TestOutcome>, RulesError> {
        let rules: Vec<Arc<Rule>> = match rules {
            Some(r) => r.to_vec(),
            None => self.rules()?,
        };
        let customer = self
            .customer_for(customer)
            .map_err(|e| RulesError::Storage(StorageError::io(e.to_string(), e)))?
            .unwrap_or(customer);
        let now = Timestamp::now();
        let mut cache = runner::FactCache::new(self, &rules, None, now);
        if cache.get(customer).is_none() {
            return Err(RulesError::NoCustomer(customer));
        }
        let scope = cache.get(customer).expect("present");
        // One event (and scope) per trigger, shared by the rules on it.
        let mut scopes: Vec<(String, cel::Context<'_, 'static>)> = Vec::new();
        let mut out = Vec::new();
        for r in &rules {
            let trigger = r.triggers.first().cloned().unwrap_or_default();
            let at = match scopes.iter().position(|(t, _)| *t == trigger) {
                Some(i) => i,
                None => {
                    let ev = test_event(&trigger, event)?;
                    scopes.push((trigger, runner::with_event(scope, &ev)));
                    scopes.len() - 1
                }
            };
            let o = runner::evaluate(r, &scopes[at].1);
            out.push(match o {
                runner::Outcome::Fired(why) => TestOutcome {
                    rule: r.name().into(),
                    fires: true,
                    why,
                    error: None,
                },
                runner::Outcome::Silent => TestOutcome {
                    rule: r.name().into(),
                    fires: false,
                    why: Vec::new(),
                    error: None,
                },
                runner::Outcome::Failed(e) => TestOutcome {
                    rule: r.name().into(),
                    fires: false,
                    why: Vec::new(),
                    error: Some(e),
                },
            });
        }
        Ok(out)
    }
}

/// The event of a dry run: of `trigger`, with the given fields.
fn test_event(trigger: &str, event: Option<&serde_json::Value>) -> Result<cel::Value, RulesError> {
    let mut fields: Vec<(String, cel::Value)> = Vec::new();
    let trigger = trigger.to_string();
    let mut given = serde_json::Map::new();
    match event {
        Some(serde_json::Value::Object(m)) => given = m.clone(),
        Some(other) => {
            return Err(RulesError::BadEvent(format!(
                "{other} is not a JSON object"
            )))
        }
        None => {}
    }
    given
        .entry("type")
        .or_insert(serde_json::Value::String(trigger));
    for k in ["before", "after", "record"] {
        given.entry(k).or_insert(serde_json::json!({}));
    }
    given.entry("changed").or_insert(serde_json::json!([]));
    for k in ["entity", "kind", "absorbed"] {
        given.entry(k).or_insert(serde_json::Value::Null);
    }
    given.entry("change").or_insert(serde_json::json!("0-0"));
    given.entry("depth").or_insert(serde_json::json!(0));
    for (k, v) in given {
        fields.push((k, json_to_cel(&v)));
    }
    Ok(facts::object(
        fields.iter().map(|(k, v)| (k.as_str(), v.clone())),
    ))
}

/// JSON as CEL (numbers as doubles unless integral).
fn json_to_cel(v: &serde_json::Value) -> cel::Value {
    use serde_json::Value as J;
    match v {
        J::Null => cel::Value::Null,
        J::Bool(b) => cel::Value::Bool(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) if !n.to_string().contains('.') => cel::Value::Int(i),
            _ => cel::Value::Float(n.as_f64().unwrap_or(0.0)),
        },
        J::String(s) => cel::Value::String(Arc::new(s.clone())),
        J::Array(a) => cel::Value::List(Arc::new(a.iter().map(json_to_cel).collect())),
        J::Object(m) => facts::object(m.iter().map(|(k, v)| (k.as_str(), json_to_cel(v)))),
    }
}

fn stats(r: &Rule) -> RuleStats {
    let c = &r.stats;
    let n = c.evaluations.load(Ordering::Relaxed);
    let last = c.last_fired_ms.load(Ordering::Relaxed);
    RuleStats {
        name: r.name().to_string(),
        priority: r.priority(),
        triggers: r.triggers.clone(),
        evaluations: n,
        fires: c.fires.load(Ordering::Relaxed),
        errors: c.errors.load(Ordering::Relaxed),
        last_fired_ms: (last > 0).then_some(last),
        last_error: c.last_error.lock().clone(),
        mean_eval_us: if n == 0 {
            0.0
        } else {
            c.eval_ns.load(Ordering::Relaxed) as f64 / n as f64 / 1000.0
        },
    }
}

/// The rules' thread: steps through the log until the database closes.
fn run(weak: Weak<crate::db::Inner>, engine: Arc<Engine>) {
    // On a busy machine the writers keep the CPU and the rules take what
    // is left: writes never wait for rules, nor do rules slow them down.
    crate::priority::below_normal();
    loop {
        let Some(inner) = weak.upgrade() else { return };
        if inner.closing.load(Ordering::SeqCst) {
            return;
        }
        let db = Db { inner };
        match step(&db, &engine) {
            Ok(true) => continue,
            Ok(false) => {
                let at = *engine.position.lock();
                engine.idle.notify_all();
                db.changes().wait(at, Some(Duration::from_millis(100)));
            }
            Err(e) => {
                *engine.last_error.lock() = Some(e.to_string());
                drop(db);
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// How many changes one step reads, unless one commit holds more.
const STEP: usize = 512;

/// What the `rules_file` fuzz target runs (`crate::fuzzing::rules_file`).
#[doc(hidden)]
pub(crate) fn fuzz_one(text: &str) {
    let known = |k: &str| k == "MANAGED_BY";
    let Ok(rules) = def::parse_file(text, &known) else {
        return;
    };
    let customer = facts::object([
        ("id", cel::Value::Int(1)),
        ("tier", cel::Value::String(Arc::new("gold".into()))),
        ("deposits", cel::Value::Float(1.5)),
        (
            "accounts",
            cel::Value::List(Arc::new(vec![facts::object([(
                "balance",
                cel::Value::Float(2.0),
            )])])),
        ),
    ]);
    let scope = runner::scope(&customer, 0);
    for r in &rules {
        let event = test_event(r.triggers.first().map_or("", |t| t.as_str()), None)
            .expect("no event given");
        let _ = runner::evaluate(r, &runner::with_event(&scope, &event));
        let back = def::parse_one(r.name(), r.text(), &known).expect("a stored rule parses back");
        assert_eq!(back.name(), r.name());
    }
}

/// Reads whole commits after the position: at most [`STEP`] changes, more
/// when one commit is larger.
fn whole_commits(db: &Db, at: ChangeId) -> Result<Vec<ChangeEntry>, FeedError> {
    let mut limit = STEP;
    loop {
        let mut batch = db.changes().read_after(at, limit)?;
        match batch
            .iter()
            .rposition(|e| matches!(e.change, Change::Committed { .. }))
        {
            Some(end) => {
                batch.truncate(end + 1);
                return Ok(batch);
            }
            None if batch.len() < limit => return Ok(Vec::new()),
            None => limit *= 4,
        }
    }
}

/// One step: evaluates the whole commits after the position and commits
/// what fired with the new position. Returns whether it evaluated any.
fn step(db: &Db, engine: &Engine) -> Result<bool, RulesError> {
    let at = *engine.position.lock();
    let entries = match whole_commits(db, at) {
        Ok(e) => e,
        Err(FeedError::Trimmed { trimmed, .. }) => {
            // Only when the log was trimmed before the rules held it.
            *engine.last_error.lock() = Some(format!(
                "the change log was trimmed past the rules' position {at}: changes up to {trimmed} were not evaluated"
            ));
            *engine.position.lock() = trimmed;
            return Ok(true);
        }
        Err(FeedError::Storage(s)) => return Err(RulesError::Storage(s)),
        Err(other) => {
            return Err(RulesError::Storage(StorageError::io(
                other.to_string(),
                other,
            )))
        }
    };
    let Some(last) = entries.last().map(|e| e.id) else {
        return Ok(false);
    };
    let rules = engine.current();
    let now = Timestamp::now();
    let now_ms = (now.as_micros() / 1000) as u64;
    // The facts hold what the rules on this step's triggers read.
    let triggers: std::collections::BTreeSet<&str> = entries
        .iter()
        .filter_map(|e| runner::trigger_of(&e.change))
        .collect();
    let mut cache = runner::FactCache::new(db, &rules, Some(&triggers), now);
    let mut fired = HashMap::new();
    let mut firings = Vec::new();
    for commit in entries.chunk_by(|a, b| a.commit == b.commit) {
        firings.extend(runner::evaluate_commit(
            db, &rules, commit, &mut cache, &mut fired, now_ms,
        ));
    }
    if firings.is_empty() {
        db.store_rules_position(last)?;
    } else {
        let n = firings.len() as u64;
        db.transaction(|tx| {
            for f in &firings {
                runner::apply(tx, f, now)?;
            }
            tx.set_rules_position(last);
            Ok::<_, crate::Error>(())
        })
        .map_err(|e| RulesError::Storage(StorageError::io(e.to_string(), e)))?;
        engine.actions.fetch_add(n, Ordering::Relaxed);
    }
    *engine.position.lock() = last;
    db.hold_trim_at(last.seq);
    engine.idle.notify_all();
    Ok(true)
}
