//! EuroCity Persons subsets (`metrics::eurocity`) against a re-implementation of the ECP
//! devkit's logic (tests/py/eurocity_reference.py; the devkit is not on PyPI, so it cannot be
//! installed in CI): on seeded frames with pedestrians of every height, occlusion and
//! truncation level (some unknown), riders, cars, don't-care regions, boxes crossing the
//! frame's edges and jittered or stray detections, the counts of every subset under both
//! rider settings are equal and the miss rates equal to 1e-9.

use crate::citypersons::Rng;
use crate::common;

use adasval::metrics::eurocity::{evaluate, Classes};
use adasval::metrics::frames::FrameEval;
use adasval::types::{Detection, GtObject};
use serde_json::{json, Value};

const PED: u32 = 0;
const RIDER: u32 = 1;
const CAR: u32 = 2;
const W: u32 = 1920;
const H: u32 = 1024;

fn random_frames(seed: u64, n: usize) -> Vec<FrameEval> {
    let mut r = Rng(seed);
    (0..n)
        .map(|i| {
            let mut gt = Vec::new();
            let mut dets = Vec::new();
            for _ in 0..r.below(6) {
                let class_id = match r.below(10) {
                    0 => RIDER,
                    1 => CAR,
                    _ => PED,
                };
                let h = r.quarter(12, 140);
                // Some boxes cross the left or bottom edge (all meet the frame).
                let bbox = [
                    r.quarter(0, 1900) - 2.0,
                    r.quarter(0, 1000) + 10.0,
                    h * 0.41,
                    h,
                ];
                // Levels in steps of 1/20 (the tag boundaries 0.1, 0.4, 0.8 included), a few
                // unknown.
                let fraction = |r: &mut Rng, zero_odds: u64| {
                    (r.below(25) != 0).then(|| {
                        if r.below(zero_odds) == 0 {
                            0.0
                        } else {
                            r.below(21) as f32 / 20.0
                        }
                    })
                };
                let occlusion = fraction(&mut r, 3);
                let truncation = fraction(&mut r, 2);
                let region = r.below(12) == 0;
                let (bbox, crowd) = if region {
                    ([bbox[0], bbox[1], h * 2.0, h], r.below(2) == 0)
                } else {
                    (bbox, false)
                };
                gt.push(GtObject {
                    class_id,
                    bbox,
                    ignore: region && !crowd,
                    crowd,
                    occlusion,
                    truncation,
                    track_id: None,
                    ttc_s: None,
                    distance_m: None,
                });
                for _ in 0..r.below(3) {
                    let j =
                        |r: &mut Rng, v: f32, s: f32| v + (r.below(41) as f32 - 20.0) * s / 80.0;
                    let w = (j(&mut r, bbox[2], bbox[2]) * 4.0).round().max(4.0) / 4.0;
                    let hh = (j(&mut r, bbox[3], bbox[3]) * 4.0).round().max(4.0) / 4.0;
                    dets.push(Detection {
                        class_id: PED,
                        score: r.below(256) as f32 / 256.0,
                        bbox: [
                            (j(&mut r, bbox[0], bbox[2]) * 4.0).round() / 4.0,
                            (j(&mut r, bbox[1], bbox[3]) * 4.0).round() / 4.0,
                            w,
                            hh,
                        ],
                    });
                }
            }
            for _ in 0..r.below(3) {
                let h = r.quarter(8, 120);
                dets.push(Detection {
                    class_id: PED,
                    score: r.below(256) as f32 / 256.0,
                    bbox: [r.quarter(0, 1800), r.quarter(0, 880), h * 0.4, h],
                });
            }
            FrameEval {
                frame: i,
                gt,
                dets,
                width: W,
                height: H,
            }
        })
        .collect()
}

fn request(frames: &[FrameEval]) -> Value {
    json!({
        "iou": 0.5,
        "frames": frames.iter().map(|f| json!({
            "width": f.width,
            "height": f.height,
            "gt": f.gt.iter().map(|g| json!({
                "bbox": g.bbox,
                "kind": match g.class_id { PED => "pedestrian", RIDER => "rider", _ => "other" },
                "region": g.ignore || g.crowd,
                "occlusion": g.occlusion,
                "truncation": g.truncation,
            })).collect::<Vec<_>>(),
            "dt": f.dets.iter().map(|d| json!({"bbox": d.bbox, "score": d.score})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>()
    })
}

#[test]
fn eurocity_subsets_match_the_devkits_logic() {
    let Some(py) = common::python_with(&["numpy"]) else {
        return;
    };
    let classes = Classes {
        pedestrian: PED,
        rider: Some(RIDER),
    };
    let mut compared = 0;
    for seed in [1u64, 2, 3, 4] {
        let frames = random_frames(seed, 300);
        let ours = evaluate(&frames, classes, 0.5);
        let reference =
            common::python_reference(&py, "tests/py/eurocity_reference.py", &request(&frames));
        let theirs = reference["subsets"].as_array().unwrap();
        assert_eq!(ours.len(), theirs.len());
        for (o, r) in ours.iter().zip(theirs) {
            let what = format!(
                "seed {seed} {} riders tolerated {}",
                o.name, o.riders_tolerated
            );
            assert_eq!(o.name, r["name"], "{what}");
            assert_eq!(o.riders_tolerated, r["riders_tolerated"], "{what}");
            let n = |k: &str| r[k].as_u64().unwrap() as usize;
            assert_eq!(
                (o.objects, o.tp, o.fp, o.ignored, o.filtered_out),
                (
                    n("objects"),
                    n("tp"),
                    n("fp"),
                    n("ignored"),
                    n("filtered_out")
                ),
                "{what}: objects, tp, fp, ignored, filtered"
            );
            match (o.lamr, r["lamr"].as_f64()) {
                (None, None) => {}
                (Some(a), Some(b)) => {
                    assert!((a - b).abs() < 1e-9, "{what}: {a} vs {b}");
                    compared += 1;
                }
                (a, b) => panic!("{what}: {a:?} vs {b:?}"),
            }
        }
    }
    // Every subset of every seed has objects and a miss rate to compare.
    assert_eq!(compared, 32, "miss rates compared");
}
