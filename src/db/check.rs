//! Integrity check: every row cross-checked against the rows it implies.

use super::Db;
use crate::db::changes::ChangeId;
use crate::error::StorageError;
use crate::index::{self, Index};
use crate::model::{EntityId, ExternalId};
use crate::storage::{codec, keys};

/// One inconsistency found by [`Db::check`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The key concerned, in readable form.
    pub key: String,
    /// What is wrong.
    pub problem: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.problem)
    }
}

/// What [`Db::check`] looked at and what it found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Entities checked.
    pub entities: u64,
    /// Relationships checked (each counted once, not once per direction).
    pub relationships: u64,
    /// Cross-system identifiers checked.
    pub identifiers: u64,
    /// Index entries checked.
    pub index_entries: u64,
    /// Keys in the store, all tables.
    pub keys: u64,
    /// Bytes of all keys and values: the logical size, before the engine's
    /// own overhead (compare with [`crate::Db::disk_bytes`]).
    pub logical_bytes: u64,
    /// Whether the storage engine's own integrity check of its files ran
    /// and passed (redb has one; sled and fjall check their files as they
    /// read them, and have none to run). Damage it finds is a violation.
    pub engine_verified: bool,
    /// Every violation found.
    pub violations: Vec<Violation>,
}

impl CheckReport {
    /// Whether no violation was found.
    pub fn is_ok(&self) -> bool {
        self.violations.is_empty()
    }
}

struct Checker<'a> {
    db: &'a Db,
    report: CheckReport,
    max_id: u64,
    /// The change-log sequence number the next row must carry.
    next_seq: u64,
    /// The last change-log position seen.
    last_change: ChangeId,
    /// The change log's recorded last position.
    log_last: ChangeId,
}

impl Checker<'_> {
    /// A change-log row (one commit): it decodes, and its first sequence
    /// number follows the previous row's last with no gap.
    fn change(&mut self, k: &[u8], v: &[u8]) {
        let Some((ms, first)) = keys::parse_change(k) else {
            self.flag(k, "malformed change key");
            return;
        };
        let n = match codec::decode_commit(k, v) {
            Ok(c) => c.len() as u64,
            Err(e) => {
                self.flag(k, e.to_string());
                1
            }
        };
        if first != self.next_seq {
            self.flag(
                k,
                format!(
                    "change log gap: expected sequence {}, found {first}",
                    self.next_seq
                ),
            );
        }
        if ms < self.last_change.ms {
            self.flag(k, "change log milliseconds go backwards");
        }
        self.next_seq = first + n;
        self.last_change = ChangeId {
            ms,
            seq: first + n - 1,
        };
    }

    /// An entry of the actions stream: one action raised, at a position
    /// inside the change log.
    fn action(&mut self, k: &[u8], v: &[u8]) {
        let Some((ms, seq)) = keys::parse_change(k) else {
            self.flag(k, "malformed action key");
            return;
        };
        match codec::decode_commit(k, v) {
            Ok(c) if c.len() == 1 && matches!(c[0], crate::Change::ActionRaised { .. }) => {}
            Ok(_) => self.flag(k, "an actions row must hold exactly one action"),
            Err(e) => self.flag(k, e.to_string()),
        }
        if (ChangeId { ms, seq }) > self.log_last {
            self.flag(k, "action is past the end of the change log");
        }
    }

    /// A stored rule: its name and its text decode.
    fn rule(&mut self, k: &[u8], v: &[u8]) {
        if keys::parse_rule(k).is_none() {
            self.flag(k, "malformed rule key");
        }
        if let Err(e) = codec::decode_text(k, v) {
            self.flag(k, e.to_string());
        }
    }

    /// A consumer group: it decodes and its position is inside the log.
    fn group(&mut self, k: &[u8], v: &[u8]) {
        match codec::decode_state::<codec::GroupV1>(k, v) {
            Err(e) => self.flag(k, e.to_string()),
            Ok(g) if g.last_delivered.1 > self.log_last.seq => self.flag(
                k,
                format!(
                    "group position {}-{} is past the end of the change log ({})",
                    g.last_delivered.0, g.last_delivered.1, self.log_last
                ),
            ),
            Ok(_) => {}
        }
    }

    /// A pending change or a consumer: its group exists; a pending change
    /// was delivered (is not past the group's position).
    fn group_member(&mut self, k: &[u8], v: &[u8]) -> Result<(), StorageError> {
        let Some((name, _)) = keys::take_escaped(&k[1..]) else {
            self.flag(k, "malformed key");
            return Ok(());
        };
        let name = String::from_utf8_lossy(&name).into_owned();
        let t = if k[0] >= keys::ACTION {
            &keys::ACTIONS
        } else {
            &keys::CHANGES
        };
        let gk = keys::group(t, &name);
        let group = match self.db.inner.engine.get(&gk)? {
            Some(g) => codec::decode_state::<codec::GroupV1>(&gk, &g).ok(),
            None => None,
        };
        let Some(group) = group else {
            self.flag(
                k,
                format!("belongs to consumer group {name:?}, which does not exist"),
            );
            return Ok(());
        };
        if k[0] == t.pending {
            if let Err(e) = codec::decode_state::<codec::PendingV1>(k, v) {
                self.flag(k, e.to_string());
            }
            if let Some(at) = keys::parse_pending_tail(k) {
                if at > group.last_delivered {
                    self.flag(k, "pending change was never delivered to its group");
                }
            }
        } else if let Err(e) = codec::decode_state::<codec::ConsumerV1>(k, v) {
            self.flag(k, e.to_string());
        }
        Ok(())
    }

    fn flag(&mut self, key: &[u8], problem: impl Into<String>) {
        self.report.violations.push(Violation {
            key: keys::describe(key),
            problem: problem.into(),
        });
    }

    fn entity(&self, id: u64) -> Result<Option<crate::model::EntityRecord>, StorageError> {
        let key = keys::node(id);
        match self.db.inner.engine.get(&key)? {
            None => Ok(None),
            Some(v) => Ok(codec::decode_record(&key, EntityId(id), &v).ok()),
        }
    }

    fn exists(&self, key: &[u8]) -> Result<bool, StorageError> {
        Ok(self.db.inner.engine.contains(key)?)
    }

    fn node(&mut self, k: &[u8], v: &[u8]) -> Result<(), StorageError> {
        let Some((id, _)) = keys::take_u64(&k[1..]).filter(|_| k.len() == 9) else {
            self.flag(k, "malformed entity key");
            return Ok(());
        };
        self.report.entities += 1;
        self.max_id = self.max_id.max(id);
        let e = match codec::decode_record(k, EntityId(id), v) {
            Ok(e) => e,
            Err(err) => {
                self.flag(k, err.to_string());
                return Ok(());
            }
        };
        if !self.db.inner.registry.read().entity.contains_key(&e.kind.0) {
            self.flag(k, format!("entity kind {} is not registered", e.kind.0));
        }
        if !self.exists(&keys::kind(e.kind.0, id))? {
            self.flag(k, "missing from the listing of its kind");
        }
        if e.kind == crate::model::EntityKind::SOURCE_RECORD {
            let prefix =
                keys::adj_kind_prefix(id, keys::DIR_OUT, crate::model::RelKind::RESOLVES_TO.0);
            let links = super::scan_prefix(&self.db.inner.engine, &prefix, false).count();
            if links != 1 {
                self.flag(
                    k,
                    format!("source record resolves to {links} customers, not exactly one"),
                );
            }
        }
        for x in &e.identifiers {
            let xk = keys::xref(&x.system, &x.key);
            match self.db.inner.engine.get(&xk)? {
                None => self.flag(k, format!("identifier {x} is not in the identifier index")),
                Some(v) => match codec::decode_u64(&xk, &v) {
                    Ok(owner) if owner == id => {}
                    Ok(owner) => self.flag(k, format!("identifier {x} points to entity {owner}")),
                    Err(_) => {} // reported when the identifier row itself is checked
                },
            }
        }
        for (ix, value) in index::entries(e.kind, &e.attrs, &self.db.inner.country_code) {
            if !self.exists(&keys::idx(ix.code(), value.as_bytes(), id))? {
                self.flag(k, format!("{ix} value {value:?} is not in the index"));
            }
        }
        Ok(())
    }

    fn adj(&mut self, k: &[u8], v: &[u8]) -> Result<(), StorageError> {
        let Some(a) = keys::parse_adj(k) else {
            self.flag(k, "malformed adjacency key");
            return Ok(());
        };
        if a.dir == keys::DIR_OUT {
            self.report.relationships += 1;
        }
        if let Err(err) = codec::decode_edge(k, v) {
            self.flag(k, err.to_string());
        }
        if !self.db.inner.registry.read().rel.contains_key(&a.kind) {
            self.flag(k, format!("relationship kind {} is not registered", a.kind));
        }
        let twin = keys::adj(a.other, 1 - a.dir, a.kind, a.id);
        match self.db.inner.engine.get(&twin)? {
            None => self.flag(
                k,
                format!("the other direction {} is missing", keys::describe(&twin)),
            ),
            Some(tv) if tv.as_ref() != v => {
                self.flag(k, "properties differ from the other direction")
            }
            Some(_) => {}
        }
        for end in [a.id, a.other] {
            if !self.exists(&keys::node(end))? {
                self.flag(k, format!("entity {end} at one end does not exist"));
            }
        }
        if a.dir == keys::DIR_OUT && a.kind == crate::model::RelKind::HAD_INTERACTION.0 {
            if let Some(i) = self.entity(a.other)? {
                let t = i.interaction_time();
                if !self.exists(&keys::timeline(a.id, t, a.other))? {
                    self.flag(k, "missing from the party's interaction timeline");
                }
            }
        }
        Ok(())
    }

    fn timeline(&mut self, k: &[u8], v: &[u8]) -> Result<(), StorageError> {
        let Some((party, t, interaction)) = keys::parse_timeline(k) else {
            self.flag(k, "malformed timeline key");
            return Ok(());
        };
        if codec::check_marker(k, v).is_err() {
            self.flag(k, "timeline value is not a version-1 marker");
        }
        let edge = keys::adj(
            party,
            keys::DIR_OUT,
            crate::model::RelKind::HAD_INTERACTION.0,
            interaction,
        );
        if !self.exists(&edge)? {
            self.flag(
                k,
                format!("no HAD_INTERACTION relationship from {party} to {interaction}"),
            );
        }
        match self.entity(interaction)? {
            None => self.flag(
                k,
                format!("interaction {interaction} does not exist or does not decode"),
            ),
            Some(i) if i.interaction_time() != t => self.flag(
                k,
                format!("interaction {interaction} is no longer at time {t}"),
            ),
            Some(_) => {}
        }
        Ok(())
    }

    fn xref(&mut self, k: &[u8], v: &[u8]) -> Result<(), StorageError> {
        let Some((system, key)) = keys::parse_xref(k) else {
            self.flag(k, "malformed identifier key");
            return Ok(());
        };
        self.report.identifiers += 1;
        let id = match codec::decode_u64(k, v) {
            Ok(id) => id,
            Err(err) => {
                self.flag(k, err.to_string());
                return Ok(());
            }
        };
        match self.entity(id)? {
            None => self.flag(
                k,
                format!("points to entity {id}, which does not exist or does not decode"),
            ),
            Some(e) => {
                let x = ExternalId { system, key };
                if !e.identifiers.contains(&x) {
                    self.flag(k, format!("entity {id} does not list this identifier"));
                }
            }
        }
        Ok(())
    }

    fn idx(&mut self, k: &[u8], v: &[u8]) -> Result<(), StorageError> {
        let Some((code, value, id)) = keys::parse_idx(k) else {
            self.flag(k, "malformed index key");
            return Ok(());
        };
        self.report.index_entries += 1;
        if codec::check_marker(k, v).is_err() {
            self.flag(k, "index entry value is not a version-1 marker");
        }
        let Some(ix) = Index::from_code(code) else {
            self.flag(k, format!("unknown index code {code}"));
            return Ok(());
        };
        match self.entity(id)? {
            None => self.flag(
                k,
                format!("points to entity {id}, which does not exist or does not decode"),
            ),
            Some(e) => {
                let value = String::from_utf8_lossy(&value).into_owned();
                let has = index::entries(e.kind, &e.attrs, &self.db.inner.country_code)
                    .into_iter()
                    .any(|(i, val)| i == ix && val == value);
                if !has {
                    self.flag(k, format!("entity {id} no longer has this {ix} value"));
                }
            }
        }
        Ok(())
    }

    fn kind(&mut self, k: &[u8], v: &[u8]) -> Result<(), StorageError> {
        let Some((kind, id)) = keys::parse_kind(k) else {
            self.flag(k, "malformed kind listing key");
            return Ok(());
        };
        if codec::check_marker(k, v).is_err() {
            self.flag(k, "kind listing value is not a version-1 marker");
        }
        match self.entity(id)? {
            None => self.flag(
                k,
                format!("lists entity {id}, which does not exist or does not decode"),
            ),
            Some(e) if e.kind.0 != kind => self.flag(
                k,
                format!("entity {id} is of kind {}, not {kind}", e.kind.0),
            ),
            Some(_) => {}
        }
        Ok(())
    }
}

impl Db {
    /// Verifies the integrity of the whole database and reports every
    /// violation: every relationship present in both directions with the
    /// same properties and live ends; every identifier and index entry
    /// pointing to a live entity that has it; every identifier and indexed
    /// value of every entity present in its index; every value decodable.
    ///
    /// Reads the whole store; it does not block writers, so run it on a
    /// quiet database for an exact answer. The background trimming of the
    /// change log waits while it runs.
    pub fn check(&self) -> Result<CheckReport, StorageError> {
        // No trim of the change log while the check reads it (registered
        // under the writer lock, so that no trim is half-way either).
        let _no_trim = {
            let _w = self.inner.writer.lock();
            NoTrim::new(&self.inner.checks)
        };
        let (log_last, trimmed) = crate::db::changes::log::positions(&self.inner.engine)?;
        let verified = self.inner.engine.verify();
        let mut c = Checker {
            db: self,
            report: CheckReport::default(),
            max_id: 0,
            next_seq: trimmed.seq + 1,
            last_change: trimmed,
            log_last,
        };
        match verified {
            Ok(ran) => c.report.engine_verified = ran,
            Err(e) => c.flag(&[], format!("the {} engine's check: {e}", self.engine())),
        }
        for row in self.inner.engine.scan_prefix(&[]) {
            let (k, v) = row?;
            c.report.keys += 1;
            c.report.logical_bytes += (k.len() + v.len()) as u64;
            match k.first().copied() {
                Some(keys::META) | Some(keys::REG) | Some(keys::COUNT) => {}
                Some(keys::NODE) => c.node(&k, &v)?,
                Some(keys::ADJ) => c.adj(&k, &v)?,
                Some(keys::XREF) => c.xref(&k, &v)?,
                Some(keys::IDX) => c.idx(&k, &v)?,
                Some(keys::KIND) => c.kind(&k, &v)?,
                Some(keys::TIMELINE) => c.timeline(&k, &v)?,
                Some(keys::CHANGE) => c.change(&k, &v),
                Some(keys::ACTION) => c.action(&k, &v),
                Some(keys::GROUP | keys::ACTION_GROUP) => c.group(&k, &v),
                Some(
                    keys::PENDING | keys::CONSUMER | keys::ACTION_PENDING | keys::ACTION_CONSUMER,
                ) => c.group_member(&k, &v)?,
                Some(keys::RULE) => c.rule(&k, &v),
                Some(keys::FIRED) => {
                    if let Err(e) = codec::decode_u64(&k, &v) {
                        c.flag(&k, e.to_string());
                    }
                }
                _ => c.flag(&k, "key of no known table"),
            }
        }
        let actual = super::format::count_rows(&self.inner.engine)?;
        for row in self.inner.engine.scan_prefix(&[keys::COUNT]) {
            let (k, v) = row?;
            let Some(sc) = keys::parse_space_code(keys::COUNT, &k) else {
                c.flag(&k, "malformed counter key");
                continue;
            };
            match codec::decode_u64(&k, &v) {
                Ok(n) if n == actual.get(&sc).copied().unwrap_or(0) => {}
                Ok(n) => c.flag(
                    &k,
                    format!(
                        "counter says {n}, store holds {}",
                        actual.get(&sc).copied().unwrap_or(0)
                    ),
                ),
                Err(e) => c.flag(&k, e.to_string()),
            }
        }
        for (sc, n) in &actual {
            if !self.inner.engine.contains(&keys::count(sc.0, sc.1))? {
                c.flag(
                    &keys::count(sc.0, sc.1),
                    format!("counter missing; store holds {n}"),
                );
            }
        }
        let next_key = keys::meta(super::format::META_NEXT_ID);
        let next = match self.inner.engine.get(&next_key)? {
            Some(v) => codec::decode_u64(&next_key, &v).ok(),
            None => None,
        };
        match next {
            Some(n) if n > c.max_id => {}
            Some(n) => c.flag(
                &next_key,
                format!("id counter {n} is not above the largest id {}", c.max_id),
            ),
            None => c.flag(&next_key, "id counter missing or unreadable"),
        }
        Ok(c.report)
    }
}

/// Holds the change-log trimmer off while it lives.
struct NoTrim<'a>(&'a std::sync::atomic::AtomicUsize);

impl<'a> NoTrim<'a> {
    fn new(checks: &'a std::sync::atomic::AtomicUsize) -> NoTrim<'a> {
        checks.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        NoTrim(checks)
    }
}

impl Drop for NoTrim<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::NoTrim;
    use crate::{Db, NewEntity, Retention};

    /// The background trimmer removes the oldest change-log rows; under a
    /// check reading the log row after row, that looked like a gap (a
    /// freshly generated bank of 100,000 persons failed its check so).
    #[test]
    fn the_change_log_is_not_trimmed_while_a_check_reads_it() {
        let db = Db::builder()
            .in_memory()
            .retention(Retention {
                max_changes: Some(10),
                max_age: None,
            })
            .open()
            .unwrap();
        for i in 0..50 {
            db.create(NewEntity::person().attr("given_name", format!("p{i}")))
                .unwrap();
        }
        {
            let _checking = NoTrim::new(&db.inner.checks);
            assert_eq!(db.changes().trim(10_000).unwrap(), 0);
        }
        assert!(db.changes().trim(10_000).unwrap() > 0);
        assert!(db.check().unwrap().is_ok());
        assert_eq!(db.inner.checks.load(std::sync::atomic::Ordering::SeqCst), 0);
    }
}
