//! `adasval matrix`: the compile × run table flags "the bigger platform is slower" only when
//! a one-sided Mann–Whitney test says so. Latency is injected into the no-op backend.

use crate::common;
use common::*;

fn replay(p: &std::path::Path, platform: &str, delay_us: &str) -> std::path::PathBuf {
    let (code, out, err) = run(adasval()
        .current_dir(p)
        .env("ADASVAL_NOOP_DELAY_US", delay_us)
        .args([
            "validate",
            "--backend",
            "noop",
            "--repetitions",
            "60",
            "--platform",
            platform,
        ]));
    assert!(code == 0 || code == 1, "{out}{err}");
    p.join(out.trim())
}

fn anomalies(p: &std::path::Path, a: &std::path::Path, b: &std::path::Path) -> serde_json::Value {
    let (code, out, err) = run(adasval()
        .current_dir(p)
        .arg("matrix")
        .arg(a)
        .arg(b)
        .args(["--format", "json"]));
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["cells"].as_array().unwrap().len(), 2, "{v}");
    v["anomalies"].clone()
}

#[test]
fn bigger_platform_slower_is_flagged_only_when_significant() {
    let d = noop_project();
    let p = d.path();
    std::fs::create_dir_all(p.join("platforms")).unwrap();
    for f in ["jetson-xavier-nx.yaml", "jetson-xavier-agx.yaml"] {
        std::fs::copy(
            repo_root().join("platforms").join(f),
            p.join("platforms").join(f),
        )
        .unwrap();
    }
    let (code, o, e) = run(adasval().current_dir(p).args([
        "engine",
        "freeze",
        "engines/fake.onnx",
        "--name",
        "fake",
        "--adapter",
        "engines/fake.adapter.yaml",
        "--built-on",
        "jetson-xavier-nx",
        "--replace",
    ]));
    assert_eq!(code, 0, "{o}{e}");
    // The NX-built engine is clearly slower on the (bigger) AGX: case 2.
    let nx = replay(p, "jetson-xavier-nx", "0");
    let agx_slow = replay(p, "jetson-xavier-agx", "400");
    let a = anomalies(p, &nx, &agx_slow);
    assert!(a.as_array().unwrap().iter().any(|x| x["case"] == 2), "{a}");
    // Faster on the bigger platform: no anomaly.
    let nx_slow = replay(p, "jetson-xavier-nx", "400");
    let agx = replay(p, "jetson-xavier-agx", "0");
    let a = anomalies(p, &nx_slow, &agx);
    assert!(a.as_array().unwrap().is_empty(), "{a}");
}

#[test]
fn builds_of_one_model_are_compared() {
    let d = noop_project();
    let p = d.path();
    std::fs::write(
        p.join("engines/fake-rebuild.onnx"),
        b"the same model, built again",
    )
    .unwrap();
    let (code, o, e) = run(adasval().current_dir(p).args([
        "engine",
        "freeze",
        "engines/fake-rebuild.onnx",
        "--name",
        "fake-rebuild",
        "--adapter",
        "engines/fake.adapter.yaml",
        "--source-model",
        "engines/fake.onnx",
    ]));
    assert_eq!(code, 0, "{o}{e}");
    std::fs::create_dir_all(p.join("platforms")).unwrap();
    std::fs::copy(
        repo_root().join("platforms/x86-cpu.yaml"),
        p.join("platforms/x86-cpu.yaml"),
    )
    .unwrap();
    let a = replay(p, "x86-cpu", "0");
    let b = replay(p, "x86-cpu", "0");
    let (code, out, err) = run(adasval()
        .current_dir(p)
        .arg("matrix")
        .arg(&a)
        .arg(&b)
        .args(["--format", "json"]));
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let spread = v["build_spread"].as_array().unwrap();
    assert!(
        spread.iter().any(|s| {
            let pair = [s["a"].as_str().unwrap(), s["b"].as_str().unwrap()];
            pair.iter().any(|x| x.starts_with("fake@"))
                && pair.iter().any(|x| x.starts_with("fake-rebuild@"))
        }),
        "{v}"
    );
}
