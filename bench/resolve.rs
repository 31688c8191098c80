//! Identity resolution: normalization, scoring, and resolving one incoming
//! record into a store that already holds many.
//!
//! Environment:
//! - `KITH_BENCH_RECORDS`: records loaded before resolving (default 100,000);
//!   the store is built once under `KITH_BENCH_DIR` (default
//!   `target/kith-bench`) as `resolve-<n>` and reused.
//! - `KITH_BENCH_RESOLVE_DB`: use this existing store instead (for example
//!   the 1,000,000-record store `bench/records/score.py` leaves behind);
//!   resolved records are added to it under the system `bench` and removed
//!   again (through `delete_record`) at the end of the run.
//! - `KITH_BENCH_MAX_BLOCK`: the largest block compared when resolving
//!   (`ResolveConfig::max_block`, default 50).
//! - `KITH_BENCH_CACHE_MIB`: the store's page cache (default 1,024).
//! - `KITH_BENCH_PREWARM`: when set, read the whole store into the cache
//!   (`Db::prewarm`) before measuring, as a service that has been running
//!   a while would have it; otherwise the cache starts cold.
//! - `KITH_BENCH_FLOOR_RECORDS`: records the engine floors write (default
//!   100,000, into an empty tree).
//!
//! Besides criterion's figures, the resolve group prints the latency
//! percentiles of 5,000 single resolutions (p50, p90, p99, max), with a 1 GiB
//! cache (unless told otherwise) and background durability (flushed every
//! second; with immediate durability every resolution also waits for its
//! fsyncs). The `floor`
//! lines are the engine's own write rate for the same keys — one record per
//! batch, as kith writes them, and 100 records per batch — measured in the
//! same run.

mod common;

use common::env_u64;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use kith::generate::{generate_records, RecordsConfig};
use kith::resolve::compare::{blocking_keys_with, compare_with, Frequencies, Rules};
use kith::resolve::{normalize, ResolveConfig};
use kith::{attrs as a, Attrs, Db, Durability, EntityKind, Value};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn record(row: &csv::StringRecord) -> Attrs {
    let mut out = Attrs::new();
    let cols = [
        (2, a::GIVEN_NAME),
        (3, a::FAMILY_NAME),
        (4, a::HOUSE_NUMBER),
        (5, a::STREET),
        (6, a::UNIT),
        (7, a::CITY),
        (8, a::POSTAL_CODE),
        (9, a::REGION),
        (11, a::PHONE),
        (12, a::NATIONAL_ID),
        (13, a::EMAIL),
    ];
    for (i, name) in cols {
        if !row[i].is_empty() {
            out.insert(name.into(), Value::Text(row[i].to_string()));
        }
    }
    if let Some(d) = normalize::date(&row[10], &["compact"]) {
        out.insert(a::BIRTH_DATE.into(), Value::Date(d));
    }
    out
}

/// `n` generated records plus 10,000 more to resolve, as (key, attrs).
fn rows(n: u64) -> Vec<(String, Attrs)> {
    let mut buf = Vec::new();
    generate_records(
        &RecordsConfig {
            records: n + 10_000,
            ..RecordsConfig::default()
        },
        &mut buf,
    )
    .unwrap();
    csv::Reader::from_reader(&buf[..])
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_string(), record(&r))
        })
        .collect()
}

/// The page cache of the store resolved into: `KITH_BENCH_CACHE_MIB`, 1 GiB by default.
fn cache_bytes() -> u64 {
    env_u64("KITH_BENCH_CACHE_MIB", 1024) << 20
}

fn store(rows: &[(String, Attrs)], n: u64) -> Db {
    if let Some(p) = std::env::var_os("KITH_BENCH_RESOLVE_DB") {
        return Db::builder()
            .path(PathBuf::from(p))
            .cache_bytes(cache_bytes())
            .durability(Durability::Background { every_ms: 1000 })
            .open()
            .unwrap();
    }
    let dir = common::base_dir().join(format!("resolve-{n}"));
    let done = dir.join("LOADED");
    let db = Db::builder()
        .path(&dir)
        .cache_bytes(cache_bytes())
        .durability(Durability::Background { every_ms: 1000 })
        .open()
        .unwrap();
    if !done.exists() {
        eprintln!("loading {n} records into {} (once)", dir.display());
        let cfg = ResolveConfig::default();
        for (key, attrs) in &rows[..n as usize] {
            db.upsert_record("gen", key, EntityKind::PERSON, attrs.clone(), &cfg)
                .unwrap();
        }
        db.flush().unwrap();
        std::fs::write(&done, b"").unwrap();
    }
    db
}

fn bench(c: &mut Criterion) {
    let n = env_u64("KITH_BENCH_RECORDS", 100_000);
    let rows = rows(n);
    let (x, y) = (&rows[0].1, &rows[1].1);

    let mut g = c.benchmark_group("normalize");
    g.bench_function("name", |b| {
        b.iter(|| normalize::name(black_box("  José-María O'Neil ")))
    });
    g.bench_function("organization_name", |b| {
        b.iter(|| normalize::organization_name(black_box("The Acme Widgets Company, Inc.")))
    });
    g.bench_function("soundex", |b| {
        b.iter(|| normalize::soundex(black_box("ashcraft")))
    });
    g.bench_function("date_eu", |b| {
        b.iter(|| normalize::date(black_box("04/03/1970"), &["iso", "compact", "eu"]))
    });
    g.finish();

    let rules = Rules::default();
    let mut g = c.benchmark_group("score");
    g.bench_function("compare_pair", |b| {
        b.iter(|| compare_with(&rules, black_box(x), black_box(y), &Frequencies::default()))
    });
    g.bench_function("blocking_keys", |b| {
        b.iter(|| blocking_keys_with(&rules, black_box(x)))
    });
    g.finish();

    // Resolving one record: the rows after the loaded ones (duplicates of
    // loaded people and new people alike), each under a fresh key.
    let db = store(&rows, n);
    if std::env::var_os("KITH_BENCH_PREWARM").is_some() {
        println!("prewarmed: {}", db.prewarm().unwrap());
    }
    let mut cfg = ResolveConfig::default();
    cfg.max_block = env_u64("KITH_BENCH_MAX_BLOCK", cfg.max_block as u64) as usize;
    let pending: Vec<&Attrs> = rows[rows.len() - 10_000..].iter().map(|r| &r.1).collect();
    let run = std::process::id();
    let mut i = 0usize;
    let mut g = c.benchmark_group("resolve");
    g.sample_size(20).measurement_time(Duration::from_secs(10));
    g.bench_function(format!("upsert_record_{n}"), |b| {
        b.iter(|| {
            let attrs = pending[i % pending.len()].clone();
            i += 1;
            db.upsert_record(
                "bench",
                &format!("{run}-{i}"),
                EntityKind::PERSON,
                attrs,
                &cfg,
            )
            .unwrap()
        })
    });
    g.finish();
    let mut lat = Vec::with_capacity(5_000);
    for _ in 0..5_000 {
        let attrs = pending[i % pending.len()].clone();
        i += 1;
        let t = Instant::now();
        db.upsert_record(
            "bench",
            &format!("{run}-{i}"),
            EntityKind::PERSON,
            attrs,
            &cfg,
        )
        .unwrap();
        lat.push(t.elapsed());
    }
    lat.sort();
    let q = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    println!(
        "resolve one record into {n} stored: p50 {:?} p90 {:?} p99 {:?} max {:?} (5,000 resolutions)",
        q(0.5),
        q(0.9),
        q(0.99),
        lat[lat.len() - 1]
    );
    // Leave the store as it was found, so that the next run measures the
    // same thing (resolutions added to it would make customers grow run
    // after run): deleting the records splits what they merged.
    eprintln!("removing the {i} records this run resolved");
    for k in 1..=i {
        db.delete_record("bench", &format!("{run}-{k}"), &cfg)
            .unwrap();
    }
    db.flush().unwrap();
}

/// The engine's floor for the same writes: raw sled taking each record's
/// stored keys — as many, and as large, as kith keeps per resolved record
/// (24.5 keys, 1.2 KB, measured on the generated 100,000-record store) — in
/// one atomic batch per `per_batch` records, with no reads and no resolution
/// at all.
fn engine_floor(records: usize, per_batch: usize) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let db = sled::Config::new()
        .path(dir.path())
        .cache_capacity(512 << 20) // as `bench/records/score.py` gives the import
        .flush_every_ms(Some(1000))
        .open()
        .unwrap();
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let t = Instant::now();
    let mut b = sled::Batch::default();
    for r in 0..records {
        // The source record and (for one record in two) a new customer.
        b.insert(
            &[&[1u8][..], &(r as u64 * 2).to_be_bytes()].concat()[..],
            vec![7u8; 600],
        );
        if r % 2 == 0 {
            b.insert(
                &[&[1u8][..], &(r as u64 * 2 + 1).to_be_bytes()].concat()[..],
                vec![7u8; 400],
            );
        }
        // Index, adjacency, identifier and listing rows: short random keys.
        for _ in 0..23 {
            let k = [
                &[4u8][..],
                &next().to_be_bytes(),
                &next().to_be_bytes()[..5],
            ]
            .concat();
            b.insert(k, &[1u8][..]);
        }
        if (r + 1) % per_batch == 0 || r + 1 == records {
            db.apply_batch(std::mem::take(&mut b)).unwrap();
        }
    }
    records as f64 / t.elapsed().as_secs_f64()
}

fn floor(c: &mut Criterion) {
    let _ = c;
    let n = env_u64("KITH_BENCH_FLOOR_RECORDS", 100_000) as usize;
    println!(
        "engine floor: raw sled writes {:.0} records/s (each record's 24.5 keys and 1.2 KB in one batch, {n} records, no reads)",
        engine_floor(n, 1)
    );
    // What gathering many records into one write would at best give. At
    // most 100,000 records: asked for 1,000,000 with batches of this size,
    // sled's resident memory passed 24 GiB and the process was killed.
    let m = n.min(100_000);
    println!(
        "engine floor, batched: raw sled writes {:.0} records/s (the same keys, 100 records per batch, {m} records, no reads)",
        engine_floor(m, 100)
    );
}

criterion_group!(benches, bench, floor);
criterion_main!(benches);
