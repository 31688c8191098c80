//! Reading, following and trimming the change log.

use crate::error::StorageError;
use crate::model::EntityId;
use crate::model::{Change, ChangeEntry, ChangeId};
use crate::storage::{codec, keys, Source};
use crate::Db;
use parking_lot::{Condvar, Mutex};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How much of the change log is kept. Older changes are trimmed in the
/// background (about once a second); both limits apply when both are set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Keep at most this many changes (`None`: no limit by count).
    pub max_changes: Option<u64>,
    /// Keep changes at most this old (`None`: no limit by age).
    pub max_age: Option<Duration>,
}

impl Default for Retention {
    /// 1,000,000 changes and 7 days, whichever is smaller.
    fn default() -> Retention {
        Retention {
            max_changes: Some(1_000_000),
            max_age: Some(Duration::from_secs(7 * 24 * 3600)),
        }
    }
}

/// Why reading the change log failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FeedError {
    /// The position asked for was trimmed: changes after it are gone.
    #[error("the change log was trimmed past {asked}: the earliest change kept is after {trimmed}; read from 0-0 or a later position")]
    Trimmed {
        /// The position asked for.
        asked: ChangeId,
        /// The last position trimmed.
        trimmed: ChangeId,
    },
    /// No consumer group of that name.
    #[error("no consumer group {0:?}")]
    NoGroup(String),
    /// A consumer group of that name exists already.
    #[error("consumer group {0:?} already exists")]
    GroupExists(String),
    /// A malformed argument (an empty group name, a bad position).
    #[error("invalid: {0}")]
    Invalid(String),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// What one commit changed: its changes in the log, and the entities and
/// customers it touched.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeSet {
    /// The changes, in log order; the last one is [`Change::Committed`].
    /// Empty when the transaction wrote nothing.
    pub changes: Vec<ChangeEntry>,
    /// Every entity whose stored rows the commit changed (the entities
    /// written or deleted, both ends of every relationship added or
    /// removed, the parties whose timelines moved).
    pub touched: Vec<EntityId>,
    /// The customers whose context the commit changed.
    pub customers: Vec<EntityId>,
}

impl ChangeSet {
    /// The position of the commit's last change, if it wrote any.
    pub fn last(&self) -> Option<ChangeId> {
        self.changes.last().map(|c| c.id)
    }
}

/// The change log's state in one open database.
pub(crate) struct FeedState {
    /// The last position given out (changed under the writer lock).
    pub(crate) last: Mutex<ChangeId>,
    /// The last sequence number readers may see: durable in
    /// `Durability::Immediate`, applied in `Background`.
    published: AtomicU64,
    /// The milliseconds of the last published change.
    published_ms: AtomicU64,
    wake: Mutex<()>,
    cond: Condvar,
    /// The last position trimmed (`0-0`: nothing trimmed yet).
    pub(crate) trimmed: Mutex<ChangeId>,
    pub(crate) retention: Retention,
}

pub(crate) const META_CHANGE_TRIMMED: &str = "change_trimmed";

impl FeedState {
    pub(crate) fn new(last: ChangeId, trimmed: ChangeId, retention: Retention) -> FeedState {
        FeedState {
            last: Mutex::new(last),
            published: AtomicU64::new(last.seq),
            published_ms: AtomicU64::new(last.ms),
            wake: Mutex::new(()),
            cond: Condvar::new(),
            trimmed: Mutex::new(trimmed),
            retention,
        }
    }

    /// Makes changes up to `last` visible to readers and wakes followers.
    pub(crate) fn publish(&self, last: ChangeId) {
        let _g = self.wake.lock();
        if last.seq > self.published.load(Ordering::SeqCst) {
            self.published_ms.store(last.ms, Ordering::SeqCst);
            self.published.store(last.seq, Ordering::SeqCst);
        }
        self.cond.notify_all();
    }

    pub(crate) fn published(&self) -> ChangeId {
        let _g = self.wake.lock();
        ChangeId {
            ms: self.published_ms.load(Ordering::SeqCst),
            seq: self.published.load(Ordering::SeqCst),
        }
    }

    /// Blocks until a change after sequence `seq` is published or `deadline`
    /// passes (`None`: no deadline). Returns whether one is.
    pub(crate) fn wait_after(&self, seq: u64, deadline: Option<Instant>) -> bool {
        let mut g = self.wake.lock();
        loop {
            if self.published.load(Ordering::SeqCst) > seq {
                return true;
            }
            match deadline {
                Some(d) => {
                    if Instant::now() >= d || self.cond.wait_until(&mut g, d).timed_out() {
                        return self.published.load(Ordering::SeqCst) > seq;
                    }
                }
                None => self.cond.wait(&mut g),
            }
        }
    }
}

/// Which of the database's two streams a [`Changes`] handle reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Stream {
    /// The change log: every change of every commit (`kith:changes`).
    Changes,
    /// The actions the interaction rules raised (`kith:actions`): each
    /// entry is a [`Change::ActionRaised`] at its position in the change log.
    Actions,
}

impl Stream {
    /// The key it is served under on the wire.
    pub fn key(self) -> &'static str {
        match self {
            Stream::Changes => "kith:changes",
            Stream::Actions => "kith:actions",
        }
    }

    /// The stream served under `key`, if any.
    pub fn from_key(key: &[u8]) -> Option<Stream> {
        [Stream::Changes, Stream::Actions]
            .into_iter()
            .find(|s| s.key().as_bytes() == key)
    }

    pub(crate) fn tables(self) -> &'static keys::StreamTables {
        match self {
            Stream::Changes => &keys::CHANGES,
            Stream::Actions => &keys::ACTIONS,
        }
    }
}

/// One of the database's streams — the change log ([`Db::changes`]) or the
/// actions stream ([`Db::actions`]): read it by position, follow it live,
/// and consume it with named groups.
#[derive(Clone, Copy)]
pub struct Changes<'db> {
    pub(crate) db: &'db Db,
    pub(crate) stream: Stream,
}

impl Db {
    /// The change log: read it by position, follow it live, and consume it
    /// with named groups (see [`Changes`]).
    pub fn changes(&self) -> Changes<'_> {
        Changes {
            db: self,
            stream: Stream::Changes,
        }
    }

    /// The actions stream: one entry per action an interaction rule raised
    /// ([`Change::ActionRaised`]), at the position of that change in the
    /// change log, with consumer groups of its own. It is trimmed with the
    /// change log.
    pub fn actions(&self) -> Changes<'_> {
        Changes {
            db: self,
            stream: Stream::Actions,
        }
    }
}

/// The changes of one stored commit row, with their positions.
fn decode_row(k: &[u8], v: &[u8]) -> Result<Vec<ChangeEntry>, StorageError> {
    let (ms, first) = keys::parse_change(k).ok_or_else(|| StorageError::Corrupt {
        key: keys::describe(k),
        reason: "malformed change key".into(),
    })?;
    Ok(number(ms, first, codec::decode_commit(k, v)?))
}

/// The changes of one commit at their positions: `<ms>-<first>`, `<ms>-<first+1>`, …
fn number(ms: u64, first: u64, changes: Vec<Change>) -> Vec<ChangeEntry> {
    changes
        .into_iter()
        .enumerate()
        .map(|(i, change)| ChangeEntry {
            id: ChangeId {
                ms,
                seq: first + i as u64,
            },
            commit: first,
            change,
        })
        .collect()
}

/// The key just after every row at or before `id`.
fn after_key(t: &keys::StreamTables, id: ChangeId) -> Vec<u8> {
    match id.successor() {
        Some(s) => keys::entry(t, s.ms, s.seq).to_vec(),
        None => vec![t.entries + 1],
    }
}

/// The first key of a stream's entry table, and the key after it.
fn table(t: &keys::StreamTables) -> ([u8; 1], [u8; 1]) {
    ([t.entries], [t.entries + 1])
}

impl<'db> Changes<'db> {
    /// Which stream this is.
    pub fn stream(&self) -> Stream {
        self.stream
    }

    /// The position of the newest change readers can see (`0-0`: none
    /// yet). For the actions stream, the change log's: an action is visible
    /// when its change is.
    pub fn last(&self) -> ChangeId {
        self.db.inner.feed.published()
    }

    /// The last position trimmed away (`0-0`: nothing trimmed).
    pub fn trimmed(&self) -> ChangeId {
        *self.db.inner.feed.trimmed.lock()
    }

    /// How many entries the stream holds now (the actions stream counts
    /// its rows).
    pub fn len(&self) -> u64 {
        match self.stream {
            Stream::Changes => self.last().seq.saturating_sub(self.trimmed().seq),
            Stream::Actions => {
                let (lo, _) = table(self.stream.tables());
                let visible = after_key(self.stream.tables(), self.last());
                self.db
                    .inner
                    .engine
                    .scan(&lo, Some(&visible), false)
                    .count() as u64
            }
        }
    }

    /// Whether the log holds no change.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The oldest change kept, if any.
    pub fn first(&self) -> Result<Option<ChangeEntry>, FeedError> {
        Ok(self.range(ChangeId::ZERO, ChangeId::MAX, 1, false)?.pop())
    }

    fn check_trimmed(&self, after: ChangeId) -> Result<(), FeedError> {
        let trimmed = self.trimmed();
        if after != ChangeId::ZERO && after < trimmed {
            return Err(FeedError::Trimmed {
                asked: after,
                trimmed,
            });
        }
        Ok(())
    }

    /// At most `limit` changes after position `after`, oldest first. `0-0`
    /// reads from the oldest change kept; a position that was trimmed away
    /// is an error ([`FeedError::Trimmed`]), never a silent skip.
    pub fn read_after(&self, after: ChangeId, limit: usize) -> Result<Vec<ChangeEntry>, FeedError> {
        self.check_trimmed(after)?;
        match after.successor() {
            Some(from) => self.range(from, ChangeId::MAX, limit, false),
            None => Ok(Vec::new()),
        }
    }

    /// At most `limit` changes with `from <= id <= to`, oldest first (or
    /// newest first when `rev`).
    pub fn range(
        &self,
        from: ChangeId,
        to: ChangeId,
        limit: usize,
        rev: bool,
    ) -> Result<Vec<ChangeEntry>, FeedError> {
        let visible = self.last();
        let to = to.min(visible);
        if from > to || limit == 0 {
            return Ok(Vec::new());
        }
        let engine = &self.db.inner.engine;
        let t = self.stream.tables();
        let (start, end) = table(t);
        let mut out = Vec::new();
        if rev {
            // From the row holding `to` backwards.
            for row in engine.scan(&start, Some(&after_key(t, to)), true) {
                let (k, v) = row.map_err(StorageError::from)?;
                for e in decode_row(&k, &v)?.into_iter().rev() {
                    if e.id > to || e.id.seq > visible.seq {
                        continue;
                    }
                    if e.id < from || out.len() >= limit {
                        return Ok(out);
                    }
                    out.push(e);
                }
            }
            return Ok(out);
        }
        // Most reads start where a commit starts (after a position that
        // ended one): scan from `from`'s own key. Only when the first row
        // found starts past `from` does `from` lie inside an earlier row
        // (or in a trimmed gap): then start from the row holding it.
        let direct = keys::entry(t, from.ms, from.seq);
        let first_starts_after = match engine.scan(&direct, Some(&end), false).next() {
            Some(row) => {
                let (k, _) = row.map_err(StorageError::from)?;
                let (_, first) = keys::parse_change(&k).ok_or_else(|| StorageError::Corrupt {
                    key: keys::describe(&k),
                    reason: "malformed change key".into(),
                })?;
                first > from.seq
            }
            None => true,
        };
        let lo = if self.stream == Stream::Actions || !first_starts_after {
            direct.to_vec()
        } else {
            engine
                .scan(&start, Some(&after_key(t, from)), true)
                .next()
                .transpose()
                .map_err(StorageError::from)?
                .map(|(k, _)| k.to_vec())
                .unwrap_or_else(|| direct.to_vec())
        };
        for row in engine.scan(&lo, Some(&end), false) {
            let (k, v) = row.map_err(StorageError::from)?;
            for e in decode_row(&k, &v)? {
                if e.id < from {
                    continue;
                }
                if e.id > to || e.id.seq > visible.seq || out.len() >= limit {
                    return Ok(out);
                }
                out.push(e);
            }
        }
        Ok(out)
    }

    /// Blocks until a change after `after` is visible, or `timeout` passes
    /// (`None`: waits for ever). Woken by the commit, not by polling.
    /// Returns whether one is.
    pub fn wait(&self, after: ChangeId, timeout: Option<Duration>) -> bool {
        let deadline = timeout.map(|t| Instant::now() + t);
        self.db.inner.feed.wait_after(after.seq, deadline)
    }

    /// Every change after `after`, then each new one as it is committed:
    /// an iterator that blocks while there is nothing new.
    pub fn follow(&self, after: ChangeId) -> Follow<'db> {
        Follow {
            changes: *self,
            position: after,
            buffer: std::collections::VecDeque::new(),
            timeout: None,
        }
    }
}

/// A live view of the change log: yields every change after its starting
/// position, blocking while there is none. Made by [`Changes::follow`].
pub struct Follow<'db> {
    changes: Changes<'db>,
    position: ChangeId,
    buffer: std::collections::VecDeque<ChangeEntry>,
    timeout: Option<Duration>,
}

impl Follow<'_> {
    /// Stop waiting after `timeout` without a new change (the iterator then
    /// ends); by default it waits for ever.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The position of the last change yielded.
    pub fn position(&self) -> ChangeId {
        self.position
    }
}

impl Iterator for Follow<'_> {
    type Item = Result<ChangeEntry, FeedError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(e) = self.buffer.pop_front() {
                self.position = e.id;
                return Some(Ok(e));
            }
            // What was visible before reading: an empty read has seen
            // everything up to it. On the actions stream the change log
            // moves on without an action, so waiting for a change after
            // our own position would return at once, again and again.
            let visible = self.changes.last();
            match self.changes.read_after(self.position, 1024) {
                Err(e) => return Some(Err(e)),
                Ok(batch) if !batch.is_empty() => self.buffer.extend(batch),
                Ok(_) => {
                    if !self.changes.wait(self.position.max(visible), self.timeout) {
                        return None;
                    }
                }
            }
        }
    }
}

impl Changes<'_> {
    /// Trims what the retention keeps no longer, whole commits at a time,
    /// in batches of about `batch` changes, with the actions raised by the
    /// changes trimmed. Never trims past the position of the interaction
    /// rules (changes they have not evaluated yet stay). Returns how many
    /// changes were trimmed. Runs in the background about once a second;
    /// callable directly (on either stream: both are trimmed together).
    pub fn trim(&self, batch: usize) -> Result<u64, FeedError> {
        let db = self.db;
        let hold = db.inner.trim_hold.load(std::sync::atomic::Ordering::SeqCst);
        let r = db.inner.feed.retention;
        let mut total = 0;
        loop {
            let _w = db.inner.writer.lock();
            if db.inner.checks.load(std::sync::atomic::Ordering::SeqCst) > 0 {
                // A check is reading the log: trim after it.
                return Ok(total);
            }
            let last = self.last();
            let trimmed = self.trimmed();
            let cutoff_ms = r.max_age.map(|a| {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as u64)
                    .unwrap_or(0);
                now.saturating_sub(a.as_millis() as u64)
            });
            let mut b = crate::storage::WriteBatch::default();
            let mut n = 0u64;
            let mut new_trimmed = trimmed;
            let (lo, hi) = table(&keys::CHANGES);
            for row in db.inner.engine.scan(&lo, Some(&hi), false) {
                let (k, v) = row.map_err(StorageError::from)?;
                let entries = decode_row(&k, &v)?;
                let row_last = entries.last().expect("rows are never empty").id;
                let kept = last.seq.saturating_sub(new_trimmed.seq);
                let by_count = r.max_changes.is_some_and(|m| kept > m);
                let by_age = cutoff_ms.is_some_and(|c| row_last.ms < c);
                if row_last.seq > last.seq
                    || row_last.seq > hold
                    || !(by_count || by_age)
                    || n as usize >= batch
                {
                    break;
                }
                b.remove(&k[..]);
                new_trimmed = row_last;
                n += entries.len() as u64;
            }
            if n == 0 {
                return Ok(total);
            }
            let (alo, _) = table(&keys::ACTIONS);
            for row in
                db.inner
                    .engine
                    .scan(&alo, Some(&after_key(&keys::ACTIONS, new_trimmed)), false)
            {
                let (k, _) = row.map_err(StorageError::from)?;
                b.remove(&k[..]);
            }
            b.put(
                keys::meta(META_CHANGE_TRIMMED),
                codec::encode_pair(new_trimmed.ms, new_trimmed.seq),
            );
            db.inner.engine.apply(b).map_err(StorageError::from)?;
            *db.inner.feed.trimmed.lock() = new_trimmed;
            total += n;
        }
    }
}

/// Reads the log's last and trimmed positions at open: the last is the
/// last entry of the last row (or the trim point, when everything was trimmed).
pub(crate) fn positions<S: Source>(src: &S) -> Result<(ChangeId, ChangeId), StorageError> {
    let key = keys::meta(META_CHANGE_TRIMMED);
    let trimmed = match src.get(&key)? {
        Some(v) => {
            let (ms, seq) = codec::decode_pair(&key, &v)?;
            ChangeId { ms, seq }
        }
        None => ChangeId::ZERO,
    };
    let (lo, hi) = table(&keys::CHANGES);
    let last = match src.scan(&lo, Some(&hi), true).next() {
        Some(row) => {
            let (k, v) = row?;
            decode_row(&k, &v)?.last().expect("rows are never empty").id
        }
        None => trimmed,
    };
    Ok((last.max(trimmed), trimmed))
}

/// Milliseconds since the epoch now.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The changes of a commit with positions, and the `Committed` change last.
pub(crate) fn place_entries(
    last: ChangeId,
    mut changes: Vec<Change>,
    customers: Vec<EntityId>,
) -> Vec<ChangeEntry> {
    let ms = now_ms().max(last.ms);
    let commit = last.seq + 1;
    let n = changes.len() as u64;
    changes.push(Change::Committed {
        customers,
        changes: n,
    });
    number(ms, commit, changes)
}
