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

/// `eval --kitti`: a label folder and a result folder of the same file names.
fn kitti_dirs(gt: &[(&str, &str)], dt: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (sub, files) in [("gt", gt), ("dt", dt)] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(sub).join(name), text).unwrap();
        }
    }
    dir
}

fn eval_kitti(dir: &tempfile::TempDir, extra: &[&str]) -> (i32, String, String) {
    common::run(
        common::adasval()
            .args(["eval", "--kitti", "--gt"])
            .arg(dir.path().join("gt"))
            .arg("--dt")
            .arg(dir.path().join("dt"))
            .args(extra),
    )
}

const KITTI_GT: &str = "Car 0.00 0 -10 0 0 100 50 -1 -1 -1 -1000 -1000 -1000 -10\n\
Van 0.00 0 -10 600 0 700 60 -1 -1 -1 -1000 -1000 -1000 -10\n\
DontCare -1 -1 -10 800 0 900 100 -1 -1 -1 -1000 -1000 -1000 -10\n";
const KITTI_DT: &str = "Car -1 -1 -10 0 0 100 50 -1 -1 -1 -1000 -1000 -1000 -10 0.9\n\
Car -1 -1 -10 600 0 700 60 -1 -1 -1 -1000 -1000 -1000 -10 0.8\n\
Car -1 -1 -10 810 10 910 90 -1 -1 -1 -1000 -1000 -1000 -10 0.7\n";

#[test]
fn kitti_eval_reports_levels_with_the_rules_in_json_and_text() {
    let dir = kitti_dirs(&[("000000.txt", KITTI_GT)], &[("000000.txt", KITTI_DT)]);
    let (code, out, err) = eval_kitti(&dir, &["--format", "json", "--class", "car"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).expect("JSON");
    let levels = v["classes"][0]["levels"].as_array().expect("levels");
    assert_eq!(levels.len(), 3);
    // One car found; the detection on the Van and the one inside DontCare count for nothing.
    let c = &levels[0]["counts"];
    assert_eq!(
        (
            &c["tp"],
            &c["fp"],
            &c["fn"],
            &c["ignored_matches"],
            &c["in_dont_care"]
        ),
        (&1.into(), &0.into(), &0.into(), &1.into(), &1.into()),
        "{v}"
    );
    // Precision 1 at the first of the 11 recall points only (serde_json's parser rounds).
    assert!((levels[0]["ap11"].as_f64().unwrap() - 1.0 / 11.0).abs() < 1e-12);
    assert!(v["rules"].as_str().unwrap().contains("DontCare"), "{v}");
    let (code, text, _) = eval_kitti(&dir, &[]);
    assert_eq!(code, 0);
    assert!(text.contains("rules: KITTI devkit"), "{text}");
    // No pedestrian: n/a, not 0 and not a sentinel.
    let ped = text.lines().find(|l| l.starts_with("Pedestrian")).unwrap();
    assert!(ped.contains("n/a") && !ped.contains("-1"), "{ped}");
}

#[test]
fn kitti_bad_input_names_file_line_frames_and_classes() {
    let dir = kitti_dirs(
        &[("000000.txt", KITTI_GT), ("000001.txt", KITTI_GT)],
        &[("000000.txt", KITTI_DT)],
    );
    let (code, _, err) = eval_kitti(&dir, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("000001.txt") && err.contains("no result file"),
        "{err}"
    );
    let dir = kitti_dirs(
        &[("000000.txt", KITTI_GT)],
        &[(
            "000000.txt",
            "Car 0 0 -10 0 0 100 50 -1 -1 -1 -1000 -1000 -1000 -10\n",
        )],
    );
    let (code, _, err) = eval_kitti(&dir, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("line 1") && err.contains("score"), "{err}");
    let dir = kitti_dirs(
        &[("000000.txt", "Car 0 7 0 0 0 1 1 1 1 1 1 1 1 1\n")],
        &[("000000.txt", "")],
    );
    let (code, _, err) = eval_kitti(&dir, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("000000.txt: line 1: field 3 (occluded)"),
        "{err}"
    );
    let dir = kitti_dirs(&[("000000.txt", KITTI_GT)], &[("000000.txt", KITTI_DT)]);
    let (code, _, err) = eval_kitti(&dir, &["--class", "Bus"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("unknown KITTI class `Bus`") && err.contains("Person_sitting"),
        "{err}"
    );
}
