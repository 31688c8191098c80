//! redb 5: a copy-on-write B-tree with ACID commits. Its one file is
//! `data.redb` in the database directory, with one table (`kith`). Batches
//! commit without an fsync (`Durability::None`); a flush is an empty
//! durable commit, which makes every earlier one durable too — from
//! [`super::Engine::flush`], or every `flush_every_ms` from a [`Flusher`].

use super::{
    directed, failed, Bytes, EngineConfig, EngineError, Flusher, Rows, StorageEngine, Store,
    WriteBatch,
};
use parking_lot::RwLock;
use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use std::sync::Arc;

/// A key or value a scan yields.
type Guard = redb::OwnedAccessGuard<&'static [u8]>;

const TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("kith");

fn map_err(e: impl Into<redb::Error>) -> EngineError {
    match e.into() {
        redb::Error::DatabaseAlreadyOpen => {
            EngineError::Locked("the redb database is open in another handle".into())
        }
        redb::Error::Corrupted(m) => EngineError::Corrupt(format!("redb reports damage: {m}")),
        redb::Error::Io(io) => EngineError::io(format!("redb: {io}"), io),
        other => EngineError::other(format!("redb: {other}")),
    }
}

/// A redb database with kith's one table. The lock is taken for writing
/// only by the engine's integrity check, which redb runs on an exclusive
/// handle.
pub(super) struct RedbStore {
    // Dropped first: the flusher holds a clone of the database.
    _flusher: Option<Flusher>,
    db: Arc<RwLock<redb::Database>>,
    file: Option<std::path::PathBuf>,
}

fn durable_commit(db: &redb::Database) -> Result<(), EngineError> {
    let mut w = db.begin_write().map_err(map_err)?;
    w.set_durability(redb::Durability::Immediate)
        .map_err(map_err)?;
    w.commit().map_err(map_err)
}

impl RedbStore {
    pub(super) fn open(config: &EngineConfig<'_>) -> Result<RedbStore, EngineError> {
        let mut builder = redb::Builder::new();
        builder.set_cache_size(config.cache_bytes.min(usize::MAX as u64) as usize);
        let (db, file) = match config.path {
            Some(dir) => {
                let file = dir.join("data.redb");
                (builder.create(&file).map_err(map_err)?, Some(file))
            }
            None => (
                builder
                    .create_with_backend(redb::backends::InMemoryBackend::new())
                    .map_err(map_err)?,
                None,
            ),
        };
        // The table exists from the start, so that reads never meet its
        // absence.
        let w = db.begin_write().map_err(map_err)?;
        w.open_table(TABLE).map_err(map_err)?;
        w.commit().map_err(map_err)?;
        let db = Arc::new(RwLock::new(db));
        let flusher = match config.flush_every_ms {
            Some(ms) => {
                let d = db.clone();
                Some(Flusher::start("redb", ms, move || {
                    durable_commit(&d.read())
                })?)
            }
            None => None,
        };
        Ok(RedbStore {
            _flusher: flusher,
            db,
            file,
        })
    }

    fn table(&self) -> Result<redb::ReadOnlyTable<&'static [u8], &'static [u8]>, EngineError> {
        let tx = self.db.read().begin_read().map_err(map_err)?;
        tx.open_table(TABLE).map_err(map_err)
    }
}

impl Store for RedbStore {
    fn engine(&self) -> StorageEngine {
        StorageEngine::Redb
    }

    fn get(&self, key: &[u8]) -> Result<Option<Bytes>, EngineError> {
        let t = self.table()?;
        let v = t.get(key).map_err(map_err)?;
        Ok(v.map(|g| Bytes::copy_from(g.value())))
    }

    fn get_many(&self, keys: &[&[u8]]) -> Result<Vec<Option<Bytes>>, EngineError> {
        // One read transaction for all of them.
        let t = self.table()?;
        keys.iter()
            .map(|k| {
                let v = t.get(*k).map_err(map_err)?;
                Ok(v.map(|g| Bytes::copy_from(g.value())))
            })
            .collect()
    }

    fn scan(&self, from: &[u8], to: Option<&[u8]>, rev: bool) -> Rows {
        if let Some(t) = to {
            if t <= from {
                return Box::new(std::iter::empty());
            }
        }
        let t = match self.table() {
            Ok(t) => t,
            Err(e) => return failed(e),
        };
        let range = match to {
            Some(to) => t.range_owned(from..to),
            None => t.range_owned(from..),
        };
        let it = match range {
            Ok(it) => it,
            Err(e) => return failed(map_err(e)),
        };
        let map = |r: Result<(Guard, Guard), redb::StorageError>| {
            r.map(|(k, v)| (Bytes::copy_from(k.value()), Bytes::copy_from(v.value())))
                .map_err(map_err)
        };
        directed(it, rev, map)
    }

    fn apply(&self, batch: WriteBatch) -> Result<(), EngineError> {
        let db = self.db.read();
        let mut w = db.begin_write().map_err(map_err)?;
        w.set_durability(redb::Durability::None).map_err(map_err)?;
        {
            let mut t = w.open_table(TABLE).map_err(map_err)?;
            for (k, v) in batch.into_ops() {
                match v {
                    Some(v) => {
                        t.insert(k.as_slice(), v.as_slice()).map_err(map_err)?;
                    }
                    None => {
                        t.remove(k.as_slice()).map_err(map_err)?;
                    }
                }
            }
        }
        w.commit().map_err(map_err)
    }

    fn flush(&self) -> Result<(), EngineError> {
        durable_commit(&self.db.read())
    }

    fn is_empty(&self) -> Result<bool, EngineError> {
        self.table()?.is_empty().map_err(map_err)
    }

    fn size_on_disk(&self) -> Result<u64, EngineError> {
        match &self.file {
            Some(f) => std::fs::metadata(f)
                .map(|m| m.len())
                .map_err(|e| EngineError::io(format!("cannot stat {}: {e}", f.display()), e)),
            None => Ok(0),
        }
    }

    fn verify(&self) -> Result<bool, EngineError> {
        let mut db = self.db.write();
        durable_commit(&db)?;
        match db.check_integrity().map_err(map_err)? {
            true => Ok(true),
            false => Err(EngineError::Corrupt(
                "redb's integrity check found damage (and repaired what it could)".into(),
            )),
        }
    }
}
