//! Replays every input in `fuzz/regressions/<target>/` through the same
//! checks the cargo-fuzz targets run (`fuzz/checks/`, included here by
//! path), so a crash once found by `scripts/fuzz.sh` stays fixed under
//! plain `cargo test`, without libFuzzer or a nightly toolchain.

use std::path::Path;

#[path = "../../fuzz/checks/mod.rs"]
#[allow(clippy::all)]
mod checks;

#[test]
fn every_fuzz_regression_input_passes_its_target_checks() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let mut replayed = 0usize;
    for target in checks::TARGETS {
        let dir = root.join(target);
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<_> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file() && p.extension().is_none_or(|e| e != "md"))
            .collect();
        files.sort();
        for f in files {
            let data = std::fs::read(&f).expect("read regression input");
            let ok = std::panic::catch_unwind(|| checks::run(target, &data));
            assert!(
                matches!(ok, Ok(true)),
                "fuzz regression {} fails the {target} checks",
                f.display()
            );
            replayed += 1;
        }
    }
    // Every directory under fuzz/regressions must be a known target.
    for e in std::fs::read_dir(&root)
        .expect("fuzz/regressions")
        .flatten()
    {
        if e.path().is_dir() {
            let name = e.file_name().to_string_lossy().into_owned();
            assert!(
                checks::TARGETS.contains(&name.as_str()),
                "fuzz/regressions/{name} is not a fuzz target"
            );
        }
    }
    assert!(replayed > 0, "fuzz/regressions holds no input");
}

#[test]
fn every_fuzz_target_has_a_seed_corpus() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    for target in checks::TARGETS {
        let n = std::fs::read_dir(root.join(target))
            .map(|rd| rd.flatten().count())
            .unwrap_or(0);
        assert!(n > 0, "fuzz/corpus/{target} is empty");
    }
}
