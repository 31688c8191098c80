//! sled 0.34.7: the default engine. Its files live in the database
//! directory itself; its own background thread flushes every
//! `flush_every_ms`.

use super::{
    directed, Bytes, EngineConfig, EngineError, Repr, Rows, StorageEngine, Store, WriteBatch,
};

fn map_err(e: ::sled::Error) -> EngineError {
    match e {
        ::sled::Error::Io(io) => {
            let text = io.to_string();
            // sled reports a held lock only in the text of an I/O error.
            if text.contains("could not acquire lock") {
                EngineError::Locked(text)
            } else {
                EngineError::io(text, io)
            }
        }
        ::sled::Error::Corruption { at, .. } => {
            EngineError::Corrupt(format!("storage engine reports corruption at {at:?}"))
        }
        other => EngineError::io(other.to_string(), other),
    }
}

fn bytes(v: ::sled::IVec) -> Bytes {
    Bytes(Repr::Sled(v))
}

/// A sled tree.
pub(super) struct SledStore {
    db: ::sled::Db,
}

impl SledStore {
    pub(super) fn open(config: &EngineConfig<'_>) -> Result<SledStore, EngineError> {
        let mut c = ::sled::Config::new()
            .cache_capacity(config.cache_bytes)
            .flush_every_ms(config.flush_every_ms);
        c = match config.path {
            Some(p) => c.path(p),
            None => c.temporary(true),
        };
        Ok(SledStore {
            db: c.open().map_err(map_err)?,
        })
    }
}

impl Store for SledStore {
    fn engine(&self) -> StorageEngine {
        StorageEngine::Sled
    }

    #[inline]
    fn get(&self, key: &[u8]) -> Result<Option<Bytes>, EngineError> {
        self.db.get(key).map(|v| v.map(bytes)).map_err(map_err)
    }

    fn contains(&self, key: &[u8]) -> Result<bool, EngineError> {
        self.db.contains_key(key).map_err(map_err)
    }

    fn scan(&self, from: &[u8], to: Option<&[u8]>, rev: bool) -> Rows {
        let it = match to {
            Some(t) => self.db.range(from.to_vec()..t.to_vec()),
            None => self.db.range(from.to_vec()..),
        };
        let map = |r: ::sled::Result<(::sled::IVec, ::sled::IVec)>| {
            r.map(|(k, v)| (bytes(k), bytes(v))).map_err(map_err)
        };
        directed(it, rev, map)
    }

    fn apply(&self, batch: WriteBatch) -> Result<(), EngineError> {
        let mut b = ::sled::Batch::default();
        for (k, v) in batch.into_ops() {
            match v {
                Some(v) => b.insert(k, v),
                None => b.remove(k),
            }
        }
        self.db.apply_batch(b).map_err(map_err)
    }

    fn flush(&self) -> Result<(), EngineError> {
        self.db.flush().map(|_| ()).map_err(map_err)
    }

    fn is_empty(&self) -> Result<bool, EngineError> {
        Ok(self.db.is_empty())
    }

    fn size_on_disk(&self) -> Result<u64, EngineError> {
        self.db.size_on_disk().map_err(map_err)
    }
}
