//! Import: source files (CSV or JSON Lines) through a mapping file into
//! identity resolution, entities, relationships and interactions; change
//! events (`apply`); the crosswalk of records to customers (`export_links`).
//! The `kith import`, `kith apply` and `kith export links` commands are thin
//! wrappers over these; an embedding service calls them directly.
//!
//! A row that cannot be used is never dropped silently: it is handed to the
//! caller's reject callback with its file, line and reason, and counted.

pub mod address;
pub mod jsonpath;
pub mod mapping;

use crate::resolve::{Outcome, ResolveConfig};
use crate::{attrs as a, Attrs, Db, EdgeProps, EntityId, EntityKind, Value};
pub use mapping::Mapping;
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

/// What an import did, row by row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Summary {
    /// Rows read.
    pub rows: u64,
    /// Source records that became new customers.
    pub created: u64,
    /// Source records linked to an existing customer.
    pub linked: u64,
    /// Customers merged into others.
    pub merged: u64,
    /// Customers split off others (unmerged).
    pub unmerged: u64,
    /// Stored records whose fields changed and were resolved again.
    pub updated: u64,
    /// New customers recorded as possibly the same as another.
    pub possible: u64,
    /// Rows that changed nothing.
    pub unchanged: u64,
    /// Entities (accounts, households, …) written.
    pub entities: u64,
    /// Relationships written.
    pub relationships: u64,
    /// Interactions written.
    pub interactions: u64,
    /// Rows rejected (each reported to the reject callback).
    pub rejected: u64,
}

/// A row that could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reject<'a> {
    /// The file.
    pub file: &'a Path,
    /// Its line (1-based).
    pub line: u64,
    /// Why.
    pub reason: &'a str,
}

/// Why an import stopped (a row's own problem is a [`Reject`], not an error).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The mapping file is unreadable or means nothing for this database.
    #[error("{path}: {reason}")]
    Mapping {
        /// The mapping file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A source file cannot be read, or lacks a column the mapping reads.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The database failed.
    #[error(transparent)]
    Db(#[from] crate::StorageError),
    /// A bulk load's target cannot take it (it holds a database already).
    #[error("{path}: {reason}")]
    Target {
        /// The database directory given.
        path: PathBuf,
        /// Why not.
        reason: String,
    },
    /// Writing out a bulk load's result failed; the target holds no
    /// database (a rerun starts it again).
    #[error(transparent)]
    Write(#[from] crate::CopyError),
}

/// What a bulk load did: the import's summary, and the database written.
#[derive(Debug)]
#[non_exhaustive]
pub struct BulkLoad {
    /// Rows, records created, linked, merged, rejected.
    pub summary: Summary,
    /// Seconds resolving in memory.
    pub resolve_seconds: f64,
    /// Seconds writing the result in key order (`written` says how long
    /// opening and checking it took).
    pub write_seconds: f64,
    /// The database written.
    pub written: crate::CopyReport,
}

/// The first load of a new database: every row is resolved exactly as
/// [`import_files`] resolves it — the same code, in the same order, so the
/// same customers — but into a store held in memory, without a write to
/// disk per record; the result is then written to `target`, in `engine`, in
/// key order and large batches, opened and checked ([`crate::Db::check`]).
///
/// `target` must be missing or empty (or hold a bulk load that was cut off
/// while writing, which is started again: nothing is doubled, and until the
/// write is whole the directory is never opened as a database). Memory
/// holds the whole resolved store while it runs: about as much as the
/// database's keys and values (`docs/mapping.md`, "Bulk load"). The load
/// writes no change log: the new database's log starts empty.
#[allow(clippy::too_many_arguments)]
pub fn bulk_load(
    target: &Path,
    engine: crate::StorageEngine,
    country_code: Option<&str>,
    m: &Mapping,
    mapping_path: &Path,
    files: &[PathBuf],
    reject: &mut dyn FnMut(Reject<'_>),
    progress: &mut dyn FnMut(&Path, u64, u64),
) -> Result<BulkLoad, ImportError> {
    let refuse = |reason: &str| ImportError::Target {
        path: target.to_path_buf(),
        reason: reason.to_string(),
    };
    if let Ok(mut entries) = std::fs::read_dir(target) {
        let unfinished = target.join(crate::db::COPYING_FILE).is_file();
        if entries.next().is_some() && !unfinished {
            return Err(refuse(
                "a bulk load writes a new database, and this directory is not empty: import into it without --bulk",
            ));
        }
    } else if target.exists() {
        return Err(refuse("it is a file, not a directory"));
    }
    let mut builder = crate::Db::builder()
        .in_memory()
        .engine(engine)
        .durability(crate::Durability::Background { every_ms: 60_000 })
        // Nobody follows a database that does not exist yet: its change
        // log starts empty (as `kith generate`'s), which spares the load
        // a log row per record (about 40% of what it would hold and write).
        .change_log(false)
        .run_rules(false);
    if let Some(cc) = country_code {
        builder = builder.default_country_code(cc);
    }
    let db = builder.open().map_err(|e| refuse(&e.to_string()))?;
    let started = std::time::Instant::now();
    let summary = import_files(&db, m, mapping_path, files, reject, progress)?;
    let resolve_seconds = started.elapsed().as_secs_f64();
    let written = db.copy_to_engine(target, engine)?;
    Ok(BulkLoad {
        summary,
        resolve_seconds,
        write_seconds: written.write_seconds,
        written,
    })
}

impl Summary {
    pub(crate) fn outcome(&mut self, o: &Outcome) {
        match o {
            Outcome::Created { .. } => self.created += 1,
            Outcome::Possible { .. } => {
                self.created += 1;
                self.possible += 1;
            }
            Outcome::Linked { .. } => self.linked += 1,
            Outcome::Merged { merged, .. } => {
                self.linked += 1;
                self.merged += merged.len() as u64;
            }
            Outcome::Unchanged { .. } => self.unchanged += 1,
            Outcome::Updated {
                split_off, placed, ..
            } => {
                self.updated += 1;
                self.unmerged += split_off.len() as u64;
                if let Outcome::Merged { merged, .. } = placed.as_ref() {
                    self.merged += merged.len() as u64;
                }
            }
        }
    }
}

/// What one row is, after its kind is read.
enum RowKind {
    Party(EntityKind),
    Interaction,
    Relationship,
    Entity(EntityKind),
}

fn row_kind(db: &Db, name: &str) -> Result<RowKind, String> {
    Ok(match name {
        "person" => RowKind::Party(EntityKind::PERSON),
        "organization" => RowKind::Party(EntityKind::ORGANIZATION),
        "interaction" => RowKind::Interaction,
        "relationship" => RowKind::Relationship,
        "source_record" => return Err("source_record rows are person or organization rows".into()),
        other => match db.entity_kind(other) {
            Some(k) => RowKind::Entity(k),
            None => {
                return Err(format!(
                    "unknown kind {other:?}: person, organization, interaction, relationship, or an entity kind (account, household, a registered kind)"
                ))
            }
        },
    })
}

/// The most records an import resolves in one transaction. Each is
/// resolved exactly as it would be alone (a transaction reads its own
/// writes), so the customers are the same; the engine takes one batch per
/// group instead of one per record, and rows that several records rewrite
/// (their customer, the counters) are written once.
const RECORDS_PER_COMMIT: usize = 64;

/// A person or organization row waiting for its group's transaction.
struct Pending {
    line: u64,
    key: String,
    party: EntityKind,
    attrs: Attrs,
}

struct Importer<'a> {
    db: &'a Db,
    /// Record rows read and not yet resolved (see [`RECORDS_PER_COMMIT`]).
    pending: std::cell::RefCell<Vec<Pending>>,
    m: &'a Mapping,
    config: ResolveConfig,
    kinds: HashMap<String, RowKind>,
    fixed: Option<RowKind>,
    rel_kinds: HashMap<String, crate::RelKind>,
    fixed_rel: Option<crate::RelKind>,
}

impl<'a> Importer<'a> {
    fn new(db: &'a Db, m: &'a Mapping) -> Result<Importer<'a>, String> {
        let config = m.config()?;
        let mut kinds = HashMap::new();
        let fixed = if m.kind_column.is_some() {
            for (value, kind) in &m.kinds {
                let k = row_kind(db, kind)?;
                if matches!(k, RowKind::Relationship | RowKind::Interaction) {
                    return Err(format!("kinds: {value:?} cannot be {kind}"));
                }
                kinds.insert(value.clone(), k);
            }
            None
        } else {
            Some(row_kind(db, &m.kind)?)
        };
        let rel = |name: &str| -> Result<crate::RelKind, String> {
            match db.relationship_kind(name) {
                Some(k) => Ok(k),
                None => db
                    .register_relationship_kind(name)
                    .map_err(|e| format!("relationship kind {name:?}: {e}")),
            }
        };
        let (mut rel_kinds, mut fixed_rel) = (HashMap::new(), None);
        if let Some(r) = &m.relationship {
            if let Some(k) = &r.kind {
                fixed_rel = Some(rel(k)?);
            }
            for (value, k) in &r.kinds {
                rel_kinds.insert(value.clone(), rel(k)?);
            }
        }
        Ok(Importer {
            db,
            pending: Default::default(),
            m,
            config,
            kinds,
            fixed,
            rel_kinds,
            fixed_rel,
        })
    }

    /// One row, read from line `line`. A person or organization row waits
    /// for its group's transaction ([`Importer::flush`] reports what became of
    /// it); any other row first resolves the records before it.
    fn row(
        &self,
        cell: &dyn Fn(&str) -> Result<String, String>,
        line: u64,
        s: &mut Summary,
        reject: &mut Rejected<'_>,
    ) -> Result<(), String> {
        let kind = match &self.fixed {
            Some(k) => k,
            None => {
                let col = self.m.kind_column.as_deref().unwrap_or_default();
                let v = cell(col)?;
                self.kinds
                    .get(&v)
                    .ok_or_else(|| format!("{col}: {v:?} is not in the kinds table"))?
            }
        };
        let key = || -> Result<String, String> {
            let k = cell(self.m.key.as_deref().unwrap_or_default())?;
            if k.is_empty() {
                Err("missing key".into())
            } else {
                Ok(k)
            }
        };
        if !matches!(kind, RowKind::Party(_)) {
            self.flush(s, reject);
        }
        match kind {
            RowKind::Party(party) => {
                let key = key()?;
                let mut attrs = self.m.attrs(cell)?;
                self.m.trust_fields(&mut attrs);
                let full = {
                    let mut pending = self.pending.borrow_mut();
                    pending.push(Pending {
                        line,
                        key,
                        party: *party,
                        attrs,
                    });
                    pending.len() >= RECORDS_PER_COMMIT
                };
                if full {
                    self.flush(s, reject);
                }
            }
            RowKind::Interaction => {
                let key = key()?;
                let attrs = self.m.attrs(cell)?;
                let party = cell(self.m.party_key.as_deref().unwrap_or_default())?;
                if add_interaction(self.db, self.m, &key, &party, attrs)? {
                    s.interactions += 1;
                } else {
                    s.unchanged += 1;
                }
            }
            RowKind::Relationship => {
                if self.relationship(cell)? {
                    s.relationships += 1;
                } else {
                    s.unchanged += 1;
                }
            }
            RowKind::Entity(k) => {
                let key = key()?;
                let attrs = self.m.attrs(cell)?;
                if self.entity(*k, &key, attrs)? {
                    s.entities += 1;
                } else {
                    s.unchanged += 1;
                }
            }
        }
        Ok(())
    }

    /// Resolves the waiting record rows in one transaction. If any of them
    /// fails, none is kept and each is resolved again in its own
    /// transaction, so that a bad row is rejected with its line and the
    /// others land as they would have alone.
    fn flush(&self, s: &mut Summary, reject: &mut Rejected<'_>) {
        let batch = std::mem::take(&mut *self.pending.borrow_mut());
        let one = |tx: &mut crate::Transaction<'_>, p: &Pending| {
            tx.upsert_record(
                &self.m.system,
                &p.key,
                p.party,
                p.attrs.clone(),
                &self.config,
            )
        };
        if batch.len() > 1 {
            let together = self.db.transaction(|tx| {
                batch
                    .iter()
                    .map(|p| one(tx, p))
                    .collect::<Result<Vec<_>, _>>()
            });
            if let Ok(done) = together {
                for o in &done.value {
                    s.outcome(o);
                }
                return;
            }
        }
        for p in &batch {
            match self.db.transaction(|tx| one(tx, p)) {
                Ok(done) => s.outcome(&done.value),
                Err(e) => reject(p.line, &e.to_string(), s),
            }
        }
    }

    /// An entity named by `(system, key)`: created, or updated if its
    /// attributes changed. Returns whether anything was written.
    fn entity(&self, kind: EntityKind, key: &str, attrs: Attrs) -> Result<bool, String> {
        let db = self.db;
        let err = |e: crate::WriteError| e.to_string();
        match db.lookup(&self.m.system, key).map_err(|e| e.to_string())? {
            None => {
                let mut e = crate::NewEntity::new(kind).identifier(self.m.system.clone(), key);
                e.attrs = attrs;
                db.create(e).map_err(err)?;
                Ok(true)
            }
            Some(id) => {
                let old = db
                    .get(id)
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("{}:{key} vanished", self.m.system))?;
                if old.kind != kind {
                    return Err(format!(
                        "{}:{key} is a {}, not a {}",
                        self.m.system,
                        db.entity_kind_name(old.kind).unwrap_or_default(),
                        db.entity_kind_name(kind).unwrap_or_default()
                    ));
                }
                let have = old.attrs();
                if have == attrs {
                    return Ok(false);
                }
                let mut patch = crate::Patch::new();
                for k in have.keys().filter(|k| !attrs.contains_key(*k)) {
                    patch = patch.remove(k.clone());
                }
                for (k, v) in attrs {
                    patch = patch.set(k, v);
                }
                db.update(id, patch).map_err(err)?;
                Ok(true)
            }
        }
    }

    /// The one party (customer, or entity that is no source record) whose
    /// attribute `by` normalizes like `value`: the records found stand for
    /// their customers, merged customers for their survivors. None, or
    /// several, is an error naming them.
    fn party_by(&self, by: &str, value: &str) -> Result<EntityId, String> {
        let index = mapping::endpoint_index(by)?;
        let mut parties = std::collections::BTreeSet::new();
        for id in self.db.find(index, value).map_err(|e| e.to_string())? {
            if let Some(c) = self.db.customer_for(id).map_err(|e| e.to_string())? {
                parties.insert(c);
            }
        }
        match parties.len() {
            0 => Err(format!("nothing has {by} {value:?}")),
            1 => Ok(*parties.first().expect("one")),
            n => Err(format!(
                "{by} {value:?} names {n} customers or entities ({}): name the endpoint by its record instead",
                parties
                    .iter()
                    .take(5)
                    .map(|p| p.0.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    /// One relationship row. Each endpoint `(system, key)` is a source
    /// record (the relationship joins its customer, remembering the record
    /// so that it follows the record through merges and splits) or any
    /// other entity with that identifier.
    fn relationship(&self, cell: &dyn Fn(&str) -> Result<String, String>) -> Result<bool, String> {
        let r = self.m.relationship.as_ref().expect("checked");
        let endpoint = |system: &Option<String>,
                        by: &Option<String>,
                        col: &str|
         -> Result<(EntityId, Option<EntityId>), String> {
            let key = cell(col)?;
            if key.is_empty() {
                return Err(format!("missing {col}"));
            }
            if let Some(by) = by {
                return Ok((self.party_by(by, &key)?, None));
            }
            let system = system
                .as_deref()
                .expect("checked: a system or an attribute");
            let id = self
                .db
                .lookup(system, &key)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("unknown relationship endpoint {system}:{key}"))?;
            match self
                .db
                .customer_of_record(system, &key)
                .map_err(|e| e.to_string())?
            {
                Some(c) => Ok((c, Some(id))),
                None => Ok((id, None)),
            }
        };
        let (from, from_rec) = endpoint(&r.from_system, &r.from_by, &r.from_key)?;
        let (to, to_rec) = endpoint(&r.to_system, &r.to_by, &r.to_key)?;
        let kind = match self.fixed_rel {
            Some(k) => k,
            None => {
                let col = r.kind_column.as_deref().unwrap_or_default();
                let v = cell(col)?;
                *self
                    .rel_kinds
                    .get(&v)
                    .ok_or_else(|| format!("{col}: {v:?} is not in the relationship kinds table"))?
            }
        };
        let mut props = EdgeProps::new();
        props.attrs = self.m.attrs(cell)?;
        if let Some(f) = from_rec {
            props
                .attrs
                .insert(a::FROM_RECORD.into(), Value::Int(f.0 as i64));
        }
        if let Some(t) = to_rec {
            props
                .attrs
                .insert(a::TO_RECORD.into(), Value::Int(t.0 as i64));
        }
        let day = |col: &Option<String>| -> Result<Option<crate::Date>, String> {
            let Some(c) = col else { return Ok(None) };
            let v = cell(c)?;
            if v.is_empty() {
                return Ok(None);
            }
            let formats: Vec<&str> = self.m.date_formats.iter().map(String::as_str).collect();
            crate::resolve::normalize::date(&v, &formats)
                .map(Some)
                .ok_or_else(|| format!("{c}: {v:?} is not a date in {formats:?}"))
        };
        props.since = day(&r.since)?;
        props.until = day(&r.until)?;
        let same = self
            .db
            .neighbours(from, kind, crate::Direction::Out)
            .map_err(|e| e.to_string())?
            .into_iter()
            .any(|n| n.id == to && n.props == props);
        if same {
            return Ok(false);
        }
        self.db
            .relate(from, kind, to, props)
            .map_err(|e| e.to_string())?;
        Ok(true)
    }
}

/// Imports `files` through mapping `m` into `db`: each row is resolved
/// (persons, organizations) or written (entities, relationships,
/// interactions) in its own transaction (records in groups of up to 64
/// consecutive rows, each resolved as it would be alone: `docs/mapping.md`).
/// A row that cannot be used goes to
/// `reject` with its file, line and reason; `progress` is told each file's
/// bytes read so far and its size. Flushes at the end.
pub fn import_files(
    db: &Db,
    m: &Mapping,
    mapping_path: &Path,
    files: &[PathBuf],
    reject: &mut dyn FnMut(Reject<'_>),
    progress: &mut dyn FnMut(&Path, u64, u64),
) -> Result<Summary, ImportError> {
    let imp = Importer::new(db, m).map_err(|reason| ImportError::Mapping {
        path: mapping_path.to_path_buf(),
        reason,
    })?;
    // Every file is checked before any is imported: a missing column in the
    // last file must not leave the first ones half a load.
    for file in files {
        check_file(m, file)?;
    }
    let mut s = Summary::default();
    for file in files {
        let file_err = |reason: String| file_error(file, reason);
        let size = std::fs::metadata(file)
            .map_err(|e| file_err(format!("cannot read: {e}")))?
            .len();
        progress(file, 0, size);
        let mut rejected = |line: u64, reason: &str, s: &mut Summary| {
            s.rejected += 1;
            reject(Reject { file, line, reason });
        };
        let mut run = FileRun {
            imp: &imp,
            file,
            size,
            progress: &mut *progress,
        };
        let read = if m.format == "jsonl" {
            import_jsonl(&mut run, &mut s, &mut rejected)
        } else {
            import_csv(&mut run, m, &mut s, &mut rejected)
        };
        // The rows read before the end (or before a file error) land.
        imp.flush(&mut s, &mut rejected);
        read?;
        progress(file, size, size);
    }
    db.flush()?;
    Ok(s)
}

/// Whether a file can be imported through `m`: readable, not empty, and
/// (CSV) holding every column the mapping reads.
fn check_file(m: &Mapping, file: &Path) -> Result<(), ImportError> {
    let size = std::fs::metadata(file)
        .map_err(|e| file_error(file, format!("cannot read: {e}")))?
        .len();
    if size == 0 {
        return Err(file_error(
            file,
            "the file is empty (no header, no rows)".into(),
        ));
    }
    if m.format != "jsonl" {
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(m.delimiter.as_bytes()[0])
            .has_headers(m.header)
            .flexible(true)
            .from_path(file)
            .map_err(|e| file_error(file, format!("cannot read: {e}")))?;
        column_index(m, &mut rdr, file)?;
    }
    Ok(())
}

fn file_error(path: &Path, reason: String) -> ImportError {
    ImportError::File {
        path: path.to_path_buf(),
        reason,
    }
}

type Rejected<'r> = dyn FnMut(u64, &str, &mut Summary) + 'r;

/// One file being imported: what turns its rows into records, the file, its
/// size, and whom to tell how far the reading got.
struct FileRun<'a, 'p> {
    imp: &'a Importer<'a>,
    file: &'a Path,
    size: u64,
    progress: &'a mut (dyn FnMut(&Path, u64, u64) + 'p),
}

impl FileRun<'_, '_> {
    fn at(&mut self, pos: u64) {
        (self.progress)(self.file, pos, self.size);
    }
}

/// The rows of one JSON Lines file.
fn import_jsonl(
    run: &mut FileRun<'_, '_>,
    s: &mut Summary,
    reject: &mut Rejected<'_>,
) -> Result<(), ImportError> {
    let (imp, file) = (run.imp, run.file);
    let file_err = |reason: String| file_error(file, reason);
    let f = std::fs::File::open(file).map_err(|e| file_err(format!("cannot read: {e}")))?;
    let mut rdr = std::io::BufReader::new(f);
    let mut buf = Vec::new();
    let (mut line, mut pos) = (0u64, 0u64);
    // Every column that is a path, parsed once (checked with the mapping).
    let paths: HashMap<String, jsonpath::Path> = imp
        .m
        .columns_read()
        .into_iter()
        .filter(|c| jsonpath::is_path(c))
        .filter_map(|c| jsonpath::Path::parse(&c).ok().map(|p| (c, p)))
        .collect();
    loop {
        buf.clear();
        let n = rdr
            .read_until(b'\n', &mut buf)
            .map_err(|e| file_err(format!("cannot read: {e}")))?;
        if n == 0 {
            return Ok(());
        }
        line += 1;
        pos += n as u64;
        if line % 1000 == 0 {
            run.at(pos);
        }
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        s.rows += 1;
        let r = (|| {
            let obj: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&buf)
                .map_err(|e| {
                    if std::str::from_utf8(&buf).is_err() {
                        "the line is not valid UTF-8".to_string()
                    } else {
                        format!("not a JSON object: {e}")
                    }
                })?;
            let doc = serde_json::Value::Object(obj);
            // A key as the document writes it; otherwise a path into it. An
            // array of values gives each (a multi-valued attribute).
            let cell = |name: &str| -> Result<String, String> {
                let values = match (doc.get(name), paths.get(name)) {
                    (Some(v), _) => jsonpath::values_of(v, name)?,
                    (None, Some(p)) => p.values(&doc, name)?,
                    (None, None) => Vec::new(),
                };
                Ok(values.join(mapping::EACH))
            };
            imp.row(&cell, line, s, reject)
        })();
        if let Err(reason) = r {
            reject(line, &reason, s);
        }
    }
}

/// The column index of every column the mapping reads, from the header or
/// from 1-based numbers.
fn column_index(
    m: &Mapping,
    rdr: &mut csv::Reader<std::fs::File>,
    file: &Path,
) -> Result<(HashMap<String, usize>, Option<usize>), ImportError> {
    let file_err = |reason: String| file_error(file, reason);
    let mut index: HashMap<String, usize> = HashMap::new();
    let width = if m.header {
        let h = rdr
            .byte_headers()
            .map_err(|e| file_err(format!("cannot read the header: {e}")))?;
        for (i, name) in h.iter().enumerate() {
            index.insert(String::from_utf8_lossy(name).trim().to_string(), i);
        }
        Some(h.len())
    } else {
        None
    };
    for c in m.columns_read() {
        let ok = if m.header {
            index.contains_key(&c)
        } else {
            match c.parse::<usize>() {
                Ok(n) if n >= 1 => {
                    index.insert(c.clone(), n - 1);
                    true
                }
                _ => false,
            }
        };
        if !ok {
            return Err(file_err(if m.header {
                format!("no column {c:?} (the mapping reads it)")
            } else {
                format!("column {c:?} must be a number from 1 without a header")
            }));
        }
    }
    Ok((index, width))
}

/// The rows of one CSV file.
fn import_csv(
    run: &mut FileRun<'_, '_>,
    m: &Mapping,
    s: &mut Summary,
    reject: &mut Rejected<'_>,
) -> Result<(), ImportError> {
    let (imp, file) = (run.imp, run.file);
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(m.delimiter.as_bytes()[0])
        .has_headers(m.header)
        .flexible(true)
        .from_path(file)
        .map_err(|e| file_error(file, format!("cannot read: {e}")))?;
    let (index, width) = column_index(m, &mut rdr, file)?;
    let mut record = csv::ByteRecord::new();
    let mut lines = LineCounter::open(file)?;
    loop {
        let before = rdr.position().clone();
        match rdr.read_byte_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(e) => {
                s.rows += 1;
                let line = lines.line_at(e.position().map_or(before.byte(), |p| p.byte()))?;
                reject(line, &e.to_string(), s);
                continue;
            }
        }
        // The line the record starts on, counted from its byte offset (the
        // CSV reader's own line numbers are one short after each CRLF).
        let line = lines.line_at(record.position().map_or(before.byte(), |p| p.byte()))?;
        s.rows += 1;
        if s.rows.is_multiple_of(1000) {
            run.at(rdr.position().byte());
        }
        if let Some(w) = width.filter(|w| *w != record.len()) {
            // A quote left open runs into the lines after it: reject its own
            // line only and read on from the next one.
            let start = record.position().map_or(before.byte(), |p| p.byte());
            if record.iter().any(|f| f.contains(&b'\n')) {
                let next = next_line(file, start)?;
                reject(
                    line,
                    &format!("a quote is not closed on this line (the row would run into the next lines; expected {w} columns)"),
                    s,
                );
                let mut pos = csv::Position::new();
                pos.set_byte(next).set_line(line + 1);
                rdr.seek(pos).map_err(|e| {
                    file_error(file, format!("cannot read on after line {line}: {e}"))
                })?;
                continue;
            }
            reject(
                line,
                &format!("expected {w} columns, found {}", record.len()),
                s,
            );
            continue;
        }
        let cell = |name: &str| -> Result<String, String> {
            let i = index[name];
            std::str::from_utf8(record.get(i).unwrap_or(b""))
                .map(|v| v.trim().to_string())
                .map_err(|_| format!("column {name:?} is not valid UTF-8"))
        };
        if let Err(reason) = imp.row(&cell, line, s, reject) {
            reject(line, &reason, s);
        }
    }
}

/// Line numbers of byte offsets in a file, read forward once.
struct LineCounter<'f> {
    file: &'f Path,
    reader: std::io::BufReader<std::fs::File>,
    at: u64,
    line: u64,
}

impl<'f> LineCounter<'f> {
    fn open(file: &'f Path) -> Result<LineCounter<'f>, ImportError> {
        let f =
            std::fs::File::open(file).map_err(|e| file_error(file, format!("cannot read: {e}")))?;
        Ok(LineCounter {
            file,
            reader: std::io::BufReader::with_capacity(1 << 16, f),
            at: 0,
            line: 1,
        })
    }

    /// The (1-based) line of a record starting at byte `offset`; offsets
    /// only go forward.
    fn line_at(&mut self, offset: u64) -> Result<u64, ImportError> {
        use std::io::BufRead;
        while self.at < offset {
            let buf = self
                .reader
                .fill_buf()
                .map_err(|e| file_error(self.file, format!("cannot read: {e}")))?;
            if buf.is_empty() {
                break;
            }
            let take = buf.len().min((offset - self.at) as usize);
            self.line += buf[..take].iter().filter(|b| **b == b'\n').count() as u64;
            self.reader.consume(take);
            self.at += take as u64;
        }
        // A record's offset may sit before the end of the previous line's
        // terminator (the `\n` of a CRLF): the record starts after it.
        loop {
            let buf = self
                .reader
                .fill_buf()
                .map_err(|e| file_error(self.file, format!("cannot read: {e}")))?;
            match buf.first() {
                Some(b'\n') => self.line += 1,
                Some(b'\r') => {}
                _ => return Ok(self.line),
            }
            self.reader.consume(1);
            self.at += 1;
        }
    }
}

/// The byte offset of the line after the one starting at `start`.
fn next_line(file: &Path, start: u64) -> Result<u64, ImportError> {
    use std::io::{BufRead, Seek};
    let err = |e: std::io::Error| file_error(file, format!("cannot read: {e}"));
    let mut f = std::io::BufReader::new(std::fs::File::open(file).map_err(err)?);
    f.seek(std::io::SeekFrom::Start(start)).map_err(err)?;
    let mut skipped = Vec::new();
    let n = f.read_until(b'\n', &mut skipped).map_err(err)?;
    Ok(start + n as u64)
}

/// One interaction row: the party is the customer of the record
/// `(party_system, party_key)`, or the entity that identifier names. The
/// interaction is named `(system, key)`, so a second import changes nothing.
fn add_interaction(
    db: &Db,
    m: &Mapping,
    key: &str,
    party_key: &str,
    attrs: Attrs,
) -> Result<bool, String> {
    let system = m.party_system.as_deref().unwrap_or_default();
    if party_key.is_empty() {
        return Err("missing party key".into());
    }
    let party = match db
        .customer_of_record(system, party_key)
        .map_err(|e| e.to_string())?
    {
        Some(c) => c,
        None => db
            .lookup(system, party_key)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("unknown party {system}:{party_key}"))?,
    };
    if db
        .lookup(&m.system, key)
        .map_err(|e| e.to_string())?
        .is_some()
    {
        return Ok(false);
    }
    let mut e = crate::NewEntity::new(EntityKind::INTERACTION).identifier(m.system.clone(), key);
    e.attrs = attrs;
    db.append_interaction(party, e).map_err(|e| e.to_string())?;
    Ok(true)
}

fn csv_field(s: &str) -> String {
    if s.contains(',') || s.contains('"') || s.contains('\n') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Writes `system,key,customer_id` for every source record.
pub fn export_links(db: &Db, out: &mut dyn Write) -> Result<(), Box<dyn std::error::Error>> {
    writeln!(out, "system,key,customer_id")?;
    for (system, key, c) in db.links()? {
        writeln!(out, "{},{},{}", csv_field(&system), csv_field(&key), c.0)?;
    }
    Ok(())
}

/// What [`apply`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Applied {
    /// Records upserted.
    pub upserts: u64,
    /// Records deleted.
    pub deletes: u64,
    /// Deletes of records that were not there (nothing changed).
    pub not_found: u64,
    /// Forced together / apart.
    pub overrides: u64,
    /// Lines rejected (each reported to the reject callback).
    pub rejected: u64,
}

/// Applies a JSON Lines file of record events (`{"op": "upsert"|"delete"|
/// "same"|"apart", "system", "key", …}`); a bad line goes to `reject` with
/// its line and reason and is skipped. Flushes at the end.
pub fn apply(
    db: &Db,
    path: &Path,
    reject: &mut dyn FnMut(Reject<'_>),
) -> Result<Applied, ImportError> {
    let text = std::fs::read(path).map_err(|e| file_error(path, format!("cannot read: {e}")))?;
    let config = ResolveConfig::default();
    let mut applied = Applied::default();
    for (n, line) in text.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if let Err(reason) = apply_event(db, line, &config, &mut applied) {
            applied.rejected += 1;
            reject(Reject {
                file: path,
                line: n as u64 + 1,
                reason: &reason,
            });
        }
    }
    db.flush()?;
    Ok(applied)
}

/// One event of [`apply`], counted in `applied`; the reason when it is bad.
fn apply_event(
    db: &Db,
    line: &[u8],
    config: &ResolveConfig,
    applied: &mut Applied,
) -> Result<(), String> {
    let v: serde_json::Value =
        serde_json::from_slice(line).map_err(|e| format!("not JSON: {e}"))?;
    let s = |k: &str| {
        v.get(k)
            .and_then(|x| x.as_str())
            .ok_or_else(|| format!("missing {k:?}"))
    };
    let (system, key) = (s("system")?, s("key")?);
    match s("op")? {
        "upsert" => {
            let kind = match v.get("kind").and_then(|k| k.as_str()).unwrap_or("person") {
                "person" => EntityKind::PERSON,
                "organization" => EntityKind::ORGANIZATION,
                other => {
                    return Err(format!(
                        "kind must be person or organization, not {other:?}"
                    ))
                }
            };
            let attrs = match v.get("attrs") {
                Some(a) => crate::json::attrs_from_json(a)?,
                None => Attrs::new(),
            };
            db.upsert_record(system, key, kind, attrs, config)
                .map_err(|e| e.to_string())?;
            applied.upserts += 1;
        }
        "delete" => {
            match db
                .delete_record(system, key, config)
                .map_err(|e| e.to_string())?
            {
                Some(_) => applied.deletes += 1,
                None => applied.not_found += 1,
            }
        }
        op @ ("same" | "apart") => {
            let other = v.get("other").ok_or("missing \"other\": {system, key}")?;
            let o = |k: &str| {
                other
                    .get(k)
                    .and_then(|x| x.as_str())
                    .ok_or_else(|| format!("missing other.{k}"))
            };
            let y = (o("system")?, o("key")?);
            if op == "same" {
                db.force_together((system, key), y)
                    .map_err(|e| e.to_string())?;
            } else {
                db.force_apart((system, key), y, config)
                    .map_err(|e| e.to_string())?;
            }
            applied.overrides += 1;
        }
        other => {
            return Err(format!(
                "op must be upsert, delete, same or apart, not {other:?}"
            ))
        }
    }
    Ok(())
}
