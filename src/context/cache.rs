//! A bounded cache of assembled contexts, invalidated by writes.
//!
//! Each cached context records every entity it was built from. A write tells
//! the cache which entities it touched (the entities written, and both ends
//! of every relationship added or removed); every context built from one of
//! them is dropped. A context assembled while any write happened is not
//! cached (a write epoch is compared before inserting), so a reader can never
//! cache a view older than a write that already invalidated.

use super::CustomerContext;
use crate::model::EntityId;
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

struct Inner {
    entries: HashMap<EntityId, (Arc<CustomerContext>, u64)>,
    /// entity -> contexts built from it.
    dependents: HashMap<EntityId, HashSet<EntityId>>,
    /// Insertion / use order, for eviction (entries may be stale; the stamp tells).
    order: VecDeque<(EntityId, u64)>,
    stamp: u64,
}

pub(crate) struct ContextCache {
    capacity: usize,
    epoch: AtomicU64,
    inner: Mutex<Inner>,
}

impl ContextCache {
    pub(crate) fn new(capacity: usize) -> ContextCache {
        ContextCache {
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

    pub(crate) fn get(&self, id: EntityId) -> Option<Arc<CustomerContext>> {
        if self.capacity == 0 {
            return None;
        }
        let mut g = self.inner.lock();
        let inner = &mut *g;
        inner.stamp += 1;
        let stamp = inner.stamp;
        let (ctx, s) = inner.entries.get_mut(&id)?;
        *s = stamp;
        let ctx = ctx.clone();
        inner.order.push_back((id, stamp));
        if inner.order.len() > 4 * self.capacity.max(16) {
            let entries = &inner.entries;
            inner
                .order
                .retain(|(i, s)| entries.get(i).is_some_and(|e| e.1 == *s));
        }
        Some(ctx)
    }

    /// Caches `ctx` unless a write happened since `epoch` was read.
    pub(crate) fn insert_if_unchanged(&self, id: EntityId, ctx: Arc<CustomerContext>, epoch: u64) {
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
        for dep in &ctx.reads {
            inner.dependents.entry(*dep).or_default().insert(id);
        }
        inner.entries.insert(id, (ctx, stamp));
        inner.order.push_back((id, stamp));
        while inner.entries.len() > self.capacity {
            let Some((victim, s)) = inner.order.pop_front() else {
                break;
            };
            if inner.entries.get(&victim).is_some_and(|e| e.1 == s) {
                Self::remove(inner, victim);
            }
        }
    }

    fn remove(inner: &mut Inner, id: EntityId) {
        if let Some((ctx, _)) = inner.entries.remove(&id) {
            for dep in &ctx.reads {
                if let Some(set) = inner.dependents.get_mut(dep) {
                    set.remove(&id);
                    if set.is_empty() {
                        inner.dependents.remove(dep);
                    }
                }
            }
        }
    }

    /// Called after every write with the entities it touched.
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
