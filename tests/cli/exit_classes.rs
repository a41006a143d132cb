//! One rule for exit codes: what can be checked about the user's input before timing starts
//! (adapter tensor names, labels of every scenario) fails with 2 before any replay and
//! leaves no run behind; a failure that can only appear mid-replay keeps and seals what was
//! measured as incomplete (exit 1), with its class in `run.json`.

use crate::common;
use common::*;
use std::path::Path;

/// A project with the demo detector frozen, its adapter then edited by `edit` (and re-hashed
/// into the lock, so that only the load-time check can catch it), and the repository's
/// `dusk-pedestrian-group` scenario.
fn demo_project(edit: impl Fn(&str) -> String) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::create_dir_all(p.join("engines")).unwrap();
    std::fs::create_dir_all(p.join("scenarios")).unwrap();
    std::fs::copy(
        repo_root().join("engines/demo/detector.onnx"),
        p.join("engines/det.onnx"),
    )
    .unwrap();
    let adapter = std::fs::read_to_string(repo_root().join("engines/demo/adapter.yaml")).unwrap();
    std::fs::write(p.join("engines/det.adapter.yaml"), &adapter).unwrap();
    std::fs::copy(
        repo_root().join("scenarios/dusk-pedestrian-group.yaml"),
        p.join("scenarios/dusk-pedestrian-group.yaml"),
    )
    .unwrap();
    let (code, out, err) = run(adasval().current_dir(p).args([
        "engine",
        "freeze",
        "engines/det.onnx",
        "--name",
        "det",
        "--adapter",
        "engines/det.adapter.yaml",
    ]));
    assert_eq!(code, 0, "{out}{err}");
    rehash_adapter(p, "engines/det.adapter.yaml", &edit(&adapter));
    d
}

fn validate(project: &Path, out: &Path) -> (i32, String, String) {
    run(adasval()
        .current_dir(project)
        .args([
            "validate",
            "--max-frames",
            "2",
            "--repetitions",
            "1",
            "--warmup",
            "0",
            "--out",
        ])
        .arg(out))
}

fn nothing_measured(out: &Path) -> bool {
    !out.exists() || std::fs::read_dir(out).unwrap().next().is_none()
}

#[test]
fn wrong_tensor_names_are_bad_input_before_any_replay() {
    for (what, from, to) in [
        ("output", "tensor: output", "tensor: not_an_output"),
        ("input", "tensor: images", "tensor: not_an_input"),
    ] {
        let d = demo_project(|a| {
            assert!(a.contains(from), "{a}");
            a.replace(from, to)
        });
        let out = d.path().join("run");
        let (code, o, e) = validate(d.path(), &out);
        assert_eq!(code, 2, "wrong {what} name: {o}{e}");
        assert!(e.contains("det"), "names the engine: {e}");
        assert!(
            nothing_measured(&out),
            "wrong {what} name: a run was left behind"
        );
    }
    // The same project with the adapter as it should be replays.
    let d = demo_project(str::to_string);
    let out = d.path().join("run");
    let (code, o, e) = validate(d.path(), &out);
    assert!(code == 0 || code == 1, "{o}{e}");
    assert!(out.join("MANIFEST.sha256").exists());
}

#[test]
fn broken_labels_in_a_later_scenario_are_bad_input_before_any_replay() {
    let d = noop_project();
    // A second scenario, sorted after the first, whose labels file does not exist.
    let first = std::fs::read_to_string(d.path().join("scenarios/two-frames.yaml")).unwrap();
    std::fs::write(
        d.path().join("scenarios/zz-broken.yaml"),
        first
            .replace("id: two-frames", "id: zz-broken")
            .replace("golden/labels.json", "golden/missing.json"),
    )
    .unwrap();
    let out = d.path().join("run");
    let (code, o, e) = run(adasval()
        .current_dir(d.path())
        .args(["validate", "--backend", "noop", "--out"])
        .arg(&out));
    assert_eq!(code, 2, "{o}{e}");
    assert!(e.contains("missing.json"), "{e}");
    assert!(
        nothing_measured(&out),
        "two-frames was replayed before the refusal"
    );
}

#[test]
fn a_failure_mid_replay_is_sealed_incomplete_with_its_class() {
    let d = noop_project();
    let out = d.path().join("run");
    let (code, o, e) = run(adasval()
        .current_dir(d.path())
        .env("ADASVAL_NOOP_FAIL_AFTER", "12")
        .args([
            "validate",
            "--backend",
            "noop",
            "--repetitions",
            "10",
            "--warmup",
            "5",
            "--out",
        ])
        .arg(&out));
    assert_eq!(code, 1, "{o}{e}");
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(r["complete"], false);
    assert_eq!(r["traces"][0]["failure"], "inference", "{r}");
    assert!(out.join("MANIFEST.sha256").exists());
    let (vcode, o, e) = run(adasval().args(["evidence", "verify"]).arg(&out));
    assert_eq!(vcode, 0, "{o}{e}");
}
