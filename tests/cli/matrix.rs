//! `adasval matrix`: the compile × run table flags "the bigger platform is slower" only when
//! a one-sided Mann–Whitney test says so and the shift exceeds what two runs of one binary
//! differ by. Latency is injected into the no-op backend.

use crate::common;
use common::*;

fn replay(p: &std::path::Path, platform: &str, delay_us: &str) -> std::path::PathBuf {
    replay_engine(p, platform, delay_us, None)
}

fn replay_engine(
    p: &std::path::Path,
    platform: &str,
    delay_us: &str,
    engine: Option<&str>,
) -> std::path::PathBuf {
    let mut cmd = adasval();
    cmd.current_dir(p)
        .env("ADASVAL_NOOP_DELAY_US", delay_us)
        .args([
            "validate",
            "--backend",
            "noop",
            "--repetitions",
            "60",
            "--platform",
            platform,
        ]);
    if let Some(e) = engine {
        cmd.args(["--engine", e]);
    }
    let (code, out, err) = run(&mut cmd);
    assert!(code == 0 || code == 1, "{out}{err}");
    p.join(out.trim())
}

fn copy_platforms(p: &std::path::Path, names: &[&str]) {
    std::fs::create_dir_all(p.join("platforms")).unwrap();
    for f in names {
        std::fs::copy(
            repo_root().join("platforms").join(f),
            p.join("platforms").join(f),
        )
        .unwrap();
    }
}

fn matrix(p: &std::path::Path, runs: &[&std::path::Path], format: &str) -> String {
    let (code, out, err) = run(adasval()
        .current_dir(p)
        .arg("matrix")
        .args(runs)
        .args(["--format", format]));
    assert_eq!(code, 0, "{out}{err}");
    out
}

/// Every Markdown table header is followed by its separator and at least one row.
fn assert_no_empty_table(md: &str) {
    let lines: Vec<&str> = md.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        if l.starts_with("|---|") {
            assert!(
                lines.get(i + 1).is_some_and(|n| n.starts_with("| ")),
                "table without rows at line {}:\n{md}",
                i + 1
            );
        }
    }
}

fn anomalies(p: &std::path::Path, a: &std::path::Path, b: &std::path::Path) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(&matrix(p, &[a, b], "json")).unwrap();
    assert_eq!(v["cells"].as_array().unwrap().len(), 2, "{v}");
    // One run per cell: nothing measures the run-to-run noise.
    assert_eq!(v["noise_floor"]["pairs"], 0, "{v}");
    assert!(v["noise_floor"]["max_median_diff_ms"].is_null(), "{v}");
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
    assert!(
        a.as_array()
            .unwrap()
            .iter()
            .any(|x| x["case"] == 2 && x["decision"] == "anomaly"),
        "{a}"
    );
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

/// `matrix base cand other`: two runs of one engine binary and a run of another build of the
/// same model, all on one platform.
#[test]
fn runs_of_one_binary_set_the_noise_floor_and_every_row_is_labelled_apart() {
    let d = noop_project();
    let p = d.path();
    std::fs::write(p.join("engines/fake-fp16.onnx"), b"the same model, in fp16").unwrap();
    let (code, o, e) = run(adasval().current_dir(p).args([
        "engine",
        "freeze",
        "engines/fake-fp16.onnx",
        "--name",
        "fake-fp16",
        "--adapter",
        "engines/fake.adapter.yaml",
        "--source-model",
        "engines/fake.onnx",
    ]));
    assert_eq!(code, 0, "{o}{e}");
    copy_platforms(p, &["x86-cpu.yaml"]);
    let base = replay_engine(p, "x86-cpu", "0", Some("fake"));
    let cand = replay_engine(p, "x86-cpu", "0", Some("fake"));
    // Slower by far more than two runs of one binary differ.
    let other = replay_engine(p, "x86-cpu", "1500", Some("fake-fp16"));
    let runs = [base.as_path(), cand.as_path(), other.as_path()];

    let v: serde_json::Value = serde_json::from_str(&matrix(p, &runs, "json")).unwrap();
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{v}");
    let labels: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r["label"].as_str().unwrap()).collect();
    assert_eq!(labels.len(), 3, "row labels must differ: {labels:?}");
    let fake_rows: Vec<&serde_json::Value> =
        rows.iter().filter(|r| r["engine"] == "fake").collect();
    assert_eq!(fake_rows.len(), 2, "{v}");
    assert_eq!(fake_rows[0]["build"], fake_rows[1]["build"], "{v}");
    assert_ne!(fake_rows[0]["run_id"], fake_rows[1]["run_id"], "{v}");

    // The run-to-run pair is there, and it is the noise floor.
    let r2r = v["run_to_run"].as_array().unwrap();
    assert_eq!(r2r.len(), 1, "{v}");
    let pair = &r2r[0];
    let ends: std::collections::BTreeSet<&str> =
        [pair["a"].as_str().unwrap(), pair["b"].as_str().unwrap()].into();
    let fake_labels: std::collections::BTreeSet<&str> = fake_rows
        .iter()
        .map(|r| r["label"].as_str().unwrap())
        .collect();
    assert_eq!(ends, fake_labels, "{v}");
    assert!(["differs", "not_significant"].contains(&pair["decision"].as_str().unwrap()));
    let floor = v["noise_floor"]["max_median_diff_ms"].as_f64().unwrap();
    assert_eq!(v["noise_floor"]["pairs"], 1, "{v}");
    assert!(
        (floor - pair["median_diff_ms"].as_f64().unwrap().abs()).abs() < 1e-12,
        "{v}"
    );
    assert!(v["noise_floor"]["min_p_value"].is_number(), "{v}");

    // The other build is compared with each run of the first, under distinct labels, and
    // its 1.5 ms shift is beyond the noise floor.
    let spread = v["build_spread"].as_array().unwrap();
    assert_eq!(spread.len(), 2, "{v}");
    let spread_ends: std::collections::BTreeSet<&str> =
        spread.iter().map(|s| s["a"].as_str().unwrap()).collect();
    assert_eq!(spread_ends, fake_labels, "{v}");
    for s in spread {
        assert_eq!(s["decision"], "differs", "{v}");
        assert!(s["median_diff_ms"].as_f64().unwrap() > floor, "{v}");
    }

    let md = matrix(p, &runs, "text");
    assert_no_empty_table(&md);
    for l in &labels {
        assert!(md.contains(l), "{l} missing from:\n{md}");
    }
    assert!(md.contains("Noise floor (run-to-run)"), "{md}");
    assert!(md.contains("1 run-to-run pair "), "{md}");
    // One cell only: a sentence, not an empty "cell A | cell B" table.
    assert!(!md.contains("cell A"), "{md}");
    assert!(md.contains("no pair of cells"), "{md}");

    // The same run given twice is one measurement: told apart, but no noise floor.
    let v: serde_json::Value = serde_json::from_str(&matrix(p, &[&base, &base], "json")).unwrap();
    let labels: std::collections::BTreeSet<&str> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels.len(), 2, "{v}");
    assert_eq!(v["noise_floor"]["pairs"], 0, "{v}");
    let md = matrix(p, &[&base, &base], "text");
    assert_no_empty_table(&md);
    assert!(md.contains("No run-to-run pair"), "{md}");
    assert!(md.contains("No two builds of one model"), "{md}");
}

#[test]
fn anomaly_smaller_than_run_to_run_spread_is_within_noise() {
    let d = noop_project();
    let p = d.path();
    copy_platforms(p, &["jetson-xavier-nx.yaml", "jetson-xavier-agx.yaml"]);
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
    // The NX-built engine is slower on the AGX (case 2), but runs of it on the AGX differ
    // by five times as much as the AGX is slower than the NX. Two of the three AGX runs are
    // alike, so the pooled AGX median sits inside them, not on the boundary between runs.
    let nx = replay(p, "jetson-xavier-nx", "0");
    let agx1 = replay(p, "jetson-xavier-agx", "300");
    let agx2 = replay(p, "jetson-xavier-agx", "300");
    let agx3 = replay(p, "jetson-xavier-agx", "1800");
    let runs = [nx.as_path(), agx1.as_path(), agx2.as_path(), agx3.as_path()];
    let v: serde_json::Value = serde_json::from_str(&matrix(p, &runs, "json")).unwrap();
    assert_eq!(v["noise_floor"]["pairs"], 3, "{v}");
    let floor = v["noise_floor"]["max_median_diff_ms"].as_f64().unwrap();
    assert!(floor > 1.0, "{v}");
    let case2: Vec<&serde_json::Value> = v["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["case"] == 2)
        .collect();
    assert_eq!(case2.len(), 1, "{v}");
    assert!(case2[0]["p_value"].as_f64().unwrap() < 0.01, "{v}");
    assert!(case2[0]["median_diff_ms"].as_f64().unwrap() <= floor, "{v}");
    assert_eq!(case2[0]["decision"], "within_noise", "{v}");
    let md = matrix(p, &runs, "text");
    assert_no_empty_table(&md);
    assert!(md.contains("**0 anomalies**, 1 within noise"), "{md}");
    assert!(md.contains("within noise: case 2"), "{md}");
}
