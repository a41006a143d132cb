//! Crash inputs the fuzz step found (`.ci/fuzz`), committed as
//! `fuzz/regressions/<target>/<input>` and replayed here through the same reader the fuzz
//! target drives (`fuzz/src/readers.rs`, included as is), so a fixed crash stays fixed in a
//! plain `cargo test`. The committed seeds (`fuzz/seeds/<target>/`) are replayed too.

#[path = "../../fuzz/src/readers.rs"]
mod readers;

use std::path::Path;

fn replay(folder: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(folder);
    let mut replayed = 0;
    for target in std::fs::read_dir(&root).unwrap() {
        let target = target.unwrap().path();
        if !target.is_dir() {
            continue;
        }
        let name = target.file_name().unwrap().to_str().unwrap().to_string();
        let reader = readers::TARGETS
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("{}: no fuzz target of that name", target.display()))
            .1;
        for input in std::fs::read_dir(&target).unwrap() {
            let input = input.unwrap().path();
            let bytes = std::fs::read(&input).unwrap();
            eprintln!("{}", input.display());
            reader(&bytes);
            replayed += 1;
        }
    }
    replayed
}

#[test]
fn every_committed_crash_input_is_read_without_panicking() {
    let n = replay("regressions");
    assert!(n >= 1, "no crash inputs found under fuzz/regressions");
}

#[test]
fn every_seed_is_read_without_panicking_and_every_target_has_seeds() {
    let n = replay("seeds");
    for (name, _) in readers::TARGETS {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/seeds")
            .join(name);
        let count = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
        assert!(
            count >= 1,
            "fuzz target {name} has no seed in {}",
            dir.display()
        );
    }
    assert!(n >= readers::TARGETS.len());
}
