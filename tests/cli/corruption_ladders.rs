//! Corruption ladders end to end on the noop backend: every rung replayed as its own
//! scenario with its corruption in run.json and the hash of its corrupted pixels, the same
//! bytes on a second run, the robustness section in the report; bad ladders refused as
//! bad input naming file, line and field.

use crate::common;
use common::*;

const GENERATED: &str = "schema_version: 1
id: tiny-road
title: Tiny generated road
category: pedestrian
fps: 10
deadline_ms: 100
frames:
  generate:
    seed: 3
    frames: 3
    fps: 10
    width: 64
    height: 48
    actors: []
corruptions:
  - { type: contrast, severity: [1, 4] }
  - type: TYPE
    severity: [SEVERITY]
";

fn project(kind: &str, severity: &str) -> tempfile::TempDir {
    let d = noop_project();
    let text = GENERATED
        .replace("TYPE", kind)
        .replace("SEVERITY", severity);
    std::fs::write(d.path().join("scenarios/tiny-road.yaml"), text).unwrap();
    d
}

fn validate(d: &tempfile::TempDir, scenario: &str) -> (i32, String, String) {
    run(adasval().current_dir(d.path()).args([
        "validate",
        "--backend",
        "noop",
        "--warmup",
        "0",
        "--scenario",
        scenario,
    ]))
}

fn scenarios(d: &tempfile::TempDir, out: &str) -> Vec<serde_json::Value> {
    let dir = d.path().join(out.trim());
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("run.json")).unwrap()).unwrap();
    r["scenarios"].as_array().unwrap().clone()
}

#[test]
fn each_rung_is_replayed_recorded_and_hashed() {
    let d = project("gaussian_noise", "5");
    let (code, out, err) = validate(&d, "tiny-road");
    assert!(code == 0 || code == 1, "{out}{err}");
    let s = scenarios(&d, &out);
    let ids: Vec<&str> = s.iter().map(|x| x["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "tiny-road",
            "tiny-road.contrast-1",
            "tiny-road.contrast-4",
            "tiny-road.gaussian_noise-5"
        ]
    );
    assert!(s[0].get("corruption").is_none(), "{}", s[0]);
    let c = &s[3]["corruption"];
    assert_eq!(c["base"], "tiny-road");
    assert_eq!(c["type"], "gaussian_noise");
    assert_eq!(c["severity"], 5);
    let hashes: Vec<&str> = s
        .iter()
        .map(|x| x["pixels_sha256"].as_str().unwrap())
        .collect();
    let mut distinct = hashes.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 4, "every rung's pixels differ: {hashes:?}");
    let report = std::fs::read_to_string(d.path().join(out.trim()).join("report.md")).unwrap();
    assert!(report.contains("## Robustness to corruption"), "{report}");

    // The rungs are evidence for no requirement: the clean scenario's traces give timing
    // evidence, the rungs' latencies (recorded all the same) give none.
    let dir = d.path().join(out.trim());
    let ev: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("evidence.json")).unwrap()).unwrap();
    let items = ev["items"].as_array().unwrap();
    let timing: Vec<&str> = items
        .iter()
        .filter(|i| i["kind"] == "timing")
        .map(|i| i["scenario"].as_str().unwrap())
        .collect();
    assert!(
        timing.contains(&"tiny-road"),
        "no timing evidence: {timing:?}"
    );
    assert!(
        items
            .iter()
            .all(|i| !i["scenario"].as_str().unwrap().starts_with("tiny-road.")),
        "a rung gave evidence: {timing:?}"
    );
    let latencies = std::fs::read_to_string(dir.join("latencies.csv")).unwrap();
    assert!(
        latencies.contains("tiny-road.gaussian_noise-5,"),
        "the rungs' latencies are recorded"
    );

    // Same bytes on a second run: the corruption is seeded per frame.
    let (code, out2, err) = validate(&d, "tiny-road");
    assert!(code == 0 || code == 1, "{out2}{err}");
    let again: Vec<String> = scenarios(&d, &out2)
        .iter()
        .map(|x| x["pixels_sha256"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(hashes, again);
}

#[test]
fn unknown_corruption_is_bad_input_with_the_valid_names() {
    let d = project("gausian_noise", "2");
    let (code, out, err) = validate(&d, "tiny-road");
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("tiny-road.yaml:17"), "{err}");
    assert!(err.contains("corruptions.type"), "{err}");
    assert!(err.contains("Did you mean `gaussian_noise`?"), "{err}");
}

#[test]
fn severity_outside_one_to_five_is_bad_input() {
    let d = project("fog", "6");
    let (code, out, err) = validate(&d, "tiny-road");
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("tiny-road.yaml:18"), "{err}");
    assert!(err.contains("corruptions.severity"), "{err}");
    assert!(err.contains("severity 6 is outside 1–5"), "{err}");
}

#[test]
fn frames_too_small_to_corrupt_are_refused_before_timing() {
    // The noop project's file-based scenario has 40×20 frames.
    let d = noop_project();
    let p = d.path().join("scenarios/two-frames.yaml");
    let text = std::fs::read_to_string(&p).unwrap();
    std::fs::write(
        &p,
        format!("{text}corruptions: [{{type: contrast, severity: [2]}}]\n"),
    )
    .unwrap();
    let (code, out, err) = validate(&d, "two-frames");
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("40×20") && err.contains("32×32"), "{err}");
    assert!(
        !d.path().join("reports").exists() || out.trim().is_empty(),
        "{out}"
    );
}
