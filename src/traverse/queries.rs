//! Domain queries: household, guarantor network, corporate group, shared
//! identifiers.

use super::shares::{share_of, solve, Links, ROUNDS};
use super::{Follow, TraverseError, TraverseSpec, When};
use crate::index::Index;
use crate::model::attrs as a;
use crate::model::{Decimal, Direction, EdgeProps, EntityId, EntityKind, RelKind};
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
    /// The ownership relationship's properties (role, share, since, …).
    pub props: EdgeProps,
}

/// A household member with their accounts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HouseholdMember {
    /// The person.
    pub person: Entity,
    /// Their role in the household (head, member, …), if recorded.
    pub role: Option<String>,
    /// The membership relationship's properties (role, since, …).
    pub props: EdgeProps,
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
    /// The properties of each relationship along the chain (`amount`,
    /// `since`, …), in order: `props[i]` links `chain[i]` and `chain[i + 1]`.
    pub props: Vec<EdgeProps>,
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
    /// Its ownership relationships to other members (its parents in the
    /// group), with their properties (`share`, `since`, …).
    pub owned_by: Vec<(EntityId, EdgeProps)>,
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
    /// Whether a limit cut the group short (see `truncation`).
    pub truncated: bool,
    /// What was cut and why, when `truncated`.
    pub truncation: Option<String>,
}

/// Most members a corporate group answer holds; a larger group is cut
/// there and says so (`truncated`, `truncation`).
pub const MAX_GROUP_MEMBERS: usize = 100_000;

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

use super::shares::add;

impl Db {
    fn entity_or_missing(&self, id: EntityId) -> Result<Entity, TraverseError> {
        self.get(id)?.ok_or(TraverseError::NotFound(id))
    }

    /// The customer's households (or the household itself, given one), each
    /// with its members, their accounts, and balance totals by product.
    pub fn household(&self, id: EntityId) -> Result<Vec<HouseholdView>, TraverseError> {
        self.household_on(id, &When::ANY)
    }

    /// [`Db::household`] over the memberships and holdings `when` admits
    /// (valid on a day, begun in a window).
    pub fn household_on(
        &self,
        id: EntityId,
        when: &When,
    ) -> Result<Vec<HouseholdView>, TraverseError> {
        let e = self.entity_or_missing(id)?;
        let households = if e.kind == EntityKind::HOUSEHOLD {
            vec![id]
        } else {
            self.neighbours(id, RelKind::MEMBER_OF, Direction::Out)?
                .into_iter()
                .filter(|n| when.admits(&n.props))
                .map(|n| n.id)
                .collect()
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
                if !when.admits(&m.props) {
                    continue;
                }
                let Some(person) = self.get(m.id)? else {
                    continue;
                };
                let mut accounts = Vec::new();
                for o in self.neighbours(m.id, RelKind::OWNS, Direction::Out)? {
                    if !when.admits(&o.props) {
                        continue;
                    }
                    let Some(account) = self.get(o.id)? else {
                        continue;
                    };
                    if counted.insert(o.id) {
                        let product = account.text(a::PRODUCT_TYPE).unwrap_or("other").to_string();
                        let t = totals.entry(product).or_insert(Decimal::ZERO);
                        *t = add(*t, balance(&account));
                    }
                    accounts.push(AccountHolding {
                        account,
                        role: o.props.role(),
                        props: o.props,
                    });
                }
                members.push(HouseholdMember {
                    person,
                    role: m.props.role(),
                    props: m.props,
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
        self.guarantors_on(id, depth, &When::ANY)
    }

    /// [`Db::guarantors`] over the guarantees `when` admits (valid on a
    /// day, begun in a window).
    pub fn guarantors_on(
        &self,
        id: EntityId,
        depth: usize,
        when: &When,
    ) -> Result<GuarantorNetwork, TraverseError> {
        self.entity_or_missing(id)?;
        let links = |dir: Follow| -> Result<(Vec<GuarantorLink>, bool), TraverseError> {
            let mut spec = TraverseSpec::new(&[RelKind::GUARANTEES], dir, depth);
            spec.when = *when;
            let t = self.traverse(id, &spec)?;
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
                    props: r.path.iter().map(|h| h.props.clone()).collect(),
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
                    total = add(total, balance(&e));
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
    /// parent, every subsidiary below it at any depth with the ultimate
    /// parent's effective share, and the consolidated exposure.
    /// `SUBSIDIARY_OF` points from a subsidiary to its parent, with a `share`
    /// property (1 when missing). No depth limit: the walk ends where the
    /// structure does (cross-holdings terminate), or at
    /// [`MAX_GROUP_MEMBERS`], which sets `truncated` and says so.
    pub fn group(&self, id: EntityId) -> Result<CorporateGroup, TraverseError> {
        self.group_on(id, &When::ANY, MAX_GROUP_MEMBERS)
    }

    /// [`Db::group`] over the ownership relationships `when` admits (valid
    /// on a day, begun in a window), holding at most `max_members` members.
    pub fn group_on(
        &self,
        id: EntityId,
        when: &When,
        max_members: usize,
    ) -> Result<CorporateGroup, TraverseError> {
        self.entity_or_missing(id)?;
        let (parents, ultimate) = self.ultimate_parent(id, when)?;
        let (members, edges, mut truncation) =
            self.subsidiaries(ultimate, when, max_members.max(1))?;
        let order: Vec<EntityId> = members.iter().map(|(m, _)| *m).collect();
        let mut links: Links = HashMap::new();
        let mut owned_by: HashMap<EntityId, Vec<(EntityId, EdgeProps)>> = HashMap::new();
        for (sub, parent, props) in edges {
            if sub != ultimate {
                links
                    .entry(sub)
                    .or_default()
                    .push((parent, share_of(&props)));
            }
            owned_by.entry(sub).or_default().push((parent, props));
        }
        let solved = solve(ultimate, &order, &links, false);
        if !solved.settled && truncation.is_none() {
            truncation = Some(format!(
                "effective shares did not settle after {ROUNDS} rounds (a cycle of full ownership)"
            ));
        }
        let members: Vec<GroupMember> = members
            .iter()
            .map(|(m, depth)| GroupMember {
                id: *m,
                depth: *depth,
                effective_share: solved.value.get(m).copied().unwrap_or(Decimal::ZERO),
                owned_by: owned_by.remove(m).unwrap_or_default(),
            })
            .collect();
        let consolidated_exposure = self.exposure_of(members.iter().map(|m| m.id))?;
        Ok(CorporateGroup {
            organization: id,
            parents,
            ultimate_parent: ultimate,
            members,
            consolidated_exposure,
            truncated: truncation.is_some(),
            truncation,
        })
    }

    /// Up from `id` by the largest-share parent to the top (cycle-safe):
    /// the parents, nearest first, and the ultimate parent.
    fn ultimate_parent(
        &self,
        id: EntityId,
        when: &When,
    ) -> Result<(Vec<EntityId>, EntityId), TraverseError> {
        let mut parents = Vec::new();
        let mut cur = id;
        let mut visited = BTreeSet::from([id]);
        loop {
            let ups = self.neighbours(cur, RelKind::SUBSIDIARY_OF, Direction::Out)?;
            let Some(best) = ups
                .iter()
                .filter(|n| !visited.contains(&n.id) && when.admits(&n.props))
                .max_by(|x, y| {
                    share_of(&x.props)
                        .cmp(&share_of(&y.props))
                        .then(y.id.cmp(&x.id))
                })
            else {
                return Ok((parents, cur));
            };
            visited.insert(best.id);
            parents.push(best.id);
            cur = best.id;
        }
    }

    /// Every subsidiary below `top`, breadth-first at any depth (each once,
    /// at its shortest depth, `top` first at 0), the ownership relationships
    /// among them `(subsidiary, parent, properties)`, and what a limit cut.
    #[allow(clippy::type_complexity)]
    fn subsidiaries(
        &self,
        top: EntityId,
        when: &When,
        max_members: usize,
    ) -> Result<
        (
            Vec<(EntityId, usize)>,
            Vec<(EntityId, EntityId, EdgeProps)>,
            Option<String>,
        ),
        TraverseError,
    > {
        let mut members = vec![(top, 0usize)];
        let mut seen = BTreeSet::from([top]);
        let mut edges = Vec::new();
        let mut next = 0;
        let mut cut = None;
        while next < members.len() {
            let (node, depth) = members[next];
            next += 1;
            for sub in self.neighbours(node, RelKind::SUBSIDIARY_OF, Direction::In)? {
                if !when.admits(&sub.props) {
                    continue;
                }
                if !seen.contains(&sub.id) {
                    if members.len() >= max_members {
                        cut.get_or_insert_with(|| {
                            format!("the group has more than {max_members} members: members past that number (at depth {} and below) are left out", depth + 1)
                        });
                        continue;
                    }
                    seen.insert(sub.id);
                    members.push((sub.id, depth + 1));
                }
                edges.push((sub.id, node, sub.props));
            }
        }
        Ok((members, edges, cut))
    }

    /// Sum of balances of the loan-like accounts the parties own, each once.
    fn exposure_of(
        &self,
        parties: impl Iterator<Item = EntityId>,
    ) -> Result<Decimal, TraverseError> {
        let mut exposure = Decimal::ZERO;
        let mut counted = BTreeSet::new();
        for m in parties {
            for acct in self.neighbour_ids(m, RelKind::OWNS, Direction::Out)? {
                if counted.insert(acct) {
                    if let Some(e) = self.get(acct)? {
                        if is_loan_like(&e) {
                            exposure = add(exposure, balance(&e));
                        }
                    }
                }
            }
        }
        Ok(exposure)
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
