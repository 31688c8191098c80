//! A transaction's writes held over the engine: reads see them first, scans
//! merge them in key order, and commit turns them into one atomic batch.

use super::engine::{Bytes, Engine, EngineError, Source, WriteBatch};
use std::collections::BTreeMap;
use std::ops::Bound;

/// The writes of one transaction, not yet applied. `None` is a removal.
pub struct Overlay<'e> {
    engine: &'e Engine,
    writes: BTreeMap<Vec<u8>, Option<Bytes>>,
}

type Row = Result<(Bytes, Bytes), EngineError>;

impl<'e> Overlay<'e> {
    /// An empty overlay over `engine`.
    pub fn new(engine: &'e Engine) -> Overlay<'e> {
        Overlay {
            engine,
            writes: BTreeMap::new(),
        }
    }

    /// Puts `value` at `key`.
    pub fn put(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        self.writes.insert(
            key.as_ref().to_vec(),
            Some(Bytes::from_vec(value.as_ref().to_vec())),
        );
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: impl AsRef<[u8]>) {
        self.writes.insert(key.as_ref().to_vec(), None);
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    /// The batch that applies every write.
    pub fn into_batch(self) -> WriteBatch {
        let mut b = WriteBatch::default();
        for (k, v) in self.writes {
            match v {
                Some(v) => b.put(k, &v[..]),
                None => b.remove(k),
            }
        }
        b
    }
}

impl Source for Overlay<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Bytes>, EngineError> {
        match self.writes.get(key) {
            Some(v) => Ok(v.clone()),
            None => self.engine.get(key),
        }
    }

    fn scan<'a>(
        &'a self,
        from: &[u8],
        to: Option<&[u8]>,
        rev: bool,
    ) -> Box<dyn Iterator<Item = Row> + 'a> {
        let upper = match to {
            Some(t) => Bound::Excluded(t.to_vec()),
            None => Bound::Unbounded,
        };
        let mine = self
            .writes
            .range::<Vec<u8>, _>((Bound::Included(from.to_vec()), upper));
        let base = self.engine.scan(from, to, rev);
        if rev {
            Box::new(Merge::new(base, mine.rev(), true))
        } else {
            Box::new(Merge::new(base, mine, false))
        }
    }
}

/// Merges the engine's rows with the overlay's, the overlay winning on equal keys.
struct Merge<'a, B: Iterator<Item = Row>, M: Iterator<Item = (&'a Vec<u8>, &'a Option<Bytes>)>> {
    base: std::iter::Peekable<B>,
    mine: std::iter::Peekable<M>,
    rev: bool,
}

impl<'a, B, M> Merge<'a, B, M>
where
    B: Iterator<Item = Row>,
    M: Iterator<Item = (&'a Vec<u8>, &'a Option<Bytes>)>,
{
    fn new(base: B, mine: M, rev: bool) -> Self {
        Merge {
            base: base.peekable(),
            mine: mine.peekable(),
            rev,
        }
    }
}

impl<'a, B, M> Iterator for Merge<'a, B, M>
where
    B: Iterator<Item = Row>,
    M: Iterator<Item = (&'a Vec<u8>, &'a Option<Bytes>)>,
{
    type Item = Row;

    fn next(&mut self) -> Option<Row> {
        loop {
            let order = match (self.base.peek(), self.mine.peek()) {
                (None, None) => return None,
                (Some(Err(_)), _) => return self.base.next(),
                (Some(_), None) => return self.base.next(),
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (Some(Ok((bk, _))), Some((mk, _))) => {
                    let o = bk[..].cmp(&mk[..]);
                    if self.rev {
                        o.reverse()
                    } else {
                        o
                    }
                }
            };
            match order {
                std::cmp::Ordering::Less => return self.base.next(),
                std::cmp::Ordering::Equal => {
                    self.base.next();
                }
                std::cmp::Ordering::Greater => {}
            }
            let (k, v) = self.mine.next().expect("peeked");
            if let Some(v) = v {
                return Some(Ok((Bytes::from_vec(k.clone()), v.clone())));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::EngineConfig;

    fn collect(it: Box<dyn Iterator<Item = Row> + '_>) -> Vec<(Vec<u8>, Vec<u8>)> {
        it.map(|r| {
            let (k, v) = r.unwrap();
            (k.to_vec(), v.to_vec())
        })
        .collect()
    }

    #[test]
    fn scans_merge_writes_and_removals_in_both_directions() {
        for engine in crate::StorageEngine::available_engines() {
            merges_on(engine);
        }
    }

    fn merges_on(engine: crate::StorageEngine) {
        let e = Engine::open(EngineConfig {
            engine,
            path: None,
            cache_bytes: 1 << 20,
            flush_every_ms: None,
            memory: false,
        })
        .unwrap();
        let mut b = WriteBatch::default();
        for k in [b"a1", b"a3", b"a5", b"b1"] {
            b.put(k, b"old");
        }
        e.apply(b).unwrap();
        let mut o = Overlay::new(&e);
        o.put(b"a2", b"new");
        o.put(b"a3", b"new");
        o.remove(b"a5");
        o.put(b"a6", b"new");
        let fwd = collect(o.scan(b"a", Some(b"b"), false));
        let keys: Vec<&[u8]> = fwd.iter().map(|(k, _)| &k[..]).collect();
        assert_eq!(keys, vec![&b"a1"[..], b"a2", b"a3", b"a6"]);
        assert_eq!(fwd[2].1, b"new");
        let back = collect(o.scan(b"a", Some(b"b"), true));
        let keys: Vec<&[u8]> = back.iter().map(|(k, _)| &k[..]).collect();
        assert_eq!(keys, vec![&b"a6"[..], b"a3", b"a2", b"a1"]);
        assert!(o.get(b"a5").unwrap().is_none());
        assert_eq!(&o.get(b"b1").unwrap().unwrap()[..], b"old");
        e.apply(o.into_batch()).unwrap();
        assert!(e.get(b"a5").unwrap().is_none());
        assert_eq!(&e.get(b"a3").unwrap().unwrap()[..], b"new");
    }
}
