//! `adasval diff` on imported trtexec runs (the real exports from the shared folder): the
//! import is sealed evidence, and a rebuilt engine whose layer changed kernel and got slower
//! shows up in the per-layer table.

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
        .all(|c| c["regression"] == false));
}
