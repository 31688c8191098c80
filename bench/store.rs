//! Core store benchmarks at scale: get by id, lookup by `(system, key)`,
//! lookup by email, neighbours of one kind — each beside its engine floor
//! (the same engine reading the same keys of the same store, without kith's
//! decoding: `Db::raw_floor`), and on sled also beside raw sled `get` on a
//! tree of the same size, measured in the same run.
//!
//! `cargo bench --bench store` (1,000,000 persons; the first run generates
//! the bank, about ten minutes). Smaller: `KITH_BENCH_PERSONS=100000`.
//! Another engine: `KITH_BENCH_ENGINE=fjall` or `redb` (its own bank).
//! After criterion's figures it prints per-operation latency percentiles.

mod common;

use common::*;
use criterion::{criterion_group, Criterion};
use kith::{Direction, EntityKind, Index, RelKind, StorageEngine};
use std::hint::black_box;

fn benches(c: &mut Criterion) {
    let (db, dir) = bank();
    eprintln!("opened; peak RSS {:.0} MiB", peak_rss_mib());
    let persons = ids_of(&db, EntityKind::PERSON);
    eprintln!("listed persons; peak RSS {:.0} MiB", peak_rss_mib());
    let n_persons = persons.len() as u64;
    let entities: u64 = db.stats().unwrap().entities.values().sum();
    let engine = engine();
    let floor = db.raw_floor();
    // On sled, two more baselines. 1: a raw sled tree of the same size as
    // kith's whole store — as many keys, as many bytes — so both trees have
    // the same depth and cache pressure. 2: as many keys as kith has
    // entities, each the size of a stored person (about 330 bytes).
    let (keys, bytes) = store_shape(&db);
    let raws = (engine == StorageEngine::Sled).then(|| {
        (
            raw_sled(keys, (bytes / keys).saturating_sub(9).max(1) as usize),
            raw_sled(entities, 330),
        )
    });
    eprintln!(
        "bank at {} ({engine}): {} persons, {} entities, {} keys, {} MiB logical",
        dir.display(),
        n_persons,
        entities,
        keys,
        bytes >> 20,
    );
    if std::env::var_os("KITH_BENCH_SETUP_ONLY").is_some() {
        return;
    }
    const N: usize = 200_000;
    let person_draws: Vec<_> = draws(n_persons, N, 1)
        .into_iter()
        .map(|i| persons[i as usize])
        .collect();
    let index_draws = draws(n_persons, N, 2);
    let core_keys: Vec<String> = index_draws
        .iter()
        .map(|i| kith::generate::core_key(*i))
        .collect();
    let emails: Vec<String> = index_draws
        .iter()
        .map(|i| kith::generate::email(*i))
        .collect();
    let raw_keys: Vec<[u8; 9]> = draws(keys, N, 3).into_iter().map(raw_key).collect();
    let raw_entity_keys: Vec<[u8; 9]> = draws(entities, N, 4).into_iter().map(raw_key).collect();

    // Warm every cache the same way.
    if let Some((raw, raw_entities)) = &raws {
        for k in &raw_keys {
            black_box(raw.get(k).unwrap());
        }
        for k in &raw_entity_keys {
            black_box(raw_entities.get(k).unwrap());
        }
    }
    for id in &person_draws {
        black_box(db.get(*id).unwrap());
    }

    let mut g = c.benchmark_group(match engine {
        StorageEngine::Sled => format!("store/{n_persons}-persons"),
        e => format!("store/{e}/{n_persons}-persons"),
    });
    let mut i = 0usize;
    let mut next = || {
        i = (i + 1) % N;
        i
    };
    if let Some((raw, raw_entities)) = &raws {
        g.bench_function("raw sled get (baseline: same keys and bytes)", |b| {
            b.iter(|| black_box(raw.get(raw_keys[next()]).unwrap()))
        });
        g.bench_function("raw sled get, entity-sized tree", |b| {
            b.iter(|| black_box(raw_entities.get(raw_entity_keys[next()]).unwrap()))
        });
    }
    g.bench_function("engine floor: get", |b| {
        b.iter(|| black_box(floor.get_len(person_draws[next()]).unwrap()))
    });
    g.bench_function("engine floor: lookup", |b| {
        b.iter(|| {
            black_box(
                floor
                    .lookup_len("core_banking", &core_keys[next()])
                    .unwrap(),
            )
        })
    });
    g.bench_function("engine floor: neighbours OWNS out", |b| {
        b.iter(|| {
            black_box(
                floor
                    .neighbours_len(person_draws[next()], RelKind::OWNS, Direction::Out)
                    .unwrap(),
            )
        })
    });
    g.bench_function("get by id", |b| {
        b.iter(|| black_box(db.get(person_draws[next()]).unwrap()))
    });
    g.bench_function("lookup (system, key)", |b| {
        b.iter(|| black_box(db.lookup("core_banking", &core_keys[next()]).unwrap()))
    });
    g.bench_function("find by email", |b| {
        b.iter(|| black_box(db.find(Index::Email, &emails[next()]).unwrap()))
    });
    g.bench_function("neighbours OWNS out", |b| {
        b.iter(|| {
            black_box(
                db.neighbours(person_draws[next()], RelKind::OWNS, Direction::Out)
                    .unwrap(),
            )
        })
    });
    g.finish();

    let floors = [
        percentiles("engine floor: get", &person_draws, |id| {
            black_box(floor.get_len(*id).unwrap());
        }),
        percentiles("engine floor: lookup", &core_keys, |k| {
            black_box(floor.lookup_len("core_banking", k).unwrap());
        }),
        percentiles("engine floor: neighbours OWNS out", &person_draws, |id| {
            black_box(
                floor
                    .neighbours_len(*id, RelKind::OWNS, Direction::Out)
                    .unwrap(),
            );
        }),
    ];
    let ops = [
        percentiles("get by id", &person_draws, |id| {
            black_box(db.get(*id).unwrap());
        }),
        percentiles("lookup (system, key)", &core_keys, |k| {
            black_box(db.lookup("core_banking", k).unwrap());
        }),
        percentiles("neighbours OWNS out", &person_draws, |id| {
            black_box(db.neighbours(*id, RelKind::OWNS, Direction::Out).unwrap());
        }),
    ];
    let mut t = format!(
        "\n### {engine}: each read beside its engine floor at {n_persons} persons\n\n| operation | p50 µs | p99 µs | floor p50 µs | floor p99 µs | p50 / floor | p99 / floor |\n|---|---|---|---|---|---|---|\n"
    );
    for (o, f) in ops.iter().zip(&floors) {
        t += &format!(
            "| {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2}x | {:.2}x |\n",
            o.name,
            o.p50,
            o.p99,
            f.p50,
            f.p99,
            o.p50 / f.p50,
            o.p99 / f.p99
        );
    }
    println!("{t}");
    let baseline = match &raws {
        Some((raw, _)) => percentiles(
            "raw sled get (baseline: same keys and bytes)",
            &raw_keys,
            |k| {
                black_box(raw.get(k).unwrap());
            },
        ),
        None => floors[0].clone(),
    };
    let mut rows = vec![baseline.clone()];
    if let Some((_, raw_entities)) = &raws {
        rows.push(percentiles(
            "raw sled get, entity-sized tree",
            &raw_entity_keys,
            |k| {
                black_box(raw_entities.get(k).unwrap());
            },
        ));
    }
    rows.extend(ops);
    rows.push(percentiles("find by email", &emails, |e| {
        black_box(db.find(Index::Email, e).unwrap());
    }));
    report(
        &format!("store latency ({engine}) at {n_persons} persons"),
        &rows,
        &baseline,
    );
    println!(
        "kith disk ({engine}): {:.0} MiB; peak RSS of this process: {:.0} MiB",
        db.disk_bytes().unwrap() as f64 / 1048576.0,
        peak_rss_mib()
    );
    if let Some((raw, raw_entities)) = &raws {
        println!(
            "raw sled disk: {:.0} and {:.0} MiB",
            raw.size_on_disk().unwrap() as f64 / 1048576.0,
            raw_entities.size_on_disk().unwrap() as f64 / 1048576.0,
        );
    }
}

criterion_group! {
    name = store;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(4));
    targets = benches
}

fn main() {
    store();
    Criterion::default().configure_from_args().final_summary();
}
