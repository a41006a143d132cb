//! `adasval diff` on imported trtexec runs (the real exports from the shared folder): the
//! import is sealed evidence, and a rebuilt engine whose layer changed kernel and got slower
//! shows up in the per-layer table. On the no-op backend: every check carries its decision
//! in the JSON output, and the exit status follows it.

use crate::common;
use common::*;

#[test]
fn kernel_choice_and_layer_time_changes_are_reported() {
    let Some(shared) = shared_dir() else { return };
    let t = shared.join("formats/trtexec");
    let d = tempfile::tempdir().unwrap();
    let base = d.path().join("base");
    let cand = d.path().join("cand");
    let times = t.join("mobilenet.qat.onnx.engine.timing.json");
    let profile = t.join("mobilenet.qat.onnx.engine.profile.json");
    let graph = t.join("mobilenet.qat.onnx.engine.graph.json");
    // Stand-ins for the two engine files (their hashes identify the builds in the record).
    let (e1, e2) = (
        d.path().join("build1.engine"),
        d.path().join("build2.engine"),
    );
    std::fs::write(&e1, b"engine build 1").unwrap();
    std::fs::write(&e2, b"engine build 2").unwrap();
    let import = |out: &std::path::Path, profile: &std::path::Path, graph: &std::path::Path| {
        let engine = if out.ends_with("base") { &e1 } else { &e2 };
        let (code, o, e) = run(adasval()
            .current_dir(repo_root())
            .args([
                "import",
                "trtexec",
                "--engine-name",
                "mobilenet",
                "--engine",
            ])
            .arg(engine)
            .arg("--times")
            .arg(&times)
            .arg("--profile")
            .arg(profile)
            .arg("--layers")
            .arg(graph)
            .arg("--out")
            .arg(out));
        assert_eq!(code, 0, "{o}{e}");
    };
    import(&base, &profile, &graph);
    assert!(base.join("MANIFEST.sha256").exists(), "imports are sealed");

    // The "rebuild": the first convolution-like layer with a tactic gets another kernel and
    // takes twice as long.
    let mut g: serde_json::Value = serde_json::from_slice(&std::fs::read(&graph).unwrap()).unwrap();
    let layer = g["Layers"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|l| {
            l["TacticValue"]
                .as_str()
                .is_some_and(|v| v != "0x0000000000000000")
        })
        .expect("a layer with a tactic");
    let name = layer["Name"].as_str().unwrap().to_string();
    layer["TacticValue"] = serde_json::json!("0x00000000deadbeef");
    if layer.get("TacticName").is_some() {
        layer["TacticName"] = serde_json::json!("another_kernel_chosen_by_the_builder");
    }
    let mut p: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&profile).unwrap()).unwrap();
    for e in p.as_array_mut().unwrap().iter_mut().skip(1) {
        if e["name"] == name.as_str() {
            for k in ["timeMs", "averageMs", "medianMs"] {
                let v = e[k].as_f64().unwrap();
                e[k] = serde_json::json!(v * 2.0);
            }
        }
    }
    let g2 = d.path().join("graph2.json");
    let p2 = d.path().join("profile2.json");
    std::fs::write(&g2, g.to_string()).unwrap();
    std::fs::write(&p2, p.to_string()).unwrap();
    import(&cand, &p2, &g2);

    let (code, out, err) = run(adasval()
        .arg("diff")
        .arg(&base)
        .arg(&cand)
        .args(["--format", "json"]));
    assert!(code == 0 || code == 1, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let layers = v["layers"].as_array().unwrap();
    assert!(layers.len() > 10, "{v}");
    let changed: Vec<&serde_json::Value> = layers
        .iter()
        .filter(|l| l["tactic_changed"] == true)
        .collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0]["name"], name.as_str());
    assert!(changed[0]["delta_ms"].as_f64().unwrap() > 0.0);
    // Identical latency traces: no latency regression.
    assert!(v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["what"].as_str().unwrap().contains("latency"))
        .all(|c| c["decision"] == "not_regressed"));
}

fn noop_replay(p: &std::path::Path, delay_us: &str) -> std::path::PathBuf {
    let (code, out, err) = run(adasval()
        .current_dir(p)
        .env("ADASVAL_NOOP_DELAY_US", delay_us)
        .args(["validate", "--backend", "noop", "--repetitions", "60"]));
    assert!(code == 0 || code == 1, "{out}{err}");
    p.join(out.trim())
}

fn diff_json(
    base: &std::path::Path,
    cand: &std::path::Path,
) -> (i32, serde_json::Value, Vec<serde_json::Value>) {
    let (code, out, err) = run(adasval()
        .arg("diff")
        .arg(base)
        .arg(cand)
        .args(["--format", "json"]));
    assert!(code == 0 || code == 1, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let checks = v["checks"].as_array().unwrap().clone();
    assert!(!checks.is_empty(), "{v}");
    for c in &checks {
        assert!(
            c["decision"] == "regressed" || c["decision"] == "not_regressed",
            "{c}"
        );
    }
    // The exit status is the overall decision, which is any check's.
    let any = checks.iter().any(|c| c["decision"] == "regressed");
    assert_eq!(
        v["decision"],
        if any { "regressed" } else { "not_regressed" },
        "{v}"
    );
    assert_eq!(code, i32::from(any), "{v}");
    (code, v, checks)
}

#[test]
fn every_check_states_its_decision_and_the_exit_status_follows() {
    let d = noop_project();
    let p = d.path();
    let base = noop_replay(p, "0");
    let slow = noop_replay(p, "1500");

    let (_, _, checks) = diff_json(&base, &base);
    assert!(
        checks.iter().all(|c| c["decision"] == "not_regressed"),
        "a run against itself: {checks:?}"
    );

    let (code, _, checks) = diff_json(&base, &slow);
    assert_eq!(code, 1);
    let p50 = checks
        .iter()
        .find(|c| c["what"] == "infer latency p50 (ms)")
        .expect("a p50 check");
    assert_eq!(p50["decision"], "regressed", "{p50}");
    let flips = checks
        .iter()
        .find(|c| c["what"] == "decision flips")
        .expect("a decision-flip check");
    assert_eq!(flips["decision"], "not_regressed", "{flips}");

    // The text report names the same decisions; an unknown format is bad input.
    let (code, md, err) = run(adasval().arg("diff").arg(&base).arg(&slow));
    assert_eq!(code, 1, "{err}");
    assert!(md.contains("| decision |"), "{md}");
    assert!(md.contains("**regressed**"), "{md}");
    assert!(md.contains("not regressed"), "{md}");
    let (code, _, err) = run(adasval()
        .arg("diff")
        .arg(&base)
        .arg(&slow)
        .args(["--format", "yaml"]));
    assert_eq!(code, 2, "{err}");
}
