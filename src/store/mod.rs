//! The durable state interface: what the gateway persists (subscription
//! records, architecture §6) goes through [`StateStore`], so that the
//! embedded redb store (`io::store`) and a later Redis store are
//! interchangeable.
//!
//! The store is a flat map from string keys to opaque byte values; the
//! gateway owns the record encoding ([`codec`]). Writes come in batches,
//! committed atomically: the driver collects the core's persistence
//! requests of one event-loop turn and commits them together.
//!
//! This module holds the interface, the in-memory [`MemoryStore`] (tests,
//! and configs without a `state_dir`) and the record [`codec`]; the redb
//! file store lives in `io::store`, the only place that touches the disk.

pub mod codec;
mod memory;

use std::path::PathBuf;

pub use memory::MemoryStore;

/// One change to the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Write {
    /// Insert or replace `key`.
    Put {
        /// The key.
        key: String,
        /// The encoded record.
        value: Vec<u8>,
    },
    /// Remove `key` (absent keys are not an error).
    Delete {
        /// The key.
        key: String,
    },
}

/// Why the store failed. Messages name the state file; the backend's own
/// error is chained as the source (print with `{:#}` to see it).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Another process (most likely a second gateway with the same
    /// `state_dir`) holds the state file's lock.
    #[error(
        "state store {}: already open by another process (is another gateway using the same state_dir?)",
        path.display()
    )]
    AlreadyOpen {
        /// The state file.
        path: PathBuf,
    },
    /// The backing store reported an error.
    #[error("state store: {0}")]
    Backend(String),
    /// The state file failed its integrity check (torn or altered outside
    /// the store); it is left untouched for an operator to inspect.
    #[error("state store {}: corrupt: {detail}", path.display())]
    Corrupt {
        /// The state file.
        path: PathBuf,
        /// What the backend found.
        detail: String,
    },
    /// An operation on an open store failed; nothing of the batch was
    /// written when this comes from [`StateStore::commit`].
    #[error("state store {}: {operation} failed", path.display())]
    Failed {
        /// The state file.
        path: PathBuf,
        /// What was being done (`"commit"`, `"load"`, `"check"`).
        operation: &'static str,
        /// The backend's error.
        #[source]
        source: BoxError,
    },
    /// A failure injected by [`MemoryStore`] for tests.
    #[error("state store: injected failure")]
    Injected,
    /// The state directory or file could not be created or opened.
    #[error("state store {}: cannot open", path.display())]
    Open {
        /// The directory or file that could not be opened.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
}

/// A backend error, boxed so that this module does not name the backends.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A durable key → bytes map with atomic batches.
pub trait StateStore: Send {
    /// Applies `writes` atomically and durably, in order.
    ///
    /// # Errors
    /// [`StoreError`] if nothing was written.
    fn commit(&mut self, writes: &[Write]) -> Result<(), StoreError>;

    /// Every stored record, in key order.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read.
    fn load_all(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError>;

    /// Whether the store is open and usable (for `/readyz`).
    ///
    /// # Errors
    /// [`StoreError`] describing why not.
    fn check(&self) -> Result<(), StoreError>;
}
