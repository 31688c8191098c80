//! # kith — an embedded customer graph database
//!
//! kith keeps one persistent, indexed graph of a company's customers:
//! parties (persons and organizations), households, accounts, interactions,
//! the source records of every system that knows them, and the relationships
//! between all of these. Services embed it and read one customer's whole
//! context in microseconds.
//!
//! ```
//! use kith::{attrs, Db, Direction, EdgeProps, Index, NewEntity, RelKind};
//!
//! let db = Db::temporary()?;
//! let ann = db.create(
//!     NewEntity::person()
//!         .attr(attrs::GIVEN_NAME, "Ann")
//!         .attr(attrs::FAMILY_NAME, "Lee")
//!         .attr(attrs::EMAIL, "Ann.Lee@example.com")
//!         .identifier("crm", "C-1001"),
//! )?;
//! let acct = db.create(NewEntity::account().attr(attrs::ACCOUNT_NUMBER, "12-3456"))?;
//! db.relate(ann, RelKind::OWNS, acct, EdgeProps::new().attr(attrs::ROLE, "primary"))?;
//!
//! assert_eq!(db.lookup("crm", "C-1001")?, Some(ann));
//! assert_eq!(db.find(Index::Email, " ann.lee@EXAMPLE.com")?, vec![ann]);
//! assert_eq!(db.neighbour_ids(ann, RelKind::OWNS, Direction::Out)?, vec![acct]);
//! assert!(db.check()?.is_ok());
//! # Ok::<(), kith::Error>(())
//! ```
//!
//! Layout of the crate: [`model`](crate::attrs) types are public; `db` holds
//! the [`Db`] handle and its operations; `storage` (private) is the only code
//! that touches the key-value engine; [`rules`] runs interaction rules over
//! the change log (feature `rules`); `generate` builds synthetic banks for
//! the demo, tests and benchmarks.

#![deny(missing_docs)]

#[cfg(feature = "server")]
pub mod client;
mod context;
mod db;
mod error;
#[doc(hidden)]
pub mod fuzzing;
#[doc(hidden)]
pub use storage::raw;
pub mod generate;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "import")]
pub mod import;
mod index;
#[cfg(feature = "json")]
pub mod json;
mod model;
#[cfg(feature = "rules")] // the rules' thread and the server's write pool
mod priority;
pub mod resolve;
#[cfg(feature = "server")]
pub mod resp;
#[cfg(feature = "rules")]
pub mod rules;
#[cfg(feature = "server")]
pub mod server;
mod storage;
pub mod traverse;

pub use context::{
    ContextError, ContextOptions, CustomerContext, DerivedFigures, HouseholdSummary, OpenItem,
    ProfileAttribute, RelatedParty,
};
pub use db::changes::{
    AttrChange, Change, ChangeEntry, ChangeId, ChangeSet, Changes, ClaimOptions, ConsumerInfo,
    FeedError, Follow, GroupInfo, GroupRead, PendingEntry, PendingSummary, Retention, Stream,
};
pub use db::{
    CheckReport, Commit, Committed, CopyError, CopyReport, Db, DbBuilder, Durability, NameMatch,
    NameSearch, Page, Prewarmed, RawBaseline, RawFloor, Stats, Transaction, Violation, WriteSet,
};
pub use error::{Cause, Error, OpenError, ReadError, StorageError, WriteError};
pub use index::Index;
pub use model::attrs;
pub use model::{
    Attrs, Date, Decimal, Direction, EdgeProps, EntityId, EntityKind, EntityVisitor, ExternalId,
    Neighbour, NewEntity, ParseValueError, Patch, RelKind, Timestamp, Value, ValueRef,
};
pub use storage::{Entity, StorageEngine};

/// The README's tour of the API, compiled and run as a doctest from the
/// README itself, so that the two cannot drift.
#[cfg(all(doctest, feature = "cli"))]
#[doc = include_str!("../README.md")]
struct ReadmeTour;

/// Normalization functions used by the attribute indexes.
pub mod normalize {
    pub use crate::index::{email, identifier, name_key, phone};
}
