//! The sweeps must be able to fail, shown with the planted bugs of `manifest::planted`
//! (compiled into this crate's unit tests only):
//!
//! - tamper sweep: verification skips re-hashing one manifest line; the same sweep the CLI
//!   test runs on a real sealed run (`tests/common/tamper.rs`) then reports misses, all in
//!   that one file (or its hash on that line); without the bug, none.
//! - crash sweep: `seal` writes the manifest before the signature. A seal killed after
//!   each of its writes (the sealing points of `tests/cli/crash_safety.rs`, made
//!   deterministic in-process) then leaves an intact unsigned bundle that a project
//!   trusting the signer's key accepts; without the bug, no killed seal is accepted.

use super::keys::{Trust, TrustedKey};
use super::manifest::{planted, seal, verify_with, MANIFEST_NAME};
use super::tamper;
use adasval_core::rng::SplitMix64;
use std::path::Path;

fn caught(dir: &Path) -> bool {
    !matches!(verify_with(dir, &Trust::none()), Ok(r) if r.is_intact())
}

fn sealed_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join("outputs")).unwrap();
    for (rel, text) in [
        ("run.json", "{\"run_id\": \"r\", \"complete\": true}\n"),
        ("evidence.json", "{\"schema_version\": 1, \"items\": []}\n"),
        ("latencies.csv", "scenario,engine,frame\ns,e,0\ns,e,1\n"),
        ("summary.md", "# PASS\n\nall requirements passed\n"),
        ("outputs/e__s.json", "[0.25, 0.5, 0.75]\n"),
    ] {
        std::fs::write(d.path().join(rel), text).unwrap();
    }
    seal(d.path(), None).unwrap();
    d
}

#[test]
fn the_tamper_sweep_catches_everything_without_the_planted_bug() {
    let d = sealed_dir();
    assert!(!caught(d.path()));
    let mut rng = SplitMix64::new(1);
    let sweep = tamper::sweep(d.path(), 300, &mut |n| rng.below(n), &caught);
    assert_eq!(sweep.files, 6, "{sweep:?}");
    assert!(sweep.missed.is_empty(), "{:?}", sweep.missed);
}

#[test]
fn the_tamper_sweep_fails_when_verification_skips_one_manifest_line() {
    let d = sealed_dir();
    // Manifest line 2 (0-based) lists the third path in sorted order.
    let manifest = std::fs::read_to_string(d.path().join(MANIFEST_NAME)).unwrap();
    let skipped = manifest.lines().nth(2).unwrap().split_once("  ").unwrap().1;
    assert_eq!(skipped, "outputs/e__s.json");
    planted::skip_line(Some(2));
    let mut rng = SplitMix64::new(1);
    let sweep = tamper::sweep(d.path(), 300, &mut |n| rng.below(n), &caught);
    planted::skip_line(None);
    assert!(!sweep.missed.is_empty(), "the planted miss went unseen");
    // Every miss is a byte flip in the skipped file or in the hash of its own manifest
    // line: deleting or renaming it is still seen.
    let line_start = manifest.lines().take(2).map(|l| l.len() + 1).sum::<usize>();
    let hash = line_start..line_start + 64;
    for m in &sweep.missed {
        let (file, rest) = m.split_once('@').expect("only byte flips are missed");
        let at: usize = rest.split_once('^').unwrap().0.parse().unwrap();
        assert!(
            file.ends_with(skipped) || (file.ends_with(MANIFEST_NAME) && hash.contains(&at)),
            "{m}"
        );
    }
    assert!(!caught(d.path()), "restored");
}

/// The write counts after which a killed signed seal left a bundle that verification
/// accepts under a project that trusts the signer but does not require signatures.
fn killed_seals_accepted(manifest_first: bool) -> Vec<usize> {
    let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let trust = Trust {
        keys: vec![TrustedKey {
            name: "ci".into(),
            key: key.verifying_key(),
        }],
        source: "the project's trusted keys".into(),
        require_signature: false,
    };
    let mut accepted = Vec::new();
    // Seal writes two files (signature, manifest): killed after 0 or 1 of them.
    for writes in 0..2 {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("run.json"), "{\"complete\": true}\n").unwrap();
        planted::manifest_first(manifest_first);
        planted::kill_after(Some(writes));
        let sealed = seal(d.path(), Some(&key));
        planted::kill_after(None);
        planted::manifest_first(false);
        assert!(sealed.is_err(), "killed after {writes} writes");
        if matches!(verify_with(d.path(), &trust), Ok(r) if r.is_intact()) {
            accepted.push(writes);
        }
    }
    // Not killed: a complete seal is accepted, so "accepted" above is a real acceptance.
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("run.json"), "{}\n").unwrap();
    planted::manifest_first(manifest_first);
    seal(d.path(), Some(&key)).unwrap();
    planted::manifest_first(false);
    assert!(matches!(verify_with(d.path(), &trust), Ok(r) if r.is_intact()));
    accepted
}

#[test]
fn a_killed_seal_is_never_accepted() {
    assert_eq!(killed_seals_accepted(false), Vec::<usize>::new());
}

#[test]
fn a_killed_seal_is_accepted_unsigned_when_the_manifest_is_written_first() {
    assert_eq!(killed_seals_accepted(true), vec![1]);
}
