//! fjall 3: an LSM tree. Its files live under `fjall/` in the database
//! directory, in one keyspace (`kith`). fjall has no timed fsync of its
//! own: a [`Flusher`] persists its journal every `flush_every_ms`.

use super::{
    directed, Bytes, EngineConfig, EngineError, Flusher, Repr, Rows, StorageEngine, Store,
    WriteBatch,
};
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};

fn map_err(e: ::fjall::Error) -> EngineError {
    match e {
        ::fjall::Error::Locked => {
            EngineError::Locked("the fjall database is locked by another handle".into())
        }
        ::fjall::Error::Io(io) => EngineError::io(format!("fjall: {io}"), io),
        e @ (::fjall::Error::JournalRecovery(_)
        | ::fjall::Error::InvalidTrailer
        | ::fjall::Error::InvalidTag(_)
        | ::fjall::Error::Decompress(_)
        | ::fjall::Error::Unrecoverable) => {
            EngineError::Corrupt(format!("fjall reports damaged files: {e:?}"))
        }
        other => EngineError::other(format!("fjall: {other:?}")),
    }
}

fn bytes(v: ::fjall::Slice) -> Bytes {
    Bytes(Repr::Fjall(v))
}

/// A fjall database with kith's one keyspace.
pub(super) struct FjallStore {
    // Dropped first: the flusher holds a clone of the database.
    _flusher: Option<Flusher>,
    keyspace: ::fjall::Keyspace,
    db: ::fjall::Database,
}

impl FjallStore {
    pub(super) fn open(config: &EngineConfig<'_>) -> Result<FjallStore, EngineError> {
        static TEMPORARY: AtomicU64 = AtomicU64::new(0);
        let (path, temporary) = match config.path {
            Some(p) => (p.join("fjall"), false),
            None => (
                std::env::temp_dir().join(format!(
                    "kith-fjall-{}-{}",
                    std::process::id(),
                    TEMPORARY.fetch_add(1, Ordering::Relaxed)
                )),
                true,
            ),
        };
        let db = ::fjall::Database::builder(&path)
            .cache_size(config.cache_bytes)
            .temporary(temporary)
            .open()
            .map_err(map_err)?;
        let keyspace = db
            .keyspace("kith", || {
                // Index and filter blocks of every level stay in memory
                // (fjall pins only the upper levels by default): a point
                // read then touches one data block. Measured in
                // docs/engines.md ("What each setting is").
                ::fjall::KeyspaceCreateOptions::default()
                    .index_block_pinning_policy(::fjall::config::PinningPolicy::all(true))
                    .filter_block_pinning_policy(::fjall::config::PinningPolicy::all(true))
            })
            .map_err(map_err)?;
        let flusher = match config.flush_every_ms {
            Some(ms) => {
                let d = db.clone();
                Some(Flusher::start("fjall", ms, move || {
                    d.persist(::fjall::PersistMode::SyncData).map_err(map_err)
                })?)
            }
            None => None,
        };
        Ok(FjallStore {
            _flusher: flusher,
            keyspace,
            db,
        })
    }
}

impl Store for FjallStore {
    fn engine(&self) -> StorageEngine {
        StorageEngine::Fjall
    }

    #[inline]
    fn get(&self, key: &[u8]) -> Result<Option<Bytes>, EngineError> {
        self.keyspace
            .get(key)
            .map(|v| v.map(bytes))
            .map_err(map_err)
    }

    fn contains(&self, key: &[u8]) -> Result<bool, EngineError> {
        self.keyspace.contains_key(key).map_err(map_err)
    }

    fn scan(&self, from: &[u8], to: Option<&[u8]>, rev: bool) -> Rows {
        if let Some(t) = to {
            if t <= from {
                return Box::new(std::iter::empty());
            }
        }
        let range = (
            Bound::Included(from.to_vec()),
            match to {
                Some(t) => Bound::Excluded(t.to_vec()),
                None => Bound::Unbounded,
            },
        );
        let it = self.keyspace.range::<Vec<u8>, _>(range);
        let map = |g: ::fjall::Guard| {
            g.into_inner()
                .map(|(k, v)| (bytes(k), bytes(v)))
                .map_err(map_err)
        };
        directed(it, rev, map)
    }

    fn apply(&self, batch: WriteBatch) -> Result<(), EngineError> {
        let mut b = self.db.batch();
        for (k, v) in batch.into_ops() {
            match v {
                Some(v) => b.insert(&self.keyspace, k, v),
                None => b.remove(&self.keyspace, k),
            }
        }
        b.commit().map_err(map_err)
    }

    fn flush(&self) -> Result<(), EngineError> {
        self.db
            .persist(::fjall::PersistMode::SyncAll)
            .map_err(map_err)
    }

    fn is_empty(&self) -> Result<bool, EngineError> {
        self.keyspace.is_empty().map_err(map_err)
    }

    fn size_on_disk(&self) -> Result<u64, EngineError> {
        self.db.disk_space().map_err(map_err)
    }
}
