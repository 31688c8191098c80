//! A map bounded by two generations, for what resolution keeps in memory
//! between transactions (held blocks, pair comparisons).

use rustc_hash::FxHashMap;
use std::borrow::Borrow;
use std::hash::Hash;

/// A map of at most two generations of `CAP` entries: when the young one is
/// full the old one is dropped and the young one ages; an entry found in
/// the old one moves back to the young one (the entries in use stay, the
/// others go).
pub(crate) struct Generations<K, V, const CAP: usize> {
    young: FxHashMap<K, V>,
    old: FxHashMap<K, V>,
}

impl<K, V, const CAP: usize> Default for Generations<K, V, CAP> {
    fn default() -> Self {
        Generations {
            young: FxHashMap::default(),
            old: FxHashMap::default(),
        }
    }
}

impl<K: Hash + Eq, V, const CAP: usize> Generations<K, V, CAP> {
    /// The entry at `k`, moved to the young generation if it was old.
    pub(crate) fn get_mut<Q>(&mut self, k: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if !self.young.contains_key(k) {
            let (k, v) = self.old.remove_entry(k)?;
            self.insert(k, v);
        }
        self.young.get_mut(k)
    }

    /// Holds `v` at `k` in the young generation, ageing it first when full.
    pub(crate) fn insert(&mut self, k: K, v: V) {
        if self.young.len() >= CAP && !self.young.contains_key(&k) {
            self.old = std::mem::take(&mut self.young);
        }
        self.old.remove(&k);
        self.young.insert(k, v);
    }

    /// Drops everything.
    pub(crate) fn clear(&mut self) {
        self.young.clear();
        self.old.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::Generations;

    #[test]
    fn entries_in_use_stay_and_the_others_go() {
        let mut g: Generations<u32, u32, 2> = Generations::default();
        g.insert(1, 10);
        g.insert(2, 20);
        g.insert(3, 30); // ages 1 and 2
        assert_eq!(g.get_mut(&1).copied(), Some(10)); // back to the young: 3, 1
        g.insert(4, 40); // ages 3 and 1, drops 2
        assert!(g.get_mut(&1).is_some());
        assert!(g.get_mut(&4).is_some());
        assert!(g.get_mut(&2).is_none(), "unused twice over: dropped");
        g.clear();
        assert!(g.get_mut(&1).is_none());
    }
}
