//! `kith bench`: latency on your own data.

#[allow(unused_imports)]
use crate::cli::*;

/// `kith bench`.
pub(crate) fn bench(db_dir: &PathBuf, args: BenchArgs, server: Option<String>) -> CliResult {
    if args.workload == bench::Workload::Freshness {
        return freshness(db_dir, &args, server.as_deref());
    }
    if args.workload == bench::Workload::Rules {
        if server.is_some() {
            return Err(
                "--workload rules runs in process on a bank of its own; drop --server".into(),
            );
        }
        let rate = args.rate.unwrap_or(1000.0);
        if rate <= 0.0 || args.writes == 0 || args.rules == 0 {
            return Err("--rate, --writes and --rules must be above zero".into());
        }
        return rules_bench::run(args.persons, args.rules, args.writes, rate, args.json);
    }
    if args.rate.is_some_and(|r| r <= 0.0) {
        return Err("--rate must be above zero".into());
    }
    let options = bench::Options {
        workload: args.workload,
        ops: args.ops,
        warmup: args.warmup,
        threads: args.threads,
        seed: args.seed,
        distribution: args.distribution,
        ids: read_ids(args.ids.as_deref())?,
        json: args.json,
        mix: parse_mix(&args.mix)?,
        rate: args.rate,
        duration: args.duration.map(std::time::Duration::from_secs_f64),
        baseline: args.baseline,
        redis: args.redis.clone(),
    };
    if let Some(addr) = server {
        return bench::run_server(&addr, args.password.as_deref(), options);
    }
    if let Some(dir) = &args.curve {
        let sizes = args
            .sizes
            .split(',')
            .map(|s| {
                s.trim()
                    .replace('_', "")
                    .parse::<u64>()
                    .map_err(|_| format!("--sizes: {s:?} is not a number"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        return bench::curve(dir, &sizes, &options);
    }
    if args.workload == bench::Workload::Page {
        if server.is_some() {
            return Err(
                "--workload page starts its own web server over --db; drop --server".into(),
            );
        }
        let db = open_existing_with(
            db_builder()
                .run_rules(false)
                .cache_bytes(mib("cache-mib", args.cache_mib)?),
            db_dir,
        )?;
        let ids = bench::drawn_ids(&db, &options)?;
        return page_bench::run(&db, &ids, args.warmup as usize, args.threads, args.json);
    }
    // A benchmark's writes are not the customers' changes: rules stay off.
    let mut builder = db_builder()
        .run_rules(false)
        .cache_bytes(mib("cache-mib", args.cache_mib)?)
        .change_log(!args.no_change_log);
    if args.workload == bench::Workload::ContextCached {
        // Room for every customer drawn: this workload measures cache hits.
        builder = builder.context_cache((args.ops + args.warmup) as usize);
    }
    let db = open_existing_with(builder, db_dir)?;
    bench::run(&db, options)
}

/// `kith bench --workload freshness`: in-process on --db, or over the wire.
fn freshness(db_dir: &PathBuf, args: &BenchArgs, server: Option<&str>) -> CliResult {
    let db = match server {
        Some(_) => None,
        None => Some(
            db_builder()
                .run_rules(false)
                .path(db_dir)
                .cache_bytes(mib("cache-mib", args.cache_mib)?)
                .change_log(!args.no_change_log)
                .open()?,
        ),
    };
    let rate = args.rate.unwrap_or(1000.0);
    feed_bench::run(
        db.as_ref(),
        server,
        args.redis.as_deref(),
        args.ops,
        rate,
        args.json,
    )
}

/// `--mix get=60,context=20,…`: each workload with its weight.
fn parse_mix(mix: &str) -> Result<Vec<(bench::Workload, u32)>, String> {
    let mut parsed = Vec::new();
    for part in mix.split(',').filter(|p| !p.trim().is_empty()) {
        let (name, weight) = part
            .split_once('=')
            .ok_or_else(|| format!("--mix: {part:?} is not NAME=WEIGHT"))?;
        let w = <bench::Workload as clap::ValueEnum>::from_str(name.trim(), true)
            .map_err(|_| format!("--mix: unknown workload {name:?}"))?;
        let n: u32 = weight
            .trim()
            .parse()
            .map_err(|_| format!("--mix: weight of {name} must be a number"))?;
        parsed.push((w, n));
    }
    Ok(parsed)
}

/// The arguments of `kith bench`.
#[derive(clap::Args)]
pub(crate) struct BenchArgs {
    /// What to measure.
    #[arg(long, value_enum, default_value = "get")]
    pub(crate) workload: bench::Workload,
    /// Operations to time.
    #[arg(long, default_value_t = 100_000)]
    pub(crate) ops: u64,
    /// Operations run first and not timed.
    #[arg(long, default_value_t = 10_000)]
    pub(crate) warmup: u64,
    /// Threads.
    #[arg(long, default_value_t = 1)]
    pub(crate) threads: usize,
    /// Seed of the key draws.
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
    /// How keys are drawn.
    #[arg(long, value_enum, default_value = "uniform")]
    pub(crate) distribution: bench::Distribution,
    /// Draw ids from this file (one per line) instead of the database's persons.
    #[arg(long)]
    pub(crate) ids: Option<PathBuf>,
    /// Page cache in MiB.
    #[arg(long, default_value_t = 2048)]
    pub(crate) cache_mib: u64,
    /// For `--workload mixed`: proportions, e.g. get=60,context=20,upsert=10,interaction=10.
    #[arg(long, default_value = "")]
    pub(crate) mix: String,
    /// Open loop: operations per second (over all threads); latency counts
    /// from when each operation was due. Default: as fast as possible.
    #[arg(long)]
    pub(crate) rate: Option<f64>,
    /// Stop after this many seconds even if operations remain.
    #[arg(long)]
    pub(crate) duration: Option<f64>,
    /// For `get`, `lookup` and `neighbours`: also measure the same store's
    /// engine alone doing the workload's engine reads (the floor), and for
    /// `get` the engine alone on a copy of the same rows.
    #[arg(long)]
    pub(crate) baseline: bool,
    /// Build banks of these sizes in DIR (reused when present), run the
    /// workload on each, and write a table and an SVG plot of cost against size.
    #[arg(long, value_name = "DIR")]
    pub(crate) curve: Option<PathBuf>,
    /// Sizes for --curve (persons, comma-separated).
    #[arg(long, default_value = "10000,100000,1000000")]
    pub(crate) sizes: String,
    /// Password for the global --server (a running `kith serve` measured
    /// over the wire instead of --db).
    #[arg(long)]
    pub(crate) password: Option<String>,
    /// For `--workload freshness`: also measure this redis-server's own
    /// XADD -> XREAD BLOCK, in the same run. With `--server` and
    /// `--workload get`: also measure this redis-server's GET on the same
    /// ids (its keys set to kith's replies first).
    #[arg(long)]
    pub(crate) redis: Option<String>,
    /// For `--workload rules`: how many rules (`kith::generate::rule_set`).
    #[arg(long, default_value_t = 100)]
    pub(crate) rules: usize,
    /// For `--workload rules`: persons in the bank generated for the run.
    #[arg(long, default_value_t = 10_000)]
    pub(crate) persons: u64,
    /// For `--workload rules`: writes in each of its four runs.
    #[arg(long, default_value_t = 5_000)]
    pub(crate) writes: u64,
    /// Open the database without its change log (to measure what the log costs).
    #[arg(long)]
    pub(crate) no_change_log: bool,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}
