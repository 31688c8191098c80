//! `kith bench`: latency of lookups on the user's own database, in-process.
//!
//! Keys are drawn from what the database holds (uniform or Zipf-skewed), or
//! read from a file; each operation is timed alone and recorded in an HDR
//! histogram; the loop's own overhead is measured once with an empty
//! operation and reported beside the results.

use crate::cli::db_builder;
use kith::generate::Rng;
use kith::resolve::ResolveConfig;
use kith::traverse::{Follow, TraverseSpec};
use kith::{attrs, ContextOptions, Db, Direction, EntityId, EntityKind, Index, RelKind, Value};
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
    /// A record upsert through identity resolution (a write).
    Upsert,
    /// An interaction appended to a party (a write).
    Interaction,
    /// A mix of the others, in the proportions of `--mix`.
    Mixed,
    /// Nothing: the loop's own overhead.
    Empty,
    /// Commit -> change-log follower latency (in process, `--server`, `--redis`).
    Freshness,
    /// The customer page's API: `GET /api/party/ID` over loopback HTTP,
    /// beside the same JSON built in process and the context alone.
    Page,
    /// Interaction rules: write throughput with and without `--rules`
    /// rules, and commit -> action latency at `--rate`, on a bank generated
    /// for the run (`--persons`, `--writes`).
    Rules,
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
    /// For `mixed`: each workload with its weight.
    pub mix: Vec<(Workload, u32)>,
    /// Open loop: operations per second over all threads; `None`: as fast as possible.
    pub rate: Option<f64>,
    /// Stop after this long even if operations remain.
    pub duration: Option<std::time::Duration>,
    /// With `--server` and `get`: a redis-server measured on the same ids,
    /// right after kith (its keys filled with kith's own replies).
    pub redis: Option<String>,
    /// For `get`: also measure the engine alone on a copy of the same rows.
    pub baseline: bool,
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

/// Why one operation failed.
pub enum Failure {
    /// This operation failed; go on.
    Op(String),
    /// The connection is gone; this thread stops.
    Lost(String),
}

/// What a measurement loop gathered.
pub struct Measured {
    /// Wall time of the timed part.
    pub elapsed: std::time::Duration,
    /// Latencies of the successful operations, in nanoseconds.
    pub hist: hdrhistogram::Histogram<u64>,
    /// The same, by operation kind (the index the operation returned).
    pub by_kind: Vec<hdrhistogram::Histogram<u64>>,
    /// Failed operations.
    pub errors: u64,
    /// The first failure's message.
    pub first_error: Option<String>,
    /// Whether a thread lost its connection (the report is partial).
    pub lost: bool,
}

/// How the loop paces and reports itself.
pub struct Pace {
    /// Operation kinds (histograms kept apart).
    pub kinds: usize,
    /// Open loop: operations per second over all threads.
    pub rate: Option<f64>,
    /// Print a progress line on stderr every second.
    pub progress: bool,
    /// Stop after this long.
    pub duration: Option<std::time::Duration>,
}

impl Pace {
    /// Pacing of a run with `kinds` operation kinds, from its options; a
    /// progress line only on a terminal and when not printing JSON.
    pub fn new(kinds: usize, o: &Options, progress: bool) -> Pace {
        Pace {
            kinds,
            rate: o.rate,
            progress: progress && !o.json && std::io::IsTerminal::is_terminal(&std::io::stderr()),
            duration: o.duration,
        }
    }
}

/// [`measure`] of an in-process operation, which needs no state per thread.
fn measure_here(
    o: &Options,
    warm: usize,
    total: usize,
    pace: &Pace,
    op: impl Fn(usize) -> Result<usize, Failure> + Sync,
) -> Measured {
    measure(
        o.threads,
        warm,
        total,
        pace,
        |_| Ok(()),
        |_: &mut (), i| op(i),
    )
}

/// Open loop: sleeps until the `k`-th operation of a thread is due
/// (`start + k * interval`) and returns when it was due; closed loop: now.
fn wait_until_due(start: Instant, interval: Option<std::time::Duration>, k: usize) -> Instant {
    let Some(iv) = interval else {
        return Instant::now();
    };
    let due = start + iv * k as u32;
    // Sleep most of the wait, then spin: a sleep overshoots by tens of µs,
    // which would be charged to the operation.
    let spin = std::time::Duration::from_micros(200);
    let now = Instant::now();
    if due > now + spin {
        std::thread::sleep(due - now - spin);
    }
    while Instant::now() < due {
        std::hint::spin_loop();
    }
    due
}

/// What one thread of [`measure`] found: histograms by kind, errors, the
/// first error, whether it lost its connection.
type ThreadResult = (Vec<hdrhistogram::Histogram<u64>>, u64, Option<String>, bool);

/// The loop of one thread of [`measure`] over operations `lo..hi`.
fn run_thread<S>(
    state: &mut S,
    (lo, hi): (usize, usize),
    kinds: usize,
    pace: &Pace,
    interval: Option<std::time::Duration>,
    (started, done): (Instant, &std::sync::atomic::AtomicU64),
    op: &impl Fn(&mut S, usize) -> Result<usize, Failure>,
) -> ThreadResult {
    let mut h: Vec<_> = (0..kinds).map(|_| new_histogram()).collect();
    let (mut errors, mut first_error, mut lost) = (0u64, None, false);
    let thread_start = Instant::now();
    for (k, i) in (lo..hi).enumerate() {
        if pace.duration.is_some_and(|d| started.elapsed() >= d) {
            break;
        }
        let t0 = wait_until_due(thread_start, interval, k);
        let r = op(state, i);
        let ns = t0.elapsed().as_nanos() as u64;
        done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match r {
            Ok(kind) => h[kind.min(kinds - 1)].saturating_record(ns.max(1)),
            Err(Failure::Op(e)) => {
                errors += 1;
                first_error.get_or_insert(e);
            }
            Err(Failure::Lost(e)) => {
                errors += 1;
                first_error.get_or_insert(e);
                lost = true;
                break;
            }
        }
    }
    (h, errors, first_error, lost)
}

/// A progress line on stderr until `finished`.
fn progress(
    done: &std::sync::atomic::AtomicU64,
    finished: &std::sync::atomic::AtomicBool,
    started: Instant,
    of: usize,
) {
    while !finished.load(std::sync::atomic::Ordering::Relaxed) {
        std::thread::sleep(std::time::Duration::from_millis(200));
        let n = done.load(std::sync::atomic::Ordering::Relaxed);
        let secs = started.elapsed().as_secs_f64();
        eprint!(
            "\r{n} / {of} operations, {:.0} ops/s   ",
            n as f64 / secs.max(1e-9)
        );
    }
    eprint!("\r{}\r", " ".repeat(60));
}

/// Runs operations `warm..total` split over `threads`, each thread with its
/// own state from `make`, timing each operation alone.
pub fn measure<S>(
    threads: usize,
    warm: usize,
    total: usize,
    pace: &Pace,
    make: impl Fn(usize) -> Result<S, String> + Sync,
    op: impl Fn(&mut S, usize) -> Result<usize, Failure> + Sync,
) -> Measured {
    let threads = threads.max(1);
    let per = (total - warm).div_ceil(threads);
    let kinds = pace.kinds.max(1);
    // Open loop: each thread's k-th operation is due at start + k * interval,
    // and its latency counts from when it was due, so a stall delays and
    // charges every operation behind it (no coordinated omission).
    let interval = pace
        .rate
        .map(|r| std::time::Duration::from_secs_f64(threads as f64 / r.max(1e-9)));
    let done = std::sync::atomic::AtomicU64::new(0);
    let finished = std::sync::atomic::AtomicBool::new(false);
    let started = Instant::now();
    let results: Vec<ThreadResult> = std::thread::scope(|s| {
        if pace.progress {
            let (done, finished) = (&done, &finished);
            s.spawn(move || progress(done, finished, started, total - warm));
        }
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (make, op, done) = (&make, &op, &done);
                s.spawn(move || {
                    let mut state = match make(t) {
                        Ok(st) => st,
                        Err(e) => {
                            let h = (0..kinds).map(|_| new_histogram()).collect();
                            return (h, 1, Some(e), true);
                        }
                    };
                    let lo = warm + t * per;
                    let range = (lo, (lo + per).min(total));
                    run_thread(
                        &mut state,
                        range,
                        kinds,
                        pace,
                        interval,
                        (started, done),
                        op,
                    )
                })
            })
            .collect();
        let out = handles
            .into_iter()
            .map(|h| h.join().expect("bench thread"))
            .collect();
        finished.store(true, std::sync::atomic::Ordering::Relaxed);
        out
    });
    let mut m = Measured {
        elapsed: started.elapsed(),
        hist: new_histogram(),
        by_kind: (0..kinds).map(|_| new_histogram()).collect(),
        errors: 0,
        first_error: None,
        lost: false,
    };
    for (hs, e, fe, lost) in results {
        for (k, h) in hs.iter().enumerate() {
            m.hist.add(h).expect("same precision");
            m.by_kind[k].add(h).expect("same precision");
        }
        m.errors += e;
        m.lost |= lost;
        if m.first_error.is_none() {
            m.first_error = fe;
        }
    }
    m
}

/// The kind of every operation: the workload, or weighted draws from `--mix`.
fn plan_kinds(o: &Options, total: usize) -> Result<(Vec<Workload>, Vec<u8>), String> {
    let kinds: Vec<Workload> = if o.workload == Workload::Mixed {
        if o.mix.is_empty() {
            return Err(
                "--workload mixed needs --mix, e.g. get=60,context=20,upsert=10,interaction=10"
                    .into(),
            );
        }
        o.mix.iter().map(|(w, _)| *w).collect()
    } else {
        vec![o.workload]
    };
    let plan: Vec<u8> = if kinds.len() > 1 {
        let total_weight: u64 = o.mix.iter().map(|(_, w)| *w as u64).sum::<u64>().max(1);
        let mut r = Rng::new(o.seed ^ 0x5EED);
        (0..total)
            .map(|_| {
                let mut x = r.below(total_weight);
                let mut k = 0;
                for (i, (_, w)) in o.mix.iter().enumerate() {
                    if x < *w as u64 {
                        k = i;
                        break;
                    }
                    x -= *w as u64;
                }
                k as u8
            })
            .collect()
    } else {
        vec![0; total]
    };
    Ok((kinds, plan))
}

/// The ids a run draws (`warmup + ops` of them) from the database's
/// persons or the ids file, as `o` says.
pub(crate) fn drawn_ids(db: &Db, o: &Options) -> Result<Vec<EntityId>, Box<dyn std::error::Error>> {
    let all = match &o.ids {
        Some(ids) => ids.clone(),
        None => parties(db)?,
    };
    if all.is_empty() {
        return Err("the database holds no persons to draw keys from".into());
    }
    Ok(draw_ids(&all, (o.ops + o.warmup) as usize, o))
}

/// The start ids of a run: the ids file in order when it is long enough and
/// the draw is uniform; otherwise `total` draws (uniform or Zipf) from `all`.
fn draw_ids(all: &[EntityId], total: usize, o: &Options) -> Vec<EntityId> {
    if o.ids.is_some() && o.distribution == Distribution::Uniform && total <= all.len() {
        return all[..total].to_vec();
    }
    let mut r = Rng::new(o.seed);
    let cdf = (o.distribution == Distribution::Zipf).then(|| zipf_cdf(all.len()));
    (0..total)
        .map(|_| match &cdf {
            None => all[r.below(all.len() as u64) as usize],
            Some(c) => {
                let u = (r.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
                all[c.partition_point(|x| *x < u).min(all.len() - 1)]
            }
        })
        .collect()
}

/// An identifier to look `id` up by: its own, or — for a customer made by
/// identity resolution, which holds none of its own — one of its source
/// records' (`records` reads them only when needed).
fn lookup_key<E: std::error::Error + 'static>(
    id: EntityId,
    own: Vec<kith::ExternalId>,
    records: impl FnOnce() -> Result<Vec<Vec<kith::ExternalId>>, E>,
) -> Result<kith::ExternalId, Box<dyn std::error::Error>> {
    if let Some(x) = own.into_iter().next() {
        return Ok(x);
    }
    records()?.into_iter().flatten().next().ok_or_else(|| {
        format!("entity {id} has no identifier, nor a source record with one").into()
    })
}

/// Whether the workload (or its mix) looks parties up by identifier or email.
fn needs_keys(o: &Options) -> bool {
    let wanted = |w: &Workload| matches!(w, Workload::Lookup | Workload::Find);
    wanted(&o.workload) || o.workload == Workload::Mixed && o.mix.iter().any(|(w, _)| wanted(w))
}

/// The drawn ids, and when the workload needs them each id's `(system,
/// key)` and email: `entity` reads a party, `records` the identifiers of
/// its source records (for a customer made by resolution).
fn keys_for<E: std::error::Error + 'static>(
    ids: Vec<EntityId>,
    o: &Options,
    mut entity: impl FnMut(EntityId) -> Result<Option<kith::Entity>, E>,
    mut records: impl FnMut(EntityId) -> Result<Vec<Vec<kith::ExternalId>>, E>,
) -> Result<Keys, Box<dyn std::error::Error>> {
    let mut keys = Keys {
        ids,
        lookups: Vec::new(),
        emails: Vec::new(),
    };
    if !needs_keys(o) {
        return Ok(keys);
    }
    for id in &keys.ids {
        let e = entity(*id)?.ok_or_else(|| format!("entity {id} vanished"))?;
        let x = lookup_key(*id, e.identifiers(), || records(*id))?;
        keys.lookups.push((x.system, x.key));
        keys.emails
            .push(e.text(attrs::EMAIL).unwrap_or("").to_string());
    }
    Ok(keys)
}

/// The fields every report has, in-process or over the wire: the run's
/// options and operation kinds, what it measured, the loop's own overhead,
/// the setup time, how many parties it drew from, the database's size.
#[allow(clippy::too_many_arguments)]
fn report(
    o: &Options,
    kinds: &[Workload],
    m: &Measured,
    overhead: &hdrhistogram::Histogram<u64>,
    setup: std::time::Duration,
    parties: usize,
    disk_bytes: Option<u64>,
) -> serde_json::Value {
    let ops_done = m.hist.len() + m.errors;
    let secs = m.elapsed.as_secs_f64();
    json!({
        "workload": format!("{:?}", o.workload).to_lowercase(),
        "distribution": format!("{:?}", o.distribution).to_lowercase(),
        "threads": o.threads.max(1),
        "operations": ops_done,
        "errors": m.errors,
        "first_error": m.first_error,
        "seconds": secs,
        "throughput_per_s": ops_done as f64 / secs.max(1e-9),
        "latency": summary(&m.hist),
        "by_kind": kinds.iter().zip(&m.by_kind).map(|(k, h)| (format!("{k:?}").to_lowercase(), summary(h))).collect::<serde_json::Map<_, _>>(),
        "rate_target_per_s": o.rate,
        "loop_overhead": summary(overhead),
        "setup_seconds": setup.as_secs_f64(),
        "parties": parties,
        "disk_bytes": disk_bytes,
        "peak_rss_bytes": peak_rss(),
    })
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
        Workload::Upsert => {
            let mut a = kith::Attrs::new();
            a.insert(attrs::GIVEN_NAME.into(), Value::from("Bench"));
            a.insert(
                attrs::FAMILY_NAME.into(),
                Value::Text(format!("Writer{}", id.0)),
            );
            a.insert(
                attrs::EMAIL.into(),
                Value::Text(format!("bench{i}.{}@example.org", id.0)),
            );
            db.upsert_record(
                "kith_bench",
                &format!("{}-{i}", id.0),
                EntityKind::PERSON,
                a,
                &ResolveConfig::default(),
            )
            .map(|_| ())
            .map_err(|e| e.to_string())
        }
        Workload::Interaction => db
            .append_interaction(
                id,
                kith::NewEntity::new(EntityKind::INTERACTION)
                    .attr(attrs::CHANNEL, "bench")
                    .attr(attrs::OCCURRED_AT, kith::Timestamp::now()),
            )
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Workload::Mixed
        | Workload::Empty
        | Workload::Freshness
        | Workload::Rules
        | Workload::Page => Ok(()),
    };
    r
}

/// Runs the benchmark and prints the report.
pub fn run(db: &Db, o: Options) -> Result<i32, Box<dyn std::error::Error>> {
    let as_json = o.json;
    let report = measure_db(db, o)?;
    print_report(&report, as_json);
    Ok(if report["errors"].as_u64().unwrap_or(0) > 0 {
        1
    } else {
        0
    })
}

/// `get` of the same ids from the engine alone, on a copy of the same rows,
/// through the same loop: the floor `get` is compared with.
fn raw_baseline(
    db: &Db,
    keys: &Keys,
    o: &Options,
    warm: usize,
    total: usize,
) -> Result<hdrhistogram::Histogram<u64>, Box<dyn std::error::Error>> {
    let mut distinct: Vec<EntityId> = keys.ids.clone();
    distinct.sort();
    distinct.dedup();
    let raw = db.raw_baseline(&distinct)?;
    for i in 0..warm {
        let _ = raw.get_len(keys.ids[i]);
    }
    let b = measure_here(o, warm, total, &Pace::new(1, o, false), |i| {
        raw.get_len(keys.ids[i])
            .map(|_| 0)
            .map_err(|e| Failure::Op(e.to_string()))
    });
    Ok(b.hist)
}

/// The engine reads of `get`, `lookup` or `neighbours` on the live store,
/// without kith's decoding, through the same loop (`None` for the other
/// workloads, which have no single engine read).
fn raw_floor(
    db: &Db,
    keys: &Keys,
    o: &Options,
    warm: usize,
    total: usize,
) -> Result<Option<hdrhistogram::Histogram<u64>>, Box<dyn std::error::Error>> {
    let raw = db.raw_floor();
    let op = |i: usize| -> Result<usize, kith::ReadError> {
        match o.workload {
            Workload::Get => raw.get_len(keys.ids[i]),
            Workload::Lookup => {
                let (s, k) = &keys.lookups[i];
                raw.lookup_len(s, k)
            }
            _ => raw.neighbours_len(keys.ids[i], RelKind::OWNS, Direction::Out),
        }
    };
    if !matches!(
        o.workload,
        Workload::Get | Workload::Lookup | Workload::Neighbours
    ) {
        return Ok(None);
    }
    for i in 0..warm {
        let _ = op(i);
    }
    let b = measure_here(o, warm, total, &Pace::new(1, o, false), |i| {
        op(i).map(|_| 0).map_err(|e| Failure::Op(e.to_string()))
    });
    Ok(Some(b.hist))
}

/// The 2-hop neighbourhood the `two-hop` workload walks.
fn two_hop() -> TraverseSpec {
    TraverseSpec::new(
        &[
            RelKind::MEMBER_OF,
            RelKind::OWNS,
            RelKind::SPOUSE_OF,
            RelKind::GUARANTEES,
        ],
        Follow::Both,
        2,
    )
}

/// The time of an empty operation `f` through the loop, up to 100,000 of
/// them: what each measured latency includes besides the operation.
fn loop_overhead(n: usize, mut f: impl FnMut(usize)) -> hdrhistogram::Histogram<u64> {
    let mut overhead = new_histogram();
    for i in 0..n.min(100_000) {
        let t = Instant::now();
        f(i);
        overhead.saturating_record((t.elapsed().as_nanos() as u64).max(1));
    }
    overhead
}

/// Runs the benchmark in-process and returns its report.
pub fn measure_db(db: &Db, o: Options) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let t0 = Instant::now();
    let all = match &o.ids {
        Some(ids) => ids.clone(),
        None => parties(db)?,
    };
    if all.is_empty() {
        return Err("the database holds no persons to draw keys from".into());
    }
    let total = (o.ops + o.warmup) as usize;
    let keys = keys_for(
        draw_ids(&all, total, &o),
        &o,
        |id| db.get(id),
        |id| {
            let mut out = Vec::new();
            for r in db.neighbour_ids(id, RelKind::RESOLVES_TO, kith::Direction::In)? {
                out.extend(db.get(r)?.map(|rec| rec.identifiers()));
            }
            Ok::<_, kith::ReadError>(out)
        },
    )?;
    let setup = t0.elapsed();
    let spec = two_hop();
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
    let (kinds, plan) = plan_kinds(&o, total)?;
    let m = measure_here(&o, warm, total, &Pace::new(kinds.len(), &o, true), |i| {
        let k = plan[i] as usize;
        run_op(db, kinds[k], &keys, i, &spec, &copts)
            .map(|_| k)
            .map_err(Failure::Op)
    });
    // The loop's own overhead: an empty operation through the same loop.
    let overhead = loop_overhead(total - warm, |i| {
        let _ = run_op(db, Workload::Empty, &keys, i, &spec, &copts);
    });
    // The engine alone on a copy of the same rows, through the same loop.
    let baseline = if o.baseline && o.workload == Workload::Get {
        Some(raw_baseline(db, &keys, &o, warm, total)?)
    } else {
        None
    };
    // The same store's engine alone, doing the engine reads of the workload.
    let floor = if o.baseline {
        raw_floor(db, &keys, &o, warm, total)?
    } else {
        None
    };
    let mut r = report(
        &o,
        &kinds,
        &m,
        &overhead,
        setup,
        all.len(),
        Some(db.disk_bytes()?),
    );
    r["engine"] = json!(db.engine().name());
    r["floor_raw_engine"] = json!(floor.as_ref().map(summary));
    r["p50_ratio_to_floor"] = json!(floor.as_ref().map(|b| {
        m.hist.value_at_quantile(0.5) as f64 / b.value_at_quantile(0.5).max(1) as f64
    }));
    r["baseline_raw_engine_get"] = json!(baseline.as_ref().map(summary));
    r["p50_ratio_to_baseline"] = json!(baseline.as_ref().map(|b| {
        m.hist.value_at_quantile(0.5) as f64 / b.value_at_quantile(0.5).max(1) as f64
    }));
    Ok(r)
}

/// Prints a report as a line of JSON or readably.
fn print_report(report: &serde_json::Value, as_json: bool) {
    if as_json {
        println!("{report}");
        return;
    }
    let l = &report["latency"];
    let f = |v: &serde_json::Value| v.as_f64().unwrap_or(0.0);
    println!(
        "{} ({}, {} thread(s)): {} ops in {:.2} s = {:.0} ops/s, {} errors",
        report["workload"].as_str().unwrap_or(""),
        report["distribution"].as_str().unwrap_or(""),
        report["threads"],
        report["operations"],
        f(&report["seconds"]),
        f(&report["throughput_per_s"]),
        report["errors"]
    );
    println!(
        "latency µs: p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.0}",
        f(&l["p50_us"]),
        f(&l["p90_us"]),
        f(&l["p99_us"]),
        f(&l["p999_us"]),
        f(&l["max_us"])
    );
    println!(
        "loop overhead µs (empty operation): p50 {:.3}  p99 {:.3}",
        f(&report["loop_overhead"]["p50_us"]),
        f(&report["loop_overhead"]["p99_us"])
    );
    if let Some(b) = report["floor_raw_engine"].as_object() {
        println!(
            "floor, the same store's {} engine alone doing the workload's engine reads: p50 {:.2}  p99 {:.2} µs  (kith / floor at p50: {:.2}x)",
            report["engine"].as_str().unwrap_or(""),
            f(&b["p50_us"]),
            f(&b["p99_us"]),
            f(&report["p50_ratio_to_floor"])
        );
    }
    if let Some(b) = report["baseline_raw_engine_get"].as_object() {
        println!(
            "baseline, the engine alone on a copy of the same rows: p50 {:.2}  p99 {:.2} µs  (get / baseline at p50: {:.2}x)",
            f(&b["p50_us"]),
            f(&b["p99_us"]),
            f(&report["p50_ratio_to_baseline"])
        );
    }
    if let Some(r) = report["redis"].as_object() {
        println!(
            "redis-server {} (GET, same ids, same threads): {:.0} ops/s, p50 {:.2}  p99 {:.2} µs; kith / redis throughput {:.2}x",
            r["server"].as_str().unwrap_or(""),
            f(&r["throughput_per_s"]),
            f(&r["latency"]["p50_us"]),
            f(&r["latency"]["p99_us"]),
            f(&report["throughput_ratio_to_redis"])
        );
    }
    if let Some(by) = report["by_kind"].as_object().filter(|b| b.len() > 1) {
        for (k, l) in by {
            println!(
                "  {k:<14} {} ops  p50 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.0} µs",
                l["count"],
                f(&l["p50_us"]),
                f(&l["p99_us"]),
                f(&l["p999_us"]),
                f(&l["max_us"])
            );
        }
    }
    if let Some(rc) = report["reply_cache"].as_object() {
        let n = |k: &str| rc.get(k).and_then(|v| v.as_u64()).unwrap_or(0);
        let (h, m) = (n("hits"), n("misses"));
        println!(
            "server's reply cache (since it started): {h} hits, {m} misses ({:.1} % hits), {} evictions, {} of {} bytes",
            100.0 * h as f64 / (h + m).max(1) as f64,
            n("evictions"),
            n("bytes"),
            n("max_bytes")
        );
    }
    if let Some(e) = report["first_error"].as_str() {
        println!("first error: {e}");
    }
    if report["partial"].as_bool() == Some(true) {
        println!("partial report: the server went away during the run");
    }
}

/// Every person id of the server's database (`LIST person`), or `--ids`.
fn wire_persons(
    c: &mut kith::client::Client,
    o: &Options,
) -> Result<Vec<EntityId>, Box<dyn std::error::Error>> {
    use kith::server::Frame;
    if let Some(ids) = &o.ids {
        return Ok(ids.clone());
    }
    let mut out = Vec::new();
    let mut after = "0".to_string();
    loop {
        let reply = c.command(&[b"LIST", b"person", after.as_bytes(), b"100000"])?;
        let Frame::Array(parts) = reply else {
            return Err("unexpected LIST reply".into());
        };
        if let Some(Frame::Array(ids)) = parts.get(1) {
            out.extend(ids.iter().filter_map(|f| match f {
                Frame::Integer(i) => Some(EntityId(*i as u64)),
                _ => None,
            }));
        }
        match parts.first() {
            Some(Frame::Integer(n)) => after = n.to_string(),
            _ => return Ok(out),
        }
    }
}

/// Operation `i` of a wire workload of kind `w`.
fn wire_op(
    c: &mut kith::client::Client,
    w: Workload,
    keys: &Keys,
    i: usize,
) -> Result<kith::server::Frame, kith::client::ClientError> {
    let id = keys.ids[i].0.to_string();
    let id = id.as_bytes();
    match w {
        Workload::Get => c.command(&[b"ENTITY.GET", id]),
        Workload::Lookup => {
            let (system, key) = &keys.lookups[i];
            c.command(&[b"LOOKUP", system.as_bytes(), key.as_bytes()])
        }
        Workload::Find => c.command(&[b"FIND", b"email", keys.emails[i].as_bytes()]),
        Workload::Neighbours => c.command(&[b"NEIGHBOURS", id, b"OWNS", b"out"]),
        Workload::Household => c.command(&[b"HOUSEHOLD", id]),
        Workload::Guarantors => c.command(&[b"GUARANTORS", id, b"7"]),
        Workload::Context | Workload::ContextCached => c.command(&[b"CONTEXT", id]),
        Workload::Upsert => {
            let n = keys.ids[i].0;
            let key = format!("{n}-{i}");
            let doc = json!({"attrs": {"given_name": "Bench", "family_name": format!("Writer{n}"), "email": format!("bench{i}.{n}@example.org")}}).to_string();
            c.command(&[
                b"RECORD.UPSERT",
                b"kith_bench",
                key.as_bytes(),
                doc.as_bytes(),
            ])
        }
        Workload::Interaction => {
            let doc = json!({"attrs": {"channel": "bench", "occurred_at": {"$timestamp": kith::Timestamp::now().to_string()}}}).to_string();
            c.command(&[b"INTERACTION.ADD", id, doc.as_bytes()])
        }
        _ => Ok(kith::server::Frame::Null),
    }
}

/// The server's reply-cache counters (`INFO replies`, the `reply_cache_`
/// fields as numbers), or `None` when it does not report one.
fn reply_cache_info(c: &mut kith::client::Client) -> Option<serde_json::Value> {
    let kith::server::Frame::Bulk(b) = c.command(&[b"INFO", b"replies"]).ok()? else {
        return None;
    };
    let text = String::from_utf8_lossy(&b);
    let fields: serde_json::Map<String, serde_json::Value> = text
        .lines()
        .filter_map(|l| {
            let (k, v) = l.trim().split_once(':')?;
            let k = k.strip_prefix("reply_cache_")?;
            Some((k.to_string(), json!(v.trim().parse::<u64>().ok()?)))
        })
        .collect();
    (!fields.is_empty()).then_some(serde_json::Value::Object(fields))
}

/// The same `get` run against a redis-server: `GET kith:entity:<id>` for
/// the same ids in the same order, threads and pacing, after each distinct
/// id's key is set to kith's own reply for it (the same bytes).
fn redis_peer(
    kith: &mut kith::client::Client,
    addr: &str,
    ids: &[EntityId],
    warm: usize,
    total: usize,
    o: &Options,
) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    use kith::server::Frame;
    let key = |id: EntityId| format!("kith:entity:{}", id.0).into_bytes();
    let mut distinct: Vec<EntityId> = ids.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let mut r = wire_connect(addr, None)?;
    for chunk in distinct.chunks(1_000) {
        let gets: Vec<Vec<Vec<u8>>> = chunk
            .iter()
            .map(|id| vec![b"ENTITY.GET".to_vec(), id.0.to_string().into_bytes()])
            .collect();
        let sets: Vec<Vec<Vec<u8>>> = chunk
            .iter()
            .zip(kith.pipeline(&gets)?)
            .map(|(id, reply)| match reply {
                Ok(Frame::Bulk(b)) => Ok(vec![b"SET".to_vec(), key(*id), b]),
                other => Err(format!("ENTITY.GET {} gave {other:?}", id.0)),
            })
            .collect::<Result<_, _>>()?;
        for done in r.pipeline(&sets)? {
            done.map_err(|e| format!("redis-server at {addr} refused SET: {e}"))?;
        }
    }
    let keys: Vec<Vec<u8>> = ids.iter().map(|id| key(*id)).collect();
    let op = |c: &mut kith::client::Client, i: usize| -> Result<usize, Failure> {
        match c.command(&[b"GET", &keys[i]]) {
            Ok(Frame::Bulk(_)) => Ok(0),
            Ok(other) => Err(Failure::Op(format!("GET gave {other:?}"))),
            Err(e) => Err(Failure::Lost(format!("connection lost: {e}"))),
        }
    };
    for i in 0..warm {
        if let Err(Failure::Lost(e)) = op(&mut r, i) {
            return Err(e.into());
        }
    }
    let pace = Pace::new(1, o, true);
    let m = measure(
        o.threads,
        warm,
        total,
        &pace,
        |_| wire_connect(addr, None),
        op,
    );
    let secs = m.elapsed.as_secs_f64();
    Ok(json!({
        "server": addr,
        "keys": distinct.len(),
        "operations": m.hist.len() + m.errors,
        "errors": m.errors,
        "throughput_per_s": if secs > 0.0 { m.hist.len() as f64 / secs } else { 0.0 },
        "latency": summary(&m.hist),
    }))
}

/// A connection to the measured server, with a 5 s timeout per reply.
fn wire_connect(addr: &str, password: Option<&str>) -> Result<kith::client::Client, String> {
    use kith::client::Client;
    let mut c = match password {
        Some(p) => Client::connect_with_password(addr, p),
        None => Client::connect(addr),
    }
    .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    c.set_timeout(Some(std::time::Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    Ok(c)
}

/// The same workloads over the wire protocol, one connection per thread.
pub fn run_server(
    addr: &str,
    password: Option<&str>,
    o: Options,
) -> Result<i32, Box<dyn std::error::Error>> {
    use kith::client::{Client, ClientError};
    let connect = || wire_connect(addr, password);
    let t0 = Instant::now();
    let mut c = connect()?;
    let all = wire_persons(&mut c, &o)?;
    if all.is_empty() {
        return Err("the server's database holds no persons to draw keys from".into());
    }
    if o.workload == Workload::TwoHop {
        return Err("two-hop has no wire command yet; use --db".into());
    }
    let total = (o.ops + o.warmup) as usize;
    let keys = {
        let c = std::cell::RefCell::new(&mut c);
        keys_for(
            draw_ids(&all, total, &o),
            &o,
            |id| c.borrow_mut().get(id),
            |id| {
                let mut c = c.borrow_mut();
                let mut out = Vec::new();
                for r in c.neighbours(id, RelKind::RESOLVES_TO, kith::Direction::In)? {
                    out.extend(c.get(r.id)?.map(|rec| rec.identifiers()));
                }
                Ok::<_, ClientError>(out)
            },
        )?
    };
    let setup = t0.elapsed();
    let (kinds, plan) = plan_kinds(&o, total)?;
    let op = |c: &mut Client, i: usize| -> Result<usize, Failure> {
        let k = plan[i] as usize;
        match wire_op(c, kinds[k], &keys, i) {
            Ok(_) => Ok(k),
            Err(ClientError::Server { code, message }) => {
                Err(Failure::Op(format!("{code} {message}")))
            }
            Err(e) => Err(Failure::Lost(format!("connection lost: {e}"))),
        }
    };
    let warm = o.warmup as usize;
    for i in 0..warm {
        if let Err(Failure::Lost(e)) = op(&mut c, i) {
            return Err(e.into());
        }
    }
    let pace = Pace::new(kinds.len(), &o, true);
    let m = measure(o.threads, warm, total, &pace, |_| connect(), op);
    // The server's database size, if it still answers.
    let disk_bytes = connect()
        .ok()
        .and_then(|mut c| c.stats().ok())
        .map(|st| st.disk_bytes);
    let overhead = loop_overhead(total - warm, |_| {
        std::hint::black_box(keys.ids.len());
    });
    let mut report = report(&o, &kinds, &m, &overhead, setup, all.len(), disk_bytes);
    report["server"] = json!(addr);
    report["partial"] = json!(m.lost);
    report["reply_cache"] = connect()
        .ok()
        .and_then(|mut c| reply_cache_info(&mut c))
        .unwrap_or(serde_json::Value::Null);
    report["compare_with"] = json!(format!("redis-benchmark -h HOST -p PORT -c {} -n {} -r {} -d 344 GET key:__rand_int__  (redis-server on the same machine)", o.threads.max(1), o.ops, all.len()));
    if let Some(redis) = &o.redis {
        if o.workload != Workload::Get {
            return Err("--redis beside --server measures the get workload only".into());
        }
        let peer = redis_peer(&mut c, redis, &keys.ids, warm, total, &o)?;
        let ratio = peer["throughput_per_s"]
            .as_f64()
            .filter(|r| *r > 0.0)
            .map(|r| report["throughput_per_s"].as_f64().unwrap_or(0.0) / r);
        report["redis"] = peer;
        report["throughput_ratio_to_redis"] = json!(ratio);
    }
    print_report(&report, o.json);
    Ok(if m.errors > 0 || m.lost { 1 } else { 0 })
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

/// The cost-growth curve: the same workload on banks of growing size.
pub fn curve(
    dir: &std::path::Path,
    sizes: &[u64],
    template: &Options,
) -> Result<i32, Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir)?;
    let mut rows = Vec::new();
    for &n in sizes {
        let db = curve_bank(dir, n)?;
        let o = Options {
            workload: template.workload,
            ops: template.ops,
            warmup: template.warmup,
            threads: template.threads,
            seed: template.seed,
            distribution: template.distribution,
            ids: None,
            json: true,
            mix: template.mix.clone(),
            rate: template.rate,
            duration: template.duration,
            baseline: template.baseline,
            redis: None,
        };
        let r = measure_db(&db, o)?;
        eprintln!(
            "{n} persons: p50 {} µs, p99 {} µs",
            r["latency"]["p50_us"], r["latency"]["p99_us"]
        );
        rows.push((n, r));
    }
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let mut table = format!(
        "workload {:?}, {} operations after {} warm-up, {} thread(s), commit {head}\n\n| persons | disk MiB | ops/s | p50 µs | p90 µs | p99 µs | p99.9 µs |\n|---|---|---|---|---|---|---|\n",
        template.workload, template.ops, template.warmup, template.threads.max(1)
    );
    let f = |v: &serde_json::Value| v.as_f64().unwrap_or(0.0);
    for (n, r) in &rows {
        let l = &r["latency"];
        table += &format!(
            "| {n} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} |\n",
            f(&r["disk_bytes"]) / 1048576.0,
            f(&r["throughput_per_s"]),
            f(&l["p50_us"]),
            f(&l["p90_us"]),
            f(&l["p99_us"]),
            f(&l["p999_us"])
        );
    }
    print!("{table}");
    std::fs::write(dir.join("curve.md"), &table)?;
    plot(
        &dir.join("curve.svg"),
        &rows,
        &format!("{:?}", template.workload).to_lowercase(),
    )?;
    println!("\nplot: {}", dir.join("curve.svg").display());
    Ok(0)
}

/// The bank of `n` persons in `dir` for `--curve`: built once (a marker file
/// says it was finished), reused after.
fn curve_bank(dir: &std::path::Path, n: u64) -> Result<Db, Box<dyn std::error::Error>> {
    let path = dir.join(format!("bank-{n}"));
    let done = dir.join(format!("bank-{n}.complete"));
    if !done.exists() {
        let _ = std::fs::remove_dir_all(&path);
        eprintln!("generating a bank of {n} persons in {} …", path.display());
        let db = db_builder()
            .path(&path)
            .cache_bytes(2 << 30)
            .durability(kith::Durability::Background { every_ms: 1000 })
            .open()?;
        kith::generate::generate_bank(
            &db,
            &kith::generate::BankConfig {
                persons: n,
                seed: 42,
                interactions_per_person: 1,
            },
            |_| {},
        )?;
        db.flush()?;
        drop(db);
        std::fs::write(&done, "")?;
    }
    Ok(db_builder().path(&path).cache_bytes(2 << 30).open()?)
}

/// An SVG of latency (p50, p99) and throughput against the number of persons.
fn plot(
    path: &std::path::Path,
    rows: &[(u64, serde_json::Value)],
    workload: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    use plotters::prelude::*;
    let f = |v: &serde_json::Value| v.as_f64().unwrap_or(0.0).max(1e-3);
    let xs: Vec<f64> = rows.iter().map(|(n, _)| *n as f64).collect();
    let (xmin, xmax) = (
        xs.iter().cloned().fold(f64::MAX, f64::min) / 2.0,
        xs.iter().cloned().fold(0.0, f64::max) * 2.0,
    );
    let lat = |q: &str| -> Vec<(f64, f64)> {
        rows.iter()
            .map(|(n, r)| (*n as f64, f(&r["latency"][q])))
            .collect()
    };
    let thr: Vec<(f64, f64)> = rows
        .iter()
        .map(|(n, r)| (*n as f64, f(&r["throughput_per_s"])))
        .collect();
    let root = SVGBackend::new(path, (900, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(450);
    let ymax = lat("p99_us").iter().map(|p| p.1).fold(1.0, f64::max) * 2.0;
    let ymin = lat("p50_us").iter().map(|p| p.1).fold(f64::MAX, f64::min) / 2.0;
    let mut c = ChartBuilder::on(&left)
        .caption(format!("kith {workload}: latency"), ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(55)
        .build_cartesian_2d((xmin..xmax).log_scale(), (ymin..ymax).log_scale())?;
    c.configure_mesh().x_desc("persons").y_desc("µs").draw()?;
    for (q, color) in [("p50_us", BLUE), ("p99_us", RED)] {
        c.draw_series(LineSeries::new(lat(q), color))?
            .label(q.trim_end_matches("_us"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 15, y)], color));
        c.draw_series(
            lat(q)
                .into_iter()
                .map(|p| Circle::new(p, 3, color.filled())),
        )?;
    }
    c.configure_series_labels()
        .background_style(WHITE)
        .border_style(BLACK)
        .draw()?;
    let tmax = thr.iter().map(|p| p.1).fold(1.0, f64::max) * 1.2;
    let mut t = ChartBuilder::on(&right)
        .caption(format!("kith {workload}: throughput"), ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d((xmin..xmax).log_scale(), 0.0..tmax)?;
    t.configure_mesh()
        .x_desc("persons")
        .y_desc("ops/s")
        .draw()?;
    t.draw_series(LineSeries::new(thr.clone(), GREEN))?;
    t.draw_series(thr.into_iter().map(|p| Circle::new(p, 3, GREEN.filled())))?;
    root.present()?;
    Ok(())
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
