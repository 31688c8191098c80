//! Reads. They go straight to the engine and never take the writer lock;
//! the same code reads a transaction's own writes (see `Reader`).

use super::Db;
use crate::error::{ReadError, StorageError};
use crate::index::Index;
use crate::model::{Direction, EntityId, EntityKind, Neighbour, RelKind, Timestamp};
use crate::storage::Entity;
use crate::storage::{codec, keys, Bytes, Engine, Source};
use std::collections::BTreeMap;

/// One page of a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    /// The ids on this page, ascending.
    pub ids: Vec<EntityId>,
    /// Pass this as `after` to read the next page; `None` on the last page.
    pub next: Option<EntityId>,
}

/// Counts and size of a database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stats {
    /// Entities by kind name, without those merged into another.
    pub entities: BTreeMap<String, u64>,
    /// Entities merged into another, by kind name (the redirects a merge
    /// leaves so that their ids still lead to the survivor; only kinds
    /// with any).
    pub merged: BTreeMap<String, u64>,
    /// Relationships by kind name.
    pub relationships: BTreeMap<String, u64>,
    /// Bytes the database takes on disk.
    pub disk_bytes: u64,
}

fn malformed(k: &[u8], what: &str) -> StorageError {
    StorageError::Corrupt {
        key: keys::describe(k),
        reason: format!("malformed {what} key"),
    }
}

/// Every row whose key starts with `prefix`, in key order (or reverse).
pub(crate) fn scan_prefix<'a, S: Source>(
    src: &'a S,
    prefix: &[u8],
    rev: bool,
) -> Box<dyn Iterator<Item = Result<(Bytes, Bytes), crate::storage::EngineError>> + 'a> {
    let end = crate::storage::prefix_end(prefix);
    src.scan(prefix, end.as_deref(), rev)
}

fn dir_byte(d: Direction) -> u8 {
    match d {
        Direction::Out => keys::DIR_OUT,
        Direction::In => keys::DIR_IN,
    }
}

/// Methods that hand their arguments to [`Reader`]'s method of the same name.
macro_rules! delegate_to_reader {
    ($( $(#[$doc:meta])* fn $name:ident(&self $(, $arg:ident : $ty:ty)*) -> $ret:ty; )*) => {
        $( $(#[$doc])* pub fn $name(&self $(, $arg: $ty)*) -> $ret {
            self.reader().$name($($arg),*)
        } )*
    };
}
pub(crate) use delegate_to_reader;

/// The public read methods, delegating to [`Reader`]: `Db` reads the
/// committed state with them, and a transaction reads its own writes.
macro_rules! read_api {
    () => {
        $crate::db::read::delegate_to_reader! {
            /// The entity with `id`, or `None`.
            fn get(&self, id: EntityId) -> Result<Option<Entity>, ReadError>;
            /// The newest `n` interactions of a party, newest first, as
            /// `(when, interaction id)`. Reads only those `n` rows of its timeline.
            fn recent_interactions(&self, party: EntityId, n: usize) -> Result<Vec<(Timestamp, EntityId)>, ReadError>;
            /// A party's interactions with `from <= when < to`, oldest first, at most
            /// `limit`. Reads only the rows in the range.
            fn interactions_between(&self, party: EntityId, from: Timestamp, to: Timestamp, limit: usize) -> Result<Vec<(Timestamp, EntityId)>, ReadError>;
            /// Whether an entity with `id` exists.
            fn contains(&self, id: EntityId) -> Result<bool, ReadError>;
            /// The entities with these ids, in the same order (`None` where missing).
            fn get_many(&self, ids: &[EntityId]) -> Result<Vec<Option<Entity>>, ReadError>;
            /// The entity a cross-system identifier names, or `None`.
            fn lookup(&self, system: &str, key: &str) -> Result<Option<EntityId>, ReadError>;
            /// The entities whose indexed attribute normalizes to the same value as
            /// `value`, ascending by id. A value that cannot be normalized (an email
            /// without `@`) matches nothing.
            fn find(&self, index: Index, value: &str) -> Result<Vec<EntityId>, ReadError>;
            /// Like `find`, but stops after `limit` entities: the first
            /// `limit` by id. Cheap on values that many entities share, such as a
            /// common surname; `limit + 1` tells whether there are more than `limit`.
            fn find_at_most(&self, index: Index, value: &str, limit: usize) -> Result<Vec<EntityId>, ReadError>;
            /// The relationships of one kind at `id` in one direction, ordered by the
            /// id at the other end. One prefix scan.
            fn neighbours(&self, id: EntityId, kind: RelKind, direction: Direction) -> Result<Vec<Neighbour>, ReadError>;
            /// The ids at the other end of one kind of relationship, without properties.
            fn neighbour_ids(&self, id: EntityId, kind: RelKind, direction: Direction) -> Result<Vec<EntityId>, ReadError>;
            /// Every relationship at `id` in one direction, all kinds.
            fn edges(&self, id: EntityId, direction: Direction) -> Result<Vec<Neighbour>, ReadError>;
            /// One page of the entities of `kind`, ascending by id, starting after
            /// `after`. `limit` must be 1 to 100,000.
            fn list(&self, kind: EntityKind, after: Option<EntityId>, limit: usize) -> Result<Page, ReadError>;
        }
    };
}
pub(crate) use read_api;

/// The read operations, over the engine or over a transaction's overlay.
pub(crate) struct Reader<'a, S> {
    pub(crate) src: &'a S,
    pub(crate) country_code: &'a str,
}

#[allow(missing_docs)]
impl<S: Source> Reader<'_, S> {
    /// The entity with `id`, or `None`.
    pub fn get(&self, id: EntityId) -> Result<Option<Entity>, ReadError> {
        let key = keys::node(id.0);
        match self.src.get(&key).map_err(StorageError::from)? {
            Some(v) => Ok(Some(codec::decode_entity(&key, id, v)?)),
            None => Ok(None),
        }
    }

    /// The newest `n` interactions of a party, newest first, as
    /// `(when, interaction id)`. Reads only those `n` rows of its timeline.
    pub fn recent_interactions(
        &self,
        party: EntityId,
        n: usize,
    ) -> Result<Vec<(Timestamp, EntityId)>, ReadError> {
        let mut out = Vec::with_capacity(n.min(1024));
        let prefix = keys::timeline_prefix(party.0);
        for row in scan_prefix(self.src, &prefix, true).take(n) {
            let (k, _) = row.map_err(StorageError::from)?;
            let (_, t, i) = keys::parse_timeline(&k).ok_or_else(|| malformed(&k, "timeline"))?;
            out.push((Timestamp::from_micros(t), EntityId(i)));
        }
        Ok(out)
    }

    /// A party's interactions with `from <= when < to`, oldest first, at most
    /// `limit`. Reads only the rows in the range.
    pub fn interactions_between(
        &self,
        party: EntityId,
        from: Timestamp,
        to: Timestamp,
        limit: usize,
    ) -> Result<Vec<(Timestamp, EntityId)>, ReadError> {
        let lo = keys::timeline(party.0, from.as_micros(), 0);
        let hi = keys::timeline(party.0, to.as_micros(), 0);
        let mut out = Vec::new();
        for row in self.src.scan(&lo, Some(&hi), false).take(limit) {
            let (k, _) = row.map_err(StorageError::from)?;
            let (_, t, i) = keys::parse_timeline(&k).ok_or_else(|| malformed(&k, "timeline"))?;
            out.push((Timestamp::from_micros(t), EntityId(i)));
        }
        Ok(out)
    }

    /// Whether an entity with `id` exists.
    pub fn contains(&self, id: EntityId) -> Result<bool, ReadError> {
        Ok(self
            .src
            .get(&keys::node(id.0))
            .map_err(StorageError::from)?
            .is_some())
    }

    /// The entities with these ids, in the same order (`None` where missing).
    pub fn get_many(&self, ids: &[EntityId]) -> Result<Vec<Option<Entity>>, ReadError> {
        let keys: Vec<[u8; 9]> = ids.iter().map(|id| keys::node(id.0)).collect();
        let refs: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
        let rows = self.src.get_many(&refs).map_err(StorageError::from)?;
        ids.iter()
            .zip(&keys)
            .zip(rows)
            .map(|((id, key), v)| match v {
                Some(v) => Ok(Some(codec::decode_entity(key, *id, v)?)),
                None => Ok(None),
            })
            .collect()
    }

    /// The entity a cross-system identifier names, or `None`.
    pub fn lookup(&self, system: &str, key: &str) -> Result<Option<EntityId>, ReadError> {
        let k = keys::xref(system, key);
        match self.src.get(&k).map_err(StorageError::from)? {
            Some(v) => Ok(Some(EntityId(codec::decode_u64(&k, &v)?))),
            None => Ok(None),
        }
    }

    /// The entities whose indexed attribute normalizes to the same value as
    /// `value`, ascending by id. A value that cannot be normalized (an email
    /// without `@`) matches nothing.
    pub fn find(&self, index: Index, value: &str) -> Result<Vec<EntityId>, ReadError> {
        self.find_at_most(index, value, usize::MAX)
    }

    /// Like [`Db::find`], but stops after `limit` entities: the first
    /// `limit` by id. Cheap on values that many entities share, such as a
    /// common surname; `limit + 1` tells whether there are more than `limit`.
    pub fn find_at_most(
        &self,
        index: Index,
        value: &str,
        limit: usize,
    ) -> Result<Vec<EntityId>, ReadError> {
        let Some(norm) = index.normalize(value, self.country_code) else {
            return Ok(Vec::new());
        };
        let prefix = keys::idx_value_prefix(index.code(), norm.as_bytes());
        let mut out = Vec::new();
        for row in scan_prefix(self.src, &prefix, false).take(limit) {
            let (k, _) = row.map_err(StorageError::from)?;
            let (id, rest) =
                keys::take_u64(&k[prefix.len()..]).ok_or_else(|| malformed(&k, "index"))?;
            if !rest.is_empty() {
                return Err(malformed(&k, "index").into());
            }
            out.push(EntityId(id));
        }
        Ok(out)
    }

    /// The relationships of one kind at `id` in one direction, ordered by the
    /// id at the other end. One prefix scan.
    pub fn neighbours(
        &self,
        id: EntityId,
        kind: RelKind,
        direction: Direction,
    ) -> Result<Vec<Neighbour>, ReadError> {
        self.scan_adj(&keys::adj_kind_prefix(id.0, dir_byte(direction), kind.0))
    }

    /// The ids at the other end of one kind of relationship, without properties.
    pub fn neighbour_ids(
        &self,
        id: EntityId,
        kind: RelKind,
        direction: Direction,
    ) -> Result<Vec<EntityId>, ReadError> {
        let prefix = keys::adj_kind_prefix(id.0, dir_byte(direction), kind.0);
        let mut out = Vec::new();
        for row in scan_prefix(self.src, &prefix, false) {
            let (k, _) = row.map_err(StorageError::from)?;
            let a = keys::parse_adj(&k).ok_or_else(|| malformed(&k, "adjacency"))?;
            out.push(EntityId(a.other));
        }
        Ok(out)
    }

    /// Every relationship at `id` in one direction, all kinds.
    pub fn edges(&self, id: EntityId, direction: Direction) -> Result<Vec<Neighbour>, ReadError> {
        self.scan_adj(&keys::adj_dir_prefix(id.0, dir_byte(direction)))
    }

    fn scan_adj(&self, prefix: &[u8]) -> Result<Vec<Neighbour>, ReadError> {
        let mut out = Vec::new();
        for row in scan_prefix(self.src, prefix, false) {
            let (k, v) = row.map_err(StorageError::from)?;
            let a = keys::parse_adj(&k).ok_or_else(|| malformed(&k, "adjacency"))?;
            out.push(Neighbour {
                id: EntityId(a.other),
                kind: RelKind(a.kind),
                direction: if a.dir == keys::DIR_OUT {
                    Direction::Out
                } else {
                    Direction::In
                },
                props: codec::decode_edge(&k, &v)?,
            });
        }
        Ok(out)
    }

    /// One page of the entities of `kind`, ascending by id, starting after
    /// `after`. `limit` must be 1 to 100,000.
    pub fn list(
        &self,
        kind: EntityKind,
        after: Option<EntityId>,
        limit: usize,
    ) -> Result<Page, ReadError> {
        if limit == 0 || limit > 100_000 {
            return Err(ReadError::InvalidQuery(format!(
                "page size must be 1 to 100000, got {limit}"
            )));
        }
        let prefix = keys::kind_prefix(kind.0);
        let end = crate::storage::prefix_end(&prefix);
        let from = match after {
            // The first key after `after`'s own row.
            Some(a) => {
                let mut k = keys::kind(kind.0, a.0).to_vec();
                k.push(0);
                k
            }
            None => prefix.to_vec(),
        };
        let rows = self.src.scan(&from, end.as_deref(), false);
        let mut ids = Vec::with_capacity(limit.min(1024));
        let mut more = false;
        for row in rows {
            let (k, _) = row.map_err(StorageError::from)?;
            if ids.len() == limit {
                more = true;
                break;
            }
            let (_, id) = keys::parse_kind(&k).ok_or_else(|| malformed(&k, "kind listing"))?;
            ids.push(EntityId(id));
        }
        let next = if more { ids.last().copied() } else { None };
        Ok(Page { ids, next })
    }
}

impl Db {
    read_api!();

    /// Walks the stored bytes of entity `id` in place, validating them, and
    /// tells `visitor` what they hold, borrowed (nothing is copied). Returns
    /// whether the entity exists. The fastest way to turn a stored entity
    /// into another form (the wire's JSON is written this way).
    pub fn visit<V: for<'a> crate::model::EntityVisitor<'a>>(
        &self,
        id: EntityId,
        visitor: &mut V,
    ) -> Result<bool, ReadError> {
        let key = keys::node(id.0);
        let Some(v) = self.inner.engine.get(&key).map_err(StorageError::from)? else {
            return Ok(false);
        };
        codec::walk_entity(&v, visitor).map_err(|e| StorageError::Corrupt {
            key: keys::describe(&key),
            reason: e,
        })?;
        Ok(true)
    }

    /// A raw copy of the stored rows of `ids` in a temporary engine, for
    /// benchmarks that compare `get` with the engine alone (see `kith bench
    /// --baseline`).
    pub fn raw_baseline(&self, ids: &[EntityId]) -> Result<RawBaseline, ReadError> {
        let raw: Vec<u64> = ids.iter().map(|i| i.0).collect();
        let copy =
            crate::storage::RawCopy::build(&self.inner.engine, &raw).map_err(StorageError::from)?;
        Ok(RawBaseline { copy })
    }

    /// The engine under this database, read alone — the same store, the
    /// same keys, none of kith's decoding or validation: the floor `kith
    /// bench --baseline` measures `get`, `lookup` and `neighbours` against.
    pub fn raw_floor(&self) -> RawFloor {
        RawFloor {
            engine: self.inner.engine.clone(),
        }
    }

    /// Reads of the committed state.
    pub(crate) fn reader(&self) -> Reader<'_, Engine> {
        Reader {
            src: &self.inner.engine,
            country_code: &self.inner.country_code,
        }
    }

    /// How many relationships of `kind` the committed state holds (kept in
    /// memory: no read).
    pub(crate) fn relationship_count(&self, kind: RelKind) -> u64 {
        self.inner
            .counts
            .read()
            .get(&(keys::SPACE_REL, kind.0))
            .copied()
            .unwrap_or(0)
    }

    /// Entity and relationship counts by kind (every registered kind, zero
    /// included), and the size on disk. Reads kept counters: constant time.
    pub fn stats(&self) -> Result<Stats, ReadError> {
        let counts = self.inner.counts.read().clone();
        let count = |space, code| counts.get(&(space, code)).copied().unwrap_or(0);
        let kinds = self.entity_kinds();
        let merged: BTreeMap<String, u64> = kinds
            .iter()
            .map(|(k, n)| (n.clone(), count(keys::SPACE_MERGED, k.0)))
            .filter(|(_, m)| *m > 0)
            .collect();
        let entities = kinds
            .into_iter()
            .map(|(k, n)| {
                let live =
                    count(keys::SPACE_ENTITY, k.0).saturating_sub(count(keys::SPACE_MERGED, k.0));
                (n, live)
            })
            .collect();
        let relationships = self
            .relationship_kinds()
            .into_iter()
            .map(|(k, n)| (n, count(keys::SPACE_REL, k.0)))
            .collect();
        Ok(Stats {
            entities,
            merged,
            relationships,
            disk_bytes: self.disk_bytes()?,
        })
    }

    /// Reads the whole store once, so that its pages sit in the page cache
    /// before the first request needs them (up to the configured
    /// `cache_bytes`; past it the engine evicts what it read first). A
    /// service calls it after opening and before taking traffic: on a store
    /// just opened every first touch of a page is a read from disk, which is
    /// most of what a lookup or a resolution costs until the cache is warm.
    /// Takes time in proportion to the store's size.
    pub fn prewarm(&self) -> Result<Prewarmed, ReadError> {
        let start = std::time::Instant::now();
        let (mut pairs, mut bytes) = (0, 0);
        for row in self.inner.engine.scan_prefix(&[]) {
            let (k, v) = row.map_err(StorageError::from)?;
            pairs += 1;
            bytes += (k.len() + v.len()) as u64;
        }
        Ok(Prewarmed {
            pairs,
            bytes,
            elapsed: start.elapsed(),
        })
    }

    /// Bytes the database takes on disk (0 for a temporary database).
    pub fn disk_bytes(&self) -> Result<u64, ReadError> {
        match &self.inner.path {
            Some(p) => Ok(dir_size(p)),
            None => Ok(self
                .inner
                .engine
                .size_on_disk()
                .map_err(StorageError::from)?),
        }
    }
}

fn dir_size(path: &std::path::Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![path.to_path_buf()];
    while let Some(p) = stack.pop() {
        if let Ok(rd) = std::fs::read_dir(&p) {
            for e in rd.flatten() {
                match e.metadata() {
                    Ok(m) if m.is_dir() => stack.push(e.path()),
                    Ok(m) => total += m.len(),
                    Err(_) => {}
                }
            }
        }
    }
    total
}

/// What [`Db::prewarm`] read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Prewarmed {
    /// Stored key-value pairs read (entities, relationships, index rows).
    pub pairs: u64,
    /// Their bytes, keys and values.
    pub bytes: u64,
    /// How long it took.
    pub elapsed: std::time::Duration,
}

impl std::fmt::Display for Prewarmed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} pairs, {:.1} MB in {:.1} s",
            self.pairs,
            self.bytes as f64 / 1e6,
            self.elapsed.as_secs_f64()
        )
    }
}

/// The engine of a live database read alone ([`Db::raw_floor`]): each
/// method does the engine reads of one kith read and returns the bytes read.
pub struct RawFloor {
    engine: Engine,
}

impl RawFloor {
    /// The engine read of [`Db::get`]: the entity's row.
    pub fn get_len(&self, id: EntityId) -> Result<usize, ReadError> {
        let v = self.engine.get(&keys::node(id.0));
        Ok(v.map_err(StorageError::from)?.map_or(0, |v| v.len()))
    }

    /// The engine read of [`Db::lookup`]: the identifier's row.
    pub fn lookup_len(&self, system: &str, key: &str) -> Result<usize, ReadError> {
        let v = self.engine.get(&keys::xref(system, key));
        Ok(v.map_err(StorageError::from)?.map_or(0, |v| v.len()))
    }

    /// The engine reads of [`Db::neighbours`]: a prefix scan of one node's
    /// relationships of one kind in one direction.
    pub fn neighbours_len(
        &self,
        id: EntityId,
        kind: RelKind,
        direction: Direction,
    ) -> Result<usize, ReadError> {
        let mut n = 0;
        for row in
            self.engine
                .scan_prefix(&keys::adj_kind_prefix(id.0, dir_byte(direction), kind.0))
        {
            let (k, v) = row.map_err(StorageError::from)?;
            n += k.len() + v.len();
        }
        Ok(n)
    }
}

/// The engine alone, holding a copy of some entities' stored rows: what a
/// `get` costs without kith's decoding and validation.
pub struct RawBaseline {
    copy: crate::storage::RawCopy,
}

impl RawBaseline {
    /// Reads the raw row of `id`; returns its length (0 when absent).
    pub fn get_len(&self, id: EntityId) -> Result<usize, ReadError> {
        Ok(self
            .copy
            .get(id.0)
            .map_err(StorageError::from)?
            .map_or(0, |v| v.len()))
    }
}
