//! Beneficial owners: every direct and indirect owner of an organization,
//! with its effective share summed over all ownership paths (cross-holdings
//! included), and the chain through which it holds the most.
//!
//! Ownership edges: `SUBSIDIARY_OF` from the owned to the owner, and `OWNS`
//! from the owner to an organization, each with a `share` (1 when missing).

use super::shares::{share_of, solve, Links, ROUNDS};
use super::{TraverseError, When};
use crate::model::{Decimal, Direction, EdgeProps, EntityId, EntityKind, RelKind};
use crate::Db;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// One owner of an organization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    /// The owner (a person or an organization).
    pub id: EntityId,
    /// Its kind.
    pub kind: EntityKind,
    /// Its share held directly (`None`: only through others).
    pub direct_share: Option<Decimal>,
    /// Its effective share: over every ownership path, the product of the
    /// shares along it, summed (cross-holdings solved, not enumerated).
    pub effective_share: Decimal,
    /// The chain through which it holds the largest share: the owner first,
    /// the organization asked about last.
    pub chain: Vec<EntityId>,
    /// The properties of each holding along `chain` (`share`, `since`, …):
    /// `chain_props[i]` is `chain[i]`'s holding in `chain[i + 1]` (shared
    /// between the chains that cross it).
    pub chain_props: Vec<Arc<EdgeProps>>,
}

/// The owners of an organization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owners {
    /// The organization asked about.
    pub organization: EntityId,
    /// Owners holding at least the threshold asked for, largest first.
    pub owners: Vec<Owner>,
    /// Whether a limit cut the answer (see `truncation`).
    pub truncated: bool,
    /// What was cut and why.
    pub truncation: Option<String>,
}

/// Most owners an answer walks through.
pub const MAX_OWNERS: usize = 100_000;

/// What the walk up from an organization found: everyone who holds it
/// (breadth-first, the organization first), what each holds directly, the
/// properties of each holding, and what a limit cut.
struct Closure {
    order: Vec<EntityId>,
    holdings: Links,
    props: HashMap<(EntityId, EntityId), Arc<EdgeProps>>,
    truncation: Option<String>,
}

impl Db {
    /// Everyone who holds `id`, directly or through others, over the
    /// ownership relationships `when` admits.
    fn upward_closure(&self, id: EntityId, when: &When) -> Result<Closure, TraverseError> {
        let mut c = Closure {
            order: vec![id],
            holdings: HashMap::new(),
            props: HashMap::new(),
            truncation: None,
        };
        let mut seen = BTreeSet::from([id]);
        let mut next = 0;
        while next < c.order.len() {
            let held = c.order[next];
            next += 1;
            let ups = self.neighbours(held, RelKind::SUBSIDIARY_OF, Direction::Out)?;
            let owns = self.neighbours(held, RelKind::OWNS, Direction::In)?;
            for n in ups.into_iter().chain(owns) {
                if !when.admits(&n.props) {
                    continue;
                }
                let owner = n.id;
                if !seen.contains(&owner) {
                    if c.order.len() >= MAX_OWNERS {
                        c.truncation.get_or_insert_with(|| {
                            format!("more than {MAX_OWNERS} owners: the rest are left out")
                        });
                        continue;
                    }
                    seen.insert(owner);
                    c.order.push(owner);
                }
                c.holdings
                    .entry(owner)
                    .or_default()
                    .push((held, share_of(&n.props)));
                c.props
                    .entry((owner, held))
                    .or_insert_with(|| Arc::new(n.props));
            }
        }
        Ok(c)
    }

    /// Every direct and indirect owner of `id` holding at least `min_share`
    /// (a fraction: 0.25 for 25 %), persons only when `persons_only`, with
    /// effective shares and controlling chains. Cycles of cross-holdings
    /// are solved by iteration (to 10^-12); a structure larger than
    /// [`MAX_OWNERS`] is cut and says so.
    pub fn owners(
        &self,
        id: EntityId,
        min_share: Decimal,
        persons_only: bool,
    ) -> Result<Owners, TraverseError> {
        self.owners_on(id, min_share, persons_only, &When::ANY)
    }

    /// [`Db::owners`] over the ownership relationships `when` admits
    /// (valid on a day, begun in a window).
    pub fn owners_on(
        &self,
        id: EntityId,
        min_share: Decimal,
        persons_only: bool,
        when: &When,
    ) -> Result<Owners, TraverseError> {
        if !self.contains(id)? {
            return Err(TraverseError::NotFound(id));
        }
        let mut c = self.upward_closure(id, when)?;
        let solved = solve(id, &c.order, &c.holdings, true);
        if !solved.settled && c.truncation.is_none() {
            c.truncation = Some(format!(
                "effective shares did not settle after {ROUNDS} rounds (a cycle of full ownership)"
            ));
        }
        let mut owners = Vec::new();
        for x in c.order.iter().skip(1) {
            let e = solved.value[x];
            if e < min_share {
                continue;
            }
            let Some(entity) = self.get(*x)? else {
                continue;
            };
            if persons_only && entity.kind != EntityKind::PERSON {
                continue;
            }
            let chain = solved.best.get(x).cloned().unwrap_or_default();
            let chain_props = chain
                .windows(2)
                .map(|w| c.props.get(&(w[0], w[1])).cloned().unwrap_or_default())
                .collect();
            owners.push(Owner {
                id: *x,
                kind: entity.kind,
                direct_share: c.props.get(&(*x, id)).map(|p| share_of(p)),
                effective_share: e,
                chain,
                chain_props,
            });
        }
        owners.sort_by(|p, q| {
            q.effective_share
                .cmp(&p.effective_share)
                .then(p.id.cmp(&q.id))
        });
        Ok(Owners {
            organization: id,
            owners,
            truncated: c.truncation.is_some(),
            truncation: c.truncation,
        })
    }
}
