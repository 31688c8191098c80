//! Command-line interface: argument parsing and dispatch. Uses only kith's
//! public API.

mod bench;
mod changes;
mod cmd;
mod demo;
mod feed_bench;
mod import;
mod out;
mod page_bench;
mod reads;
mod rules_bench;
mod show;

use clap::{Parser, Subcommand};
use kith::{Db, Durability, EntityId, Index};
#[allow(unused_imports)]
use out::{note, say, say_raw};
use std::path::PathBuf;

/// kith: an embedded customer graph database.
#[derive(Parser)]
#[command(name = "kith", version, about)]
struct Cli {
    /// Database directory (default ./kith-data; for `demo`, ./kith-demo).
    #[arg(long, global = true)]
    db: Option<PathBuf>,
    /// A running `kith serve` (HOST:PORT): it answers the read commands
    /// (found in the database's `kith.server` file when a server holds the
    /// database and this is not given), `changes --follow` follows it, and
    /// `bench` measures it over the wire.
    #[arg(long, global = true)]
    server: Option<String>,
    /// Storage engine of a database this command creates: sled (the
    /// default), fjall or redb (docs/engines.md says which to pick). An
    /// existing database is opened with its own engine; naming another is
    /// an error.
    #[arg(long, global = true)]
    engine: Option<kith::StorageEngine>,
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
        /// Also write the bulk load to the change log (by default a
        /// synthetic bank is loaded without it: nobody follows it, and the
        /// log would hold every generated entity).
        #[arg(long)]
        change_log: bool,
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
        /// Add what real sources make hard: shared family and role
        /// mailboxes, mobiles beside household phones, twins, care homes,
        /// mistyped national ids, aliases and former family names, mailing
        /// addresses, and the employers as organization records (columns
        /// `phone_mobile`, `email_work`, `given_alias`, `former_surname`,
        /// `mail_*`, `kind`, `org_name`, `reg_no` added;
        /// bench/records/messy.toml maps them).
        #[arg(long)]
        messy: bool,
        /// With --messy: also write who works for which generated
        /// organization (`rec_id,employer_reg`) to this file, to import as
        /// relationships (bench/records/messy-employment.toml).
        #[arg(long, requires = "messy")]
        employment: Option<PathBuf>,
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
    /// Serve the database over RESP (the Redis protocol) until SIGTERM/SIGINT.
    Serve(cmd::serve::ServeArgs),
    /// Serve the customer 360 page of a local database over HTTP.
    Ui(cmd::serve::UiArgs),
    /// Measure lookup latency on this database, in-process.
    Bench(cmd::measure::BenchArgs),
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
        /// Where rejected rows go (file, line, reason); by default beside the
        /// database, `DIR.rejects.csv`.
        #[arg(long)]
        rejects: Option<PathBuf>,
        /// Page cache in MiB: memory stays near this, whatever the file size.
        #[arg(long, default_value_t = 256)]
        cache_mib: u64,
        /// Rejected rows allowed before the exit code says the import failed
        /// (they are in the rejects file either way).
        #[arg(long, default_value_t = 0)]
        max_rejects: u64,
        /// The first load of a new database: resolve every row in memory
        /// (the same customers as without it), then write the result in key
        /// order and check it. The directory must be new or empty.
        #[arg(long)]
        bulk: bool,
        /// The files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
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
        /// Keep printing changes as they are committed, from the running
        /// `kith serve` that holds the database (--server, or the one named
        /// in the database's `kith.server` file).
        #[arg(long)]
        follow: bool,
    },
    /// Migrate a database written by an older kith to this one's format.
    Upgrade,
    /// Copy the database, row for row, into a new directory kept in another
    /// storage engine, and check the copy; the source is only read.
    Migrate {
        /// The engine of the copy: sled, fjall or redb.
        #[arg(long = "to-engine")]
        to_engine: kith::StorageEngine,
        /// The new database's directory (missing or empty; an unfinished
        /// copy there is started again).
        #[arg(long)]
        out: PathBuf,
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
    #[command(flatten)]
    Read(reads::ReadCommand),
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

/// `--NAME` MiB as bytes, or an error naming the option when it does not fit.
fn mib(name: &str, n: u64) -> Result<u64, String> {
    n.checked_mul(1 << 20)
        .ok_or_else(|| format!("--{name} {n} is too large (at most {} MiB)", u64::MAX >> 20))
}

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

/// Kinds to follow, each with its direction, from `KIND[:out|in|any],…`
/// (no direction: any; when `None`: every kind but identity resolution's,
/// either way).
fn parse_follows(
    db: &Db,
    list: Option<&str>,
) -> Result<Vec<(kith::RelKind, kith::traverse::Follow)>, Box<dyn std::error::Error>> {
    use kith::traverse::Follow;
    match list {
        None => Ok(kith::traverse::default_kinds(db)
            .into_iter()
            .map(|k| (k, Follow::Both))
            .collect()),
        Some(l) => l
            .split(',')
            .map(|t| kith::traverse::parse_follow(db, t, Follow::Both).map_err(Into::into))
            .collect(),
    }
}

/// The customer a query about `id` is about: a source record's customer,
/// a merged-away customer's survivor, or `id` itself. Says so on stderr
/// when it is not `id`.
fn customer_target(db: &Db, id: u64) -> Result<EntityId, Box<dyn std::error::Error>> {
    let asked = EntityId(id);
    let target = db
        .customer_for(asked)?
        .ok_or_else(|| format!("no entity with id {id}"))?;
    if target != asked {
        let record = db
            .get(asked)?
            .is_some_and(|e| e.kind == kith::EntityKind::SOURCE_RECORD);
        let why = if record { "a source record" } else { "merged" };
        out::note!("{id} is {why}: answering for customer {target}");
    }
    Ok(target)
}

/// Opens a database that must exist, to read it: its interaction rules do
/// not run in this process (a read writes nothing).
fn open_existing(path: &PathBuf) -> Result<Db, Box<dyn std::error::Error>> {
    open_existing_with(db_builder().run_rules(false), path)
}

/// Opens a database that must exist, to write to it: its interaction rules
/// run, and [`finish_rules`] lets them act on what this process wrote.
fn open_existing_to_write(path: &PathBuf) -> Result<Db, Box<dyn std::error::Error>> {
    open_existing_with(db_builder(), path)
}

/// Before a writing command exits: waits (up to a minute) for the rules to
/// evaluate what it wrote, so that their actions are there when it ends;
/// says so when they could not finish (the next process that opens the
/// database to write, or `kith serve`, goes on from where they are).
fn finish_rules(db: &Db) {
    let Ok(status) = db.rules_status() else {
        return;
    };
    if !status.running || status.lag == 0 {
        return;
    }
    if !db.wait_for_rules(std::time::Duration::from_secs(60)) {
        if let Ok(s) = db.rules_status() {
            eprintln!(
                "kith: the interaction rules have {} changes left to evaluate; the next process that writes to the database, or `kith serve`, goes on from {}",
                s.lag, s.position
            );
        }
    }
}

/// Opens a database that must already exist (a read never creates one).
fn open_existing_with(
    builder: kith::DbBuilder,
    path: &PathBuf,
) -> Result<Db, Box<dyn std::error::Error>> {
    if !path.exists() {
        return Err(format!(
            "no database at {} (load your data with `kith --db {} import --mapping MAP.toml FILE…`, see docs/mapping.md; or try `kith demo`)",
            path.display(),
            path.display()
        )
        .into());
    }
    Ok(builder.path(path).open()?)
}

/// The `--engine` given, for every database this process opens.
static ENGINE: std::sync::OnceLock<Option<kith::StorageEngine>> = std::sync::OnceLock::new();

/// Options for opening a database, with the `--engine` given.
fn db_builder() -> kith::DbBuilder {
    match ENGINE.get().copied().flatten() {
        Some(e) => Db::builder().engine(e),
        None => Db::builder(),
    }
}

fn dispatch(cli: Cli) -> CliResult {
    let _ = ENGINE.set(cli.engine);
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
            let dir = cli
                .db
                .clone()
                .unwrap_or_else(|| PathBuf::from("./kith-demo"));
            demo::run(&dir, persons, seed, fresh)
        }
        Command::Generate {
            persons,
            seed,
            interactions,
            cache_mib,
            change_log,
        } => cmd::generate::generate(&db_dir, persons, seed, interactions, cache_mib, change_log),
        Command::GenerateRecords {
            records,
            seed,
            out,
            messy,
            employment,
        } => cmd::generate::generate_records(records, seed, out, messy, employment),
        Command::Interact {
            id,
            channel,
            kind,
            summary,
            status,
            at,
        } => cmd::interactions::interact(&db_dir, id, channel, kind, summary, status, at),
        Command::Upgrade => cmd::upgrade::upgrade(&db_dir),
        Command::Migrate { to_engine, out } => cmd::upgrade::migrate(&db_dir, to_engine, &out),
        Command::Serve(args) => cmd::serve::serve(&db_dir, args),
        Command::Ui(args) => cmd::serve::ui(&db_dir, args),
        Command::Bench(args) => cmd::measure::bench(&db_dir, args, cli.server.clone()),
        Command::ExportGraph { out } => cmd::export::export_graph(&db_dir, out),
        Command::Import {
            mapping,
            rejects,
            cache_mib,
            max_rejects,
            bulk,
            files,
        } => cmd::resolution::import(
            &db_dir,
            mapping,
            rejects,
            cache_mib,
            max_rejects,
            bulk,
            files,
        ),
        Command::Changes {
            from,
            count,
            json,
            follow,
        } => cmd::feed::changes(&db_dir, from, count, json, follow, cli.server),
        Command::Same { records } | Command::Apart { records } if records.len() != 4 => {
            Err("give two records: SYSTEM KEY SYSTEM2 KEY2".into())
        }
        Command::Same { records } => cmd::resolution::same(&db_dir, records),
        Command::Apart { records } => cmd::resolution::apart(&db_dir, records),
        Command::Apply { events } => cmd::resolution::apply(&db_dir, events),
        Command::Export { what } => cmd::export::export(&db_dir, what),
        Command::Read(r) => reads::run(&db_dir, cli.server.as_deref(), r),
    }
}
