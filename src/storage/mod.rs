//! Storage: the only part of kith that touches the key-value engine, and the
//! zero-copy view of what it stores (`Entity`).
//!
//! `engine` is the seam to the key-value engines (sled, fjall, redb), one
//! file each; `keys` encodes keys; `codec` encodes values with a
//! version byte. Nothing here is public outside the crate.

pub(crate) mod codec;
pub(crate) mod engine;
pub(crate) mod entity;
pub(crate) mod fastcheck;
pub(crate) mod keys;
pub(crate) mod overlay;
pub mod raw;

pub use engine::StorageEngine;
pub(crate) use engine::{
    detect, looks_like_engine_dir, prefix_end, Bytes, Engine, EngineConfig, EngineError, Source,
    WriteBatch,
};
pub use entity::Entity;
pub(crate) use overlay::Overlay;

/// A raw copy of some entity rows in a temporary engine of their own: the
/// baseline `kith bench` measures beside `get` ("what would the engine alone
/// cost for the same keys and bytes?").
pub(crate) struct RawCopy {
    engine: Engine,
}

impl RawCopy {
    /// Copies the stored rows of `ids` from `from`.
    pub(crate) fn build(from: &Engine, ids: &[u64]) -> Result<RawCopy, EngineError> {
        let engine = Engine::open(EngineConfig {
            engine: from.engine(),
            path: None,
            cache_bytes: 1 << 30,
            flush_every_ms: None,
            memory: false,
        })?;
        let mut b = WriteBatch::default();
        let mut n = 0;
        for id in ids {
            let k = keys::node(*id);
            if let Some(v) = from.get(&k)? {
                b.put(k, &v[..]);
                n += 1;
                if n % 10_000 == 0 {
                    engine.apply(std::mem::take(&mut b))?;
                }
            }
        }
        engine.apply(b)?;
        Ok(RawCopy { engine })
    }

    /// The raw bytes stored for `id`, as the engine returns them.
    pub(crate) fn get(&self, id: u64) -> Result<Option<Bytes>, EngineError> {
        self.engine.get(&keys::node(id))
    }
}
