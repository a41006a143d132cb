//! Requirements that name a slice (`slice: {...}`, `outside_slice: ignore|count`): the judge
//! computes the slice's figures from the stored run (the code path of `eval --run --slice`),
//! the evidence item carries the slice, its rule and the counts, and every output that shows
//! the figure (evidence.json, summary.json, JUnit, the report's verdict table, `gate`) prints
//! the slice and the rule beside it. Counted by hand on the frames of `eval_run.rs`.

use crate::common::{adasval, noop_project, run};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Frame 0 (day): pedestrians A (50 px, found), B (30 px, found), C (60 px, missed), a car;
/// a 20 px and a 45 px pedestrian detection on nothing. Frame 1 (night): pedestrian E
/// (50 px, found).
const GOLDEN: &str = r#"{"scenario":"two-frames","frame":0,"source":"data/f0.png","width":640,"height":480,"condition":"day","objects":[{"class_id":0,"bbox":[0,0,10,50]},{"class_id":0,"bbox":[100,0,10,30]},{"class_id":0,"bbox":[200,0,10,60]},{"class_id":1,"bbox":[300,0,40,50]}]}
{"scenario":"two-frames","frame":1,"source":"data/f1.png","width":640,"height":480,"condition":"night","objects":[{"class_id":0,"bbox":[0,0,10,50]}]}
"#;
const DETECTIONS: &str = r#"{"scenario":"two-frames","engine":"fake","frame":0,"output_sha256":null,"detections":[{"class_id":0,"score":0.9,"bbox":[0,0,10,50]},{"class_id":0,"score":0.8,"bbox":[100,0,10,30]},{"class_id":0,"score":0.7,"bbox":[400,0,10,20]},{"class_id":0,"score":0.6,"bbox":[500,0,10,45]},{"class_id":1,"score":0.9,"bbox":[300,0,40,50]}]}
{"scenario":"two-frames","engine":"fake","frame":1,"output_sha256":null,"detections":[{"class_id":0,"score":0.9,"bbox":[0,0,10,50]}]}
"#;

/// Daylight pedestrians of at least 40 px: A and C count (B is 30 px); A found, C missed.
/// Under `ignore`, the 20 px stray is outside the height range and ignored, the 45 px one
/// is a false positive: tp 1, fp 1, fn 1. Under `count`, both strays are: tp 1, fp 2, fn 1.
/// Miss rate under `ignore`: ranked, A's detection (FPPI 0, miss rate 1/2), then the 45 px
/// stray (FPPI 1, miss rate 1/2): 1/2 at every reference point.
const REQUIREMENTS: &str = "schema_version: 1
requirements:
  - id: REQ-SLICE-REC
    text: Daylight pedestrians of 40 px or more are found (recall at least 0.5).
    kind: detection
    metric: recall
    threshold: 0.5
    slice: {class: pedestrian, min_height: 40, condition: day}
  - id: REQ-SLICE-PREC-COUNT
    text: Precision on daylight pedestrians, every stray counted.
    kind: detection
    metric: precision
    threshold: 0.4
    slice: {class: pedestrian, min_height: 40, condition: day}
    outside_slice: count
  - id: REQ-SLICE-PREC-IGNORE
    text: Precision on daylight pedestrians, strays outside the size range ignored.
    kind: detection
    metric: precision
    threshold: 0.4
    slice: {class: pedestrian, min_height: 40, condition: day}
    outside_slice: ignore
  - id: REQ-SLICE-LAMR
    text: Log-average miss rate on daylight pedestrians at most 0.5.
    kind: detection
    metric: lamr
    threshold: 0.5
    slice: {class: pedestrian, min_height: 40, condition: day}
  - id: REQ-SLICE-POOLED
    text: Pedestrian recall pooled over every scenario at least 0.75.
    kind: detection
    metric: recall
    threshold: 0.75
    slice: {class: pedestrian}
    over: all_scenarios
";

/// A run of the noop project reduced to its raw records, with the hand-made frames.
fn raw_run(project: &Path) -> PathBuf {
    let (code, o, e) = run(adasval().current_dir(project).args([
        "-q",
        "validate",
        "--backend",
        "noop",
        "--out",
        "validated",
    ]));
    assert!(code == 0 || code == 1, "validate: {o}{e}");
    let raw = project.join("raw");
    std::fs::create_dir_all(&raw).unwrap();
    for f in ["run.json", "latencies.csv"] {
        std::fs::copy(project.join("validated").join(f), raw.join(f)).unwrap();
    }
    std::fs::write(raw.join("golden.jsonl"), GOLDEN).unwrap();
    std::fs::write(raw.join("detections.jsonl"), DETECTIONS).unwrap();
    raw
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn slice_requirements_are_judged_on_the_slice_and_print_it_everywhere() {
    let project = noop_project();
    let p = project.path();
    let raw = raw_run(p);
    std::fs::write(p.join("req.yaml"), REQUIREMENTS).unwrap();
    let (code, o, e) = run(adasval()
        .arg("judge")
        .arg(&raw)
        .arg("--requirements")
        .arg(p.join("req.yaml"))
        .arg("--root")
        .arg(p));
    assert_eq!(code, 1, "one requirement fails: {o}{e}");

    // evidence.json: each slice figure with its slice, rule and counts.
    let ev: Value = serde_json::from_str(&read(&raw.join("evidence.json"))).unwrap();
    let item = |metric: &str, rule: &str| -> Value {
        ev["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| {
                i["metric"] == metric
                    && i["slice"]["slice"]["outside"] == rule
                    && i["slice"]["slice"]["min_height"] == 40.0
            })
            .cloned()
            .unwrap_or_else(|| panic!("no {metric} item under {rule}: {ev}"))
    };
    let counts = |i: &Value| {
        let s = &i["slice"];
        (
            s["tp"].as_u64().unwrap(),
            s["fp"].as_u64().unwrap(),
            s["fn"].as_u64().unwrap(),
            s["objects"].as_u64().unwrap(),
            s["frames"].as_u64().unwrap(),
        )
    };
    let ignored = item("precision", "ignored");
    assert_eq!(counts(&ignored), (1, 1, 1, 2, 1));
    assert_eq!(ignored["value"], 0.5);
    let counted = item("precision", "counted");
    assert_eq!(counts(&counted), (1, 2, 1, 2, 1));
    assert!((counted["value"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-12);
    assert!(
        counted["slice"]["rule"]
            .as_str()
            .unwrap()
            .contains("every unmatched detection counted as a false positive"),
        "{counted}"
    );
    assert_eq!(item("recall", "ignored")["value"], 0.5);
    assert_eq!(item("lamr", "ignored")["value"], 0.5);
    assert_eq!(item("critical_misses", "ignored")["value"], 0.0);
    // Requirements without a slice never read slice figures, nor the other way round.
    assert!(ev["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["slice"].is_null())
        .all(|i| i["metric"] != "lamr"));

    // summary.json: the verdicts, each slice requirement with its slice and rule.
    let sum: Value = serde_json::from_str(&read(&raw.join("summary.json"))).unwrap();
    let req = |id: &str| -> Value {
        sum["requirements"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} in {sum}"))
    };
    let verdict = |id: &str| req(id)["verdict"].as_str().unwrap().to_string();
    assert_eq!(verdict("REQ-SLICE-REC"), "pass");
    assert_eq!(verdict("REQ-SLICE-PREC-COUNT"), "fail");
    assert_eq!(verdict("REQ-SLICE-PREC-IGNORE"), "pass");
    assert_eq!(verdict("REQ-SLICE-LAMR"), "pass");
    // Pooled: A, B, E found, C missed: 3 of 4.
    assert_eq!(verdict("REQ-SLICE-POOLED"), "pass");
    assert_eq!(req("REQ-SLICE-POOLED")["worst"]["measured"], 0.75);
    let slice = req("REQ-SLICE-PREC-COUNT")["slice"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        slice.contains("class pedestrian, height >= 40 px, condition day")
            && slice.contains("every unmatched detection counted"),
        "{slice}"
    );
    let detail = req("REQ-SLICE-PREC-COUNT")["worst"]["detail"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        detail.contains("tp 1, fp 2, fn 1") && detail.contains("slice: class pedestrian"),
        "{detail}"
    );

    // JUnit: the failure message carries the slice and the rule.
    let junit = read(&raw.join("junit.xml"));
    assert!(
        junit.contains("every unmatched detection counted as a false positive"),
        "{junit}"
    );
    // The report's verdict table: the figure with its slice.
    let report = read(&raw.join("report.md"));
    assert!(
        report.contains("on slice: class pedestrian, height >= 40 px, condition day; every unmatched detection counted"),
        "{report}"
    );
    // The Markdown summary (a pull-request comment): the figure with its slice.
    let summary = read(&raw.join("summary.md"));
    assert!(
        summary.lines().any(|l| l.contains("REQ-SLICE-PREC-COUNT")
            && l.contains("0.3333 on slice: class pedestrian, height >= 40 px, condition day; every unmatched detection counted")),
        "{summary}"
    );
    // `gate` re-evaluates the stored evidence and prints the same.
    let (gcode, out, err) = run(adasval()
        .arg("gate")
        .arg(&raw)
        .arg("--root")
        .arg(p)
        .args(["--format", "json"]));
    assert_eq!(gcode, 1, "{out}{err}");
    assert!(
        out.contains("every unmatched detection counted as a false positive"),
        "{out}"
    );
}

#[test]
fn a_bad_slice_in_a_requirement_is_named_with_its_line_and_the_valid_fields() {
    let project = noop_project();
    let p = project.path();
    let raw = raw_run(p);
    let judge = |yaml: &str| {
        std::fs::write(p.join("bad.yaml"), yaml).unwrap();
        run(adasval()
            .arg("judge")
            .arg(&raw)
            .arg("--requirements")
            .arg(p.join("bad.yaml"))
            .arg("--root")
            .arg(p))
    };
    let head = "schema_version: 1\nrequirements:\n  - id: R\n    text: t\n    kind: detection\n    metric: recall\n    threshold: 0.5\n";
    let (code, _, err) = judge(&format!(
        "{head}    slice:\n      class: pedestrian\n      hieght: 40\n"
    ));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("bad.yaml:10") && err.contains("hieght") && err.contains("min_height"),
        "the file, line, field and the valid fields: {err}"
    );
    let (code, _, err) = judge(&format!(
        "{head}    slice: {{class: pedestrian, outside: counted}}\n    outside_slice: ignore\n"
    ));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("outside_slice") && err.contains("twice"),
        "{err}"
    );
    let (code, _, err) = judge(&format!(
        "{head}    slice: {{class: pedestrian, min_visibility: 1.5}}\n"
    ));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("min_visibility"), "{err}");
    let (code, _, err) = judge(
        "schema_version: 1\nrequirements:\n  - id: R\n    text: t\n    kind: detection\n    metric: ap\n    threshold: 0.5\n    slice: {class: pedestrian}\n    over: all_scenarios\n",
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("over") && err.contains("recall"), "{err}");
}
