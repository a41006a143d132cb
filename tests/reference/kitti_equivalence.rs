//! `adasval eval --kitti` against the KITTI devkit's Python port (kitti-object-eval-python,
//! `$ADASVAL_SHARED/references/`, run by `tests/py/kitti_reference.py`): seeded generated
//! label and result folders exercising every rule of the devkit (the three difficulty
//! levels' height, occlusion and truncation limits and their boundaries, occlusion level 3,
//! Van / Person_sitting neighbours, DontCare regions with detections partly inside, small
//! detections, other classes, score ties, frames without labels or detections). AP at 11
//! and at 40 recall points must agree to 1e-6 (in the devkit's percent) for Car, Pedestrian
//! and Cyclist at every level.

use crate::common;

use adasval::rng::SplitMix64;
use serde_json::Value;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

const TOL: f64 = 1e-6;
const CLASSES: [&str; 3] = ["Car", "Pedestrian", "Cyclist"];

/// A KITTI line: 2-decimal numbers as the benchmark's files carry them.
fn line(class: &str, trunc: f64, occ: i32, b: [f64; 4], score: Option<f64>) -> String {
    let mut s = format!(
        "{class} {trunc:.2} {occ} -10 {:.2} {:.2} {:.2} {:.2} -1 -1 -1 -1000 -1000 -1000 -10",
        b[0], b[1], b[2], b[3]
    );
    if let Some(sc) = score {
        write!(s, " {sc:.2}").unwrap();
    }
    s.push('\n');
    s
}

fn pick<'a, T>(r: &mut SplitMix64, v: &'a [T]) -> &'a T {
    &v[r.below(v.len() as u64) as usize]
}

fn uniform(r: &mut SplitMix64, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * (r.below(1_000_000) as f64 / 1_000_000.0)
}

/// One case folder (`gt/`, `dt/`) of `frames` frames.
fn generate(dir: &Path, seed: u64, frames: usize) {
    let mut r = SplitMix64::new(seed);
    std::fs::create_dir_all(dir.join("gt")).unwrap();
    std::fs::create_dir_all(dir.join("dt")).unwrap();
    let classes = [
        "Car",
        "Car",
        "Car",
        "Van",
        "Pedestrian",
        "Pedestrian",
        "Person_sitting",
        "Cyclist",
        "Truck",
        "Misc",
    ];
    // Boundaries of the levels among ordinary values.
    let heights = [
        20.0, 24.99, 25.0, 25.01, 30.0, 39.5, 40.0, 40.01, 55.0, 80.0, 130.0,
    ];
    let truncs = [0.0, 0.0, 0.1, 0.15, 0.16, 0.3, 0.31, 0.5, 0.51, 0.8];
    for f in 0..frames {
        let (mut gt, mut dt) = (String::new(), String::new());
        // Every 7th frame has no labels, every 11th no detections.
        let n_obj = if f % 7 == 3 { 0 } else { r.below(7) as usize };
        for _ in 0..n_obj {
            let class = *pick(&mut r, &classes);
            let h = if r.below(3) == 0 {
                *pick(&mut r, &heights)
            } else {
                uniform(&mut r, 15.0, 150.0)
            };
            let aspect = if class.starts_with('P') || class == "Cyclist" {
                0.4
            } else {
                1.6
            };
            let w = (h * aspect * uniform(&mut r, 0.8, 1.2)).max(4.0);
            let x = uniform(&mut r, 0.0, 1100.0);
            let y = uniform(&mut r, 100.0, 250.0);
            let b = [x, y, x + w, y + h];
            let occ = r.below(4) as i32;
            let trunc = *pick(&mut r, &truncs);
            gt.push_str(&line(class, trunc, occ, b, None));
            if f % 11 == 5 {
                continue;
            }
            // Detected with some jitter (sometimes too much for 0.7), sometimes twice,
            // sometimes as the neighbouring class.
            for _ in 0..[0, 1, 1, 1, 2][r.below(5) as usize] {
                let j = uniform(&mut r, 0.0, 0.1) * w;
                let k = uniform(&mut r, 0.0, 0.1) * h;
                let db = [b[0] + j, b[1] - k, b[2] + j, b[3] + k * 0.5];
                let dclass = match (class, r.below(6)) {
                    ("Van", 0..=2) => "Car",
                    ("Person_sitting", 0..=2) => "Pedestrian",
                    ("Cyclist", 0) => "Pedestrian",
                    _ => class,
                };
                // Two-decimal scores tie often; detections of objects score higher than
                // false positives on the whole, so the curves are not flat.
                let score = (r.below(60) as f64 + 41.0) / 100.0;
                dt.push_str(&line(dclass, -1.0, -1, db, Some(score)));
            }
        }
        // DontCare regions, with detections partly inside them.
        for _ in 0..r.below(3) {
            let (x, y) = (uniform(&mut r, 0.0, 1100.0), uniform(&mut r, 100.0, 250.0));
            let (w, h) = (uniform(&mut r, 20.0, 120.0), uniform(&mut r, 20.0, 80.0));
            gt.push_str(&line("DontCare", -1.0, -1, [x, y, x + w, y + h], None));
            let inside = uniform(&mut r, 0.3, 1.0);
            let class = *pick(&mut r, &CLASSES);
            let (dw, dh) = (w * 0.6, (h * 0.9).max(26.0));
            let dx = x + w - dw * inside;
            let score = (r.below(60) as f64 + 1.0) / 100.0;
            if f % 11 != 5 {
                dt.push_str(&line(
                    class,
                    -1.0,
                    -1,
                    [dx, y, dx + dw, y + dh],
                    Some(score),
                ));
            }
        }
        // False positives, some too small for any level.
        if f % 11 != 5 {
            for _ in 0..r.below(3) {
                let class = *pick(&mut r, &CLASSES);
                let h = uniform(&mut r, 10.0, 100.0);
                let x = uniform(&mut r, 0.0, 1100.0);
                let score = (r.below(60) as f64 + 1.0) / 100.0;
                dt.push_str(&line(
                    class,
                    -1.0,
                    -1,
                    [x, 150.0, x + h, 150.0 + h],
                    Some(score),
                ));
            }
        }
        std::fs::write(dir.join(format!("gt/{f:06}.txt")), gt).unwrap();
        std::fs::write(dir.join(format!("dt/{f:06}.txt")), dt).unwrap();
    }
}

fn ours(case: &Path) -> Value {
    let out = common::adasval()
        .args(["eval", "--kitti", "--format", "json", "--gt"])
        .arg(case.join("gt"))
        .arg("--dt")
        .arg(case.join("dt"))
        .output()
        .expect("adasval runs");
    assert!(
        out.status.success(),
        "adasval eval --kitti failed on {}: {}",
        case.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

#[test]
fn kitti_ap_equals_the_devkit_port() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let Some(py) = common::python_with(&["numpy", "numba"]) else {
        return;
    };
    let refs = shared.join("references");
    assert!(
        refs.join("kitti_object_eval_python/eval.py").exists(),
        "the KITTI devkit port is missing from {}",
        refs.display()
    );
    let tmp = tempfile::tempdir().unwrap();
    let cases: Vec<_> = [(1u64, 60usize), (2, 150), (3, 25), (4, 400)]
        .iter()
        .map(|&(seed, n)| {
            let d = tmp.path().join(format!("case{seed}"));
            generate(&d, seed, n);
            d
        })
        .collect();
    let out = Command::new(&py)
        .arg(common::repo_root().join("tests/py/kitti_reference.py"))
        .arg(&refs)
        .arg(CLASSES.join(","))
        .args(&cases)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "kitti_reference.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reference: Value = serde_json::from_slice(&out.stdout).expect("reference JSON");
    let mut compared = 0;
    for case in &cases {
        let ours = ours(case);
        let theirs = &reference[case.to_str().unwrap()];
        for c in ours["classes"].as_array().unwrap() {
            let class = c["class"].as_str().unwrap();
            for l in c["levels"].as_array().unwrap() {
                let level = l["difficulty"].as_str().unwrap();
                let r = &theirs[class][level];
                for (k, key) in ["ap11", "ap40"].iter().enumerate() {
                    let rv = r[k].as_f64().unwrap();
                    let what = format!("{} {class} {level} {key}", case.display());
                    if l["objects"] == 0 {
                        // No counted object: undefined for us, 0 for the devkit.
                        assert!(l[key].is_null() && rv == 0.0, "{what}: {l} vs {rv}");
                        continue;
                    }
                    let ov = l[key].as_f64().unwrap_or_else(|| panic!("{what}: {l}")) * 100.0;
                    assert!((ov - rv).abs() <= TOL, "{what}: ours {ov} devkit {rv}");
                    compared += 1;
                }
            }
        }
    }
    // Four cases × three classes × three levels × two APs, nearly all defined (a small case
    // may lack easy cyclists): the comparison is not vacuous.
    assert!(compared >= 60, "only {compared} APs compared");
}
