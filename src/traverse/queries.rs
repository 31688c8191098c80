//! Domain queries: household, guarantor network, corporate group, shared
//! identifiers.

use super::{Follow, TraverseError, TraverseSpec};
use crate::index::Index;
use crate::model::attrs as a;
use crate::model::{Decimal, Direction, EntityId, EntityKind, RelKind, Value};
use crate::Db;
use crate::Entity;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// An account held by a party, with the holder's role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountHolding {
    /// The account.
    pub account: Entity,
    /// The holder's role (primary, joint, …), if recorded.
    pub role: Option<String>,
}

/// A household member with their accounts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HouseholdMember {
    /// The person.
    pub person: Entity,
    /// Their role in the household (head, member, …), if recorded.
    pub role: Option<String>,
    /// The accounts they hold.
    pub accounts: Vec<AccountHolding>,
}

/// One household: its members, their accounts, and totals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HouseholdView {
    /// The household entity.
    pub household: Entity,
    /// Its members, by id.
    pub members: Vec<HouseholdMember>,
    /// Sum of balances by product type, each account counted once (a joint
    /// account of two members counts once).
    pub totals: BTreeMap<String, Decimal>,
}

/// A party in a guarantor network and how it is linked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuarantorLink {
    /// The party or account reached.
    pub id: EntityId,
    /// Its kind.
    pub kind: EntityKind,
    /// Hops from the customer.
    pub depth: usize,
    /// The ids along the chain, from the customer to it.
    pub chain: Vec<EntityId>,
}

/// Whom a customer guarantees, who guarantees the customer, and the exposure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuarantorNetwork {
    /// The customer.
    pub customer: EntityId,
    /// Parties and accounts the customer stands behind, transitively.
    pub guarantees: Vec<GuarantorLink>,
    /// Parties that stand behind the customer, transitively.
    pub guaranteed_by: Vec<GuarantorLink>,
    /// Loan-like accounts (loan, mortgage, card) the customer stands behind:
    /// guaranteed directly, or owned by a party the customer guarantees.
    pub exposed_accounts: Vec<EntityId>,
    /// Sum of the balances of `exposed_accounts`.
    pub total_exposure: Decimal,
    /// Whether a traversal limit cut the network short.
    pub truncated: bool,
}

/// A member of a corporate group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupMember {
    /// The organization.
    pub id: EntityId,
    /// Hops below the ultimate parent.
    pub depth: usize,
    /// The ultimate parent's effective ownership: the sum over ownership
    /// paths of the product of the shares along each path (1 for the parent).
    pub effective_share: Decimal,
}

/// A whole corporate group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CorporateGroup {
    /// The organization asked about.
    pub organization: EntityId,
    /// Its parents, nearest first, up to the ultimate parent.
    pub parents: Vec<EntityId>,
    /// The top of the group.
    pub ultimate_parent: EntityId,
    /// Every member, the ultimate parent first.
    pub members: Vec<GroupMember>,
    /// Sum of balances of loan-like accounts (loan, mortgage, card) owned by members.
    pub consolidated_exposure: Decimal,
    /// Whether a traversal limit cut the group short.
    pub truncated: bool,
}

/// Another party sharing an identifier with the one asked about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedIdentifier {
    /// The other party.
    pub id: EntityId,
    /// What is shared: `phone`, `email` or `address`.
    pub what: &'static str,
    /// The shared value (normalized).
    pub value: String,
}

fn balance(e: &Entity) -> Decimal {
    e.attr(a::BALANCE)
        .and_then(|v| v.as_decimal())
        .unwrap_or(Decimal::ZERO)
}

fn is_loan_like(e: &Entity) -> bool {
    e.kind == EntityKind::ACCOUNT
        && e.text(a::PRODUCT_TYPE)
            .is_some_and(|p| a::CREDIT_PRODUCTS.contains(&p))
}

fn add(total: &mut Decimal, d: Decimal) {
    *total = total.checked_add(d).unwrap_or(*total);
}

impl Db {
    fn entity_or_missing(&self, id: EntityId) -> Result<Entity, TraverseError> {
        self.get(id)?.ok_or(TraverseError::NotFound(id))
    }

    /// The customer's households (or the household itself, given one), each
    /// with its members, their accounts, and balance totals by product.
    pub fn household(&self, id: EntityId) -> Result<Vec<HouseholdView>, TraverseError> {
        let e = self.entity_or_missing(id)?;
        let households = if e.kind == EntityKind::HOUSEHOLD {
            vec![id]
        } else {
            self.neighbour_ids(id, RelKind::MEMBER_OF, Direction::Out)?
        };
        let mut out = Vec::with_capacity(households.len());
        for h in households {
            let Some(household) = self.get(h)? else {
                continue;
            };
            let mut members = Vec::new();
            let mut counted = BTreeSet::new();
            let mut totals: BTreeMap<String, Decimal> = BTreeMap::new();
            for m in self.neighbours(h, RelKind::MEMBER_OF, Direction::In)? {
                let Some(person) = self.get(m.id)? else {
                    continue;
                };
                let mut accounts = Vec::new();
                for o in self.neighbours(m.id, RelKind::OWNS, Direction::Out)? {
                    let Some(account) = self.get(o.id)? else {
                        continue;
                    };
                    if counted.insert(o.id) {
                        let product = account.text(a::PRODUCT_TYPE).unwrap_or("other").to_string();
                        add(
                            totals.entry(product).or_insert(Decimal::ZERO),
                            balance(&account),
                        );
                    }
                    accounts.push(AccountHolding {
                        account,
                        role: o.props.role(),
                    });
                }
                members.push(HouseholdMember {
                    person,
                    role: m.props.role(),
                    accounts,
                });
            }
            out.push(HouseholdView {
                household,
                members,
                totals,
            });
        }
        Ok(out)
    }

    /// The guarantor network of a party to `depth` hops: whom it guarantees
    /// and who guarantees it (transitively; chains and cycles are handled),
    /// and its total exposure.
    pub fn guarantors(
        &self,
        id: EntityId,
        depth: usize,
    ) -> Result<GuarantorNetwork, TraverseError> {
        self.entity_or_missing(id)?;
        let links = |dir: Follow| -> Result<(Vec<GuarantorLink>, bool), TraverseError> {
            let t = self.traverse(id, &TraverseSpec::new(&[RelKind::GUARANTEES], dir, depth))?;
            let mut out = Vec::with_capacity(t.reached.len());
            for r in t.reached {
                let kind = self
                    .get(r.id)?
                    .map(|e| e.kind)
                    .unwrap_or(EntityKind::PERSON);
                let mut chain = vec![id];
                chain.extend(r.path.iter().map(|h| h.to));
                out.push(GuarantorLink {
                    id: r.id,
                    kind,
                    depth: r.depth,
                    chain,
                });
            }
            Ok((out, t.truncated))
        };
        let (guarantees, t1) = links(Follow::Out)?;
        let (guaranteed_by, t2) = links(Follow::In)?;
        let mut exposed = BTreeSet::new();
        for g in &guarantees {
            if g.kind == EntityKind::ACCOUNT {
                exposed.insert(g.id);
            } else {
                for acct in self.neighbour_ids(g.id, RelKind::OWNS, Direction::Out)? {
                    exposed.insert(acct);
                }
            }
        }
        let mut total = Decimal::ZERO;
        let mut exposed_accounts = Vec::new();
        for acct in exposed {
            if let Some(e) = self.get(acct)? {
                if is_loan_like(&e) {
                    add(&mut total, balance(&e));
                    exposed_accounts.push(acct);
                }
            }
        }
        Ok(GuarantorNetwork {
            customer: id,
            guarantees,
            guaranteed_by,
            exposed_accounts,
            total_exposure: total,
            truncated: t1 || t2,
        })
    }

    /// The corporate group of an organization: parents up to the ultimate
    /// parent, every subsidiary below it with the ultimate parent's effective
    /// share, and the consolidated exposure. `SUBSIDIARY_OF` points from a
    /// subsidiary to its parent, with a `share` property (1 when missing).
    pub fn group(&self, id: EntityId) -> Result<CorporateGroup, TraverseError> {
        self.entity_or_missing(id)?;
        let share_of = |p: &crate::model::EdgeProps| {
            p.attrs
                .get(a::SHARE)
                .and_then(Value::as_decimal)
                .unwrap_or(Decimal::new(1, 0))
        };
        // Up: follow the largest-share parent, cycle-safe.
        let mut parents = Vec::new();
        let mut cur = id;
        let mut visited = BTreeSet::from([id]);
        while parents.len() < super::MAX_DEPTH {
            let ups = self.neighbours(cur, RelKind::SUBSIDIARY_OF, Direction::Out)?;
            let Some(best) = ups
                .iter()
                .filter(|n| !visited.contains(&n.id))
                .max_by(|x, y| {
                    share_of(&x.props)
                        .cmp(&share_of(&y.props))
                        .then(y.id.cmp(&x.id))
                })
            else {
                break;
            };
            visited.insert(best.id);
            parents.push(best.id);
            cur = best.id;
        }
        let ultimate = cur;
        // Down: every subsidiary of the ultimate parent, with effective shares
        // summed over all ownership paths (paths enumerated depth-first,
        // never revisiting a node on the same path).
        let down = self.traverse(
            ultimate,
            &TraverseSpec::new(&[RelKind::SUBSIDIARY_OF], Follow::In, super::MAX_DEPTH),
        )?;
        let mut effective: HashMap<EntityId, Decimal> = HashMap::new();
        let mut stack: Vec<(EntityId, Decimal, Vec<EntityId>)> =
            vec![(ultimate, Decimal::new(1, 0), vec![ultimate])];
        let mut paths_walked = 0usize;
        let mut truncated = down.truncated;
        while let Some((node, share, path)) = stack.pop() {
            paths_walked += 1;
            if paths_walked > 100_000 {
                truncated = true;
                break;
            }
            for sub in self.neighbours(node, RelKind::SUBSIDIARY_OF, Direction::In)? {
                if path.contains(&sub.id) || path.len() > super::MAX_DEPTH {
                    continue;
                }
                let s = mul(share, share_of(&sub.props));
                let e = effective.entry(sub.id).or_insert(Decimal::ZERO);
                add(e, s);
                let mut p = path.clone();
                p.push(sub.id);
                stack.push((sub.id, s, p));
            }
        }
        let mut members = vec![GroupMember {
            id: ultimate,
            depth: 0,
            effective_share: Decimal::new(1, 0),
        }];
        for r in &down.reached {
            members.push(GroupMember {
                id: r.id,
                depth: r.depth,
                effective_share: effective.get(&r.id).copied().unwrap_or(Decimal::ZERO),
            });
        }
        let mut exposure = Decimal::ZERO;
        let mut counted = BTreeSet::new();
        for m in &members {
            for acct in self.neighbour_ids(m.id, RelKind::OWNS, Direction::Out)? {
                if counted.insert(acct) {
                    if let Some(e) = self.get(acct)? {
                        if is_loan_like(&e) {
                            add(&mut exposure, balance(&e));
                        }
                    }
                }
            }
        }
        Ok(CorporateGroup {
            organization: id,
            parents,
            ultimate_parent: ultimate,
            members,
            consolidated_exposure: exposure,
            truncated,
        })
    }

    /// Other parties sharing a phone, an email or an address (house number,
    /// street and postal code) with this one: a household question and a
    /// fraud question.
    pub fn shared_identifiers(&self, id: EntityId) -> Result<Vec<SharedIdentifier>, TraverseError> {
        let e = self.entity_or_missing(id)?;
        let mut out = BTreeSet::new();
        for (attr, index, what) in [
            (a::PHONE, Index::Phone, "phone"),
            (a::EMAIL, Index::Email, "email"),
        ] {
            if let Some(v) = e.attr(attr) {
                for t in v.texts() {
                    let Some(norm) = index.normalize(t, self.default_country_code()) else {
                        continue;
                    };
                    for other in self.find(index, t)? {
                        if other != id {
                            out.insert((other, what, norm.clone()));
                        }
                    }
                }
            }
        }
        let addr = |e: &Entity| -> Option<String> {
            let n = crate::index::identifier(e.text(a::HOUSE_NUMBER)?)?;
            let s = crate::index::name_key(e.text(a::STREET)?)?;
            let p = crate::index::identifier(e.text(a::POSTAL_CODE)?)?;
            Some(format!("{n} {s} {p}"))
        };
        if let (Some(mine), Some(postal)) = (addr(&e), e.text(a::POSTAL_CODE)) {
            for other in self.find(Index::PostalCode, postal)? {
                if other == id {
                    continue;
                }
                if let Some(o) = self.get(other)? {
                    if o.kind.is_party() && addr(&o).as_deref() == Some(&mine) {
                        out.insert((other, "address", mine.clone()));
                    }
                }
            }
        }
        Ok(out
            .into_iter()
            .map(|(id, what, value)| SharedIdentifier { id, what, value })
            .collect())
    }
}

/// The exact product of two decimals, rounded toward zero to 12 places.
fn mul(x: Decimal, y: Decimal) -> Decimal {
    let m = x.mantissa().saturating_mul(y.mantissa());
    Decimal::new(m, x.scale().saturating_add(y.scale())).rounded_to(12)
}
