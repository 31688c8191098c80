//! The cache of encoded replies: the JSON of an entity (`ENTITY.GET`,
//! `ENTITY.MGET`) and of a customer context (`CONTEXT`), kept in the
//! database's reply cache (`Db::reply_cache`), bounded in bytes
//! (`ServerConfig::reply_cache_bytes`) and invalidated by every commit's
//! change set before the commit returns — so a reply is never staler than
//! the last acknowledged write. A hit is a hash lookup and one copy.

use crate::db::views::{CacheStats, ViewCache};
use crate::model::EntityId;
use crate::resp::Frame;
use crate::server::command::Context;
use std::sync::Arc;

/// Reply kinds (the first half of a cache key).
const ENTITY: u8 = 0;
const CONTEXT: u8 = 1;

/// What an entry costs beyond its bytes (key, bookkeeping, dependents).
const ENTRY_OVERHEAD: u64 = 96;

fn cache<'a>(cx: &Context<'a>) -> Option<&'a ViewCache<(u8, EntityId)>> {
    let bytes = cx.shared.config.reply_cache_bytes;
    (bytes > 0).then(|| cx.db.reply_cache(bytes))
}

/// What a reply of `bytes` built from `reads` weighs in the cache.
fn weight(bytes: &[u8], reads: &[EntityId]) -> u64 {
    bytes.len() as u64 + ENTRY_OVERHEAD + 8 * reads.len() as u64
}

/// The cached bytes of `(kind, id)`, or `make`'s (built from the entities
/// it returns with them), cached unless a commit landed meanwhile. `None`
/// (nothing to answer) is not cached. The bytes are shared with the cache:
/// nothing is copied here.
fn cached<E>(
    cx: &Context<'_>,
    key: (u8, EntityId),
    make: impl FnOnce() -> Result<Option<(Vec<u8>, Vec<EntityId>)>, E>,
) -> Result<Option<Arc<Vec<u8>>>, E> {
    let Some(cache) = cache(cx) else {
        return Ok(make()?.map(|(bytes, _)| Arc::new(bytes)));
    };
    if let Some(hit) = cache.get(key) {
        if let Ok(bytes) = hit.downcast::<Vec<u8>>() {
            return Ok(Some(bytes));
        }
    }
    let epoch = cache.epoch(key);
    let Some((bytes, reads)) = make()? else {
        return Ok(None);
    };
    let weight = weight(&bytes, &reads);
    let bytes = Arc::new(bytes);
    // A context read its entities' relationships too; an entity's JSON
    // only its own row.
    let deep = key.0 == CONTEXT;
    cache.insert_if_unchanged(key, bytes.clone(), reads, deep, epoch, weight);
    Ok(Some(bytes))
}

/// The JSON of entity `id` (`None`: no such entity), shared with the cache.
pub(crate) fn entity_bytes(
    cx: &Context<'_>,
    id: EntityId,
) -> Result<Option<Arc<Vec<u8>>>, crate::ReadError> {
    cached(cx, (ENTITY, id), || {
        Ok::<_, crate::ReadError>(crate::json::entity_json(cx.db, id)?.map(|j| (j, vec![id])))
    })
}

/// `ENTITY.GET id`'s reply as a frame (an element of `ENTITY.MGET`'s):
/// the entity's JSON, or null.
pub(crate) fn entity(cx: &Context<'_>, id: EntityId) -> Result<Frame, crate::ReadError> {
    Ok(entity_bytes(cx, id)?
        .map(|b| Frame::Bulk(b.as_ref().clone()))
        .unwrap_or(Frame::Null))
}

/// `CONTEXT id`'s reply: the JSON of the customer context `id` stands for
/// (a record's customer, a merged customer's survivor), shared with the cache.
pub(crate) fn context_bytes(
    cx: &Context<'_>,
    id: EntityId,
) -> Result<Option<Arc<Vec<u8>>>, crate::ContextError> {
    cached(cx, (CONTEXT, id), || {
        let c = cx.db.context(id)?;
        // Built from what the context read, and from `id` itself, whose
        // record link or merge decides which customer it stands for.
        let mut reads: Vec<EntityId> = c.reads.iter().copied().collect();
        reads.push(id);
        let json = serde_json::to_vec(&crate::json::context_to_json(cx.db, &c))
            .expect("JSON into a Vec cannot fail");
        Ok::<_, crate::ContextError>(Some((json, reads)))
    })
}

/// Renders again the entity replies the last commits dropped (their
/// entities changed), so that the next get of a hot entity finds its reply
/// current instead of rebuilding it. Run on a write thread after its reply
/// is sent; each insert is refused if a commit landed meanwhile, as any
/// reader's is. Contexts are left to their readers (an assembly each).
pub(crate) fn refresh(db: &crate::Db, bytes: u64) {
    if bytes == 0 {
        return;
    }
    let cache = db.reply_cache(bytes);
    for key in cache.take_dropped() {
        let (ENTITY, id) = key else { continue };
        let epoch = cache.epoch(key);
        if let Ok(Some(json)) = crate::json::entity_json(db, id) {
            let reads = vec![id];
            let weight = weight(&json, &reads);
            cache.insert_if_unchanged(key, Arc::new(json), reads, false, epoch, weight);
        }
    }
}

/// What the reply cache did, for `INFO`: `None` when it is off.
pub(crate) fn stats(cx: &Context<'_>) -> Option<(CacheStats, u64)> {
    cache(cx).map(|c| (c.stats(), c.capacity()))
}
