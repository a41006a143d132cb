//! Farm validation: `validate --shard K/N`, `shard list|plan` and `merge`. The shards of a
//! reduced demo work list, merged, give the same detections, detection metrics and
//! non-timing verdicts as one unsharded run of the same list; shards that do not belong
//! together, a tampered or unsealed shard and missing or duplicated items are refused
//! with the exit class and the names the issue asks for.

use crate::common;
use common::*;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The reduced work list: every demo scenario and both engines, a few frames each.
pub const REDUCED: &[&str] = &["--max-frames", "4", "--repetitions", "1", "--warmup", "1"];

pub fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    if d.exists() {
        std::fs::remove_dir_all(&d).unwrap();
    }
    d
}

/// `validate` with the reduced list into `out`, plus `extra` flags; (code, stdout, stderr).
pub fn validate(out: &Path, extra: &[&str]) -> (i32, String, String) {
    run(adasval()
        .current_dir(repo_root())
        .args(["validate", "-q"])
        .args(REDUCED)
        .args(extra)
        .arg("--out")
        .arg(out))
}

/// One unsharded run and its four shards, shared by the tests here.
pub struct Runs {
    pub full: PathBuf,
    pub shards: Vec<PathBuf>,
}

pub fn runs() -> &'static Runs {
    static RUNS: std::sync::OnceLock<Runs> = std::sync::OnceLock::new();
    RUNS.get_or_init(|| {
        let base = scratch("farm-runs");
        let full = base.join("full");
        let (code, o, e) = validate(&full, &[]);
        assert!(code == 0 || code == 1, "unsharded validate: {code}: {o}{e}");
        let shards: Vec<PathBuf> = (1..=4)
            .map(|k| {
                let d = base.join(format!("shard-{k}"));
                let (code, o, e) = validate(&d, &["--shard", &format!("{k}/4")]);
                assert_eq!(code, 0, "shard {k}/4: {o}{e}");
                d
            })
            .collect();
        Runs { full, shards }
    })
}

pub fn merge(shards: &[&Path], out: &Path, extra: &[&str]) -> (i32, String, String) {
    run(adasval()
        .current_dir(repo_root())
        .args(["merge", "-q"])
        .args(shards)
        .arg("--out")
        .arg(out)
        .args(extra))
}

pub fn json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Detections keyed by (engine, scenario, frame): boxes, scores, classes and output hashes.
pub fn detections(dir: &Path) -> BTreeMap<(String, String, u64), serde_json::Value> {
    std::fs::read_to_string(dir.join("detections.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                (
                    v["engine"].as_str().unwrap().to_string(),
                    v["scenario"].as_str().unwrap().to_string(),
                    v["frame"].as_u64().unwrap(),
                ),
                v,
            )
        })
        .collect()
}

/// The detection metrics of each trace (timing-dependent `deadline_recall` left out).
fn detection_metrics(dir: &Path) -> BTreeMap<(String, String), serde_json::Value> {
    let m = json(&dir.join("metrics.json"));
    m["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                (
                    t["engine"].as_str().unwrap().to_string(),
                    t["scenario"].as_str().unwrap().to_string(),
                ),
                serde_json::json!([t["detection"], t["critical_misses"]]),
            )
        })
        .collect()
}

/// Verdicts of the requirements that do not depend on timing: verdict, counts and the
/// deciding instance.
fn non_timing_verdicts(dir: &Path) -> BTreeMap<String, serde_json::Value> {
    let s = json(&dir.join("summary.json"));
    s["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] != "timing")
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                serde_json::json!([
                    r["verdict"],
                    r["instances_pass"],
                    r["instances_fail"],
                    r["worst"]
                ]),
            )
        })
        .collect()
}

/// What a merged run must share with the unsharded run of the same work list.
pub fn assert_same_non_timing_results(full: &Path, merged: &Path) {
    let (a, b) = (detections(full), detections(merged));
    assert!(!a.is_empty(), "the unsharded run has no detections");
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    assert_eq!(a, b, "detections differ");
    assert_eq!(detection_metrics(full), detection_metrics(merged));
    assert_eq!(
        json(&full.join("metrics.json"))["consistency"],
        json(&merged.join("metrics.json"))["consistency"]
    );
    let (va, vb) = (non_timing_verdicts(full), non_timing_verdicts(merged));
    assert!(va.len() >= 3, "too few non-timing requirements: {va:?}");
    assert_eq!(va, vb, "non-timing verdicts differ");
    assert_eq!(
        std::fs::read(full.join("golden.jsonl")).unwrap(),
        std::fs::read(merged.join("golden.jsonl")).unwrap()
    );
}

#[test]
fn merged_shards_equal_the_unsharded_run_and_every_reader_accepts_them() {
    let r = runs();
    let out = scratch("farm-merged");
    let shards: Vec<&Path> = r.shards.iter().map(PathBuf::as_path).collect();
    let (code, o, e) = merge(&shards, &out, &[]);
    let (full_gate, ..) = run(adasval().current_dir(repo_root()).arg("gate").arg(&r.full));
    assert_eq!(code, full_gate, "merge: {o}{e}");
    assert_same_non_timing_results(&r.full, &out);
    // One trace per item, each with the shard and board that ran it.
    let run_json = json(&out.join("run.json"));
    assert_eq!(
        run_json["traces"].as_array().unwrap().len(),
        json(&r.full.join("run.json"))["traces"]
            .as_array()
            .unwrap()
            .len()
    );
    for t in run_json["settings"]["effective"]["traces"]
        .as_array()
        .unwrap()
    {
        assert!(t["shard"].as_str().unwrap().ends_with("/4"), "{t}");
        assert!(t["board"]["hostname"].is_string(), "{t}");
        assert!(t["board"]["platform"].is_string(), "{t}");
    }
    // The merged run.json is a run record as the schema states it.
    if let Some(py) = python_with(&["jsonschema"]) {
        let check = "import json, sys, jsonschema; jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))";
        let (c, o, e) = run(std::process::Command::new(py)
            .args(["-c", check])
            .arg(out.join("run.json"))
            .arg(repo_root().join("docs/schema/run.schema.json")));
        assert_eq!(c, 0, "merged run.json against run.schema.json: {o}{e}");
    }
    let farm = json(&out.join("farm.json"));
    assert_eq!(farm["shards"].as_array().unwrap().len(), 4);
    // Each shard's own seal still verifies inside the merged bundle, and the bundle's.
    for k in 1..=4 {
        let kept = out.join(format!("shards/{k}-of-4"));
        let (c, o, e) = run(adasval()
            .current_dir(repo_root())
            .args(["evidence", "verify"])
            .arg(&kept));
        assert_eq!(c, 0, "{}: {o}{e}", kept.display());
    }
    for args in [
        vec!["evidence", "verify"],
        vec!["gate"],
        vec!["wcet"],
        vec!["judge"],
    ] {
        let (c, o, e) = run(adasval().current_dir(repo_root()).args(&args).arg(&out));
        if args == ["judge"] {
            // A sealed run is never judged in place.
            assert_eq!(c, 2, "{o}{e}");
            assert!(e.contains("is sealed"), "{e}");
        } else {
            assert!(c == 0 || c == 1, "{args:?}: {c}: {o}{e}");
        }
    }
    for cmd in ["compare", "matrix"] {
        let (c, o, e) = run(adasval()
            .current_dir(repo_root())
            .arg(cmd)
            .arg(&r.full)
            .arg(&out));
        assert!(c == 0 || c == 1, "{cmd}: {c}: {o}{e}");
    }
    let (c, o, e) = run(adasval()
        .current_dir(repo_root())
        .args(["diff", "--baseline"])
        .arg(&r.full)
        .arg("--candidate")
        .arg(&out));
    assert!(c != 3 && c != 101, "diff: {c}: {o}{e}");
}

#[test]
fn shard_list_covers_the_work_list_once_and_matches_what_a_shard_runs() {
    let r = runs();
    let mut all = Vec::new();
    for (k, dir) in r.shards.iter().enumerate() {
        let (c, o, e) = run(adasval().current_dir(repo_root()).args([
            "shard",
            "list",
            "--shard",
            &format!("{}/4", k + 1),
            "--format",
            "json",
        ]));
        assert_eq!(c, 0, "{e}");
        let listed = serde_json::from_str::<serde_json::Value>(&o).unwrap();
        let ids: Vec<String> = listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                format!(
                    "{}/{}",
                    i["engine"].as_str().unwrap(),
                    i["scenario"].as_str().unwrap()
                )
            })
            .collect();
        let shard = json(&dir.join("shard.json"));
        let ran: Vec<String> = json(&dir.join("run.json"))["traces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                format!(
                    "{}/{}",
                    t["engine"].as_str().unwrap(),
                    t["scenario"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(ids, ran, "shard {}: listed vs ran", k + 1);
        assert_eq!(shard["work_list_sha256"], listed["work_list_sha256"]);
        for f in ["lock_sha256", "requirements_sha256", "adasval_version"] {
            assert!(shard[f].is_string(), "{f}: {shard}");
        }
        all.extend(ids);
    }
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), n, "an item is in two shards");
    let full = json(&r.full.join("run.json"))["traces"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(n, full, "the shards do not cover the work list");
    for bad in ["0/4", "5/4", "1/0", "two/4"] {
        let (c, _, e) = run(adasval()
            .current_dir(repo_root())
            .args(["shard", "list", "--shard", bad]));
        assert_eq!(c, 2, "{bad}: {e}");
        let (c, _, e) = run(adasval()
            .current_dir(repo_root())
            .args(["validate", "--shard", bad, "--out"])
            .arg(scratch("farm-badk")));
        assert_eq!(c, 2, "{bad}: {e}");
        assert!(e.contains(bad), "{e}");
    }
}

#[test]
fn missing_duplicated_tampered_and_foreign_shards_are_refused() {
    let r = runs();
    let s: Vec<&Path> = r.shards.iter().map(PathBuf::as_path).collect();
    // A missing shard: exit 1 listing each of its items.
    let (c, _, e) = merge(&s[..3], &scratch("farm-m1"), &[]);
    assert_eq!(c, 1, "{e}");
    let missing = json(&r.shards[3].join("shard.json"))["items"].clone();
    for id in missing.as_array().unwrap() {
        assert!(e.contains(id.as_str().unwrap()), "{id} not named: {e}");
    }
    assert!(e.contains("missing"), "{e}");
    // A shard given twice: exit 1, duplicated items named.
    let (c, _, e) = merge(&[s[0], s[1], s[2], s[3], s[0]], &scratch("farm-m2"), &[]);
    assert_eq!(c, 1, "{e}");
    assert!(e.contains("more than once"), "{e}");
    let first = json(&r.shards[0].join("shard.json"))["items"][0].clone();
    assert!(e.contains(first.as_str().unwrap()), "{e}");

    // A tampered shard: exit 3 naming the shard and the file.
    let base = scratch("farm-tamper");
    let bad = base.join("shard-2");
    copy_dir(&r.shards[1], &bad);
    let csv = bad.join("latencies.csv");
    let mut bytes = std::fs::read(&csv).unwrap();
    let last = bytes.len() - 2;
    bytes[last] = if bytes[last] == b'1' { b'2' } else { b'1' };
    std::fs::write(&csv, bytes).unwrap();
    let (c, _, e) = merge(&[s[0], &bad, s[2], s[3]], &base.join("out"), &[]);
    assert_eq!(c, 3, "{e}");
    assert!(
        e.contains(&bad.display().to_string()) && e.contains("latencies.csv"),
        "{e}"
    );

    // A shard that died before sealing: exit 3 saying to re-run it; re-run alone into a
    // fresh directory, it merges.
    let dead = base.join("shard-3-dead");
    copy_dir(&r.shards[2], &dead);
    std::fs::remove_file(dead.join("MANIFEST.sha256")).unwrap();
    let (c, _, e) = merge(&[s[0], s[1], &dead, s[3]], &base.join("out2"), &[]);
    assert_eq!(c, 3, "{e}");
    assert!(e.contains("re-run it alone"), "{e}");
    let rerun = base.join("shard-3-rerun");
    let (c, o, e) = validate(&rerun, &["--shard", "3/4"]);
    assert_eq!(c, 0, "{o}{e}");
    let (c, o, e) = merge(
        &[s[0], s[1], &rerun, s[3]],
        &base.join("out3"),
        &["--no-judge"],
    );
    assert_eq!(c, 0, "{o}{e}");

    // Shards of other settings or another platform profile: exit 2 naming the field and
    // both values.
    let other = base.join("shard-4-seed2");
    let (c, o, e) = validate(&other, &["--shard", "4/4", "--seed", "2"]);
    assert_eq!(c, 0, "{o}{e}");
    let (c, _, e) = merge(&[s[0], s[1], s[2], &other], &base.join("out4"), &[]);
    assert_eq!(c, 2, "{e}");
    assert!(
        e.contains("replay_settings") && e.contains("\"seed\":2") && e.contains("\"seed\":1"),
        "{e}"
    );
    let nx = base.join("shard-4-nx");
    let (c, o, e) = validate(&nx, &["--shard", "4/4", "--platform", "jetson-xavier-nx"]);
    assert_eq!(c, 0, "{o}{e}");
    // A shard of a platform `--platform` does not name: exit 2 with both; without
    // `--platform` each platform is merged on its own, and the stray shard leaves its
    // platform's work list uncovered (exit 1 naming the platform and the missing items).
    let (c, _, e) = merge(
        &[s[0], s[1], s[2], &nx],
        &base.join("out5"),
        &["--platform", "x86-cpu"],
    );
    assert_eq!(c, 2, "{e}");
    assert!(
        e.contains("platform") && e.contains("jetson-xavier-nx") && e.contains("x86-cpu"),
        "{e}"
    );
    let (c, _, e) = merge(&[s[0], s[1], s[2], &nx], &base.join("out5b"), &[]);
    assert_eq!(c, 1, "{e}");
    assert!(
        e.contains("platform `jetson-xavier-nx`") && e.contains("missing"),
        "{e}"
    );
    // Different requirements than the ones the shards recorded: exit 2.
    let reqs = base.join("other-requirements.yaml");
    let mut text =
        std::fs::read_to_string(repo_root().join("safety-case/requirements.yaml")).unwrap();
    text.push_str("\n# edited\n");
    std::fs::write(&reqs, text).unwrap();
    let (c, _, e) = merge(
        &s,
        &base.join("out6"),
        &["--requirements", reqs.to_str().unwrap()],
    );
    assert_eq!(c, 2, "{e}");
    assert!(e.contains("requirements_sha256"), "{e}");
}

#[test]
fn a_cost_balanced_plan_covers_every_item_once() {
    let r = runs();
    let plan = scratch("farm-plan").with_extension("json");
    let (c, o, e) = run(adasval()
        .current_dir(repo_root())
        .args(["shard", "plan"])
        .arg(&r.full)
        .args(["--shards", "3", "--out"])
        .arg(&plan));
    assert_eq!(c, 0, "{o}{e}");
    let p = json(&plan);
    let mut seen = Vec::new();
    let mut costs = Vec::new();
    for k in 1..=3 {
        let (c, o, e) = run(adasval().current_dir(repo_root()).args([
            "shard",
            "list",
            "--shard",
            &format!("{k}/3"),
            "--shard-plan",
            plan.to_str().unwrap(),
        ]));
        assert_eq!(c, 0, "{e}");
        let ids: Vec<String> = o.lines().map(str::to_string).collect();
        costs.push(
            ids.iter()
                .map(|i| p["cost_ns"][i].as_u64().unwrap())
                .sum::<u64>(),
        );
        seen.extend(ids);
    }
    let n = seen.len();
    seen.sort();
    seen.dedup();
    assert_eq!(n, seen.len());
    assert_eq!(n, p["assignment"].as_object().unwrap().len());
    // Greedy balancing: no shard exceeds the ideal share by more than the costliest item.
    let total: u64 = costs.iter().sum();
    let biggest = p["cost_ns"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .max()
        .unwrap();
    for c in &costs {
        assert!(*c <= total / 3 + biggest, "{costs:?}");
    }
    // A plan for another shard count is refused.
    let (c, _, e) = run(adasval().current_dir(repo_root()).args([
        "shard",
        "list",
        "--shard",
        "1/4",
        "--shard-plan",
        plan.to_str().unwrap(),
    ]));
    assert_eq!(c, 2, "{e}");
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}
