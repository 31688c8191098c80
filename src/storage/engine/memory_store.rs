//! An ordered map in memory: the store of a temporary database that never
//! touches disk.

use super::{Bytes, EngineError, Rows, StorageEngine, Store, WriteBatch};
use parking_lot::RwLock;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

type Map = BTreeMap<Vec<u8>, Bytes>;

/// Rows in a `BTreeMap` behind a lock.
#[derive(Default)]
pub(super) struct MemoryStore {
    rows: Arc<RwLock<Map>>,
    engine: Option<StorageEngine>,
}

/// Rows a scan copies out under the lock at a time: a scan that stops
/// early (the newest change, the first few of a large index range) never
/// copies the rest of the range.
const CHUNK: usize = 64;

/// A scan over the map, read a chunk at a time; each chunk starts after the
/// last key of the one before (or, in reverse, before its first).
struct Scan {
    rows: Arc<RwLock<Map>>,
    from: Bound<Vec<u8>>,
    to: Bound<Vec<u8>>,
    rev: bool,
    buf: std::vec::IntoIter<(Vec<u8>, Bytes)>,
    done: bool,
}

impl Scan {
    fn refill(&mut self) {
        let rows = self.rows.read();
        let range = rows.range::<Vec<u8>, _>((self.from.clone(), self.to.clone()));
        let chunk: Vec<(Vec<u8>, Bytes)> = if self.rev {
            range
                .rev()
                .take(CHUNK)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        } else {
            range
                .take(CHUNK)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        self.done = chunk.len() < CHUNK;
        if let Some((last, _)) = chunk.last() {
            if self.rev {
                self.to = Bound::Excluded(last.clone());
            } else {
                self.from = Bound::Excluded(last.clone());
            }
        }
        self.buf = chunk.into_iter();
    }
}

impl Iterator for Scan {
    type Item = Result<(Bytes, Bytes), EngineError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((k, v)) = self.buf.next() {
                return Some(Ok((Bytes::from_vec(k), v)));
            }
            if self.done {
                return None;
            }
            self.refill();
        }
    }
}

impl MemoryStore {
    pub(super) fn new(engine: StorageEngine) -> MemoryStore {
        MemoryStore {
            rows: Arc::default(),
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
        Box::new(Scan {
            rows: self.rows.clone(),
            from: Bound::Included(from.to_vec()),
            to: match to {
                Some(t) => Bound::Excluded(t.to_vec()),
                None => Bound::Unbounded,
            },
            rev,
            buf: Vec::new().into_iter(),
            done: false,
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_across_chunks_in_both_directions_match_the_map() {
        let s = MemoryStore::new(StorageEngine::Sled);
        let mut b = WriteBatch::default();
        for i in 0..300u32 {
            b.put(i.to_be_bytes(), [i as u8]);
        }
        s.apply(b).unwrap();
        let keys = |from: u32, to: Option<u32>, rev: bool| -> Vec<u32> {
            let (f, t) = (from.to_be_bytes(), to.map(u32::to_be_bytes));
            s.scan(&f, t.as_ref().map(|t| &t[..]), rev)
                .map(|r| u32::from_be_bytes(r.unwrap().0[..].try_into().unwrap()))
                .collect()
        };
        assert_eq!(keys(0, None, false), (0..300).collect::<Vec<_>>());
        assert_eq!(keys(0, None, true), (0..300).rev().collect::<Vec<_>>());
        assert_eq!(keys(10, Some(200), false), (10..200).collect::<Vec<_>>());
        assert_eq!(
            keys(10, Some(200), true),
            (10..200).rev().collect::<Vec<_>>()
        );
        assert!(keys(200, Some(10), false).is_empty());
        // A scan that stops early, and one that sees writes made meanwhile
        // after its position.
        assert_eq!(keys(0, None, true).first(), Some(&299));
        let mut it = s.scan(&[], None, false);
        for _ in 0..70 {
            it.next().unwrap().unwrap();
        }
        let mut b = WriteBatch::default();
        b.put(1000u32.to_be_bytes(), [0]);
        s.apply(b).unwrap();
        assert_eq!(it.count(), 230 + 1);
    }
}
