//! Evidence bundles: sealing, tamper detection (changed / missing / extra files),
//! Ed25519 signatures, key files and atomic writes.

use crate::common;
use crate::safety_fixture;

use adasval::evidence::{self, keys, EvidenceError, SignatureCheck, MANIFEST_NAME, SIGNATURE_NAME};
use safety_fixture::{build, flip_one_byte, manifest_files};
use std::process::Command;

fn fresh_key() -> ed25519_dalek::SigningKey {
    keys::generate_signing_key().expect("key")
}

#[test]
fn sealed_run_verifies_and_manifest_lists_every_file() {
    let fx = build(true, None);
    let report = evidence::verify(fx.run_dir(), None).expect("verify");
    assert!(report.is_intact(), "{:?}", report.problems());
    let mut listed = manifest_files(fx.run_dir());
    let expected = vec![
        "evidence.json",
        "latencies.csv",
        "reports/ped-crossing-01.metrics.json",
        "reports/ped-occluded-02.metrics.json",
        "requirements.yaml",
        "run.json",
    ];
    assert_eq!(
        listed, expected,
        "sorted, recursive, manifest itself excluded"
    );
    listed.sort();
    assert_eq!(report.checked, listed.len());
}

#[test]
fn manifest_is_accepted_by_coreutils_sha256sum() {
    let fx = build(true, None);
    let out = match Command::new("sha256sum")
        .args(["--check", "--strict", MANIFEST_NAME])
        .current_dir(fx.run_dir())
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            assert!(!common::ci(), "sha256sum unavailable: {e}");
            eprintln!("SKIP: sha256sum unavailable: {e}");
            return;
        }
    };
    assert!(
        out.status.success(),
        "sha256sum -c failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    // And sha256sum notices a change too, so the check above is not vacuous.
    flip_one_byte(&fx.run_dir().join("run.json"));
    let out = Command::new("sha256sum")
        .args(["--check", MANIFEST_NAME])
        .current_dir(fx.run_dir())
        .output()
        .expect("sha256sum");
    assert!(!out.status.success());
}

#[test]
fn one_flipped_byte_in_any_file_is_named() {
    let fx = build(true, None);
    let dir = fx.run_dir();
    for rel in manifest_files(dir) {
        let path = dir.join(&rel);
        let orig = flip_one_byte(&path);
        let report = evidence::verify(dir, None).expect("verify");
        assert!(!report.is_intact(), "{rel}: tampering not detected");
        assert_eq!(report.changed, vec![rel.clone()]);
        assert!(report.missing.is_empty() && report.extra.is_empty());
        // CLI: exit 3 naming the file.
        let out = common::adasval()
            .args(["evidence", "verify"])
            .arg(dir)
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(3), "{rel}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains(&format!("changed: {rel}")), "{stdout}");
        std::fs::write(&path, orig).expect("restore");
    }
    let out = common::adasval()
        .args(["evidence", "verify"])
        .arg(dir)
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn missing_and_extra_files_are_named() {
    let fx = build(true, None);
    let dir = fx.run_dir();
    std::fs::remove_file(dir.join("reports/ped-occluded-02.metrics.json")).expect("rm");
    std::fs::write(dir.join("reports/injected.json"), b"{}").expect("write");
    std::fs::write(dir.join("notes.txt"), b"added later").expect("write");
    let report = evidence::verify(dir, None).expect("verify");
    assert_eq!(report.missing, vec!["reports/ped-occluded-02.metrics.json"]);
    assert_eq!(report.extra, vec!["notes.txt", "reports/injected.json"]);
    assert!(report.changed.is_empty());
    let out = common::adasval()
        .args(["evidence", "verify", "--format", "json"])
        .arg(dir)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["missing"][0], "reports/ped-occluded-02.metrics.json");
    assert_eq!(v["extra"].as_array().map(Vec::len), Some(2));
}

#[test]
fn unsealed_directory_is_an_integrity_failure() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("run.json"), b"{}").expect("write");
    let out = common::adasval()
        .args(["evidence", "verify"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not sealed"));
}

#[test]
fn malformed_manifest_line_is_reported_with_its_line() {
    let fx = build(true, None);
    let m = fx.run_dir().join(MANIFEST_NAME);
    let mut text = std::fs::read_to_string(&m).expect("read");
    text.push_str("not-a-hash  x\n");
    std::fs::write(&m, &text).expect("write");
    let line = text.lines().count();
    match evidence::verify(fx.run_dir(), None) {
        Err(EvidenceError::ManifestMalformed { line: l, .. }) => assert_eq!(l, line),
        other => panic!("expected malformed manifest, got {other:?}"),
    }
}

#[test]
fn signature_verifies_with_the_right_key_only() {
    let key = fresh_key();
    let other = fresh_key();
    let fx = build(true, Some(&key));
    let dir = fx.run_dir();
    let ok = evidence::verify(dir, Some(&key.verifying_key())).expect("verify");
    assert!(matches!(ok.signature, SignatureCheck::Valid { .. }));
    assert!(ok.is_intact());

    let wrong = evidence::verify(dir, Some(&other.verifying_key())).expect("verify");
    assert!(matches!(wrong.signature, SignatureCheck::Invalid { .. }));
    assert!(!wrong.is_intact());

    // Editing the manifest consistently (re-hash of a changed file) breaks the signature.
    let m = dir.join(MANIFEST_NAME);
    let orig = std::fs::read_to_string(&m).expect("read");
    std::fs::write(dir.join("latencies.csv"), b"frame,ms\n0,1.0\n").expect("write");
    let new_hash = adasval::hash::sha256_file(&dir.join("latencies.csv")).expect("hash");
    let forged: String = orig
        .lines()
        .map(|l| {
            if l.ends_with("  latencies.csv") {
                format!("{new_hash}  latencies.csv\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(&m, forged).expect("write");
    let unsigned_view = evidence::verify(dir, None).expect("verify");
    assert!(unsigned_view.is_intact(), "files match the forged manifest");
    let signed_view = evidence::verify(dir, Some(&key.verifying_key())).expect("verify");
    assert!(matches!(
        signed_view.signature,
        SignatureCheck::Invalid { .. }
    ));

    std::fs::remove_file(dir.join(SIGNATURE_NAME)).expect("rm");
    let missing = evidence::verify(dir, Some(&key.verifying_key())).expect("verify");
    assert_eq!(missing.signature, SignatureCheck::Missing);
    assert!(!missing.is_intact());
}

#[test]
fn cli_keygen_seal_and_verify_signature() {
    let keys_dir = tempfile::tempdir().expect("tempdir");
    let sk = keys_dir.path().join("release.key");
    let sk2 = keys_dir.path().join("other.key");
    for k in [&sk, &sk2] {
        let out = common::adasval()
            .args(["evidence", "keygen", "--out"])
            .arg(k)
            .output()
            .expect("run");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&sk).expect("meta").permissions().mode();
        assert_eq!(mode & 0o077, 0, "secret key readable by others: {mode:o}");
    }
    // keygen never overwrites.
    let again = common::adasval()
        .args(["evidence", "keygen", "--out"])
        .arg(&sk)
        .output()
        .expect("run");
    assert_eq!(again.status.code(), Some(2));

    let run = tempfile::tempdir().expect("tempdir");
    std::fs::write(run.path().join("run.json"), b"{\"complete\": true}").expect("write");
    let out = common::adasval()
        .args(["evidence", "seal", "--sign-key"])
        .arg(&sk)
        .arg(run.path())
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(run.path().join(SIGNATURE_NAME).exists());

    let verify = |pk: &std::path::Path| {
        common::adasval()
            .args(["evidence", "verify", "--public-key"])
            .arg(pk)
            .arg(run.path())
            .output()
            .expect("run")
    };
    let good = verify(&keys_dir.path().join("release.key.pub"));
    assert_eq!(good.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&good.stdout).contains("signature valid"));
    let bad = verify(&keys_dir.path().join("other.key.pub"));
    assert_eq!(bad.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&bad.stdout).contains("signature"));
}

/// RFC 8032, section 7.1, TEST 1: the key file format round-trips to the reference
/// public key and signature (empty message).
#[test]
fn key_files_match_rfc8032_test_vector() {
    use ed25519_dalek::Signer;
    let dir = tempfile::tempdir().expect("tempdir");
    let sk_path = dir.path().join("k");
    std::fs::write(
        &sk_path,
        "# RFC 8032 test 1\nadasval-ed25519-secret-key-v1\n\
         9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60\n",
    )
    .expect("write");
    let sk = keys::read_signing_key(&sk_path).expect("secret key");
    let pk_text = keys::public_key_text(&sk.verifying_key());
    assert_eq!(
        pk_text,
        "adasval-ed25519-public-key-v1\n\
         d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a\n"
    );
    let sig = sk.sign(b"");
    assert_eq!(
        adasval::hash::to_hex(&sig.to_bytes()),
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155\
         5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    );
    let pk_path = dir.path().join("k.pub");
    std::fs::write(&pk_path, pk_text).expect("write");
    assert_eq!(
        keys::read_verifying_key(&pk_path).expect("pk"),
        sk.verifying_key()
    );
}

#[test]
fn bad_key_files_name_the_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("k");
    std::fs::write(&p, "adasval-ed25519-public-key-v1\nzz\n").expect("write");
    match keys::read_signing_key(&p) {
        Err(EvidenceError::KeyFormat { line, reason, .. }) => {
            assert_eq!(line, 1);
            assert!(reason.contains("adasval-ed25519-secret-key-v1"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    std::fs::write(&p, "adasval-ed25519-secret-key-v1\n\n00ff\n").expect("write");
    match keys::read_signing_key(&p) {
        Err(EvidenceError::KeyFormat { line, reason, .. }) => {
            assert_eq!(line, 3);
            assert!(reason.contains("32 bytes"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn write_atomic_replaces_whole_file_and_leaves_no_temporaries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("report.md");
    evidence::write_atomic(&p, b"first version, longer than the second").expect("write");
    evidence::write_atomic(&p, b"second").expect("write");
    assert_eq!(std::fs::read(&p).expect("read"), b"second");
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["report.md"]);
}

#[test]
fn sealed_directories_refuse_writes_and_resealing() {
    let fx = build(true, None);
    let dir = fx.run_dir();
    for target in [dir.join("late-report.md"), dir.join("reports/late.json")] {
        match evidence::write_atomic(&target, b"x") {
            Err(EvidenceError::Sealed { .. }) => {}
            other => panic!("{}: expected Sealed, got {other:?}", target.display()),
        }
        assert!(!target.exists());
    }
    assert!(matches!(
        evidence::seal(dir, None),
        Err(EvidenceError::Sealed { .. })
    ));
    assert!(evidence::verify(dir, None).expect("verify").is_intact());
}

#[cfg(unix)]
#[test]
fn symlinks_are_refused_when_sealing_and_reported_when_added() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("a.txt"), b"a").expect("write");
    std::os::unix::fs::symlink("/etc/hostname", dir.path().join("link")).expect("symlink");
    assert!(matches!(
        evidence::seal(dir.path(), None),
        Err(EvidenceError::BadPath { .. })
    ));
    std::fs::remove_file(dir.path().join("link")).expect("rm");
    evidence::seal(dir.path(), None).expect("seal");
    std::os::unix::fs::symlink("/etc/hostname", dir.path().join("link")).expect("symlink");
    let r = evidence::verify(dir.path(), None).expect("verify");
    assert_eq!(r.extra, vec!["link (symbolic link)"]);
}

mod props {
    use super::*;
    use proptest::prelude::*;

    /// A small random tree: relative paths (up to 2 levels) with contents.
    fn tree() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
        proptest::collection::btree_map(
            "[a-z]{1,6}(/[a-z]{1,6}){0,2}\\.(json|csv|md)",
            proptest::collection::vec(any::<u8>(), 1..64),
            1..12,
        )
        .prop_map(|m| m.into_iter().collect::<Vec<_>>())
    }

    fn write_tree(dir: &std::path::Path, files: &[(String, Vec<u8>)]) -> Vec<String> {
        let mut written = Vec::new();
        for (rel, bytes) in files {
            let p = dir.join(rel);
            // A generated file path may collide with a generated directory: skip those.
            if p.parent().is_some_and(|d| d.is_file()) || p.is_dir() {
                continue;
            }
            if std::fs::create_dir_all(p.parent().expect("parent")).is_err() {
                continue;
            }
            std::fs::write(&p, bytes).expect("write");
            written.push(rel.clone());
        }
        written.sort();
        written
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        #[test]
        fn any_single_byte_change_is_named(files in tree(), pick in any::<proptest::sample::Index>(), bit in 0u8..8) {
            let dir = tempfile::tempdir().expect("tempdir");
            let written = write_tree(dir.path(), &files);
            prop_assume!(!written.is_empty());
            evidence::seal(dir.path(), None).expect("seal");
            prop_assert_eq!(manifest_files(dir.path()), written.clone());
            prop_assert!(evidence::verify(dir.path(), None).expect("verify").is_intact());

            let victim = &written[pick.index(written.len())];
            let p = dir.path().join(victim);
            let mut b = std::fs::read(&p).expect("read");
            let i = pick.index(b.len());
            b[i] ^= 1 << bit;
            std::fs::write(&p, &b).expect("write");
            let r = evidence::verify(dir.path(), None).expect("verify");
            prop_assert_eq!(r.changed, vec![victim.clone()]);
            prop_assert!(r.missing.is_empty() && r.extra.is_empty());
        }
    }
}
