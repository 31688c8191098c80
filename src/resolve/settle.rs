//! Order-independent resolution: the neighbourhood a change touches is
//! clustered again from its records, in a canonical order, so that the same
//! records in any order give the same customers.
//!
//! The customers are defined by the records alone (see docs/resolution.md
//! "Order independence"):
//! - two records are *compared* when they share a blocking key whose block
//!   holds at most `max_block` records (the family-name count key is never
//!   a block);
//! - their score weighs an exact agreement by how many records share the
//!   value they agree on (the phone, email, postcode + house number and
//!   family-name blocks they share);
//! - pairs at or above the match threshold on identifying fields are joined
//!   strongest first (ties by the records' `(system, key)`), and a join that
//!   would put two records a veto or the user keeps apart in one customer is
//!   refused; the user's "same" pairs are joined first;
//! - then a customer whose only other match is a shared account number with
//!   exactly one other customer joins it (a joint account's two owners stay
//!   two, a possible match).
//!
//! When a record arrives, changes or goes, the neighbourhood is every record
//! of the blocks its keys name (the pairs whose weights its arrival changes),
//! of a block it takes over `max_block` (the pairs that block no longer
//! compares), and of a family name it makes common or no longer rare, then
//! the whole customers of those records and, transitively, the customers a
//! refused join links them to (`SHARES_CONTACT`). Every join that the
//! clustering could decide differently now lies inside it, so clustering it
//! again gives what clustering everything again would.

use super::{comparable_entity, compare, ResolveConfig, ResolveError};
use crate::index::Index;
use crate::model::attrs as a;
use crate::model::{Attrs, Direction, EdgeProps, EntityId, EntityKind, NewEntity, RelKind, Value};
use crate::Transaction;
use compare::{Frequencies, FAMILY_COUNT, PARTY_KIND, RARE_BONUS};
use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One node of a neighbourhood: a source record, or the owner of an
/// account a record names (an anchor: a party that is not made of records).
struct Node {
    id: EntityId,
    /// `(system, key)`: the canonical order. Anchors sort first, by id.
    name: (String, String),
    attrs: Attrs,
    /// [`crate::Entity::fingerprint`] of the record (0 for an anchor).
    print: u64,
    keys: Vec<String>,
    customer: Option<EntityId>,
    anchor: bool,
    /// A record of a customer outside the neighbourhood that the change may
    /// make a possible match or a `SHARES_CONTACT` of, but never join: it
    /// is scored, never clustered or moved.
    outside: bool,
}

/// One side of a pair to compare: the record, a fingerprint of its stored
/// bytes (0 for an anchor, whose profile is made, not stored: never held)
/// and its compared attributes.
type Side<'a> = (EntityId, u64, &'a Attrs);

/// Comparisons of record pairs already made, kept per database handle. A
/// comparison is a function of the rules and the two records' stored bytes
/// alone, so a pair is compared again only when one of them changed (or the
/// counts of the values they share crossed a weight step): each time a
/// record joins a customer, the pairs among the customer's other records
/// are not compared again. Pairs are held in the canonical order.
///
/// Memory is bounded by two generations of [`PAIRS_HELD`] pairs each
/// (`db::generations::Generations`: the pairs in use stay, the others go).
#[derive(Default)]
pub(crate) struct PairMemo {
    rules: Option<compare::Rules>,
    pairs: crate::db::generations::Generations<(EntityId, EntityId), Held, PAIRS_HELD>,
}

/// A pair held: what is known of it, and how each field agrees (to weigh
/// it again with other counts without comparing again).
type Held = (Memo, Box<[compare::Agreement]>);

/// The most pairs one generation of a [`PairMemo`] holds (about 180 bytes
/// each with the fields' agreements: 2 x 128 Ki pairs, about 45 MiB at
/// most).
const PAIRS_HELD: usize = 1 << 17;

/// What is known of one pair.
#[derive(Clone, Copy)]
struct Memo {
    prints: (u64, u64),
    /// Total and identifying score with every weight whole.
    whole: (f64, f64),
    /// [`compare::Rules::veto`].
    veto: Option<&'static str>,
    /// [`compare::hard_conflict_on`] between organizations.
    hard: Option<&'static str>,
    /// Total and identifying score with the counts of one class.
    weighed: Option<([u8; 4], f64, f64)>,
}

impl PairMemo {
    /// The pair `x`, `y` (in the canonical order), compared with every
    /// weight whole.
    fn pair(&mut self, rules: &compare::Rules, x: Side<'_>, y: Side<'_>) -> Memo {
        if self.rules.as_ref() != Some(rules) {
            self.pairs.clear();
            self.rules = Some(rules.clone());
        }
        let held = x.1 != 0 && y.1 != 0;
        if held {
            if let Some((m, _)) = self.pairs.get_mut(&(x.0, y.0)) {
                if m.prints == (x.1, y.1) {
                    return *m;
                }
            }
        }
        let agreements = compare::agreements(rules, x.2, y.2);
        let whole = match &agreements {
            Some(ag) => {
                let c = compare::weigh(rules, x.2, y.2, ag, &Frequencies::default());
                (c.total, c.identifying)
            }
            None => (f64::NEG_INFINITY, f64::NEG_INFINITY),
        };
        let m = Memo {
            prints: (x.1, y.1),
            whole,
            veto: rules.veto(x.2, y.2),
            hard: compare::is_organization(x.2)
                .then(|| compare::hard_conflict_on(x.2, y.2))
                .flatten(),
            weighed: None,
        };
        if held {
            let ag = agreements.unwrap_or_default().into_boxed_slice();
            self.pairs.insert((x.0, y.0), (m, ag));
        }
        m
    }

    /// Total and identifying score of the pair with the counts `freq`.
    fn weighed(
        &mut self,
        rules: &compare::Rules,
        x: Side<'_>,
        y: Side<'_>,
        freq: &Frequencies,
    ) -> (f64, f64) {
        let m = self.pair(rules, x, y);
        let class = freq.class();
        if class == Frequencies::default().class() {
            return m.whole;
        }
        if let Some((c, total, identifying)) = m.weighed {
            if c == class {
                return (total, identifying);
            }
        }
        // Weighed again from the fields' agreements when the pair is held.
        if let Some((m, ag)) = self.pairs.get_mut(&(x.0, y.0)) {
            if x.1 != 0 && y.1 != 0 && m.prints == (x.1, y.1) && !ag.is_empty() {
                let cmp = compare::weigh(rules, x.2, y.2, ag, freq);
                m.weighed = Some((class, cmp.total, cmp.identifying));
                return (cmp.total, cmp.identifying);
            }
        }
        let cmp = compare::compare_with(rules, x.2, y.2, freq);
        (cmp.total, cmp.identifying)
    }
}

/// One scored pair of nodes.
#[derive(Clone, Copy)]
struct Pair {
    i: usize,
    j: usize,
    /// The score without a shared account number.
    identifying: f64,
    /// The score with it.
    total: f64,
    /// A veto keeps the two apart.
    veto: Option<&'static str>,
    /// The two agree exactly on an email, a phone or an address.
    contact: bool,
}

/// Union-find over nodes whose unions can be refused.
struct Clusters {
    parent: Vec<usize>,
    members: Vec<Vec<usize>>,
}

impl Clusters {
    fn new(n: usize) -> Clusters {
        Clusters {
            parent: (0..n).collect(),
            members: (0..n).map(|i| vec![i]).collect(),
        }
    }

    fn root(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    /// Joins the clusters of `x` and `y` unless `apart` holds for a pair
    /// across them (given both clusters' members). Whether they are one
    /// cluster afterwards.
    fn union(
        &mut self,
        x: usize,
        y: usize,
        mut apart: impl FnMut(usize, usize, &[usize], &[usize]) -> bool,
    ) -> bool {
        let (rx, ry) = (self.root(x), self.root(y));
        if rx == ry {
            return true;
        }
        let (xs, ys) = (&self.members[rx], &self.members[ry]);
        for p in xs {
            for q in ys {
                if apart(*p, *q, xs, ys) {
                    return false;
                }
            }
        }
        let (keep, gone) = (rx.min(ry), rx.max(ry));
        let moved = std::mem::take(&mut self.members[gone]);
        self.members[keep].extend(moved);
        self.parent[gone] = keep;
        true
    }
}

/// What settling a neighbourhood did.
#[derive(Default, Debug)]
pub(super) struct Settled {
    /// Each record's customer afterwards.
    pub(super) customer: BTreeMap<EntityId, EntityId>,
    /// Customers created.
    pub(super) created: BTreeSet<EntityId>,
    /// Customers merged away, with the customer each now redirects to.
    pub(super) merged: BTreeMap<EntityId, EntityId>,
    /// Customers deleted (left without records).
    pub(super) deleted: BTreeSet<EntityId>,
    /// For each customer that lost records to new customers, those.
    pub(super) split_off: BTreeMap<EntityId, Vec<EntityId>>,
    /// Each customer's customers it is possibly the same as, with the score.
    pub(super) possible: BTreeMap<EntityId, (EntityId, f64)>,
    /// The best total score of a record with another of its customer.
    pub(super) best: BTreeMap<EntityId, f64>,
    /// The records' customers before.
    pub(super) before: BTreeMap<EntityId, Option<EntityId>>,
}

/// How many records hold each blocking key, read once per settle.
#[derive(Default)]
struct Counts(HashMap<String, usize>);

/// The most records a block read returns: one over `max_block` tells a
/// block that just became too large from one that was already.
fn block_limit(key: &str, config: &ResolveConfig) -> usize {
    if key.starts_with(FAMILY_COUNT) {
        compare::COMMON_NAME + 1
    } else {
        config.max_block + 2
    }
}

/// The frequency a shared key counts, if any.
fn freq_field(key: &str) -> Option<fn(&mut Frequencies) -> &mut usize> {
    if key.starts_with(FAMILY_COUNT) {
        return Some(|f| &mut f.family_name);
    }
    let bare = key.strip_prefix('o').unwrap_or(key);
    if bare.starts_with(compare::PHONE_KEY) {
        Some(|f| &mut f.phone)
    } else if bare.starts_with(compare::ADDRESS_KEY) {
        Some(|f| &mut f.address)
    } else if bare.starts_with(compare::EMAIL_KEY) {
        Some(|f| &mut f.email)
    } else {
        None
    }
}

/// Whether two records sharing `common` keys share a contact: an email, a
/// phone, or an address (postcode and house number, and street and house
/// number).
fn shares_contact(common: &[&str]) -> bool {
    let has = |prefix: &str| {
        common
            .iter()
            .any(|k| k.strip_prefix('o').unwrap_or(k).starts_with(prefix))
    };
    has(compare::EMAIL_KEY)
        || has(compare::PHONE_KEY)
        || (has(compare::ADDRESS_KEY) && has(compare::STREET_HOUSE_KEY))
}

/// Why two customers are linked `SHARES_CONTACT` when a join between
/// their records was refused (a third record's veto, a user's decision):
/// the links resolution follows to take a neighbourhood whole.
const REFUSED: &str = "conflict";

/// The property of a `SHARES_CONTACT` link saying what kept the two apart:
/// a veto's name or [`REFUSED`].
const VIA: &str = "via";

/// A rank of how large a block of this key tends to be: identifiers hold a
/// person or two, contact details a household, name keys many.
fn likely_size(key: &str) -> u8 {
    let bare = key.strip_prefix('o').unwrap_or(key);
    let starts = |p: &[&str]| p.iter().any(|x| bare.starts_with(x));
    if starts(&[
        "n:", "na:", "nb:", "t:", "r:", "pp:", "dl:", "lei:", "duns:", "acct:",
    ]) {
        0
    } else if starts(&[compare::EMAIL_KEY, compare::PHONE_KEY]) {
        1
    } else if starts(&[compare::ADDRESS_KEY, compare::STREET_HOUSE_KEY, "sp:"]) {
        2
    } else {
        3
    }
}

/// The keys two sorted key lists share.
fn shared<'k>(x: &'k [String], y: &[String]) -> Vec<&'k str> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < x.len() && j < y.len() {
        match x[i].cmp(&y[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(x[i].as_str());
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// A record's first identifier, `(system, key)`: its place in the
/// canonical order (`None`: a record without one, never clustered).
fn name_of(e: &crate::Entity) -> Option<(String, String)> {
    e.identifiers()
        .into_iter()
        .next()
        .map(|x| (x.system, x.key))
}

/// A record read while gathering: the entity, its compared attributes,
/// its fingerprint and its name in the canonical order.
type Loaded = (crate::Entity, Attrs, u64, Option<(String, String)>);

/// A record's stored blocking keys, sorted.
pub(super) fn stored_keys(e: &crate::Entity) -> Vec<String> {
    let mut keys: Vec<String> = match e.attr(a::BLOCKING_KEYS) {
        Some(v) => v.texts().into_iter().map(str::to_string).collect(),
        None => Vec::new(),
    };
    keys.sort();
    keys.dedup();
    keys
}

/// The records of a neighbourhood with their customers, the records scored
/// from outside it with theirs, and the entities already read.
struct Region {
    records: BTreeMap<EntityId, Option<EntityId>>,
    outside: BTreeMap<EntityId, EntityId>,
    /// Records read while gathering, with their compared attributes.
    loaded: FxHashMap<EntityId, Loaded>,
}

impl Transaction<'_> {
    fn count(
        &self,
        counts: &mut Counts,
        key: &str,
        config: &ResolveConfig,
    ) -> Result<usize, ResolveError> {
        if let Some(n) = counts.0.get(key) {
            return Ok(*n);
        }
        let n = self.block_count(key, block_limit(key, config))?;
        counts.0.insert(key.to_string(), n);
        Ok(n)
    }

    /// The records of the neighbourhood: `seeds`, the records of the blocks
    /// `keys` name whose pairs the change may have touched, `customers`,
    /// and the closure of all of their customers over `SHARES_CONTACT`.
    /// Returns each record with its customer.
    #[allow(clippy::type_complexity)]
    fn region(
        &self,
        seeds: &[EntityId],
        keys: &[String],
        customers: &[EntityId],
        counts: &mut Counts,
        memo: &mut PairMemo,
        config: &ResolveConfig,
    ) -> Result<Region, ResolveError> {
        let mut records: BTreeMap<EntityId, Option<EntityId>> = BTreeMap::new();
        let mut loaded: FxHashMap<EntityId, Loaded> = FxHashMap::default();
        let mut outside: BTreeSet<EntityId> = BTreeSet::new();
        let mut queue: Vec<EntityId> = customers.to_vec();
        let add = |tx: &Self,
                   r: EntityId,
                   records: &mut BTreeMap<EntityId, Option<EntityId>>,
                   queue: &mut Vec<EntityId>|
         -> Result<(), ResolveError> {
            if records.contains_key(&r) {
                return Ok(());
            }
            let c = tx.customer_of(r)?;
            records.insert(r, c);
            queue.extend(c);
            Ok(())
        };
        let mut seed_attrs: Vec<(EntityId, Option<(String, String)>, u64, Attrs)> = Vec::new();
        let mut judged: FxHashMap<EntityId, (bool, bool, bool)> = FxHashMap::default();
        for s in seeds {
            add(self, *s, &mut records, &mut queue)?;
            if let Some(e) = self.get(*s)? {
                let attrs = comparable_entity(&e);
                let (print, name) = (e.fingerprint(), name_of(&e));
                seed_attrs.push((*s, name.clone(), print, attrs.clone()));
                loaded.insert(*s, (e, attrs, print, name));
            }
        }
        for k in keys {
            let limit = block_limit(k, config);
            // Held in memory once read (most blocks are: see
            // `Transaction::block_members`).
            let hits = self.block_members(k, limit)?;
            let n = hits.len();
            counts.0.insert(k.clone(), n);
            // A block whose count weighs the pairs in it (a phone, an email,
            // an address) and just crossed a step of that weight, or that
            // just grew too large to be searched (the pairs it compared are
            // no longer compared): every pair in it may have changed. In any other block, only the pairs with
            // the changed records did.
            let whole = if k.starts_with(FAMILY_COUNT) {
                // Only a name turning rare or common changes other pairs.
                let (rare, common) = (compare::RARE_NAME, compare::COMMON_NAME);
                n == rare || n == rare + 1 || n == common - 1 || n == common
            } else {
                n == config.max_block + 1
                    || (n <= config.max_block && freq_field(k).is_some() && compare::shared_step(n))
            };
            let searched = !k.starts_with(FAMILY_COUNT) && n <= config.max_block;
            if !whole && !searched {
                continue; // its count was all it was read for
            }
            let contact = freq_field(k).is_some();
            for h in hits {
                if records.contains_key(&h) {
                    continue;
                }
                if !whole {
                    if !searched {
                        continue;
                    }
                    // Each record is compared with the seeds once, however
                    // many of their blocks it shares: whether it may score
                    // a possible match, and whether a veto holds it apart.
                    let (joins, scores, vetoed) = match judged.get(&h) {
                        Some(j) => *j,
                        None => {
                            let Some(e) = self.get(h)? else { continue };
                            let other = comparable_entity(&e);
                            let (name, print) = (name_of(&e), e.fingerprint());
                            let mut j = (false, false, false);
                            for (s, s_name, s_print, x) in &seed_attrs {
                                // In the canonical order, as the clustering
                                // compares them, so the comparison is reused.
                                let (p, q) = ((*s, *s_print, x), (h, print, &other));
                                let m = if (s_name, s) <= (&name, &h) {
                                    memo.pair(&config.rules, p, q)
                                } else {
                                    memo.pair(&config.rules, q, p)
                                };
                                let total = m.whole.0;
                                j.0 |= total + RARE_BONUS >= config.match_threshold;
                                j.1 |= total + RARE_BONUS >= config.possible_threshold;
                                j.2 |= m.veto.is_some();
                            }
                            loaded.insert(h, (e, other, print, name));
                            judged.insert(h, j);
                            j
                        }
                    };
                    // A record the change can join comes with its whole
                    // customer; one it can only be a possible match of, or
                    // a person a veto keeps apart who shares a contact (a
                    // SHARES_CONTACT link), is scored from outside.
                    if !joins {
                        if scores || (contact && vetoed) {
                            outside.insert(h);
                        }
                        continue;
                    }
                }
                add(self, h, &mut records, &mut queue)?;
            }
        }
        let links = self.relationship_count(RelKind::SHARES_CONTACT) > 0;
        let mut seen = BTreeSet::new();
        while let Some(c) = queue.pop() {
            if !seen.insert(c) {
                continue;
            }
            for r in self.records_of(c)? {
                records.entry(r).or_insert(Some(c));
            }
            if records.len() > config.max_region {
                continue;
            }
            // Customers a refused join links it to (a veto's link is not
            // a join that could be decided otherwise).
            if !links {
                continue;
            }
            for dir in [Direction::Out, Direction::In] {
                for n in self.neighbours(c, RelKind::SHARES_CONTACT, dir)? {
                    if n.props.attrs.get(VIA).and_then(Value::as_text) == Some(REFUSED) {
                        queue.push(n.id);
                    }
                }
            }
        }
        let mut scored = BTreeMap::new();
        for r in outside {
            if records.contains_key(&r) {
                continue;
            }
            if let Some(c) = self.customer_of(r)? {
                if !seen.contains(&c) {
                    scored.insert(r, c);
                }
            }
        }
        Ok(Region {
            records,
            outside: scored,
            loaded,
        })
    }

    /// Clusters the neighbourhood of a change again and writes what
    /// changed: records moved between customers (with the relationships
    /// they stated), customers created, merged, split or deleted, golden
    /// records recomputed, possible matches and `SHARES_CONTACT` links
    /// between its customers replaced.
    pub(super) fn settle(
        &mut self,
        seeds: &[EntityId],
        keys: &[String],
        customers: &[EntityId],
        config: &ResolveConfig,
    ) -> Result<Settled, ResolveError> {
        // User decisions are read only where some exist (counted in memory,
        // with this transaction's own: `force_apart` just made one).
        let decided = self.relationship_count(RelKind::SAME_AS) > 0
            || self.relationship_count(RelKind::NOT_SAME) > 0;
        let mut counts = Counts::default();
        let db = self.db();
        let mut memo = db.inner.pair_memo.lock();
        let Region {
            records: region,
            outside,
            mut loaded,
        } = self.region(seeds, keys, customers, &mut counts, &mut memo, config)?;
        let mut nodes = Vec::with_capacity(region.len() + outside.len());
        let mut old_customers: BTreeSet<EntityId> = customers.iter().copied().collect();
        let all = region
            .iter()
            .map(|(r, c)| (*r, *c, false))
            .chain(outside.iter().map(|(r, c)| (*r, Some(*c), true)));
        for (r, c, out) in all {
            let r = &r;
            // Read and decoded once: while gathering, or here.
            let (e, attrs, print, name) = match loaded.remove(r) {
                Some(x) => x,
                None => match self.get(*r)? {
                    Some(e) => {
                        let attrs = comparable_entity(&e);
                        let (print, name) = (e.fingerprint(), name_of(&e));
                        (e, attrs, print, name)
                    }
                    None => continue,
                },
            };
            let Some(name) = name else {
                continue;
            };
            if !out {
                old_customers.extend(c);
            }
            nodes.push(Node {
                id: *r,
                name,
                attrs,
                print,
                keys: stored_keys(&e),
                customer: c,
                anchor: false,
                outside: out,
            });
        }
        self.anchors(&mut nodes)?;
        nodes.sort_by(|x, y| {
            (!x.anchor, &x.name)
                .cmp(&(!y.anchor, &y.name))
                .then(x.id.cmp(&y.id))
        });
        let pairs = self.score_pairs(&nodes, &mut counts, &mut memo, config)?;
        drop(memo);
        let (together, apart) = self.overrides(&nodes, decided)?;
        let clusters = cluster(&nodes, &pairs, &together, &apart, config);
        let seeds: BTreeSet<EntityId> = seeds.iter().copied().collect();
        self.apply(&nodes, &pairs, &apart, clusters, old_customers, &seeds)
    }

    /// Adds the owners of the accounts the records name (parties made by
    /// other means than records) as anchors.
    fn anchors(&self, nodes: &mut Vec<Node>) -> Result<(), ResolveError> {
        let mut owners: BTreeMap<EntityId, String> = BTreeMap::new();
        for n in nodes.iter().filter(|n| !n.outside) {
            let Some(acct) = n.attrs.get(a::ACCOUNT_NUMBER).and_then(Value::as_text) else {
                continue;
            };
            for account in self.find_at_most(Index::AccountNumber, acct, 16)? {
                for owner in self.neighbour_ids(account, RelKind::OWNS, Direction::In)? {
                    owners.entry(owner).or_insert_with(|| acct.to_string());
                }
            }
        }
        for (owner, acct) in owners {
            let Some(o) = self.get(owner)? else { continue };
            if !o.kind.is_party() || o.attr(a::MERGED_INTO).is_some() {
                continue;
            }
            let mut profile = comparable_entity(&o);
            profile.insert(
                PARTY_KIND.into(),
                Value::Text(super::party_name(o.kind).into()),
            );
            profile.insert(a::ACCOUNT_NUMBER.into(), Value::Text(acct));
            nodes.push(Node {
                id: owner,
                name: (String::new(), format!("{:020}", owner.0)),
                attrs: profile,
                print: 0,
                keys: Vec::new(),
                customer: Some(owner),
                anchor: true,
                outside: false,
            });
        }
        Ok(())
    }

    /// Every pair of nodes that shares a block no larger than `max_block`
    /// (a record and an anchor: the account), scored with the frequencies
    /// of the values they share, when it reaches the possible-match
    /// threshold or a veto holds it apart.
    fn score_pairs(
        &self,
        nodes: &[Node],
        counts: &mut Counts,
        memo: &mut PairMemo,
        config: &ResolveConfig,
    ) -> Result<Vec<Pair>, ResolveError> {
        let mut by_key: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, n) in nodes.iter().enumerate() {
            for k in &n.keys {
                if !k.starts_with(FAMILY_COUNT) {
                    by_key.entry(k.as_str()).or_default().push(i);
                }
            }
        }
        let mut candidates: BTreeSet<(usize, usize)> = BTreeSet::new();
        for list in by_key.values() {
            if list.len() < 2 || list.len() > config.max_block {
                continue;
            }
            for (p, i) in list.iter().enumerate() {
                for j in &list[p + 1..] {
                    candidates.insert((*i, *j));
                }
            }
        }
        // A record and the owner of the account it names.
        for (j, n) in nodes.iter().enumerate().filter(|(_, n)| n.anchor) {
            let acct = n.attrs.get(a::ACCOUNT_NUMBER);
            for (i, m) in nodes
                .iter()
                .enumerate()
                .filter(|(_, m)| !m.anchor && !m.outside)
            {
                if acct.is_some() && m.attrs.get(a::ACCOUNT_NUMBER) == acct {
                    candidates.insert((j.min(i), j.max(i)));
                }
            }
        }
        let mut out = Vec::new();
        for (i, j) in candidates {
            let (x, y) = (&nodes[i], &nodes[j]);
            if x.outside && y.outside {
                continue; // neither is re-clustered
            }
            if compare::is_organization(&x.attrs) != compare::is_organization(&y.attrs) {
                continue; // persons and organizations never merge
            }
            let common = shared(&x.keys, &y.keys);
            let anchored = x.anchor || y.anchor;
            let (p, q) = ((x.id, x.print, &x.attrs), (y.id, y.print, &y.attrs));
            let m = memo.pair(&config.rules, p, q);
            let veto = m.veto.or(m.hard);
            let contact = shares_contact(&common);
            // Frequencies only lower a weight, but for a rare family name:
            // a pair that cannot reach the possible-match threshold with
            // every weight whole is settled without reading a block.
            if m.whole.0 + RARE_BONUS < config.possible_threshold && !(veto.is_some() && contact) {
                continue;
            }
            // Compared only through a block small enough to be searched:
            // a count read already, else the likely smallest blocks first
            // (an identifier's before a name's).
            let mut searchable: Vec<&str> = common
                .iter()
                .copied()
                .filter(|k| !k.starts_with(FAMILY_COUNT))
                .collect();
            searchable.sort_by_key(|k| (!counts.0.contains_key(*k), likely_size(k)));
            let mut small = anchored;
            for k in searchable {
                if small {
                    break;
                }
                small = self.count(counts, k, config)? <= config.max_block;
            }
            if !small {
                continue;
            }
            let mut freq = Frequencies::default();
            for k in &common {
                if let Some(field) = freq_field(k) {
                    let n = self.count(counts, k, config)?;
                    let slot = field(&mut freq);
                    *slot = if *slot == 0 { n } else { (*slot).min(n) };
                }
            }
            // Compared in the canonical order, so the score never depends
            // on which record came first.
            let (total, identifying) = memo.weighed(&config.rules, p, q, &freq);
            if total < config.possible_threshold && veto.is_none() {
                continue;
            }
            out.push(Pair {
                i,
                j,
                identifying,
                total,
                veto,
                contact,
            });
        }
        Ok(out)
    }

    /// The user's decisions among the nodes: pairs forced together, pairs
    /// forced apart (indexes, smaller first).
    #[allow(clippy::type_complexity)]
    fn overrides(
        &self,
        nodes: &[Node],
        decided: bool,
    ) -> Result<(BTreeSet<(usize, usize)>, BTreeSet<(usize, usize)>), ResolveError> {
        let pos: HashMap<EntityId, usize> = nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| !n.anchor)
            .map(|(i, n)| (n.id, i))
            .collect();
        let mut together = BTreeSet::new();
        let mut apart = BTreeSet::new();
        for (i, n) in nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| decided && !n.anchor)
        {
            // A record's few outgoing relationships, in one scan.
            for e in self.edges(n.id, Direction::Out)? {
                let set = match e.kind {
                    RelKind::SAME_AS => &mut together,
                    RelKind::NOT_SAME => &mut apart,
                    _ => continue,
                };
                if let Some(j) = pos.get(&e.id) {
                    set.insert((i.min(*j), i.max(*j)));
                }
            }
        }
        // Two anchors are two parties whatever records say.
        let anchors: Vec<usize> = (0..nodes.len()).filter(|i| nodes[*i].anchor).collect();
        for (p, i) in anchors.iter().enumerate() {
            for j in &anchors[p + 1..] {
                apart.insert((*i, *j));
            }
        }
        Ok((together, apart))
    }
}

/// The canonical clustering of a neighbourhood (see the module docs).
/// Returns the clusters and the pairs whose join was refused.
fn cluster(
    nodes: &[Node],
    pairs: &[Pair],
    together: &BTreeSet<(usize, usize)>,
    apart: &BTreeSet<(usize, usize)>,
    config: &ResolveConfig,
) -> (Clusters, Vec<(usize, usize)>) {
    let mut clusters = Clusters::new(nodes.len());
    let mut vetoes: HashMap<(usize, usize), bool> = pairs
        .iter()
        .map(|p| ((p.i, p.j), p.veto.is_some()))
        .collect();
    let mut vetoed = |p: usize, q: usize| -> bool {
        let key = (p.min(q), p.max(q));
        *vetoes.entry(key).or_insert_with(|| {
            let (x, y) = (&nodes[key.0].attrs, &nodes[key.1].attrs);
            config.rules.veto(x, y).is_some()
                || (compare::is_organization(x) && compare::hard_conflict(x, y))
        })
    };
    for (i, j) in together {
        clusters.union(*i, *j, |p, q, _, _| apart.contains(&(p.min(q), p.max(q))));
    }
    // Records scored from outside are never joined.
    let inside = |p: &&Pair| !nodes[p.i].outside && !nodes[p.j].outside;
    let mut strong: Vec<&Pair> = pairs
        .iter()
        .filter(inside)
        .filter(|p| p.veto.is_none() && p.identifying >= config.match_threshold)
        .collect();
    strong.sort_by(|x, y| {
        y.identifying
            .total_cmp(&x.identifying)
            .then((x.i, x.j).cmp(&(y.i, y.j)))
    });
    let strong_pairs: BTreeSet<(usize, usize)> = strong.iter().map(|p| (p.i, p.j)).collect();
    let is_strong = |p: usize, q: usize| strong_pairs.contains(&(p.min(q), p.max(q)));
    let ids: Vec<Option<String>> = nodes
        .iter()
        .map(|n| {
            n.attrs
                .get(a::NATIONAL_ID)
                .and_then(Value::as_text)
                .map(|t| {
                    t.chars()
                        .filter(char::is_ascii_alphanumeric)
                        .collect::<String>()
                        .to_uppercase()
                })
                .filter(|t| !t.is_empty())
        })
        .collect();
    let same_id = |p: usize, q: usize| ids[p].is_some() && ids[p] == ids[q];
    // A third record vouches for a pair across two ids more than a typo
    // apart only if its names agree with the other's too: not a twin's
    // record whose names one source swapped, which holds the other twin's
    // id and a given name one letter from hers.
    let vouches = |o: usize, p: usize| {
        let far = matches!((&ids[o], &ids[p]), (Some(x), Some(y)) if compare::ids_far(x, y));
        is_strong(o, p) && (!far || compare::names_alike(&nodes[o].attrs, &nodes[p].attrs))
    };
    // A record vouches only with a full birth date: one whose date is
    // broken agrees with anyone's.
    let dated: Vec<bool> = nodes
        .iter()
        .map(|n| match n.attrs.get(a::BIRTH_DATE) {
            Some(Value::Date(_)) => true,
            Some(Value::Text(t)) => super::normalize::date(t, &["iso", "compact"]).is_some(),
            _ => false,
        })
        .collect();
    // A veto between two records is excused when a third record of the
    // two clusters, with a full birth date, holds one's national id exactly
    // and matches the other
    // (a source that replaced a given name or mistyped an id, seen through
    // the records that agree with both). A user's "apart" never is.
    let mut refuse = |p: usize, q: usize, xs: &[usize], ys: &[usize]| -> bool {
        if apart.contains(&(p.min(q), p.max(q))) {
            return true;
        }
        if !vetoed(p, q) {
            return false;
        }
        let excused = xs.iter().chain(ys).any(|o| {
            *o != p
                && *o != q
                && dated[*o]
                && ((same_id(*o, q) && vouches(*o, p)) || (same_id(*o, p) && vouches(*o, q)))
        });
        !excused
    };
    let mut refused = Vec::new();
    for p in strong {
        if !clusters.union(p.i, p.j, &mut refuse) {
            refused.push((p.i, p.j));
        }
    }
    // Clusters tied only by a shared account number: each group of them
    // joins as one when nothing in it is kept apart (one owner and the
    // records naming the account); otherwise none joins (a joint account's
    // two owners, and a record naming it, stay apart).
    let weak: Vec<&Pair> = pairs
        .iter()
        .filter(inside)
        .filter(|p| {
            p.veto.is_none()
                && p.identifying < config.match_threshold
                && p.total >= config.match_threshold
        })
        .collect();
    let mut links: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for p in &weak {
        let (ri, rj) = (clusters.root(p.i), clusters.root(p.j));
        if ri != rj {
            links.entry(ri).or_default().insert(rj);
            links.entry(rj).or_default().insert(ri);
        }
    }
    let mut done = BTreeSet::new();
    for start in links.keys().copied().collect::<Vec<_>>() {
        if done.contains(&start) {
            continue;
        }
        let mut group = vec![start];
        let mut k = 0;
        done.insert(start);
        while k < group.len() {
            for o in links.get(&group[k]).into_iter().flatten() {
                if done.insert(*o) {
                    group.push(*o);
                }
            }
            k += 1;
        }
        let members: Vec<Vec<usize>> = group.iter().map(|r| clusters.members[*r].clone()).collect();
        let clash = members.iter().enumerate().any(|(x, mx)| {
            members[x + 1..].iter().any(|my| {
                mx.iter().any(|p| {
                    my.iter()
                        .any(|q| apart.contains(&((*p).min(*q), (*p).max(*q))) || vetoed(*p, *q))
                })
            })
        });
        if clash {
            continue; // a possible match, for review
        }
        for r in &group[1..] {
            clusters.union(group[0], *r, |_, _, _, _| false);
        }
    }
    (clusters, refused)
}

/// The party kind of a cluster's records.
fn kind_of(nodes: &[Node], members: &[usize]) -> EntityKind {
    let org = members
        .iter()
        .any(|i| compare::is_organization(&nodes[*i].attrs));
    if org {
        EntityKind::ORGANIZATION
    } else {
        EntityKind::PERSON
    }
}

impl Transaction<'_> {
    /// Writes the clustering of a neighbourhood (see [`Transaction::settle`]).
    fn apply(
        &mut self,
        nodes: &[Node],
        pairs: &[Pair],
        apart: &BTreeSet<(usize, usize)>,
        (mut clusters, refused): (Clusters, Vec<(usize, usize)>),
        old_customers: BTreeSet<EntityId>,
        seeds: &BTreeSet<EntityId>,
    ) -> Result<Settled, ResolveError> {
        let mut out = Settled::default();
        let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for i in 0..nodes.len() {
            let r = clusters.root(i);
            groups.entry(r).or_default().push(i);
        }
        // Each old customer's home: the cluster of its lowest record (an
        // anchor's own cluster).
        let mut home: BTreeMap<EntityId, usize> = BTreeMap::new();
        let mut anchors: BTreeSet<EntityId> = BTreeSet::new();
        let mut chosen: BTreeMap<usize, EntityId> = BTreeMap::new();
        for (i, n) in nodes.iter().enumerate() {
            let Some(c) = n.customer else { continue };
            if n.outside {
                // Its own cluster, its own customer, untouched.
                chosen.insert(clusters.root(i), c);
            } else if n.anchor {
                anchors.insert(c);
                home.insert(c, clusters.root(i));
            } else if !anchors.contains(&c) {
                let root = clusters.root(i);
                let e = home.entry(c).or_insert(root);
                let lowest = |tx: &[Node], r: usize| {
                    groups[&r]
                        .iter()
                        .filter(|k| tx[**k].customer == Some(c) && !tx[**k].anchor)
                        .map(|k| tx[*k].id)
                        .min()
                };
                if lowest(nodes, root) < lowest(nodes, *e) {
                    *e = root;
                }
            }
        }
        // Each cluster takes an anchor homed in it, else its lowest homed
        // customer; the others homed there merge into it.
        let mut merges: Vec<(EntityId, usize)> = Vec::new();
        let mut homed: BTreeMap<usize, Vec<EntityId>> = BTreeMap::new();
        for (c, r) in &home {
            homed.entry(*r).or_default().push(*c);
        }
        for (r, mut cs) in homed {
            cs.sort_by_key(|c| (!anchors.contains(c), *c));
            chosen.insert(r, cs[0]);
            for c in &cs[1..] {
                merges.push((*c, r));
            }
        }
        for (r, members) in &groups {
            if chosen.contains_key(r) {
                continue;
            }
            let kind = kind_of(nodes, members);
            let mut new = NewEntity::new(kind);
            if let [only] = members.as_slice() {
                new.attrs = super::profile_of(&nodes[*only].attrs);
            }
            let id = self.create(new)?;
            out.created.insert(id);
            chosen.insert(*r, id);
        }
        // Records move, with the relationships they stated.
        let mut moved: BTreeMap<(EntityId, EntityId), BTreeSet<EntityId>> = BTreeMap::new();
        for (i, n) in nodes.iter().enumerate() {
            if n.anchor || n.outside {
                continue;
            }
            let to = chosen[&clusters.root(i)];
            out.before.insert(n.id, n.customer);
            out.customer.insert(n.id, to);
            if n.customer == Some(to) {
                continue;
            }
            if let Some(from) = n.customer {
                self.unrelate(n.id, RelKind::RESOLVES_TO, from)?;
                moved.entry((from, to)).or_default().insert(n.id);
            }
            self.relate(n.id, RelKind::RESOLVES_TO, to, EdgeProps::new())?;
        }
        for ((from, to), records) in &moved {
            if self.contains(*from)? && self.contains(*to)? {
                self.stated_edges(*from, Some(*to), records)?;
            }
            if out.created.contains(to) && !merges.iter().any(|(c, _)| c == from) {
                out.split_off.entry(*from).or_default().push(*to);
            }
        }
        for (c, r) in &merges {
            let into = chosen[r];
            self.merge_customer(*c, into)?;
            out.merged.insert(*c, into);
        }
        for c in &old_customers {
            if home.contains_key(c) || anchors.contains(c) || out.merged.contains_key(c) {
                continue;
            }
            if self.contains(*c)? && self.records_of(*c)?.is_empty() {
                self.delete(*c)?;
                out.deleted.insert(*c);
            }
        }
        // Golden records of the customers whose records changed.
        for (r, members) in &groups {
            let c = chosen[r];
            let records: Vec<usize> = members
                .iter()
                .copied()
                .filter(|i| !nodes[*i].anchor && !nodes[*i].outside)
                .collect();
            if records.is_empty() {
                continue;
            }
            let changed = records
                .iter()
                .any(|i| nodes[*i].customer != Some(c) || seeds.contains(&nodes[*i].id))
                || merges.iter().any(|(_, mr)| mr == r)
                || out.split_off.contains_key(&c);
            if !changed || (out.created.contains(&c) && records.len() == 1) {
                continue;
            }
            // A new record that agrees with every golden value it holds
            // only strengthens the values already chosen.
            let kept_or_new = |i: &usize| {
                let n = &nodes[*i];
                if seeds.contains(&n.id) {
                    n.customer.is_none()
                } else {
                    n.customer == Some(c)
                }
            };
            let only_new = records.iter().all(kept_or_new)
                && !merges.iter().any(|(_, mr)| mr == r)
                && !out.split_off.contains_key(&c)
                && !out.created.contains(&c);
            if only_new {
                if let Some(cust) = self.get(c)? {
                    let agrees = records
                        .iter()
                        .filter(|i| nodes[**i].customer.is_none())
                        .all(|i| {
                            nodes[*i]
                                .attrs
                                .iter()
                                .filter(|(k, _)| !super::survive::bookkeeping(k))
                                .all(|(k, v)| cust.attr(k).as_ref() == Some(v))
                        });
                    if agrees {
                        continue;
                    }
                }
            }
            self.survive(c)?;
        }
        for (c, parts) in &out.split_off {
            self.note(crate::Change::CustomerSplit {
                customer: *c,
                split_off: parts.clone(),
            });
        }
        self.relink(
            nodes,
            pairs,
            apart,
            &refused,
            &mut clusters,
            &chosen,
            &mut out,
        )?;
        Ok(out)
    }

    /// Replaces the possible matches and `SHARES_CONTACT` links between the
    /// neighbourhood's customers with those its clustering implies.
    #[allow(clippy::too_many_arguments)]
    fn relink(
        &mut self,
        nodes: &[Node],
        pairs: &[Pair],
        apart: &BTreeSet<(usize, usize)>,
        refused: &[(usize, usize)],
        clusters: &mut Clusters,
        chosen: &BTreeMap<usize, EntityId>,
        out: &mut Settled,
    ) -> Result<(), ResolveError> {
        // The neighbourhood's customers (not those scored from outside,
        // whose other records were not read).
        let region: BTreeSet<EntityId> = chosen
            .iter()
            .filter(|(r, _)| !nodes[**r].outside)
            .map(|(_, c)| *c)
            .collect();
        let kinds: Vec<RelKind> = [RelKind::POSSIBLY_SAME, RelKind::SHARES_CONTACT]
            .into_iter()
            .filter(|k| self.relationship_count(*k) > 0)
            .collect();
        // The links now between them; those the clustering implies again
        // are left as they are (no write, no change in the feed).
        let mut existing: BTreeMap<(EntityId, RelKind, EntityId), EdgeProps> = BTreeMap::new();
        for c in &region {
            for kind in &kinds {
                for n in self.neighbours(*c, *kind, Direction::Out)? {
                    if region.contains(&n.id) {
                        existing.insert((*c, *kind, n.id), n.props);
                    }
                }
            }
        }
        let mut wanted: BTreeMap<(EntityId, RelKind, EntityId), EdgeProps> = BTreeMap::new();
        // Clusters a user decision keeps apart are never offered for review.
        let mut decided: BTreeSet<(usize, usize)> = BTreeSet::new();
        for (i, j) in apart {
            let (ri, rj) = (clusters.root(*i), clusters.root(*j));
            decided.insert((ri.min(rj), ri.max(rj)));
        }
        let mut contact: BTreeMap<(usize, usize), &'static str> = BTreeMap::new();
        for (i, j) in refused {
            let (ri, rj) = (clusters.root(*i), clusters.root(*j));
            if ri != rj {
                contact
                    .entry((ri.min(rj), ri.max(rj)))
                    .or_insert("conflict");
            }
        }
        let mut best: BTreeMap<usize, (f64, usize)> = BTreeMap::new();
        for p in pairs {
            let (ri, rj) = (clusters.root(p.i), clusters.root(p.j));
            if ri == rj {
                let r = (nodes[p.i].id, nodes[p.j].id);
                for (x, _) in [r, (r.1, r.0)] {
                    let e = out.best.entry(x).or_insert(f64::MIN);
                    *e = e.max(p.total);
                }
                continue;
            }
            let key = (ri.min(rj), ri.max(rj));
            if let Some(v) = p.veto {
                if p.contact {
                    contact.entry(key).or_insert(v);
                }
                continue;
            }
            if decided.contains(&key) || contact.contains_key(&key) {
                continue;
            }
            for (x, y) in [(ri, rj), (rj, ri)] {
                let e = best.entry(x).or_insert((f64::MIN, usize::MAX));
                if p.total > e.0 || (p.total == e.0 && y < e.1) {
                    *e = (p.total, y);
                }
            }
        }
        let mut possible: BTreeMap<(usize, usize), f64> = BTreeMap::new();
        for (x, (score, y)) in &best {
            let key = ((*x).min(*y), (*x).max(*y));
            if contact.contains_key(&key) {
                continue;
            }
            let e = possible.entry(key).or_insert(*score);
            *e = e.max(*score);
        }
        for ((x, y), score) in possible {
            let (later, earlier) = (chosen[&y], chosen[&x]);
            wanted.insert(
                (later, RelKind::POSSIBLY_SAME, earlier),
                EdgeProps::new().attr("score", Value::Int((score * 100.0) as i64)),
            );
            out.possible.insert(later, (earlier, score));
            out.possible.entry(earlier).or_insert((later, score));
        }
        for ((x, y), via) in contact {
            wanted.insert(
                (chosen[&y], RelKind::SHARES_CONTACT, chosen[&x]),
                EdgeProps::new().attr(VIA, Value::Text(via.to_string())),
            );
        }
        for (from, kind, to) in existing.keys() {
            if !wanted.contains_key(&(*from, *kind, *to)) {
                self.unrelate(*from, *kind, *to)?;
            }
        }
        for ((from, kind, to), props) in wanted {
            if existing.get(&(from, kind, to)) != Some(&props) {
                self.relate(from, kind, to, props)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::stored_keys;
    use crate::index::Index;
    use crate::model::{attrs as a, Attrs, EntityKind, Value};
    use crate::resolve::ResolveConfig;
    use crate::{Db, WriteError};

    fn person(given: &str, family: &str, phone: &str) -> Attrs {
        let mut r = Attrs::new();
        for (k, v) in [
            (a::GIVEN_NAME, given),
            (a::FAMILY_NAME, family),
            (a::PHONE, phone),
            (a::POSTAL_CODE, "2000"),
            (a::HOUSE_NUMBER, "7"),
        ] {
            r.insert(k.into(), Value::Text(v.into()));
        }
        r
    }

    /// Every block the records name, read through the memory of blocks,
    /// is what a scan of the index reads: after creates, changes, deletes,
    /// and a transaction that wrote and then failed.
    #[test]
    fn blocks_held_in_memory_stay_exact_across_commits_and_aborts() {
        let db = Db::temporary().unwrap();
        let config = ResolveConfig::default();
        let check = |db: &Db| {
            db.transaction(|tx| {
                let mut keys = Vec::new();
                for id in tx.find(Index::BlockingKey, "p:400000001")? {
                    keys.extend(stored_keys(&tx.get(id)?.unwrap()));
                }
                assert!(keys.iter().any(|k| k == "p:400000001"), "{keys:?}");
                for k in &keys {
                    let scanned = tx.find_at_most(Index::BlockingKey, k, 100)?;
                    // Twice: the first may fill the memory, the second reads it.
                    for _ in 0..2 {
                        assert_eq!(tx.block_members(k, 100)?, scanned, "{k}");
                        assert_eq!(tx.block_members(k, 2)?, scanned[..scanned.len().min(2)]);
                    }
                }
                Ok::<_, crate::Error>(())
            })
            .unwrap();
        };
        let names = ["ann", "bob", "cy", "dee", "eve", "fay"];
        for (i, g) in names.iter().enumerate() {
            let r = person(g, "lee", "0400000001");
            db.upsert_record("crm", &i.to_string(), EntityKind::PERSON, r, &config)
                .unwrap();
            check(&db);
        }
        // A change moves a record out of its name's blocks and into others.
        let r = person("gus", "lee", "0400000001");
        db.upsert_record("crm", "2", EntityKind::PERSON, r, &config)
            .unwrap();
        check(&db);
        db.delete_record("crm", "3", &config).unwrap();
        check(&db);
        // A transaction that wrote a record and then failed leaves nothing.
        let failed = db.transaction(|tx| {
            let r = person("hal", "lee", "0400000001");
            tx.upsert_record("crm", "9", EntityKind::PERSON, r, &config)
                .unwrap();
            check_inside(tx);
            Err::<(), _>(WriteError::Invalid("abort".into()))
        });
        assert!(failed.is_err());
        check(&db);
        assert!(db.check().unwrap().is_ok());
    }

    /// Inside a transaction, its own writes are in the blocks it reads.
    fn check_inside(tx: &mut crate::Transaction<'_>) {
        let k = "p:400000001";
        let scanned = tx.find_at_most(Index::BlockingKey, k, 100).unwrap();
        assert!(scanned.len() >= 6, "{scanned:?}");
        assert_eq!(tx.block_members(k, 100).unwrap(), scanned);
    }
}
