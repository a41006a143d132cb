//! The bundled Euro NCAP catalogue (issue #25) from the command line: `scenario list
//! --expand` lists every instance once with its family and parameters, `scenario check
//! --profile full` loads, renders and labels every instance, and a sweep larger than
//! `--max-instances` is refused as bad input with its size.

use crate::common;
use common::*;

#[test]
fn the_catalogue_lists_every_instance_once_and_checks_clean() {
    let root = repo_root();
    let (code, out, err) = run(adasval().args([
        "scenario",
        "list",
        "--root",
        root.to_str().unwrap(),
        "--profile",
        "full",
        "--expand",
        "--format",
        "json",
    ]));
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rows = v["scenarios"].as_array().unwrap();
    // The Euro NCAP instances: swept files of the catalogue (it also holds the full
    // corruption ladder, docs/CORRUPTIONS.md, which is not a family).
    let ncap: Vec<&serde_json::Value> = rows
        .iter()
        .filter(|r| {
            r["path"]
                .as_str()
                .unwrap()
                .starts_with("scenarios/catalogue/")
                && r["family"].is_string()
        })
        .collect();
    // docs/SCENARIOS.md: 206 instances.
    assert_eq!(ncap.len(), 206, "{}", ncap.len());
    let mut ids: Vec<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n, "duplicate instance ids");
    let cpna = ncap
        .iter()
        .find(|r| r["id"] == "cpna-25_ego30_night")
        .expect("cpna-25_ego30_night is an instance");
    assert_eq!(cpna["family"], "cpna-25");
    assert_eq!(cpna["parameters"]["ego_speed_kmh"], "30");
    assert_eq!(cpna["parameters"]["lighting"], "night");

    let (code, out, err) = run(adasval().args([
        "scenario",
        "check",
        "--root",
        root.to_str().unwrap(),
        "--profile",
        "full",
        "--format",
        "json",
    ]));
    assert_eq!(code, 0, "{out}\n{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["failures"], 0);
    assert_eq!(v["scenarios"].as_array().unwrap().len(), rows.len());
}

#[test]
fn a_sweep_over_the_limit_is_refused_with_its_size() {
    let root = repo_root();
    let (code, _, err) = run(adasval().args([
        "scenario",
        "list",
        "--root",
        root.to_str().unwrap(),
        "--profile",
        "full",
        "--max-instances",
        "10",
    ]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("instances, more than the limit of 10") && err.contains("--allow-large"),
        "{err}"
    );
    assert!(
        err.contains("scenarios/catalogue/"),
        "names the file: {err}"
    );
}

/// Naming a swept file's id replays all its instances, and the run reports detection per
/// family and per parameter value: each pooled count is the sum, recomputed here, of the
/// per-instance counts in `metrics.json`.
#[test]
fn a_family_is_selected_by_its_id_and_pooled_per_parameter_value() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("run");
    let (code, stdout, err) = run(adasval()
        .current_dir(repo_root())
        .args([
            "validate",
            "--scenario",
            "demo-cpna-25",
            "--engine",
            "demo-detector",
            "--repetitions",
            "1",
            "--warmup",
            "0",
            "--quiet",
            "--out",
        ])
        .arg(&out));
    assert!(code == 0 || code == 1, "{stdout}{err}");
    let read = |f: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(out.join(f)).unwrap()).unwrap()
    };
    let record = read("run.json");
    let instances: Vec<&serde_json::Value> =
        record["scenarios"].as_array().unwrap().iter().collect();
    assert_eq!(instances.len(), 4, "{record}");
    assert!(instances.iter().all(|s| s["family"] == "demo-cpna-25"));
    let metrics = read("metrics.json");
    // (parameter, value) → scenario ids, from the record.
    let mut members: std::collections::BTreeMap<(String, String), Vec<String>> = Default::default();
    for s in &instances {
        let id = s["id"].as_str().unwrap().to_string();
        members
            .entry((String::new(), String::new()))
            .or_default()
            .push(id.clone());
        for (k, v) in s["parameters"].as_object().unwrap() {
            members
                .entry((k.clone(), v.as_str().unwrap().to_string()))
                .or_default()
                .push(id.clone());
        }
    }
    // (scenario, class) → (tp, fn) at the first IoU threshold.
    let mut per_trace: std::collections::BTreeMap<(String, String), (u64, u64)> =
        Default::default();
    for t in metrics["traces"].as_array().unwrap() {
        for c in t["detection"]["per_class"].as_array().unwrap() {
            let at = &c["at"][0];
            per_trace.insert(
                (
                    t["scenario"].as_str().unwrap().into(),
                    c["class"].as_str().unwrap().into(),
                ),
                (at["tp"].as_u64().unwrap(), at["fn"].as_u64().unwrap()),
            );
        }
    }
    let groups = metrics["families"]["groups"].as_array().unwrap();
    assert_eq!(groups.len(), members.len(), "{groups:?}");
    let mut labelled = 0;
    for g in groups {
        let key = (
            g["parameter"].as_str().unwrap_or_default().to_string(),
            g["value"].as_str().unwrap_or_default().to_string(),
        );
        let ids = &members[&key];
        assert_eq!(g["instances"], ids.len(), "{g}");
        for c in g["classes"].as_array().unwrap() {
            let class = c["class"].as_str().unwrap();
            let (tp, fn_) = ids
                .iter()
                .filter_map(|id| per_trace.get(&(id.clone(), class.to_string())))
                .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
            assert_eq!(
                (c["tp"].as_u64().unwrap(), c["fn"].as_u64().unwrap()),
                (tp, fn_),
                "{g}"
            );
            labelled += tp + fn_;
        }
    }
    // Pedestrians were labelled, so the comparison above compared something.
    assert!(labelled > 0, "{groups:?}");
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("## Detection per family"), "{report}");
    assert!(
        report.contains("| demo-cpna-25 · lighting = night | demo-detector |"),
        "{report}"
    );
}
