//! Command-line interface: argument parsing and dispatch. Uses only kith's
//! public API.

mod bench;
mod changes;
mod demo;
mod feed_bench;
mod import;
mod show;

use clap::{Parser, Subcommand};
use kith::{Db, Durability, EntityId, Index};
use std::path::PathBuf;

/// kith: an embedded customer graph database.
#[derive(Parser)]
#[command(name = "kith", version, about)]
struct Cli {
    /// Database directory (default ./kith-data; for `demo`, ./kith-demo).
    #[arg(long, global = true)]
    db: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build a made-up retail bank and show one customer, with lookup timings.
    Demo {
        /// Number of persons.
        #[arg(long, default_value_t = 5_000)]
        persons: u64,
        /// Seed of the generator.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Delete and rebuild the demo database if it exists.
        #[arg(long)]
        fresh: bool,
    },
    /// Generate a synthetic bank into --db (for tests and benchmarks).
    Generate {
        /// Number of persons.
        #[arg(long, default_value_t = 10_000)]
        persons: u64,
        /// Seed of the generator.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Interactions per person.
        #[arg(long, default_value_t = 1)]
        interactions: u64,
        /// Page cache in MiB (a larger cache loads large banks faster).
        #[arg(long, default_value_t = 512)]
        cache_mib: u64,
    },
    /// Write FEBRL-like person records with known truth (a `person` column)
    /// as CSV, for identity resolution's accuracy and speed at any size.
    GenerateRecords {
        /// Number of records.
        #[arg(long, default_value_t = 10_000)]
        records: u64,
        /// Seed of the generator.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Output file (`-` for standard output).
        #[arg(long, default_value = "-")]
        out: PathBuf,
    },
    /// Print one entity and its relationships.
    Get {
        /// Entity id.
        id: u64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Find the entity a cross-system identifier names.
    Lookup {
        /// Source system.
        system: String,
        /// Record key in that system.
        key: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Find entities by an indexed attribute (email, phone, national_id, tax_id,
    /// account_number, postal_code, registration_number, family_name+birth_date).
    Find {
        /// Attribute (index) name.
        attr: String,
        /// Value; for family_name+birth_date write `Smith|1980-02-01`.
        value: String,
    },
    /// Verify integrity; exits 1 if any violation is found.
    Check,
    /// Everything kith knows about a customer: profile, identifiers, accounts,
    /// households, relationships, recent interactions, open items, figures.
    Context {
        /// Customer id.
        id: u64,
        /// How many recent interactions to show.
        #[arg(long, default_value_t = 10)]
        interactions: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Record an interaction of a party (a call, web session, email, ticket).
    Interact {
        /// Party id.
        id: u64,
        /// Channel: call, web, email, branch, ticket, …
        #[arg(long)]
        channel: String,
        /// Type: inquiry, complaint, dispute, payment, …
        #[arg(long = "type")]
        kind: String,
        /// One-line summary.
        #[arg(long, default_value = "")]
        summary: String,
        /// open or closed.
        #[arg(long, default_value = "closed")]
        status: String,
        /// When (RFC 3339); now by default.
        #[arg(long)]
        at: Option<String>,
    },
    /// A party's interactions, newest first, or those in a time range.
    Interactions {
        /// Party id.
        id: u64,
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// From (RFC 3339, inclusive).
        #[arg(long)]
        from: Option<String>,
        /// To (RFC 3339, exclusive).
        #[arg(long)]
        to: Option<String>,
    },
    /// A customer's households: members, their accounts, totals by product.
    Household {
        /// Party or household id.
        id: u64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Whom a party guarantees and who guarantees it, transitively, with exposure.
    Guarantors {
        /// Party id.
        id: u64,
        /// How many hops to follow.
        #[arg(long, default_value_t = 7)]
        depth: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// An organization's corporate group: parents, subsidiaries, effective shares, exposure.
    Group {
        /// Organization id.
        id: u64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The shortest paths between two entities over chosen relationship kinds.
    Path {
        /// One end.
        a: u64,
        /// The other end.
        b: u64,
        /// Relationship kinds to follow, comma-separated (default: all).
        #[arg(long)]
        kinds: Option<String>,
        /// Most hops.
        #[arg(long, default_value_t = 6)]
        depth: usize,
        /// Most paths to print.
        #[arg(long, default_value_t = 10)]
        max_paths: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Parties connected to one within k hops by chosen relationship kinds.
    Connected {
        /// Party id.
        id: u64,
        /// Most hops.
        #[arg(long, default_value_t = 2)]
        depth: usize,
        /// Relationship kinds to follow, comma-separated (default: all).
        #[arg(long)]
        kinds: Option<String>,
    },
    /// Other parties sharing a phone, email or address with this one.
    Shared {
        /// Party id.
        id: u64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Graphviz DOT of an entity's neighbourhood (pipe into `dot -Tsvg`).
    Graph {
        /// Entity id.
        id: u64,
        /// Most hops.
        #[arg(long, default_value_t = 2)]
        depth: usize,
        /// Write DOT (the only format).
        #[arg(long)]
        dot: bool,
    },
    /// Serve the database over RESP (the Redis protocol) until SIGTERM/SIGINT.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:7379")]
        listen: std::net::SocketAddr,
        /// Password clients must give with AUTH (or HELLO … AUTH).
        #[arg(long)]
        requirepass: Option<String>,
        /// Most connections at once.
        #[arg(long, default_value_t = 10_000)]
        max_connections: usize,
        /// Worker threads (default: the number of CPUs).
        #[arg(long)]
        workers: Option<usize>,
        /// Close connections idle this many seconds (0: never).
        #[arg(long, default_value_t = 600)]
        idle_timeout: u64,
        /// Read the whole store into the page cache before taking
        /// connections (see `Db::prewarm`).
        #[arg(long)]
        prewarm: bool,
        /// Flush in the background every N ms instead of on every write.
        #[arg(long)]
        background_flush_ms: Option<u64>,
        /// Page cache in MiB.
        #[arg(long, default_value_t = 512)]
        cache_mib: u64,
        /// Threads that run writes off the event loop; concurrent writes
        /// share one flush (group commit). 1 gives one flush per write.
        #[arg(long, default_value_t = 32)]
        write_threads: usize,
    },
    /// Measure lookup latency on this database, in-process.
    Bench {
        /// What to measure.
        #[arg(long, value_enum, default_value = "get")]
        workload: bench::Workload,
        /// Operations to time.
        #[arg(long, default_value_t = 100_000)]
        ops: u64,
        /// Operations run first and not timed.
        #[arg(long, default_value_t = 10_000)]
        warmup: u64,
        /// Threads.
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Seed of the key draws.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// How keys are drawn.
        #[arg(long, value_enum, default_value = "uniform")]
        distribution: bench::Distribution,
        /// Draw ids from this file (one per line) instead of the database's persons.
        #[arg(long)]
        ids: Option<PathBuf>,
        /// Page cache in MiB.
        #[arg(long, default_value_t = 2048)]
        cache_mib: u64,
        /// For `--workload mixed`: proportions, e.g. get=60,context=20,upsert=10,interaction=10.
        #[arg(long, default_value = "")]
        mix: String,
        /// Open loop: operations per second (over all threads); latency counts
        /// from when each operation was due. Default: as fast as possible.
        #[arg(long)]
        rate: Option<f64>,
        /// Stop after this many seconds even if operations remain.
        #[arg(long)]
        duration: Option<f64>,
        /// For `get`: also measure the storage engine alone on a copy of the same rows.
        #[arg(long)]
        baseline: bool,
        /// Build banks of these sizes in DIR (reused when present), run the
        /// workload on each, and write a table and an SVG plot of cost against size.
        #[arg(long, value_name = "DIR")]
        curve: Option<PathBuf>,
        /// Sizes for --curve (persons, comma-separated).
        #[arg(long, default_value = "10000,100000,1000000")]
        sizes: String,
        /// Measure a running `kith serve` at HOST:PORT over the wire instead of --db.
        #[arg(long)]
        server: Option<String>,
        /// Password for --server.
        #[arg(long)]
        password: Option<String>,
        /// For `--workload freshness`: also measure this redis-server's own
        /// XADD -> XREAD BLOCK, in the same run.
        #[arg(long)]
        redis: Option<String>,
        /// Open the database without its change log (to measure what the log costs).
        #[arg(long)]
        no_change_log: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write the graph as CSV (nodes.csv, edges.csv) for loading into other databases.
    ExportGraph {
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
    },
    /// Import source files through a mapping file into identity resolution.
    Import {
        /// The mapping file (TOML; see docs/mapping.md).
        #[arg(long)]
        mapping: PathBuf,
        /// Where rejected rows go (file, line, reason).
        #[arg(long, default_value = "rejects.csv")]
        rejects: PathBuf,
        /// Page cache in MiB: memory stays near this, whatever the file size.
        #[arg(long, default_value_t = 256)]
        cache_mib: u64,
        /// The files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Why a source record belongs to its customer (or how two records compare).
    Explain {
        /// Source system of the record.
        system: String,
        /// Key of the record.
        key: String,
        /// Compare with this other record instead: SYSTEM KEY.
        #[arg(long, num_args = 2, value_names = ["SYSTEM", "KEY"])]
        with: Option<Vec<String>>,
    },
    /// The change log: every change after --from, oldest first; with
    /// --follow and --server, each new change as a running server commits it.
    Changes {
        /// Start after this change id (`<ms>-<seq>`; 0: from the oldest kept;
        /// with --follow, `$`: only new changes).
        #[arg(long, default_value = "0")]
        from: String,
        /// At most this many changes (without --follow).
        #[arg(long, default_value_t = usize::MAX)]
        count: usize,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
        /// Keep printing changes as they are committed (needs --server: a
        /// database is open in one process at a time).
        #[arg(long)]
        follow: bool,
        /// A running `kith serve` to follow (host:port).
        #[arg(long)]
        server: Option<String>,
    },
    /// Where each golden attribute of a customer comes from (survivorship).
    Lineage {
        /// Customer id (a merged id is followed to its survivor).
        id: u64,
    },
    /// Force two source records into one customer: SYSTEM KEY SYSTEM2 KEY2.
    Same {
        /// SYSTEM KEY SYSTEM2 KEY2.
        #[arg(num_args = 4, value_names = ["SYSTEM", "KEY", "SYSTEM2", "KEY2"])]
        records: Vec<String>,
    },
    /// Keep two source records in different customers: SYSTEM KEY SYSTEM2 KEY2.
    Apart {
        /// SYSTEM KEY SYSTEM2 KEY2.
        #[arg(num_args = 4, value_names = ["SYSTEM", "KEY", "SYSTEM2", "KEY2"])]
        records: Vec<String>,
    },
    /// Apply a JSON Lines stream of change events: {"op":"upsert","system":…,"key":…,"kind":"person","attrs":{…}}, {"op":"delete","system":…,"key":…}, or {"op":"same"|"apart","system":…,"key":…,"other":{"system":…,"key":…}}.
    Apply {
        /// The events file.
        events: PathBuf,
    },
    /// Export data: `links` writes the crosswalk `system,key,customer_id`.
    Export {
        /// What to export: links.
        what: String,
    },
    /// Entity and relationship counts by kind, and disk size.
    Stats {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs the command; returns the process exit code.
pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kith: {e}");
            1
        }
    }
}

type CliResult = Result<i32, Box<dyn std::error::Error>>;

/// Ids from a file, one per line.
fn read_ids(
    file: Option<&std::path::Path>,
) -> Result<Option<Vec<EntityId>>, Box<dyn std::error::Error>> {
    let Some(f) = file else { return Ok(None) };
    let text =
        std::fs::read_to_string(f).map_err(|e| format!("cannot read {}: {e}", f.display()))?;
    let mut v = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        v.push(EntityId(line.parse().map_err(|_| {
            format!("{}:{}: not an id: {line:?}", f.display(), n + 1)
        })?));
    }
    Ok(Some(v))
}

/// Relationship kinds from a comma-separated list of names (all when `None`).
fn parse_kinds(
    db: &Db,
    list: Option<&str>,
) -> Result<Vec<kith::RelKind>, Box<dyn std::error::Error>> {
    match list {
        None => Ok(db
            .relationship_kinds()
            .into_iter()
            .map(|(k, _)| k)
            .collect()),
        Some(l) => l
            .split(',')
            .map(|n| {
                let n = n.trim().to_ascii_uppercase();
                db.relationship_kind(&n)
                    .ok_or_else(|| format!("unknown relationship kind {n:?}").into())
            })
            .collect(),
    }
}

fn open_existing(path: &PathBuf) -> Result<Db, Box<dyn std::error::Error>> {
    open_existing_with(Db::builder(), path)
}

/// Opens a database that must already exist (a read never creates one).
fn open_existing_with(
    builder: kith::DbBuilder,
    path: &PathBuf,
) -> Result<Db, Box<dyn std::error::Error>> {
    if !path.exists() {
        return Err(format!(
            "no database at {} (create one with `kith generate --db {}` or `kith demo`)",
            path.display(),
            path.display()
        )
        .into());
    }
    Ok(builder.path(path).open()?)
}

fn dispatch(cli: Cli) -> CliResult {
    let db_dir = cli
        .db
        .clone()
        .unwrap_or_else(|| PathBuf::from("./kith-data"));
    match cli.command {
        Command::Demo {
            persons,
            seed,
            fresh,
        } => {
            // The demo builds its own bank: ./kith-demo unless --db names one.
            let dir = cli.db.clone().unwrap_or_else(|| PathBuf::from("./kith-demo"));
            demo::run(&dir, persons, seed, fresh)
        }
        Command::Generate {
            persons,
            seed,
            interactions,
            cache_mib,
        } => {
            let db = Db::builder()
                .path(&db_dir)
                .cache_bytes(cache_mib << 20)
                .durability(Durability::Background { every_ms: 1000 })
                .open()?;
            if db.stats()?.entities.values().any(|n| *n > 0) {
                return Err(format!(
                    "{} already holds data; generate into an empty directory",
                    db_dir.display()
                )
                .into());
            }
            let t = std::time::Instant::now();
            let s = demo::generate(&db, persons, seed, interactions)?;
            db.flush()?;
            let secs = t.elapsed().as_secs_f64();
            println!(
                "generated {} persons, {} organizations, {} households, {} accounts, {} interactions, {} relationships in {:.1} s",
                s.persons, s.organizations, s.households, s.accounts, s.interactions, s.relationships, secs
            );
            Ok(0)
        }
        Command::GenerateRecords { records, seed, out } => {
            let cfg = kith::generate::RecordsConfig {
                records,
                seed,
                ..Default::default()
            };
            let s = if out.as_os_str() == "-" {
                kith::generate::generate_records(&cfg, &mut std::io::stdout().lock())?
            } else {
                let f = std::fs::File::create(&out)
                    .map_err(|e| format!("cannot create {}: {e}", out.display()))?;
                let mut w = std::io::BufWriter::new(f);
                kith::generate::generate_records(&cfg, &mut w)?
            };
            eprintln!(
                "generated {} records of {} people ({} true pairs)",
                s.records, s.people, s.true_pairs
            );
            Ok(0)
        }
        Command::Get { id, json } => {
            let db = open_existing(&db_dir)?;
            match db.get(EntityId(id))? {
                Some(e) => {
                    show::entity(&db, &e, json)?;
                    Ok(0)
                }
                None => Err(format!("no entity with id {id}").into()),
            }
        }
        Command::Lookup { system, key, json } => {
            let db = open_existing(&db_dir)?;
            match db.lookup(&system, &key)? {
                Some(id) => {
                    let e = db.get(id)?.ok_or_else(|| {
                        format!("identifier {system}:{key} points to missing entity {id}")
                    })?;
                    show::entity(&db, &e, json)?;
                    Ok(0)
                }
                None => Err(format!("no entity has identifier {system}:{key}").into()),
            }
        }
        Command::Find { attr, value } => {
            let db = open_existing(&db_dir)?;
            let index = Index::from_name(&attr).ok_or_else(|| {
                let names: Vec<&str> = Index::ALL.iter().map(|i| i.name()).collect();
                format!(
                    "{attr:?} is not an indexed attribute; indexed: {}",
                    names.join(", ")
                )
            })?;
            let ids = db.find(index, &value)?;
            if ids.is_empty() {
                eprintln!("no entity has {index} {value:?}");
                return Ok(1);
            }
            for id in ids {
                if let Some(e) = db.get(id)? {
                    println!("{}", show::one_line(&db, &e));
                }
            }
            Ok(0)
        }
        Command::Context {
            id,
            interactions,
            json,
        } => {
            let builder = Db::builder().context_options(kith::ContextOptions {
                recent_interactions: interactions,
                ..Default::default()
            });
            let db = open_existing_with(builder, &db_dir)?;
            let c = db.context(EntityId(id))?;
            if json {
                println!("{}", kith::json::context_to_json(&db, &c));
            } else {
                show::context(&db, &c);
            }
            Ok(0)
        }
        Command::Interact {
            id,
            channel,
            kind,
            summary,
            status,
            at,
        } => {
            let db = open_existing(&db_dir)?;
            let when = match at {
                Some(t) => kith::Timestamp::parse(&t)?,
                None => kith::Timestamp::now(),
            };
            let mut e = kith::NewEntity::new(kith::EntityKind::INTERACTION)
                .attr(kith::attrs::CHANNEL, channel)
                .attr(kith::attrs::INTERACTION_TYPE, kind)
                .attr(kith::attrs::STATUS, status)
                .attr(kith::attrs::OCCURRED_AT, when);
            if !summary.is_empty() {
                e = e.attr(kith::attrs::SUMMARY, summary);
            }
            let iid = db.append_interaction(EntityId(id), e)?;
            println!("{iid}");
            Ok(0)
        }
        Command::Interactions {
            id,
            limit,
            from,
            to,
        } => {
            let db = open_existing(&db_dir)?;
            let list = match (from, to) {
                (None, None) => db.recent_interactions(EntityId(id), limit)?,
                (f, t) => {
                    let f = f
                        .map(|s| kith::Timestamp::parse(&s))
                        .transpose()?
                        .unwrap_or(kith::Timestamp::from_micros(i64::MIN));
                    let t = t
                        .map(|s| kith::Timestamp::parse(&s))
                        .transpose()?
                        .unwrap_or(kith::Timestamp::from_micros(i64::MAX));
                    db.interactions_between(EntityId(id), f, t, limit)?
                }
            };
            for (_, iid) in list {
                if let Some(e) = db.get(iid)? {
                    println!("{}", show::one_line(&db, &e));
                }
            }
            Ok(0)
        }
        Command::Household { id, json } => {
            let db = open_existing(&db_dir)?;
            let views = db.household(EntityId(id))?;
            if json {
                println!("{}", kith::json::queries::household(&db, &views));
            } else {
                show::household(&db, &views);
            }
            Ok(0)
        }
        Command::Guarantors { id, depth, json } => {
            let db = open_existing(&db_dir)?;
            let n = db.guarantors(EntityId(id), depth)?;
            if json {
                println!("{}", kith::json::queries::guarantors(&db, &n));
            } else {
                show::guarantors(&db, &n)?;
            }
            Ok(0)
        }
        Command::Group { id, json } => {
            let db = open_existing(&db_dir)?;
            let g = db.group(EntityId(id))?;
            if json {
                println!("{}", kith::json::queries::group(&g));
            } else {
                show::group(&db, &g)?;
            }
            Ok(0)
        }
        Command::Path {
            a,
            b,
            kinds,
            depth,
            max_paths,
            json,
        } => {
            let db = open_existing(&db_dir)?;
            let kinds = parse_kinds(&db, kinds.as_deref())?;
            let paths = kith::traverse::shortest_paths(
                &db,
                EntityId(a),
                EntityId(b),
                &kinds,
                depth,
                max_paths,
            )?;
            if json {
                println!("{}", kith::json::queries::paths(&paths));
                return Ok(0);
            }
            if paths.is_empty() {
                eprintln!("no path between {a} and {b} within {depth} hops");
                return Ok(1);
            }
            for p in paths {
                let parts: Vec<String> = p
                    .iter()
                    .map(|id| {
                        db.get(*id)
                            .ok()
                            .flatten()
                            .map(|e| show::one_line(&db, &e))
                            .unwrap_or_else(|| id.to_string())
                    })
                    .collect();
                println!("{}", parts.join("  —  "));
            }
            Ok(0)
        }
        Command::Connected { id, depth, kinds } => {
            let db = open_existing(&db_dir)?;
            let kinds = parse_kinds(&db, kinds.as_deref())?;
            let mut spec =
                kith::traverse::TraverseSpec::new(&kinds, kith::traverse::Follow::Both, depth);
            spec.node_kinds = Some(vec![
                kith::EntityKind::PERSON,
                kith::EntityKind::ORGANIZATION,
            ]);
            let t = db.traverse(EntityId(id), &spec)?;
            for r in &t.reached {
                if let Some(e) = db.get(r.id)? {
                    println!("{} hop(s)  {}", r.depth, show::one_line(&db, &e));
                }
            }
            if t.truncated {
                println!("(truncated at the traversal limits)");
            }
            Ok(0)
        }
        Command::Shared { id, json } => {
            let db = open_existing(&db_dir)?;
            let s = db.shared_identifiers(EntityId(id))?;
            if json {
                println!("{}", kith::json::queries::shared(&s));
                return Ok(0);
            }
            for x in &s {
                let who = db
                    .get(x.id)?
                    .map(|e| show::one_line(&db, &e))
                    .unwrap_or_default();
                println!("{:<8} {:<32} {who}", x.what, x.value);
            }
            Ok(0)
        }
        Command::Graph { id, depth, dot } => {
            let db = open_existing(&db_dir)?;
            let _ = dot;
            let text = kith::traverse::neighbourhood_dot(&db, EntityId(id), depth, |n| {
                db.get(n)
                    .ok()
                    .flatten()
                    .map(|e| show::one_line(&db, &e))
                    .unwrap_or_else(|| n.to_string())
            })?;
            print!("{text}");
            Ok(0)
        }
        Command::Check => {
            let db = open_existing(&db_dir)?;
            let r = db.check()?;
            println!(
                "checked {} entities, {} relationships, {} identifiers, {} index entries ({} keys, {:.1} MiB of keys and values)",
                r.entities, r.relationships, r.identifiers, r.index_entries, r.keys,
                r.logical_bytes as f64 / (1 << 20) as f64
            );
            if r.is_ok() {
                println!("ok: no violations");
                Ok(0)
            } else {
                for v in &r.violations {
                    println!("violation: {v}");
                }
                println!("{} violations", r.violations.len());
                Ok(1)
            }
        }
        Command::Serve {
            listen,
            requirepass,
            max_connections,
            workers,
            idle_timeout,
            background_flush_ms,
            prewarm,
            cache_mib,
            write_threads,
        } => {
            if write_threads == 0 {
                return Err("--write-threads must be at least 1".into());
            }
            let durability = match background_flush_ms {
                Some(ms) => Durability::Background { every_ms: ms },
                None => Durability::Immediate,
            };
            let db = Db::builder()
                .path(&db_dir)
                .cache_bytes(cache_mib << 20)
                .durability(durability)
                .open()?;
            if prewarm {
                eprintln!("prewarmed the page cache: {}", db.prewarm()?);
            }
            let mut config = kith::server::ServerConfig {
                listen,
                password: requirepass,
                max_connections,
                idle_timeout: (idle_timeout > 0)
                    .then(|| std::time::Duration::from_secs(idle_timeout)),
                write_threads,
                ..Default::default()
            };
            if let Some(w) = workers {
                config.workers = w;
            }
            let server = kith::server::Server::bind(db, config)
                .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
            let handle = server.shutdown_handle();
            let mut signals = signal_hook::iterator::Signals::new([
                signal_hook::consts::SIGTERM,
                signal_hook::consts::SIGINT,
            ])?;
            std::thread::spawn(move || {
                if signals.forever().next().is_some() {
                    handle.shutdown();
                }
            });
            eprintln!(
                "kith: serving {} on {}",
                db_dir.display(),
                server.local_addr()?
            );
            server.run()?;
            eprintln!("kith: stopped; database flushed");
            Ok(0)
        }
        Command::Bench {
            workload,
            ops,
            warmup,
            threads,
            seed,
            distribution,
            ids,
            cache_mib,
            server,
            password,
            json,
            mix,
            rate,
            curve,
            sizes,
            duration,
            baseline,
            redis,
            no_change_log,
        } => {
            if workload == bench::Workload::Freshness {
                let rate = rate.unwrap_or(1000.0);
                let db = match &server {
                    Some(_) => None,
                    None => Some(
                        kith::Db::builder()
                            .path(&db_dir)
                            .cache_bytes(cache_mib << 20)
                            .change_log(!no_change_log)
                            .open()?,
                    ),
                };
                return feed_bench::run(db.as_ref(), server.as_deref(), redis.as_deref(), ops, rate, json);
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
            let db = open_existing_with(builder, &db_dir)?;
            bench::run(&db, options)
        }
        Command::ExportGraph { out } => {
            let db = open_existing(&db_dir)?;
            std::fs::create_dir_all(&out)?;
            let mut nodes = std::io::BufWriter::new(std::fs::File::create(out.join("nodes.csv"))?);
            let mut edges = std::io::BufWriter::new(std::fs::File::create(out.join("edges.csv"))?);
            use std::io::Write;
            writeln!(nodes, "id,kind,product_type,balance")?;
            writeln!(edges, "from,to,kind")?;
            let (mut n_nodes, mut n_edges) = (0u64, 0u64);
            for (kind, name) in db.entity_kinds() {
                let mut after = None;
                loop {
                    let page = db.list(kind, after, 10_000)?;
                    for id in &page.ids {
                        let Some(e) = db.get(*id)? else { continue };
                        let product = e.text(kith::attrs::PRODUCT_TYPE).unwrap_or("");
                        let balance = e
                            .attr(kith::attrs::BALANCE)
                            .and_then(|v| v.as_decimal())
                            .map(|d| d.to_string())
                            .unwrap_or_else(|| "0".into());
                        writeln!(nodes, "{},{name},{product},{balance}", id.0)?;
                        n_nodes += 1;
                        for n in db.edges(*id, kith::Direction::Out)? {
                            let k = db
                                .relationship_kind_name(n.kind)
                                .unwrap_or_else(|| n.kind.to_string());
                            writeln!(edges, "{},{},{k}", id.0, n.id.0)?;
                            n_edges += 1;
                        }
                    }
                    match page.next {
                        Some(n) => after = Some(n),
                        None => break,
                    }
                }
            }
            nodes.flush()?;
            edges.flush()?;
            println!(
                "wrote {n_nodes} nodes and {n_edges} edges to {}",
                out.display()
            );
            Ok(0)
        }
        Command::Import {
            mapping,
            rejects,
            cache_mib,
            files,
        } => {
            let db = Db::builder()
                .path(&db_dir)
                .cache_bytes(cache_mib << 20)
                .durability(Durability::Background { every_ms: 1000 })
                .open()?;
            import::run(&db, &mapping, &files, &rejects)
        }
        Command::Explain { system, key, with } => {
            let db = open_existing(&db_dir)?;
            let print = |scores: &[kith::resolve::compare::FieldScore], total: f64| {
                for f in scores {
                    println!(
                        "    {:<22} {:<9} {:+.1}",
                        f.field,
                        format!("{:?}", f.agreement).to_lowercase(),
                        f.weight
                    );
                }
                println!("    {:<22} {:<9} {:+.1}", "total", "", total);
            };
            if let Some(other) = with {
                let (scores, total) =
                    db.compare_records((&system, &key), (&other[0], &other[1]))?;
                println!("{system}:{key} against {}:{}", other[0], other[1]);
                print(&scores, total);
                return Ok(0);
            }
            let x = db.explain(&system, &key)?;
            match x.customer {
                Some(c) => println!(
                    "{system}:{key} (record {}) belongs to customer {c}",
                    x.record
                ),
                None => println!(
                    "{system}:{key} (record {}) belongs to no customer",
                    x.record
                ),
            }
            if x.comparisons.is_empty() {
                println!("  it is the customer's only record");
            }
            for (other, scores, total) in &x.comparisons {
                println!("  against {other}:");
                print(scores, *total);
            }
            if let Some(c) = x.customer {
                println!("  the customer's golden attributes:");
                show::lineage(&db.lineage(c)?);
            }
            Ok(0)
        }
        Command::Changes {
            from,
            count,
            json,
            follow,
            server,
        } => match (follow, server) {
            (true, Some(addr)) => changes::follow(&addr, &from, json),
            (true, None) => Err("--follow needs --server HOST:PORT: a database is open in one process at a time, so follow the server that writes it".into()),
            (false, Some(_)) => Err("--server is for --follow; without it kith changes reads --db".into()),
            (false, None) => changes::local(&open_existing(&db_dir)?, &from, count, json),
        },
        Command::Lineage { id } => {
            let db = open_existing(&db_dir)?;
            let id = db.follow_merges(EntityId(id))?;
            if !db.contains(id)? {
                return Err(format!("no entity with id {}", id.0).into());
            }
            show::lineage(&db.lineage(id)?);
            Ok(0)
        }
        Command::Same { records } | Command::Apart { records } if records.len() != 4 => {
            Err("give two records: SYSTEM KEY SYSTEM2 KEY2".into())
        }
        Command::Same { records } => {
            let db = open_existing(&db_dir)?;
            let c = db.force_together((&records[0], &records[1]), (&records[2], &records[3]))?;
            db.flush()?;
            println!(
                "{}:{} and {}:{} are customer {c}",
                records[0], records[1], records[2], records[3]
            );
            Ok(0)
        }
        Command::Apart { records } => {
            let db = open_existing(&db_dir)?;
            let (x, y) = db.force_apart(
                (&records[0], &records[1]),
                (&records[2], &records[3]),
                &kith::resolve::ResolveConfig::default(),
            )?;
            db.flush()?;
            println!(
                "{}:{} is customer {x}; {}:{} is customer {y}",
                records[0], records[1], records[2], records[3]
            );
            Ok(0)
        }
        Command::Apply { events } => {
            let db = Db::builder()
                .path(&db_dir)
                .durability(Durability::Background { every_ms: 1000 })
                .open()?;
            import::apply(&db, &events)
        }
        Command::Export { what } => {
            if what != "links" {
                return Err(format!("can export: links (not {what:?})").into());
            }
            let db = open_existing(&db_dir)?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let code = import::export_links(&db, &mut out)?;
            std::io::Write::flush(&mut out)?;
            Ok(code)
        }
        Command::Stats { json } => {
            let db = open_existing(&db_dir)?;
            show::stats(&db.stats()?, json);
            Ok(0)
        }
    }
}
