//! A bounded cache of views derived from stored entities (the customer
//! context is one), invalidated by commits.
//!
//! Each cached view records every entity it was built from. Every commit's
//! change set names the entities whose rows it changed; every view built
//! from one of them is dropped. A view assembled while any commit happened is
//! not cached (a commit epoch is compared before inserting), so a reader can
//! never cache a view older than a commit that already invalidated it. The
//! cache knows nothing of what a view is: the layer above stores its own
//! type and reads it back.

use crate::model::EntityId;
use parking_lot::Mutex;
use std::any::Any;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A cached view: any type of the layer above.
pub(crate) type View = Arc<dyn Any + Send + Sync>;

struct Entry {
    view: View,
    reads: Vec<EntityId>,
    stamp: u64,
}

struct Inner {
    entries: HashMap<EntityId, Entry>,
    /// entity -> contexts built from it.
    dependents: HashMap<EntityId, HashSet<EntityId>>,
    /// Insertion / use order, for eviction (entries may be stale; the stamp tells).
    order: VecDeque<(EntityId, u64)>,
    stamp: u64,
}

pub(crate) struct ViewCache {
    capacity: usize,
    epoch: AtomicU64,
    inner: Mutex<Inner>,
}

impl ViewCache {
    pub(crate) fn new(capacity: usize) -> ViewCache {
        ViewCache {
            capacity,
            epoch: AtomicU64::new(0),
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                dependents: HashMap::new(),
                order: VecDeque::new(),
                stamp: 0,
            }),
        }
    }

    /// The write epoch, read before assembling a context.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    pub(crate) fn get(&self, id: EntityId) -> Option<View> {
        if self.capacity == 0 {
            return None;
        }
        let mut g = self.inner.lock();
        let inner = &mut *g;
        inner.stamp += 1;
        let stamp = inner.stamp;
        let e = inner.entries.get_mut(&id)?;
        e.stamp = stamp;
        let ctx = e.view.clone();
        inner.order.push_back((id, stamp));
        if inner.order.len() > 4 * self.capacity.max(16) {
            let entries = &inner.entries;
            inner
                .order
                .retain(|(i, s)| entries.get(i).is_some_and(|e| e.stamp == *s));
        }
        Some(ctx)
    }

    /// Caches `view`, built from the entities `reads`, unless a commit
    /// happened since `epoch` was read.
    pub(crate) fn insert_if_unchanged(
        &self,
        id: EntityId,
        view: View,
        reads: Vec<EntityId>,
        epoch: u64,
    ) {
        if self.capacity == 0 {
            return;
        }
        let mut g = self.inner.lock();
        if self.epoch.load(Ordering::SeqCst) != epoch {
            return;
        }
        let inner = &mut *g;
        Self::remove(inner, id);
        inner.stamp += 1;
        let stamp = inner.stamp;
        for dep in &reads {
            inner.dependents.entry(*dep).or_default().insert(id);
        }
        inner.entries.insert(id, Entry { view, reads, stamp });
        inner.order.push_back((id, stamp));
        while inner.entries.len() > self.capacity {
            let Some((victim, s)) = inner.order.pop_front() else {
                break;
            };
            if inner.entries.get(&victim).is_some_and(|e| e.stamp == s) {
                Self::remove(inner, victim);
            }
        }
    }

    fn remove(inner: &mut Inner, id: EntityId) {
        if let Some(e) = inner.entries.remove(&id) {
            for dep in &e.reads {
                if let Some(set) = inner.dependents.get_mut(dep) {
                    set.remove(&id);
                    if set.is_empty() {
                        inner.dependents.remove(dep);
                    }
                }
            }
        }
    }

    /// Called after every commit with the entities it touched.
    pub(crate) fn invalidate(&self, touched: impl IntoIterator<Item = EntityId>) {
        let mut g = self.inner.lock();
        self.epoch.fetch_add(1, Ordering::SeqCst);
        let inner = &mut *g;
        for t in touched {
            if let Some(set) = inner.dependents.get(&t) {
                for ctx in set.clone() {
                    Self::remove(inner, ctx);
                }
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.inner.lock().entries.len()
    }
}
