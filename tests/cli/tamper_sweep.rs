//! A tamper sweep over a real sealed run: every file (the manifest included) gets byte
//! flips at seeded positions, 2,000 in all and at least a few in each, and every file is
//! also deleted, renamed, and joined by an extra one. Every single change must be caught
//! as an integrity failure (exit 3), none may pass as intact.

use crate::common;
use adasval::evidence::{self, keys::Trust};
use adasval::exit::{Classify, Status};
use adasval::rng::SplitMix64;
use common::*;
use std::path::Path;

const FLIPS: usize = 2_000;

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

    // The sweep (tests/common/tamper.rs) is the one the judge's unit test shows failing
    // when verification skips one manifest line (crates/judge/src/evidence/planted.rs).
    let mut rng = SplitMix64::new(20261206);
    let sweep = tamper::sweep(&run_dir, FLIPS, &mut |n| rng.below(n), &|dir| {
        status(dir) == Status::Integrity
    });
    eprintln!(
        "tamper sweep: {} files, {} byte flips, {} deletions/renames/additions, {} missed",
        sweep.files,
        sweep.flips,
        sweep.structural,
        sweep.missed.len()
    );
    assert!(sweep.files >= 10, "{sweep:?}");
    assert!(sweep.flips >= FLIPS);
    assert!(
        sweep.missed.is_empty(),
        "{} of {} changes passed: {:?}",
        sweep.missed.len(),
        sweep.flips + sweep.structural,
        sweep.missed
    );

    std::fs::write(run_dir.join("extra.txt"), b"added after sealing").unwrap();
    let (code, o, e) = run(adasval().args(["evidence", "verify"]).arg(&run_dir));
    assert_eq!(code, 3, "the command agrees: {o}{e}");
    std::fs::remove_file(run_dir.join("extra.txt")).unwrap();
    assert_eq!(status(&run_dir), Status::Pass, "restored");
}

#[test]
fn every_flipped_byte_of_a_frozen_engine_adapter_or_lock_is_caught() {
    let d = noop_project();
    let p = d.path();
    let verify = || run(adasval().current_dir(p).args(["engine", "verify"])).0;
    assert_eq!(verify(), 0);
    let mut rng = SplitMix64::new(7);
    for (rel, exit_codes) in [
        // The binaries must fail as integrity failures; the lock may also fail as a lock
        // that no longer parses or no longer has the form of one (bad input), never pass.
        ("engines/fake.onnx", &[3][..]),
        ("engines/fake.adapter.yaml", &[3][..]),
        ("engines/engines.lock.yaml", &[2, 3][..]),
    ] {
        let path = p.join(rel);
        let original = std::fs::read(&path).unwrap();
        let mut flips = 0;
        // In the lock, the fields that bind it to the files (hashes, sizes, paths); the
        // rest of the lock is swept below.
        let binding = |line: &[u8]| {
            let t = line.trim_ascii_start();
            t.starts_with(b"sha256:") || t.starts_with(b"size:") || t.starts_with(b"path:")
        };
        let mut meaningful = Vec::new();
        let mut line_start = 0;
        for (i, &b) in original.iter().enumerate() {
            if b == b'\n' {
                if !rel.ends_with("lock.yaml") || binding(&original[line_start..i]) {
                    meaningful.extend(line_start..i);
                }
                line_start = i + 1;
            }
        }
        if !rel.ends_with("lock.yaml") {
            meaningful.extend(line_start..original.len());
        }
        // Every such byte of the small files, a seeded sample of the rest.
        let positions: Vec<usize> = if meaningful.len() <= 120 {
            meaningful
        } else {
            (0..120)
                .map(|_| meaningful[rng.below(meaningful.len() as u64) as usize])
                .collect()
        };
        for at in positions {
            let mut bytes = original.clone();
            bytes[at] ^= 1u8 << rng.below(8);
            std::fs::write(&path, &bytes).unwrap();
            let code = verify();
            assert!(exit_codes.contains(&code), "{rel}@{at}: exit {code}");
            flips += 1;
        }
        std::fs::write(&path, &original).unwrap();
        assert!(flips >= 40, "{rel}: {flips}");
        std::fs::remove_file(&path).unwrap();
        let code = verify();
        assert!(
            code == 3 || (rel.ends_with("lock.yaml") && code != 0),
            "{rel} deleted: exit {code}"
        );
        std::fs::write(&path, &original).unwrap();
    }
    assert_eq!(verify(), 0, "restored");

    // The rest of the lock: every byte of the lines that do not bind it to files (names,
    // format, timestamps, provenance, comments, keys, the seal line itself). The seal (the
    // SHA-256 of the lines above, on the last line) makes each flip there an integrity
    // failure (3), or a lock that no longer parses (2); none passes.
    let lock = p.join("engines/engines.lock.yaml");
    let original = std::fs::read(&lock).unwrap();
    let mut codes = std::collections::BTreeMap::<i32, usize>::new();
    let mut line_start = 0;
    for (i, &b) in original.iter().enumerate() {
        if b != b'\n' {
            continue;
        }
        let t = original[line_start..i].trim_ascii_start();
        if !(t.starts_with(b"sha256:") || t.starts_with(b"size:") || t.starts_with(b"path:")) {
            for at in line_start..=i {
                let mut bytes = original.clone();
                bytes[at] ^= 1u8 << rng.below(8);
                std::fs::write(&lock, &bytes).unwrap();
                *codes.entry(verify()).or_default() += 1;
            }
        }
        line_start = i + 1;
    }
    std::fs::write(&lock, &original).unwrap();
    eprintln!("lock, flips outside the binding fields, by exit code: {codes:?}");
    assert!(codes.values().sum::<usize>() >= 100, "{codes:?}");
    assert!(codes.keys().all(|c| [2, 3].contains(c)), "{codes:?}");
    assert_eq!(verify(), 0, "restored");
}

#[test]
fn an_edited_lock_is_an_integrity_failure_and_an_unsealed_one_is_announced() {
    let d = noop_project();
    let lock = d.path().join("engines/engines.lock.yaml");
    let sealed = std::fs::read_to_string(&lock).unwrap();
    let last = sealed.lines().last().unwrap();
    assert!(last.starts_with(adasval::lock::SEAL_PREFIX), "{sealed}");
    // A name edit keeps the form of a lock: only the seal sees it.
    std::fs::write(&lock, sealed.replace("name: fake", "name: faux")).unwrap();
    let (code, o, e) = run(adasval().current_dir(d.path()).args(["engine", "verify"]));
    assert_eq!(code, 3, "{o}{e}");
    assert!(
        e.contains("edited after it was sealed") && e.contains(last),
        "names the recorded seal and the actual hash: {e}"
    );
    // A lock without a seal (by hand, or from an older adasval) still loads, announced.
    let unsealed: String = sealed
        .lines()
        .filter(|l| !l.starts_with(adasval::lock::SEAL_PREFIX))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&lock, &unsealed).unwrap();
    let (code, o, e) = run(adasval().current_dir(d.path()).args(["engine", "verify"]));
    assert_eq!(code, 0, "{o}{e}");
    assert!(e.contains("has no seal line"), "{e}");
    // Freezing seals it again.
    let (code, o, e) = run(adasval().current_dir(d.path()).args([
        "engine",
        "freeze",
        "engines/fake.onnx",
        "--name",
        "fake",
        "--adapter",
        "engines/fake.adapter.yaml",
        "--replace",
    ]));
    assert_eq!(code, 0, "{o}{e}");
    let (code, o, e) = run(adasval().current_dir(d.path()).args(["engine", "verify"]));
    assert_eq!(code, 0, "{o}{e}");
    assert!(!e.contains("has no seal line"), "{e}");
}
