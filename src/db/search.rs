//! Name search over the [`Index::Name`] index: every word of the query must
//! begin a word of the party's names (`"ann le"` finds Ann Lee and Annabel
//! Leeds), or, when too few parties match so, be close to one (Jaro-Winkler
//! ≥ 0.85 over index words with the same first letter: `"smyth"` finds
//! Smith). Merged-away parties answer as the party they were merged into.

use super::Db;
use crate::error::{ReadError, StorageError};
use crate::index::{name_words, Index, NAME_ATTRS};
use crate::model::EntityId;
use crate::storage::{keys, Source};
use std::collections::{BTreeMap, BTreeSet};

/// One party a name search found.
#[derive(Clone, Debug, PartialEq)]
pub struct NameMatch {
    /// The party.
    pub id: EntityId,
    /// How well its name matches, 0 to 1 (1: every query word is a whole word of the name).
    pub score: f64,
    /// Whether every query word begins a word of the name (else some matched only fuzzily).
    pub prefix: bool,
}

/// What a name search found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NameSearch {
    /// The best matches, best first (ties by id).
    pub matches: Vec<NameMatch>,
    /// Set when the answer is cut, saying why (more matches than the limit,
    /// or a word so common that not every party with it was looked at).
    pub truncated: Option<String>,
}

/// Most query words used.
const MAX_WORDS: usize = 8;
/// Most parties one query word gathers before the search says it is cut.
const MAX_CANDIDATES: usize = 20_000;
/// Most distinct index words looked at for one fuzzy query word.
const MAX_FUZZY_WORDS: usize = 5_000;
/// How close a word must be to count as a fuzzy match.
const FUZZY: f64 = 0.85;

/// `IDX | name | word` without the terminator: every word starting with `word`.
fn word_prefix(word: &str) -> Vec<u8> {
    let mut k = keys::idx_value_prefix(Index::Name.code(), word.as_bytes());
    k.truncate(k.len() - 2);
    k
}

/// Splits an index key of the name index into its word and id.
fn parse(k: &[u8]) -> Result<(String, EntityId), StorageError> {
    match keys::parse_idx(k) {
        Some((code, value, id)) if code == Index::Name.code() => {
            Ok((String::from_utf8_lossy(&value).into_owned(), EntityId(id)))
        }
        _ => Err(StorageError::Corrupt {
            key: keys::describe(k),
            reason: "malformed name index key".into(),
        }),
    }
}

impl Db {
    /// Parties whose names match `query` (see the module docs), at most
    /// `limit` (1 to 1,000), best first.
    pub fn search_names(&self, query: &str, limit: usize) -> Result<NameSearch, ReadError> {
        let limit = limit.clamp(1, 1_000);
        let mut words: Vec<String> = name_words(query).collect();
        words.sort_by_key(|w| std::cmp::Reverse(w.len()));
        words.dedup();
        let mut out = NameSearch::default();
        if words.len() > MAX_WORDS {
            words.truncate(MAX_WORDS);
            out.truncated = Some(format!("only the {MAX_WORDS} longest words were used"));
        }
        if words.is_empty() {
            return Ok(out);
        }
        let engine = &self.inner.engine;
        // Parties that have a word starting with each query word, intersected.
        let mut found: Option<BTreeSet<EntityId>> = None;
        for w in &words {
            let mut ids = BTreeSet::new();
            for row in super::read::scan_prefix(engine, &word_prefix(w), false) {
                let (k, _) = row.map_err(StorageError::from)?;
                let (_, id) = parse(&k)?;
                if found.as_ref().is_none_or(|f| f.contains(&id)) {
                    ids.insert(id);
                }
                if ids.len() >= MAX_CANDIDATES {
                    out.truncated = Some(format!(
                        "{w:?} begins more than {MAX_CANDIDATES} names; only the first were looked at"
                    ));
                    break;
                }
            }
            found = Some(ids);
        }
        let mut scored = BTreeMap::new();
        for id in found.unwrap_or_default() {
            self.score(id, &words, false, &mut scored)?;
        }
        if scored.len() < limit {
            // Fuzzy: parties with an index word close to each query word.
            let mut fuzzy: Option<BTreeSet<EntityId>> = None;
            for w in &words {
                let mut ids = BTreeSet::new();
                for (word, _) in self.close_words(w, &mut out.truncated)? {
                    for row in super::read::scan_prefix(
                        engine,
                        &keys::idx_value_prefix(Index::Name.code(), word.as_bytes()),
                        false,
                    ) {
                        let (k, _) = row.map_err(StorageError::from)?;
                        let (_, id) = parse(&k)?;
                        if fuzzy.as_ref().is_none_or(|f| f.contains(&id)) {
                            ids.insert(id);
                        }
                    }
                    if ids.len() >= MAX_CANDIDATES {
                        out.truncated = Some(format!(
                            "more than {MAX_CANDIDATES} names are close to {w:?}; only the first were looked at"
                        ));
                        break;
                    }
                }
                fuzzy = Some(ids);
            }
            for id in fuzzy.unwrap_or_default() {
                if !scored.contains_key(&id) {
                    self.score(id, &words, true, &mut scored)?;
                }
            }
        }
        let mut matches: Vec<NameMatch> = scored.into_values().collect();
        matches.sort_by(|x, y| y.score.total_cmp(&x.score).then(x.id.cmp(&y.id)));
        if matches.len() > limit {
            out.truncated = Some(format!(
                "{} parties match; the best {limit} are shown",
                matches.len()
            ));
            matches.truncate(limit);
        }
        out.matches = matches;
        Ok(out)
    }

    /// Index words with the first letter of `w` that are close to it (not
    /// those it begins: the prefix pass found those).
    fn close_words(
        &self,
        w: &str,
        truncated: &mut Option<String>,
    ) -> Result<Vec<(String, f64)>, ReadError> {
        let mut out = Vec::new();
        if w.chars().count() < 3 {
            return Ok(out);
        }
        let first: String = w.chars().take(1).collect();
        let prefix = word_prefix(&first);
        let end = crate::storage::prefix_end(&prefix);
        let mut from = prefix.clone();
        for _ in 0..MAX_FUZZY_WORDS {
            let Some(row) = self.inner.engine.scan(&from, end.as_deref(), false).next() else {
                return Ok(out);
            };
            let (k, _) = row.map_err(StorageError::from)?;
            let (word, _) = parse(&k)?;
            let sim = strsim::jaro_winkler(&word, w);
            if sim >= FUZZY && !word.starts_with(w) {
                out.push((word.clone(), sim));
            }
            // The next distinct word: past every id of this one.
            from = keys::idx_value_prefix(Index::Name.code(), word.as_bytes());
            *from.last_mut().expect("terminated") = 2;
        }
        *truncated = Some(format!(
            "more than {MAX_FUZZY_WORDS} words begin with {first:?}; only the first were compared with {w:?}"
        ));
        Ok(out)
    }

    /// Scores party `id` against the query words and keeps it (under the
    /// party it was merged into, if it was).
    fn score(
        &self,
        id: EntityId,
        words: &[String],
        fuzzy: bool,
        scored: &mut BTreeMap<EntityId, NameMatch>,
    ) -> Result<(), ReadError> {
        let id = self.follow_merges(id)?;
        let Some(e) = self.get(id)? else {
            return Ok(());
        };
        let mut names = Vec::new();
        for attr in NAME_ATTRS {
            if let Some(v) = e.attr(attr) {
                for t in v.texts() {
                    names.extend(name_words(t));
                    names.extend(crate::index::name_key(t));
                }
            }
        }
        let mut total = 0.0;
        let mut all_prefix = true;
        for w in words {
            let best = names
                .iter()
                .map(|n| {
                    if n == w {
                        1.0
                    } else if n.starts_with(w.as_str()) {
                        0.9 * (0.5 + 0.5 * w.len() as f64 / n.len() as f64)
                    } else if fuzzy {
                        let s = strsim::jaro_winkler(n, w);
                        if s >= FUZZY {
                            0.4 * s
                        } else {
                            0.0
                        }
                    } else {
                        0.0
                    }
                })
                .fold(0.0, f64::max);
            if best == 0.0 {
                return Ok(());
            }
            all_prefix &= best >= 0.45;
            total += best;
        }
        let m = NameMatch {
            id: e.id,
            score: total / words.len() as f64,
            prefix: all_prefix,
        };
        match scored.get(&e.id) {
            Some(old) if old.score >= m.score => {}
            _ => {
                scored.insert(e.id, m);
            }
        }
        Ok(())
    }
}
