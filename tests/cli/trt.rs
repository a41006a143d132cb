//! TensorRT / Jetson integration: the external runner protocol end to end on the
//! onnxruntime reference runner (compared with the cpu backend), trtexec export import
//! (real files from the shared folder + synthetic pre-8 keys), and the trtexec replay
//! backend against a fake trtexec that mimics the real console and file formats.

use crate::common;
use common::*;

use std::path::Path;
use std::process::{Command, Stdio};

use adasval::runner_protocol::{self as proto, TensorDesc};

fn detections(dir: &Path, run_stdout: &str) -> Vec<serde_json::Value> {
    let run_dir = dir.join(run_stdout.trim());
    std::fs::read_to_string(run_dir.join("detections.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The noop project with its fake engine replaced by a tiny real ONNX detector.
fn tiny_onnx_project(py: &str) -> tempfile::TempDir {
    let d = noop_project();
    let model = d.path().join("engines/fake.onnx");
    let o = Command::new(py)
        .arg(repo_root().join("tests/py/make_tiny_detector.py"))
        .arg(&model)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (code, out, err) = run(adasval().current_dir(d.path()).args([
        "engine",
        "freeze",
        "engines/fake.onnx",
        "--name",
        "fake",
        "--adapter",
        "engines/fake.adapter.yaml",
        "--replace",
    ]));
    assert_eq!(code, 0, "{out}{err}");
    d
}

#[test]
fn ort_runner_matches_the_cpu_backend() {
    let Some(py) = python_with(&["onnx", "onnxruntime", "numpy"]) else {
        return;
    };
    let d = tiny_onnx_project(&py);
    let runner = format!(
        "{py} {}",
        repo_root().join("runners/ort_runner.py").display()
    );
    let validate = |backend: &str, out: &str| {
        let mut c = adasval();
        c.current_dir(d.path()).args([
            "validate",
            "--backend",
            backend,
            "--out",
            out,
            "--repetitions",
            "2",
            "--warmup",
            "1",
        ]);
        if backend == "runner" {
            c.args(["--runner", &runner]);
        }
        let (code, stdout, err) = run(&mut c);
        assert_eq!(code, 0, "{backend}: {err}");
        stdout
    };
    let cpu = detections(d.path(), &validate("cpu", "run-cpu"));
    let ort = detections(d.path(), &validate("runner", "run-ort"));
    assert_eq!(cpu.len(), 2);
    assert_eq!(cpu.len(), ort.len());
    let mut seen = 0;
    for (a, b) in cpu.iter().zip(&ort) {
        assert_eq!(a["frame"], b["frame"]);
        let (da, db) = (
            a["detections"].as_array().unwrap(),
            b["detections"].as_array().unwrap(),
        );
        assert_eq!(da.len(), db.len(), "frame {}: {a} vs {b}", a["frame"]);
        for (x, y) in da.iter().zip(db) {
            assert_eq!(x["class_id"], y["class_id"]);
            let (sx, sy) = (x["score"].as_f64().unwrap(), y["score"].as_f64().unwrap());
            assert!((sx - sy).abs() < 1e-5, "{sx} vs {sy}");
            for k in 0..4 {
                let (p, q) = (
                    x["bbox"][k].as_f64().unwrap(),
                    y["bbox"][k].as_f64().unwrap(),
                );
                assert!((p - q).abs() < 1e-3, "{x} vs {y}");
            }
            seen += 1;
        }
    }
    assert!(seen > 0, "the comparison must cover some detections");
    let rec = adasval::record::read_run(&d.path().join("run-ort")).unwrap();
    assert_eq!(rec.backend.name, "runner");
    assert!(
        rec.backend
            .libraries
            .iter()
            .any(|l| l.starts_with("onnxruntime ")),
        "{:?}",
        rec.backend.libraries
    );
    assert!(rec.engines[0].load_ns.is_some());
    assert!(rec.complete);
}

struct Child(std::process::Child);
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn runner_refuses_a_hash_mismatch_and_reports_timings() {
    let Some(py) = python_with(&["onnx", "onnxruntime", "numpy"]) else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let model = d.path().join("m.onnx");
    let o = Command::new(&py)
        .arg(repo_root().join("tests/py/make_tiny_detector.py"))
        .arg(&model)
        .output()
        .unwrap();
    assert!(o.status.success());
    let bytes = std::fs::read(&model).unwrap();
    let mut child = Child(
        Command::new(&py)
            .arg(repo_root().join("runners/ort_runner.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut w = child.0.stdin.take().unwrap();
    let mut r = std::io::BufReader::new(child.0.stdout.take().unwrap());
    let mut ask = |h: serde_json::Value, t: &[(TensorDesc, &[u8])]| {
        proto::write_message(&mut w, &h, t).unwrap();
        proto::read_message(&mut r).unwrap()
    };
    let hello = ask(
        serde_json::json!({"type": "hello", "protocol": 1, "seq": 1}),
        &[],
    );
    assert_eq!(hello.kind(), "hello");
    assert_eq!(hello.header["protocol"], 1);
    let engine = |sha: &str| {
        serde_json::json!({"type": "load", "seq": 2, "input": {"name": "images", "shape": [1, 3, 32, 64]},
            "engine": {"name": "m", "format": "onnx", "sha256": sha, "size": bytes.len()}})
    };
    let real = adasval::hash::sha256_hex(&bytes);
    let mut wrong = real.clone().into_bytes();
    wrong[0] = if wrong[0] == b'0' { b'1' } else { b'0' };
    let wrong = String::from_utf8(wrong).unwrap();
    let refused = ask(
        engine(&wrong),
        &[(TensorDesc::bytes("engine", bytes.len()), &bytes)],
    );
    assert_eq!(refused.kind(), "error");
    assert_eq!(refused.header["code"], "hash_mismatch");
    // Inference is refused until a load succeeded.
    let x = vec![0.5f32; 3 * 32 * 64];
    let xb = proto::f32_bytes(&x);
    let early = ask(
        serde_json::json!({"type": "infer", "seq": 3}),
        &[(TensorDesc::f32("images", &[1, 3, 32, 64]), &xb)],
    );
    assert_eq!(early.header["code"], "not_loaded");
    let loaded = ask(
        engine(&real),
        &[(TensorDesc::bytes("engine", bytes.len()), &bytes)],
    );
    assert_eq!(loaded.kind(), "loaded", "{}", loaded.header);
    assert_eq!(loaded.header["sha256"], real.as_str());
    let res = ask(
        serde_json::json!({"type": "infer", "seq": 4}),
        &[(TensorDesc::f32("images", &[1, 3, 32, 64]), &xb)],
    );
    assert_eq!(res.kind(), "result");
    assert_eq!(res.header["seq"], 4);
    assert!(res.header["timings_ns"]["compute"].as_u64().unwrap() > 0);
    let scores = res.tensors.iter().find(|t| t.0.name == "scores").unwrap();
    // sigmoid(8 * (0.5 - 0.3)), computed here independently of the model.
    let want = 1.0 / (1.0 + (-1.6f32).exp());
    for s in proto::to_f32(&scores.0, &scores.1) {
        assert!((s - want).abs() < 1e-6, "{s} vs {want}");
    }
    let bye = ask(serde_json::json!({"type": "close", "seq": 5}), &[]);
    assert_eq!(bye.kind(), "bye");
}

#[test]
fn a_missing_runner_is_unavailable() {
    let d = noop_project();
    let (code, _, err) = run(adasval().current_dir(d.path()).args([
        "validate",
        "--backend",
        "runner",
        "--runner",
        "/nonexistent/adasval-runner",
    ]));
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("cannot start"), "{err}");
    let (code, _, err) =
        run(adasval()
            .current_dir(d.path())
            .args(["validate", "--backend", "runner"]));
    assert_eq!(code, 4, "{err}");
}

fn import(args: &[&str], out: &Path) -> (i32, String, String) {
    run(adasval()
        .args(["import", "trtexec", "--root"])
        .arg(repo_root())
        .args(args)
        .arg("--out")
        .arg(out))
}

#[test]
fn import_real_trtexec_exports() {
    let Some(shared) = shared_dir() else {
        return;
    };
    let f = shared.join("formats/trtexec");
    let times = f.join("mobilenet.qat.onnx.engine.timing.json");
    let profile = f.join("mobilenet.qat.onnx.engine.profile.json");
    let graph = f.join("mobilenet.qat.onnx.engine.graph.json");
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("run");
    // Any file stands in for the engine: only its hash and size are recorded.
    let engine = d.path().join("mobilenet.plan");
    std::fs::write(&engine, b"engine bytes").unwrap();
    let (code, _, err) = import(
        &[
            "--times",
            times.to_str().unwrap(),
            "--profile",
            profile.to_str().unwrap(),
            "--layers",
            graph.to_str().unwrap(),
            "--engine",
            engine.to_str().unwrap(),
            "--adapter",
            repo_root()
                .join("tests/fixtures/yolox_nano.adapter.yaml")
                .to_str()
                .unwrap(),
            "--platform",
            "jetson-xavier-nx",
            "--built-on",
            "jetson-xavier-agx",
        ],
        &out,
    );
    assert_eq!(code, 0, "{err}");

    // Reference: the export read with plain serde_json, row by row.
    let raw: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(&times).unwrap()).unwrap();
    let rows = adasval::record::read_latencies_csv(&out.join("latencies.csv")).unwrap();
    assert_eq!(rows.len(), raw.len());
    for (row, r) in rows.iter().zip(&raw) {
        let ns = |k: &str| (r[k].as_f64().unwrap() * 1e6).round() as u64;
        assert_eq!(row.sample.infer_ns, ns("computeMs"));
        assert_eq!(row.sample.pre_ns, ns("h2dMs"));
        assert_eq!(row.sample.post_ns, ns("d2hMs"));
        assert_eq!(row.sample.total_ns, ns("latencyMs"));
    }
    let rec = adasval::record::read_run(&out).unwrap();
    assert_eq!(rec.platform.name, "jetson-xavier-nx");
    assert_eq!(
        rec.engines[0].built_on.as_deref(),
        Some("jetson-xavier-agx")
    );
    assert_eq!(
        rec.engines[0].sha256,
        adasval::hash::sha256_hex(b"engine bytes")
    );
    assert_eq!(rec.traces[0].samples, raw.len());
    assert_eq!(rec.engines[0].classes.len(), 80);
    assert_eq!(
        rec.engines[0].adapter_sha256,
        adasval::hash::sha256_file(&repo_root().join("tests/fixtures/yolox_nano.adapter.yaml"))
            .unwrap()
    );
    let mut compute: Vec<f64> = raw
        .iter()
        .map(|r| (r["computeMs"].as_f64().unwrap() * 1e6).round())
        .collect();
    compute.sort_by(f64::total_cmp);
    assert_eq!(rec.traces[0].latency_ns.infer.max, *compute.last().unwrap());
    assert_eq!(rec.traces[0].latency_ns.infer.min, compute[0]);

    // Every exported field survives in trtexec.json.
    let tj: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("trtexec.json")).unwrap()).unwrap();
    assert_eq!(tj["key_format"], "current");
    assert_eq!(tj["samples"][17]["startEnqMs"], raw[17]["startEnqMs"]);
    assert_eq!(tj["samples"][17]["endD2hMs"], raw[17]["endD2hMs"]);

    // layers.json: every graph layer in order, profile times joined by name.
    let g: serde_json::Value = serde_json::from_slice(&std::fs::read(&graph).unwrap()).unwrap();
    let p: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(&profile).unwrap()).unwrap();
    let lj: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("layers.json")).unwrap()).unwrap();
    assert_eq!(lj["profile_iterations"], p[0]["count"]);
    let layers = lj["layers"].as_array().unwrap();
    let glayers = g["Layers"].as_array().unwrap();
    assert!(layers.len() >= glayers.len());
    for (l, gl) in layers.iter().zip(glayers) {
        assert_eq!(l["name"], gl["Name"]);
        assert_eq!(l["layer_type"], gl["LayerType"]);
    }
    for pl in &p[1..] {
        let l = layers.iter().find(|l| l["name"] == pl["name"]).unwrap();
        assert_eq!(l["time_ms"].as_f64(), pl["timeMs"].as_f64());
        assert_eq!(l["median_ms"].as_f64(), pl["medianMs"].as_f64());
    }

    // `adasval wcet` reads the imported run like a replay.
    let o = adasval().arg("wcet").arg(&out).output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let w: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let a = &w["analyses"][0];
    assert_eq!(a["platform"], "jetson-xavier-nx");
    assert_eq!(a["n"], raw.len());
    assert_eq!(
        a["engine_sha256"],
        adasval::hash::sha256_hex(b"engine bytes").as_str()
    );
    // latencies.csv holds nanoseconds; wcet reports milliseconds.
    assert_eq!(a["unit"], "ms");
    assert_eq!(a["max"].as_f64(), Some(*compute.last().unwrap() / 1e6));

    // The record conforms to the documented run schema.
    if let Some(py) = python_with(&["jsonschema"]) {
        let o = Command::new(py)
            .arg(repo_root().join("tests/py/validate_schema.py"))
            .arg(repo_root().join("docs/schema/run.schema.json"))
            .arg(out.join("run.json"))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    }
}

#[test]
fn import_legacy_keys_and_refuse_bad_files() {
    let d = tempfile::tempdir().unwrap();
    let times = d.path().join("old.json");
    // Pre-TensorRT-8 names: in/out instead of h2d/d2h, plus endToEndMs.
    std::fs::write(
        &times,
        r#"[
  { "startInMs" : 10.0, "endInMs" : 10.5, "startComputeMs" : 10.5, "endComputeMs" : 13.5, "startOutMs" : 13.5, "endOutMs" : 13.75, "inMs" : 0.5, "computeMs" : 3.0, "outMs" : 0.25, "latencyMs" : 3.75, "endToEndMs" : 3.75 }
, { "startInMs" : 14.0, "endInMs" : 14.5, "startComputeMs" : 14.5, "endComputeMs" : 18.5, "startOutMs" : 18.5, "endOutMs" : 18.75, "inMs" : 0.5, "computeMs" : 4.0, "outMs" : 0.25, "latencyMs" : 4.75, "endToEndMs" : 4.8 }
]"#,
    )
    .unwrap();
    let out = d.path().join("run");
    let (code, _, err) = import(&["--times", times.to_str().unwrap()], &out);
    assert_eq!(code, 0, "{err}");
    let rows = adasval::record::read_latencies_csv(&out.join("latencies.csv")).unwrap();
    let got: Vec<(u64, u64, u64, u64)> = rows
        .iter()
        .map(|r| {
            (
                r.sample.pre_ns,
                r.sample.infer_ns,
                r.sample.post_ns,
                r.sample.total_ns,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (500_000, 3_000_000, 250_000, 3_750_000),
            (500_000, 4_000_000, 250_000, 4_750_000)
        ]
    );
    let tj: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("trtexec.json")).unwrap()).unwrap();
    assert_eq!(tj["key_format"], "legacy");
    assert_eq!(tj["samples"][1]["startH2dMs"], 14.0);
    assert_eq!(tj["samples"][1]["endToEndMs"], 4.8);
    let rec = adasval::record::read_run(&out).unwrap();
    assert!(rec.engines.is_empty(), "no --engine, no engine hash");
    assert_eq!(rec.platform.name, "unknown");

    // Broken inputs are usage errors (exit 2), and an unknown platform too.
    std::fs::write(&times, r#"[{"inMs": 1}]"#).unwrap();
    assert_eq!(import(&["--times", times.to_str().unwrap()], &out).0, 2);
    std::fs::write(&times, "{not json").unwrap();
    assert_eq!(import(&["--times", times.to_str().unwrap()], &out).0, 2);
    std::fs::write(&times, r#"[{"computeMs": 1}]"#).unwrap();
    let (code, _, err) = import(
        &[
            "--times",
            times.to_str().unwrap(),
            "--platform",
            "no-such-board",
        ],
        &out,
    );
    assert_eq!(code, 2, "{err}");
}

#[test]
fn trtexec_backend_replays_through_a_fake_trtexec() {
    let Some(py) = python_with(&["numpy"]) else {
        return;
    };
    let d = noop_project();
    let p = d.path();
    std::fs::write(p.join("engines/model.plan"), b"serialized tensorrt engine").unwrap();
    let (code, out, err) = run(adasval().current_dir(p).args([
        "engine",
        "freeze",
        "engines/model.plan",
        "--name",
        "trt",
        "--adapter",
        "engines/fake.adapter.yaml",
        "--built-on",
        "jetson-xavier-agx",
    ]));
    assert_eq!(code, 0, "{out}{err}");
    let log = p.join("fake.log");
    let fake = format!(
        "{py} {} --useCudaGraph",
        repo_root().join("tests/py/fake_trtexec.py").display()
    );
    let (code, stdout, err) = run(adasval()
        .current_dir(p)
        .env("FAKE_TRTEXEC_LOG", &log)
        .args([
            "validate",
            "--backend",
            "trtexec",
            "--engine",
            "trt",
            "--order",
            "sequential",
            "--warmup",
            "0",
            "--out",
            "run",
            "--trtexec",
            &fake,
        ]));
    assert_eq!(code, 0, "{err}");
    let calls: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // One probe at prepare, one untimed pre-flight inference on the first frame (checks the
    // adapter against the engine before timing), then one process per frame.
    assert_eq!(calls.len(), 4);
    let lock_sha = adasval::hash::sha256_hex(b"serialized tensorrt engine");
    for c in &calls {
        assert_eq!(c["engine_sha256"], lock_sha.as_str());
        assert_eq!(c["input"], "images");
        assert_eq!(c["n"], 3 * 32 * 64);
    }
    let dets = detections(p, &stdout);
    assert_eq!(dets.len(), 2);
    for (i, line) in dets.iter().enumerate() {
        let want = calls[i + 2]["score"].as_f64().unwrap();
        let got = &line["detections"];
        if want >= 0.5 {
            let s = got[0]["score"].as_f64().unwrap();
            assert!((s - want).abs() < 1e-6, "frame {i}: {s} vs {want}");
        } else {
            assert!(got.as_array().unwrap().is_empty());
        }
    }
    let rec = adasval::record::read_run(&p.join("run")).unwrap();
    assert_eq!(rec.backend.name, "trtexec");
    assert!(rec
        .backend
        .libraries
        .contains(&"TensorRT 10.3.0 (trtexec)".to_string()));
    let setting = |k: &str| {
        rec.backend
            .settings
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(setting("CUDA Graph").as_deref(), Some("Enabled"));
    assert_eq!(setting("Spin-wait").as_deref(), Some("Disabled"));
    assert_eq!(setting("Data transfers").as_deref(), Some("Enabled"));
    assert_eq!(
        rec.engines[0].built_on.as_deref(),
        Some("jetson-xavier-agx")
    );
    // Platform tags per trace: where it ran and where its engine was built.
    let t = &rec.settings.effective["traces"][0];
    assert_eq!(t["platform"], rec.platform.name.as_str());
    assert_eq!(t["built_on"], "jetson-xavier-agx");

    // An ONNX engine is not something trtexec --loadEngine can run.
    let (code, _, err) = run(adasval()
        .current_dir(p)
        .env("FAKE_TRTEXEC_LOG", &log)
        .args([
            "validate",
            "--backend",
            "trtexec",
            "--engine",
            "fake",
            "--trtexec",
            &fake,
        ]));
    assert_eq!(code, 2, "{err}");
}

#[test]
fn runner_errors_and_a_lying_runner() {
    let Some(py) = python_with(&["onnxruntime", "numpy"]) else {
        return;
    };
    let d = noop_project();
    // The noop project's engine is not a model: onnxruntime's failure comes back as a
    // protocol error and becomes a prepare error (bad input, exit 2).
    let ort = format!(
        "{py} {}",
        repo_root().join("runners/ort_runner.py").display()
    );
    let (code, _, err) = run(adasval().current_dir(d.path()).args([
        "validate",
        "--backend",
        "runner",
        "--runner",
        &ort,
    ]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("runner error `runtime`"), "{err}");

    // A runner that claims to have loaded other bytes than it was sent: integrity, exit 3.
    let liar = d.path().join("liar.py");
    let script = format!(
        r#"import sys
sys.path.insert(0, {runners:?})
from adasval_runner import read_message, write_message
while True:
    h, _ = read_message(sys.stdin.buffer)
    r = {{"seq": h["seq"]}}
    if h["type"] == "hello":
        r.update(type="hello", protocol=1, runner="liar", version="0")
    elif h["type"] == "load":
        r.update(type="loaded", sha256="0" * 64)
    else:
        r.update(type="bye")
    write_message(sys.stdout.buffer, r)
    if h["type"] == "close":
        break
"#,
        runners = repo_root().join("runners").display().to_string()
    );
    std::fs::write(&liar, script).unwrap();
    let cmd = format!("{py} {}", liar.display());
    let (code, _, err) = run(adasval().current_dir(d.path()).args([
        "validate",
        "--backend",
        "runner",
        "--runner",
        &cmd,
    ]));
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("but the lock pins"), "{err}");
}

#[test]
fn every_platform_profile_loads_and_xavier_matches_table_i() {
    let profiles = adasval::platform::load_profiles(&repo_root()).unwrap();
    let get = |n: &str| profiles.iter().find(|p| p.name == n).unwrap();
    for n in ["jetson-orin-agx", "x86-cpu", "nvidia-h100", "nvidia-h200"] {
        get(n);
    }
    // Table I of the TensorRT study (shared/paper): NX vs AGX.
    for (name, cores, sms, cuda, tensor, mem, bus, bw, mhz) in [
        ("jetson-xavier-nx", 6, 6, 384, 48, 8.0, 128, 51.2, 1100.0),
        ("jetson-xavier-agx", 8, 8, 512, 64, 32.0, 256, 137.0, 1137.0),
    ] {
        let p = get(name);
        let (cpu, gpu, m) = (
            p.cpu.as_ref().unwrap(),
            p.gpu.as_ref().unwrap(),
            p.memory.as_ref().unwrap(),
        );
        assert_eq!(cpu.cores, Some(cores), "{name}");
        assert!(
            cpu.model.as_deref().unwrap().contains("L2 + 4MB L3"),
            "{name}"
        );
        assert_eq!(
            (gpu.sms, gpu.cuda_cores, gpu.tensor_cores),
            (Some(sms), Some(cuda), Some(tensor)),
            "{name}"
        );
        assert_eq!(gpu.max_freq_mhz, Some(mhz), "{name}");
        assert_eq!(
            (m.size_gib, m.bus_width_bits, m.bandwidth_gbps),
            (Some(mem), Some(bus), Some(bw)),
            "{name}"
        );
    }
}
