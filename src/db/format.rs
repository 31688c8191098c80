//! The database format: magic, version, creation, and migration of older formats.
//!
//! Format history (see `docs/design.md`):
//! - 1: entities, adjacency, identifiers, indexes, kind listings, registry.
//! - 2: adds persisted counters of entities and relationships by kind
//!   (`COUNT` rows), kept in the same batch as every write. Migrating from 1
//!   counts what is stored and writes the counters and the new version in
//!   one atomic batch.
//! - 3: adds interaction timelines (`TIMELINE` rows: party, time, interaction)
//!   so that a party's newest interactions, or those in a time range, are read
//!   without scanning older ones. Migrating from 2 writes a row for every
//!   `HAD_INTERACTION` relationship, in one atomic batch.
//! - 4: adds the change log (`CHANGE` rows, one per commit, and
//!   `meta/change_trimmed`) and consumer groups (`GROUP`, `PENDING`,
//!   `CONSUMER` rows), written by every commit. A format-3 build would write
//!   without logging, so it must not open a format-4 database. Migrating
//!   from 3 writes an empty log's trim position.
//! - 5: adds interaction rules: stored rules (`RULE` rows), when each last
//!   fired per customer (`FIRED`), their position in the change log
//!   (`meta/rules_position`), the [`crate::Change::ActionRaised`] change and
//!   the actions stream (`ACTION`, `ACTION_GROUP`, `ACTION_PENDING`,
//!   `ACTION_CONSUMER` rows). A format-4 build could not read such a log.
//!   Migrating from 4 writes nothing but the version.

use super::Registry;
use crate::error::{OpenError, StorageError};
use crate::storage::{codec, keys, looks_like_engine_dir, Engine, WriteBatch};
use std::collections::BTreeMap;
use std::path::Path;

/// The format this build writes.
pub(crate) const CURRENT_FORMAT: u32 = 7;
/// The magic text stored under `meta/magic`.
pub(crate) const MAGIC: &str = "kith customer graph";

pub(crate) const META_MAGIC: &str = "magic";
pub(crate) const META_FORMAT: &str = "format";
pub(crate) const META_NEXT_ID: &str = "next_id";
pub(crate) const META_COUNTRY_CODE: &str = "country_code";
/// The storage engine the database was created with (absent in databases
/// created before engines could be chosen: those are sled's).
pub(crate) const META_ENGINE: &str = "engine";

/// What opening found.
pub(crate) struct Opened {
    /// The format it was migrated from, if it was.
    pub(crate) migrated_from: Option<u32>,
    pub(crate) next_id: u64,
    pub(crate) registry: Registry,
    pub(crate) country_code: String,
    pub(crate) counts: BTreeMap<(u8, u16), u64>,
}

/// Refuses a path that exists and holds something other than a database.
pub(crate) fn check_directory(path: &Path) -> Result<(), OpenError> {
    let not_db = |reason: &str| OpenError::NotADatabase {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    match std::fs::metadata(path) {
        Err(_) => Ok(()),
        Ok(m) if !m.is_dir() => Err(not_db("it is a file, not a directory")),
        Ok(_) if path.join(super::copy::COPYING_FILE).is_file() => Err(not_db(
            "it is an unfinished copy (`kith migrate --to-engine` was cut off): delete it, or run the copy again",
        )),
        Ok(_) => {
            let empty = std::fs::read_dir(path)
                .map_err(|e| {
                    OpenError::Storage(StorageError::io(
                        format!("cannot read directory {}: {e}", path.display()),
                        e,
                    ))
                })?
                .next()
                .is_none();
            if empty || looks_like_engine_dir(path) {
                Ok(())
            } else {
                Err(not_db("the directory holds other files"))
            }
        }
    }
}

fn read_u64(engine: &Engine, name: &str) -> Result<Option<u64>, StorageError> {
    let key = keys::meta(name);
    match engine.get(&key)? {
        Some(v) => Ok(Some(codec::decode_u64(&key, &v)?)),
        None => Ok(None),
    }
}

fn read_text(engine: &Engine, name: &str) -> Result<Option<String>, StorageError> {
    let key = keys::meta(name);
    match engine.get(&key)? {
        Some(v) => Ok(Some(codec::decode_text(&key, &v)?)),
        None => Ok(None),
    }
}

/// The positions of an empty change log.
fn empty_log(b: &mut WriteBatch) {
    b.put(
        keys::meta(crate::db::changes::log::META_CHANGE_TRIMMED),
        codec::encode_pair(0, 0),
    );
}

/// Writes a new database's metadata and registry in one batch.
fn create(engine: &Engine, country_code: &str) -> Result<(), StorageError> {
    let mut b = WriteBatch::default();
    b.put(keys::meta(META_MAGIC), codec::encode_text(MAGIC));
    b.put(
        keys::meta(META_FORMAT),
        codec::encode_u64(CURRENT_FORMAT as u64),
    );
    b.put(keys::meta(META_NEXT_ID), codec::encode_u64(1));
    empty_log(&mut b);
    b.put(
        keys::meta(META_COUNTRY_CODE),
        codec::encode_text(country_code),
    );
    b.put(
        keys::meta(META_ENGINE),
        codec::encode_text(engine.engine().name()),
    );
    let reg = Registry::builtin();
    for (c, n) in &reg.entity {
        b.put(keys::reg(keys::SPACE_ENTITY, *c), codec::encode_text(n));
    }
    for (c, n) in &reg.rel {
        b.put(keys::reg(keys::SPACE_REL, *c), codec::encode_text(n));
    }
    engine.apply(b)?;
    engine.flush()?;
    Ok(())
}

/// The format version stored in the meta table: a newer one than this
/// build's, a missing or impossible one, are errors.
fn stored_format(engine: &Engine) -> Result<u32, OpenError> {
    let format_key = keys::meta(META_FORMAT);
    let found = read_u64(engine, META_FORMAT)?.ok_or_else(|| StorageError::Corrupt {
        key: keys::describe(&format_key),
        reason: "format version missing".into(),
    })?;
    if found > CURRENT_FORMAT as u64 {
        return Err(OpenError::NewerFormat {
            found: found.min(u32::MAX as u64) as u32,
            supported: CURRENT_FORMAT,
        });
    }
    if found == 0 {
        return Err(StorageError::Corrupt {
            key: keys::describe(&format_key),
            reason: "format version 0 does not exist".into(),
        }
        .into());
    }
    Ok(found as u32)
}

/// Stored counters: `(space, kind code)` → count.
type Counts = BTreeMap<(u8, u16), u64>;

/// The kind registry and the counters by kind, as stored.
fn read_registry_and_counts(engine: &Engine) -> Result<(Registry, Counts), StorageError> {
    let mut registry = Registry::default();
    for row in engine.scan_prefix(&[keys::REG]) {
        let (k, v) = row?;
        let (space, code) =
            keys::parse_space_code(keys::REG, &k).ok_or_else(|| StorageError::Corrupt {
                key: keys::describe(&k),
                reason: "malformed registry key".into(),
            })?;
        registry.insert(space, code, &codec::decode_text(&k, &v)?);
    }
    let mut counts = BTreeMap::new();
    for row in engine.scan_prefix(&[keys::COUNT]) {
        let (k, v) = row?;
        let sc = keys::parse_space_code(keys::COUNT, &k).ok_or_else(|| StorageError::Corrupt {
            key: keys::describe(&k),
            reason: "malformed counter key".into(),
        })?;
        counts.insert(sc, codec::decode_u64(&k, &v)?);
    }
    Ok((registry, counts))
}

/// Opens an existing database (checking its format) or initializes an empty one.
pub(crate) fn open_or_create(
    engine: &Engine,
    path: Option<&Path>,
    country_code: &str,
    upgrade: bool,
) -> Result<Opened, OpenError> {
    let magic = read_text(engine, META_MAGIC)?;
    match magic {
        None if engine.is_empty().map_err(StorageError::from)? => create(engine, country_code)?,
        None => {
            return Err(OpenError::NotADatabase {
                path: path.map(Path::to_path_buf).unwrap_or_default(),
                reason: "the store holds data but no kith metadata".into(),
            })
        }
        Some(m) if m != MAGIC => {
            return Err(OpenError::NotADatabase {
                path: path.map(Path::to_path_buf).unwrap_or_default(),
                reason: format!("unexpected magic {m:?}"),
            })
        }
        Some(_) => {}
    }
    let found = stored_format(engine)?;
    let mut found = found;
    let migrated_from = (found < CURRENT_FORMAT).then_some(found);
    if found < CURRENT_FORMAT && !upgrade {
        return Err(OpenError::OlderFormat {
            found,
            current: CURRENT_FORMAT,
            path: path.map(Path::to_path_buf).unwrap_or_default(),
        });
    }
    while found < CURRENT_FORMAT {
        migrate_step(engine, found)?;
        found += 1;
    }
    let next_id = read_u64(engine, META_NEXT_ID)?.ok_or_else(|| StorageError::Corrupt {
        key: "meta/next_id".into(),
        reason: "id counter missing".into(),
    })?;
    let country_code = read_text(engine, META_COUNTRY_CODE)?.unwrap_or_else(|| "1".into());
    // Absent in a database made before engines could be chosen (sled's),
    // or copied row for row into another engine: its files say which.
    let recorded = read_text(engine, META_ENGINE)?;
    if let Some(recorded) = recorded.filter(|r| r != engine.engine().name()) {
        return Err(StorageError::Corrupt {
            key: keys::describe(&keys::meta(META_ENGINE)),
            reason: format!(
                "the database records engine {recorded:?} but its files are {}'s",
                engine.engine()
            ),
        }
        .into());
    }
    let (registry, counts) = read_registry_and_counts(engine)?;
    Ok(Opened {
        migrated_from,
        next_id,
        registry,
        country_code,
        counts,
    })
}

/// Counts entities by kind and relationships by kind, from the stored rows.
pub(crate) fn count_rows(engine: &Engine) -> Result<BTreeMap<(u8, u16), u64>, StorageError> {
    let mut counts = BTreeMap::new();
    for row in engine.scan_prefix(&[keys::KIND]) {
        let (k, _) = row?;
        let (kind, _) = keys::parse_kind(&k).ok_or_else(|| StorageError::Corrupt {
            key: keys::describe(&k),
            reason: "malformed kind listing key".into(),
        })?;
        *counts.entry((keys::SPACE_ENTITY, kind)).or_insert(0) += 1;
    }
    for row in engine.scan_prefix(&[keys::ADJ]) {
        let (k, _) = row?;
        let a = keys::parse_adj(&k).ok_or_else(|| StorageError::Corrupt {
            key: keys::describe(&k),
            reason: "malformed adjacency key".into(),
        })?;
        if a.dir == keys::DIR_OUT {
            *counts.entry((keys::SPACE_REL, a.kind)).or_insert(0) += 1;
        }
    }
    for (kind, n) in count_merged(engine)? {
        counts.insert((keys::SPACE_MERGED, kind), n);
    }
    Ok(counts)
}

/// Counts the entities merged into another (those holding `merged_into`),
/// by kind. An entity that does not decode is not counted: `check()`
/// reports it by its key, and one corrupt value does not stop an upgrade.
fn count_merged(engine: &Engine) -> Result<BTreeMap<u16, u64>, StorageError> {
    let mut counts = BTreeMap::new();
    for row in engine.scan_prefix(&[keys::NODE]) {
        let (k, v) = row?;
        let Ok(id) = <[u8; 8]>::try_from(&k[1..]) else {
            continue;
        };
        let id = crate::model::EntityId(u64::from_be_bytes(id));
        if let Ok(Some(_)) = codec::find_attr(&v, crate::model::attrs::MERGED_INTO) {
            if let Ok(r) = codec::decode_record(&k, id, &v) {
                *counts.entry(r.kind.0).or_insert(0) += 1;
            }
        }
    }
    Ok(counts)
}

/// Rows written per batch by a migration step that writes many.
const MIGRATION_BATCH: usize = 10_000;

/// Migrates the format `from` to `from + 1`. The format changes in the
/// step's last batch, after every row of the new format is written.
fn migrate_step(engine: &Engine, from: u32) -> Result<(), StorageError> {
    let mut b = WriteBatch::default();
    match from {
        1 => {
            for ((space, code), n) in count_rows(engine)? {
                b.put(keys::count(space, code), codec::encode_u64(n));
            }
        }
        2 => {
            // Timeline rows in bounded batches (a large store has millions);
            // the format changes only with the last one, so a crash part-way
            // leaves format 2 and the next upgrade writes them again.
            let prefix = [keys::ADJ];
            let mut n = 0;
            for row in engine.scan_prefix(&prefix) {
                let (k, _) = row?;
                let Some(a) = keys::parse_adj(&k) else {
                    continue;
                };
                if a.dir != keys::DIR_OUT || a.kind != crate::model::RelKind::HAD_INTERACTION.0 {
                    continue;
                }
                let node = keys::node(a.other);
                if let Some(v) = engine.get(&node)? {
                    let r = codec::decode_record(&node, crate::model::EntityId(a.other), &v)?;
                    b.put(
                        keys::timeline(a.id, r.interaction_time(), a.other),
                        codec::MARKER,
                    );
                    n += 1;
                    if n % MIGRATION_BATCH == 0 {
                        engine.apply(std::mem::take(&mut b))?;
                    }
                }
            }
        }
        3 => empty_log(&mut b),
        4 => {}
        5 => {
            // The name index of every person and organization, in bounded
            // batches; the format changes with the last one.
            let mut n = 0;
            for kind in [
                crate::model::EntityKind::PERSON,
                crate::model::EntityKind::ORGANIZATION,
            ] {
                for row in engine.scan_prefix(&keys::kind_prefix(kind.0)) {
                    let (k, _) = row?;
                    let Some((_, id)) = keys::parse_kind(&k) else {
                        continue;
                    };
                    let node = keys::node(id);
                    let Some(v) = engine.get(&node)? else {
                        continue;
                    };
                    let r = codec::decode_record(&node, crate::model::EntityId(id), &v)?;
                    for (ix, value) in crate::index::entries(r.kind, &r.attrs, "1") {
                        if ix == crate::index::Index::Name {
                            b.put(keys::idx(ix.code(), value.as_bytes(), id), codec::MARKER);
                            n += 1;
                            if n % MIGRATION_BATCH == 0 {
                                engine.apply(std::mem::take(&mut b))?;
                            }
                        }
                    }
                }
            }
        }
        6 => {
            // Counters of merge redirects by kind.
            for (kind, n) in count_merged(engine)? {
                b.put(keys::count(keys::SPACE_MERGED, kind), codec::encode_u64(n));
            }
        }
        other => {
            return Err(StorageError::Corrupt {
                key: "meta/format".into(),
                reason: format!("no migration from format {other}"),
            })
        }
    }
    b.put(keys::meta(META_FORMAT), codec::encode_u64(from as u64 + 1));
    engine.apply(b)?;
    engine.flush()?;
    Ok(())
}
