//! Bounded caches of views derived from stored entities (the customer
//! context is one; the wire protocol's encoded replies are another),
//! invalidated by commits.
//!
//! Each cached view records every entity it was built from. Every commit's
//! change set names the entities whose rows it changed; every view built
//! from one of them is dropped. A view assembled while a commit invalidated
//! its shard is not cached (the shard's commit epoch is compared before
//! inserting), so a reader can never cache a view older than a commit that
//! already invalidated it. The
//! cache knows nothing of what a view is: the layer above stores its own
//! type and reads it back.

use crate::model::EntityId;
use parking_lot::Mutex;
use std::any::Any;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A cached view: any type of the layer above.
pub(crate) type View = Arc<dyn Any + Send + Sync>;

struct Entry {
    view: View,
    reads: Vec<EntityId>,
    /// Whether the view also read the relationships of the entities it was
    /// built from (a context does; an entity's own JSON does not).
    deep: bool,
    stamp: u64,
    weight: u64,
}

struct Inner<K> {
    entries: HashMap<K, Entry>,
    /// entity -> views built from it.
    dependents: HashMap<EntityId, HashSet<K>>,
    /// Insertion / use order, for eviction (entries may be stale; the stamp tells).
    order: VecDeque<(K, u64)>,
    stamp: u64,
    /// Sum of the entries' weights.
    weight: u64,
    /// Moves on every commit's invalidation of this shard.
    epoch: u64,
}

/// What a cache did since it was made.
#[cfg_attr(not(feature = "server"), allow(dead_code))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CacheStats {
    pub(crate) hits: u64,
    pub(crate) misses: u64,
    pub(crate) evictions: u64,
    pub(crate) invalidations: u64,
    pub(crate) entries: u64,
    pub(crate) weight: u64,
}

/// A cache of views keyed by `K`, holding at most `capacity` of weight
/// (each view weighs what its inserter says: 1 for a count, its bytes for
/// a byte bound), in shards so that readers on different keys rarely meet
/// on one lock. Eviction is second-chance in insertion order: a view read
/// since it was last considered goes to the back instead of out.
pub(crate) struct ViewCache<K = EntityId> {
    capacity: u64,
    shards: Vec<Mutex<Inner<K>>>,
    hasher: std::collections::hash_map::RandomState,
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
    invalidations: AtomicU64,
    /// Keys a commit dropped, for a layer above that renders them again
    /// off the readers' path ([`ViewCache::take_dropped`]); `None`: not kept.
    dropped: Option<Mutex<Vec<K>>>,
}

/// Most dropped keys kept for re-rendering; past it, readers rebuild.
const DROPPED_KEPT: usize = 4_096;

/// Shards of a cache (a power of two).
const SHARDS: usize = 16;

impl<K: Hash + Eq + Copy> ViewCache<K> {
    pub(crate) fn new(capacity: u64) -> ViewCache<K> {
        Self::build(capacity, false)
    }

    /// A cache that also remembers the keys commits drop (up to
    /// [`DROPPED_KEPT`]), for [`ViewCache::take_dropped`].
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) fn keeping_dropped(capacity: u64) -> ViewCache<K> {
        Self::build(capacity, true)
    }

    fn build(capacity: u64, keep_dropped: bool) -> ViewCache<K> {
        ViewCache {
            capacity,
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Inner {
                        entries: HashMap::new(),
                        dependents: HashMap::new(),
                        order: VecDeque::new(),
                        stamp: 0,
                        weight: 0,
                        epoch: 0,
                    })
                })
                .collect(),
            hasher: std::collections::hash_map::RandomState::new(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
            invalidations: AtomicU64::new(0),
            dropped: keep_dropped.then(|| Mutex::new(Vec::new())),
        }
    }

    /// The keys commits dropped since the last call (at most
    /// [`DROPPED_KEPT`]; more were left to the readers to rebuild).
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) fn take_dropped(&self) -> Vec<K> {
        match &self.dropped {
            Some(d) => std::mem::take(&mut *d.lock()),
            None => Vec::new(),
        }
    }

    fn shard(&self, key: &K) -> &Mutex<Inner<K>> {
        use std::hash::BuildHasher;
        &self.shards[self.hasher.hash_one(key) as usize & (SHARDS - 1)]
    }

    /// Each shard's share of the capacity (at least 1 when there is any).
    fn shard_capacity(&self) -> u64 {
        if self.capacity == 0 {
            0
        } else {
            (self.capacity / SHARDS as u64).max(1)
        }
    }

    /// The write epoch of `key`'s shard, read before assembling its view.
    pub(crate) fn epoch(&self, key: K) -> u64 {
        self.shard(&key).lock().epoch
    }

    pub(crate) fn get(&self, key: K) -> Option<View> {
        if self.capacity == 0 {
            return None;
        }
        let mut g = self.shard(&key).lock();
        let inner = &mut *g;
        inner.stamp += 1;
        let stamp = inner.stamp;
        let Some(e) = inner.entries.get_mut(&key) else {
            drop(g);
            self.misses.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        e.stamp = stamp;
        let view = e.view.clone();
        drop(g);
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(view)
    }

    /// Caches `view` (weighing `weight`), built from the entities `reads`,
    /// unless a commit happened since `epoch` was read or it alone weighs
    /// more than its shard may hold.
    pub(crate) fn insert_if_unchanged(
        &self,
        key: K,
        view: View,
        reads: Vec<EntityId>,
        deep: bool,
        epoch: u64,
        weight: u64,
    ) {
        let capacity = self.shard_capacity();
        if capacity == 0 || weight > capacity {
            return;
        }
        let mut g = self.shard(&key).lock();
        if g.epoch != epoch {
            return;
        }
        let inner = &mut *g;
        Self::remove(inner, key);
        inner.stamp += 1;
        let stamp = inner.stamp;
        for dep in &reads {
            inner.dependents.entry(*dep).or_default().insert(key);
        }
        inner.entries.insert(
            key,
            Entry {
                view,
                reads,
                deep,
                stamp,
                weight,
            },
        );
        inner.weight += weight;
        inner.order.push_back((key, stamp));
        while inner.weight > capacity {
            let Some((victim, s)) = inner.order.pop_front() else {
                break;
            };
            match inner.entries.get(&victim).map(|e| e.stamp) {
                Some(now) if now == s => {
                    Self::remove(inner, victim);
                    self.evictions.fetch_add(1, Ordering::Relaxed);
                }
                // Read since: a second chance at the back.
                Some(now) => inner.order.push_back((victim, now)),
                None => {}
            }
        }
        if inner.order.len() > 2 * inner.entries.len() + 16 {
            let entries = &inner.entries;
            inner.order.retain(|(k, _)| entries.contains_key(k));
        }
    }

    fn remove(inner: &mut Inner<K>, key: K) -> bool {
        let Some(e) = inner.entries.remove(&key) else {
            return false;
        };
        inner.weight -= e.weight;
        for dep in &e.reads {
            if let Some(set) = inner.dependents.get_mut(dep) {
                set.remove(&key);
                if set.is_empty() {
                    inner.dependents.remove(dep);
                }
            }
        }
        true
    }

    /// Called after every commit with the entities it touched (`touched`:
    /// rows or relationships changed) and those whose own row it wrote or
    /// deleted (`written`): a view is dropped when an entity it was built
    /// from was written, or touched and the view is deep. One shard
    /// at a time: a view lives in its key's shard with the entities it was
    /// built from, so moving that shard's epoch under its lock is enough —
    /// an insert that read the epoch before the commit is refused, and one
    /// that lands before the shard's turn is dropped in it. Readers of the
    /// other fifteen shards never wait for a commit.
    pub(crate) fn invalidate(&self, touched: &BTreeSet<EntityId>, written: &BTreeSet<EntityId>) {
        for shard in &self.shards {
            let mut g = shard.lock();
            let inner = &mut *g;
            inner.epoch += 1;
            let mut removed = Vec::new();
            for t in touched.iter().chain(written.difference(touched)) {
                let Some(set) = inner.dependents.get(t) else {
                    continue;
                };
                // A view of an entity's own row stays when only the
                // entity's relationships changed.
                let row = written.contains(t);
                let stale: Vec<K> = set
                    .iter()
                    .filter(|k| row || inner.entries.get(k).is_some_and(|e| e.deep))
                    .copied()
                    .collect();
                {
                    for key in stale {
                        if Self::remove(inner, key) {
                            self.invalidations.fetch_add(1, Ordering::Relaxed);
                            removed.push(key);
                        }
                    }
                }
            }
            drop(g);
            if let (Some(d), false) = (&self.dropped, removed.is_empty()) {
                let mut d = d.lock();
                let room = DROPPED_KEPT.saturating_sub(d.len());
                d.extend(removed.into_iter().take(room));
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().entries.len()).sum()
    }

    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) fn stats(&self) -> CacheStats {
        let (mut entries, mut weight) = (0, 0);
        for s in &self.shards {
            let g = s.lock();
            entries += g.entries.len() as u64;
            weight += g.weight;
        }
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
            invalidations: self.invalidations.load(Ordering::Relaxed),
            entries,
            weight,
        }
    }

    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) fn capacity(&self) -> u64 {
        self.capacity
    }
}
