//! The stored rows of a closed database, read and written with its own
//! engine underneath kith: for tests that damage a database on purpose
//! (a corrupt value, a removed row, a newer format) on every engine, and
//! that carry the format fixtures into each engine. Hidden; not part of
//! the API — nothing here keeps kith's invariants.

use super::{detect, Engine, EngineConfig, EngineError, StorageEngine, WriteBatch};
use std::path::Path;

/// A database directory opened with its engine alone.
pub struct RawStore {
    engine: Engine,
}

impl RawStore {
    /// Opens the store in `dir` with the engine its directory names (sled
    /// for a directory that names none), creating it with `create` when
    /// there is none yet. A handle closed a moment ago may still hold the
    /// lock: opening waits up to two seconds for it.
    pub fn open(dir: &Path, create: StorageEngine) -> Result<RawStore, String> {
        let engine = detect(dir).map_err(|e| e.to_string())?.unwrap_or(create);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        loop {
            match Engine::open(EngineConfig {
                engine,
                path: Some(dir),
                cache_bytes: 64 << 20,
                flush_every_ms: None,
                memory: false,
            }) {
                Ok(engine) => return Ok(RawStore { engine }),
                Err(EngineError::Locked(_)) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20))
                }
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    /// The engine underneath.
    pub fn engine(&self) -> StorageEngine {
        self.engine.engine()
    }

    /// One row's value.
    pub fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.engine.get(key).unwrap().map(|v| v.to_vec())
    }

    /// Writes one row, durably.
    pub fn put(&self, key: &[u8], value: &[u8]) {
        let mut b = WriteBatch::default();
        b.put(key, value);
        self.engine.apply(b).unwrap();
        self.engine.flush().unwrap();
    }

    /// Removes one row, durably.
    pub fn remove(&self, key: &[u8]) {
        let mut b = WriteBatch::default();
        b.remove(key);
        self.engine.apply(b).unwrap();
        self.engine.flush().unwrap();
    }

    /// Every row whose key starts with `prefix`, in key order.
    pub fn scan_prefix(&self, prefix: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.engine
            .scan_prefix(prefix)
            .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())).unwrap())
            .collect()
    }

    /// Copies every row of the store in `from` into a new store of `engine`
    /// at `to`, as they are (a database of any format), durably.
    pub fn copy(from: &Path, to: &Path, engine: StorageEngine) -> Result<u64, String> {
        let src = RawStore::open(from, StorageEngine::Sled)?;
        if detect(to).map_err(|e| e.to_string())?.is_some() {
            return Err(format!("{} already holds a store", to.display()));
        }
        let dst = RawStore::open(to, engine)?;
        let mut b = WriteBatch::default();
        let mut n = 0;
        for row in src.engine.scan_prefix(&[]) {
            let (k, v) = row.map_err(|e| e.to_string())?;
            b.put(&k[..], &v[..]);
            n += 1;
        }
        dst.engine.apply(b).map_err(|e| e.to_string())?;
        dst.engine.flush().map_err(|e| e.to_string())?;
        Ok(n)
    }
}
