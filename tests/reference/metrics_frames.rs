//! `evaluate_frames` against an independent Python implementation written from the
//! definitions (tests/py/coco_frames_reference.py): TP/FP/FN per class and overall,
//! Clopper–Pearson intervals (statsmodels, method='beta') to 1e-6, the pedestrian LAMR, and
//! the COCO AP summary (pycocotools) where the labels are expressible in COCO.

use crate::common;

use adasval::metrics::frames::{evaluate_frames, FrameEval, MetricSettings};
use adasval::metrics::stats::clopper_pearson;
use adasval::types::{Detection, GtObject};
use serde_json::{json, Value};

/// splitmix64: a seeded generator with no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// Multiples of 0.25 are exact in f32 and f64, so both sides see the same boxes.
    fn quarter(&mut self, lo: u64, hi: u64) -> f32 {
        (lo * 4 + self.below((hi - lo) * 4)) as f32 / 4.0
    }
}

fn random_frames(seed: u64, difficult: bool) -> Vec<FrameEval> {
    let mut r = Rng(seed);
    let n = 30 + r.below(80) as usize;
    (0..n)
        .map(|i| {
            let mut gt = Vec::new();
            let mut dets = Vec::new();
            for _ in 0..r.below(7) {
                let bbox = [
                    r.quarter(0, 500),
                    r.quarter(0, 300),
                    r.quarter(4, 150),
                    r.quarter(4, 200),
                ];
                let class_id = r.below(3) as u32;
                let crowd = r.below(12) == 0;
                let ignore = difficult && r.below(8) == 0;
                gt.push(GtObject {
                    class_id,
                    bbox,
                    ignore,
                    crowd,
                    occlusion: None,
                    truncation: None,
                    track_id: None,
                    ttc_s: None,
                    distance_m: None,
                });
                for _ in 0..r.below(3) {
                    let j =
                        |r: &mut Rng, v: f32, s: f32| v + (r.below(41) as f32 - 20.0) * s / 80.0;
                    let w = (j(&mut r, bbox[2], bbox[2]) * 4.0).round().max(4.0) / 4.0;
                    let h = (j(&mut r, bbox[3], bbox[3]) * 4.0).round().max(4.0) / 4.0;
                    dets.push(Detection {
                        class_id: if r.below(10) == 0 {
                            r.below(3) as u32
                        } else {
                            class_id
                        },
                        score: r.below(64) as f32 / 64.0,
                        bbox: [
                            (j(&mut r, bbox[0], bbox[2]) * 4.0).round() / 4.0,
                            (j(&mut r, bbox[1], bbox[3]) * 4.0).round() / 4.0,
                            w,
                            h,
                        ],
                    });
                }
            }
            for _ in 0..r.below(3) {
                dets.push(Detection {
                    class_id: r.below(3) as u32,
                    score: r.below(64) as f32 / 64.0,
                    bbox: [
                        r.quarter(0, 500),
                        r.quarter(0, 300),
                        r.quarter(4, 150),
                        r.quarter(4, 200),
                    ],
                });
            }
            FrameEval {
                frame: i,
                gt,
                dets,
                width: 640,
                height: 480,
            }
        })
        .collect()
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

fn check_interval(ours: &Value, reference: &Value, what: &str) {
    if reference.is_null() {
        assert!(ours.is_null(), "{what}: expected no interval, got {ours}");
        return;
    }
    for (k, i) in [("lower", 0), ("upper", 1)] {
        let (o, r) = (
            ours[k].as_f64().expect(k),
            reference[i].as_f64().expect("bound"),
        );
        assert!(close(o, r, 1e-6), "{what} {k}: ours {o} statsmodels {r}");
    }
}

fn check_counts(ours: &Value, reference: &Value, what: &str) {
    for k in ["tp", "fp", "fn"] {
        assert_eq!(ours[k], reference[k], "{what}: {k}");
    }
    check_interval(
        &ours["precision_ci"],
        &reference["precision_ci"],
        &format!("{what} precision"),
    );
    check_interval(
        &ours["recall_ci"],
        &reference["recall_ci"],
        &format!("{what} recall"),
    );
}

#[test]
fn frame_metrics_match_independent_reference() {
    let Some(py) = common::python_with(&["numpy", "statsmodels", "pycocotools"]) else {
        return;
    };
    let classes: Vec<String> = ["person", "car", "bicycle"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let dir = tempfile::tempdir().expect("tempdir");
    for seed in 0..16u64 {
        let difficult = seed % 2 == 1;
        let frames = random_frames(seed, difficult);
        let settings = MetricSettings {
            confidence: if seed % 3 == 0 { 0.9 } else { 0.95 },
            // Seeds 12-15: only objects at least 60 px tall count (boxes are 4-200 px).
            min_height: (seed >= 12).then_some(60.0),
            ..Default::default()
        };
        let report = evaluate_frames(&frames, &classes, &settings);
        let spec = json!({
            "frames": frames, "classes": classes, "confidence": settings.confidence,
            "iou_thresholds": settings.iou_thresholds, "pedestrian_class": "person",
            "min_height": settings.min_height,
        });
        let path = dir.path().join(format!("frames_{seed}.json"));
        std::fs::write(&path, spec.to_string()).expect("write");
        let out = std::process::Command::new(&py)
            .arg(common::repo_root().join("tests/py/coco_frames_reference.py"))
            .arg(&path)
            .output()
            .expect("python runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let reference: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        let ours = serde_json::to_value(&report).expect("serialisable");
        for c in 0..classes.len() {
            for t in 0..2 {
                check_counts(
                    &ours["per_class"][c]["at"][t],
                    &reference["per_class"][c][t],
                    &format!("seed {seed} class {c} threshold {t}"),
                );
            }
        }
        for t in 0..2 {
            check_counts(
                &ours["overall"][t],
                &reference["overall"][t],
                &format!("seed {seed} overall {t}"),
            );
        }
        let rl = &reference["lamr"];
        let ol = &ours["lamr"];
        assert_eq!(rl.is_null(), ol.is_null(), "seed {seed}: LAMR presence");
        if !rl.is_null() {
            let (o, r) = (
                ol["lamr"].as_f64().expect("lamr"),
                rl["lamr"].as_f64().expect("lamr"),
            );
            assert!(
                close(o, r, 1e-9),
                "seed {seed}: LAMR ours {o} reference {r}"
            );
        }
        if let Some(ap) = reference["ap"].as_array() {
            let keys = [
                "AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm",
                "ARl",
            ];
            for (k, r) in keys.iter().zip(ap) {
                let (o, r) = (
                    ours["ap"]["stats"][k].as_f64().expect(k),
                    r.as_f64().expect("num"),
                );
                assert!(
                    close(o, r, 1e-4),
                    "seed {seed}: {k} ours {o} pycocotools {r}"
                );
            }
        } else {
            assert!(difficult, "seed {seed}: AP reference expected");
        }
    }
}

#[test]
fn clopper_pearson_matches_scipy_beta_ppf() {
    let Some(py) = common::python_with(&["scipy"]) else {
        return;
    };
    let cases: Vec<(u64, u64, f64)> = vec![
        (0, 1, 0.95),
        (1, 1, 0.95),
        (3, 10, 0.95),
        (7, 10, 0.9),
        (50, 100, 0.99),
        (999, 1000, 0.95),
        (1, 100_000, 0.95),
        (123_456, 200_000, 0.95),
        (17, 23, 0.5),
    ];
    let script = format!(
        "from scipy.stats import beta\nimport json\nout=[]\nfor x,n,c in {:?}:\n a=1-c\n lo=0.0 if x==0 else beta.ppf(a/2,x,n-x+1)\n hi=1.0 if x==n else beta.isf(a/2,x+1,n-x)\n out.append([float(lo),float(hi)])\nprint(json.dumps(out))",
        cases.iter().map(|&(x, n, c)| (x, n, c)).collect::<Vec<_>>()
    );
    let out = std::process::Command::new(&py)
        .args(["-c", &script])
        .output()
        .expect("python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reference: Vec<[f64; 2]> = serde_json::from_slice(&out.stdout).expect("JSON");
    for (&(x, n, c), r) in cases.iter().zip(&reference) {
        let i = clopper_pearson(x, n, c).expect("interval");
        assert!(
            close(i.lower, r[0], 1e-9) && close(i.upper, r[1], 1e-9),
            "{x}/{n} at {c}: ours {i:?} scipy {r:?}"
        );
    }
}

#[test]
fn broken_engine_outputs_do_not_panic() {
    let classes = vec!["person".to_string()];
    let mut frames = random_frames(99, true);
    for (i, f) in frames.iter_mut().enumerate() {
        for d in f.dets.iter_mut() {
            match i % 4 {
                0 => d.score = f32::NAN,
                1 => d.bbox[0] = f32::NAN,
                2 => d.bbox[2] = f32::INFINITY,
                _ => d.bbox[3] = -5.0,
            }
        }
    }
    let r = evaluate_frames(&frames, &classes, &MetricSettings::default());
    let v = serde_json::to_value(&r).expect("serialisable");
    assert!(v["overall"][0]["tp"].is_u64());
}
