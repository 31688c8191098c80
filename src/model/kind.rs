//! Entity kinds and relationship kinds.
//!
//! Both are small integer codes. The built-in kinds have fixed codes; user
//! kinds are registered by name and get codes from 256 up. The registry of
//! names lives in the database ([`crate::Db::register_relationship_kind`]).

use std::fmt;

/// The kind of an entity: person, organization, household, account, …
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntityKind(pub(crate) u16);

impl EntityKind {
    /// A natural person (a party).
    pub const PERSON: EntityKind = EntityKind(1);
    /// A company, trust or other legal entity (a party).
    pub const ORGANIZATION: EntityKind = EntityKind(2);
    /// A household: people living and banking together.
    pub const HOUSEHOLD: EntityKind = EntityKind(3);
    /// A product account: checking, savings, mortgage, loan, card, brokerage.
    pub const ACCOUNT: EntityKind = EntityKind(4);
    /// One record of one source system, identified by `(system, key)`.
    pub const SOURCE_RECORD: EntityKind = EntityKind(5);
    /// A call, web session, email, ticket.
    pub const INTERACTION: EntityKind = EntityKind(6);

    /// The stored code.
    pub fn code(self) -> u16 {
        self.0
    }

    /// Whether this is a party kind (person or organization).
    pub fn is_party(self) -> bool {
        self == EntityKind::PERSON || self == EntityKind::ORGANIZATION
    }

    /// The name of a built-in kind; `None` for a user-registered one.
    pub fn builtin_name(self) -> Option<&'static str> {
        BUILTIN_ENTITY_KINDS
            .iter()
            .find(|(c, _)| *c == self.0)
            .map(|(_, n)| *n)
    }
}

impl fmt::Display for EntityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.builtin_name() {
            Some(n) => f.write_str(n),
            None => write!(f, "kind#{}", self.0),
        }
    }
}

/// The kind of a relationship: MEMBER_OF, OWNS, GUARANTEES, …
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RelKind(pub(crate) u16);

impl RelKind {
    /// Person → household, with a `role`.
    pub const MEMBER_OF: RelKind = RelKind(1);
    /// Party → account, with a `role` (primary, joint, authorized, beneficiary).
    pub const OWNS: RelKind = RelKind(2);
    /// Party → party or party → account, with an `amount`.
    pub const GUARANTEES: RelKind = RelKind(3);
    /// Organization → organization, with an ownership `share`.
    pub const SUBSIDIARY_OF: RelKind = RelKind(4);
    /// Person → person.
    pub const SPOUSE_OF: RelKind = RelKind(5);
    /// Person → organization.
    pub const EMPLOYED_BY: RelKind = RelKind(6);
    /// Source record → party.
    pub const RESOLVES_TO: RelKind = RelKind(7);
    /// Party → party: a possible duplicate held for review.
    pub const POSSIBLY_SAME: RelKind = RelKind(8);
    /// Party → interaction.
    pub const HAD_INTERACTION: RelKind = RelKind(9);
    /// Source record → source record: a user said these are one customer.
    pub const SAME_AS: RelKind = RelKind(10);
    /// Source record → source record: a user said these are two customers.
    pub const NOT_SAME: RelKind = RelKind(11);
    /// Party → party: two customers identity resolution keeps apart (a veto,
    /// a conflicting record, a user's decision) although their records
    /// share an email, a phone, an address or a strong match, with `via`
    /// saying what kept them apart.
    pub const SHARES_CONTACT: RelKind = RelKind(12);

    /// The stored code.
    pub fn code(self) -> u16 {
        self.0
    }

    /// Whether identity resolution keeps this kind (`RESOLVES_TO`,
    /// `POSSIBLY_SAME`, `SAME_AS`, `NOT_SAME`): bookkeeping about records,
    /// not a relationship between customers. Relationship queries leave
    /// these out unless asked for them by name.
    pub fn is_identity_resolution(self) -> bool {
        matches!(
            self,
            RelKind::RESOLVES_TO | RelKind::POSSIBLY_SAME | RelKind::SAME_AS | RelKind::NOT_SAME
        )
    }

    /// The name of a built-in kind; `None` for a user-registered one.
    pub fn builtin_name(self) -> Option<&'static str> {
        BUILTIN_REL_KINDS
            .iter()
            .find(|(c, _)| *c == self.0)
            .map(|(_, n)| *n)
    }
}

impl fmt::Display for RelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.builtin_name() {
            Some(n) => f.write_str(n),
            None => write!(f, "REL#{}", self.0),
        }
    }
}

/// The direction of an edge as seen from one node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Edges that start at the node.
    Out,
    /// Edges that end at the node.
    In,
}

/// Built-in entity kinds: `(code, name)`.
pub(crate) const BUILTIN_ENTITY_KINDS: &[(u16, &str)] = &[
    (1, "person"),
    (2, "organization"),
    (3, "household"),
    (4, "account"),
    (5, "source_record"),
    (6, "interaction"),
];

/// Built-in relationship kinds: `(code, name)`.
pub(crate) const BUILTIN_REL_KINDS: &[(u16, &str)] = &[
    (1, "MEMBER_OF"),
    (2, "OWNS"),
    (3, "GUARANTEES"),
    (4, "SUBSIDIARY_OF"),
    (5, "SPOUSE_OF"),
    (6, "EMPLOYED_BY"),
    (7, "RESOLVES_TO"),
    (8, "POSSIBLY_SAME"),
    (9, "HAD_INTERACTION"),
    (10, "SAME_AS"),
    (11, "NOT_SAME"),
    (12, "SHARES_CONTACT"),
];

/// The first code given to a user-registered kind.
pub(crate) const FIRST_USER_CODE: u16 = 256;
