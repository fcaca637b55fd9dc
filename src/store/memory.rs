//! [`MemoryStore`]: the [`StateStore`] kept in a `BTreeMap`. It backs
//! configs without a `state_dir` (state is lost on restart) and tests,
//! which can make the next commit or every check fail to exercise the
//! gateway's error paths. It does no IO.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::collections::BTreeMap;

use super::{StateStore, StoreError, Write};

/// An in-memory [`StateStore`]. Batches are atomic trivially: applying a
/// write to a map cannot fail, so a batch is either refused whole (an
/// injected failure) or applied whole.
#[derive(Debug, Default)]
pub struct MemoryStore {
    records: BTreeMap<String, Vec<u8>>,
    fail_next_commit: bool,
    fail_checks: bool,
    commits: u64,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the next [`StateStore::commit`] fail with
    /// [`StoreError::Injected`] and write nothing; later commits succeed.
    pub fn fail_next_commit(&mut self) {
        self.fail_next_commit = true;
    }

    /// While `fail` is set, [`StateStore::check`] returns
    /// [`StoreError::Injected`] (a store that went away, for `/readyz`).
    pub fn fail_checks(&mut self, fail: bool) {
        self.fail_checks = fail;
    }

    /// How many non-empty batches were committed (tests count fsyncs the
    /// file store would have made).
    pub fn commits(&self) -> u64 {
        self.commits
    }

    /// The record stored under `key`.
    pub fn record(&self, key: &str) -> Option<&[u8]> {
        self.records.get(key).map(Vec::as_slice)
    }

    /// How many records are stored.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether no record is stored.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

impl StateStore for MemoryStore {
    fn commit(&mut self, writes: &[Write]) -> Result<(), StoreError> {
        if std::mem::take(&mut self.fail_next_commit) {
            return Err(StoreError::Injected);
        }
        if writes.is_empty() {
            return Ok(());
        }
        for write in writes {
            match write {
                Write::Put { key, value } => {
                    self.records.insert(key.clone(), value.clone());
                }
                Write::Delete { key } => {
                    self.records.remove(key);
                }
            }
        }
        self.commits = self.commits.saturating_add(1);
        Ok(())
    }

    fn load_all(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        Ok(self
            .records
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.fail_checks {
            Err(StoreError::Injected)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn put(key: &str, value: &[u8]) -> Write {
        Write::Put {
            key: key.to_owned(),
            value: value.to_vec(),
        }
    }

    #[test]
    fn batch_applies_in_order_and_loads_in_key_order() {
        let mut store = MemoryStore::new();
        store
            .commit(&[
                put("b", b"1"),
                put("a", b"2"),
                put("b", b"3"),
                Write::Delete { key: "a".into() },
                put("c", b"4"),
            ])
            .unwrap();
        assert_eq!(
            store.load_all().unwrap(),
            vec![
                ("b".to_owned(), b"3".to_vec()),
                ("c".to_owned(), b"4".to_vec())
            ]
        );
        assert_eq!(store.commits(), 1);
        assert_eq!(store.record("c"), Some(&b"4"[..]));
    }

    #[test]
    fn deleting_an_absent_key_is_not_an_error() {
        let mut store = MemoryStore::new();
        store.commit(&[Write::Delete { key: "x".into() }]).unwrap();
        assert!(store.is_empty());
    }

    #[test]
    fn injected_commit_failure_writes_nothing_once() {
        let mut store = MemoryStore::new();
        store.commit(&[put("a", b"1")]).unwrap();
        store.fail_next_commit();
        let err = store.commit(&[put("a", b"2"), put("b", b"3")]);
        assert!(matches!(err, Err(StoreError::Injected)));
        assert_eq!(
            store.load_all().unwrap(),
            vec![("a".to_owned(), b"1".to_vec())]
        );
        store.commit(&[put("b", b"3")]).unwrap();
        assert_eq!(store.len(), 2);
    }

    #[test]
    fn injected_check_failure() {
        let mut store = MemoryStore::new();
        store.check().unwrap();
        store.fail_checks(true);
        assert!(matches!(store.check(), Err(StoreError::Injected)));
        store.fail_checks(false);
        store.check().unwrap();
    }
}
