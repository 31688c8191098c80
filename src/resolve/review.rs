//! The review queue: possible matches (`POSSIBLY_SAME` between two
//! customers) that no one has decided yet, best score first.

use super::ResolveError;
use crate::model::{Direction, EntityId, EntityKind, RelKind, Value};
use crate::Db;
use std::collections::BTreeSet;

/// One possible match awaiting a decision.
#[derive(Clone, Debug, PartialEq)]
pub struct PossibleMatch {
    /// The customer the possible match was recorded on.
    pub customer: EntityId,
    /// The customer it may be.
    pub candidate: EntityId,
    /// The resolution score that made it a possible match.
    pub score: f64,
}

/// The possible matches awaiting review.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct ReviewQueue {
    /// The best `limit` of them, best score first.
    pub matches: Vec<PossibleMatch>,
    /// How many there are in all.
    pub total: u64,
}

impl Db {
    /// The possible matches no one has decided (`same` merges a pair, and
    /// `apart` keeps it apart: either takes it off the queue), best score
    /// first, at most `limit`. Reads every party's possible-match links: a
    /// scan of the parties.
    pub fn review_queue(&self, limit: usize) -> Result<ReviewQueue, ResolveError> {
        let mut all = Vec::new();
        let mut seen = BTreeSet::new();
        for kind in [EntityKind::PERSON, EntityKind::ORGANIZATION] {
            let mut after = None;
            loop {
                let page = self.list(kind, after, 10_000)?;
                for id in &page.ids {
                    for n in self.neighbours(*id, RelKind::POSSIBLY_SAME, Direction::Out)? {
                        let (a, b) = (self.follow_merges(*id)?, self.follow_merges(n.id)?);
                        if a == b
                            || !seen.insert((a.min(b), a.max(b)))
                            || self.decided_apart(a, b)?
                        {
                            continue;
                        }
                        let score = match n.props.attrs.get("score") {
                            Some(Value::Int(x)) => *x as f64 / 100.0,
                            _ => 0.0,
                        };
                        all.push(PossibleMatch {
                            customer: a,
                            candidate: b,
                            score,
                        });
                    }
                }
                match page.next {
                    Some(n) => after = Some(n),
                    None => break,
                }
            }
        }
        all.sort_by(|x, y| {
            y.score
                .total_cmp(&x.score)
                .then((x.customer, x.candidate).cmp(&(y.customer, y.candidate)))
        });
        let total = all.len() as u64;
        all.truncate(limit);
        Ok(ReviewQueue {
            matches: all,
            total,
        })
    }

    /// Whether a user kept some record of `a` apart from some record of `b`.
    fn decided_apart(&self, a: EntityId, b: EntityId) -> Result<bool, ResolveError> {
        let theirs: BTreeSet<EntityId> = self
            .neighbour_ids(b, RelKind::RESOLVES_TO, Direction::In)?
            .into_iter()
            .collect();
        for r in self.neighbour_ids(a, RelKind::RESOLVES_TO, Direction::In)? {
            for dir in [Direction::Out, Direction::In] {
                if self
                    .neighbour_ids(r, RelKind::NOT_SAME, dir)?
                    .iter()
                    .any(|o| theirs.contains(o))
                {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }
}
