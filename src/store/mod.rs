//! The durable state interface: what the gateway persists (subscription
//! records, architecture §6) goes through [`StateStore`], so that the
//! embedded redb store (`io::store`) and a later Redis store are
//! interchangeable.
//!
//! The store is a flat map from string keys to opaque byte values; the
//! gateway owns the record encoding ([`codec`]). Writes come in batches,
//! committed atomically: the driver collects the core's persistence
//! requests of one event-loop turn and commits them together.

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

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backing store reported an error.
    #[error("state store: {0}")]
    Backend(String),
}

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
