//! `validate --streams N` and `adasval sweep` end to end on the no-op backend: one stream
//! is today's output, N streams add a stream column and per-stream records that the
//! existing readers still accept, a failing stream ends the run incomplete with what was
//! measured kept, and a sweep writes its sealed directory with every figure it promises.

use crate::common;
use common::*;

use std::path::{Path, PathBuf};

fn json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// Keys of a JSON value, recursively (arrays: the union over their elements).
fn shape(v: &serde_json::Value, prefix: &str, out: &mut std::collections::BTreeSet<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                let p = format!("{prefix}/{k}");
                out.insert(p.clone());
                shape(x, &p, out);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| shape(x, &format!("{prefix}[]"), out)),
        _ => {}
    }
}

fn keys(v: &serde_json::Value) -> std::collections::BTreeSet<String> {
    let mut s = Default::default();
    shape(v, "", &mut s);
    s
}

fn validate(p: &Path, out: &str, extra: &[&str], env: &[(&str, &str)]) -> (i32, PathBuf, String) {
    let mut cmd = adasval();
    cmd.current_dir(p).args([
        "validate",
        "--backend",
        "noop",
        "--order",
        "sequential",
        "--warmup",
        "2",
        "--out",
        out,
    ]);
    cmd.args(extra);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let (code, o, e) = run(&mut cmd);
    (code, p.join(out), format!("{o}{e}"))
}

/// The document validates against its documented JSON Schema (skips without jsonschema).
fn schema_ok(schema: &str, doc: &Path) {
    let Some(py) = python_with(&["jsonschema"]) else {
        return;
    };
    let o = std::process::Command::new(py)
        .arg(repo_root().join("tests/py/validate_schema.py"))
        .arg(repo_root().join(schema))
        .arg(doc)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}: {}",
        doc.display(),
        String::from_utf8_lossy(&o.stdout)
    );
}

fn csv(dir: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(dir.join("latencies.csv"))
        .unwrap()
        .lines()
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

#[test]
fn one_stream_is_the_classic_output_and_n_streams_add_a_stream_column() {
    let d = noop_project();
    let p = d.path();
    let (c, a, log) = validate(p, "a", &["--repetitions", "4"], &[]);
    assert_eq!(c, 0, "{log}");
    let (c, b, log) = validate(p, "b", &["--repetitions", "4", "--streams", "1"], &[]);
    assert_eq!(c, 0, "{log}");
    let (ca, cb) = (csv(&a), csv(&b));
    assert_eq!(ca[0].join(","), adasval::record::LATENCIES_HEADER);
    assert_eq!(cb[0], ca[0]);
    let ids = |rows: &[Vec<String>]| -> Vec<String> {
        rows[1..].iter().map(|r| r[..4].join(",")).collect()
    };
    assert_eq!(ids(&ca), ids(&cb));
    assert_eq!(
        std::fs::read(a.join("detections.jsonl")).unwrap(),
        std::fs::read(b.join("detections.jsonl")).unwrap()
    );
    let (ra, rb) = (json(&a.join("run.json")), json(&b.join("run.json")));
    assert_eq!(keys(&ra), keys(&rb), "run.json gained or lost fields");
    assert!(!keys(&rb).iter().any(|k| k.contains("streams")), "{rb}");

    let (c, n, log) = validate(p, "n", &["--repetitions", "4", "--streams", "3"], &[]);
    assert_eq!(c, 0, "{log}");
    let rows = csv(&n);
    assert_eq!(rows[0].join(","), adasval::record::LATENCIES_HEADER_STREAMS);
    assert_eq!(rows.len(), 1 + 3 * 2 * 4);
    for s in 0..3 {
        let mine: Vec<String> = rows[1..]
            .iter()
            .filter(|r| r[11] == s.to_string())
            .map(|r| format!("{},{}", r[2], r[3]))
            .collect();
        // Each stream's rows in its own acquisition order (sequential: frame-major per rep).
        let expected: Vec<String> = (0..4)
            .flat_map(|rep| (0..2).map(move |f| format!("{f},{rep}")))
            .collect();
        assert_eq!(mine, expected, "stream {s}");
    }
    schema_ok("docs/schema/run.schema.json", &n.join("run.json"));
    let rn = json(&n.join("run.json"));
    let st = &rn["traces"][0]["streams"];
    assert_eq!(st["count"], 3, "{rn}");
    assert_eq!(st["per_stream"].as_array().unwrap().len(), 3);
    assert_eq!(rn["settings"]["requested"]["streams"], 3);
    assert_eq!(rn["traces"][0]["samples"], 24);
    // Detections from stream 0: the same file as the single-stream run.
    assert_eq!(
        std::fs::read(a.join("detections.jsonl")).unwrap(),
        std::fs::read(n.join("detections.jsonl")).unwrap()
    );
    // The existing readers accept the stream column.
    let (c, o, e) = run(adasval().current_dir(p).arg("compare").arg(&a).arg(&n));
    assert_eq!(c, 0, "{o}{e}");
    let (c, o, e) = run(adasval()
        .current_dir(p)
        .arg("matrix")
        .arg(&a)
        .arg(&n)
        .args(["--format", "json"]));
    assert_eq!(c, 0, "{o}{e}");
    let m: serde_json::Value = serde_json::from_str(&o).unwrap();
    assert_eq!(m["cells"][0]["samples"], 8 + 24, "{m}");
}

#[test]
fn a_failing_stream_ends_the_run_incomplete_with_every_sample_kept() {
    let d = noop_project();
    // Every session fails on its 13th inference: 2 warm-ups + 10 timed frames succeed.
    let (c, dir, log) = validate(
        d.path(),
        "f",
        &["--repetitions", "10", "--streams", "3"],
        &[
            ("ADASVAL_NOOP_FAIL_AFTER", "12"),
            ("ADASVAL_NOOP_DELAY_US", "2000"),
        ],
    );
    assert_eq!(c, 1, "{log}");
    let r = json(&dir.join("run.json"));
    assert_eq!(r["complete"], false);
    let reason = r["incomplete_reasons"][0].as_str().unwrap();
    assert!(
        reason.contains("stream") && reason.contains("injected failure"),
        "{reason}"
    );
    let rows = csv(&dir);
    let per: Vec<usize> = (0..3)
        .map(|s| rows[1..].iter().filter(|r| r[11] == s.to_string()).count())
        .collect();
    assert!(per.iter().all(|&k| k <= 10), "{per:?}");
    assert!(
        per.contains(&10),
        "the stream that failed first kept its 10: {per:?}"
    );
    assert_eq!(rows.len() - 1, per.iter().sum::<usize>());
    let st = r["traces"][0]["streams"]["per_stream"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(st.len(), 3);
    assert!(st.iter().any(|s| s["error"].is_string()), "{st:?}");
    assert!(dir.join("MANIFEST.sha256").exists());
}

fn fake_nvidia_smi(dir: &Path) -> PathBuf {
    let p = dir.join("fake-nvidia-smi");
    std::fs::write(&p, "#!/bin/sh\necho 42\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

#[test]
fn sweep_writes_a_sealed_directory_with_every_figure() {
    let d = noop_project();
    let p = d.path();
    let smi = fake_nvidia_smi(p);
    let (code, out, err) = run(adasval()
        .current_dir(p)
        .env("ADASVAL_NOOP_DELAY_US", "2000")
        .env("ADASVAL_NVIDIA_SMI", &smi)
        .args([
            "sweep",
            "--backend",
            "noop",
            "--streams",
            "2,1",
            "--runs",
            "2",
            "--repetitions",
            "50",
            "--warmup",
            "1",
            "--gpu-interval-ms",
            "10",
            "--out",
            "sw",
            "--format",
            "json",
        ]));
    assert_eq!(code, 0, "{out}{err}");
    let dir = p.join("sw");
    // `--format json`: the directory, the exit status and the record sweep.json holds.
    let printed: serde_json::Value = serde_json::from_str(&out).expect("JSON on stdout");
    assert_eq!(printed["sweep_dir"], "sw", "{printed}");
    assert_eq!(printed["exit_code"], 0, "{printed}");
    let stored = json(&dir.join("sweep.json"));
    assert_eq!(printed["sweep"]["points"], stored["points"], "{printed}");
    schema_ok("docs/schema/sweep.schema.json", &dir.join("sweep.json"));
    let s = json(&dir.join("sweep.json"));
    assert_eq!(s["complete"], true, "{s}");
    let pts = s["points"].as_array().unwrap();
    assert_eq!(pts.len(), 2);
    for (pt, n) in pts.iter().zip([1u64, 2]) {
        assert_eq!(pt["streams"], n);
        assert_eq!(pt["samples"], 2 * 50 * n, "{pt}");
        assert!(pt["throughput_fps"].as_f64().unwrap() > 0.0, "{pt}");
        let lat = &pt["latency"];
        let (p50, p99, max) = (
            lat["p50_ms"].as_f64().unwrap(),
            lat["p99_ms"].as_f64().unwrap(),
            lat["max_ms"].as_f64().unwrap(),
        );
        // The injected 2 ms busy-wait is a floor under every inference.
        assert!(p50 >= 2.0 && p50 <= p99 && p99 <= max, "{pt}");
        assert_eq!(pt["gpu_utilisation"]["source"], "nvidia-smi", "{pt}");
        assert_eq!(pt["gpu_utilisation"]["mean_pct"], 42.0, "{pt}");
        let run_dir = dir.join(pt["run_dir"].as_str().unwrap());
        let (c, o, e) = run(adasval().arg("evidence").arg("verify").arg(&run_dir));
        assert_eq!(c, 0, "{o}{e}");
    }
    assert_eq!(pts[0]["scaling_efficiency"], 1.0);
    assert!(s["saturation"]["definition"].is_string());
    let st = &s["stability"];
    assert_eq!(st["runs"].as_array().unwrap().len(), 2, "{st}");
    assert!(st["kruskal_wallis"]["p_value"].as_f64().is_some(), "{st}");
    assert!(st["median_spread_ms"].as_f64().unwrap() >= 0.0);
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    for needle in [
        "Saturation point",
        "| streams | samples |",
        "sweep.svg",
        "adasval matrix",
    ] {
        assert!(md.contains(needle), "{needle} not in report.md");
    }
    let svg = std::fs::read_to_string(dir.join("sweep.svg")).unwrap();
    assert!(svg.starts_with("<svg"), "{svg}");
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("<svg"));
    let (c, o, e) = run(adasval().arg("evidence").arg("verify").arg(&dir));
    assert_eq!(c, 0, "{o}{e}");
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.sha256")).unwrap();
    assert!(manifest.contains("streams-002/latencies.csv"), "{manifest}");
}

#[test]
fn sweep_refuses_bad_input_and_names_missing_gpu_counters() {
    let d = noop_project();
    let p = d.path();
    let sweep = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = adasval();
        cmd.current_dir(p).arg("sweep").args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        run(&mut cmd)
    };
    let (c, _, e) = sweep(&["--backend", "noop", "--streams", "0", "--out", "x0"], &[]);
    assert_eq!(c, 2, "{e}");
    let (c, _, e) = sweep(&["--backend", "cuda", "--streams", "1", "--out", "x1"], &[]);
    assert_eq!(c, 4, "{e}");
    std::fs::create_dir_all(p.join("full")).unwrap();
    std::fs::write(p.join("full/keep.txt"), "x").unwrap();
    let (c, _, e) = sweep(&["--backend", "noop", "--out", "full"], &[]);
    assert_eq!(c, 2, "{e}");
    assert!(e.contains("not empty"), "{e}");
    let (c, o, e) = run(adasval().current_dir(p).args([
        "engine",
        "freeze",
        "engines/fake.onnx",
        "--name",
        "other",
        "--adapter",
        "engines/fake.adapter.yaml",
    ]));
    assert_eq!(c, 0, "{o}{e}");
    let (c, _, e) = sweep(&["--backend", "noop", "--out", "x2"], &[]);
    assert_eq!(c, 2, "{e}");
    assert!(e.contains("--engine") && e.contains("other"), "{e}");
    let (c, o, e) = sweep(
        &[
            "--backend",
            "noop",
            "--engine",
            "fake",
            "--streams",
            "1",
            "--runs",
            "0",
            "--out",
            "x3",
        ],
        &[("ADASVAL_NVIDIA_SMI", "/nonexistent/nvidia-smi")],
    );
    assert_eq!(c, 0, "{o}{e}");
    let s = json(&p.join("x3/sweep.json"));
    let why = s["points"][0]["gpu_utilisation"]["unavailable"]
        .as_str()
        .unwrap();
    assert!(why.contains("/nonexistent/nvidia-smi"), "{why}");
    assert_eq!(
        s["points"][0]["gpu_utilisation"]["mean_pct"],
        serde_json::Value::Null
    );
    assert!(s["stability"].is_null());
}
