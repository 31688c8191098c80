//! Storage: the only part of kith that touches the key-value engine.
//!
//! `engine` wraps sled; `keys` encodes keys; `codec` encodes values with a
//! version byte. Nothing here is public outside the crate.

pub(crate) mod codec;
pub(crate) mod engine;
pub(crate) mod keys;

pub(crate) use engine::{
    looks_like_engine_dir, Bytes, Engine, EngineConfig, EngineError, WriteBatch,
};
