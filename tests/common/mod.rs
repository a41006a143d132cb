//! Helpers shared by integration tests.
#![allow(dead_code)]

pub mod tamper;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The shared folder (`ADASVAL_SHARED`, default `../shared`). Returns `None` with a
/// printed reason when it is absent; panics instead when `CI=true`.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("ADASVAL_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    if dir.join("README.md").exists() {
        return Some(dir);
    }
    let msg = format!(
        "shared folder not found at {} (set ADASVAL_SHARED)",
        dir.display()
    );
    if ci() {
        panic!("{msg}: required when CI=true");
    }
    eprintln!("SKIP: {msg}");
    None
}

pub fn ci() -> bool {
    std::env::var("CI").map(|v| v == "true").unwrap_or(false)
}

/// Python 3 with the pinned reference packages of tests/requirements.txt. `None`
/// (with a printed reason) when a module is missing; panics when `CI=true`.
pub fn python_with(modules: &[&str]) -> Option<String> {
    let py = std::env::var("ADASVAL_PYTHON").unwrap_or_else(|_| "python3".into());
    let probe = format!("import {}", modules.join(", "));
    let ok = Command::new(&py)
        .args(["-c", &probe])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        return Some(py);
    }
    let msg = format!(
        "python reference modules {modules:?} not importable with {py} (pip install -r tests/requirements.txt)"
    );
    if ci() {
        panic!("{msg}: required when CI=true");
    }
    eprintln!("SKIP: {msg}");
    None
}

/// Path of the release binary under test.
pub fn adasval() -> Command {
    Command::new(env!("CARGO_BIN_EXE_adasval"))
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Freeze the [`noop_project`]'s engine file a second time as `fake-b` (two engines of one
/// binary: an A/A pair, or a second engine for per-engine settings).
pub fn freeze_fake_b(p: &Path) {
    let (code, out, err) = run(adasval().current_dir(p).args([
        "engine",
        "freeze",
        "engines/fake.onnx",
        "--name",
        "fake-b",
        "--adapter",
        "engines/fake.adapter.yaml",
    ]));
    assert_eq!(code, 0, "{out}{err}");
}

/// Run the binary and capture (exit code, stdout, stderr).
pub fn run(cmd: &mut Command) -> (i32, String, String) {
    let o = cmd.output().expect("spawn adasval");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

pub const NOOP_ADAPTER: &str = "schema_version: 1
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

/// A small project in a temp dir: a fake engine (any bytes; the noop backend never
/// parses it), its adapter, and one file-based scenario with two PNG frames and COCO labels.
pub fn noop_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path();
    for d in ["engines", "scenarios", "data", "golden"] {
        std::fs::create_dir_all(p.join(d)).unwrap();
    }
    std::fs::write(
        p.join("engines/fake.onnx"),
        b"not really a model, but hashed all the same",
    )
    .unwrap();
    std::fs::write(p.join("engines/fake.adapter.yaml"), NOOP_ADAPTER).unwrap();
    for i in 0..2u8 {
        let img = image::RgbImage::from_fn(40, 20, |x, y| {
            image::Rgb([x as u8 * 5, y as u8 * 9, i * 50])
        });
        img.save(p.join(format!("data/f{i}.png"))).unwrap();
    }
    std::fs::write(
        p.join("golden/labels.json"),
        r#"{"images":[{"id":1,"file_name":"f0.png","width":40,"height":20},{"id":2,"file_name":"f1.png","width":40,"height":20}],
"annotations":[{"id":1,"image_id":1,"category_id":1,"bbox":[2,2,10,12],"area":120,"iscrowd":0}],
"categories":[{"id":1,"name":"person"}]}"#,
    )
    .unwrap();
    std::fs::write(
        p.join("scenarios/two-frames.yaml"),
        "schema_version: 1
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
",
    )
    .unwrap();
    let (code, out, err) = run(adasval().current_dir(p).args([
        "engine",
        "freeze",
        "engines/fake.onnx",
        "--name",
        "fake",
        "--adapter",
        "engines/fake.adapter.yaml",
    ]));
    assert_eq!(code, 0, "freeze failed: {out}{err}");
    dir
}

/// VOC classes with no COCO / demo counterpart, dropped from golden labels in tests.
pub const VOC_IGNORED: &str = "[aeroplane, bird, boat, bottle, cat, chair, cow, diningtable, dog, horse, pottedplant, sheep, sofa, train, tvmonitor]";

/// A temp project with YOLOX-Nano from the shared folder frozen as `engine_name`, and one
/// scenario over the VOC photos matching `glob` (relative to the shared folder, which is
/// the data root).
pub fn yolox_project(
    shared: &std::path::Path,
    engine_name: &str,
    scenario_id: &str,
    glob: &str,
) -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    let p = d.path();
    std::fs::create_dir_all(p.join("engines")).unwrap();
    std::fs::create_dir_all(p.join("scenarios")).unwrap();
    std::fs::copy(
        shared.join("models/yolox_nano/yolox_nano.onnx"),
        p.join("engines/yolox_nano.onnx"),
    )
    .unwrap();
    std::fs::copy(
        repo_root().join("tests/fixtures/yolox_nano.adapter.yaml"),
        p.join("engines/yolox.adapter.yaml"),
    )
    .unwrap();
    std::fs::write(
        p.join(format!("scenarios/{scenario_id}.yaml")),
        format!(
            "schema_version: 1\nid: {scenario_id}\ntitle: VOC 2007 photos\ncategory: pedestrian\ntags: [real, day]\nfps: 10\ndeadline_ms: 1000\nframes:\n  files:\n    glob: {glob}\n    labels: {{ format: voc, path: data/voc100/labels/voc_xml }}\n    class_map: {{ motorbike: motorcycle }}\n    ignore_classes: {VOC_IGNORED}\n"
        ),
    )
    .unwrap();
    let (code, o, e) = run(adasval().current_dir(p).args([
        "engine",
        "freeze",
        "engines/yolox_nano.onnx",
        "--name",
        engine_name,
        "--adapter",
        "engines/yolox.adapter.yaml",
    ]));
    assert_eq!(code, 0, "freeze failed: {o}{e}");
    d
}

/// The identity transform of a 64×32 frame: the fake backends' frames are already the
/// network's input, so boxes come back unscaled.
pub fn identity_transform() -> adasval::preprocess::Transform {
    adasval::preprocess::Transform {
        scale_x: 1.0,
        scale_y: 1.0,
        offset_x: 0.0,
        offset_y: 0.0,
        orig_width: 64,
        orig_height: 32,
    }
}

/// Latency-like samples for the statistics references: a shifted exponential (5 + shift
/// plus Exp(1)), seeded, optionally rounded to 0.1 so there are ties.
pub fn latency_sample(seed: u64, n: usize, shift: f64, round: bool) -> Vec<f64> {
    let mut r = adasval::rng::SplitMix64::new(seed);
    (0..n)
        .map(|_| {
            let u = (r.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            let v = 5.0 + shift - (1.0 - u).ln();
            if round {
                (v * 10.0).round() / 10.0
            } else {
                v
            }
        })
        .collect()
}

/// Replace a frozen adapter's text and its hash in the lock, as a hand-edited or old lock
/// would leave it: the hashes agree, so only the check against the model can catch a misfit
/// (`engine freeze` refuses such an adapter outright).
pub fn rehash_adapter(project: &std::path::Path, adapter_rel: &str, text: &str) {
    let adapter = project.join(adapter_rel);
    let old = adasval::hash::sha256_hex(&std::fs::read(&adapter).unwrap());
    std::fs::write(&adapter, text).unwrap();
    let lock = project.join("engines/engines.lock.yaml");
    let locked = std::fs::read_to_string(&lock).unwrap();
    assert!(
        locked.contains(&old),
        "{adapter_rel} is not frozen in {locked}"
    );
    std::fs::write(
        &lock,
        locked.replace(&old, &adasval::hash::sha256_hex(text.as_bytes())),
    )
    .unwrap();
    reseal_lock(project);
}

/// Re-seal a lock edited by a test (its seal line recomputed), so that a test of one field's
/// check reaches that check instead of the seal's.
pub fn reseal_lock(project: &std::path::Path) {
    let lock = project.join("engines/engines.lock.yaml");
    let text = std::fs::read_to_string(&lock).unwrap();
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with(adasval::lock::SEAL_PREFIX))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(
        &lock,
        format!("{body}{}", adasval::lock::seal_line(body.as_bytes())),
    )
    .unwrap();
}

/// Runs a reference script (path relative to the repository) with `request` as JSON on its
/// stdin and returns the JSON it prints; panics with its stderr when it fails.
pub fn python_reference(py: &str, script: &str, request: &serde_json::Value) -> serde_json::Value {
    use std::io::Write;
    let mut child = Command::new(py)
        .arg(repo_root().join(script))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{py} {script}: {e}"));
    child
        .stdin
        .take()
        .expect("stdin was piped")
        .write_all(request.to_string().as_bytes())
        .expect("the reference reads its request");
    let out = child.wait_with_output().expect("the reference ran");
    assert!(
        out.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{script} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}
