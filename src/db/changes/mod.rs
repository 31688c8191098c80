//! The change feed: a durable log of every change, written in the same
//! atomic batch as the data it describes, read by position, followed live,
//! and consumed by named groups whose positions and pending lists are
//! stored in the database (the model of Redis Streams' consumer groups).
//!
//! Layout: what a change is lives with the data model (`model/change.rs`); `log.rs` reads the log, follows
//! it and trims it; `group.rs` holds the consumer groups. The rows
//! themselves are written by the database's one write path
//! (`db/commit.rs`).

mod group;
pub(crate) mod log;

pub use crate::model::{AttrChange, Change, ChangeEntry, ChangeId};
pub use group::{ClaimOptions, ConsumerInfo, GroupInfo, GroupRead, PendingEntry, PendingSummary};
pub use log::{ChangeSet, Changes, FeedError, Follow, Retention, Stream};

pub(crate) use log::{place_entries, FeedState};
