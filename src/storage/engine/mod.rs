//! The ordered key-value engines under kith, behind one seam.
//!
//! Everything above this module speaks of byte keys, byte values, ordered
//! scans and atomic batches ([`Store`]); each engine implements that trait
//! in a file of its own — [`sled_store`] (the default), [`fjall_store`] (an
//! LSM tree) and [`redb_store`] (a copy-on-write B-tree) — and this folder is
//! the only place in kith that names any of them.
//!
//! A database directory says which engine wrote it in a small file,
//! `ENGINE` (one line: the engine's name), written before the engine creates
//! its own files; a directory without it but with sled's `conf` and `db`
//! files is a sled database of a kith that predates the file. Each engine
//! keeps its files in its own place: sled's in the directory itself (as
//! always), fjall's under `fjall/`, redb's in `data.redb`.

#[cfg(feature = "fjall")]
mod fjall_store;
mod memory_store;
#[cfg(feature = "redb")]
mod redb_store;
mod sled_store;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// A storage engine kith can keep a database in, chosen when the database
/// is created ([`crate::DbBuilder::engine`], `kith --engine NAME`) and found
/// again on every open.
///
/// Which to pick for which workload: `docs/engines.md`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StorageEngine {
    /// sled 0.34.7, a lock-free B-tree over a log (the default).
    #[default]
    Sled,
    /// fjall 3, an LSM tree: the fastest writes and the smallest files.
    Fjall,
    /// redb 5, a copy-on-write B-tree: the best read tail and instant reopen.
    Redb,
}

impl StorageEngine {
    /// Every engine, whether or not this build has it.
    pub const ALL: [StorageEngine; 3] = [
        StorageEngine::Sled,
        StorageEngine::Fjall,
        StorageEngine::Redb,
    ];

    /// Its name, as `--engine` takes it and the `ENGINE` file holds it.
    pub fn name(self) -> &'static str {
        match self {
            StorageEngine::Sled => "sled",
            StorageEngine::Fjall => "fjall",
            StorageEngine::Redb => "redb",
        }
    }

    /// Whether this build of kith has the engine (the `fjall` and `redb`
    /// cargo features; sled is always there).
    pub fn available(self) -> bool {
        match self {
            StorageEngine::Sled => true,
            StorageEngine::Fjall => cfg!(feature = "fjall"),
            StorageEngine::Redb => cfg!(feature = "redb"),
        }
    }

    /// The engines this build has.
    pub fn available_engines() -> Vec<StorageEngine> {
        StorageEngine::ALL
            .into_iter()
            .filter(|e| e.available())
            .collect()
    }
}

impl std::fmt::Display for StorageEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for StorageEngine {
    type Err = String;

    /// An engine by name; an unknown name is an error that lists the known ones.
    fn from_str(s: &str) -> Result<StorageEngine, String> {
        StorageEngine::ALL
            .into_iter()
            .find(|e| e.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!(
                    "unknown storage engine {s:?}: one of {}",
                    StorageEngine::ALL.map(|e| e.name()).join(", ")
                )
            })
    }
}

/// Bytes read from an engine: a cheap, reference-counted buffer, whatever
/// engine it came from.
#[derive(Clone)]
pub struct Bytes(Repr);

#[derive(Clone)]
enum Repr {
    Sled(::sled::IVec),
    #[cfg(feature = "fjall")]
    Fjall(::fjall::Slice),
    Shared(Arc<[u8]>),
}

impl Bytes {
    /// Bytes from an owned buffer.
    pub fn from_vec(v: Vec<u8>) -> Bytes {
        Bytes(Repr::Shared(Arc::from(v)))
    }

    /// Bytes copied from a slice.
    #[cfg_attr(not(feature = "redb"), allow(dead_code))]
    pub fn copy_from(v: &[u8]) -> Bytes {
        Bytes(Repr::Shared(Arc::from(v)))
    }
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        match &self.0 {
            Repr::Sled(v) => v,
            #[cfg(feature = "fjall")]
            Repr::Fjall(v) => v,
            Repr::Shared(v) => v,
        }
    }
}

impl AsRef<[u8]> for Bytes {
    fn as_ref(&self) -> &[u8] {
        self
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
    Io(String, Arc<dyn std::error::Error + Send + Sync>),
}

impl EngineError {
    /// An I/O error with a message and its cause.
    pub fn io(
        message: impl Into<String>,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> EngineError {
        EngineError::Io(message.into(), Arc::new(cause))
    }

    /// An error with a message alone.
    pub fn other(message: impl Into<String>) -> EngineError {
        let m = message.into();
        EngineError::Io(m.clone(), Arc::new(std::io::Error::other(m)))
    }
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

/// How the engine is opened.
pub struct EngineConfig<'a> {
    /// Which engine.
    pub engine: StorageEngine,
    /// The database directory (`None`: a temporary store, gone when dropped).
    pub path: Option<&'a Path>,
    /// Cache budget in bytes (sled's page cache, fjall's block cache,
    /// redb's page cache).
    pub cache_bytes: u64,
    /// Background flush interval; `None` turns background flushing off
    /// (every write is made durable by [`Engine::flush`]).
    pub flush_every_ms: Option<u64>,
    /// With no path: keep the rows in an ordered map in memory instead of a
    /// temporary store of the engine (the bulk load resolves into one).
    pub memory: bool,
}

/// A batch of puts and removes applied atomically. A key written twice
/// keeps its last operation.
#[derive(Default)]
pub struct WriteBatch {
    ops: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl WriteBatch {
    /// Adds a put.
    pub fn put(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        self.ops
            .insert(key.as_ref().to_vec(), Some(value.as_ref().to_vec()));
    }

    /// Adds a remove.
    pub fn remove(&mut self, key: impl AsRef<[u8]>) {
        self.ops.insert(key.as_ref().to_vec(), None);
    }

    /// Whether it writes nothing.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Its operations in key order: `(key, Some(value))` puts, `(key, None)`
    /// removes.
    fn into_ops(self) -> impl Iterator<Item = (Vec<u8>, Option<Vec<u8>>)> {
        self.ops.into_iter()
    }
}

/// Rows read by a scan.
pub type Rows = Box<dyn Iterator<Item = Result<(Bytes, Bytes), EngineError>> + Send>;

/// What an engine does for kith: the whole seam.
///
/// Reads are point gets (one or a batch) and ordered scans over a key range
/// in either direction; every write is one atomic batch; durability is an
/// explicit [`Store::flush`] (or the engine's background flusher, bounded
/// by [`EngineConfig::flush_every_ms`]). An engine that keeps its data
/// across a network would batch [`Store::get_many`] into one round trip and
/// retry a conflicting [`Store::apply`] itself: `docs/design.md` says what
/// would change above.
pub(crate) trait Store: Send + Sync {
    /// Which engine this is.
    fn engine(&self) -> StorageEngine;
    /// Reads one key.
    fn get(&self, key: &[u8]) -> Result<Option<Bytes>, EngineError>;
    /// Reads several keys, in the order given.
    fn get_many(&self, keys: &[&[u8]]) -> Result<Vec<Option<Bytes>>, EngineError> {
        keys.iter().map(|k| self.get(k)).collect()
    }
    /// Whether a key is present.
    fn contains(&self, key: &[u8]) -> Result<bool, EngineError> {
        Ok(self.get(key)?.is_some())
    }
    /// Every pair with `from <= key < to` (`to` `None`: to the end), in key
    /// order or, when `rev`, in reverse. A scan is resumable: start the next
    /// one at the key after the last one read.
    fn scan(&self, from: &[u8], to: Option<&[u8]>, rev: bool) -> Rows;
    /// Applies every operation of `batch` atomically: after a crash, all or none.
    fn apply(&self, batch: WriteBatch) -> Result<(), EngineError>;
    /// Makes every batch applied so far durable.
    fn flush(&self) -> Result<(), EngineError>;
    /// Whether the store holds no key at all.
    fn is_empty(&self) -> Result<bool, EngineError>;
    /// Bytes the engine's files take on disk.
    fn size_on_disk(&self) -> Result<u64, EngineError>;
    /// The engine's own integrity check of its files, where it has one
    /// (`Ok(false)`: it has none).
    fn verify(&self) -> Result<bool, EngineError> {
        Ok(false)
    }
}

/// The rows of an engine's range iterator, each mapped by `map`, in key
/// order or, when `rev`, in reverse.
fn directed<I, T>(
    it: I,
    rev: bool,
    map: impl FnMut(T) -> Result<(Bytes, Bytes), EngineError> + Send + 'static,
) -> Rows
where
    I: DoubleEndedIterator<Item = T> + Send + 'static,
{
    if rev {
        Box::new(it.rev().map(map))
    } else {
        Box::new(it.map(map))
    }
}

/// One row that is an error: what a scan returns when it cannot start.
#[cfg_attr(not(feature = "redb"), allow(dead_code))]
fn failed(e: EngineError) -> Rows {
    Box::new(std::iter::once(Err(e)))
}

/// The engine handle. Cloning is cheap; all clones share one store.
#[derive(Clone)]
pub struct Engine {
    store: Arc<dyn Store>,
}

/// The file naming a database directory's engine.
pub const ENGINE_FILE: &str = "ENGINE";

impl Engine {
    /// Opens (or creates) the store. A new directory gets its `ENGINE` file
    /// first.
    pub fn open(config: EngineConfig<'_>) -> Result<Engine, EngineError> {
        if !config.engine.available() {
            return Err(EngineError::other(format!(
                "this build of kith has no {} engine (cargo feature `{}`); it has {}",
                config.engine,
                config.engine,
                StorageEngine::available_engines()
                    .iter()
                    .map(|e| e.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        if let Some(dir) = config.path {
            if detect(dir)?.is_none() {
                write_engine_file(dir, config.engine)?;
            }
        }
        if config.memory {
            return Ok(Engine {
                store: Arc::new(memory_store::MemoryStore::new(config.engine)),
            });
        }
        let store: Arc<dyn Store> = match config.engine {
            StorageEngine::Sled => Arc::new(sled_store::SledStore::open(&config)?),
            #[cfg(feature = "fjall")]
            StorageEngine::Fjall => Arc::new(fjall_store::FjallStore::open(&config)?),
            #[cfg(feature = "redb")]
            StorageEngine::Redb => Arc::new(redb_store::RedbStore::open(&config)?),
            #[allow(unreachable_patterns)]
            other => unreachable!("{other} is available but not built"),
        };
        Ok(Engine { store })
    }

    /// Which engine this is.
    pub fn engine(&self) -> StorageEngine {
        self.store.engine()
    }

    /// Reads one key.
    #[inline]
    pub fn get(&self, key: &[u8]) -> Result<Option<Bytes>, EngineError> {
        self.store.get(key)
    }

    /// Whether a key is present.
    pub fn contains(&self, key: &[u8]) -> Result<bool, EngineError> {
        self.store.contains(key)
    }

    /// Every pair whose key starts with `prefix`, in key order.
    pub fn scan_prefix(&self, prefix: &[u8]) -> Rows {
        self.store
            .scan(prefix, prefix_end(prefix).as_deref(), false)
    }

    /// Applies every operation of `batch` atomically: after a crash, all or none.
    pub fn apply(&self, batch: WriteBatch) -> Result<(), EngineError> {
        if batch.is_empty() {
            return Ok(());
        }
        self.store.apply(batch)
    }

    /// Makes every write applied so far durable.
    pub fn flush(&self) -> Result<(), EngineError> {
        self.store.flush()
    }

    /// Whether the store holds no key at all.
    pub fn is_empty(&self) -> Result<bool, EngineError> {
        self.store.is_empty()
    }

    /// Bytes the engine's files take on disk.
    pub fn size_on_disk(&self) -> Result<u64, EngineError> {
        self.store.size_on_disk()
    }

    /// The engine's own integrity check, where it has one (`Ok(false)`:
    /// it has none; `Ok(true)`: it ran and found the files whole).
    pub fn verify(&self) -> Result<bool, EngineError> {
        self.store.verify()
    }
}

/// Reads of an ordered store: the engine itself, or a transaction's
/// [`super::overlay::Overlay`] over it. Everything that reads stored rows
/// is written once against this trait, so a transaction reads its own writes
/// through the very code that serves `Db`'s reads.
pub trait Source {
    /// Reads one key.
    fn get(&self, key: &[u8]) -> Result<Option<Bytes>, EngineError>;
    /// Reads several keys, in the order given (one round trip where the
    /// engine can batch them).
    fn get_many(&self, keys: &[&[u8]]) -> Result<Vec<Option<Bytes>>, EngineError> {
        keys.iter().map(|k| self.get(k)).collect()
    }
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
    #[inline]
    fn get(&self, key: &[u8]) -> Result<Option<Bytes>, EngineError> {
        self.store.get(key)
    }

    fn get_many(&self, keys: &[&[u8]]) -> Result<Vec<Option<Bytes>>, EngineError> {
        self.store.get_many(keys)
    }

    fn scan<'a>(
        &'a self,
        from: &[u8],
        to: Option<&[u8]>,
        rev: bool,
    ) -> Box<dyn Iterator<Item = Result<(Bytes, Bytes), EngineError>> + 'a> {
        self.store.scan(from, to, rev)
    }
}

/// Whether sled's own files are in `dir` (a sled database, with or without
/// an `ENGINE` file).
fn has_sled_files(dir: &Path) -> bool {
    dir.join("conf").is_file() && dir.join("db").is_file()
}

/// The engine of the database in `dir`: named by its `ENGINE` file, or sled
/// for a directory with sled's files and no such file; `None` when `dir`
/// holds no database yet. An `ENGINE` file that names no engine is an error.
pub fn detect(dir: &Path) -> Result<Option<StorageEngine>, EngineError> {
    let file = dir.join(ENGINE_FILE);
    match std::fs::read_to_string(&file) {
        Ok(text) => text
            .trim()
            .parse()
            .map(Some)
            .map_err(|e: String| EngineError::Corrupt(format!("{}: {e}", file.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok(has_sled_files(dir).then_some(StorageEngine::Sled))
        }
        Err(e) => Err(EngineError::io(
            format!("cannot read {}: {e}", file.display()),
            e,
        )),
    }
}

/// Names `dir`'s engine in its `ENGINE` file (written whole or not at all).
fn write_engine_file(dir: &Path, engine: StorageEngine) -> Result<(), EngineError> {
    let io = |what: &str, e: std::io::Error| {
        EngineError::io(format!("cannot {what} in {}: {e}", dir.display()), e)
    };
    std::fs::create_dir_all(dir).map_err(|e| io("create the directory", e))?;
    let tmp = dir.join(format!("{ENGINE_FILE}.tmp"));
    std::fs::write(&tmp, format!("{}\n", engine.name()))
        .map_err(|e| io("write the ENGINE file", e))?;
    std::fs::rename(&tmp, dir.join(ENGINE_FILE)).map_err(|e| io("write the ENGINE file", e))
}

/// Whether `dir` looks like a database directory of some engine.
pub fn looks_like_engine_dir(dir: &Path) -> bool {
    dir.join(ENGINE_FILE).is_file() || has_sled_files(dir)
}

/// A background thread that calls `flush` every `every_ms` until the handle
/// is dropped (which wakes it at once and waits for it to finish), for the
/// engines that have no timed flush of their own.
pub(super) struct Flusher {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Flusher {
    #[cfg_attr(not(any(feature = "fjall", feature = "redb")), allow(dead_code))]
    pub(super) fn start(
        name: &str,
        every_ms: u64,
        flush: impl Fn() -> Result<(), EngineError> + Send + 'static,
    ) -> Result<Flusher, EngineError> {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let every = std::time::Duration::from_millis(every_ms.max(1));
        let thread = std::thread::Builder::new()
            .name(format!("kith-{name}-flush"))
            .spawn(move || loop {
                match stopped.recv_timeout(every) {
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                        // A failed flush is retried at the next tick; the
                        // next explicit flush reports it.
                        let _ = flush();
                    }
                    _ => return,
                }
            })
            .map_err(|e| EngineError::io("cannot start the flush thread", e))?;
        Ok(Flusher {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
