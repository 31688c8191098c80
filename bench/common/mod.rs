//! Shared setup of the benchmarks: a generated bank of a chosen size, built
//! once and reused, and a raw sled tree of the same size as the baseline.
//!
//! Environment:
//! - `KITH_BENCH_PERSONS`: persons in the bank (default 1,000,000).
//! - `KITH_BENCH_DIR`: where databases are kept (default `target/kith-bench`).
//! - `KITH_BENCH_ENGINE`: the storage engine of the bank (`sled`, the
//!   default, `fjall` or `redb`); each engine's bank is its own database.
#![allow(dead_code)]

use kith::generate::{generate_bank, BankConfig, Rng};
use kith::{Db, Durability, EntityId, EntityKind, StorageEngine};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Cache budget for both kith and the raw sled baseline.
pub const CACHE_BYTES: u64 = 2 << 30;

/// A number from the environment (`1_000_000` and `1000000` alike), or
/// `default` when the variable is unset. A value that is not a whole number
/// stops the run with its name, rather than measuring something else than
/// was asked.
pub fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Err(_) => default,
        Ok(s) => s.replace('_', "").parse().unwrap_or_else(|_| {
            panic!("{name}={s:?} is not a whole number (such as 100000 or 100_000)")
        }),
    }
}

pub fn persons() -> u64 {
    env_u64("KITH_BENCH_PERSONS", 1_000_000)
}

/// The engine of the banks: `KITH_BENCH_ENGINE`, sled by default. A name
/// that is no engine of this build stops the run naming it.
pub fn engine() -> StorageEngine {
    match std::env::var("KITH_BENCH_ENGINE") {
        Err(_) => StorageEngine::default(),
        Ok(s) => s
            .parse()
            .unwrap_or_else(|e| panic!("KITH_BENCH_ENGINE={s:?}: {e}")),
    }
}

/// A bank's file name: sled's banks keep the names they always had.
fn bank_name(name: String) -> String {
    match engine() {
        StorageEngine::Sled => name,
        e => format!("{name}-{e}"),
    }
}

/// Where benchmark databases are kept: `KITH_BENCH_DIR`, `target/kith-bench` by default.
pub fn base_dir() -> PathBuf {
    std::env::var_os("KITH_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/kith-bench"))
}

/// Interactions per person in banks made with [`bank_with_interactions`]
/// (`KITH_BENCH_INTERACTIONS`, default 10).
pub fn interactions() -> u64 {
    env_u64("KITH_BENCH_INTERACTIONS", 10)
}

/// The bank of `persons()` persons without interactions, generated on first use.
pub fn bank() -> (Db, PathBuf) {
    bank_of(persons(), 0)
}

/// The bank of `persons()` persons with `interactions()` each.
pub fn bank_with_interactions() -> (Db, PathBuf) {
    bank_of(persons(), interactions())
}

/// The bank of `n` persons with `per_person` interactions each, generated on first use.
pub fn bank_of(n: u64, per_person: u64) -> (Db, PathBuf) {
    let name = bank_name(if per_person == 0 {
        format!("bank-{n}")
    } else {
        format!("bank-{n}-i{per_person}")
    });
    let dir = base_dir().join(&name);
    let done = base_dir().join(format!("{name}.complete"));
    if !done.exists() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(base_dir()).unwrap();
        let db = Db::builder()
            .path(&dir)
            .engine(engine())
            .cache_bytes(CACHE_BYTES)
            .durability(Durability::Background { every_ms: 1000 })
            .open()
            .unwrap();
        eprintln!("generating a bank of {n} persons in {} …", dir.display());
        let t = Instant::now();
        let s = generate_bank(
            &db,
            &BankConfig {
                persons: n,
                seed: 42,
                interactions_per_person: per_person,
            },
            |_| {},
        )
        .unwrap();
        db.flush().unwrap();
        eprintln!("generated in {:.1} s: {s:?}", t.elapsed().as_secs_f64());
        drop(db);
        std::fs::write(&done, format!("{s:?}\n")).unwrap();
    }
    let db = Db::builder()
        .path(&dir)
        .cache_bytes(CACHE_BYTES)
        .durability(Durability::Background { every_ms: 1000 })
        .open()
        .unwrap();
    (db, dir)
}

/// Keys and logical bytes (keys + values) of the bank's store, from
/// `Db::check` (slow at scale: the result is cached beside the bank).
pub fn store_shape(db: &Db) -> (u64, u64) {
    let n = persons();
    let path = base_dir().join(format!("{}.shape", bank_name(format!("bank-{n}"))));
    if let Some((k, b)) = std::fs::read_to_string(&path).ok().and_then(|s| {
        let (k, b) = s.trim().split_once(' ')?;
        Some((k.parse().ok()?, b.parse().ok()?))
    }) {
        return (k, b);
    }
    eprintln!("measuring the store's shape with check() …");
    let r = db.check().unwrap();
    assert!(
        r.is_ok(),
        "bench database fails check: {:?}",
        &r.violations[..r.violations.len().min(5)]
    );
    std::fs::write(&path, format!("{} {}\n", r.keys, r.logical_bytes)).unwrap();
    (r.keys, r.logical_bytes)
}

/// Every id of one kind.
pub fn ids_of(db: &Db, kind: EntityKind) -> Vec<EntityId> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = db.list(kind, after, 100_000).unwrap();
        out.extend(page.ids);
        match page.next {
            Some(n) => after = Some(n),
            None => return out,
        }
    }
}

/// A raw sled tree with `keys` keys shaped like kith's entity keys (9 bytes)
/// and values of `value_len` bytes: the baseline every lookup is compared with.
pub fn raw_sled(keys: u64, value_len: usize) -> sled::Db {
    let dir = base_dir().join(format!("raw-sled-{keys}-{value_len}"));
    let done = base_dir().join(format!("raw-sled-{keys}-{value_len}.complete"));
    if !done.exists() {
        let _ = std::fs::remove_dir_all(&dir);
        eprintln!("building a raw sled tree of {keys} keys and {value_len}-byte values …");
        // A small cache and regular flushes while loading: sled's memory
        // grows far past its cache during a bulk load otherwise.
        let db = sled::Config::new()
            .path(&dir)
            .cache_capacity(256 << 20)
            .open()
            .unwrap();
        let mut r = Rng::new(7);
        for k in 0..keys {
            let value: Vec<u8> = (0..value_len).map(|_| r.next_u64() as u8).collect();
            db.insert(&raw_key(k)[..], value).unwrap();
            if k % 1_000_000 == 999_999 {
                db.flush().unwrap();
                eprintln!("  {} keys, peak RSS {:.0} MiB", k + 1, peak_rss_mib());
            }
        }
        db.flush().unwrap();
        drop(db);
        std::fs::write(&done, "").unwrap();
    }
    sled::Config::new()
        .path(&dir)
        .cache_capacity(CACHE_BYTES)
        .open()
        .unwrap()
}

pub fn raw_key(k: u64) -> [u8; 9] {
    let mut key = [1u8; 9];
    key[1..].copy_from_slice(&(k + 1).to_be_bytes());
    key
}

/// `count` draws from `0..n`, deterministic.
pub fn draws(n: u64, count: usize, seed: u64) -> Vec<u64> {
    let mut r = Rng::new(seed);
    (0..count).map(|_| r.below(n)).collect()
}

/// Latency percentiles of single operations, in microseconds.
#[derive(Debug, Clone)]
pub struct Percentiles {
    pub name: String,
    pub samples: usize,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

/// Times `op` once per input, alone (the clock read is the only overhead).
pub fn percentiles<T>(name: &str, inputs: &[T], mut op: impl FnMut(&T)) -> Percentiles {
    let mut lat: Vec<Duration> = Vec::with_capacity(inputs.len());
    for x in inputs {
        let t = Instant::now();
        op(x);
        lat.push(t.elapsed());
    }
    lat.sort();
    let at = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)].as_secs_f64() * 1e6;
    Percentiles {
        name: name.to_string(),
        samples: lat.len(),
        p50: at(0.50),
        p90: at(0.90),
        p99: at(0.99),
        p999: at(0.999),
        max: lat.last().unwrap().as_secs_f64() * 1e6,
    }
}

/// Prints a markdown table of percentiles with the ratio of each median and
/// p99 to the baseline row, and saves it under the bench directory.
pub fn report(title: &str, rows: &[Percentiles], baseline: &Percentiles) {
    let mut s = format!(
        "\n### {title}\n\n| operation | samples | p50 µs | p90 µs | p99 µs | p99.9 µs | max µs | p50 / baseline | p99 / baseline |\n|---|---|---|---|---|---|---|---|---|\n"
    );
    for r in rows {
        s += &format!(
            "| {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.0} | {:.2}x | {:.2}x |\n",
            r.name,
            r.samples,
            r.p50,
            r.p90,
            r.p99,
            r.p999,
            r.max,
            r.p50 / baseline.p50,
            r.p99 / baseline.p99
        );
    }
    println!("{s}");
    let path = base_dir().join(format!("{}.md", title.replace(' ', "-")));
    let _ = std::fs::write(path, s);
}

/// Peak resident set size of this process, in MiB (Linux).
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}
