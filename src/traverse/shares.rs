//! Effective shares: the one computation behind `group` (what the ultimate
//! parent holds of each member) and `owners` (what each owner holds of an
//! organization).
//!
//! Both solve the same equations over an ownership structure that may hold
//! cycles (cross-holdings): `v(root) = 1`, and for every other node
//! `v(x) = Σ share(x, y) × v(y)` over the links `x → y` — for `owners`, the
//! organizations `x` holds directly; for `group`, the parents of member `x`.
//! Iterated in breadth-first order: exact in one round without cycles; with
//! cycles, until no value moves by more than 10^-12.

use crate::model::attrs as a;
use crate::model::{Decimal, EdgeProps, EntityId, Value};
use std::collections::HashMap;

/// Rounds of iteration before a structure whose shares do not settle (a
/// cycle of full ownership) is reported as not settled.
pub(crate) const ROUNDS: usize = 1_000;

/// For each node, its links `(other, share)`.
pub(crate) type Links = HashMap<EntityId, Vec<(EntityId, Decimal)>>;

/// The `share` property of an ownership relationship (1 when missing).
pub(crate) fn share_of(p: &EdgeProps) -> Decimal {
    p.attrs
        .get(a::SHARE)
        .and_then(Value::as_decimal)
        .unwrap_or(Decimal::new(1, 0))
}

/// The exact product of two decimals, rounded toward zero to 12 places.
fn mul(x: Decimal, y: Decimal) -> Decimal {
    let m = x.mantissa().saturating_mul(y.mantissa());
    Decimal::new(m, x.scale().saturating_add(y.scale())).rounded_to(12)
}

/// `x + y`, or `x` where the sum would not fit.
pub(crate) fn add(x: Decimal, y: Decimal) -> Decimal {
    x.checked_add(y).unwrap_or(x)
}

fn as_f64(d: Decimal) -> f64 {
    d.mantissa() as f64 / 10f64.powi(d.scale() as i32)
}

/// What [`solve`] found.
pub(crate) struct Solved {
    /// Each node's value (`root`: 1).
    pub value: HashMap<EntityId, Decimal>,
    /// With chains asked for: for each node, the chain of links with the
    /// largest product from it to the root (the node first, the root last).
    pub best: HashMap<EntityId, Vec<EntityId>>,
    /// Whether the iteration settled within [`ROUNDS`].
    pub settled: bool,
}

/// Solves the share equations over `order` (breadth-first from `root`,
/// `root` first) and `links`; tracks each node's best chain when `chains`.
pub(crate) fn solve(root: EntityId, order: &[EntityId], links: &Links, chains: bool) -> Solved {
    let mut value: HashMap<EntityId, Decimal> = order.iter().map(|o| (*o, Decimal::ZERO)).collect();
    value.insert(root, Decimal::new(1, 0));
    let mut best: HashMap<EntityId, (f64, Vec<EntityId>)> = HashMap::new();
    if chains {
        best.insert(root, (1.0, vec![root]));
    }
    let tolerance = as_f64(Decimal::new(1, 12));
    for _ in 0..ROUNDS {
        let mut moved = false;
        for x in order.iter().skip(1) {
            let mut sum = Decimal::ZERO;
            let mut chain = if chains { best.get(x).cloned() } else { None };
            for (other, s) in links.get(x).map(Vec::as_slice).unwrap_or(&[]) {
                sum = add(sum, mul(*s, value[other]));
                if !chains {
                    continue;
                }
                if let Some((p, path)) = best.get(other) {
                    let cand = as_f64(*s) * p;
                    if !path.contains(x) && chain.as_ref().is_none_or(|c| cand > c.0 + 1e-15) {
                        let mut full = vec![*x];
                        full.extend(path.iter().copied());
                        chain = Some((cand, full));
                    }
                }
            }
            let old = value[x];
            let diff = as_f64(add(sum, Decimal::new(-old.mantissa(), old.scale()))).abs();
            if diff > tolerance {
                moved = true;
            }
            value.insert(*x, sum);
            if let Some(c) = chain {
                best.insert(*x, c);
            }
        }
        if !moved {
            return Solved {
                value,
                best: best.into_iter().map(|(k, (_, c))| (k, c)).collect(),
                settled: true,
            };
        }
    }
    Solved {
        value,
        best: best.into_iter().map(|(k, (_, c))| (k, c)).collect(),
        settled: false,
    }
}
