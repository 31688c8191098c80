//! The ordered key-value engine under kith: sled 0.34.7.
//!
//! This file is the only place in kith that names sled. Everything above it
//! speaks of byte keys, byte values, prefix scans and atomic batches, so that
//! another ordered engine could take sled's place here alone.

use std::path::Path;

/// Bytes read from the engine (a cheap, reference-counted buffer).
#[derive(Clone)]
pub struct Bytes(sled::IVec);

impl Bytes {
    /// Bytes from an owned buffer.
    pub fn from_vec(v: Vec<u8>) -> Bytes {
        Bytes(sled::IVec::from(v))
    }
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl AsRef<[u8]> for Bytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// An error of the engine itself: I/O, or a store that will not open.
#[derive(Debug)]
pub enum EngineError {
    /// Another process (or another handle in this one) holds the database.
    Locked(String),
    /// The engine's own files are damaged.
    Corrupt(String),
    /// Any other I/O failure, with the error underneath.
    Io(String, std::sync::Arc<dyn std::error::Error + Send + Sync>),
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EngineError::Locked(m) | EngineError::Corrupt(m) | EngineError::Io(m, _) => {
                f.write_str(m)
            }
        }
    }
}

fn map_err(e: sled::Error) -> EngineError {
    match e {
        sled::Error::Io(io) => {
            let text = io.to_string();
            if text.contains("could not acquire lock") {
                EngineError::Locked(text)
            } else {
                EngineError::Io(text, std::sync::Arc::new(io))
            }
        }
        sled::Error::Corruption { at, .. } => {
            EngineError::Corrupt(format!("storage engine reports corruption at {at:?}"))
        }
        other => EngineError::Io(other.to_string(), std::sync::Arc::new(other)),
    }
}

/// How the engine is opened.
pub struct EngineConfig<'a> {
    /// Where the files live (ignored when `temporary`).
    pub path: Option<&'a Path>,
    /// Page cache budget in bytes.
    pub cache_bytes: u64,
    /// Background flush interval; `None` turns background flushing off.
    pub flush_every_ms: Option<u64>,
}

/// A batch of puts and removes applied atomically.
#[derive(Default)]
pub struct WriteBatch {
    inner: sled::Batch,
}

impl WriteBatch {
    /// Adds a put.
    pub fn put(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        self.inner.insert(key.as_ref(), value.as_ref());
    }

    /// Adds a remove.
    pub fn remove(&mut self, key: impl AsRef<[u8]>) {
        self.inner.remove(key.as_ref());
    }
}

/// The engine handle. Cloning is cheap; all clones share one store.
#[derive(Clone)]
pub struct Engine {
    db: sled::Db,
}

impl Engine {
    /// Opens (or creates) the store.
    pub fn open(config: EngineConfig<'_>) -> Result<Engine, EngineError> {
        let mut c = sled::Config::new()
            .cache_capacity(config.cache_bytes)
            .flush_every_ms(config.flush_every_ms);
        c = match config.path {
            Some(p) => c.path(p),
            None => c.temporary(true),
        };
        let db = c.open().map_err(map_err)?;
        Ok(Engine { db })
    }

    /// Reads one key.
    pub fn get(&self, key: &[u8]) -> Result<Option<Bytes>, EngineError> {
        self.db.get(key).map(|v| v.map(Bytes)).map_err(map_err)
    }

    /// Whether a key is present.
    pub fn contains(&self, key: &[u8]) -> Result<bool, EngineError> {
        self.db.contains_key(key).map_err(map_err)
    }

    /// Every pair whose key starts with `prefix`, in key order.
    pub fn scan_prefix(
        &self,
        prefix: &[u8],
    ) -> impl Iterator<Item = Result<(Bytes, Bytes), EngineError>> + Send + 'static {
        self.db
            .scan_prefix(prefix)
            .map(|r| r.map(|(k, v)| (Bytes(k), Bytes(v))).map_err(map_err))
    }

    /// Applies every operation of `batch` atomically: after a crash, all or none.
    pub fn apply(&self, batch: WriteBatch) -> Result<(), EngineError> {
        self.db.apply_batch(batch.inner).map_err(map_err)
    }

    /// Makes every write applied so far durable.
    pub fn flush(&self) -> Result<(), EngineError> {
        self.db.flush().map(|_| ()).map_err(map_err)
    }

    /// Whether the store holds no key at all.
    pub fn is_empty(&self) -> bool {
        self.db.is_empty()
    }

    /// Bytes the engine's files take on disk.
    pub fn size_on_disk(&self) -> Result<u64, EngineError> {
        self.db.size_on_disk().map_err(map_err)
    }
}

/// Reads of an ordered store: the engine itself, or a transaction's
/// [`super::overlay::Overlay`] over it. Everything that reads stored rows
/// is written once against this trait, so a transaction reads its own writes
/// through the very code that serves `Db`'s reads.
pub trait Source {
    /// Reads one key.
    fn get(&self, key: &[u8]) -> Result<Option<Bytes>, EngineError>;
    /// Every pair with `from <= key < to` (`to` `None`: to the end), in key
    /// order or, when `rev`, in reverse.
    fn scan<'a>(
        &'a self,
        from: &[u8],
        to: Option<&[u8]>,
        rev: bool,
    ) -> Box<dyn Iterator<Item = Result<(Bytes, Bytes), EngineError>> + 'a>;
}

/// The smallest key greater than every key starting with `prefix` (`None`:
/// the prefix is all `0xff`, so there is none).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

impl Source for Engine {
    fn get(&self, key: &[u8]) -> Result<Option<Bytes>, EngineError> {
        Engine::get(self, key)
    }

    fn scan<'a>(
        &'a self,
        from: &[u8],
        to: Option<&[u8]>,
        rev: bool,
    ) -> Box<dyn Iterator<Item = Result<(Bytes, Bytes), EngineError>> + 'a> {
        let it = match to {
            Some(t) => self.db.range(from.to_vec()..t.to_vec()),
            None => self.db.range(from.to_vec()..),
        };
        let map = |r: sled::Result<(sled::IVec, sled::IVec)>| {
            r.map(|(k, v)| (Bytes(k), Bytes(v))).map_err(map_err)
        };
        if rev {
            Box::new(it.rev().map(map))
        } else {
            Box::new(it.map(map))
        }
    }
}

/// Whether `dir` looks like the engine's own directory (its files are there).
pub fn looks_like_engine_dir(dir: &Path) -> bool {
    dir.join("conf").is_file() && dir.join("db").is_file()
}
