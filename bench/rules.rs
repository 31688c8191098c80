//! Interaction rules: the cost of evaluating rules against a real customer,
//! with the context they need — one rule and the 100 rules of
//! `kith::generate::rule_set` (what `kith bench --workload rules` loads),
//! from the context cache, beside assembling the context itself and a plain
//! `get` by id in the same run. Nothing is stored (dry runs).
//!
//! `cargo bench --bench rules` (100,000 persons with 2 interactions each by
//! default: `KITH_BENCH_RULES_PERSONS`).

mod common;

use common::*;
use criterion::{criterion_group, Criterion};
use kith::{ContextOptions, EntityKind};
use std::hint::black_box;

fn benches(c: &mut Criterion) {
    let n = env_u64("KITH_BENCH_RULES_PERSONS", 100_000);
    let (db, dir) = bank_of(n, 2);
    let persons = ids_of(&db, EntityKind::PERSON);
    eprintln!("bank at {}: {} persons", dir.display(), persons.len());
    let all = db.parse_rules(&kith::generate::rule_set(100)).unwrap();
    let one = vec![all
        .iter()
        .find(|r| r.name() == "r005")
        .expect("a withdrawal-threshold rule")
        .clone()];
    let event = serde_json::json!({
        "type": "interaction.added",
        "after": {"interaction_type": "withdrawal", "amount": 12500.0}
    });
    const N: usize = 10_000;
    let draws: Vec<_> = draws(persons.len() as u64, N, 5)
        .into_iter()
        .map(|i| persons[i as usize])
        .collect();
    let opts = ContextOptions::default();
    for id in &draws {
        black_box(db.context(*id).unwrap());
    }
    let mut g = c.benchmark_group(format!("rules/{n}-persons"));
    let mut i = 0usize;
    let mut next = || {
        i = (i + 1) % N;
        draws[i]
    };
    g.bench_function("get by id (reference)", |b| {
        b.iter(|| black_box(db.get(next()).unwrap()))
    });
    g.bench_function("context, assembled (reference)", |b| {
        b.iter(|| black_box(db.context_uncached(next(), &opts).unwrap()))
    });
    g.bench_function("1 rule: facts from the cached context + evaluation", |b| {
        b.iter(|| black_box(db.test_rules(Some(&one), next(), Some(&event)).unwrap()))
    });
    g.bench_function(
        "100 rules: facts from the cached context + evaluation",
        |b| b.iter(|| black_box(db.test_rules(Some(&all), next(), Some(&event)).unwrap())),
    );
    g.finish();
}

criterion_group! {
    name = rules;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(4));
    targets = benches
}

fn main() {
    rules();
    Criterion::default().configure_from_args().final_summary();
}
