//! The public database handle: opening, options, the kind registry.

pub(crate) mod changes;
mod check;
mod commit;
mod copy;
mod format;
pub(crate) mod generations;
mod read;
#[cfg(feature = "rules")]
mod rule_rows;
mod search;
mod tx;
pub(crate) mod views;
mod write;

pub use check::{CheckReport, Violation};
pub use commit::Commit;
#[cfg(feature = "import")]
pub(crate) use copy::COPYING_FILE;
pub use copy::{CopyError, CopyReport};
pub(crate) use read::scan_prefix;
pub use read::{Page, Prewarmed, RawBaseline, RawFloor, Stats};
pub use search::{NameMatch, NameSearch};
pub use tx::Transaction;
pub use write::{Committed, WriteSet};

use crate::error::{OpenError, StorageError, WriteError};
use crate::model::{EntityKind, RelKind, BUILTIN_ENTITY_KINDS, BUILTIN_REL_KINDS};
use crate::storage::{Engine, EngineConfig, EngineError};
use parking_lot::{Mutex, RwLock};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

/// When a write becomes durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// Every write is flushed to disk before the call returns. A crash loses
    /// nothing that was acknowledged. Concurrent writers share flushes.
    Immediate,
    /// Writes are flushed in the background every `every_ms` milliseconds. A
    /// crash loses at most the writes of the last window (never part of one
    /// write). [`Db::flush`] forces a flush.
    Background {
        /// The flush interval.
        every_ms: u64,
    },
}

/// Options for opening a database. Start with [`Db::builder`].
#[derive(Clone, Debug)]
pub struct DbBuilder {
    path: Option<PathBuf>,
    cache_bytes: u64,
    durability: Durability,
    country_code: String,
    /// How many derived views (customer contexts) to cache.
    pub(crate) view_cache: usize,
    /// Options of the derived views, set by the layer that builds them.
    pub(crate) view_options: Option<views::View>,
    retention: crate::db::changes::Retention,
    change_log: bool,
    upgrade: bool,
    run_rules: bool,
    engine: Option<crate::StorageEngine>,
    memory: bool,
}

impl DbBuilder {
    /// A temporary database whose rows are held in an ordered map in
    /// memory, not in an engine's temporary files: what the bulk load
    /// resolves into before it writes the result out in order.
    #[cfg_attr(not(feature = "import"), allow(dead_code))]
    pub(crate) fn in_memory(mut self) -> DbBuilder {
        self.path = None;
        self.memory = true;
        self
    }

    /// The storage engine of a new database (default: sled). An existing
    /// database is always opened with the engine it was created with, found
    /// from its directory; naming another one is
    /// [`OpenError::WrongEngine`].
    pub fn engine(mut self, engine: crate::StorageEngine) -> DbBuilder {
        self.engine = Some(engine);
        self
    }

    /// Migrate a database of an older format to the current one on open
    /// (default `false`: an older database is refused with
    /// [`OpenError::OlderFormat`] and left untouched, so that a read never
    /// rewrites it). `kith upgrade` opens with this set. Each migration step
    /// writes in bounded batches and changes the format last; a crash
    /// part-way leaves the old format, and the next upgrade runs again.
    pub fn upgrade(mut self, upgrade: bool) -> DbBuilder {
        self.upgrade = upgrade;
        self
    }

    /// Whether commits write the change log (default `true`). Off, commits
    /// write only their data: followers and consumer groups see nothing of
    /// them (the log does not say that it missed them), so turn it off only
    /// for a bulk load nobody follows, or to measure what the log costs.
    pub fn change_log(mut self, on: bool) -> DbBuilder {
        self.change_log = on;
        self
    }

    /// Whether this handle runs the stored interaction rules (default
    /// `true`; they also need the change log). Off, the rules stay stored
    /// and their position holds: the next handle that runs them evaluates
    /// what was committed meanwhile.
    pub fn run_rules(mut self, on: bool) -> DbBuilder {
        self.run_rules = on;
        self
    }

    /// How much of the change log to keep (default: 1,000,000 changes and
    /// 7 days, whichever is smaller).
    pub fn retention(mut self, retention: crate::db::changes::Retention) -> DbBuilder {
        self.retention = retention;
        self
    }

    /// The directory of the database (created if missing).
    pub fn path(mut self, path: impl AsRef<Path>) -> DbBuilder {
        self.path = Some(path.as_ref().to_path_buf());
        self
    }

    /// A temporary database, removed when the last handle is dropped.
    pub fn temporary(mut self) -> DbBuilder {
        self.path = None;
        self
    }

    /// The cache budget in bytes (default 512 MiB): sled's page cache,
    /// fjall's block cache or redb's page cache.
    pub fn cache_bytes(mut self, bytes: u64) -> DbBuilder {
        self.cache_bytes = bytes;
        self
    }

    /// When writes become durable (default [`Durability::Immediate`]).
    pub fn durability(mut self, durability: Durability) -> DbBuilder {
        self.durability = durability;
        self
    }

    /// The country calling code given to phone numbers written without one
    /// (default `1`). It is recorded when the database is created; an existing
    /// database keeps the code it was created with, so that its phone index
    /// stays consistent.
    pub fn default_country_code(mut self, code: impl Into<String>) -> DbBuilder {
        self.country_code = code.into();
        self
    }

    /// Opens the database, creating it if the directory is missing or empty.
    pub fn open(self) -> Result<Db, OpenError> {
        Db::open_with(self)
    }
}

/// Names of kinds, both spaces, loaded from the database.
#[derive(Default, Clone)]
pub(crate) struct Registry {
    pub(crate) entity: BTreeMap<u16, String>,
    pub(crate) rel: BTreeMap<u16, String>,
    pub(crate) entity_by_name: HashMap<String, u16>,
    pub(crate) rel_by_name: HashMap<String, u16>,
}

impl Registry {
    pub(crate) fn builtin() -> Registry {
        let mut r = Registry::default();
        for (c, n) in BUILTIN_ENTITY_KINDS {
            r.insert(crate::storage::keys::SPACE_ENTITY, *c, n);
        }
        for (c, n) in BUILTIN_REL_KINDS {
            r.insert(crate::storage::keys::SPACE_REL, *c, n);
        }
        r
    }

    pub(crate) fn insert(&mut self, space: u8, code: u16, name: &str) {
        if space == crate::storage::keys::SPACE_ENTITY {
            self.entity.insert(code, name.to_string());
            self.entity_by_name.insert(name.to_string(), code);
        } else {
            self.rel.insert(code, name.to_string());
            self.rel_by_name.insert(name.to_string(), code);
        }
    }
}

pub(crate) struct Inner {
    pub(crate) engine: Engine,
    /// Serializes writes: each builds its batch from a consistent read.
    pub(crate) writer: Mutex<()>,
    /// Entities and relationships by `(space, kind code)`; changed only under `writer`.
    pub(crate) counts: RwLock<BTreeMap<(u8, u16), u64>>,
    /// The next entity id to give out.
    pub(crate) next_id: AtomicU64,
    pub(crate) registry: RwLock<Registry>,
    pub(crate) durability: Durability,
    pub(crate) country_code: String,
    pub(crate) path: Option<PathBuf>,
    /// Views derived from stored entities (customer contexts), dropped by
    /// the commits that touch what they read.
    pub(crate) views: views::ViewCache,
    /// Encoded replies of the layer above (the wire protocol's), keyed by
    /// the layer's own `(kind of reply, entity)`, bounded in bytes; made
    /// when a server asks for one (`Db::reply_cache`).
    pub(crate) replies: std::sync::OnceLock<views::ViewCache<(u8, crate::model::EntityId)>>,
    /// Their options, as the layer that builds them set them.
    pub(crate) view_options: Option<views::View>,
    /// The change log's positions and its followers.
    pub(crate) feed: crate::db::changes::FeedState,
    /// The last change made durable by a flush (group commit).
    pub(crate) flushed: Mutex<u64>,
    /// Commits applied so far (this handle's count; group commit flushes up to one).
    pub(crate) commits: AtomicU64,
    /// Whether commits write the change log (see [`DbBuilder::change_log`]).
    pub(crate) change_log: bool,
    /// Whether this handle runs the interaction rules.
    #[cfg_attr(not(feature = "rules"), allow(dead_code))]
    pub(crate) run_rules: bool,
    /// The format this handle migrated the database from, if it did.
    pub(crate) migrated_from: Option<u32>,
    /// Serializes changes to consumer groups.
    pub(crate) groups: Mutex<()>,
    /// Tells the background trimmer to stop.
    pub(crate) closing: std::sync::atomic::AtomicBool,
    /// The change-log sequence number the trimmer must not pass: the
    /// interaction rules' position (`u64::MAX`: no rules running).
    pub(crate) trim_hold: AtomicU64,
    /// How many `check()`s are reading the store: the trimmer waits while
    /// any is (a check reads the change log row after row, and a trim
    /// under it would look like a gap).
    pub(crate) checks: std::sync::atomic::AtomicUsize,
    /// The records of each blocking key (sorted ids), as committed: filled
    /// by the transactions that read a block whole, kept exact by the
    /// commits that change one (see `Transaction::block_members`).
    pub(crate) blocks: Mutex<tx::HeldBlocks>,
    /// Identity resolution's comparisons of record pairs, kept while the
    /// two records are unchanged (see `resolve::settle`).
    pub(crate) pair_memo: Mutex<crate::resolve::PairMemo>,
    /// The interaction rules and their thread, loaded on first use.
    #[cfg(feature = "rules")]
    pub(crate) rules: std::sync::OnceLock<Arc<crate::rules::Engine>>,
    /// Serializes loading the rules.
    #[cfg(feature = "rules")]
    pub(crate) rules_init: Mutex<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.closing
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A kith database. Cheap to clone; clones share one store and may be used
/// from many threads at once. Reads never block each other; writes are
/// serialized.
#[derive(Clone)]
pub struct Db {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("path", &self.inner.path)
            .field("durability", &self.inner.durability)
            .finish()
    }
}

impl Db {
    /// Options for opening a database.
    pub fn builder() -> DbBuilder {
        DbBuilder {
            path: None,
            cache_bytes: 512 << 20,
            durability: Durability::Immediate,
            country_code: "1".to_string(),
            view_cache: 10_000,
            view_options: None,
            retention: crate::db::changes::Retention::default(),
            change_log: true,
            upgrade: false,
            run_rules: true,
            engine: None,
            memory: false,
        }
    }

    /// Opens (or creates) the database at `path` with default options.
    pub fn open(path: impl AsRef<Path>) -> Result<Db, OpenError> {
        Db::builder().path(path).open()
    }

    /// A temporary database with default options, for tests.
    pub fn temporary() -> Result<Db, OpenError> {
        Db::builder().temporary().open()
    }

    fn open_with(b: DbBuilder) -> Result<Db, OpenError> {
        if b.country_code.is_empty()
            || b.country_code.len() > 3
            || !b.country_code.bytes().all(|c| c.is_ascii_digit())
        {
            return Err(OpenError::InvalidOption(format!(
                "default country code must be 1 to 3 digits, got {:?}",
                b.country_code
            )));
        }
        if let Durability::Background { every_ms } = b.durability {
            if every_ms == 0 {
                return Err(OpenError::InvalidOption(
                    "background flush interval must be at least 1 ms".into(),
                ));
            }
        }
        let mut engine_kind = b.engine.unwrap_or_default();
        if let Some(path) = &b.path {
            format::check_directory(path)?;
            let found = crate::storage::detect(path).map_err(|e| OpenError::Storage(e.into()))?;
            match (found, b.engine) {
                (Some(found), Some(requested)) if found != requested => {
                    return Err(OpenError::WrongEngine {
                        path: path.clone(),
                        found,
                        requested,
                    })
                }
                (Some(found), _) => engine_kind = found,
                (None, _) => {}
            }
        }
        // A handle closed a moment ago (in this process or another) may hold
        // the file lock until its background flusher notices: wait up to a
        // second before calling the database locked.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
        let engine = loop {
            let attempt = Engine::open(EngineConfig {
                engine: engine_kind,
                path: b.path.as_deref(),
                cache_bytes: b.cache_bytes,
                flush_every_ms: match b.durability {
                    Durability::Immediate => None,
                    Durability::Background { every_ms } => Some(every_ms),
                },
                memory: b.memory && b.path.is_none(),
            });
            match attempt {
                Ok(e) => break e,
                Err(EngineError::Locked(_)) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(25));
                }
                Err(EngineError::Locked(_)) => {
                    return Err(OpenError::Locked {
                        path: b.path.clone().unwrap_or_default(),
                    })
                }
                Err(other) => return Err(OpenError::Storage(other.into())),
            }
        };
        let opened =
            format::open_or_create(&engine, b.path.as_deref(), &b.country_code, b.upgrade)?;
        let (last, trimmed) = crate::db::changes::log::positions(&engine)?;
        let db = Db {
            inner: Arc::new(Inner {
                engine,
                writer: Mutex::new(()),
                next_id: AtomicU64::new(opened.next_id),
                counts: RwLock::new(opened.counts),
                registry: RwLock::new(opened.registry),
                durability: b.durability,
                country_code: opened.country_code,
                path: b.path,
                views: views::ViewCache::new(b.view_cache as u64),
                replies: std::sync::OnceLock::new(),
                view_options: b.view_options,
                feed: crate::db::changes::FeedState::new(last, trimmed, b.retention),
                flushed: Mutex::new(0),
                commits: AtomicU64::new(0),
                change_log: b.change_log,
                run_rules: b.run_rules,
                migrated_from: opened.migrated_from,
                groups: Mutex::new(()),
                closing: std::sync::atomic::AtomicBool::new(false),
                trim_hold: AtomicU64::new(u64::MAX),
                checks: std::sync::atomic::AtomicUsize::new(0),
                blocks: Mutex::new(tx::HeldBlocks::default()),
                pair_memo: Mutex::new(crate::resolve::PairMemo::default()),
                #[cfg(feature = "rules")]
                rules: std::sync::OnceLock::new(),
                #[cfg(feature = "rules")]
                rules_init: Mutex::new(()),
            }),
        };
        db.start_trimmer();
        // Stored rules run wherever the database is open with its change
        // log. A stored rule that no longer loads keeps them from running;
        // `Db::rules` reports why.
        #[cfg(feature = "rules")]
        let _ = db.start_rules_if_any();
        Ok(db)
    }

    /// Trims the change log about once a second, in the background, while
    /// any handle is open.
    fn start_trimmer(&self) {
        let weak = Arc::downgrade(&self.inner);
        let _ = std::thread::Builder::new()
            .name("kith-trim".into())
            .spawn(move || loop {
                for _ in 0..10 {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    match weak.upgrade() {
                        Some(inner) if !inner.closing.load(std::sync::atomic::Ordering::SeqCst) => {
                        }
                        _ => return,
                    }
                }
                let Some(inner) = weak.upgrade() else { return };
                let db = Db { inner };
                let _ = db.changes().trim(10_000);
            });
    }

    /// The directory of the database (`None` for a temporary one).
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// The format this handle migrated the database from when it opened it
    /// (`None`: it was current). See [`DbBuilder::upgrade`].
    pub fn migrated_from(&self) -> Option<u32> {
        self.inner.migrated_from
    }

    /// The format this build writes.
    pub fn format_version() -> u32 {
        format::CURRENT_FORMAT
    }

    /// The durability mode this handle was opened with.
    pub fn durability(&self) -> Durability {
        self.inner.durability
    }

    /// The storage engine the database is kept in.
    pub fn engine(&self) -> crate::StorageEngine {
        self.inner.engine.engine()
    }

    /// The default country calling code of the phone index.
    pub fn default_country_code(&self) -> &str {
        &self.inner.country_code
    }

    /// The cache of encoded replies of the layer above (the wire
    /// protocol's), made with room for `bytes` the first time it is asked
    /// for; later asks get the same cache. Every commit invalidates what it
    /// touched, before it returns.
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) fn reply_cache(
        &self,
        bytes: u64,
    ) -> &views::ViewCache<(u8, crate::model::EntityId)> {
        self.inner
            .replies
            .get_or_init(|| views::ViewCache::keeping_dropped(bytes))
    }

    /// Makes every write so far durable.
    pub fn flush(&self) -> Result<(), StorageError> {
        self.inner.engine.flush().map_err(Into::into)
    }

    /// The entity kind called `name` (built-in or registered).
    pub fn entity_kind(&self, name: &str) -> Option<EntityKind> {
        self.inner
            .registry
            .read()
            .entity_by_name
            .get(name)
            .map(|c| EntityKind(*c))
    }

    /// The relationship kind called `name` (built-in or registered).
    pub fn relationship_kind(&self, name: &str) -> Option<RelKind> {
        self.inner
            .registry
            .read()
            .rel_by_name
            .get(name)
            .map(|c| RelKind(*c))
    }

    /// The name of an entity kind, if registered.
    pub fn entity_kind_name(&self, kind: EntityKind) -> Option<String> {
        self.inner.registry.read().entity.get(&kind.0).cloned()
    }

    /// The name of a relationship kind, if registered.
    pub fn relationship_kind_name(&self, kind: RelKind) -> Option<String> {
        self.inner.registry.read().rel.get(&kind.0).cloned()
    }

    /// Every registered entity kind with its name.
    pub fn entity_kinds(&self) -> Vec<(EntityKind, String)> {
        let r = self.inner.registry.read();
        r.entity
            .iter()
            .map(|(c, n)| (EntityKind(*c), n.clone()))
            .collect()
    }

    /// Every registered relationship kind with its name.
    pub fn relationship_kinds(&self) -> Vec<(RelKind, String)> {
        let r = self.inner.registry.read();
        r.rel
            .iter()
            .map(|(c, n)| (RelKind(*c), n.clone()))
            .collect()
    }

    /// Registers a user-defined entity kind (lower-case letters, digits, `_`),
    /// or returns the existing kind of that name.
    pub fn register_entity_kind(&self, name: &str) -> Result<EntityKind, WriteError> {
        self.register(crate::storage::keys::SPACE_ENTITY, name)
            .map(EntityKind)
    }

    /// Registers a user-defined relationship kind (upper-case letters, digits,
    /// `_`), or returns the existing kind of that name.
    pub fn register_relationship_kind(&self, name: &str) -> Result<RelKind, WriteError> {
        self.register(crate::storage::keys::SPACE_REL, name)
            .map(RelKind)
    }
}
