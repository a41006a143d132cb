//! One scenario library, any vocabulary: the bundled scenarios, unedited, run with
//! YOLOX-Nano (COCO classes) through its adapter's `scenario_classes`; the scenario classes
//! it cannot detect make the requirements on them "not applicable" in every output, and the
//! requirements file's `not_applicable` policy decides the gate, from the stored run.

use crate::common;
use common::*;
use serde_json::Value;
use std::path::Path;

const MAP: &str = "scenario_classes: {pedestrian: person, car: car, truck: [truck, bus]}\n";

/// The bundled scenarios (copied byte for byte) and requirements, and YOLOX-Nano frozen
/// with the fixture adapter plus `map`.
fn project(shared: &Path, map: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    for dir in ["engines", "scenarios", "safety-case"] {
        std::fs::create_dir_all(p.join(dir)).unwrap();
    }
    for e in std::fs::read_dir(repo_root().join("scenarios")).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_some_and(|x| x == "yaml") {
            std::fs::copy(&path, p.join("scenarios").join(path.file_name().unwrap())).unwrap();
        }
    }
    std::fs::copy(
        repo_root().join("safety-case/requirements.yaml"),
        p.join("safety-case/requirements.yaml"),
    )
    .unwrap();
    std::fs::copy(
        shared.join("models/yolox_nano/yolox_nano.onnx"),
        p.join("engines/yolox_nano.onnx"),
    )
    .unwrap();
    let adapter =
        std::fs::read_to_string(repo_root().join("tests/fixtures/yolox_nano.adapter.yaml"))
            .unwrap()
            + map;
    std::fs::write(p.join("engines/yolox.adapter.yaml"), adapter).unwrap();
    d
}

fn freeze(p: &Path) -> (i32, String, String) {
    run(adasval().current_dir(p).args([
        "engine",
        "freeze",
        "engines/yolox_nano.onnx",
        "--name",
        "yolox",
        "--adapter",
        "engines/yolox.adapter.yaml",
    ]))
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Requirement id → verdict in a summary.json.
fn verdicts(summary: &Value) -> std::collections::BTreeMap<String, String> {
    summary["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn bundled_scenarios_run_with_yolox_through_its_scenario_classes() {
    let Some(shared) = shared_dir() else { return };
    let d = project(&shared, MAP);
    let p = d.path();
    let before: Vec<(String, Vec<u8>)> = std::fs::read_dir(p.join("scenarios"))
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            (path.display().to_string(), std::fs::read(&path).unwrap())
        })
        .collect();
    let (code, o, e) = freeze(p);
    assert_eq!(code, 0, "{o}{e}");
    // Every bundled scenario (two frames each, to stay within the CI budget).
    let (code, out, err) = run(adasval().current_dir(p).args([
        "validate",
        "--max-frames",
        "2",
        "--repetitions",
        "1",
        "--warmup",
        "0",
    ]));
    assert!(code == 0 || code == 1, "{out}{err}");
    let dir = p.join(out.trim());
    for (path, bytes) in &before {
        assert_eq!(&std::fs::read(path).unwrap(), bytes, "{path} was edited");
    }

    // The run judged the engine in the scenario vocabulary and says what it cannot detect.
    let record = json(&dir.join("run.json"));
    let engine = &record["engines"][0];
    assert_eq!(
        engine["classes"],
        serde_json::json!(["pedestrian", "car", "truck"])
    );
    assert_eq!(
        engine["not_detectable"],
        serde_json::json!(["cyclist", "obstacle"])
    );
    let scenarios: Vec<&str> = record["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    for id in [
        "dusk-pedestrian-group",
        "fog-cones-debris",
        "vehicle-cut-in",
        "timing-loop",
    ] {
        assert!(scenarios.contains(&id), "{id} did not run: {scenarios:?}");
    }
    // Golden cyclists and obstacles are ignore regions, never objects to find.
    let golden = std::fs::read_to_string(dir.join("golden.jsonl")).unwrap();
    let mut ignored = 0;
    for line in golden.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        for o in v["objects"].as_array().unwrap() {
            assert!(o["class_id"].as_u64().unwrap() < 3, "{o}");
            if v["scenario"] == "fog-cones-debris" {
                assert_eq!(
                    o["ignore"], true,
                    "an obstacle must be an ignore region: {o}"
                );
                ignored += 1;
            }
        }
    }
    assert!(ignored > 0, "fog-cones-debris has obstacles in view");
    // Detections too: COCO persons, cars, trucks and buses became pedestrian, car, truck
    // (class ids 0, 1, 2), and every other COCO class was dropped.
    let mut found = std::collections::BTreeSet::new();
    for line in std::fs::read_to_string(dir.join("detections.jsonl"))
        .unwrap()
        .lines()
    {
        let v: Value = serde_json::from_str(line).unwrap();
        for d in v["detections"].as_array().into_iter().flatten() {
            found.insert(d["class_id"].as_u64().unwrap());
        }
    }
    assert!(
        found.contains(&0) && found.contains(&1) && found.iter().all(|c| *c < 3),
        "detection classes {found:?}"
    );

    // Requirements on cyclists and obstacles are not applicable, and say so everywhere.
    let not_applicable = ["REQ-DET-005", "REQ-DET-006", "REQ-TTC-002"];
    let summary = json(&dir.join("summary.json"));
    let v = verdicts(&summary);
    for (id, verdict) in &v {
        let want = not_applicable.contains(&id.as_str());
        assert_eq!(verdict == "not_applicable", want, "{id}: {verdict}");
    }
    assert_eq!(summary["counts"]["not_applicable"], 3, "{summary}");
    let gated: Vec<&Value> = summary["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["verdict"] == "not_applicable")
        .collect();
    assert!(gated.iter().all(|r| r["not_applicable_policy"] == "fail"));
    if let Some(py) = python_with(&["jsonschema"]) {
        for (schema, file) in [
            ("docs/schema/summary.schema.json", "summary.json"),
            ("docs/schema/run.schema.json", "run.json"),
        ] {
            let (ok, msg) = crate::record_schema::check(&py, schema, &dir.join(file));
            assert!(ok, "{file}: {msg}");
        }
    }
    // Each requirement's row (or suite) in each output, and its verdict close after.
    for (file, row) in [
        ("summary.md", "| **ID** |"),
        ("report.html", "data-requirement=\"ID\""),
        ("junit.xml", "<testsuite name=\"ID\""),
        ("traceability.md", "| ID |"),
    ] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        for id in not_applicable {
            let anchor = row.replace("ID", id);
            let at = text
                .find(&anchor)
                .unwrap_or_else(|| panic!("{file} lacks {anchor}"));
            let near: String = text[at..].chars().take(800).collect();
            assert!(
                near.contains("not applicable"),
                "{file} does not show {id} as not applicable: {near}"
            );
        }
    }
    let junit = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    assert!(
        junit.contains("type=\"not_applicable\"") && junit.contains("cannot detect `obstacle`"),
        "{junit}"
    );
    assert!(
        err.contains("N/A (FAIL)") && err.contains("cannot detect `cyclist`"),
        "{err}"
    );
    let evidence = json(&dir.join("evidence.json"));
    let classes: Vec<&str> = evidence["not_detectable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["class"].as_str().unwrap())
        .collect();
    assert_eq!(classes, ["cyclist", "obstacle"]);

    // The gate re-reads the stored run: with the default policy a requirement the engine
    // cannot be judged on fails it; `not_applicable: pass` accepts it, still shown as such.
    let requirements = |policy: &str, own: &str| {
        let f = p.join("gate.yaml");
        std::fs::write(
            &f,
            format!(
                "schema_version: 1\n{policy}requirements:
  - id: OBST
    text: Obstacles are found.
    kind: detection
    metric: recall_lcb
    class: obstacle
    iou: 0.5
    threshold: 0.5
    scope: {{scenario_tags: [obstacle]}}{own}
  - id: CYC-TTC
    text: Bicyclists are found in time.
    kind: detection
    metric: detect_by_ttc
    class: cyclist
    detect_by_ttc: {{min_ttc_s: 1.0, k: 3, n: 4}}
    threshold: 0.15{own}
  - id: INT
    text: The engine is the frozen one.
    kind: integrity
"
            ),
        )
        .unwrap();
        f
    };
    let gate = |file: &Path| {
        run(adasval()
            .current_dir(p)
            .args(["gate", "--format", "json", "--requirements"])
            .arg(file)
            .arg(&dir))
    };
    let gated = |out: &str| -> std::collections::BTreeMap<String, (String, Value)> {
        let v: Value = serde_json::from_str(out).unwrap();
        v["outcome"]["evaluation"]["requirements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["id"].as_str().unwrap().to_string(),
                    (
                        r["verdict"].as_str().unwrap().to_string(),
                        r["not_applicable"].clone(),
                    ),
                )
            })
            .collect()
    };
    for (policy, own, code_wanted, shown) in [
        ("", "", 1, "fail"),
        ("not_applicable: fail\n", "", 1, "fail"),
        ("not_applicable: pass\n", "", 0, "pass"),
        // A requirement may set its own policy over the file's.
        (
            "not_applicable: pass\n",
            "\n    not_applicable: fail",
            1,
            "fail",
        ),
    ] {
        let (code, out, err) = gate(&requirements(policy, own));
        assert_eq!(code, code_wanted, "policy `{policy}{own}`: {out}{err}");
        let g = gated(&out);
        for id in ["OBST", "CYC-TTC"] {
            assert_eq!(
                g[id],
                ("not_applicable".to_string(), Value::from(shown)),
                "{out}"
            );
        }
        assert_eq!(g["INT"].0, "pass");
    }
}

#[test]
fn a_map_onto_no_scenario_class_and_a_label_outside_the_map_are_named() {
    let Some(shared) = shared_dir() else { return };
    // An adapter that maps onto something that is not a scenario class lists the valid ones.
    let d = project(&shared, "scenario_classes: {pedestrain: person}\n");
    let (code, _o, err) = freeze(d.path());
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("scenario_classes")
            && err.contains("`pedestrain`")
            && err.contains("pedestrian, cyclist, car, truck, obstacle"),
        "{err}"
    );
    // A model class the adapter does not have is named with the adapter's classes.
    let d = project(&shared, "scenario_classes: {car: automobile}\n");
    let (code, _o, err) = freeze(d.path());
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("`automobile`") && err.contains("person, bicycle"),
        "{err}"
    );

    // File-based labels in another vocabulary (VOC's `person`) need the scenario's
    // class_map onto the scenario classes: the error names the class, the label file and
    // line where it first occurs, and both maps in force.
    let d = yolox_project(
        &shared,
        "yolox",
        "voc",
        "data/voc100/images/2007_000027.jpg",
    );
    let p = d.path();
    let adapter = std::fs::read_to_string(p.join("engines/yolox.adapter.yaml")).unwrap() + MAP;
    rehash_adapter(p, "engines/yolox.adapter.yaml", &adapter);
    let (code, out, err) = run(adasval()
        .current_dir(p)
        .args(["scenario", "check", "--deep", "--data-root"])
        .arg(&shared));
    assert_eq!(code, 2, "{out}{err}");
    let all = format!("{out}{err}");
    assert!(
        all.contains("`person` (first at data/voc100/labels/voc_xml/2007_000027.xml line ")
            && all.contains("class_map in force: {motorbike: motorcycle}")
            && all
                .contains("scenario_classes: {pedestrian: person, car: car, truck: [truck, bus]}")
            && all.contains("cannot detect: cyclist, obstacle"),
        "{all}"
    );
}
