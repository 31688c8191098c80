//! `kith bench`: latency of lookups on the user's own database, in-process.
//!
//! Keys are drawn from what the database holds (uniform or Zipf-skewed), or
//! read from a file; each operation is timed alone and recorded in an HDR
//! histogram; the loop's own overhead is measured once with an empty
//! operation and reported beside the results.

use kith::generate::Rng;
use kith::traverse::{Follow, TraverseSpec};
use kith::{attrs, ContextOptions, Db, Direction, EntityId, EntityKind, Index, RelKind};
use serde_json::json;
use std::time::Instant;

/// What to measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Workload {
    /// Get an entity by id.
    Get,
    /// Look up a party by one of its (system, key) identifiers.
    Lookup,
    /// Find a party by email.
    Find,
    /// A party's accounts (OWNS, out).
    Neighbours,
    /// The 2-hop neighbourhood over MEMBER_OF, OWNS, SPOUSE_OF, GUARANTEES, both ways.
    TwoHop,
    /// The household with members and their accounts.
    Household,
    /// The guarantor network to depth 7.
    Guarantors,
    /// The customer context, assembled afresh.
    Context,
    /// The customer context through the cache (warm).
    ContextCached,
    /// Nothing: the loop's own overhead.
    Empty,
}

/// How keys are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Distribution {
    /// Every party equally often.
    Uniform,
    /// Zipf (s = 1): a few hot customers get most lookups.
    Zipf,
}

/// Options of one run.
pub struct Options {
    pub workload: Workload,
    pub ops: u64,
    pub warmup: u64,
    pub threads: usize,
    pub seed: u64,
    pub distribution: Distribution,
    pub ids: Option<Vec<EntityId>>,
    pub json: bool,
}

struct Keys {
    ids: Vec<EntityId>,
    lookups: Vec<(String, String)>,
    emails: Vec<String>,
}

fn parties(db: &Db) -> Result<Vec<EntityId>, kith::ReadError> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = db.list(EntityKind::PERSON, after, 100_000)?;
        out.extend(page.ids);
        match page.next {
            Some(n) => after = Some(n),
            None => return Ok(out),
        }
    }
}

fn zipf_cdf(n: usize) -> Vec<f64> {
    let mut cdf = Vec::with_capacity(n);
    let mut sum = 0.0;
    for k in 1..=n {
        sum += 1.0 / k as f64;
        cdf.push(sum);
    }
    for c in &mut cdf {
        *c /= sum;
    }
    cdf
}

/// Percentiles of a histogram of nanoseconds, in microseconds.
pub fn summary(h: &hdrhistogram::Histogram<u64>) -> serde_json::Value {
    let us = |ns: u64| ns as f64 / 1000.0;
    json!({
        "count": h.len(),
        "p50_us": us(h.value_at_quantile(0.50)),
        "p90_us": us(h.value_at_quantile(0.90)),
        "p99_us": us(h.value_at_quantile(0.99)),
        "p999_us": us(h.value_at_quantile(0.999)),
        "max_us": us(h.max()),
        "mean_us": h.mean() / 1000.0,
    })
}

fn run_op(
    db: &Db,
    w: Workload,
    keys: &Keys,
    i: usize,
    spec: &TraverseSpec,
    opts: &ContextOptions,
) -> Result<(), String> {
    let id = keys.ids[i];
    let r: Result<(), String> = match w {
        Workload::Get => db.get(id).map(|_| ()).map_err(|e| e.to_string()),
        Workload::Lookup => {
            let (s, k) = &keys.lookups[i];
            db.lookup(s, k).map(|_| ()).map_err(|e| e.to_string())
        }
        Workload::Find => db
            .find(Index::Email, &keys.emails[i])
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Workload::Neighbours => db
            .neighbours(id, RelKind::OWNS, Direction::Out)
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Workload::TwoHop => db.traverse(id, spec).map(|_| ()).map_err(|e| e.to_string()),
        Workload::Household => db.household(id).map(|_| ()).map_err(|e| e.to_string()),
        Workload::Guarantors => db.guarantors(id, 7).map(|_| ()).map_err(|e| e.to_string()),
        Workload::Context => db
            .context_uncached(id, opts)
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Workload::ContextCached => db.context(id).map(|_| ()).map_err(|e| e.to_string()),
        Workload::Empty => Ok(()),
    };
    r
}

/// Runs the benchmark and prints the report.
pub fn run(db: &Db, o: Options) -> Result<i32, Box<dyn std::error::Error>> {
    let t0 = Instant::now();
    let all = match &o.ids {
        Some(ids) => ids.clone(),
        None => parties(db)?,
    };
    if all.is_empty() {
        return Err("the database holds no persons to draw keys from".into());
    }
    let total = (o.ops + o.warmup) as usize;
    let mut r = Rng::new(o.seed);
    let cdf = (o.distribution == Distribution::Zipf).then(|| zipf_cdf(all.len()));
    let draw = |r: &mut Rng| -> EntityId {
        match &cdf {
            None => all[r.below(all.len() as u64) as usize],
            Some(c) => {
                let u = (r.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
                all[c.partition_point(|x| *x < u).min(all.len() - 1)]
            }
        }
    };
    let ids: Vec<EntityId> =
        if o.ids.is_some() && o.distribution == Distribution::Uniform && total <= all.len() {
            all[..total].to_vec()
        } else {
            (0..total).map(|_| draw(&mut r)).collect()
        };
    let mut keys = Keys {
        ids,
        lookups: Vec::new(),
        emails: Vec::new(),
    };
    if matches!(o.workload, Workload::Lookup | Workload::Find) {
        for id in &keys.ids {
            let e = db
                .get(*id)?
                .ok_or_else(|| format!("entity {id} vanished"))?;
            let x = e
                .identifiers()
                .into_iter()
                .next()
                .ok_or_else(|| format!("entity {id} has no identifier"))?;
            keys.lookups.push((x.system, x.key));
            keys.emails
                .push(e.text(attrs::EMAIL).unwrap_or("").to_string());
        }
    }
    let setup = t0.elapsed();
    let spec = TraverseSpec::new(
        &[
            RelKind::MEMBER_OF,
            RelKind::OWNS,
            RelKind::SPOUSE_OF,
            RelKind::GUARANTEES,
        ],
        Follow::Both,
        2,
    );
    let copts = ContextOptions::default();
    let warm = o.warmup as usize;
    // Warm-up (and, for the cached context, fill the cache).
    for i in 0..warm {
        let _ = run_op(db, o.workload, &keys, i, &spec, &copts);
    }
    if o.workload == Workload::ContextCached {
        for i in warm..total {
            let _ = run_op(db, o.workload, &keys, i, &spec, &copts);
        }
    }
    let threads = o.threads.max(1);
    let per = (total - warm).div_ceil(threads);
    let started = Instant::now();
    let results: Vec<(hdrhistogram::Histogram<u64>, u64, Option<String>)> =
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let (keys, spec, copts) = (&keys, &spec, &copts);
                    s.spawn(move || {
                        let mut h = new_histogram();
                        let mut errors = 0u64;
                        let mut first_error = None;
                        let lo = warm + t * per;
                        let hi = (lo + per).min(total);
                        for i in lo..hi {
                            let t = Instant::now();
                            let r = run_op(db, o.workload, keys, i, spec, copts);
                            let ns = t.elapsed().as_nanos() as u64;
                            match r {
                                Ok(()) => h.saturating_record(ns.max(1)),
                                Err(e) => {
                                    errors += 1;
                                    first_error.get_or_insert(e);
                                }
                            }
                        }
                        (h, errors, first_error)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("bench thread"))
                .collect()
        });
    let elapsed = started.elapsed();
    let mut hist = new_histogram();
    let mut errors = 0;
    let mut first_error = None;
    for (h, e, fe) in results {
        hist.add(&h).expect("same precision");
        errors += e;
        if first_error.is_none() {
            first_error = fe;
        }
    }
    // The loop's own overhead: an empty operation through the same loop.
    let mut overhead = new_histogram();
    for i in 0..(total - warm).min(100_000) {
        let t = Instant::now();
        let _ = run_op(db, Workload::Empty, &keys, i, &spec, &copts);
        overhead.saturating_record((t.elapsed().as_nanos() as u64).max(1));
    }
    let ops_done = hist.len() + errors;
    let report = json!({
        "workload": format!("{:?}", o.workload).to_lowercase(),
        "distribution": format!("{:?}", o.distribution).to_lowercase(),
        "threads": threads,
        "operations": ops_done,
        "errors": errors,
        "first_error": first_error,
        "seconds": elapsed.as_secs_f64(),
        "throughput_per_s": ops_done as f64 / elapsed.as_secs_f64().max(1e-9),
        "latency": summary(&hist),
        "loop_overhead": summary(&overhead),
        "setup_seconds": setup.as_secs_f64(),
        "parties": all.len(),
        "disk_bytes": db.disk_bytes()?,
        "peak_rss_bytes": peak_rss(),
    });
    if o.json {
        println!("{report}");
    } else {
        let l = &report["latency"];
        println!(
            "{} ({}, {} thread(s)): {} ops in {:.2} s = {:.0} ops/s, {} errors",
            report["workload"].as_str().unwrap_or(""),
            report["distribution"].as_str().unwrap_or(""),
            threads,
            ops_done,
            elapsed.as_secs_f64(),
            report["throughput_per_s"].as_f64().unwrap_or(0.0),
            errors
        );
        println!(
            "latency µs: p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.0}",
            l["p50_us"].as_f64().unwrap_or(0.0),
            l["p90_us"].as_f64().unwrap_or(0.0),
            l["p99_us"].as_f64().unwrap_or(0.0),
            l["p999_us"].as_f64().unwrap_or(0.0),
            l["max_us"].as_f64().unwrap_or(0.0)
        );
        println!(
            "loop overhead µs (empty operation): p50 {:.3}  p99 {:.3}",
            report["loop_overhead"]["p50_us"].as_f64().unwrap_or(0.0),
            report["loop_overhead"]["p99_us"].as_f64().unwrap_or(0.0)
        );
        if let Some(e) = &report["first_error"].as_str() {
            println!("first error: {e}");
        }
    }
    Ok(if errors > 0 { 1 } else { 0 })
}

fn peak_rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let l = s.lines().find(|l| l.starts_with("VmHWM:"))?;
            l.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// A histogram of 1 ns to 1 hour at 3 significant figures.
pub fn new_histogram() -> hdrhistogram::Histogram<u64> {
    hdrhistogram::Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid bounds")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_known_values() {
        let mut h = new_histogram();
        for v in 1..=1000u64 {
            h.record(v * 1000).unwrap(); // 1 µs .. 1000 µs
        }
        let s = summary(&h);
        let near = |key: &str, want: f64| {
            let got = s[key].as_f64().unwrap();
            assert!((got - want).abs() <= want * 0.002, "{key}: {got} vs {want}");
        };
        near("p50_us", 500.0);
        near("p90_us", 900.0);
        near("p99_us", 990.0);
        near("p999_us", 999.0);
        near("max_us", 1000.0);
        near("mean_us", 500.5);
        assert_eq!(s["count"], 1000);
    }

    #[test]
    fn zipf_draws_favour_the_first_keys() {
        let cdf = zipf_cdf(1000);
        assert!((cdf[999] - 1.0).abs() < 1e-12);
        // With s = 1 over 1000 keys, the first key takes 1/H(1000) ≈ 13.4%.
        assert!((cdf[0] - 0.1336).abs() < 0.001, "{}", cdf[0]);
        assert!(cdf.windows(2).all(|w| w[0] < w[1]));
    }
}
