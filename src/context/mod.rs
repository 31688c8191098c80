//! The customer context: one assembled view of everything kith knows about a
//! customer, and a bounded cache of assembled views that is invalidated
//! exactly when anything a view contains changes.
//!
//! Assembly uses `Db`'s public reads; the cache is told of every write by
//! `db/write.rs`.

use crate::error::ReadError;
use crate::model::attrs as a;
use crate::model::{
    Decimal, Direction, EdgeProps, EntityId, EntityKind, ExternalId, RelKind, Timestamp, Value,
};
use crate::traverse::AccountHolding;
use crate::Db;
use crate::Entity;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// One attribute of the golden profile, with the source record it came from
/// where known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileAttribute {
    /// Canonical attribute name.
    pub name: String,
    /// Its value.
    pub value: Value,
    /// The source record (system, key) that holds this value, if any does.
    pub source: Option<ExternalId>,
}

/// A household of the customer with its members.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HouseholdSummary {
    /// The household.
    pub household: Entity,
    /// The customer's role in it.
    pub role: Option<String>,
    /// Its members (the customer included) with their roles.
    pub members: Vec<(Entity, Option<String>)>,
    /// Balances of all members' accounts by product type, each account once.
    pub totals: BTreeMap<String, Decimal>,
}

/// A relationship of the customer to another party (guarantees, employer,
/// spouse, corporate links, possible duplicates, user kinds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelatedParty {
    /// The relationship kind.
    pub kind: RelKind,
    /// `Out` when the relationship starts at the customer.
    pub direction: Direction,
    /// The entity at the other end.
    pub other: Entity,
    /// The relationship's properties.
    pub props: EdgeProps,
}

/// Something open about the customer: a ticket, a dispute, a delinquent account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenItem {
    /// What it is ("delinquent account", "open dispute", …).
    pub what: String,
    /// The entity.
    pub entity: Entity,
}

/// Figures derived from the rest of the context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DerivedFigures {
    /// Sum of balances by product type, over the customer's accounts.
    pub balances_by_product: BTreeMap<String, Decimal>,
    /// Sum of balances of deposit products (checking, savings, brokerage).
    pub deposits: Decimal,
    /// Sum of balances of credit products (loan, mortgage, card, credit line).
    pub credit: Decimal,
    /// Accounts not closed.
    pub open_products: usize,
    /// Days since the earliest account was opened, as of the assembly.
    pub tenure_days: Option<i64>,
    /// The customer's tier attribute.
    pub tier: Option<String>,
}

/// Everything kith knows about one customer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerContext {
    /// The customer.
    pub customer: Entity,
    /// The golden profile: each attribute with its source where known.
    pub profile: Vec<ProfileAttribute>,
    /// Every cross-system identifier: the customer's own and its source records'.
    pub identifiers: Vec<ExternalId>,
    /// Accounts, with the customer's role.
    pub accounts: Vec<AccountHolding>,
    /// Households, with members.
    pub households: Vec<HouseholdSummary>,
    /// Relationships to other parties and entities.
    pub relationships: Vec<RelatedParty>,
    /// The most recent interactions, newest first.
    pub recent_interactions: Vec<Entity>,
    /// Open tickets, disputes, delinquent accounts.
    pub open_items: Vec<OpenItem>,
    /// Derived figures.
    pub figures: DerivedFigures,
    /// Every entity this context was built from (for cache invalidation).
    pub(crate) reads: BTreeSet<EntityId>,
}

/// Why a context could not be assembled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContextError {
    /// No entity with that id.
    #[error("no entity with id {0}")]
    NotFound(EntityId),
    /// A read failed.
    #[error(transparent)]
    Read(#[from] ReadError),
}

/// How a context is assembled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContextOptions {
    /// How many recent interactions to include (default 10).
    pub recent_interactions: usize,
    /// How many recent interactions to look through for open items (default 100).
    pub open_item_window: usize,
}

impl Default for ContextOptions {
    fn default() -> ContextOptions {
        ContextOptions {
            recent_interactions: 10,
            open_item_window: 100,
        }
    }
}

const DEPOSITS: &[&str] = &["checking", "savings", "brokerage", "deposit"];
const CREDIT: &[&str] = a::CREDIT_PRODUCTS;
/// Account statuses that make an account an open item.
const TROUBLED: &[&str] = &[
    "delinquent",
    "past_due",
    "in_arrears",
    "charged_off",
    "disputed",
];

fn add(total: &mut Decimal, d: Decimal) {
    *total = total.checked_add(d).unwrap_or(*total);
}

impl crate::DbBuilder {
    /// How many assembled customer contexts to keep (default 10,000; 0 turns
    /// the cache off).
    pub fn context_cache(mut self, capacity: usize) -> crate::DbBuilder {
        self.view_cache = capacity;
        self
    }

    /// How customer contexts are assembled (how many interactions, …).
    pub fn context_options(mut self, options: ContextOptions) -> crate::DbBuilder {
        self.view_options = Some(Arc::new(options));
        self
    }
}

impl Db {
    /// The context cached for `id`, if a current one is.
    pub(crate) fn cached_context(&self, id: EntityId) -> Option<Arc<CustomerContext>> {
        self.inner.views.get(id)?.downcast::<CustomerContext>().ok()
    }

    /// How many customer contexts the cache holds now.
    pub fn cached_contexts(&self) -> usize {
        self.inner.views.len()
    }

    /// The customer context of `id`, from the cache when it holds a current
    /// one, assembled (and cached) otherwise. The cache drops a context when
    /// a commit touches any entity it was assembled from.
    pub fn context(&self, id: EntityId) -> Result<Arc<CustomerContext>, ContextError> {
        if let Some(c) = self.cached_context(id) {
            return Ok(c);
        }
        // A merged customer's id is a redirect to its survivor; a source
        // record's id stands for its customer.
        let id = self.customer_for(id)?.unwrap_or(id);
        if let Some(c) = self.cached_context(id) {
            return Ok(c);
        }
        let cache = &self.inner.views;
        let epoch = cache.epoch(id);
        let default = ContextOptions::default();
        let opts = self
            .inner
            .view_options
            .as_ref()
            .and_then(|o| o.downcast_ref::<ContextOptions>())
            .unwrap_or(&default);
        let ctx = Arc::new(self.context_uncached(id, opts)?);
        let reads = ctx.reads.iter().copied().collect();
        cache.insert_if_unchanged(id, ctx.clone(), reads, true, epoch, 1);
        Ok(ctx)
    }

    /// Assembles the customer context of `id` afresh, bypassing the cache.
    pub fn context_uncached(
        &self,
        id: EntityId,
        opts: &ContextOptions,
    ) -> Result<CustomerContext, ContextError> {
        self.context_parts(id, opts, true, true)
    }

    /// A context, optionally without its households and relationships
    /// (left empty): what a reader that needs neither assembles (the
    /// interaction rules). Never cached.
    pub(crate) fn context_parts(
        &self,
        id: EntityId,
        opts: &ContextOptions,
        with_households: bool,
        with_relationships: bool,
    ) -> Result<CustomerContext, ContextError> {
        let customer = self.get(id)?.ok_or(ContextError::NotFound(id))?;
        let mut reads = BTreeSet::from([id]);
        let (profile, identifiers) = self.profile_of(&customer, &mut reads)?;
        let mut open_items = Vec::new();
        let (accounts, figures) = self.accounts_of(&customer, &mut reads, &mut open_items)?;
        let households = match with_households {
            true => self.households_of(id, &mut reads)?,
            false => Vec::new(),
        };
        let relationships = match with_relationships {
            true => self.relationships_of(id, &mut reads)?,
            false => Vec::new(),
        };
        let recent_interactions = self.interactions_of(id, opts, &mut reads, &mut open_items)?;
        Ok(CustomerContext {
            customer,
            profile,
            identifiers: identifiers.into_iter().collect(),
            accounts,
            households,
            relationships,
            recent_interactions,
            open_items,
            figures,
            reads,
        })
    }

    /// The golden profile with each value's source, and every identifier
    /// of the customer and its source records.
    fn profile_of(
        &self,
        customer: &Entity,
        reads: &mut BTreeSet<EntityId>,
    ) -> Result<(Vec<ProfileAttribute>, BTreeSet<ExternalId>), ContextError> {
        let id = customer.id;
        // Source records and lineage.
        let mut identifiers: BTreeSet<ExternalId> = customer.identifiers().into_iter().collect();
        let mut sources: Vec<Entity> = Vec::new();
        for n in self.neighbours(id, RelKind::RESOLVES_TO, Direction::In)? {
            reads.insert(n.id);
            if let Some(s) = self.get(n.id)? {
                identifiers.extend(s.identifiers());
                sources.push(s);
            }
        }
        sources.sort_by_key(|s| std::cmp::Reverse(s.updated));
        // Survivorship's choice names the source of each golden attribute;
        // an attribute set otherwise falls back to the newest record holding it.
        let lineage = crate::resolve::survive::choose(&sources);
        let profile: Vec<ProfileAttribute> = customer
            .attrs()
            .into_iter()
            .filter(|(name, _)| name != crate::attrs::SURVIVED)
            .map(|(name, value)| {
                let source = match lineage.get(&name) {
                    Some(l) if l.value == value => Some(l.record.clone()),
                    _ => sources
                        .iter()
                        .find(|s| s.attr(&name).as_ref() == Some(&value))
                        .and_then(|s| s.identifiers().into_iter().next()),
                };
                ProfileAttribute {
                    name,
                    value,
                    source,
                }
            })
            .collect();

        Ok((profile, identifiers))
    }

    /// The customer's accounts with roles, the figures derived from them,
    /// and the troubled ones as open items.
    fn accounts_of(
        &self,
        customer: &Entity,
        reads: &mut BTreeSet<EntityId>,
        open_items: &mut Vec<OpenItem>,
    ) -> Result<(Vec<AccountHolding>, DerivedFigures), ContextError> {
        let id = customer.id;
        // Accounts and figures.
        let mut accounts = Vec::new();
        let mut figures = DerivedFigures {
            balances_by_product: BTreeMap::new(),
            deposits: Decimal::ZERO,
            credit: Decimal::ZERO,
            open_products: 0,
            tenure_days: None,
            tier: customer.text(a::TIER).map(str::to_string),
        };
        let today = Timestamp::now().as_micros().div_euclid(86_400_000_000) as i32;
        for n in self.neighbours(id, RelKind::OWNS, Direction::Out)? {
            reads.insert(n.id);
            let Some(acct) = self.get(n.id)? else {
                continue;
            };
            let product = acct.text(a::PRODUCT_TYPE).unwrap_or("other").to_string();
            let balance = acct
                .attr(a::BALANCE)
                .and_then(|v| v.as_decimal())
                .unwrap_or(Decimal::ZERO);
            add(
                figures
                    .balances_by_product
                    .entry(product.clone())
                    .or_insert(Decimal::ZERO),
                balance,
            );
            if DEPOSITS.contains(&product.as_str()) {
                add(&mut figures.deposits, balance);
            } else if CREDIT.contains(&product.as_str()) {
                add(&mut figures.credit, balance);
            }
            let status = acct.text(a::STATUS).unwrap_or("");
            if status != "closed" {
                figures.open_products += 1;
            }
            if TROUBLED.contains(&status) {
                open_items.push(OpenItem {
                    what: format!("{status} {product} account"),
                    entity: acct.clone(),
                });
            }
            if let Some(opened) = acct.attr(a::OPENED).and_then(|v| v.as_date()) {
                let days = (today - opened.days_since_epoch()) as i64;
                figures.tenure_days = Some(figures.tenure_days.map_or(days, |d| d.max(days)));
            }
            accounts.push(AccountHolding {
                account: acct,
                role: n.props.role(),
                props: n.props,
            });
        }

        Ok((accounts, figures))
    }

    /// The customer's households with members and balance totals.
    fn households_of(
        &self,
        id: EntityId,
        reads: &mut BTreeSet<EntityId>,
    ) -> Result<Vec<HouseholdSummary>, ContextError> {
        // Households with members: the same assembly as `Db::household`.
        let views = self.household(id).map_err(|e| match e {
            crate::traverse::TraverseError::Read(r) => ContextError::Read(r),
            _ => ContextError::NotFound(id),
        })?;
        let mut households = Vec::with_capacity(views.len());
        for v in views {
            reads.insert(v.household.id);
            let mut role = None;
            let mut members = Vec::with_capacity(v.members.len());
            for m in v.members {
                reads.insert(m.person.id);
                reads.extend(m.accounts.iter().map(|h| h.account.id));
                if m.person.id == id {
                    role = m.role.clone();
                }
                members.push((m.person, m.role));
            }
            households.push(HouseholdSummary {
                household: v.household,
                role,
                members,
                totals: v.totals,
            });
        }
        Ok(households)
    }

    /// Every relationship not shown elsewhere in the context.
    fn relationships_of(
        &self,
        id: EntityId,
        reads: &mut BTreeSet<EntityId>,
    ) -> Result<Vec<RelatedParty>, ContextError> {
        // Every other relationship.
        let listed = [
            RelKind::OWNS,
            RelKind::MEMBER_OF,
            RelKind::HAD_INTERACTION,
            RelKind::RESOLVES_TO,
        ];
        let mut relationships = Vec::new();
        for dir in [Direction::Out, Direction::In] {
            for n in self.edges(id, dir)? {
                if listed.contains(&n.kind) && !(n.kind == RelKind::OWNS && dir == Direction::In) {
                    continue;
                }
                reads.insert(n.id);
                if let Some(other) = self.get(n.id)? {
                    relationships.push(RelatedParty {
                        kind: n.kind,
                        direction: dir,
                        other,
                        props: n.props,
                    });
                }
            }
        }

        Ok(relationships)
    }

    /// The newest interactions, and the open ones among a wider window as
    /// open items.
    fn interactions_of(
        &self,
        id: EntityId,
        opts: &ContextOptions,
        reads: &mut BTreeSet<EntityId>,
        open_items: &mut Vec<OpenItem>,
    ) -> Result<Vec<Entity>, ContextError> {
        // Interactions: the newest few, and open ones among a wider window.
        let window = opts.open_item_window.max(opts.recent_interactions);
        let mut recent_interactions = Vec::new();
        for (i, (_, iid)) in self
            .recent_interactions(id, window)?
            .into_iter()
            .enumerate()
        {
            reads.insert(iid);
            let Some(it) = self.get(iid)? else { continue };
            if it.text(a::STATUS) == Some("open") {
                let kind = it.text(a::INTERACTION_TYPE).unwrap_or("interaction");
                open_items.push(OpenItem {
                    what: format!("open {kind}"),
                    entity: it.clone(),
                });
            }
            if i < opts.recent_interactions {
                recent_interactions.push(it);
            }
        }

        Ok(recent_interactions)
    }
}

impl CustomerContext {
    /// Whether the customer is a party kind.
    pub fn is_party(&self) -> bool {
        self.customer.kind.is_party()
    }

    /// The entities this context was assembled from.
    pub fn sources_read(&self) -> impl Iterator<Item = EntityId> + '_ {
        self.reads.iter().copied()
    }

    /// Whether the customer is a person.
    pub fn is_person(&self) -> bool {
        self.customer.kind == EntityKind::PERSON
    }
}
