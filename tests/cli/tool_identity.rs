//! Every record names the binary that wrote it: `--version --verbose`, run.json and
//! evidence.json carry the version, the build's commit (or why it is unknown) and the
//! SHA-256 of the executable, and they agree with the executable on disk.

use crate::common::*;

fn exe_sha256() -> String {
    adasval::hash::sha256_file(std::path::Path::new(env!("CARGO_BIN_EXE_adasval"))).unwrap()
}

#[test]
fn version_verbose_names_the_commit_and_the_binary_hash() {
    let (code, out, err) = run(adasval().args(["--version", "--verbose"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(&format!("adasval {}\n", env!("CARGO_PKG_VERSION"))),
        "{out}"
    );
    assert!(
        out.contains(&format!("binary sha256: {}\n", exe_sha256())),
        "{out}"
    );
    let commit = out
        .lines()
        .find_map(|l| l.strip_prefix("commit: "))
        .expect("a commit line");
    // Built from git: a full hash; otherwise the reason in words, never a placeholder.
    let hash = commit.split(' ').next().unwrap_or("");
    assert!(
        (hash.len() == 40 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
            || (commit.starts_with("unknown: ") && commit.len() > 20),
        "{commit}"
    );
    let (code, out, _) = run(adasval().arg("--version"));
    assert_eq!(code, 0);
    assert_eq!(out.trim(), format!("adasval {}", env!("CARGO_PKG_VERSION")));
    let (code, _, err) = run(adasval().arg("--verbose"));
    assert_eq!(code, 2, "--verbose alone is a usage error: {err}");
}

#[test]
fn run_and_evidence_records_name_the_binary_that_wrote_them() {
    let d = noop_project();
    let (code, out, err) = run(adasval().current_dir(d.path()).args([
        "-q",
        "validate",
        "--backend",
        "noop",
        "--repetitions",
        "3",
    ]));
    assert!(code == 0 || code == 1, "{out}{err}");
    let dir = d.path().join(out.trim());
    let sha = exe_sha256();
    for file in ["run.json", "evidence.json"] {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join(file)).unwrap()).unwrap();
        let t = &v["tool"];
        assert_eq!(t["name"], "adasval", "{file}: {t}");
        assert_eq!(t["version"], env!("CARGO_PKG_VERSION"), "{file}: {t}");
        assert_eq!(t["binary_sha256"], sha.as_str(), "{file}: {t}");
        assert!(
            t["commit"].is_string() != t["commit_unknown"].is_string(),
            "{file}: a commit or the reason there is none: {t}"
        );
    }
}
