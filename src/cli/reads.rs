//! The read commands: one enum, run against the database directly, or —
//! when a running `kith serve` holds the database — through that server
//! (`KITH.CLI`), which runs the same code against its open database and
//! sends back the same output.

use crate::cli::out;
use crate::cli::{cmd, open_existing, CliResult};
use clap::{Parser, Subcommand};
use kith::Db;
use std::path::{Path, PathBuf};

/// The commands that run against the open database: the reads, and the
/// rules (which the process holding the database runs).
#[derive(Subcommand)]
pub(crate) enum ReadCommand {
    /// Interaction rules: load, list, stats, delete, test; the actions they raised.
    Rules {
        /// What to do.
        #[command(subcommand)]
        command: cmd::rules::RulesCommand,
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
        /// Show the source record itself, not the customer it resolves to.
        #[arg(long)]
        record: bool,
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
    Household(cmd::queries::HouseholdArgs),
    /// Whom a party guarantees and who guarantees it, transitively, with exposure.
    Guarantors(cmd::queries::GuarantorsArgs),
    /// Every direct and indirect owner of an organization (beneficial
    /// owners), with effective shares over all ownership paths and the
    /// controlling chain.
    Owners(cmd::queries::OwnersArgs),
    /// An organization's corporate group: parents, subsidiaries, effective shares, exposure.
    Group(cmd::queries::GroupArgs),
    /// The shortest paths between two entities over chosen relationship kinds.
    Path(cmd::queries::PathArgs),
    /// Parties connected to one within k hops by chosen relationship kinds.
    Connected(cmd::queries::ConnectedArgs),
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
    /// Why a source record belongs to its customer (or how two records compare).
    Explain {
        /// Source system of the record.
        system: String,
        /// Key of the record.
        key: String,
        /// Compare with this other record instead: SYSTEM KEY.
        #[arg(long, num_args = 2, value_names = ["SYSTEM", "KEY"])]
        with: Option<Vec<String>>,
        /// Compare under this mapping file's `[resolution]` (thresholds,
        /// weights, vetoes) — the rules its import resolved with — instead
        /// of the defaults.
        #[arg(long, requires = "with")]
        mapping: Option<std::path::PathBuf>,
    },
    /// The possible matches awaiting a decision, best first, each with how
    /// its records compare and the commands that decide it.
    Review {
        /// Most shown.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Score the customers against a truth file (CSV `entity_id,system,key`):
    /// pairwise precision, recall, F1, and the false merges and splits.
    Evaluate {
        /// The truth: one row per source record, records of one real entity
        /// sharing its `entity_id`.
        #[arg(long)]
        truth: PathBuf,
        /// Most false merges and false splits listed (the counts are exact).
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Where each golden attribute of a customer comes from (survivorship).
    Lineage {
        /// Customer id (a merged id is followed to its survivor).
        id: u64,
    },
    /// Entity and relationship counts by kind, and disk size.
    Stats {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a read command on `db`.
pub(crate) fn execute(db: &Db, command: ReadCommand) -> CliResult {
    use ReadCommand as R;
    match command {
        R::Get { id, json } => cmd::read::get(db, id, json),
        R::Lookup {
            system,
            key,
            record,
            json,
        } => cmd::read::lookup(db, &system, &key, record, json),
        R::Find { attr, value } => cmd::read::find(db, &attr, &value),
        R::Check => cmd::read::check(db),
        R::Context {
            id,
            interactions,
            json,
        } => cmd::read::context(db, id, interactions, json),
        R::Interactions {
            id,
            limit,
            from,
            to,
        } => cmd::interactions::interactions(db, id, limit, from, to),
        R::Household(args) => cmd::queries::household(db, args),
        R::Guarantors(args) => cmd::queries::guarantors(db, args),
        R::Owners(args) => cmd::queries::owners(db, args),
        R::Group(args) => cmd::queries::group(db, args),
        R::Path(args) => cmd::queries::path(db, args),
        R::Connected(args) => cmd::queries::connected(db, args),
        R::Shared { id, json } => cmd::queries::shared(db, id, json),
        R::Graph { id, depth, dot } => cmd::queries::graph(db, id, depth, dot),
        R::Explain {
            system,
            key,
            with,
            mapping,
        } => cmd::resolution::explain(db, &system, &key, with, mapping.as_deref()),
        R::Lineage { id } => cmd::resolution::lineage(db, id),
        R::Review { limit, json } => cmd::resolution::review(db, limit, json),
        R::Evaluate { truth, limit, json } => cmd::resolution::evaluate(db, &truth, limit, json),
        R::Stats { json } => cmd::read::stats(db, json),
        R::Rules { command } => cmd::rules::run(db, command),
    }
}

/// The file in a database directory where `kith serve` writes the address
/// it listens on while it holds the database.
pub(crate) const SERVER_FILE: &str = "kith.server";

/// The server holding `db_dir`: `--server` when given, else the address in
/// its `kith.server` file.
pub(crate) fn server_of(db_dir: &Path, given: Option<&str>) -> Option<String> {
    given.map(str::to_string).or_else(|| {
        std::fs::read_to_string(db_dir.join(SERVER_FILE))
            .ok()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
    })
}

/// Runs a read command against `db_dir`: through the server `--server`
/// names; through the server that holds the database (its `kith.server`
/// file names it and it answers); or directly.
pub(crate) fn run(db_dir: &PathBuf, server: Option<&str>, command: ReadCommand) -> CliResult {
    if let Some(addr) = server {
        return forward(connect(addr, db_dir)?, addr, None)?
            .ok_or_else(|| "the server does not hold this database".into());
    }
    if let Some(addr) = server_of(db_dir, None) {
        // A file left by a server that was killed names nobody: read directly.
        if let Ok(client) = connect(&addr, db_dir) {
            let canonical = std::fs::canonicalize(db_dir).unwrap_or_else(|_| db_dir.clone());
            // A copy of the directory names the original's server: read the copy.
            if let Some(code) = forward(client, &addr, Some(&canonical))? {
                return Ok(code);
            }
        }
    }
    match open_existing(db_dir) {
        Ok(db) => execute(&db, command),
        Err(e) if is_in_use(e.as_ref()) => {
            Err(format!("{e}; if a `kith serve` holds it, name it with --server HOST:PORT").into())
        }
        Err(e) => Err(e),
    }
}

/// Whether opening failed because another process holds the database.
pub(crate) fn is_in_use(e: &(dyn std::error::Error + 'static)) -> bool {
    matches!(
        e.downcast_ref::<kith::OpenError>(),
        Some(kith::OpenError::Locked { .. })
    )
}

/// This process's arguments without the global `--db` and `--server`
/// options (the server knows its database).
fn subcommand_args() -> Vec<String> {
    let mut out = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--db" || a == "--server" {
            args.next();
        } else if !(a.starts_with("--db=") || a.starts_with("--server=")) {
            // A file argument (a rules file) is read by the server: name it
            // by its absolute path.
            let p = Path::new(&a);
            match p.is_file().then(|| std::fs::canonicalize(p)) {
                Some(Ok(abs)) => out.push(abs.to_string_lossy().into_owned()),
                _ => out.push(a),
            }
        }
    }
    out
}

/// A connection to the server at `addr`, authenticated with
/// `KITH_PASSWORD` when that is set.
fn connect(addr: &str, db_dir: &Path) -> Result<kith::client::Client, String> {
    match std::env::var("KITH_PASSWORD") {
        Ok(pw) => kith::client::Client::connect_with_password(addr, &pw),
        Err(_) => kith::client::Client::connect(addr),
    }
    .map_err(|e| {
        format!(
            "the server at {addr} for {} cannot be reached: {e}",
            db_dir.display()
        )
    })
}

/// Sends this command line to the server (`KITH.CLI`, with the database
/// it must hold when `db` is given) and prints what it answers: the same
/// output as a local run, and its exit code; `None` when the server holds
/// another database.
fn forward(
    mut client: kith::client::Client,
    addr: &str,
    db: Option<&Path>,
) -> Result<Option<i32>, Box<dyn std::error::Error>> {
    use kith::client::ClientError;
    use kith::server::Frame;
    let args = subcommand_args();
    let db_text = db.map(|p| p.to_string_lossy().into_owned());
    let mut wire: Vec<&[u8]> = vec![b"KITH.CLI"];
    if let Some(p) = &db_text {
        wire.extend([b"DB".as_slice(), p.as_bytes()]);
    }
    wire.extend(args.iter().map(|a| a.as_bytes()));
    let reply = match client.command(&wire) {
        Err(ClientError::Server { code, .. }) if code == "WRONGDB" => return Ok(None),
        other => other,
    };
    let reply = reply.map_err(|e| match e {
        ClientError::Server { code, message } if code == "NOAUTH" => {
            format!("the server at {addr} wants a password: set KITH_PASSWORD ({message})")
        }
        ClientError::Server { message, .. } if message.contains("unknown command") => format!(
            "the server at {addr} does not run the command line's reads (not a `kith serve` of this version)"
        ),
        ClientError::Server { message, .. } => message,
        other => format!("asking the server at {addr}: {other}"),
    })?;
    let Frame::Array(parts) = reply else {
        return Err(format!("the server at {addr} answered KITH.CLI with {reply:?}").into());
    };
    let text = |i: usize| match parts.get(i) {
        Some(Frame::Bulk(b)) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    };
    out::out(format_args!("{}", text(1)));
    out::err(format_args!("{}", text(2)));
    Ok(Some(match parts.first() {
        Some(Frame::Integer(c)) => *c as i32,
        _ => 1,
    }))
}

/// The read commands as `kith serve` parses them for `KITH.CLI`.
#[derive(Parser)]
#[command(name = "kith", no_binary_name = true)]
struct Remote {
    #[command(subcommand)]
    command: ReadCommand,
}

/// `KITH.CLI [DB path] subcommand arg …`: runs a read command of the
/// command line against the server's database (refused, with `DB`, unless
/// that is the database this server holds). Answers `[exit code, stdout,
/// stderr]`; a command line that is not a read command is refused.
pub(crate) fn extension() -> kith::server::Extension {
    use kith::server::Frame;
    kith::server::Extension {
        name: "KITH.CLI".into(),
        summary: "KITH.CLI subcommand [arg ...]: a read command of the kith command line, run here; [exit code, stdout, stderr]".into(),
        run: std::sync::Arc::new(|db: &Db, args: &[&[u8]]| {
            let mut rest = &args[1..];
            if rest.len() >= 2 && rest[0].eq_ignore_ascii_case(b"DB") {
                let asked = std::path::PathBuf::from(String::from_utf8_lossy(rest[1]).into_owned());
                let held = db.path().and_then(|p| std::fs::canonicalize(p).ok());
                if held.as_deref() != Some(asked.as_path()) {
                    return Frame::error(
                        "WRONGDB",
                        format!(
                            "this server holds {}, not {}",
                            held.map(|p| p.display().to_string()).unwrap_or_else(|| "a temporary database".into()),
                            asked.display()
                        ),
                    );
                }
                rest = &rest[2..];
            }
            let mut words = Vec::with_capacity(rest.len());
            for a in rest {
                match std::str::from_utf8(a) {
                    Ok(t) => words.push(t.to_string()),
                    Err(_) => return Frame::error("INVALID", "an argument is not valid UTF-8"),
                }
            }
            let command = match Remote::try_parse_from(&words) {
                Ok(r) => r.command,
                Err(e) => {
                    let first = e.to_string();
                    let line = first.lines().next().unwrap_or("").trim_start_matches("error: ");
                    return Frame::error("INVALID", format!("not a read command of kith: {line}"));
                }
            };
            let (result, stdout, mut stderr) = out::capture(|| execute(db, command));
            let code = match result {
                Ok(code) => code,
                Err(e) => {
                    stderr.extend_from_slice(format!("kith: {e}\n").as_bytes());
                    1
                }
            };
            Frame::Array(vec![
                Frame::Integer(code as i64),
                Frame::Bulk(stdout),
                Frame::Bulk(stderr),
            ])
        }),
    }
}
