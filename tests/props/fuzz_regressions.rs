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

/// In a release build (no overflow checks) the pads of this plan, 2^63 + 1 on both sides,
/// summed to 2 and the plan passed the shape check with padding no executor can use; the
/// checked arithmetic refuses it. Found by a hand-made input run through the cudaplan
/// fuzz target (its debug-assertion build panicked on the sum) after the fuzzer had not
/// reached it in a million executions; `fuzz/dicts/numbers.dict` is there for such edges.
#[test]
fn a_plan_whose_padding_overflows_is_refused() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions/cudaplan/pads-sum-wraps-to-a-consistent-shape");
    let bytes = std::fs::read(&path).unwrap();
    let err = adasval_plan::format::PlanFile::from_bytes(&bytes).unwrap_err();
    assert!(
        err.to_string()
            .contains("kernel larger than the padded input"),
        "{err}"
    );
}
