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
    // docs/SCENARIOS.md: 200 instances (CPTA excluded).
    assert_eq!(ncap.len(), 200, "{}", ncap.len());
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
