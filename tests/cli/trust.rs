//! Trust in a bundle's origin is explicit: a signature is checked against the project's
//! trusted keys (safety-case/trusted-keys/*.pub) or a key given on the command line; junk
//! in the signature file never passes where a key is trusted; `--require-signature` fails
//! an unsigned or unchecked bundle; and an unsigned or unchecked bundle is announced in
//! every output of `gate` (terminal, summary, JUnit) and of `evidence verify`.

use crate::common;
use crate::safety_fixture;

use adasval::evidence::{self, keys, SIGNATURE_NAME};
use safety_fixture::{build, Fixture};
use std::path::Path;
use std::process::Output;

fn adasval(fx: &Fixture, args: &[&str]) -> Output {
    common::adasval()
        .args(args)
        .arg(fx.run_dir())
        .arg("--project-root")
        .arg(fx.project_dir())
        .output()
        .expect("run adasval")
}

fn text(o: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Put `key`'s public half into the fixture project's trust store as `<name>.pub`.
fn trust(fx: &Fixture, name: &str, key: &ed25519_dalek::SigningKey) {
    let dir = fx.project_dir().join(keys::TRUSTED_KEYS_DIR);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(format!("{name}.pub")),
        keys::public_key_text(&key.verifying_key()),
    )
    .unwrap();
}

/// Replace the signature with well-formed bytes that sign nothing.
fn forge_signature(dir: &Path) {
    let junk = format!("adasval-ed25519-signature-v1\n{}\n", "ab".repeat(64));
    std::fs::write(dir.join(SIGNATURE_NAME), junk).unwrap();
}

#[test]
fn a_forged_signature_fails_against_the_projects_trusted_keys() {
    let key = keys::generate_signing_key().unwrap();
    let fx = build(true, Some(&key));
    trust(&fx, "release-bot", &key);
    for cmd in [&["evidence", "verify"][..], &["gate"][..]] {
        let o = adasval(&fx, cmd);
        assert_eq!(o.status.code(), Some(0), "{cmd:?} {}", text(&o));
        assert!(
            text(&o).contains("signed by `release-bot`"),
            "{cmd:?} names the signer: {}",
            text(&o)
        );
    }
    forge_signature(fx.run_dir());
    for cmd in [&["evidence", "verify"][..], &["gate"][..]] {
        let o = adasval(&fx, cmd);
        assert_eq!(o.status.code(), Some(3), "{cmd:?} {}", text(&o));
        assert!(text(&o).contains("signature"), "{}", text(&o));
    }
}

#[test]
fn a_signature_by_a_key_nobody_trusts_fails() {
    let key = keys::generate_signing_key().unwrap();
    let stranger = keys::generate_signing_key().unwrap();
    let fx = build(true, Some(&stranger));
    trust(&fx, "release-bot", &key);
    let o = adasval(&fx, &["gate"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
}

#[test]
fn require_signature_fails_unsigned_and_unchecked_bundles() {
    // Unsigned.
    let fx = build(true, None);
    let o = adasval(&fx, &["evidence", "verify"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    for cmd in [
        &["evidence", "verify", "--require-signature"][..],
        &["gate", "--require-signature"][..],
    ] {
        let o = adasval(&fx, cmd);
        assert_eq!(o.status.code(), Some(3), "{cmd:?} {}", text(&o));
    }
    // Signed, but no trusted key to check it with: junk passes only without the demand.
    let key = keys::generate_signing_key().unwrap();
    let fx = build(true, Some(&key));
    forge_signature(fx.run_dir());
    let o = adasval(&fx, &["gate"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("NOT CHECKED"), "{}", text(&o));
    let o = adasval(&fx, &["gate", "--require-signature"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
}

#[test]
fn an_unsigned_bundle_is_announced_in_every_output_of_the_gate() {
    let fx = build(true, None);
    let out = tempfile::tempdir().unwrap();
    let junit = out.path().join("junit.xml");
    let summary = out.path().join("summary.md");
    let o = common::adasval()
        .arg("gate")
        .arg(fx.run_dir())
        .arg("--project-root")
        .arg(fx.project_dir())
        .arg("--junit")
        .arg(&junit)
        .arg("--summary")
        .arg(&summary)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("warning: UNSIGNED bundle"), "{stderr}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("UNSIGNED bundle"), "{stdout}");
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains("> ⚠️ **UNSIGNED bundle"), "{md}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("<testsuite name=\"warnings\"") && xml.contains("<skipped"),
        "{xml}"
    );
    // A valid signature from a trusted key removes the warning.
    let key = keys::generate_signing_key().unwrap();
    let fx = build(true, Some(&key));
    trust(&fx, "release-bot", &key);
    let o = adasval(&fx, &["gate"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(!text(&o).contains("UNSIGNED"), "{}", text(&o));
}

#[test]
fn a_trust_store_with_a_file_that_is_not_a_key_is_refused() {
    let fx = build(true, None);
    let dir = fx.project_dir().join(keys::TRUSTED_KEYS_DIR);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("release.pub"), "not a key\n").unwrap();
    let o = adasval(&fx, &["gate"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("release.pub"), "{}", text(&o));
    // The bundle itself is untouched and still verifies on its own.
    assert!(evidence::verify(fx.run_dir(), None).unwrap().is_intact());
}
