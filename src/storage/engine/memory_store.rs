//! An ordered map in memory: the store of a temporary database that never
//! touches disk.

use super::{Bytes, EngineError, Rows, StorageEngine, Store, WriteBatch};
use parking_lot::RwLock;
use std::collections::BTreeMap;
use std::ops::Bound;

/// Rows in a `BTreeMap` behind a lock.
#[derive(Default)]
pub(super) struct MemoryStore {
    rows: RwLock<BTreeMap<Vec<u8>, Bytes>>,
    engine: Option<StorageEngine>,
}

impl MemoryStore {
    pub(super) fn new(engine: StorageEngine) -> MemoryStore {
        MemoryStore {
            rows: RwLock::default(),
            engine: Some(engine),
        }
    }
}

impl Store for MemoryStore {
    fn engine(&self) -> StorageEngine {
        self.engine.unwrap_or_default()
    }

    fn get(&self, key: &[u8]) -> Result<Option<Bytes>, EngineError> {
        Ok(self.rows.read().get(key).cloned())
    }

    fn scan(&self, from: &[u8], to: Option<&[u8]>, rev: bool) -> Rows {
        if to.is_some_and(|t| t <= from) {
            return Box::new(std::iter::empty());
        }
        let rows = self.rows.read();
        let range = rows.range::<[u8], _>((
            Bound::Included(from),
            match to {
                Some(t) => Bound::Excluded(t),
                None => Bound::Unbounded,
            },
        ));
        // Copied out under the lock: the scans kith makes are short.
        let mut out: Vec<_> = range
            .map(|(k, v)| Ok((Bytes::copy_from(k), v.clone())))
            .collect();
        if rev {
            out.reverse();
        }
        Box::new(out.into_iter())
    }

    fn apply(&self, batch: WriteBatch) -> Result<(), EngineError> {
        let mut rows = self.rows.write();
        for (k, v) in batch.into_ops() {
            match v {
                Some(v) => {
                    rows.insert(k, Bytes::from_vec(v));
                }
                None => {
                    rows.remove(&k);
                }
            }
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), EngineError> {
        Ok(())
    }

    fn is_empty(&self) -> Result<bool, EngineError> {
        Ok(self.rows.read().is_empty())
    }

    fn size_on_disk(&self) -> Result<u64, EngineError> {
        Ok(0)
    }
}
