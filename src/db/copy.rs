//! Copying a database into another storage engine (`kith migrate
//! --to-engine`): every stored row, as it is, into a new directory, which
//! is then opened and checked.
//!
//! The copy is made with this handle's writes held off, so it is one
//! consistent state. Until it is complete the new directory holds a
//! `COPYING` file, which makes an open refuse it; the rows that make a
//! store a kith database (`meta/magic`, `meta/engine`) are written last.
//! A copy cut off part-way is therefore never mistaken for a database, and
//! running the copy again into the same directory starts it afresh. The
//! source is only read.

use super::Db;
use crate::error::{OpenError, StorageError};
use crate::storage::{keys, Engine, EngineConfig, StorageEngine, WriteBatch};
use std::path::{Path, PathBuf};

/// The file that marks a directory as an unfinished copy.
pub(crate) const COPYING_FILE: &str = "COPYING";

/// Why a copy into another engine failed. The source is unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CopyError {
    /// The destination cannot take the copy (it holds other files, or it
    /// is the source itself).
    #[error("cannot copy into {}: {reason}", path.display())]
    Destination {
        /// The destination given.
        path: PathBuf,
        /// Why not.
        reason: String,
    },
    /// Reading the source or writing the copy failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The finished copy did not open.
    #[error("the copy at {} does not open: {source}", path.display())]
    Open {
        /// The destination.
        path: PathBuf,
        /// Why.
        source: OpenError,
    },
    /// The finished copy does not pass `check()`.
    #[error("the copy at {} fails its check with {count} violations, the first: {first}", path.display())]
    Check {
        /// The destination.
        path: PathBuf,
        /// How many violations.
        count: usize,
        /// The first of them.
        first: String,
    },
}

/// What a finished copy holds.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CopyReport {
    /// The engine of the copy.
    pub engine: StorageEngine,
    /// Rows copied.
    pub keys: u64,
    /// Bytes of keys and values copied.
    pub logical_bytes: u64,
    /// Bytes the copy's files take on disk.
    pub disk_bytes: u64,
    /// Entities the check of the copy counted.
    pub entities: u64,
    /// Seconds spent writing the rows (and making them durable).
    pub write_seconds: f64,
    /// Seconds spent opening and checking the copy.
    pub check_seconds: f64,
}

/// Whether the directory may receive a copy: missing, empty, or an earlier
/// copy that was cut off (which is cleared).
fn prepare(out: &Path) -> Result<(), CopyError> {
    let refuse = |reason: String| CopyError::Destination {
        path: out.to_path_buf(),
        reason,
    };
    let io = |what: &str, e: std::io::Error| {
        StorageError::io(format!("cannot {what} {}: {e}", out.display()), e)
    };
    match std::fs::metadata(out) {
        Err(_) => {}
        Ok(m) if !m.is_dir() => return Err(refuse("it is a file".into())),
        Ok(_) => {
            let empty = std::fs::read_dir(out)
                .map_err(|e| io("read", e))?
                .next()
                .is_none();
            if out.join(COPYING_FILE).is_file() {
                std::fs::remove_dir_all(out).map_err(|e| io("clear the unfinished copy in", e))?;
            } else if !empty {
                return Err(refuse(
                    "it exists and is not empty (give a new directory)".into(),
                ));
            }
        }
    }
    std::fs::create_dir_all(out).map_err(|e| io("create", e))?;
    std::fs::write(
        out.join(COPYING_FILE),
        "an unfinished `kith migrate --to-engine` copy: delete this directory, or run the copy again\n",
    )
    .map_err(|e| io("write the COPYING file in", e))?;
    Ok(())
}

impl Db {
    /// Copies the whole database, row for row, into a new database at `out`
    /// kept in `engine`, then opens the copy and checks it
    /// ([`Db::check`]). Writes through this handle wait while the copy is
    /// made. `out` must be missing or empty, or hold an unfinished copy
    /// (which is started again). The source is only read.
    pub fn copy_to_engine(
        &self,
        out: &Path,
        engine: StorageEngine,
    ) -> Result<CopyReport, CopyError> {
        if let Some(src) = &self.inner.path {
            let same = match (src.canonicalize(), out.canonicalize()) {
                (Ok(a), Ok(b)) => a == b,
                _ => false,
            };
            if same {
                return Err(CopyError::Destination {
                    path: out.to_path_buf(),
                    reason: "it is the source database".into(),
                });
            }
        }
        prepare(out)?;
        let started = std::time::Instant::now();
        let (keys_copied, logical_bytes) = {
            // No commit, trim or consumer-group change while the rows are read.
            let _w = self.inner.writer.lock();
            let _g = self.inner.groups.lock();
            let dest = Engine::open(EngineConfig {
                engine,
                path: Some(out),
                cache_bytes: 256 << 20,
                flush_every_ms: None,
                memory: false,
            })
            .map_err(StorageError::from)?;
            let (mut n, mut bytes) = (0u64, 0u64);
            let mut batch = WriteBatch::default();
            let mut batch_bytes = 0usize;
            let mut last = WriteBatch::default();
            // The rows that make a store a kith database are written last
            // (the magic as it is, the engine as the copy's).
            let magic = keys::meta(super::format::META_MAGIC);
            let engine_row = keys::meta(super::format::META_ENGINE);
            for row in self.inner.engine.scan_prefix(&[]) {
                let (k, v) = row.map_err(StorageError::from)?;
                n += 1;
                bytes += (k.len() + v.len()) as u64;
                if k[..] == magic[..] {
                    last.put(&k[..], &v[..]);
                    continue;
                }
                if k[..] == engine_row[..] {
                    continue;
                }
                batch_bytes += k.len() + v.len();
                batch.put(&k[..], &v[..]);
                if batch_bytes >= 4 << 20 {
                    dest.apply(std::mem::take(&mut batch))
                        .map_err(StorageError::from)?;
                    batch_bytes = 0;
                }
            }
            dest.apply(batch).map_err(StorageError::from)?;
            last.put(
                &engine_row,
                crate::storage::codec::encode_text(engine.name()),
            );
            dest.apply(last).map_err(StorageError::from)?;
            dest.flush().map_err(StorageError::from)?;
            (n, bytes)
        };
        let write_seconds = started.elapsed().as_secs_f64();
        let started = std::time::Instant::now();
        std::fs::remove_file(out.join(COPYING_FILE)).map_err(|e| {
            StorageError::io(
                format!("cannot finish the copy in {}: {e}", out.display()),
                e,
            )
        })?;
        let copy = Db::builder()
            .engine(engine)
            .path(out)
            .run_rules(false)
            .open()
            .map_err(|source| CopyError::Open {
                path: out.to_path_buf(),
                source,
            })?;
        let report = copy.check()?;
        if let Some(first) = report.violations.first() {
            return Err(CopyError::Check {
                path: out.to_path_buf(),
                count: report.violations.len(),
                first: format!("{}: {}", first.key, first.problem),
            });
        }
        Ok(CopyReport {
            engine,
            keys: keys_copied,
            logical_bytes,
            disk_bytes: copy.disk_bytes().unwrap_or(0),
            entities: report.entities,
            write_seconds,
            check_seconds: started.elapsed().as_secs_f64(),
        })
    }
}
