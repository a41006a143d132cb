//! The robustness analysis on a run constructed so the answers are known by construction:
//! two engines, a clean scenario of 10 frames with one pedestrian each, and a
//! gaussian_noise ladder of five rungs where each engine misses chosen frames. The recall
//! requirement (≥ 0.75) holds at severities 1, 2 and 4 and fails at 3 and 5, so it first
//! fails at 3 (not at the highest, the last, or after the first pass); the decision flips
//! between the engines are the frames only one of them misses, per severity.

use adasval_core::types::Detection;
use adasval_judge::detection::{self, SafetyViewSettings};
use adasval_judge::evidence::EvidenceSet;
use adasval_judge::robustness;
use adasval_judge::safety::Requirements;
use adasval_record::record::{GoldenLine, RunRecord};
use adasval_record::stored::StoredTrace;
use serde_json::json;

const FRAMES: usize = 10;
const BASE: &str = "crossing";
const PERSON: [f32; 4] = [100.0, 80.0, 60.0, 120.0];

/// Frames each engine misses: clean, then severities 1–5.
const MISSES_A: [&[usize]; 6] = [&[], &[], &[0], &[0, 1, 2], &[0, 1], &[0, 1, 2, 3, 4, 5]];
const MISSES_B: [&[usize]; 6] = [&[], &[9], &[0], &[7, 8], &[0, 1], &[0, 1, 2, 3]];

fn rung(severity: usize) -> String {
    if severity == 0 {
        BASE.to_string()
    } else {
        format!("{BASE}.gaussian_noise-{severity}")
    }
}

fn record() -> RunRecord {
    let engine = |name: &str| {
        json!({"name": name, "path": format!("engines/{name}.onnx"), "format": "onnx",
               "sha256": format!("{name}-sha"), "size": 1, "adapter_path": "a.yaml",
               "adapter_sha256": "ad", "classes": ["pedestrian"],
               "safety_critical": ["pedestrian"], "score_threshold": 0.3})
    };
    let scenario = |severity: usize| {
        let mut s = json!({"id": rung(severity), "title": "t", "path": "scenarios/c.yaml",
            "sha256": "s", "category": "pedestrian", "tags": ["pedestrian"], "fps": 10.0,
            "deadline_ms": 100.0, "requirements": [], "frames": FRAMES,
            "labels_sha256": "l", "pixels_sha256": format!("p{severity}")});
        if severity > 0 {
            s["tags"] = json!(["pedestrian", "corrupted"]);
            s["corruption"] =
                json!({"base": BASE, "type": "gaussian_noise", "severity": severity, "seed": 0});
        }
        s
    };
    serde_json::from_value(json!({
        "schema_version": 1, "run_id": "fixture", "complete": true,
        "started_at": "2026-12-07T00:00:00Z", "finished_at": "2026-12-07T00:00:01Z",
        "command_line": [], "settings": {"requested": {}, "effective": {}},
        "platform": {"name": "dev", "profile": {"schema_version": 1, "name": "dev", "kind": "cpu"},
            "fingerprint": {"hostname": "h", "arch": "x86_64", "cpu_model": "c",
                "logical_cores": 2, "cur_freq_mhz": [], "os": "linux", "kernel": "k",
                "gpus": [], "tool_version": "0"}},
        "backend": {"name": "noop", "libraries": [], "settings": []},
        "engines": [engine("a"), engine("b")],
        "scenarios": (0..=5).map(scenario).collect::<Vec<_>>(),
        "traces": [],
    }))
    .expect("fixture run record")
}

fn golden() -> Vec<GoldenLine> {
    (0..=5)
        .flat_map(|severity| {
            (0..FRAMES).map(move |frame| GoldenLine {
                scenario: rung(severity),
                frame,
                source: format!("f{frame}.png"),
                width: 640,
                height: 480,
                condition: None,
                objects: vec![
                    serde_json::from_value(json!({"class_id": 0, "bbox": PERSON})).expect("object"),
                ],
            })
        })
        .collect()
}

fn traces() -> Vec<StoredTrace> {
    let mut out = Vec::new();
    for severity in 0..=5 {
        for (engine, misses) in [("a", MISSES_A[severity]), ("b", MISSES_B[severity])] {
            let detections = (0..FRAMES)
                .map(|f| {
                    Some(if misses.contains(&f) {
                        Vec::new()
                    } else {
                        vec![Detection {
                            class_id: 0,
                            score: 0.9,
                            bbox: PERSON,
                        }]
                    })
                })
                .collect();
            out.push(StoredTrace {
                scenario: rung(severity),
                engine: engine.into(),
                samples: Vec::new(),
                detections,
                output_sha256: vec![None; FRAMES],
            });
        }
    }
    out
}

fn analyse() -> robustness::Robustness {
    let record = record();
    let det = detection::analyse(
        &record,
        &golden(),
        &traces(),
        &SafetyViewSettings::default(),
        &[],
        &[],
    );
    let reqs = Requirements::parse(
        std::path::Path::new("requirements.yaml"),
        "schema_version: 1
requirements:
  - id: REQ-REC
    text: Pedestrian recall at IoU 0.5 of at least 0.75.
    kind: detection
    metric: recall
    class: pedestrian
    iou: 0.5
    threshold: 0.75
    scope:
      scenario_tags: [pedestrian]
",
    )
    .expect("requirements");
    let template: EvidenceSet = serde_json::from_value(json!({
        "schema_version": 1, "run": {"complete": true},
        "integrity": {"verified": true, "checks": []}, "items": [],
    }))
    .expect("evidence template");
    robustness::analyse(&record, &det, &reqs.requirements, &template).expect("a ladder")
}

#[test]
fn the_requirement_first_fails_at_the_severity_built_to_fail_first() {
    let r = analyse();
    assert_eq!(r.onsets.len(), 1, "{:?}", r.onsets);
    let o = &r.onsets[0];
    assert_eq!(o.requirement, "REQ-REC");
    assert_eq!(o.clean, "pass");
    assert_eq!(o.severities, vec![1, 2, 3, 4, 5]);
    assert_eq!(o.first_failing_severity, Some(3), "{o:?}");
}

#[test]
fn flips_per_severity_are_the_frames_one_engine_alone_misses() {
    let r = analyse();
    assert_eq!(r.flips.len(), 1, "{:?}", r.flips);
    let f = &r.flips[0];
    assert_eq!((f.engine_a.as_str(), f.engine_b.as_str()), ("a", "b"));
    assert_eq!(f.clean, Some(0));
    let expected: Vec<(u8, usize, usize)> = (1..=5)
        .map(|s| {
            let (a, b) = (MISSES_A[s], MISSES_B[s]);
            let only_one = (0..FRAMES)
                .filter(|f| a.contains(f) != b.contains(f))
                .count();
            (s as u8, only_one, FRAMES)
        })
        .collect();
    // Written out, so a wrong count is visible: 1, 0, 5, 0, 2.
    assert_eq!(
        expected.iter().map(|e| e.1).collect::<Vec<_>>(),
        [1, 0, 5, 0, 2]
    );
    assert_eq!(f.rungs, expected);
    // Recall per rung, engine a: 1.0, 0.9, 0.7, 0.8, 0.4 (misses of 10 frames).
    let a = r
        .ladders
        .iter()
        .find(|l| l.engine == "a")
        .expect("engine a's ladder");
    let recalls: Vec<f64> = a.rungs.iter().map(|x| x.recall.unwrap_or(-1.0)).collect();
    let want: Vec<f64> = (1..=5)
        .map(|s| 1.0 - MISSES_A[s].len() as f64 / FRAMES as f64)
        .collect();
    for (got, want) in recalls.iter().zip(&want) {
        assert!((got - want).abs() < 1e-9, "{recalls:?} vs {want:?}");
    }
}
