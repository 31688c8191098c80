//! Beneficial owners: every direct and indirect owner of an organization,
//! with its effective share summed over all ownership paths (cross-holdings
//! included), and the chain through which it holds the most.
//!
//! Ownership edges: `SUBSIDIARY_OF` from the owned to the owner, and `OWNS`
//! from the owner to an organization, each with a `share` (1 when missing).

use super::TraverseError;
use crate::model::attrs as a;
use crate::model::{Decimal, Direction, EntityId, EntityKind, RelKind, Value};
use crate::Db;
use std::collections::{BTreeSet, HashMap};

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

const ROUNDS: usize = 1_000;

fn share(p: &crate::model::EdgeProps) -> Decimal {
    p.attrs
        .get(a::SHARE)
        .and_then(Value::as_decimal)
        .unwrap_or(Decimal::new(1, 0))
}

fn mul(x: Decimal, y: Decimal) -> Decimal {
    let m = x.mantissa().saturating_mul(y.mantissa());
    Decimal::new(m, x.scale().saturating_add(y.scale())).rounded_to(12)
}

fn add(x: Decimal, y: Decimal) -> Decimal {
    x.checked_add(y).unwrap_or(x)
}

fn as_f64(d: Decimal) -> f64 {
    d.mantissa() as f64 / 10f64.powi(d.scale() as i32)
}

type Holdings = HashMap<EntityId, Vec<(EntityId, Decimal)>>;
type Chains = HashMap<EntityId, (f64, Vec<EntityId>)>;

impl Db {
    /// Everyone who holds `id`, directly or through others, breadth-first
    /// (`id` first), with what each holds directly, and what a limit cut.
    fn upward_closure(
        &self,
        id: EntityId,
        day: Option<crate::model::Date>,
    ) -> Result<(Vec<EntityId>, Holdings, Option<String>), TraverseError> {
        let valid = |p: &crate::model::EdgeProps| day.is_none_or(|d| p.holds_on(d));
        let mut holdings: HashMap<EntityId, Vec<(EntityId, Decimal)>> = HashMap::new();
        let mut order = vec![id];
        let mut seen = BTreeSet::from([id]);
        let mut truncation = None;
        let mut next = 0;
        while next < order.len() {
            let held = order[next];
            next += 1;
            let mut owners = Vec::new();
            for n in self.neighbours(held, RelKind::SUBSIDIARY_OF, Direction::Out)? {
                if valid(&n.props) {
                    owners.push((n.id, share(&n.props)));
                }
            }
            for n in self.neighbours(held, RelKind::OWNS, Direction::In)? {
                if valid(&n.props) {
                    owners.push((n.id, share(&n.props)));
                }
            }
            for (owner, s) in owners {
                if !seen.contains(&owner) {
                    if order.len() >= MAX_OWNERS {
                        truncation.get_or_insert_with(|| {
                            format!("more than {MAX_OWNERS} owners: the rest are left out")
                        });
                        continue;
                    }
                    seen.insert(owner);
                    order.push(owner);
                }
                holdings.entry(owner).or_default().push((held, s));
            }
        }
        Ok((order, holdings, truncation))
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
        self.owners_on(id, min_share, persons_only, None)
    }

    /// [`Db::owners`] over the ownership relationships valid on `day` only
    /// (`None`: all of them).
    pub fn owners_on(
        &self,
        id: EntityId,
        min_share: Decimal,
        persons_only: bool,
        day: Option<crate::model::Date>,
    ) -> Result<Owners, TraverseError> {
        if !self.contains(id)? {
            return Err(TraverseError::NotFound(id));
        }
        let (order, holdings, mut truncation) = self.upward_closure(id, day)?;
        let (f, best, settled) = solve(id, &order, &holdings);
        if !settled && truncation.is_none() {
            truncation = Some(format!(
                "effective shares did not settle after {ROUNDS} rounds (a cycle of full ownership)"
            ));
        }
        let mut owners = Vec::new();
        for x in order.iter().skip(1) {
            let e = f[x];
            if e < min_share {
                continue;
            }
            let Some(entity) = self.get(*x)? else {
                continue;
            };
            if persons_only && entity.kind != EntityKind::PERSON {
                continue;
            }
            let direct = holdings
                .get(x)
                .and_then(|h| h.iter().find(|(held, _)| *held == id).map(|(_, s)| *s));
            owners.push(Owner {
                id: *x,
                kind: entity.kind,
                direct_share: direct,
                effective_share: e,
                chain: best.get(x).map(|b| b.1.clone()).unwrap_or_default(),
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
            truncated: truncation.is_some(),
            truncation,
        })
    }
}

/// f(x) = Σ over what x holds directly of share × f(held), f(id) = 1,
/// solved by iteration in `order`; and each owner's best chain by the
/// largest product, kept simple. Returns whether the iteration settled.
fn solve(
    id: EntityId,
    order: &[EntityId],
    holdings: &Holdings,
) -> (HashMap<EntityId, Decimal>, Chains, bool) {
    let mut f: HashMap<EntityId, Decimal> = order.iter().map(|o| (*o, Decimal::ZERO)).collect();
    f.insert(id, Decimal::new(1, 0));
    let mut best: HashMap<EntityId, (f64, Vec<EntityId>)> = HashMap::from([(id, (1.0, vec![id]))]);
    let tolerance = Decimal::new(1, 12);
    for _ in 0..ROUNDS {
        let mut moved = false;
        for x in order.iter().skip(1) {
            let mut sum = Decimal::ZERO;
            let mut chain: Option<(f64, Vec<EntityId>)> = best.get(x).cloned();
            for (held, s) in holdings.get(x).map(Vec::as_slice).unwrap_or(&[]) {
                sum = add(sum, mul(*s, f[held]));
                if let Some((p, path)) = best.get(held) {
                    let cand = as_f64(*s) * p;
                    if !path.contains(x) && chain.as_ref().is_none_or(|c| cand > c.0 + 1e-15) {
                        let mut full = vec![*x];
                        full.extend(path.iter().copied());
                        chain = Some((cand, full));
                    }
                }
            }
            let old = f[x];
            let diff = as_f64(add(sum, Decimal::new(-old.mantissa(), old.scale()))).abs();
            if diff > as_f64(tolerance) {
                moved = true;
            }
            f.insert(*x, sum);
            if let Some(c) = chain {
                best.insert(*x, c);
            }
        }
        if !moved {
            return (f, best, true);
        }
    }
    (f, best, false)
}
