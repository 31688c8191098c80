//! The database's side of the interaction rules (`crate::rules`): the rows
//! they keep — their source texts, when each last fired for a customer,
//! their position in the change log — and the writes a firing adds to its
//! transaction. What a rule means lives in `rules/`; only this file knows
//! where its rows are.

use super::tx::Transaction;
use super::Db;
use crate::error::StorageError;
use crate::model::{Change, ChangeId, EntityId};
use crate::storage::{codec, keys, WriteBatch};

/// `meta/rules_position`: the last change the rules have evaluated.
const META_RULES_POSITION: &str = "rules_position";

impl Transaction<'_> {
    /// Adds an action to this transaction: its change goes to the change
    /// log, and its row to the actions stream at the same position.
    pub(crate) fn raise_action(&mut self, action: Change) {
        debug_assert!(matches!(action, Change::ActionRaised { .. }));
        self.changes.push(action);
    }

    /// Records that `rule` fired for `customer` at `ms` (its cooldown).
    pub(crate) fn note_fired(&mut self, rule: &str, customer: EntityId, ms: u64) {
        self.rows
            .put(keys::fired(rule, customer.0), codec::encode_u64(ms));
    }

    /// Moves the rules' position in the change log with this transaction.
    pub(crate) fn set_rules_position(&mut self, at: ChangeId) {
        self.rows.put(
            keys::meta(META_RULES_POSITION),
            codec::encode_pair(at.ms, at.seq),
        );
    }
}

impl Db {
    /// The rules' stored position in the change log (`None`: never run).
    pub(crate) fn stored_rules_position(&self) -> Result<Option<ChangeId>, StorageError> {
        let k = keys::meta(META_RULES_POSITION);
        match self.inner.engine.get(&k)? {
            Some(v) => {
                let (ms, seq) = codec::decode_pair(&k, &v)?;
                Ok(Some(ChangeId { ms, seq }))
            }
            None => Ok(None),
        }
    }

    /// Stores the rules' position outside any transaction (it is not a
    /// change: a position written through the log would be a change to
    /// evaluate, for ever). Called when evaluated changes fired nothing.
    pub(crate) fn store_rules_position(&self, at: ChangeId) -> Result<(), StorageError> {
        let _w = self.inner.writer.lock();
        if self.stored_rules_position()?.is_some_and(|p| p >= at) {
            return Ok(());
        }
        let mut b = WriteBatch::default();
        b.put(
            keys::meta(META_RULES_POSITION),
            codec::encode_pair(at.ms, at.seq),
        );
        self.inner.engine.apply(b)?;
        Ok(())
    }

    /// Keeps the change log's trimmer from passing `seq` (`u64::MAX`: free).
    pub(crate) fn hold_trim_at(&self, seq: u64) {
        self.inner
            .trim_hold
            .store(seq, std::sync::atomic::Ordering::SeqCst);
    }

    /// When `rule` last fired for `customer` (ms since the epoch).
    pub(crate) fn last_fired(
        &self,
        rule: &str,
        customer: EntityId,
    ) -> Result<Option<u64>, StorageError> {
        let k = keys::fired(rule, customer.0);
        match self.inner.engine.get(&k)? {
            Some(v) => Ok(Some(codec::decode_u64(&k, &v)?)),
            None => Ok(None),
        }
    }

    /// Every stored rule's name and source text, by name.
    pub(crate) fn stored_rules(&self) -> Result<Vec<(String, String)>, StorageError> {
        let mut out = Vec::new();
        for row in self.inner.engine.scan_prefix(&[keys::RULE]) {
            let (k, v) = row?;
            let name = keys::parse_rule(&k).ok_or_else(|| StorageError::Corrupt {
                key: keys::describe(&k),
                reason: "malformed rule key".into(),
            })?;
            out.push((name, codec::decode_text(&k, &v)?));
        }
        Ok(out)
    }

    /// Stores rules (`put`: name and source text) and removes others
    /// (`delete`, with when they fired), in one atomic, durable batch.
    pub(crate) fn write_rules(
        &self,
        put: &[(String, String)],
        delete: &[String],
    ) -> Result<(), StorageError> {
        let _w = self.inner.writer.lock();
        let mut b = WriteBatch::default();
        for name in delete {
            b.remove(keys::rule(name));
            for row in self.inner.engine.scan_prefix(&keys::fired_prefix(name)) {
                let (k, _) = row?;
                b.remove(&k[..]);
            }
        }
        for (name, text) in put {
            b.put(keys::rule(name), codec::encode_text(text));
        }
        self.inner.engine.apply(b)?;
        self.inner.engine.flush()?;
        Ok(())
    }

    /// Whether this handle writes the change log (rules need it).
    pub(crate) fn logs_changes(&self) -> bool {
        self.inner.change_log
    }
}
