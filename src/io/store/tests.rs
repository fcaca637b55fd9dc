//! `RedbStore` tests on real files in a temporary `state_dir`.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use std::path::Path;

use super::*;

fn put(key: &str, value: &[u8]) -> Write {
    Write::Put {
        key: key.to_owned(),
        value: value.to_vec(),
    }
}

fn delete(key: &str) -> Write {
    Write::Delete {
        key: key.to_owned(),
    }
}

fn pairs(items: &[(&str, &[u8])]) -> Vec<(String, Vec<u8>)> {
    items
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.to_vec()))
        .collect()
}

#[test]
fn creates_missing_dirs_and_starts_empty() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("a/b/state");
    let store = RedbStore::open(&dir).unwrap();
    assert_eq!(store.path(), dir.join("state.redb"));
    assert!(store.path().is_file());
    assert!(store.load_all().unwrap().is_empty());
    store.check().unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}

#[test]
fn batch_survives_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let mut store = RedbStore::open(tmp.path()).unwrap();
        store
            .commit(&[
                put("sub/2", b"two"),
                put("sub/1", b"one"),
                put("empty", b""),
            ])
            .unwrap();
    }
    let store = RedbStore::open(tmp.path()).unwrap();
    assert_eq!(
        store.load_all().unwrap(),
        pairs(&[("empty", b""), ("sub/1", b"one"), ("sub/2", b"two")])
    );
}

#[test]
fn later_writes_in_a_batch_win_and_deletes_apply() {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = RedbStore::open(tmp.path()).unwrap();
    store.commit(&[put("a", b"1"), put("b", b"2")]).unwrap();
    store
        .commit(&[
            put("a", b"3"),
            delete("b"),
            delete("never-there"),
            put("c", b"4"),
            put("c", b"5"),
            delete("a"),
            put("a", b"6"),
        ])
        .unwrap();
    drop(store);
    let store = RedbStore::open(tmp.path()).unwrap();
    assert_eq!(
        store.load_all().unwrap(),
        pairs(&[("a", b"6"), ("c", b"5")])
    );
}

#[test]
fn a_large_batch_is_all_there_after_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let writes: Vec<Write> = (0..500)
        .map(|i| put(&format!("k{i:04}"), &[u8::try_from(i % 251).unwrap(); 64]))
        .collect();
    {
        let mut store = RedbStore::open(tmp.path()).unwrap();
        store.commit(&writes).unwrap();
    }
    let loaded = RedbStore::open(tmp.path()).unwrap().load_all().unwrap();
    assert_eq!(loaded.len(), 500);
    for (i, (k, v)) in loaded.iter().enumerate() {
        assert_eq!(k, &format!("k{i:04}"));
        assert_eq!(v, &vec![u8::try_from(i % 251).unwrap(); 64]);
    }
}

#[test]
fn empty_batch_is_a_no_op() {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = RedbStore::open(tmp.path()).unwrap();
    store.commit(&[]).unwrap();
    assert!(store.load_all().unwrap().is_empty());
}

#[test]
fn second_open_of_the_same_dir_says_already_open() {
    let tmp = tempfile::tempdir().unwrap();
    let first = RedbStore::open(tmp.path()).unwrap();
    let err = RedbStore::open(tmp.path()).unwrap_err();
    assert!(matches!(err, StoreError::AlreadyOpen { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("already open"), "{text}");
    assert!(text.contains("another gateway"), "{text}");
    assert!(text.contains(&first.path().display().to_string()), "{text}");
    // The first store is unaffected, and the lock goes with it.
    first.check().unwrap();
    drop(first);
    RedbStore::open(tmp.path()).unwrap();
}

#[test]
fn a_file_that_is_not_a_database_is_refused_with_its_path() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("state.redb");
    std::fs::write(&file, vec![0x5a; 8192]).unwrap();
    let err = RedbStore::open(tmp.path()).unwrap_err();
    assert!(
        matches!(err, StoreError::Corrupt { .. } | StoreError::Open { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&file.display().to_string()),
        "{err}"
    );
    // Left in place for the operator.
    assert_eq!(std::fs::read(&file).unwrap(), vec![0x5a; 8192]);
}

#[test]
fn damaged_pages_are_reported_not_trusted() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("state.redb");
    {
        let mut store = RedbStore::open(tmp.path()).unwrap();
        let writes: Vec<Write> = (0..200)
            .map(|i| put(&format!("key-{i}"), &[0xab; 200]))
            .collect();
        store.commit(&writes).unwrap();
    }
    // Overwrite every occurrence of the record bytes: the pages holding
    // them no longer match their checksums.
    let mut bytes = std::fs::read(&file).unwrap();
    let mut hits = 0;
    for b in &mut bytes {
        if *b == 0xab {
            *b = 0xcd;
            hits += 1;
        }
    }
    assert!(hits > 1000);
    std::fs::write(&file, &bytes).unwrap();
    match RedbStore::open(tmp.path()) {
        Err(StoreError::Corrupt { path, .. }) => assert_eq!(path, file),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn a_dir_that_cannot_be_created_is_an_open_error() {
    let tmp = tempfile::tempdir().unwrap();
    let blocker = tmp.path().join("file");
    std::fs::write(&blocker, b"x").unwrap();
    let err = RedbStore::open(&blocker.join("state")).unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
    assert!(err.to_string().contains("cannot open"), "{err}");
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn open_store_picks_memory_without_a_state_dir() {
    let mut store = open_store(None).unwrap();
    store.commit(&[put("a", b"1")]).unwrap();
    assert_eq!(store.load_all().unwrap(), pairs(&[("a", b"1")]));

    let tmp = tempfile::tempdir().unwrap();
    {
        let mut store = open_store(Some(tmp.path())).unwrap();
        store.commit(&[put("b", b"2")]).unwrap();
    }
    let store = open_store(Some(tmp.path())).unwrap();
    assert_eq!(store.load_all().unwrap(), pairs(&[("b", b"2")]));
    store.check().unwrap();
}

/// Not a test: prints commit timings and the file size for the numbers
/// in the design notes. Run with
/// `cargo test --release --lib io::store::tests::measure -- --ignored --nocapture`.
#[test]
#[ignore = "measurement, not a check"]
#[allow(clippy::disallowed_methods)]
fn measure() {
    fn timed(what: &str, f: impl FnOnce()) {
        let start = std::time::Instant::now();
        f();
        println!("{what}: {:?}", start.elapsed());
    }
    fn size(dir: &Path) -> u64 {
        std::fs::metadata(dir.join("state.redb")).unwrap().len()
    }
    let value = vec![0x42u8; 200];
    let tmp = tempfile::tempdir().unwrap();
    let mut store = RedbStore::open(&tmp.path().join("single")).unwrap();
    timed("1000 single-put commits", || {
        for i in 0..1000 {
            store.commit(&[put(&format!("k{i}"), &value)]).unwrap();
        }
    });
    let mut store = RedbStore::open(&tmp.path().join("batch")).unwrap();
    let batch: Vec<Write> = (0..1000).map(|i| put(&format!("k{i}"), &value)).collect();
    timed("one 1000-put commit", || store.commit(&batch).unwrap());

    let dir = tmp.path().join("big");
    let mut store = RedbStore::open(&dir).unwrap();
    timed("100000 records in 100 batches of 1000", || {
        for b in 0..100 {
            let batch: Vec<Write> = (0..1000)
                .map(|i| put(&format!("sub/{b:03}/{i:04}"), &value))
                .collect();
            store.commit(&batch).unwrap();
        }
    });
    println!("file size, 100000 x 200 B: {} bytes", size(&dir));
    drop(store);
    let mut loaded = 0;
    timed("reopen (integrity check) + load_all", || {
        let store = RedbStore::open(&dir).unwrap();
        loaded = store.load_all().unwrap().len();
    });
    assert_eq!(loaded, 100_000);
    println!("file size after reopen: {} bytes", size(&dir));
}
