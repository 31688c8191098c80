//! The database format: magic, version, creation, and migration of older formats.
//!
//! Format history (see `docs/design.md`):
//! - 1: entities, adjacency, identifiers, indexes, kind listings, registry.

use super::Registry;
use crate::error::{OpenError, StorageError};
use crate::storage::{codec, keys, looks_like_engine_dir, Engine, WriteBatch};
use std::path::Path;

/// The format this build writes.
pub(crate) const CURRENT_FORMAT: u32 = 1;
/// The magic text stored under `meta/magic`.
pub(crate) const MAGIC: &str = "kith customer graph";

pub(crate) const META_MAGIC: &str = "magic";
pub(crate) const META_FORMAT: &str = "format";
pub(crate) const META_NEXT_ID: &str = "next_id";
pub(crate) const META_COUNTRY_CODE: &str = "country_code";

/// What opening found.
pub(crate) struct Opened {
    pub(crate) next_id: u64,
    pub(crate) registry: Registry,
    pub(crate) country_code: String,
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
        Ok(_) => {
            let empty = std::fs::read_dir(path)
                .map_err(|e| {
                    OpenError::Storage(StorageError::Io {
                        message: format!("cannot read directory {}: {e}", path.display()),
                    })
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

/// Writes a new database's metadata and registry in one batch.
fn create(engine: &Engine, country_code: &str) -> Result<(), StorageError> {
    let mut b = WriteBatch::default();
    b.put(keys::meta(META_MAGIC), codec::encode_text(MAGIC));
    b.put(
        keys::meta(META_FORMAT),
        codec::encode_u64(CURRENT_FORMAT as u64),
    );
    b.put(keys::meta(META_NEXT_ID), codec::encode_u64(1));
    b.put(
        keys::meta(META_COUNTRY_CODE),
        codec::encode_text(country_code),
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

/// Opens an existing database (checking its format) or initializes an empty one.
pub(crate) fn open_or_create(
    engine: &Engine,
    path: Option<&Path>,
    country_code: &str,
) -> Result<Opened, OpenError> {
    let magic = read_text(engine, META_MAGIC)?;
    match magic {
        None if engine.is_empty() => create(engine, country_code)?,
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
    let next_id = read_u64(engine, META_NEXT_ID)?.ok_or_else(|| StorageError::Corrupt {
        key: "meta/next_id".into(),
        reason: "id counter missing".into(),
    })?;
    let country_code = read_text(engine, META_COUNTRY_CODE)?.unwrap_or_else(|| "1".into());
    let mut registry = Registry::default();
    for row in engine.scan_prefix(&[keys::REG]) {
        let (k, v) = row.map_err(StorageError::from)?;
        let (space, code) =
            keys::parse_space_code(keys::REG, &k).ok_or_else(|| StorageError::Corrupt {
                key: keys::describe(&k),
                reason: "malformed registry key".into(),
            })?;
        registry.insert(space, code, &codec::decode_text(&k, &v)?);
    }
    Ok(Opened {
        next_id,
        registry,
        country_code,
    })
}
