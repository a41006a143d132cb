//! `adasval eval` against pycocotools 2.0.11 (the reference): seeded random ground truth and
//! detections (crowds, area-range edges, many categories, score ties, images without ground
//! truth or without detections, >100 detections per image) and the real VOC100 labels with
//! jittered detections. All 12 numbers and per-class AP/AP50 must agree within 1e-4.

use crate::common;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const TOL: f64 = 1e-4;

fn py_script(name: &str) -> PathBuf {
    common::repo_root().join("tests/py").join(name)
}

fn run_python(py: &str, args: &[&str]) -> String {
    let out = Command::new(py).args(args).output().expect("python runs");
    assert!(
        out.status.success(),
        "python {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn ours(gt: &Path, dt: &Path) -> Value {
    let out = common::adasval()
        .args(["eval", "--format", "json", "--gt"])
        .arg(gt)
        .arg("--dt")
        .arg(dt)
        .output()
        .expect("adasval runs");
    assert!(
        out.status.success(),
        "adasval eval failed on {}: {}",
        dt.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

const KEYS: [&str; 12] = [
    "AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl",
];

/// Our `null` (undefined) is pycocotools' −1: the same number, said without a sentinel.
fn stat(v: &Value, what: &str) -> f64 {
    if v.is_null() {
        -1.0
    } else {
        v.as_f64().unwrap_or_else(|| panic!("{what}: {v}"))
    }
}

fn assert_equal(case: &str, ours: &Value, reference: &Value) {
    let stats = reference["stats"].as_array().expect("stats");
    for (k, r) in KEYS.iter().zip(stats) {
        let (o, r) = (stat(&ours[k], k), r.as_f64().expect("number"));
        assert!((o - r).abs() <= TOL, "{case}: {k} ours {o} pycocotools {r}");
    }
    let ref_pc = reference["per_class"].as_array().expect("per_class");
    let our_pc = ours["per_class"].as_array().expect("per_class");
    assert_eq!(ref_pc.len(), our_pc.len(), "{case}: number of categories");
    for (o, r) in our_pc.iter().zip(ref_pc) {
        assert_eq!(o["category_id"], r["category_id"], "{case}: category order");
        for k in ["AP", "AP50"] {
            let (ov, rv) = (stat(&o[k], k), r[k].as_f64().expect(k));
            assert!(
                (ov - rv).abs() <= TOL,
                "{case}: category {} {k} ours {ov} pycocotools {rv}",
                r["category_id"]
            );
        }
    }
}

#[test]
fn random_sets_match_pycocotools() {
    let Some(py) = common::python_with(&["pycocotools", "numpy"]) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8 path");
    let seeds: Vec<String> = (0..80).map(|s| s.to_string()).collect();
    let mut args = vec![py_script("coco_gen.py").display().to_string()];
    args.extend(["random".to_string(), d.to_string()]);
    args.extend(seeds.iter().cloned());
    let args_ref: Vec<&str> = args.iter().map(String::as_str).collect();
    run_python(&py, &args_ref);

    let mut ref_args = vec![py_script("coco_reference.py").display().to_string()];
    for s in &seeds {
        ref_args.push(format!("{d}/gt_{s}.json"));
        ref_args.push(format!("{d}/dt_{s}.json"));
    }
    let ref_args: Vec<&str> = ref_args.iter().map(String::as_str).collect();
    let reference: Value = serde_json::from_str(&run_python(&py, &ref_args)).expect("JSON");
    for (s, r) in seeds.iter().zip(reference.as_array().expect("list")) {
        let gt = dir.path().join(format!("gt_{s}.json"));
        let dt = dir.path().join(format!("dt_{s}.json"));
        assert_equal(&format!("seed {s}"), &ours(&gt, &dt), r);
    }
}

#[test]
fn eighty_categories_with_a_hundred_detections_per_image_match_pycocotools() {
    let Some(py) = common::python_with(&["pycocotools", "numpy"]) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8 path");
    let gen = py_script("coco_gen.py").display().to_string();
    run_python(&py, &[&gen, "bench", d, "150", "120"]);
    let (gt, dt) = (format!("{d}/bench_gt.json"), format!("{d}/bench_dt.json"));
    let refr = py_script("coco_reference.py").display().to_string();
    let reference: Value =
        serde_json::from_str(&run_python(&py, &[&refr, &gt, &dt])).expect("JSON");
    assert_equal(
        "80 categories, 120 detections per image",
        &ours(Path::new(&gt), Path::new(&dt)),
        &reference[0],
    );
}

#[test]
fn voc100_with_jittered_detections_matches_pycocotools() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let Some(py) = common::python_with(&["pycocotools", "numpy"]) else {
        return;
    };
    let gt = shared.join("data/voc100/labels/coco_instances.json");
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8 path");
    let gen = py_script("coco_gen.py").display().to_string();
    let refr = py_script("coco_reference.py").display().to_string();
    let gt_s = gt.to_str().expect("utf-8 path");
    let mut ref_args = vec![refr.clone()];
    let seeds = ["1", "2", "3", "4", "5"];
    for s in seeds {
        run_python(&py, &[&gen, "jitter", gt_s, d, s]);
        ref_args.push(gt_s.to_string());
        ref_args.push(format!("{d}/dt_jitter_{s}.json"));
    }
    let ref_args: Vec<&str> = ref_args.iter().map(String::as_str).collect();
    let reference: Value = serde_json::from_str(&run_python(&py, &ref_args)).expect("JSON");
    for (s, r) in seeds.iter().zip(reference.as_array().expect("list")) {
        let dt = dir.path().join(format!("dt_jitter_{s}.json"));
        assert_equal(&format!("voc100 jitter seed {s}"), &ours(&gt, &dt), r);
    }
}
