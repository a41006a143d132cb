//! Farm merges across platforms and units: shards of two platform profiles merge into one
//! bundle that keeps a run directory per platform (each read by every consumer, the bundle
//! itself refused with the per-platform directories named); the WCET of a merged run names
//! the units behind each trace; several units of one platform are pooled only with
//! `--pool-units` and only when the Kruskal–Wallis test finds no difference.

use crate::common;
use crate::farm::{copy_dir, detections, json, merge, runs, scratch, validate};
use common::*;

use std::path::{Path, PathBuf};

/// A copy of `shard` as another unit would have produced it: its board's serial set to
/// `serial`, `edit` applied to `latencies.csv`, sealed again.
fn as_unit(shard: &Path, to: &Path, serial: &str, edit: impl Fn(&str) -> String) {
    copy_dir(shard, to);
    for f in ["MANIFEST.sha256", "MANIFEST.sha256.sig"] {
        let _ = std::fs::remove_file(to.join(f));
    }
    let mut rec = json(&to.join("shard.json"));
    rec["board"]["serial"] = serde_json::json!(serial);
    rec["board"]["serial_source"] = serde_json::json!("ADASVAL_BOARD_SERIAL");
    std::fs::write(to.join("shard.json"), rec.to_string()).unwrap();
    let csv = to.join("latencies.csv");
    std::fs::write(&csv, edit(&std::fs::read_to_string(&csv).unwrap())).unwrap();
    let (c, o, e) = run(adasval()
        .current_dir(repo_root())
        .args(["evidence", "seal"])
        .arg(to));
    assert_eq!(c, 0, "{o}{e}");
}

/// Every row's `infer_ns` and `total_ns` moved up by `ns`.
fn slower(ns: u64) -> impl Fn(&str) -> String {
    move |text: &str| {
        let mut lines = text.lines();
        let header = lines.next().unwrap().to_string();
        let cols: Vec<&str> = header.split(',').collect();
        let at = |name: &str| cols.iter().position(|c| *c == name).unwrap();
        let (infer, total) = (at("infer_ns"), at("total_ns"));
        let mut out = header.clone() + "\n";
        for l in lines {
            let mut f: Vec<String> = l.split(',').map(str::to_string).collect();
            for i in [infer, total] {
                f[i] = (f[i].parse::<u64>().unwrap() + ns).to_string();
            }
            out += &(f.join(",") + "\n");
        }
        out
    }
}

#[test]
fn shards_of_two_platforms_merge_into_one_bundle_kept_apart_per_platform() {
    let r = runs();
    let base = scratch("farm-platforms");
    let nx: Vec<PathBuf> = (1..=2)
        .map(|k| {
            let d = base.join(format!("nx-{k}"));
            let (c, o, e) = validate(
                &d,
                &[
                    "--shard",
                    &format!("{k}/2"),
                    "--platform",
                    "jetson-xavier-nx",
                ],
            );
            assert_eq!(c, 0, "{o}{e}");
            d
        })
        .collect();
    let mut all: Vec<&Path> = r.shards.iter().map(PathBuf::as_path).collect();
    all.extend(nx.iter().map(PathBuf::as_path));
    let out = base.join("bundle");
    let (c, o, e) = merge(&all, &out, &[]);
    assert!(c == 0 || c == 1, "{c}: {o}{e}");
    let index = json(&out.join("farm.json"));
    let platforms: Vec<(String, String, u64)> = index["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["platform"].as_str().unwrap().to_string(),
                p["run_dir"].as_str().unwrap().to_string(),
                p["shards"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        platforms,
        vec![
            ("jetson-xavier-nx".into(), "jetson-xavier-nx".into(), 2),
            ("x86-cpu".into(), "x86-cpu".into(), 4)
        ]
    );
    let full_traces = json(&r.full.join("run.json"))["traces"]
        .as_array()
        .unwrap()
        .len();
    for (platform, dir, _) in &platforms {
        let run_dir = out.join(dir);
        let rec = json(&run_dir.join("run.json"));
        assert_eq!(rec["platform"]["name"], platform.as_str());
        assert_eq!(rec["traces"].as_array().unwrap().len(), full_traces);
        assert_eq!(detections(&r.full), detections(&run_dir), "{platform}");
        // WCET per (engine, scenario, platform), each naming the unit that measured it.
        let wcet = json(&run_dir.join("wcet.json"));
        let analyses = wcet["analyses"].as_array().unwrap();
        assert!(!analyses.is_empty());
        for a in analyses {
            assert_eq!(a["platform"], platform.as_str(), "{a}");
            let units = a["units"].as_array().unwrap();
            assert_eq!(units.len(), 1, "{a}");
            assert_eq!(units[0]["platform"], platform.as_str());
            assert_eq!(units[0]["samples"], a["n"]);
        }
        // Every consumer reads a platform's run directory as any run.
        for args in [vec!["evidence", "verify"], vec!["gate"], vec!["wcet"]] {
            let (c, o, e) = run(adasval().current_dir(repo_root()).args(&args).arg(&run_dir));
            assert!(c == 0 || c == 1, "{args:?} {platform}: {c}: {o}{e}");
        }
    }
    // The two platforms side by side, and the bundle sealed as a whole.
    let (c, o, e) = run(adasval()
        .current_dir(repo_root())
        .arg("compare")
        .arg(out.join("x86-cpu"))
        .arg(out.join("jetson-xavier-nx")));
    assert!(c == 0 || c == 1, "compare: {c}: {o}{e}");
    let (c, o, e) = run(adasval()
        .current_dir(repo_root())
        .args(["evidence", "verify"])
        .arg(&out));
    assert_eq!(c, 0, "{o}{e}");
    // The bundle is not a run: each reader says which directories to give instead.
    let full = r.full.to_str().unwrap();
    for args in [
        vec!["gate"],
        vec!["wcet"],
        vec!["matrix", full],
        vec!["compare", full],
        vec!["diff", "--baseline", full, "--candidate"],
    ] {
        let (c, o, e) = run(adasval().current_dir(repo_root()).args(&args).arg(&out));
        assert_eq!(c, 2, "{args:?}: {o}{e}");
        assert!(
            e.contains("multi-platform")
                && e.contains(&out.join("x86-cpu").display().to_string())
                && e.contains(&out.join("jetson-xavier-nx").display().to_string()),
            "{args:?}: {e}"
        );
    }
    // Shards of another lock are still refused across platforms: exit 2 with both values.
    let other = base.join("nx-2-other-lock");
    copy_dir(&nx[1], &other);
    std::fs::remove_file(other.join("MANIFEST.sha256")).unwrap();
    let mut rec = json(&other.join("shard.json"));
    let lock = rec["lock_sha256"].as_str().unwrap().to_string();
    rec["lock_sha256"] = serde_json::json!("0".repeat(64));
    std::fs::write(other.join("shard.json"), rec.to_string()).unwrap();
    let (c, o, e) = run(adasval()
        .current_dir(repo_root())
        .args(["evidence", "seal"])
        .arg(&other));
    assert_eq!(c, 0, "{o}{e}");
    let mut mixed: Vec<&Path> = r.shards.iter().map(PathBuf::as_path).collect();
    mixed.extend([nx[0].as_path(), other.as_path()]);
    let (c, _, e) = merge(&mixed, &base.join("bad-lock"), &[]);
    assert_eq!(c, 2, "{e}");
    assert!(
        e.contains("lock_sha256") && e.contains(&lock) && e.contains(&"0".repeat(64)),
        "{e}"
    );
}

#[test]
fn units_of_one_platform_are_pooled_only_on_request_and_only_when_homogeneous() {
    let r = runs();
    let base = scratch("farm-units");
    // Unit B measured exactly what unit A did; unit C is 50 ms slower on every frame.
    let (mut b, mut c_dirs) = (Vec::new(), Vec::new());
    for (k, s) in r.shards.iter().enumerate() {
        let d = base.join(format!("b-{k}"));
        as_unit(s, &d, "unit-b", |t| t.to_string());
        b.push(d);
        let d = base.join(format!("c-{k}"));
        as_unit(s, &d, "unit-c", slower(50_000_000));
        c_dirs.push(d);
    }
    let a: Vec<&Path> = r.shards.iter().map(PathBuf::as_path).collect();
    fn with<'a>(a: &[&'a Path], other: &'a [PathBuf]) -> Vec<&'a Path> {
        a.iter()
            .copied()
            .chain(other.iter().map(PathBuf::as_path))
            .collect()
    }
    // Never pooled silently: exit 1 saying how to pool or keep the units apart.
    let (c, _, e) = merge(&with(&a, &b), &base.join("refused"), &[]);
    assert_eq!(c, 1, "{e}");
    assert!(
        e.contains("several units") && e.contains("--pool-units") && e.contains("unit-b"),
        "{e}"
    );
    // Homogeneous units pool: one trace per item from both, the test recorded.
    let out = base.join("pooled");
    let (c, o, e) = merge(&with(&a, &b), &out, &["--pool-units"]);
    assert!(c == 0 || c == 1, "{c}: {o}{e}");
    assert_eq!(detections(&r.full), detections(&out));
    let full = json(&r.full.join("run.json"));
    let merged = json(&out.join("run.json"));
    let full_n: u64 = full["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["samples"].as_u64().unwrap())
        .sum();
    let merged_n: u64 = merged["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["samples"].as_u64().unwrap())
        .sum();
    assert_eq!(merged_n, 2 * full_n);
    let wcet = json(&out.join("wcet.json"));
    for a in wcet["analyses"].as_array().unwrap() {
        let serials: Vec<&serde_json::Value> = a["units"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| &u["serial"])
            .collect();
        assert_eq!(serials.len(), 2, "{a}");
        assert!(serials.contains(&&serde_json::json!("unit-b")), "{a}");
        assert_eq!(a["pooling"]["test"], "kruskal-wallis", "{a}");
        assert!(a["pooling"]["p_value"].as_f64().unwrap() >= 0.05, "{a}");
    }
    let (c, o, e) = run(adasval()
        .current_dir(repo_root())
        .args(["wcet", "--format", "text"])
        .arg(&out));
    assert_eq!(c, 0, "{e}");
    assert!(
        o.contains("serial unit-b") && o.contains("Pooled after a kruskal-wallis test"),
        "{o}"
    );
    // Units that differ are refused with the statistic and p-value of each item.
    let (c, _, e) = merge(&with(&a, &c_dirs), &base.join("differ"), &["--pool-units"]);
    assert_eq!(c, 1, "{e}");
    assert!(
        e.contains("units differ")
            && e.contains("H = ")
            && e.contains("p = ")
            && e.contains("unit-c"),
        "{e}"
    );
}
