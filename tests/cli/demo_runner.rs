//! The onnxruntime reference runner end to end on the bundled demo: the same frozen demo
//! engine replayed through the external-runner protocol and through the embedded CPU
//! backend gives the same decisions (`compare`: no decision flips, boxes drift < 1%).

use crate::common;
use common::*;

fn replay(out: &std::path::Path, runner: Option<&str>) {
    let mut c = adasval();
    c.current_dir(repo_root()).args([
        "validate",
        "--engine",
        "demo-detector",
        "--scenario",
        "demo-cpnco-50",
        "--max-frames",
        "15",
        "--warmup",
        "1",
        "--out",
    ]);
    c.arg(out);
    if let Some(r) = runner {
        c.args(["--backend", "runner", "--runner", r]);
    }
    let (code, o, e) = run(&mut c);
    assert!(code == 0 || code == 1, "{o}{e}");
}

#[test]
fn ort_runner_agrees_with_the_cpu_backend_on_the_demo() {
    let Some(py) = python_with(&["onnxruntime", "numpy"]) else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let (cpu, ort) = (d.path().join("cpu"), d.path().join("ort"));
    replay(&cpu, None);
    let runner = format!(
        "{py} {}",
        repo_root().join("runners/ort_runner.py").display()
    );
    replay(&ort, Some(&runner));
    let run_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ort.join("run.json")).unwrap()).unwrap();
    assert_eq!(run_json["backend"]["name"], "runner");
    let (code, out, err) = run(adasval()
        .arg("compare")
        .arg(&cpu)
        .arg(&ort)
        .arg("--out")
        .arg(d.path().join("cmp"))
        .args(["--format", "json"]));
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let p = &v["pairs"][0];
    assert_eq!(p["frames_compared"], 15);
    assert_eq!(p["decision_flips"], 0, "{p}");
    assert!(p["mean_iou"].as_f64().unwrap() > 0.99, "{p}");
}
