//! Frozen-engine integrity: tampering with an engine or adapter is refused with exit 3 and
//! both hashes named; nothing outside the lock runs.

use crate::common;
use common::*;

fn flip_byte(path: &std::path::Path, at: usize) {
    let mut b = std::fs::read(path).unwrap();
    b[at] ^= 0x01;
    std::fs::write(path, b).unwrap();
}

fn sha(path: &std::path::Path) -> String {
    adasval::hash::sha256_file(path).unwrap()
}

#[test]
fn untouched_project_verifies_and_validates() {
    let d = noop_project();
    let (code, out, err) = run(adasval().current_dir(d.path()).args(["engine", "verify"]));
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = run(adasval().current_dir(d.path()).args([
        "validate",
        "--backend",
        "noop",
        "--repetitions",
        "3",
    ]));
    assert_eq!(code, 0, "{out}{err}");
    let run_dir = d.path().join(out.trim());
    let csv = std::fs::read_to_string(run_dir.join("latencies.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 2 * 3, "{csv}");
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["complete"], true);
    assert_eq!(
        run["engines"][0]["sha256"].as_str().unwrap(),
        sha(&d.path().join("engines/fake.onnx"))
    );
}

#[test]
fn flipped_engine_byte_is_an_integrity_failure() {
    let d = noop_project();
    let engine = d.path().join("engines/fake.onnx");
    let expected = sha(&engine);
    flip_byte(&engine, 3);
    let actual = sha(&engine);
    let (code, out, err) = run(adasval().current_dir(d.path()).args(["engine", "verify"]));
    assert_eq!(code, 3, "{out}{err}");
    assert!(err.contains(&expected) && err.contains(&actual), "{err}");
    let (code, out, err) =
        run(adasval()
            .current_dir(d.path())
            .args(["validate", "--backend", "noop"]));
    assert_eq!(code, 3, "{out}{err}");
    assert!(err.contains(&expected) && err.contains(&actual), "{err}");
    assert!(out.is_empty(), "no run directory may be reported: {out}");
}

#[test]
fn flipped_adapter_byte_is_an_integrity_failure() {
    let d = noop_project();
    let adapter = d.path().join("engines/fake.adapter.yaml");
    let expected = sha(&adapter);
    // Turn the 0.5 score threshold into 0.4: a threshold edit must show as a changed hash.
    let text = std::fs::read_to_string(&adapter)
        .unwrap()
        .replace("score_threshold: 0.5", "score_threshold: 0.4");
    std::fs::write(&adapter, text).unwrap();
    let actual = sha(&adapter);
    let (code, _out, err) =
        run(adasval()
            .current_dir(d.path())
            .args(["validate", "--backend", "noop"]));
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("adapter") && err.contains(&expected) && err.contains(&actual),
        "{err}"
    );
    flip_byte(&adapter, 0);
    let (code, _o, err) = run(adasval().current_dir(d.path()).args(["engine", "verify"]));
    assert_eq!(code, 3, "{err}");
}

#[test]
fn engine_outside_the_lock_is_refused() {
    let d = noop_project();
    let (code, _o, err) = run(adasval().current_dir(d.path()).args([
        "validate",
        "--backend",
        "noop",
        "--engine",
        "not-frozen",
    ]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not in the lock"), "{err}");
}

#[test]
fn freeze_refuses_paths_outside_the_project() {
    let d = noop_project();
    let (code, _o, err) = run(adasval().current_dir(d.path()).args([
        "engine",
        "freeze",
        "/etc/hostname",
        "--name",
        "x",
        "--adapter",
        "engines/fake.adapter.yaml",
    ]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("outside"), "{err}");
}

#[test]
fn missing_image_names_scenario_and_path() {
    let d = noop_project();
    let s = d.path().join("scenarios/two-frames.yaml");
    let text = std::fs::read_to_string(&s)
        .unwrap()
        .replace("glob: data/*.png", "list: [data/f0.png, data/missing.png]");
    std::fs::write(&s, text).unwrap();
    let (code, _o, err) =
        run(adasval()
            .current_dir(d.path())
            .args(["validate", "--backend", "noop"]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("two-frames") && err.contains("data/missing.png"),
        "{err}"
    );
    let (code, out, _e) = run(adasval().current_dir(d.path()).args(["scenario", "check"]));
    assert_eq!(code, 2);
    assert!(out.contains("FAIL") && out.contains("missing.png"), "{out}");
    // The same findings for scripts: one object, the same exit status.
    let (code, out, _e) = run(adasval()
        .current_dir(d.path())
        .args(["scenario", "check", "--format", "json"]));
    assert_eq!(code, 2);
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON on stdout");
    assert_eq!(v["failures"], 1, "{v}");
    assert_eq!(v["exit_code"], 2, "{v}");
    let sc = &v["scenarios"][0];
    assert_eq!(
        (&sc["id"], &sc["ok"]),
        (&"two-frames".into(), &false.into()),
        "{v}"
    );
    assert!(
        sc["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p.as_str().unwrap().contains("missing.png")),
        "{v}"
    );
}

#[test]
fn unknown_classes_are_listed() {
    let d = noop_project();
    let s = d.path().join("scenarios/two-frames.yaml");
    let text = std::fs::read_to_string(&s)
        .unwrap()
        .replace("class_map: { person: pedestrian }", "class_map: {}");
    std::fs::write(&s, text).unwrap();
    let (code, _o, err) =
        run(adasval()
            .current_dir(d.path())
            .args(["validate", "--backend", "noop"]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("unknown classes") && err.contains("person"),
        "{err}"
    );
}

#[test]
fn malformed_scenario_yaml_names_file_line_and_field() {
    let d = noop_project();
    let s = d.path().join("scenarios/two-frames.yaml");
    let text = std::fs::read_to_string(&s)
        .unwrap()
        .replace("deadline_ms: 100", "deadline_ms: soon");
    std::fs::write(&s, text).unwrap();
    let (code, _o, err) = run(adasval().current_dir(d.path()).args(["scenario", "check"]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("two-frames.yaml:7") && err.contains("deadline_ms"),
        "{err}"
    );
}
