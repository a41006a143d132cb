//! A tamper sweep over a real sealed run: every file (the manifest included) gets byte
//! flips at seeded positions, 2,000 in all and at least a few in each, and every file is
//! also deleted, renamed, and joined by an extra one. Every single change must be caught
//! as an integrity failure (exit 3), none may pass as intact.

use crate::common;
use adasval::evidence::{self, keys::Trust};
use adasval::exit::{Classify, Status};
use adasval::rng::SplitMix64;
use common::*;
use std::path::{Path, PathBuf};

const FLIPS: usize = 2_000;

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The verdict of verification: an integrity failure (exit 3) or intact.
fn status(dir: &Path) -> Status {
    match evidence::verify_with(dir, &Trust::none()) {
        Ok(r) if r.is_intact() => Status::Pass,
        Ok(_) => Status::Integrity,
        Err(e) => e.status(),
    }
}

#[test]
fn every_flipped_byte_deleted_renamed_or_added_file_is_caught() {
    let d = noop_project();
    let sc = d.path().join("safety-case");
    std::fs::create_dir_all(&sc).unwrap();
    std::fs::copy(
        repo_root().join("safety-case/requirements.yaml"),
        sc.join("requirements.yaml"),
    )
    .unwrap();
    let run_dir = d.path().join("run");
    let (code, o, e) = run(adasval()
        .current_dir(d.path())
        .args(["validate", "--backend", "noop", "--out"])
        .arg(&run_dir));
    assert!(code == 0 || code == 1, "{o}{e}");
    assert_eq!(status(&run_dir), Status::Pass);
    let all = files(&run_dir);
    assert!(all.len() >= 10, "{all:?}");
    let total: u64 = all
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();

    // Byte flips: a few per file first, the rest proportional to size, all seeded.
    let mut rng = SplitMix64::new(20261206);
    let mut positions: Vec<(PathBuf, u64)> = Vec::new();
    for p in &all {
        let len = std::fs::metadata(p).unwrap().len();
        for _ in 0..3.min(len) {
            positions.push((p.clone(), rng.below(len)));
        }
    }
    while positions.len() < FLIPS {
        let mut at = rng.below(total);
        for p in &all {
            let len = std::fs::metadata(p).unwrap().len();
            if at < len {
                positions.push((p.clone(), at));
                break;
            }
            at -= len;
        }
    }
    let mut missed = Vec::new();
    for (p, at) in &positions {
        let original = std::fs::read(p).unwrap();
        let mut bytes = original.clone();
        let mask = 1u8 << rng.below(8);
        bytes[*at as usize] ^= mask;
        std::fs::write(p, &bytes).unwrap();
        if status(&run_dir) != Status::Integrity {
            missed.push(format!("{}@{at}^{mask:#04x}", p.display()));
        }
        std::fs::write(p, &original).unwrap();
    }
    assert!(positions.len() >= FLIPS);
    assert!(
        missed.is_empty(),
        "{} of {} flips passed: {missed:?}",
        missed.len(),
        positions.len()
    );

    // Delete, rename and add.
    for p in &all {
        let original = std::fs::read(p).unwrap();
        std::fs::remove_file(p).unwrap();
        assert_eq!(
            status(&run_dir),
            Status::Integrity,
            "deleting {}",
            p.display()
        );
        let moved = p.with_extension("moved");
        std::fs::write(&moved, &original).unwrap();
        assert_eq!(
            status(&run_dir),
            Status::Integrity,
            "renaming {}",
            p.display()
        );
        std::fs::remove_file(&moved).unwrap();
        std::fs::write(p, &original).unwrap();
    }
    std::fs::write(run_dir.join("extra.txt"), b"added after sealing").unwrap();
    assert_eq!(status(&run_dir), Status::Integrity, "an added file");
    let (code, o, e) = run(adasval().args(["evidence", "verify"]).arg(&run_dir));
    assert_eq!(code, 3, "the command agrees: {o}{e}");
    std::fs::remove_file(run_dir.join("extra.txt")).unwrap();
    assert_eq!(status(&run_dir), Status::Pass, "restored");
}
