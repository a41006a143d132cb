//! `adasval eval --run DIR --slice '{...}'`: precision / recall per slice of a stored run,
//! counted by hand on raw records written here (two frames of the noop project's run,
//! relabelled), with the rule for unmatched detections outside the slice.

use crate::common::{adasval, noop_project, run};

use serde_json::Value;
use std::path::Path;

/// Frame 0 (day): pedestrians A (50 px, found), B (30 px, found), C (60 px, missed), a car;
/// a 20 px and a 45 px pedestrian detection on nothing. Frame 1 (`night`): pedestrian E
/// (50 px, found).
const GOLDEN: &str = r#"{"scenario":"two-frames","frame":0,"source":"data/f0.png","width":640,"height":480,"condition":"day","objects":[{"class_id":0,"bbox":[0,0,10,50]},{"class_id":0,"bbox":[100,0,10,30]},{"class_id":0,"bbox":[200,0,10,60]},{"class_id":1,"bbox":[300,0,40,50]}]}
{"scenario":"two-frames","frame":1,"source":"data/f1.png","width":640,"height":480,"condition":"CONDITION1","objects":[{"class_id":0,"bbox":[0,0,10,50]}]}
"#;
const DETECTIONS: &str = r#"{"scenario":"two-frames","engine":"fake","frame":0,"output_sha256":null,"detections":[{"class_id":0,"score":0.9,"bbox":[0,0,10,50]},{"class_id":0,"score":0.8,"bbox":[100,0,10,30]},{"class_id":0,"score":0.7,"bbox":[400,0,10,20]},{"class_id":0,"score":0.6,"bbox":[500,0,10,45]},{"class_id":1,"score":0.9,"bbox":[300,0,40,50]}]}
{"scenario":"two-frames","engine":"fake","frame":1,"output_sha256":null,"detections":[{"class_id":0,"score":0.9,"bbox":[0,0,10,50]}]}
"#;

fn run_dir(project: &Path, condition1: &str) -> std::path::PathBuf {
    let out = project.join("run");
    if !out.exists() {
        let (code, o, e) = run(adasval().current_dir(project).args([
            "-q",
            "validate",
            "--backend",
            "noop",
            "--out",
            "run",
        ]));
        assert!(code == 0 || code == 1, "validate: {o}{e}");
    }
    let golden = GOLDEN.replace("\"CONDITION1\"", condition1);
    std::fs::write(out.join("golden.jsonl"), golden).unwrap();
    std::fs::write(out.join("detections.jsonl"), DETECTIONS).unwrap();
    out
}

fn eval(dir: &Path, slices: &[&str]) -> (i32, String, String) {
    let mut cmd = adasval();
    cmd.args(["eval", "--format", "json", "--run"]).arg(dir);
    for s in slices {
        cmd.args(["--slice", s]);
    }
    run(&mut cmd)
}

/// (frames, objects, tp, fp, fn) of the engine's pooled figures for each slice.
fn counts(json: &str) -> Vec<(u64, u64, u64, u64, u64)> {
    let v: Value = serde_json::from_str(json).expect("JSON");
    v["engines"][0]["slices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let f = &s["all_scenarios"];
            let n = |v: &Value| v.as_u64().unwrap();
            (
                n(&f["frames"]),
                n(&f["objects"]),
                n(&f["counts"]["tp"]),
                n(&f["counts"]["fp"]),
                n(&f["counts"]["fn"]),
            )
        })
        .collect()
}

#[test]
fn slices_count_by_hand_under_each_rule() {
    let project = noop_project();
    let dir = run_dir(project.path(), "\"night\"");
    let (code, out, err) = eval(
        &dir,
        &[
            "{class: pedestrian, min_height: 40, condition: day}",
            "{class: pedestrian, min_height: 40, condition: day, outside: counted}",
            "{class: pedestrian}",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        counts(&out),
        vec![
            // A found, C missed; B is outside (30 px) and its detection ignored; the 20 px
            // stray is outside the height range and ignored, the 45 px one is a false positive.
            (1, 2, 1, 1, 1),
            // The same, with the 20 px stray counted.
            (1, 2, 1, 2, 1),
            // Every pedestrian of both frames: A, B, E found, C missed, both strays false.
            (2, 4, 3, 2, 1),
        ]
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    let first = &v["engines"][0]["slices"][0]["all_scenarios"];
    assert_eq!(first["counts"]["precision"], 0.5);
    assert!(
        first["slice"]
            .as_str()
            .unwrap()
            .contains("ignored (pycocotools"),
        "the rule is stated: {first}"
    );
    assert_eq!(v["engines"][0]["score_threshold"], 0.5);
    // Text: the rule is printed beside the figures.
    let (code, text, _) = run(adasval().arg("eval").arg("--run").arg(&dir).args([
        "--slice",
        "{class: pedestrian, min_height: 40, outside: counted}",
    ]));
    assert_eq!(code, 0);
    assert!(
        text.contains(
            "slice: class pedestrian, height >= 40 px; every unmatched detection counted"
        ),
        "{text}"
    );
}

#[test]
fn frames_of_unknown_condition_are_left_out_and_counted() {
    let project = noop_project();
    let dir = run_dir(project.path(), "null");
    let (code, out, err) = eval(&dir, &["{class: pedestrian, condition: night}"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let f = &v["engines"][0]["slices"][0]["all_scenarios"];
    assert_eq!(
        (&f["frames"], &f["frames_without_condition"]),
        (&0.into(), &1.into()),
        "{f}"
    );
}

#[test]
fn bad_slices_name_the_valid_fields_and_classes() {
    let project = noop_project();
    let dir = run_dir(project.path(), "\"night\"");
    let (code, _, err) = eval(&dir, &["{klass: pedestrian}"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("klass")
            && err.contains("valid fields: class, min_height, max_height, max_occlusion, min_visibility, max_visibility, max_truncation, difficulty, min_distance, max_distance, condition, outside"),
        "{err}"
    );
    let (code, _, err) = eval(&dir, &["{class: bus}"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("`bus`") && err.contains("pedestrian, car"),
        "{err}"
    );
    let (code, _, err) = eval(&dir, &["{min_height: 50, max_height: 40}"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("min_height"), "{err}");
}

#[test]
fn citypersons_subsets_of_a_stored_run_counted_by_hand() {
    let project = noop_project();
    let dir = run_dir(project.path(), "\"night\"");
    // Every object fully visible (occlusion known: 0).
    let golden = std::fs::read_to_string(dir.join("golden.jsonl"))
        .unwrap()
        .replace("\"bbox\":[", "\"occlusion\":0.0,\"bbox\":[");
    std::fs::write(dir.join("golden.jsonl"), golden).unwrap();
    let (code, out, err) = run(adasval()
        .args(["eval", "--format", "json", "--citypersons", "--run"])
        .arg(&dir));
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let subsets = v["engines"][0]["subsets"].as_array().unwrap();
    let row = |i: usize| {
        let s = &subsets[i];
        let n = |k: &str| s[k].as_u64().unwrap();
        (
            n("objects"),
            n("tp"),
            n("fp"),
            n("ignored"),
            n("filtered_out"),
            s["lamr"].as_f64(),
        )
    };
    // Reasonable (>= 50 px): A, C (frame 0) and E (frame 1) count, B (30 px) is an ignore
    // region. Kept detections (>= 40 px): A's and E's (found), the 45 px stray (false); B's
    // (30 px) and the 20 px stray are dropped. Ranked: A, E (miss rate 1/3 at FPPI 0), the
    // stray (1/3 at FPPI 0.5): LAMR 1/3.
    let third = 1.0 / 3.0;
    let (o, tp, fp, ig, filt, lamr) = row(0);
    assert_eq!((o, tp, fp, ig, filt), (3, 2, 1, 0, 2));
    assert!((lamr.unwrap() - third).abs() < 1e-12);
    // Small (50-75 px): the same objects and detections (the 45 px stray is above 40).
    let (o, tp, fp, ig, filt, lamr) = row(1);
    assert_eq!((o, tp, fp, ig, filt), (3, 2, 1, 0, 2));
    assert!((lamr.unwrap() - third).abs() < 1e-12);
    // Heavy occlusion: nobody is hidden, so no object counts and there is no miss rate;
    // A's and E's detections fall on ignore regions.
    assert_eq!((row(2).0, row(2).3, row(2).5), (0, 2, None));
    // All (>= 20 px): B counts too and its detection is kept: 3 found, both strays false.
    assert_eq!((row(3).0, row(3).1, row(3).2, row(3).4), (4, 3, 2, 0));
}

#[test]
fn eurocity_subsets_of_a_stored_run_counted_by_hand() {
    let project = noop_project();
    let dir = run_dir(project.path(), "\"night\"");
    // Every object visible and inside the image (both known), but C 50% hidden (ECP's
    // `occluded>40`); the 45 px stray detection ranked first (score 0.95).
    let golden = std::fs::read_to_string(dir.join("golden.jsonl"))
        .unwrap()
        .replace(
            "\"bbox\":[",
            "\"occlusion\":0.0,\"truncation\":0.0,\"bbox\":[",
        )
        .replace(
            "\"occlusion\":0.0,\"truncation\":0.0,\"bbox\":[200",
            "\"occlusion\":0.5,\"truncation\":0.0,\"bbox\":[200",
        );
    std::fs::write(dir.join("golden.jsonl"), golden).unwrap();
    let dets = DETECTIONS.replace("\"score\":0.6,", "\"score\":0.95,");
    std::fs::write(dir.join("detections.jsonl"), dets).unwrap();
    let (code, out, err) = run(adasval()
        .args(["eval", "--format", "json", "--eurocity", "--run"])
        .arg(&dir));
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let e = &v["engines"][0];
    assert_eq!(
        e["rider_class"],
        Value::Null,
        "the noop engine has no rider class"
    );
    let subsets = e["subsets"].as_array().unwrap();
    assert_eq!(
        subsets.len(),
        8,
        "4 subsets, riders enforced then tolerated"
    );
    let row = |i: usize| {
        let s = &subsets[i];
        let n = |k: &str| s[k].as_u64().unwrap();
        (
            n("objects"),
            n("tp"),
            n("fp"),
            n("ignored"),
            n("filtered_out"),
            s["lamr"].as_f64(),
        )
    };
    let close = |a: Option<f64>, b: f64| (a.unwrap() - b).abs() < 1e-12;
    // Reasonable (>= 40 px, < 40% hidden): A and E count; B (30 px) and C (hidden) are
    // ignore objects. Kept detections (above 40 / 1.25 = 32 px): the 45 px stray (false), A's
    // and E's (found); B's (30 px) and the 20 px stray are dropped. Ranked: the stray (FPPI
    // 0.5, MR 1), A, E (FPPI 0.5, MR 0): MR 1 at the 7 reference points below 0.5, 0 (floored
    // at 1e-10) at 10^-0.25 and 10^0: LAMR = exp(2 ln 1e-10 / 9) = 10^(-20/9).
    let (o, tp, fp, ig, filt, lamr) = row(0);
    assert_eq!((o, tp, fp, ig, filt), (2, 2, 1, 0, 2));
    assert!(close(lamr, 10f64.powf(-20.0 / 9.0)), "{lamr:?}");
    // Small (30-60 px): A, B, E count, C hidden. Kept: above 24 px and below 75: B's too,
    // the 20 px stray dropped. The same curve with B: 10^(-20/9).
    let (o, tp, fp, ig, filt, lamr) = row(1);
    assert_eq!((o, tp, fp, ig, filt), (3, 3, 1, 0, 1));
    assert!(close(lamr, 10f64.powf(-20.0 / 9.0)), "{lamr:?}");
    // Occluded (40-80% hidden): only C counts and is missed; A's and E's detections fall on
    // ignore objects; the stray is false: MR 1 everywhere.
    let (o, tp, fp, ig, filt, lamr) = row(2);
    assert_eq!((o, tp, fp, ig, filt), (1, 0, 1, 2, 2));
    assert_eq!(lamr, Some(1.0));
    // All (>= 20 px, < 80% hidden): A, B, C, E count; every detection kept (above 16 px).
    // Ranked: stray 0.95 (FPPI 0.5, MR 1), A, E, B (MR 1/4), stray 0.7 (FPPI 1, MR 1/4):
    // MR 1 at 7 points, 1/4 at two: LAMR = (1/4)^(2/9).
    let (o, tp, fp, ig, filt, lamr) = row(3);
    assert_eq!((o, tp, fp, ig, filt), (4, 3, 2, 0, 0));
    assert!(close(lamr, 0.25f64.powf(2.0 / 9.0)), "{lamr:?}");
    // Without a rider class, tolerating riders changes nothing.
    for i in 0..4 {
        assert_eq!(row(i), row(i + 4));
        assert_eq!(subsets[i + 4]["riders_tolerated"], true);
    }
    // Text: the rule in force is printed with the figures.
    let (code, text, _) = run(adasval().args(["eval", "--eurocity", "--run"]).arg(&dir));
    assert_eq!(code, 0);
    assert!(
        text.contains("rules: boxes clipped to the frame")
            && text.contains("riders are ignore objects when tolerated")
            && text.contains("reasonable  enforced")
            && text.contains("0.60%"),
        "{text}"
    );
}
