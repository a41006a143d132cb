//! The demo detector's headline figure (engines/demo/README.md: daylight pedestrians of at
//! least 40 px) as `adasval eval --run --slice` computes it, against the counting of the
//! training code that first produced it (`train/evaluate.py`'s `score`, run by
//! `tests/py/demo_headline_reference.py` on the run's own COCO files): a CPU run of the
//! committed engine over generated scenes; true positives, false positives and counted
//! pedestrians must be equal under both rules for unmatched detections outside the size
//! range, for daylight and for every condition.

use crate::common;

use serde_json::Value;
use std::process::Command;

#[test]
fn eval_run_counts_the_headline_as_train_evaluate_does() {
    let Some(py) = common::python_with(&["numpy"]) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let run_dir = tmp.path().join("run");
    let (code, o, e) = common::run(
        common::adasval()
            .current_dir(common::repo_root())
            .args(["-q", "validate", "--engine", "demo-detector"])
            .args(["--scenario", "demo-cpnco-50,demo-cpna-25"])
            .args(["--scenario", "demo-cpfa-50,dusk-pedestrian-group"])
            .args(["--repetitions", "1", "--warmup", "0", "--out"])
            .arg(&run_dir),
    );
    assert!(code == 0 || code == 1, "validate: {o}{e}");
    let cases = [
        ("40", "day", "ignored"),
        ("40", "day", "counted"),
        ("25", "all", "ignored"),
        ("25", "night", "counted"),
    ];
    let mut detected = 0;
    for (min_h, cond, rule) in cases {
        let slice = if cond == "all" {
            format!("{{class: pedestrian, min_height: {min_h}, outside: {rule}}}")
        } else {
            format!(
                "{{class: pedestrian, min_height: {min_h}, condition: {cond}, outside: {rule}}}"
            )
        };
        let (code, out, err) = common::run(
            common::adasval()
                .args(["eval", "--format", "json", "--run"])
                .arg(&run_dir)
                .args(["--slice", &slice]),
        );
        assert_eq!(code, 0, "{err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        let f = &v["engines"][0]["slices"][0]["all_scenarios"];
        let ours = (
            f["counts"]["tp"].as_u64().unwrap(),
            f["counts"]["fp"].as_u64().unwrap(),
            f["objects"].as_u64().unwrap(),
        );
        let r = Command::new(&py)
            .arg(common::repo_root().join("tests/py/demo_headline_reference.py"))
            .arg(common::repo_root().join("train"))
            .arg(&run_dir)
            .args([min_h, cond, if rule == "counted" { "1" } else { "0" }])
            .output()
            .expect("python runs");
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        let t: Value = serde_json::from_slice(&r.stdout).unwrap();
        let theirs = (
            t["tp"].as_u64().unwrap(),
            t["fp"].as_u64().unwrap(),
            t["gt"].as_u64().unwrap(),
        );
        assert_eq!(
            ours, theirs,
            "{slice}: (tp, fp, objects) adasval vs train/evaluate.py"
        );
        detected += ours.0;
    }
    assert!(
        detected > 20,
        "the comparison saw few true positives ({detected})"
    );
}
