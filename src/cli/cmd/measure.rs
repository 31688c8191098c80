//! `kith bench`: latency on your own data.

#[allow(unused_imports)]
use crate::cli::*;

/// `kith bench`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn bench(
    db_dir: &PathBuf,
    workload: bench::Workload,
    ops: u64,
    warmup: u64,
    threads: usize,
    seed: u64,
    distribution: bench::Distribution,
    ids: Option<PathBuf>,
    cache_mib: u64,
    server: Option<String>,
    password: Option<String>,
    json: bool,
    mix: String,
    rate: Option<f64>,
    curve: Option<PathBuf>,
    sizes: String,
    duration: Option<f64>,
    baseline: bool,
    redis: Option<String>,
    no_change_log: bool,
) -> CliResult {
    if workload == bench::Workload::Freshness {
        let rate = rate.unwrap_or(1000.0);
        let db = match &server {
            Some(_) => None,
            None => Some(
                kith::Db::builder()
                    .path(db_dir)
                    .cache_bytes(cache_mib << 20)
                    .change_log(!no_change_log)
                    .open()?,
            ),
        };
        return feed_bench::run(
            db.as_ref(),
            server.as_deref(),
            redis.as_deref(),
            ops,
            rate,
            json,
        );
    }
    let ids = read_ids(ids.as_deref())?;
    let mut parsed_mix = Vec::new();
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
        parsed_mix.push((w, n));
    }
    if rate.is_some_and(|r| r <= 0.0) {
        return Err("--rate must be above zero".into());
    }
    let options = bench::Options {
        workload,
        ops,
        warmup,
        threads,
        seed,
        distribution,
        ids,
        json,
        mix: parsed_mix,
        rate,
        duration: duration.map(std::time::Duration::from_secs_f64),
        baseline,
    };
    if let Some(addr) = server {
        return bench::run_server(&addr, password.as_deref(), options);
    }
    if let Some(dir) = curve {
        let sizes = sizes
            .split(',')
            .map(|s| {
                s.trim()
                    .replace('_', "")
                    .parse::<u64>()
                    .map_err(|_| format!("--sizes: {s:?} is not a number"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        return bench::curve(&dir, &sizes, &options);
    }
    let mut builder = Db::builder()
        .cache_bytes(cache_mib << 20)
        .change_log(!no_change_log);
    if workload == bench::Workload::ContextCached {
        // Room for every customer drawn: this workload measures cache hits.
        builder = builder.context_cache((ops + warmup) as usize);
    }
    let db = open_existing_with(builder, db_dir)?;
    bench::run(&db, options)
}
