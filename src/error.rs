//! Errors, one enum per kind of operation.
//!
//! Expected outcomes (not found, an identifier already taken, a newer format)
//! are variants of their own, distinct from I/O failure and corruption.
//! [`Error`] gathers them all for callers who do not care which.

use crate::model::{EntityId, ExternalId};
use std::path::PathBuf;
use thiserror::Error;

/// A failure of the storage underneath: I/O, or a stored value that is damaged.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The engine failed to read or write.
    #[error("storage I/O error: {message}")]
    Io {
        /// What the engine said.
        message: String,
        /// The error underneath (the operating system's, the engine's), as
        /// [`std::error::Error::source`] returns it.
        #[source]
        cause: Cause,
    },
    /// A stored value (or key) does not decode.
    #[error("corrupt value at {key}: {reason}")]
    Corrupt {
        /// The key, in readable form (`node/42`, `adj/1/out/2/7`, …).
        key: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// The error underneath a [`StorageError::Io`]: cheap to clone; equal when
/// the two say the same.
#[derive(Clone, Debug)]
pub struct Cause(std::sync::Arc<dyn std::error::Error + Send + Sync>);

impl Cause {
    /// Wraps an error.
    pub fn new(e: impl std::error::Error + Send + Sync + 'static) -> Cause {
        Cause(std::sync::Arc::new(e))
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl PartialEq for Cause {
    fn eq(&self, other: &Cause) -> bool {
        self.0.to_string() == other.0.to_string()
    }
}

impl Eq for Cause {}

impl StorageError {
    /// An I/O failure with its cause.
    pub(crate) fn io(
        message: impl Into<String>,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> StorageError {
        StorageError::Io {
            message: message.into(),
            cause: Cause::new(cause),
        }
    }
}

impl From<crate::storage::EngineError> for StorageError {
    fn from(e: crate::storage::EngineError) -> StorageError {
        match e {
            crate::storage::EngineError::Corrupt(m) => StorageError::Corrupt {
                key: "(engine files)".into(),
                reason: m,
            },
            crate::storage::EngineError::Io(m, cause) => StorageError::Io {
                message: m,
                cause: Cause(cause),
            },
            locked @ crate::storage::EngineError::Locked(_) => {
                let m = locked.to_string();
                StorageError::io(m.clone(), std::io::Error::other(m))
            }
        }
    }
}

/// Why a database did not open.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The path exists but holds something that is not a kith database.
    #[error("{path} is not a kith database: {reason}")]
    NotADatabase {
        /// The path given.
        path: PathBuf,
        /// What was found there.
        reason: String,
    },
    /// The database was written by a newer kith.
    #[error(
        "database format {found} is newer than this kith supports ({supported}); upgrade kith"
    )]
    NewerFormat {
        /// The format on disk.
        found: u32,
        /// The newest format this build reads.
        supported: u32,
    },
    /// The database was written by an older kith and must be migrated
    /// first; nothing was written. Migrate with `kith upgrade --db DIR`, or
    /// open with [`crate::DbBuilder::upgrade`].
    #[error(
        "database format {found} is older than this kith's ({current}); run `kith --db {} upgrade` to migrate it (nothing was changed)",
        path.display()
    )]
    OlderFormat {
        /// The format on disk.
        found: u32,
        /// The format this build writes.
        current: u32,
        /// The path given.
        path: PathBuf,
    },
    /// Another process (or another handle in this process) has the database open.
    #[error("database at {path} is in use by another process")]
    Locked {
        /// The path given.
        path: PathBuf,
    },
    /// The database was created with another storage engine than the one
    /// asked for; nothing was changed. Open it without naming an engine (it
    /// is found from the directory), or copy it with `kith migrate
    /// --to-engine`.
    #[error("database at {} is stored with {found}, not {requested}; open it without --engine (or with --engine {found}), or copy it with `kith migrate --to-engine {requested}`", path.display())]
    WrongEngine {
        /// The path given.
        path: PathBuf,
        /// The engine the database is stored with.
        found: crate::StorageEngine,
        /// The engine asked for.
        requested: crate::StorageEngine,
    },
    /// An option given to the builder is invalid.
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// Storage failed while opening or migrating.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Why a read failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The query itself is malformed (an empty value, a bad page size, …).
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Why a write failed. Nothing of a failed write is stored.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum WriteError {
    /// An entity named by the write does not exist.
    #[error("no entity with id {0}")]
    NotFound(EntityId),
    /// A cross-system identifier already names another entity.
    #[error("identifier {identifier} already belongs to entity {owner}")]
    IdentifierTaken {
        /// The identifier.
        identifier: ExternalId,
        /// The entity that holds it.
        owner: EntityId,
    },
    /// A kind code or name that is not registered.
    #[error("unknown {space} kind {name}")]
    UnknownKind {
        /// "entity" or "relationship".
        space: &'static str,
        /// The name or code given.
        name: String,
    },
    /// The write is malformed (an empty identifier, a bad kind name, …).
    #[error("invalid write: {0}")]
    Invalid(String),
    /// Storage failed; nothing was written.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Any kith error.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// From opening.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// From a read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// From a write.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// From storage.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// From the change log or a consumer group.
    #[error(transparent)]
    Feed(#[from] crate::db::changes::FeedError),
    /// From identity resolution.
    #[error(transparent)]
    Resolve(#[from] crate::resolve::ResolveError),
    /// From a traversal or a relationship query.
    #[error(transparent)]
    Traverse(#[from] crate::traverse::TraverseError),
    /// From assembling a customer context.
    #[error(transparent)]
    Context(#[from] crate::context::ContextError),
    /// A value that does not parse (a decimal, a date, a timestamp).
    #[error(transparent)]
    Value(#[from] crate::model::ParseValueError),
}

/// `; did you mean "x"?` for the name of `names` closest to `word` (by
/// Jaro-Winkler similarity above 0.8), or nothing when none is close: the
/// tail of every "unknown name" error (mapping files, rules, the web API).
#[cfg(any(feature = "import", feature = "rules", feature = "http"))]
pub(crate) fn did_you_mean(word: &str, names: &[&str]) -> String {
    names
        .iter()
        .map(|n| (strsim::jaro_winkler(word, n), *n))
        .filter(|(s, _)| *s > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, n)| format!("; did you mean {n:?}?"))
        .unwrap_or_default()
}
