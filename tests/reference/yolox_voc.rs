//! YOLOX-Nano (shared folder) through the whole CPU pipeline on the 100 VOC photos:
//! recall and precision over non-difficult person and car boxes at IoU 0.5.
//!
//! Reference figures (measured once, 2026-11-26, on the 2-core x86-64 dev machine):
//! `python3 tests/py/yolox_ort_voc.py ../shared 0.3` (onnxruntime 1.32.0, PIL bilinear
//! letterbox, the same decode, NMS 0.45 and VOC matching) gives TP 72, FP 35, FN 16:
//! recall 0.818, precision 0.673 at score threshold 0.3. The bounds below sit just under
//! those; the test also re-runs the reference when onnxruntime is importable and requires
//! adasval within 0.03 of it.

use crate::common;
use common::*;

const MIN_RECALL: f64 = 0.78;
const MIN_PRECISION: f64 = 0.62;

#[test]
fn yolox_nano_on_voc100_person_and_car() {
    let Some(shared) = shared_dir() else { return };
    let d = yolox_project(&shared, "yolox-nano", "voc100", "data/voc100/images/*.jpg");
    let p = d.path();
    let (code, out, err) = run(adasval()
        .current_dir(p)
        .arg("validate")
        .arg("--data-root")
        .arg(&shared)
        .args(["--warmup", "1"]));
    assert_eq!(code, 0, "{out}{err}");
    let run_dir = p.join(out.trim());
    let metrics: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("metrics.json")).unwrap()).unwrap();
    let (mut tp, mut fp, mut fn_) = (0.0, 0.0, 0.0);
    for c in metrics["traces"][0]["detection"]["per_class"]
        .as_array()
        .unwrap()
    {
        if c["class"] != "person" && c["class"] != "car" {
            continue;
        }
        let at = c["at"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["iou_threshold"] == 0.5)
            .unwrap();
        tp += at["tp"].as_f64().unwrap();
        fp += at["fp"].as_f64().unwrap();
        fn_ += at["fn"].as_f64().unwrap();
    }
    let recall = tp / (tp + fn_);
    let precision = tp / (tp + fp);
    eprintln!("adasval: TP {tp} FP {fp} FN {fn_}: recall {recall:.3} precision {precision:.3}");
    assert!(
        tp + fn_ > 80.0,
        "expected the ~88 non-difficult person and car boxes, got {}",
        tp + fn_
    );
    assert!(recall >= MIN_RECALL, "recall {recall:.3} < {MIN_RECALL}");
    assert!(
        precision >= MIN_PRECISION,
        "precision {precision:.3} < {MIN_PRECISION}"
    );

    if let Some(py) = python_with(&["onnxruntime", "numpy", "PIL"]) {
        let o = std::process::Command::new(py)
            .arg(repo_root().join("tests/py/yolox_ort_voc.py"))
            .arg(&shared)
            .arg("0.3")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let (rr, rp) = (
            r["recall"].as_f64().unwrap(),
            r["precision"].as_f64().unwrap(),
        );
        eprintln!("onnxruntime reference: recall {rr:.3} precision {rp:.3}");
        assert!(
            (recall - rr).abs() <= 0.03,
            "recall {recall:.3} vs onnxruntime {rr:.3}"
        );
        assert!(
            (precision - rp).abs() <= 0.03,
            "precision {precision:.3} vs onnxruntime {rp:.3}"
        );
    }
}
