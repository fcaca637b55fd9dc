//! The file-backed [`StateStore`]: one redb database, `state_dir/state.redb`,
//! with a single table `records` (`&str` → `&[u8]`). This is the only file
//! that touches redb or the state directory.
//!
//! Every [`StateStore::commit`] is one write transaction with redb's
//! default `Durability::Immediate`, so it returns only after an fsync;
//! the driver batches the writes of one event-loop turn to pay for one
//! fsync per turn. A failed commit writes nothing. The file is opened
//! with an integrity check (every page checksum is verified), so a file
//! damaged outside redb is reported as [`StoreError::Corrupt`] instead of
//! being trusted. redb holds an exclusive lock on the file while it is
//! open; a second gateway on the same `state_dir` gets
//! [`StoreError::AlreadyOpen`].
//!
//! It does not compact the file, keep backups, or migrate record formats
//! (records are opaque here; see `store::codec`).

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::path::{Path, PathBuf};

use redb::{Database, DatabaseError, ReadableDatabase, TableDefinition};

use crate::store::{MemoryStore, StateStore, StoreError, Write};

/// A [`StateStore`] in a redb file.
pub struct RedbStore {
    db: Database,
    path: PathBuf,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl RedbStore {
    /// Opens (creating if missing) `state_dir` and `state_dir/state.redb`.
    /// A new directory is created owner-only (`0700`) on Unix.
    ///
    /// # Errors
    /// [`StoreError::AlreadyOpen`] when another process holds the file,
    /// [`StoreError::Corrupt`] when it fails its integrity check,
    /// [`StoreError::Open`] for other failures (permissions, not a redb
    /// file, a format from a newer redb).
    pub fn open(state_dir: &Path) -> Result<Self, StoreError> {
        create_dir(state_dir).map_err(|e| StoreError::Open {
            path: state_dir.to_path_buf(),
            source: Box::new(e),
        })?;
        let path = state_dir.join(FILE_NAME);
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .set_check_integrity_on_open(true)
            .create(&path)
            .map_err(|e| open_error(&path, e))?;
        let store = Self { db, path };
        // Create the table up front, so readers never meet a missing one.
        store.commit_batch(&[])?;
        Ok(store)
    }

    /// The state file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn commit_batch(&self, writes: &[Write]) -> Result<(), StoreError> {
        let op = "commit";
        // On any error below the transaction is dropped, which aborts it.
        let txn = self.db.begin_write().map_err(|e| self.failed(op, e))?;
        {
            let mut table = txn.open_table(RECORDS).map_err(|e| self.failed(op, e))?;
            for write in writes {
                match write {
                    Write::Put { key, value } => {
                        table
                            .insert(key.as_str(), value.as_slice())
                            .map_err(|e| self.failed(op, e))?;
                    }
                    Write::Delete { key } => {
                        table.remove(key.as_str()).map_err(|e| self.failed(op, e))?;
                    }
                }
            }
        }
        txn.commit().map_err(|e| self.failed(op, e))
    }

    fn failed(&self, operation: &'static str, e: impl Into<redb::Error>) -> StoreError {
        match e.into() {
            redb::Error::Corrupted(detail) => StoreError::Corrupt {
                path: self.path.clone(),
                detail,
            },
            other => StoreError::Failed {
                path: self.path.clone(),
                operation,
                source: Box::new(other),
            },
        }
    }
}

impl StateStore for RedbStore {
    fn commit(&mut self, writes: &[Write]) -> Result<(), StoreError> {
        if writes.is_empty() {
            return Ok(());
        }
        self.commit_batch(writes)
    }

    fn load_all(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        use redb::ReadableTable as _;
        let op = "load";
        let txn = self.db.begin_read().map_err(|e| self.failed(op, e))?;
        let table = txn.open_table(RECORDS).map_err(|e| self.failed(op, e))?;
        let mut records = Vec::new();
        for entry in table.iter().map_err(|e| self.failed(op, e))? {
            let (key, value) = entry.map_err(|e| self.failed(op, e))?;
            records.push((key.value().to_owned(), value.value().to_vec()));
        }
        Ok(records)
    }

    fn check(&self) -> Result<(), StoreError> {
        let op = "check";
        let txn = self.db.begin_read().map_err(|e| self.failed(op, e))?;
        txn.open_table(RECORDS).map_err(|e| self.failed(op, e))?;
        Ok(())
    }
}

/// The store for a config: [`RedbStore`] in `state_dir`, or, without one,
/// a [`MemoryStore`] whose state is lost on restart (logged as a warning).
///
/// # Errors
/// As [`RedbStore::open`].
pub fn open_store(state_dir: Option<&Path>) -> Result<Box<dyn StateStore>, StoreError> {
    match state_dir {
        Some(dir) => {
            let store = RedbStore::open(dir)?;
            tracing::info!(path = %store.path().display(), "state store opened");
            Ok(Box::new(store))
        }
        None => {
            tracing::warn!(
                "no state_dir configured: subscription state is kept in memory and will not survive a restart"
            );
            Ok(Box::new(MemoryStore::new()))
        }
    }
}

fn create_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

fn open_error(path: &Path, e: DatabaseError) -> StoreError {
    let path = path.to_path_buf();
    match e {
        DatabaseError::DatabaseAlreadyOpen => StoreError::AlreadyOpen { path },
        DatabaseError::Storage(redb::StorageError::Corrupted(detail)) => {
            StoreError::Corrupt { path, detail }
        }
        other => StoreError::Open {
            path,
            source: Box::new(other),
        },
    }
}

/// The one table: key → encoded record.
const RECORDS: TableDefinition<'static, &str, &[u8]> = TableDefinition::new("records");

/// The state file's name inside `state_dir`.
const FILE_NAME: &str = "state.redb";

/// redb's page cache. State is small and read whole once at start-up, so
/// this bounds memory rather than speeds anything up (redb's default is
/// 1 GiB).
const CACHE_BYTES: usize = 16 * 1024 * 1024;

#[cfg(test)]
mod tests;
