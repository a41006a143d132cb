//! CityPersons subsets (`metrics::citypersons`) against a numpy re-implementation of the
//! CityPersons evaluation script's logic (tests/py/citypersons_reference.py; the official
//! `eval_MR_multisetup.py` is not on PyPI, so it cannot be installed in CI): on seeded
//! frames with crowd boxes, ignore regions, partly hidden pedestrians of every height and
//! jittered or stray detections, the counts per subset are equal and the miss rates equal
//! to 1e-9, both the script's convention (on data where it agrees with Caltech's, which the
//! reference checks) and the Caltech one.

use crate::common;

use adasval::metrics::citypersons::evaluate;
use adasval::metrics::frames::FrameEval;
use adasval::types::{Detection, GtObject};
use serde_json::{json, Value};

/// splitmix64: a seeded generator with no dependency (also drives tests/reference/eurocity.rs).
pub(crate) struct Rng(pub(crate) u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// Multiples of 0.25 are exact in f32 and f64, so both sides see the same boxes.
    pub(crate) fn quarter(&mut self, lo: u64, hi: u64) -> f32 {
        (lo * 4 + self.below((hi - lo) * 4)) as f32 / 4.0
    }
}

fn random_frames(seed: u64, n: usize) -> Vec<FrameEval> {
    let mut r = Rng(seed);
    (0..n)
        .map(|i| {
            let mut gt = Vec::new();
            let mut dets = Vec::new();
            for _ in 0..r.below(5) {
                let h = r.quarter(10, 160);
                let bbox = [r.quarter(0, 1800), r.quarter(0, 700), h * 0.41, h];
                // Visibility in steps of 1/20 (exact), a few unknown.
                let occlusion = (r.below(21) != 0).then(|| r.below(20) as f32 / 20.0);
                let crowd = r.below(15) == 0;
                let ignore = r.below(15) == 0;
                let (bbox, crowd) = if crowd {
                    ([bbox[0], bbox[1], h * 2.0, h], true)
                } else {
                    (bbox, false)
                };
                gt.push(GtObject {
                    class_id: 0,
                    bbox,
                    ignore,
                    crowd,
                    occlusion,
                    truncation: None,
                    track_id: None,
                    ttc_s: None,
                    distance_m: None,
                });
                // Most objects found, boxes jittered; some twice.
                for _ in 0..r.below(3) {
                    let j =
                        |r: &mut Rng, v: f32, s: f32| v + (r.below(41) as f32 - 20.0) * s / 80.0;
                    let w = (j(&mut r, bbox[2], bbox[2]) * 4.0).round().max(4.0) / 4.0;
                    let hh = (j(&mut r, bbox[3], bbox[3]) * 4.0).round().max(4.0) / 4.0;
                    dets.push(Detection {
                        class_id: 0,
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
                let h = r.quarter(8, 200);
                dets.push(Detection {
                    class_id: 0,
                    score: r.below(256) as f32 / 256.0,
                    bbox: [r.quarter(0, 1800), r.quarter(0, 700), h * 0.4, h],
                });
            }
            FrameEval {
                frame: i,
                gt,
                dets,
                width: 2048,
                height: 1024,
            }
        })
        .collect()
}

fn request(frames: &[FrameEval]) -> Value {
    json!({
        "frames": frames.iter().map(|f| json!({
            "gt": f.gt.iter().map(|g| json!({
                "bbox": g.bbox,
                "occlusion": g.occlusion,
                "ignore": g.ignore || g.crowd,
            })).collect::<Vec<_>>(),
            "dt": f.dets.iter().map(|d| json!({"bbox": d.bbox, "score": d.score})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>()
    })
}

#[test]
fn citypersons_subsets_match_the_evaluation_scripts_logic() {
    let Some(py) = common::python_with(&["numpy"]) else {
        return;
    };
    let mut compared = 0;
    for seed in [1u64, 2, 3, 4, 5] {
        // At least 100 frames: the first false positive then comes at FPPI <= 0.01, where
        // the script and the Caltech definition agree.
        let frames = random_frames(seed, 300);
        let ours = evaluate(&frames, 0, 0.5);
        let reference =
            common::python_reference(&py, "tests/py/citypersons_reference.py", &request(&frames));
        for (o, r) in ours.iter().zip(reference["setups"].as_array().unwrap()) {
            let what = format!("seed {seed} {}", o.name);
            assert_eq!(o.name, r["name"], "{what}");
            assert_eq!(o.filtered_out as u64, r["filtered_out"], "{what}");
            let res = &r["result"];
            if res.is_null() {
                assert_eq!(o.lamr, None, "{what}: no object counts");
                continue;
            }
            assert_eq!(o.objects as u64, res["objects"], "{what}: objects");
            assert_eq!(o.tp as u64, res["tp"], "{what}: tp");
            assert_eq!(o.fp as u64, res["fp"], "{what}: fp");
            assert_eq!(o.ignored as u64, res["ignored"], "{what}: ignored");
            let lamr = o.lamr.expect("objects count, so a miss rate");
            let caltech = res["caltech"].as_f64().unwrap();
            assert!((lamr - caltech).abs() < 1e-9, "{what}: {lamr} vs {caltech}");
            if res["conventions_agree"] == true {
                let script = res["script"].as_f64().unwrap();
                assert!(
                    (lamr - script).abs() < 1e-9,
                    "{what}: {lamr} vs script {script}"
                );
                compared += 1;
            }
        }
    }
    // The script's own convention must have been compared, not only Caltech's.
    assert!(
        compared >= 15,
        "compared with the script's convention {compared} times"
    );
}
