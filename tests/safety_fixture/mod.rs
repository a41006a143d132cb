//! A tiny sealed run directory for the evidence and gate tests: a project root holding an
//! engine and its adapter, and a run directory with run.json, evidence.json, a requirements
//! copy and a couple of report files, sealed with MANIFEST.sha256.
#![allow(dead_code)]

pub mod browser;

use adasval::evidence::{
    self, ArtefactRef, Counterpart, EvidenceItem, EvidenceKind, EvidenceSet, IntegrityArtefact,
    IntegrityCheck, IntegrityStatus, RunStatus,
};
use adasval::hash::{sha256_file, sha256_hex};
use std::path::{Path, PathBuf};

pub const ENGINE_BYTES: &[u8] = b"fake engine weights v1";
pub const ADAPTER_BYTES: &[u8] = b"input: [1,3,416,416]\nclasses: [person, car]\n";

/// Requirements that the fixture's evidence satisfies.
pub const PASSING_REQUIREMENTS: &str = r#"schema_version: 1
requirements:
  - id: REQ-DET-001
    text: Pedestrian recall LCB at IoU 0.5 is at least 0.70 in pedestrian scenarios.
    kind: detection
    metric: recall_lcb
    class: person
    iou: 0.5
    threshold: 0.70
    scope:
      scenario_tags: [pedestrian]
  - id: REQ-TIM-001
    text: pWCET UCB at 1e-6 per frame is within the scenario deadline.
    kind: timing
    metric: pwcet_ucb
    probability: 1.0e-6
  - id: REQ-TIM-002
    text: High-water mark times 1.5 is within the scenario deadline.
    kind: timing
    metric: hwm_margin
    margin: 1.5
  - id: REQ-CON-001
    text: No decision flips between engines.
    kind: consistency
    metric: decision_flips
    threshold: 0
  - id: REQ-INT-001
    text: Engines and adapters match their lock entries.
    kind: integrity
"#;

pub struct Fixture {
    pub project: tempfile::TempDir,
    pub run: tempfile::TempDir,
}

impl Fixture {
    pub fn project_dir(&self) -> &Path {
        self.project.path()
    }
    pub fn run_dir(&self) -> &Path {
        self.run.path()
    }
    pub fn engine_path(&self) -> PathBuf {
        self.project.path().join("engines/det.onnx")
    }
}

/// Recall LCBs per pedestrian scenario (the second is below 0.75 on purpose).
pub const RECALLS: [(&str, f64); 2] = [("ped-crossing-01", 0.82), ("ped-occluded-02", 0.74)];

pub fn evidence_set(engine_sha: &str, adapter_sha: &str, complete: bool) -> EvidenceSet {
    let mut items = Vec::new();
    for (scenario, recall) in RECALLS {
        items.push(EvidenceItem {
            ttc: None,
            slice: None,
            kind: EvidenceKind::Detection,
            metric: "recall_lcb".into(),
            scenario: scenario.into(),
            scenario_tags: vec!["pedestrian".into(), "urban".into()],
            engine: "det".into(),
            engine_sha256: engine_sha.into(),
            platform: "cpu-x86".into(),
            compared_with: None,
            class: Some("person".into()),
            iou: Some(0.5),
            probability: None,
            value: Some(recall),
            no_value: None,
            deadline_ms: None,
            artefacts: vec![ArtefactRef {
                path: format!("reports/{scenario}.metrics.json"),
                sha256: None,
            }],
        });
    }
    items.push(EvidenceItem {
        ttc: None,
        slice: None,
        kind: EvidenceKind::Timing,
        metric: "pwcet_ucb_ms".into(),
        scenario: "ped-crossing-01".into(),
        scenario_tags: vec!["pedestrian".into()],
        engine: "det".into(),
        engine_sha256: engine_sha.into(),
        platform: "cpu-x86".into(),
        compared_with: None,
        class: None,
        iou: None,
        probability: Some(1e-6),
        value: Some(28.0),
        no_value: None,
        deadline_ms: Some(33.3),
        artefacts: vec![ArtefactRef {
            path: "latencies.csv".into(),
            sha256: None,
        }],
    });
    items.push(EvidenceItem {
        ttc: None,
        slice: None,
        kind: EvidenceKind::Timing,
        metric: "hwm_ms".into(),
        scenario: "ped-crossing-01".into(),
        scenario_tags: vec!["pedestrian".into()],
        engine: "det".into(),
        engine_sha256: engine_sha.into(),
        platform: "cpu-x86".into(),
        compared_with: None,
        class: None,
        iou: None,
        probability: None,
        value: Some(18.0),
        no_value: None,
        deadline_ms: Some(33.3),
        artefacts: vec![],
    });
    items.push(EvidenceItem {
        ttc: None,
        slice: None,
        kind: EvidenceKind::Consistency,
        metric: "decision_flips".into(),
        scenario: "ped-crossing-01".into(),
        scenario_tags: vec!["pedestrian".into()],
        engine: "det".into(),
        engine_sha256: engine_sha.into(),
        platform: "cpu-x86".into(),
        compared_with: Some(Counterpart {
            engine: "det-fp16".into(),
            engine_sha256: "ab".repeat(32),
            platform: "cpu-x86".into(),
        }),
        class: None,
        iou: None,
        probability: None,
        value: Some(0.0),
        no_value: None,
        deadline_ms: None,
        artefacts: vec![],
    });
    EvidenceSet {
        schema_version: evidence::EVIDENCE_SCHEMA_VERSION,
        run_id: Some("run-test-1".into()),
        run: RunStatus {
            complete,
            reason: (!complete).then(|| "interrupted".into()),
        },
        integrity: IntegrityStatus::from_checks(vec![
            IntegrityCheck {
                engine: "det".into(),
                artefact: IntegrityArtefact::Engine,
                path: "engines/det.onnx".into(),
                expected_sha256: engine_sha.into(),
                actual_sha256: Some(engine_sha.into()),
            },
            IntegrityCheck {
                engine: "det".into(),
                artefact: IntegrityArtefact::Adapter,
                path: "engines/det.adapter.yaml".into(),
                expected_sha256: adapter_sha.into(),
                actual_sha256: Some(adapter_sha.into()),
            },
        ]),
        items,
        not_detectable: Vec::new(),
        tool: None,
    }
}

/// Build and seal the fixture. `complete` goes into both run.json and evidence.json.
pub fn build(complete: bool, sign: Option<&ed25519_dalek::SigningKey>) -> Fixture {
    let fx = build_unsealed(complete);
    evidence::seal(fx.run_dir(), sign).expect("seal");
    fx
}

/// The fixture before sealing.
pub fn build_unsealed(complete: bool) -> Fixture {
    let project = tempfile::tempdir().expect("tempdir");
    let run = tempfile::tempdir().expect("tempdir");
    let p = project.path();
    std::fs::create_dir_all(p.join("engines")).expect("mkdir");
    std::fs::write(p.join("engines/det.onnx"), ENGINE_BYTES).expect("write");
    std::fs::write(p.join("engines/det.adapter.yaml"), ADAPTER_BYTES).expect("write");
    let engine_sha = sha256_hex(ENGINE_BYTES);
    let adapter_sha = sha256_file(&p.join("engines/det.adapter.yaml")).expect("hash");

    let r = run.path();
    let run_json = serde_json::json!({
        "id": "run-test-1",
        "complete": complete,
        "engines": [{
            "name": "det",
            "path": "engines/det.onnx",
            "sha256": engine_sha,
            "adapter_path": "engines/det.adapter.yaml",
            "adapter_sha256": adapter_sha,
        }],
        "tool_version": "test",
    });
    std::fs::write(
        r.join("run.json"),
        serde_json::to_string_pretty(&run_json).expect("json"),
    )
    .expect("write");
    let set = evidence_set(&engine_sha, &adapter_sha, complete);
    evidence::write_atomic(&r.join("evidence.json"), set.to_json().as_bytes()).expect("write");
    std::fs::write(r.join("requirements.yaml"), PASSING_REQUIREMENTS).expect("write");
    std::fs::write(r.join("latencies.csv"), "frame,ms\n0,12.5\n1,18.0\n").expect("write");
    std::fs::create_dir_all(r.join("reports")).expect("mkdir");
    for (s, v) in RECALLS {
        std::fs::write(
            r.join(format!("reports/{s}.metrics.json")),
            format!("{{\"recall_lcb\": {v}}}"),
        )
        .expect("write");
    }
    Fixture { project, run }
}

/// All files listed in the fixture's manifest.
pub fn manifest_files(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join(evidence::MANIFEST_NAME))
        .expect("manifest")
        .lines()
        .map(|l| l.split_once("  ").expect("manifest line").1.to_string())
        .collect()
}

/// Flip the lowest bit of the byte in the middle of `path`; returns the original bytes.
pub fn flip_one_byte(path: &Path) -> Vec<u8> {
    let orig = std::fs::read(path).expect("read");
    let mut b = orig.clone();
    let i = b.len() / 2;
    b[i] ^= 1;
    std::fs::write(path, &b).expect("write");
    orig
}
