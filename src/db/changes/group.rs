//! Consumer groups: named readers of the change log whose position, pending
//! (delivered, unacknowledged) changes and consumers are stored in the
//! database, so that at-least-once delivery survives a restart. The model
//! is Redis Streams' consumer groups; the wire commands map onto these
//! methods one to one.

use super::log::{now_ms, Changes, FeedError};
use crate::error::StorageError;
use crate::model::{ChangeEntry, ChangeId};
use crate::storage::codec::{self, ConsumerV1, GroupV1, PendingV1};
use crate::storage::{keys, WriteBatch};

/// A consumer group, as `XINFO GROUPS` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupInfo {
    /// Its name.
    pub name: String,
    /// How many consumers it has.
    pub consumers: u64,
    /// How many changes are delivered and not acknowledged.
    pub pending: u64,
    /// The last position delivered to it.
    pub last_delivered: ChangeId,
    /// How many changes it has been delivered.
    pub entries_read: u64,
    /// How many changes after its position it has not been delivered yet.
    pub lag: u64,
}

/// A consumer of a group, as `XINFO CONSUMERS` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerInfo {
    /// Its name.
    pub name: String,
    /// How many changes it holds pending.
    pub pending: u64,
    /// Milliseconds since it last asked for changes.
    pub idle_ms: u64,
    /// Milliseconds since it was last delivered one (`None`: never).
    pub inactive_ms: Option<u64>,
}

/// One pending change of a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingEntry {
    /// Its position.
    pub id: ChangeId,
    /// The consumer that holds it.
    pub consumer: String,
    /// Milliseconds since it was last delivered.
    pub idle_ms: u64,
    /// How many times it was delivered.
    pub deliveries: u64,
}

/// The summary form of a group's pending list (`XPENDING key group`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PendingSummary {
    /// How many changes are pending.
    pub count: u64,
    /// The lowest and highest pending positions.
    pub bounds: Option<(ChangeId, ChangeId)>,
    /// Pending changes by consumer.
    pub consumers: Vec<(String, u64)>,
}

/// What a group read delivered: each position with its change, or `None`
/// for a pending change that was trimmed from the log since.
pub type GroupRead = Vec<(ChangeId, Option<ChangeEntry>)>;

/// The options of a claim (`XCLAIM … [IDLE ms] [TIME ms] [RETRYCOUNT n] [FORCE] [JUSTID]`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClaimOptions {
    /// Set the idle time of the claimed changes to this.
    pub idle_ms: Option<u64>,
    /// Set their delivery time to this (ms since the epoch).
    pub time_ms: Option<u64>,
    /// Set their delivery count to this.
    pub retry_count: Option<u64>,
    /// Claim positions that are not pending too (if they are in the log).
    pub force: bool,
    /// Do not count a delivery (and return positions only).
    pub just_id: bool,
}

fn check_name(what: &str, name: &str) -> Result<(), FeedError> {
    if name.is_empty() || name.len() > 200 {
        return Err(FeedError::Invalid(format!(
            "a {what} name must be 1 to 200 bytes"
        )));
    }
    Ok(())
}

impl Changes<'_> {
    fn t(&self) -> &'static keys::StreamTables {
        self.stream.tables()
    }

    fn engine(&self) -> &crate::storage::Engine {
        &self.db.inner.engine
    }

    fn apply(&self, b: WriteBatch) -> Result<(), FeedError> {
        self.engine().apply(b).map_err(StorageError::from)?;
        if self.db.inner.durability == crate::Durability::Immediate {
            self.engine().flush().map_err(StorageError::from)?;
        }
        Ok(())
    }

    fn load_group(&self, name: &str) -> Result<GroupV1, FeedError> {
        let k = keys::group(self.t(), name);
        match self.engine().get(&k).map_err(StorageError::from)? {
            Some(v) => Ok(codec::decode_state(&k, &v)?),
            None => Err(FeedError::NoGroup(name.to_string())),
        }
    }

    fn pending_rows(&self, group: &str) -> Result<Vec<(ChangeId, PendingV1)>, FeedError> {
        let prefix = keys::pending_prefix(self.t(), group);
        let mut out = Vec::new();
        for row in crate::db::scan_prefix(self.engine(), &prefix, false) {
            let (k, v) = row.map_err(StorageError::from)?;
            let (ms, seq) = keys::parse_pending_tail(&k).ok_or_else(|| StorageError::Corrupt {
                key: keys::describe(&k),
                reason: "malformed pending key".into(),
            })?;
            out.push((ChangeId { ms, seq }, codec::decode_state(&k, &v)?));
        }
        Ok(out)
    }

    fn entry(&self, id: ChangeId) -> Result<Option<ChangeEntry>, FeedError> {
        Ok(self.range(id, id, 1, false)?.pop())
    }

    fn touch_consumer(
        &self,
        b: &mut WriteBatch,
        group: &str,
        consumer: &str,
        delivered: bool,
    ) -> Result<(), FeedError> {
        let k = keys::consumer(self.t(), group, consumer);
        let now = now_ms();
        let mut c: ConsumerV1 = match self.engine().get(&k).map_err(StorageError::from)? {
            Some(v) => codec::decode_state(&k, &v)?,
            None => ConsumerV1 {
                seen_ms: now,
                active_ms: 0,
            },
        };
        c.seen_ms = now;
        if delivered {
            c.active_ms = now;
        }
        b.put(k, codec::encode_state(&c));
        Ok(())
    }

    /// Creates a consumer group whose next read delivers the changes after
    /// `at` (`Changes::last()` for "only new ones", `0-0` for all kept).
    pub fn create_group(&self, name: &str, at: ChangeId) -> Result<(), FeedError> {
        check_name("group", name)?;
        let _g = self.db.inner.groups.lock();
        if self.load_group(name).is_ok() {
            return Err(FeedError::GroupExists(name.to_string()));
        }
        let mut b = WriteBatch::default();
        b.put(
            keys::group(self.t(), name),
            codec::encode_state(&GroupV1 {
                last_delivered: (at.ms, at.seq),
                entries_read: 0,
            }),
        );
        self.apply(b)
    }

    /// Moves a group's position (`XGROUP SETID`).
    pub fn set_group_position(&self, name: &str, at: ChangeId) -> Result<(), FeedError> {
        let _g = self.db.inner.groups.lock();
        let mut g = self.load_group(name)?;
        g.last_delivered = (at.ms, at.seq);
        let mut b = WriteBatch::default();
        b.put(keys::group(self.t(), name), codec::encode_state(&g));
        self.apply(b)
    }

    /// Removes a group with its consumers and pending list. Returns whether it existed.
    pub fn destroy_group(&self, name: &str) -> Result<bool, FeedError> {
        let _g = self.db.inner.groups.lock();
        if self.load_group(name).is_err() {
            return Ok(false);
        }
        let mut b = WriteBatch::default();
        b.remove(keys::group(self.t(), name));
        for prefix in [
            keys::pending_prefix(self.t(), name),
            keys::consumer_prefix(self.t(), name),
        ] {
            for row in crate::db::scan_prefix(self.engine(), &prefix, false) {
                let (k, _) = row.map_err(StorageError::from)?;
                b.remove(&k[..]);
            }
        }
        self.apply(b)?;
        Ok(true)
    }

    /// Adds a consumer to a group. Returns whether it is new.
    pub fn create_consumer(&self, group: &str, consumer: &str) -> Result<bool, FeedError> {
        check_name("consumer", consumer)?;
        let _g = self.db.inner.groups.lock();
        self.load_group(group)?;
        let k = keys::consumer(self.t(), group, consumer);
        if self.engine().get(&k).map_err(StorageError::from)?.is_some() {
            return Ok(false);
        }
        let mut b = WriteBatch::default();
        self.touch_consumer(&mut b, group, consumer, false)?;
        self.apply(b)?;
        Ok(true)
    }

    /// Removes a consumer and its pending changes. Returns how many it held.
    pub fn delete_consumer(&self, group: &str, consumer: &str) -> Result<u64, FeedError> {
        let _g = self.db.inner.groups.lock();
        self.load_group(group)?;
        let mut b = WriteBatch::default();
        let mut n = 0;
        for (id, p) in self.pending_rows(group)? {
            if p.consumer == consumer {
                b.remove(keys::pending(self.t(), group, id.ms, id.seq));
                n += 1;
            }
        }
        b.remove(keys::consumer(self.t(), group, consumer));
        self.apply(b)?;
        Ok(n)
    }

    /// Delivers to `consumer` at most `count` changes the group has not been
    /// delivered yet (`XREADGROUP … >`), adding them to its pending list
    /// unless `no_ack`.
    pub fn read_group(
        &self,
        group: &str,
        consumer: &str,
        count: usize,
        no_ack: bool,
    ) -> Result<Vec<ChangeEntry>, FeedError> {
        check_name("consumer", consumer)?;
        let _g = self.db.inner.groups.lock();
        let mut g = self.load_group(group)?;
        let at = ChangeId {
            ms: g.last_delivered.0,
            seq: g.last_delivered.1,
        };
        let entries = self.read_after(at, count)?;
        let mut b = WriteBatch::default();
        self.touch_consumer(&mut b, group, consumer, !entries.is_empty())?;
        if let Some(last) = entries.last() {
            g.last_delivered = (last.id.ms, last.id.seq);
            g.entries_read += entries.len() as u64;
            b.put(keys::group(self.t(), group), codec::encode_state(&g));
        }
        if !no_ack {
            let now = now_ms();
            for e in &entries {
                b.put(
                    keys::pending(self.t(), group, e.id.ms, e.id.seq),
                    codec::encode_state(&PendingV1 {
                        consumer: consumer.to_string(),
                        delivered_ms: now,
                        deliveries: 1,
                    }),
                );
            }
        }
        self.apply(b)?;
        Ok(entries)
    }

    /// The changes pending for `consumer` after `after` (`XREADGROUP … <id>`),
    /// counted as delivered again.
    pub fn read_pending(
        &self,
        group: &str,
        consumer: &str,
        after: ChangeId,
        count: usize,
    ) -> Result<GroupRead, FeedError> {
        let _g = self.db.inner.groups.lock();
        self.load_group(group)?;
        let mut out = Vec::new();
        let mut b = WriteBatch::default();
        let now = now_ms();
        for (id, mut p) in self.pending_rows(group)? {
            if id <= after || p.consumer != consumer {
                continue;
            }
            if out.len() >= count {
                break;
            }
            p.deliveries += 1;
            p.delivered_ms = now;
            b.put(
                keys::pending(self.t(), group, id.ms, id.seq),
                codec::encode_state(&p),
            );
            out.push((id, self.entry(id)?));
        }
        self.touch_consumer(&mut b, group, consumer, !out.is_empty())?;
        self.apply(b)?;
        Ok(out)
    }

    /// Acknowledges changes: they leave the group's pending list. Returns
    /// how many were pending.
    pub fn ack(&self, group: &str, ids: &[ChangeId]) -> Result<u64, FeedError> {
        let _g = self.db.inner.groups.lock();
        self.load_group(group)?;
        let mut b = WriteBatch::default();
        let mut n = 0;
        for id in ids {
            let k = keys::pending(self.t(), group, id.ms, id.seq);
            if self.engine().get(&k).map_err(StorageError::from)?.is_some() {
                b.remove(k);
                n += 1;
            }
        }
        if n > 0 {
            self.apply(b)?;
        }
        Ok(n)
    }

    /// The summary of a group's pending list.
    pub fn pending_summary(&self, group: &str) -> Result<PendingSummary, FeedError> {
        self.load_group(group)?;
        let rows = self.pending_rows(group)?;
        let mut by: std::collections::BTreeMap<String, u64> = Default::default();
        for (_, p) in &rows {
            *by.entry(p.consumer.clone()).or_default() += 1;
        }
        Ok(PendingSummary {
            count: rows.len() as u64,
            bounds: rows
                .first()
                .map(|f| (f.0, rows.last().expect("non-empty").0)),
            consumers: by.into_iter().collect(),
        })
    }

    /// The pending changes of a group with `start <= id <= end`, at most
    /// `count`, of one consumer or all, idle at least `min_idle_ms`.
    pub fn pending(
        &self,
        group: &str,
        start: ChangeId,
        end: ChangeId,
        count: usize,
        consumer: Option<&str>,
        min_idle_ms: u64,
    ) -> Result<Vec<PendingEntry>, FeedError> {
        self.load_group(group)?;
        let now = now_ms();
        Ok(self
            .pending_rows(group)?
            .into_iter()
            .filter(|(id, p)| {
                *id >= start
                    && *id <= end
                    && consumer.is_none_or(|c| c == p.consumer)
                    && now.saturating_sub(p.delivered_ms) >= min_idle_ms
            })
            .take(count)
            .map(|(id, p)| PendingEntry {
                id,
                consumer: p.consumer,
                idle_ms: now.saturating_sub(p.delivered_ms),
                deliveries: p.deliveries,
            })
            .collect())
    }

    /// Gives pending changes idle at least `min_idle_ms` to `consumer`
    /// (`XCLAIM`). Changes trimmed from the log leave the pending list and
    /// are not returned.
    pub fn claim(
        &self,
        group: &str,
        consumer: &str,
        min_idle_ms: u64,
        ids: &[ChangeId],
        opts: &ClaimOptions,
    ) -> Result<Vec<(ChangeId, Option<ChangeEntry>)>, FeedError> {
        check_name("consumer", consumer)?;
        let _g = self.db.inner.groups.lock();
        self.load_group(group)?;
        let now = now_ms();
        let mut b = WriteBatch::default();
        let mut out = Vec::new();
        for id in ids {
            let k = keys::pending(self.t(), group, id.ms, id.seq);
            let existing: Option<PendingV1> =
                match self.engine().get(&k).map_err(StorageError::from)? {
                    Some(v) => Some(codec::decode_state(&k, &v)?),
                    None => None,
                };
            let entry = self.entry(*id)?;
            let mut p = match existing {
                Some(p) => p,
                None if opts.force && entry.is_some() => PendingV1 {
                    consumer: consumer.to_string(),
                    delivered_ms: now,
                    deliveries: 0,
                },
                None => continue,
            };
            if entry.is_none() {
                b.remove(k);
                continue;
            }
            if now.saturating_sub(p.delivered_ms) < min_idle_ms {
                continue;
            }
            p.consumer = consumer.to_string();
            p.delivered_ms = match (opts.idle_ms, opts.time_ms) {
                (Some(i), _) => now.saturating_sub(i),
                (None, Some(t)) => t,
                (None, None) => now,
            };
            if let Some(r) = opts.retry_count {
                p.deliveries = r;
            } else if !opts.just_id {
                p.deliveries += 1;
            }
            b.put(k, codec::encode_state(&p));
            out.push((*id, entry));
        }
        self.touch_consumer(&mut b, group, consumer, !out.is_empty())?;
        self.apply(b)?;
        Ok(out)
    }

    /// Claims up to `count` pending changes from `start` on, idle at least
    /// `min_idle_ms` (`XAUTOCLAIM`). Returns the position to continue from
    /// (`0-0`: the scan is complete), the claimed changes, and the positions
    /// that were trimmed from the log (removed from the pending list).
    #[allow(clippy::type_complexity)]
    pub fn autoclaim(
        &self,
        group: &str,
        consumer: &str,
        min_idle_ms: u64,
        start: ChangeId,
        count: usize,
        just_id: bool,
    ) -> Result<(ChangeId, Vec<ChangeEntry>, Vec<ChangeId>), FeedError> {
        check_name("consumer", consumer)?;
        let _g = self.db.inner.groups.lock();
        self.load_group(group)?;
        let now = now_ms();
        let mut b = WriteBatch::default();
        let (mut claimed, mut deleted) = (Vec::new(), Vec::new());
        let mut next = ChangeId::ZERO;
        let mut scanned = 0;
        for (id, mut p) in self.pending_rows(group)? {
            if id < start {
                continue;
            }
            if scanned >= count {
                next = id;
                break;
            }
            if now.saturating_sub(p.delivered_ms) < min_idle_ms {
                continue;
            }
            scanned += 1;
            let k = keys::pending(self.t(), group, id.ms, id.seq);
            match self.entry(id)? {
                None => {
                    b.remove(k);
                    deleted.push(id);
                }
                Some(e) => {
                    p.consumer = consumer.to_string();
                    p.delivered_ms = now;
                    if !just_id {
                        p.deliveries += 1;
                    }
                    b.put(k, codec::encode_state(&p));
                    claimed.push(e);
                }
            }
        }
        self.touch_consumer(&mut b, group, consumer, !claimed.is_empty())?;
        self.apply(b)?;
        Ok((next, claimed, deleted))
    }

    /// Entries after a group's position: changes of the log, actions
    /// counted.
    fn lag(&self, last: ChangeId, delivered: (u64, u64)) -> Result<u64, FeedError> {
        Ok(match self.stream {
            super::Stream::Changes => last.seq.saturating_sub(delivered.1),
            _ => self
                .read_after(
                    ChangeId {
                        ms: delivered.0,
                        seq: delivered.1,
                    },
                    usize::MAX,
                )
                .map(|v| v.len() as u64)
                .unwrap_or(0),
        })
    }

    /// Every consumer group.
    pub fn groups(&self) -> Result<Vec<GroupInfo>, FeedError> {
        let mut out = Vec::new();
        let last = self.last();
        for row in crate::db::scan_prefix(self.engine(), &[self.t().group], false) {
            let (k, v) = row.map_err(StorageError::from)?;
            let (name, _) = keys::take_escaped(&k[1..]).ok_or_else(|| StorageError::Corrupt {
                key: keys::describe(&k),
                reason: "malformed group key".into(),
            })?;
            let name = String::from_utf8_lossy(&name).into_owned();
            let g: GroupV1 = codec::decode_state(&k, &v)?;
            let consumers = crate::db::scan_prefix(
                self.engine(),
                &keys::consumer_prefix(self.t(), &name),
                false,
            )
            .count() as u64;
            let pending = self.pending_rows(&name)?.len() as u64;
            out.push(GroupInfo {
                consumers,
                pending,
                last_delivered: ChangeId {
                    ms: g.last_delivered.0,
                    seq: g.last_delivered.1,
                },
                entries_read: g.entries_read,
                lag: self.lag(last, g.last_delivered)?,
                name,
            });
        }
        Ok(out)
    }

    /// The consumers of a group.
    pub fn consumers(&self, group: &str) -> Result<Vec<ConsumerInfo>, FeedError> {
        self.load_group(group)?;
        let pending = self.pending_rows(group)?;
        let now = now_ms();
        let prefix = keys::consumer_prefix(self.t(), group);
        let mut out = Vec::new();
        for row in crate::db::scan_prefix(self.engine(), &prefix, false) {
            let (k, v) = row.map_err(StorageError::from)?;
            let (name, _) =
                keys::take_escaped(&k[prefix.len()..]).ok_or_else(|| StorageError::Corrupt {
                    key: keys::describe(&k),
                    reason: "malformed consumer key".into(),
                })?;
            let name = String::from_utf8_lossy(&name).into_owned();
            let c: ConsumerV1 = codec::decode_state(&k, &v)?;
            out.push(ConsumerInfo {
                pending: pending.iter().filter(|(_, p)| p.consumer == name).count() as u64,
                idle_ms: now.saturating_sub(c.seen_ms),
                inactive_ms: (c.active_ms > 0).then(|| now.saturating_sub(c.active_ms)),
                name,
            });
        }
        Ok(out)
    }
}
