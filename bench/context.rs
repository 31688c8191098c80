//! Traversal and customer-context benchmarks at scale: the context assembled
//! and from the cache, the household, the guarantor network to depth 7, the
//! 2-hop neighbourhood — beside raw sled `get` on the same store's engine
//! shape (see bench/store.rs) and a plain `get` by id in the same run.
//!
//! `cargo bench --bench context` (1,000,000 persons with 10 interactions each
//! by default: `KITH_BENCH_PERSONS`, `KITH_BENCH_INTERACTIONS`).

mod common;

use common::*;
use criterion::{criterion_group, Criterion};
use kith::traverse::{Follow, TraverseSpec};
use kith::{ContextOptions, EntityKind, RelKind};
use std::hint::black_box;

fn benches(c: &mut Criterion) {
    let (db, dir) = bank_with_interactions();
    let persons = ids_of(&db, EntityKind::PERSON);
    let n = persons.len() as u64;
    eprintln!("bank at {}: {n} persons", dir.display());
    if std::env::var_os("KITH_BENCH_SETUP_ONLY").is_some() {
        return;
    }
    const N: usize = 20_000;
    let draws: Vec<_> = draws(n, N, 11)
        .into_iter()
        .map(|i| persons[i as usize])
        .collect();
    let opts = ContextOptions::default();
    let two_hop = TraverseSpec::new(
        &[
            RelKind::MEMBER_OF,
            RelKind::OWNS,
            RelKind::SPOUSE_OF,
            RelKind::GUARANTEES,
        ],
        Follow::Both,
        2,
    );
    // Warm the cache the same way for every operation.
    for id in &draws {
        black_box(db.context_uncached(*id, &opts).unwrap());
    }
    let mut g = c.benchmark_group(format!("context/{n}-persons"));
    let mut i = 0usize;
    let mut next = || {
        i = (i + 1) % N;
        i
    };
    g.bench_function("get by id (reference)", |b| {
        b.iter(|| black_box(db.get(draws[next()]).unwrap()))
    });
    g.bench_function("context, assembled", |b| {
        b.iter(|| black_box(db.context_uncached(draws[next()], &opts).unwrap()))
    });
    g.bench_function("household", |b| {
        b.iter(|| black_box(db.household(draws[next()]).unwrap()))
    });
    g.bench_function("guarantors, depth 7", |b| {
        b.iter(|| black_box(db.guarantors(draws[next()], 7).unwrap()))
    });
    g.bench_function("2-hop neighbourhood", |b| {
        b.iter(|| black_box(db.traverse(draws[next()], &two_hop).unwrap()))
    });
    g.finish();

    let baseline = percentiles("get by id (reference)", &draws, |id| {
        black_box(db.get(*id).unwrap());
    });
    let mut rows = vec![
        baseline.clone(),
        percentiles("context, assembled", &draws, |id| {
            black_box(db.context_uncached(*id, &opts).unwrap());
        }),
    ];
    // Cached: fill, then measure hits.
    let small: Vec<_> = draws.iter().take(5_000).copied().collect();
    for id in &small {
        black_box(db.context(*id).unwrap());
    }
    rows.push(percentiles("context, cached", &small, |id| {
        black_box(db.context(*id).unwrap());
    }));
    rows.push(percentiles("household", &draws, |id| {
        black_box(db.household(*id).unwrap());
    }));
    rows.push(percentiles("guarantors, depth 7", &draws, |id| {
        black_box(db.guarantors(*id, 7).unwrap());
    }));
    rows.push(percentiles("2-hop neighbourhood", &draws, |id| {
        black_box(db.traverse(*id, &two_hop).unwrap());
    }));
    // Relationship counts of the customers drawn (the context target is for up to 50).
    let mut most = 0;
    for id in draws.iter().take(2_000) {
        let k = db.edges(*id, kith::Direction::Out).unwrap().len()
            + db.edges(*id, kith::Direction::In).unwrap().len();
        most = most.max(k);
    }
    eprintln!("most relationships of a drawn customer (first 2,000): {most}");
    report(&format!("context latency at {n} persons"), &rows, &baseline);
    println!("peak RSS of this process: {:.0} MiB", peak_rss_mib());
}

criterion_group! {
    name = context;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(4));
    targets = benches
}

fn main() {
    context();
    Criterion::default().configure_from_args().final_summary();
}
