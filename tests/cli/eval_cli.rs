//! `adasval eval` at the command-line edge: output shapes, exit codes and messages.

use crate::common;

use serde_json::Value;
use std::path::PathBuf;

const GT: &str = r#"{"images":[{"id":1},{"id":2}],
  "categories":[{"id":1,"name":"person"},{"id":3,"name":"car"}],
  "annotations":[
    {"id":1,"image_id":1,"category_id":1,"bbox":[10,10,50,100],"area":5000,"iscrowd":0},
    {"id":2,"image_id":2,"category_id":3,"bbox":[0,0,200,100],"area":20000,"iscrowd":0}]}"#;

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, text).expect("write");
    p
}

fn eval(gt: &PathBuf, dt: &PathBuf, format: &str) -> std::process::Output {
    common::adasval()
        .args(["eval", "--format", format, "--gt"])
        .arg(gt)
        .arg("--dt")
        .arg(dt)
        .output()
        .expect("adasval runs")
}

#[test]
fn empty_results_give_null_everywhere_never_minus_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gt = write(&dir, "gt.json", GT);
    let dt = write(&dir, "dt.json", "[]");
    let out = eval(&gt, &dt, "json");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    for k in [
        "AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl",
    ] {
        assert!(v[k].is_null(), "{k}: {}", v[k]);
    }
    let pc = v["per_class"].as_array().expect("per_class");
    assert_eq!(pc.len(), 2);
    assert_eq!(pc[1]["category_id"], 3);
    assert_eq!(pc[1]["name"], "car");
    assert!(pc[1]["AP"].is_null());
    assert!(
        v["null_means"].as_str().unwrap().contains("undefined"),
        "{v}"
    );
}

#[test]
fn perfect_detections_score_one_and_text_matches_pycocotools_layout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gt = write(&dir, "gt.json", GT);
    let dt = write(
        &dir,
        "dt.json",
        r#"[{"image_id":1,"category_id":1,"bbox":[10,10,50,100],"score":0.9},
            {"image_id":2,"category_id":3,"bbox":[0,0,200,100],"score":0.8}]"#,
    );
    let out = eval(&gt, &dt, "text");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(
        text.contains(
            " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 1.000"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            " Average Recall     (AR) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = n/a"
        ),
        "{text}"
    );
    assert!(text.contains(" n/a: undefined"), "{text}");
    assert!(!text.contains("= -1"), "{text}");
}

#[test]
fn detection_on_unknown_image_exits_2_and_names_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gt = write(&dir, "gt.json", GT);
    let dt = write(
        &dir,
        "dt.json",
        r#"[{"image_id":1,"category_id":1,"bbox":[10,10,50,100],"score":0.9},
            {"image_id":77,"category_id":1,"bbox":[10,10,50,100],"score":0.9}]"#,
    );
    let out = eval(&gt, &dt, "json");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("results[1]") && err.contains("77"), "{err}");
}

#[test]
fn unknown_category_is_ignored_with_a_warning() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gt = write(&dir, "gt.json", GT);
    let dt = write(
        &dir,
        "dt.json",
        r#"[{"image_id":1,"category_id":1,"bbox":[10,10,50,100],"score":0.9},
            {"image_id":1,"category_id":42,"bbox":[10,10,50,100],"score":0.95}]"#,
    );
    let out = eval(&gt, &dt, "json");
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("warning") && err.contains("42"), "{err}");
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let ap = v["per_class"][0]["AP"].as_f64().expect("AP");
    assert!((ap - 1.0).abs() < 1e-12, "{ap}");
}

#[test]
fn nan_score_and_negative_size_exit_2_naming_item_and_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gt = write(&dir, "gt.json", GT);
    for (text, field) in [
        (
            r#"[{"image_id":2,"category_id":1,"bbox":[1,1,5,5],"score":NaN}]"#,
            "`score`",
        ),
        (
            r#"[{"image_id":2,"category_id":1,"bbox":[1,1,-5,5],"score":0.1}]"#,
            "`bbox`",
        ),
        (
            r#"[{"image_id":2,"bbox":[1,1,5,5],"score":0.1}]"#,
            "`category_id`",
        ),
    ] {
        let dt = write(&dir, "dt.json", text);
        let out = eval(&gt, &dt, "json");
        assert_eq!(out.status.code(), Some(2), "{text}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("results[0] (image_id 2)") && err.contains(field),
            "{text}: {err}"
        );
    }
}
