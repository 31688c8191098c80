//! `kith bench --workload rules`: what interaction rules cost and how fast
//! their actions arrive, on a bank generated for the run (rules write
//! actions and effects, so the run never touches `--db`).
//!
//! 1. Write throughput: the same burst of interaction writes without rules,
//!    with `--rules` rules loaded (default 100), and without again, each on
//!    a bank of its own generated alike; the ratio is the run with rules
//!    over the mean of the two without.
//! 2. Delivery: withdrawals at `--rate` per second (default 1,000) with the
//!    rules loaded; a follower of `kith:actions` notes when the action of
//!    each withdrawal (rule 0 fires on every one) appears. Latency counts
//!    from the write's acknowledgement, and from its start.

use super::bench::{new_histogram, summary};
use crate::cli::db_builder;
use kith::generate::{generate_bank, rule_set, BankConfig, Rng};
use kith::{attrs, Change, ChangeId, Db, Decimal, EntityId, EntityKind, NewEntity};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type BoxError = Box<dyn std::error::Error>;

/// One withdrawal of a random amount to a random person; the position of
/// the interaction's creation (the cause its actions name).
fn withdraw(db: &Db, persons: &[EntityId], rng: &mut Rng) -> Result<ChangeId, BoxError> {
    let who = persons[rng.below(persons.len() as u64) as usize];
    let cents = rng.below(2_000_000) as i128;
    let item = NewEntity::new(EntityKind::INTERACTION)
        .attr(attrs::INTERACTION_TYPE, "withdrawal")
        .attr(attrs::AMOUNT, Decimal::new(cents, 2));
    let done = db.transaction(|tx| tx.append_interaction(who, item))?;
    done.changes
        .changes
        .iter()
        .find(|e| matches!(&e.change, Change::EntityCreated { id, .. } if *id == done.value))
        .map(|e| e.id)
        .ok_or_else(|| "the withdrawal's change is not in its commit".into())
}

/// Writes `ops` withdrawals as fast as one writer can; writes per second.
fn burst(db: &Db, persons: &[EntityId], ops: u64, seed: u64) -> Result<f64, BoxError> {
    let mut rng = Rng::new(seed);
    let t = Instant::now();
    for _ in 0..ops {
        withdraw(db, persons, &mut rng)?;
    }
    Ok(ops as f64 / t.elapsed().as_secs_f64())
}

/// Paced withdrawals; for each, when it started, when it was acknowledged
/// and the position of its commit.
fn paced(
    db: &Db,
    persons: &[EntityId],
    ops: u64,
    rate: f64,
) -> Result<super::feed_bench::Sent<ChangeId>, BoxError> {
    let mut rng = Rng::new(7);
    super::feed_bench::paced_writes(ops, rate, |_| withdraw(db, persons, &mut rng))
}

/// Follows `kith:actions` and notes when each action of rule `r000` arrived,
/// by the change that fired it.
fn follow_actions(db: Db, from: ChangeId, want: u64, seen: Arc<Mutex<HashMap<ChangeId, Instant>>>) {
    let mut n = 0;
    for e in db.actions().follow(from).timeout(Duration::from_secs(30)) {
        let Ok(e) = e else { break };
        if let Change::ActionRaised { rule, cause, .. } = &e.change {
            if rule == "r000" {
                seen.lock().unwrap().insert(*cause, Instant::now());
                n += 1;
                if n == want {
                    break;
                }
            }
        }
    }
}

/// The delivery run: latencies from acknowledgement and from start.
fn delivery(
    db: &Db,
    persons: &[EntityId],
    ops: u64,
    rate: f64,
) -> Result<serde_json::Value, BoxError> {
    let seen = Arc::new(Mutex::new(HashMap::new()));
    let follower = {
        let (db, seen, from) = (db.clone(), seen.clone(), db.changes().last());
        std::thread::spawn(move || follow_actions(db, from, ops, seen))
    };
    let sent = paced(db, persons, ops, rate)?;
    follower.join().map_err(|_| "the follower panicked")?;
    let seen = seen.lock().unwrap();
    let (mut from_ack, mut from_start) = (new_histogram(), new_histogram());
    let mut missing = 0;
    for (start, ack, cause) in &sent {
        match seen.get(cause) {
            Some(t) => {
                let _ = from_ack.record(t.saturating_duration_since(*ack).as_nanos().max(1) as u64);
                let _ =
                    from_start.record(t.saturating_duration_since(*start).as_nanos().max(1) as u64);
            }
            None => missing += 1,
        }
    }
    Ok(
        json!({"writes": sent.len(), "actions": seen.len(), "missing": missing,
              "from_ack": summary(&from_ack), "from_write_start": summary(&from_start)}),
    )
}

/// A freshly generated bank (the same for every `n`) in `base/n`, and its persons.
fn bank(base: &std::path::Path, n: u32, persons: u64) -> Result<(Db, Vec<EntityId>), BoxError> {
    let dir = base.join(n.to_string());
    let _ = std::fs::remove_dir_all(&dir);
    let db = db_builder().path(&dir).open()?;
    let config = BankConfig {
        persons,
        seed: 1,
        interactions_per_person: 2,
    };
    generate_bank(&db, &config, |_| {})?;
    let people = db.list(EntityKind::PERSON, None, 100_000)?.ids;
    Ok((db, people))
}

/// The four runs, each on a bank of its own generated alike (so that no run
/// pays for the rows an earlier one wrote).
fn measure(
    base: &std::path::Path,
    persons: u64,
    rules: usize,
    ops: u64,
    rate: f64,
) -> Result<serde_json::Value, BoxError> {
    let set = rule_set(rules);
    let without = {
        let (db, people) = bank(base, 0, persons)?;
        burst(&db, &people, ops, 1)?
    };
    let (with, lag, drain_s) = {
        let (db, people) = bank(base, 1, persons)?;
        db.load_rules(&set)?;
        let with = burst(&db, &people, ops, 1)?;
        let lag = db.rules_status()?.lag;
        let drained = Instant::now();
        db.wait_for_rules(Duration::from_secs(600));
        (with, lag, drained.elapsed().as_secs_f64())
    };
    let without_again = {
        let (db, people) = bank(base, 2, persons)?;
        burst(&db, &people, ops, 1)?
    };
    let (db, people) = bank(base, 3, persons)?;
    db.load_rules(&set)?;
    let delivered = delivery(&db, &people, ops, rate)?;
    let evals: Vec<f64> = db.rule_stats()?.iter().map(|s| s.mean_eval_us).collect();
    let mean_eval = evals.iter().sum::<f64>() / evals.len().max(1) as f64;
    let baseline = (without + without_again) / 2.0;
    Ok(json!({
        "persons": persons, "rules": rules, "ops": ops, "rate": rate,
        "writes_per_s": {"without_rules": without, "with_rules": with,
                         "without_rules_again": without_again, "ratio": with / baseline},
        "lag_after_burst": lag, "drain_s": drain_s,
        "delivery": delivered,
        "mean_eval_us": mean_eval,
    }))
}

/// Runs the rules workload on banks of `persons` and prints its report.
pub(crate) fn run(
    persons: u64,
    rules: usize,
    ops: u64,
    rate: f64,
    as_json: bool,
) -> Result<i32, BoxError> {
    let base = std::env::temp_dir().join(format!("kith-bench-rules-{}", std::process::id()));
    let result = measure(&base, persons, rules, ops, rate);
    let _ = std::fs::remove_dir_all(&base);
    let r = result?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(0);
    }
    let w = &r["writes_per_s"];
    let d = &r["delivery"];
    println!("interaction rules: {rules} rules, a bank of {persons} persons, {ops} writes per run");
    println!(
        "  write throughput: {:.0}/s without rules, {:.0}/s with, {:.0}/s without again: ratio {:.2}",
        w["without_rules"].as_f64().unwrap_or(0.0),
        w["with_rules"].as_f64().unwrap_or(0.0),
        w["without_rules_again"].as_f64().unwrap_or(0.0),
        w["ratio"].as_f64().unwrap_or(0.0)
    );
    println!(
        "  after the burst the rules lagged {} changes and caught up in {:.2} s",
        r["lag_after_burst"],
        r["drain_s"].as_f64().unwrap_or(0.0)
    );
    println!(
        "  commit -> action on kith:actions at {rate}/s: p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs (from the write's start: p99 {:.0} µs); {} of {} actions, {} missing",
        d["from_ack"]["p50_us"].as_f64().unwrap_or(0.0),
        d["from_ack"]["p99_us"].as_f64().unwrap_or(0.0),
        d["from_ack"]["max_us"].as_f64().unwrap_or(0.0),
        d["from_write_start"]["p99_us"].as_f64().unwrap_or(0.0),
        d["actions"], d["writes"], d["missing"]
    );
    println!(
        "  mean evaluation of a rule's condition: {:.2} µs",
        r["mean_eval_us"].as_f64().unwrap_or(0.0)
    );
    Ok(0)
}
