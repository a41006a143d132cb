//! `detect_by_ttc` (issue #25): on the same frames and the same detections, an engine
//! whose latency is larger fails a requirement that a faster one meets, because every
//! target's time to collision at stable detection loses the latency. Counted by hand:
//! 10 instances, each target found from frame 15 on (TTC 4.0 − 1.5 − 0.2 for the window:
//! k = 3 of n = 4 is first reached at frame 17, TTC 2.3 s).

use adasval::evidence::{EvidenceItem, EvidenceKind, EvidenceSet, IntegrityStatus, RunStatus};
use adasval::metrics::frames::FrameEval;
use adasval::metrics::ttc::{stable_detections, StableRule};
use adasval::safety::{evaluate, Requirements, Verdict};
use adasval::types::{Detection, GtObject};

const REQS: &str = "schema_version: 1
requirements:
  - id: REQ-TTC-001
    text: pedestrians stably detected 2 s before the collision
    kind: detection
    metric: detect_by_ttc
    class: pedestrian
    detect_by_ttc: {min_ttc_s: 2.0, k: 3, n: 4, latency_percentile: 99}
    threshold: 0.65
";

fn instance_frames(found_from: usize) -> Vec<FrameEval> {
    (0..40)
        .map(|i| {
            let bbox = [100.0, 80.0, 20.0, 50.0];
            FrameEval {
                frame: i,
                gt: vec![GtObject {
                    class_id: 0,
                    bbox,
                    ignore: false,
                    crowd: false,
                    occlusion: None,
                    truncation: None,
                    track_id: Some(1),
                    ttc_s: Some(4.0 - i as f32 / 10.0),
                    distance_m: None,
                }],
                dets: if i >= found_from {
                    vec![Detection {
                        class_id: 0,
                        score: 0.9,
                        bbox,
                    }]
                } else {
                    Vec::new()
                },
                width: 512,
                height: 288,
            }
        })
        .collect()
}

fn evidence(latency_ns: u64, reqs: &Requirements) -> EvidenceSet {
    let rule: StableRule = adasval::safety::requirements::ttc_rules(&reqs.requirements)[0];
    let base = EvidenceItem {
        kind: EvidenceKind::Detection,
        metric: String::new(),
        scenario: String::new(),
        scenario_tags: vec!["cpna-25".into()],
        engine: "e".into(),
        engine_sha256: "00".repeat(32),
        platform: "p".into(),
        compared_with: None,
        class: None,
        iou: None,
        probability: None,
        value: None,
        no_value: None,
        deadline_ms: None,
        artefacts: Vec::new(),
        ttc: None,
        slice: None,
    };
    let mut items = Vec::new();
    for k in 0..10 {
        let targets = stable_detections(&instance_frames(15), &rule, latency_ns);
        assert_eq!(targets[0].first_stable_frame, Some(17));
        let rd = adasval_judge::detection::RuleDetections {
            rule_id: rule.id(),
            rule,
            targets: Some(targets),
        };
        let b = EvidenceItem {
            scenario: format!("cpna-25_ego{}", 10 + 5 * k),
            ..base.clone()
        };
        items.extend(adasval_judge::evidence_items::ttc_items(
            &b,
            "cpna-25",
            &rd,
            &["pedestrian".to_string()],
        ));
    }
    EvidenceSet {
        schema_version: adasval::evidence::EVIDENCE_SCHEMA_VERSION,
        run_id: None,
        run: RunStatus {
            complete: true,
            reason: None,
        },
        integrity: IntegrityStatus::from_checks(Vec::new()),
        items,
        not_detectable: Vec::new(),
        tool: None,
    }
}

#[test]
fn a_slower_engine_fails_what_a_faster_one_meets() {
    let reqs = Requirements::parse(std::path::Path::new("r.yaml"), REQS).unwrap();
    // 2.3 s at the first stable frame: 30 ms leaves 2.27 s (all 10 meet 2.0 s; the lower
    // end of the two-sided 95% interval for 10 of 10 is 0.025^(1/10) = 0.6915 ≥ 0.65);
    // 400 ms leaves 1.9 s (none meets it).
    let fast = evaluate(&reqs.requirements, &evidence(30_000_000, &reqs));
    let slow = evaluate(&reqs.requirements, &evidence(400_000_000, &reqs));
    let f = &fast.requirements[0];
    let s = &slow.requirements[0];
    assert_eq!(f.verdict, Verdict::Pass, "{:?}", f.instances);
    assert_eq!(s.verdict, Verdict::Fail, "{:?}", s.instances);
    assert_eq!(f.instances.len(), 1, "one verdict per family");
    assert_eq!(f.instances[0].scenario, "cpna-25");
    let lcb = f.instances[0].measured.unwrap();
    // Clopper–Pearson two-sided 95% lower bound for 10 of 10: (0.025)^(1/10).
    assert!((lcb - 0.025f64.powf(0.1)).abs() < 1e-9, "{lcb}");
    assert!(
        s.instances[0].detail.contains("0 of 10"),
        "{}",
        s.instances[0].detail
    );
}

#[test]
fn a_requirement_without_its_rule_names_the_field() {
    let bad = REQS.replace(
        "    detect_by_ttc: {min_ttc_s: 2.0, k: 3, n: 4, latency_percentile: 99}\n",
        "",
    );
    let e = Requirements::parse(std::path::Path::new("r.yaml"), &bad)
        .unwrap_err()
        .to_string();
    assert!(e.contains("detect_by_ttc") && e.contains("r.yaml"), "{e}");
    let bad = REQS.replace("k: 3, n: 4", "k: 5, n: 4");
    let e = Requirements::parse(std::path::Path::new("r.yaml"), &bad)
        .unwrap_err()
        .to_string();
    assert!(e.contains("k = 5 of n = 4"), "{e}");
}
