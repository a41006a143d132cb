//! The documented JSON Schemas describe what adasval really writes: a run record and a
//! lock file from a real (no-op backend) run validate against them with the reference
//! `jsonschema` package, and a broken record does not.

use crate::common;
use common::*;

pub(crate) fn check(py: &str, schema: &str, doc: &std::path::Path) -> (bool, String) {
    let o = std::process::Command::new(py)
        .arg(repo_root().join("tests/py/validate_schema.py"))
        .arg(repo_root().join(schema))
        .arg(doc)
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

#[test]
fn run_record_and_lock_match_their_schemas() {
    let Some(py) = python_with(&["jsonschema"]) else {
        return;
    };
    let d = noop_project();
    // With requirements, so that the verdict files (summary.json) are written too.
    let sc = d.path().join("safety-case");
    std::fs::create_dir_all(&sc).unwrap();
    std::fs::copy(
        repo_root().join("safety-case/requirements.yaml"),
        sc.join("requirements.yaml"),
    )
    .unwrap();
    let (code, out, err) =
        run(adasval()
            .current_dir(d.path())
            .args(["validate", "--backend", "noop"]));
    assert!(code == 0 || code == 1, "{err}");
    let run_json = d.path().join(out.trim()).join("run.json");
    let (ok, msg) = check(&py, "docs/schema/run.schema.json", &run_json);
    assert!(ok, "{msg}");

    // wcet.json (the timing analyses of the run) has its own schema
    let wcet = d.path().join(out.trim()).join("wcet.json");
    let (ok, msg) = check(&py, "docs/schema/wcet.schema.json", &wcet);
    assert!(ok, "{msg}");
    let summary = d.path().join(out.trim()).join("summary.json");
    let (ok, msg) = check(&py, "docs/schema/summary.schema.json", &summary);
    assert!(ok, "{msg}");
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    v["status"] = serde_json::json!("passed-ish");
    let broken = d.path().join("broken-summary.json");
    std::fs::write(&broken, v.to_string()).unwrap();
    let (ok, _) = check(&py, "docs/schema/summary.schema.json", &broken);
    assert!(!ok, "a summary with an unknown status must not validate");

    // The lock is YAML: convert it with the library's own parser, then validate.
    let lock = adasval::lock::LockFile::load(d.path()).unwrap();
    let lock_json = d.path().join("lock.json");
    std::fs::write(&lock_json, serde_json::to_string(&lock).unwrap()).unwrap();
    let (ok, msg) = check(&py, "docs/schema/lock.schema.json", &lock_json);
    assert!(ok, "{msg}");

    // The schema can fail: drop a required field.
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&run_json).unwrap()).unwrap();
    v.as_object_mut().unwrap().remove("traces");
    let broken = d.path().join("broken.json");
    std::fs::write(&broken, v.to_string()).unwrap();
    let (ok, _) = check(&py, "docs/schema/run.schema.json", &broken);
    assert!(!ok, "a record without traces must not validate");
}
