//! Self-test cases of behaviour rather than arithmetic: the lock round trip, the detection
//! of a tampered sealed bundle, and a replay with an injected backend fault whose
//! incomplete run must never pass. Each works in the scratch directory it is given.

use super::estimators::{Context, Obtained};
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;

fn io<T>(what: &str, r: std::io::Result<T>) -> Result<T, String> {
    r.map_err(|e| format!("{what}: {e}"))
}

const ADAPTER: &str = "schema_version: 1
name: fake
input:
  tensor: images
  layout: nchw
  width: 64
  height: 32
  channel_order: rgb
  scale: 0.00392156862745098
  resize: { policy: stretch }
output:
  decoder: boxes_scores_classes
  boxes: boxes
  scores: scores
  classes: classes
classes: [pedestrian, car]
safety_critical: [pedestrian]
score_threshold: 0.5
nms_iou: 0.5
";

/// An engine (any bytes: the no-op backend never parses it) and its adapter, frozen.
fn frozen_engine(root: &Path) -> Result<(), String> {
    io(
        "create engines/",
        std::fs::create_dir_all(root.join("engines")),
    )?;
    io(
        "write the engine",
        std::fs::write(
            root.join("engines/fake.onnx"),
            b"a fake engine, hashed all the same",
        ),
    )?;
    io(
        "write the adapter",
        std::fs::write(root.join("engines/fake.adapter.yaml"), ADAPTER),
    )?;
    crate::lock::freeze(
        root,
        &crate::lock::FreezeRequest {
            file: "engines/fake.onnx".into(),
            name: "fake".into(),
            adapter: "engines/fake.adapter.yaml".into(),
            source_model: None,
            format: None,
            built_on: None,
            replace: false,
            onnx_signature: None,
        },
    )
    .map_err(|e| e.to_string())?;
    Ok(())
}

/// Freeze an engine, load it back verified, then change one byte: the load must refuse it.
pub fn lock_round_trip(_: &Value, ctx: &Context) -> Result<Obtained, String> {
    let root = ctx.scratch.as_path();
    frozen_engine(root)?;
    let lock = crate::lock::LockFile::load(root).map_err(|e| e.to_string())?;
    let entry = lock.get("fake").map_err(|e| e.to_string())?;
    let verified = crate::lock::load_verified(root, entry).is_ok();
    let path = root.join("engines/fake.onnx");
    let mut bytes = io("read the engine", std::fs::read(&path))?;
    bytes[0] ^= 1;
    io("modify the engine", std::fs::write(&path, bytes))?;
    let detected = crate::lock::load_verified(root, entry).is_err();
    Ok([
        ("verified".to_string(), json!(verified)),
        ("modified_engine_detected".to_string(), json!(detected)),
    ]
    .into())
}

/// Seal a bundle with the evidence code, then modify, add and remove a file in turn.
pub fn tamper_detection(_: &Value, ctx: &Context) -> Result<Obtained, String> {
    let dir = ctx.scratch.join("bundle");
    io(
        "create the bundle",
        std::fs::create_dir_all(dir.join("sub")),
    )?;
    io(
        "write",
        std::fs::write(dir.join("run.json"), b"{\"complete\": true}\n"),
    )?;
    io(
        "write",
        std::fs::write(dir.join("sub/latencies.csv"), b"a,b\n1,2\n"),
    )?;
    crate::evidence::seal(&dir, None).map_err(|e| e.to_string())?;
    let intact = || -> Result<bool, String> {
        Ok(crate::evidence::verify(&dir, None)
            .map_err(|e| e.to_string())?
            .is_intact())
    };
    let intact_verifies = intact()?;
    io(
        "modify",
        std::fs::write(dir.join("sub/latencies.csv"), b"a,b\n1,3\n"),
    )?;
    let modified = !intact()?;
    io(
        "restore",
        std::fs::write(dir.join("sub/latencies.csv"), b"a,b\n1,2\n"),
    )?;
    io("add", std::fs::write(dir.join("extra.txt"), b"planted"))?;
    let added = !intact()?;
    io("remove", std::fs::remove_file(dir.join("extra.txt")))?;
    io("remove", std::fs::remove_file(dir.join("run.json")))?;
    let removed = !intact()?;
    Ok([
        ("intact_verifies".to_string(), json!(intact_verifies)),
        ("modified_file_detected".to_string(), json!(modified)),
        ("added_file_detected".to_string(), json!(added)),
        ("removed_file_detected".to_string(), json!(removed)),
    ]
    .into())
}

const SCENARIO: &str = "schema_version: 1
id: two-frames
title: Two frames
category: pedestrian
tags: [day]
fps: 10
deadline_ms: 100
frames:
  files:
    glob: data/*.png
    labels: { format: coco, path: golden/labels.json }
    class_map: { person: pedestrian }
";

const LABELS: &str = r#"{"images":[{"id":1,"file_name":"f0.png","width":40,"height":20},{"id":2,"file_name":"f1.png","width":40,"height":20}],
"annotations":[{"id":1,"image_id":1,"category_id":1,"bbox":[2,2,10,12],"area":120,"iscrowd":0}],
"categories":[{"id":1,"name":"person"}]}"#;

/// A requirement the no-op backend meets easily, so only completeness decides the gate.
const REQUIREMENTS: &str = "schema_version: 1
requirements:
  - id: REQ-SELFTEST-001
    text: The latency high-water mark times 1.5 is within the frame deadline.
    kind: timing
    metric: hwm_margin
    margin: 1.5
";

/// Replay a small project on the no-op backend through the adasval executable, once
/// cleanly and once with a backend failure injected mid-trace; gate both.
pub fn replay_fault(_: &Value, ctx: &Context) -> Result<Obtained, String> {
    let exe = ctx
        .exe
        .as_ref()
        .ok_or("this case runs the adasval executable, and none was given")?;
    let root = ctx.scratch.as_path();
    frozen_engine(root)?;
    for d in ["scenarios", "data", "golden"] {
        io("create the project", std::fs::create_dir_all(root.join(d)))?;
    }
    for i in 0..2u8 {
        let img = image::RgbImage::from_fn(40, 20, |x, y| {
            image::Rgb([x as u8 * 5, y as u8 * 9, i * 50])
        });
        img.save(root.join(format!("data/f{i}.png")))
            .map_err(|e| format!("write a frame: {e}"))?;
    }
    io(
        "write labels",
        std::fs::write(root.join("golden/labels.json"), LABELS),
    )?;
    io(
        "write the scenario",
        std::fs::write(root.join("scenarios/two-frames.yaml"), SCENARIO),
    )?;
    io(
        "write requirements",
        std::fs::write(root.join("requirements.yaml"), REQUIREMENTS),
    )?;
    let run = |fail_after: Option<&str>| -> Result<(i32, String, String), String> {
        let mut c = Command::new(exe);
        c.current_dir(root)
            .args(["-q", "validate", "--backend", "noop", "--repetitions", "10"])
            .args(["--warmup", "5", "--requirements", "requirements.yaml"])
            .env_remove("ADASVAL_NOOP_FAIL_AFTER")
            .env_remove("ADASVAL_NOOP_DELAY_US");
        if let Some(n) = fail_after {
            c.env("ADASVAL_NOOP_FAIL_AFTER", n);
        }
        let out = io("run adasval validate", c.output())?;
        Ok((
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        ))
    };
    let complete_of = |dir: &str| -> Result<Value, String> {
        let text = io(
            "read run.json",
            std::fs::read_to_string(root.join(dir).join("run.json")),
        )?;
        let v: Value = serde_json::from_str(&text).map_err(|e| format!("run.json: {e}"))?;
        Ok(v["complete"].clone())
    };
    let gate = |dir: &str| -> Result<i32, String> {
        let out = io(
            "run adasval gate",
            Command::new(exe)
                .current_dir(root)
                .args(["-q", "gate", dir, "--requirements", "requirements.yaml"])
                .output(),
        )?;
        Ok(out.status.code().unwrap_or(-1))
    };
    let (code, dir, err) = run(None)?;
    if dir.is_empty() {
        return Err(format!(
            "the clean replay wrote no run (exit {code}): {err}"
        ));
    }
    let clean_complete = complete_of(&dir)?;
    let clean_gate = gate(&dir)?;
    // 5 warm-up inferences, then 7 of the 2 × 10 timed ones succeed.
    let (fault_code, fault_dir, err) = run(Some("12"))?;
    if fault_dir.is_empty() {
        return Err(format!(
            "the faulty replay wrote no run (exit {fault_code}): {err}"
        ));
    }
    Ok([
        ("complete_run_complete".to_string(), clean_complete),
        ("complete_run_gate_exit".to_string(), json!(clean_gate)),
        ("faulty_run_exit".to_string(), json!(fault_code)),
        ("faulty_run_complete".to_string(), complete_of(&fault_dir)?),
        ("faulty_run_gate_exit".to_string(), json!(gate(&fault_dir)?)),
    ]
    .into())
}
