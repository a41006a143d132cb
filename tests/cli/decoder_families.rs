//! Round trip per decoder family (grid heads, exported and raw-DFL YOLOv8, YOLOv5 anchors,
//! SSD priors, tables, end-to-end): a tiny exported network (tests/py/make_family_networks.py)
//! → `engine probe` suggests the decoder that fits its outputs → the suggested adapter
//! (classes renamed to the scenario vocabulary, as a user would) freezes → `validate`
//! finds the one prediction the network holds: class 2, 16 × 16 input px at (24, 16).

use crate::common;
use common::*;

const VOCABULARY: &str = "classes: [pedestrian, cyclist, car, truck, obstacle]";

/// `classes_in_shape`: whether the output shapes tell the class count (a table's do not);
/// `reads`: what the suggested adapter must say to decode the family (its anchors, its DFL
/// bins), beside the decoder's name.
fn round_trip(py: &str, family: &str, decoder: &str, classes_in_shape: bool, reads: &[&str]) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::create_dir_all(p.join("engines")).unwrap();
    std::fs::create_dir_all(p.join("scenarios")).unwrap();
    let model = p.join("engines/net.onnx");
    let st = std::process::Command::new(py)
        .arg(repo_root().join("tests/py/make_family_networks.py"))
        .arg(family)
        .arg(&model)
        .status()
        .expect("python runs");
    assert!(st.success(), "{family}: the network generator failed");
    let (code, out, err) = run(adasval().current_dir(p).args([
        "engine",
        "probe",
        "engines/net.onnx",
        "--format",
        "json",
    ]));
    assert_eq!(code, 0, "{family}: {err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["suggestion"]["decoder"], decoder, "{family}: {v}");
    let yaml = v["suggestion"]["adapter_yaml"].as_str().unwrap();
    for r in reads {
        assert!(
            yaml.contains(r),
            "{family}: the suggestion lacks `{r}`:\n{yaml}"
        );
    }
    let classes_line = yaml
        .lines()
        .find(|l| l.starts_with("classes:"))
        .expect("the skeleton lists classes");
    assert_eq!(
        classes_line.matches(',').count(),
        if classes_in_shape { 4 } else { 0 },
        "{family}: five classes read from the shapes, or one placeholder: {classes_line}"
    );
    std::fs::write(
        p.join("engines/adapter.yaml"),
        yaml.replace(classes_line, VOCABULARY),
    )
    .unwrap();
    let (code, out, err) = run(adasval().current_dir(p).args([
        "engine",
        "freeze",
        "engines/net.onnx",
        "--name",
        family,
        "--adapter",
        "engines/adapter.yaml",
    ]));
    assert_eq!(code, 0, "{family}: {out}{err}\n{yaml}");
    std::fs::write(
        p.join("scenarios/one.yaml"),
        std::fs::read_to_string(repo_root().join("scenarios/timing-loop.yaml")).unwrap(),
    )
    .unwrap();
    let (code, out, err) = run(adasval().current_dir(p).args([
        "validate",
        "--max-frames",
        "2",
        "--repetitions",
        "1",
        "--warmup",
        "0",
    ]));
    assert!(code == 0 || code == 1, "{family}: {out}{err}");
    let run_dir = p.join(out.trim());
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("run.json")).unwrap()).unwrap();
    let post = &record["engines"][0]["postprocess"];
    assert_eq!(
        post["decoder"], decoder,
        "{family}: the run records its decoding: {post}"
    );
    assert_eq!(post["output"]["decoder"], decoder, "{post}");
    assert_eq!(post["max_detections"], 100, "{post}");
    let text = std::fs::read_to_string(run_dir.join("detections.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{family}: {text}");
    for l in &lines {
        let dets = l["detections"].as_array().unwrap();
        assert_eq!(dets.len(), 1, "{family}: one prediction per frame: {l}");
        assert_eq!(dets[0]["class_id"], 2, "{family}: {l}");
        // 16 input px, scaled to the frame by the letterbox (≥ 1 since frames are larger).
        let (w, h) = (
            dets[0]["bbox"][2].as_f64().unwrap(),
            dets[0]["bbox"][3].as_f64().unwrap(),
        );
        assert!((w - h).abs() < 1e-3 && w >= 16.0, "{family}: {l}");
        // At (16, 8) of the input, top left of a 16 px box: x = w and y = w / 2 at any scale
        // (a box decoded from the wrong cell, anchor or DFL offset lands elsewhere).
        let (x, y) = (
            dets[0]["bbox"][0].as_f64().unwrap(),
            dets[0]["bbox"][1].as_f64().unwrap(),
        );
        assert!(
            (x - w).abs() < 1e-3 * w && (y - w / 2.0).abs() < 1e-3 * w,
            "{family}: the box is not where the network put it: {l}"
        );
    }
}

#[test]
fn probe_suggests_freezes_and_decodes_each_exported_family() {
    let Some(py) = python_with(&["numpy", "onnx"]) else {
        return;
    };
    let mut failed = Vec::new();
    for (family, decoder, classes_in_shape, reads) in [
        ("grid_heads", "grid", true, &[][..]),
        ("yolov8", "grid", true, &[]),
        ("table", "table", false, &[]),
        ("end_to_end", "end_to_end", true, &[]),
        // SSD: deltas, scores with a background class, priors as a model output.
        (
            "ssd",
            "priors",
            true,
            &["priors: priors", "background: first"],
        ),
        // YOLOv5 anchor-based heads: 3 anchors per cell, the default COCO anchors.
        ("yolov5", "grid", true, &["anchors: [[[10, 13]"]),
        // YOLOv8 raw head: 16 DFL bins per side, distances to the edges.
        (
            "yolov8_dfl",
            "grid",
            true,
            &["dfl_bins: 16", "encoding: ltrb"],
        ),
    ] {
        // Every family runs, so one failure does not hide another; the failed ones are listed.
        let outcome =
            std::panic::catch_unwind(|| round_trip(&py, family, decoder, classes_in_shape, reads));
        if outcome.is_err() {
            failed.push(family);
        }
    }
    assert!(failed.is_empty(), "round trips that failed: {failed:?}");
}

#[test]
fn an_adapter_that_cannot_describe_the_model_names_the_field_shape_and_nearest_decoder() {
    let Some(py) = python_with(&["numpy", "onnx"]) else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::create_dir_all(p.join("engines")).unwrap();
    let st = std::process::Command::new(&py)
        .arg(repo_root().join("tests/py/make_family_networks.py"))
        .arg("yolov8")
        .arg(p.join("engines/net.onnx"))
        .status()
        .unwrap();
    assert!(st.success());
    // A grid adapter with an objectness channel: 10 channels per cell, the model has 9.
    let adapter = format!(
        "schema_version: 1\nname: x\ninput:\n  tensor: images\n  layout: nchw\n  width: 64\n  height: 64\n  channel_order: rgb\n  resize: {{ policy: stretch }}\noutput:\n  decoder: grid\n  tensors: [output0]\n  layout: columns\n  strides: [8, 16, 32]\n  channels: {{ box: 0, objectness: 4, classes: 5 }}\n  boxes: {{ encoding: center_size, xy: {{ unit: pixels }}, wh: {{ unit: pixels }} }}\n{VOCABULARY}\nscore_threshold: 0.3\nnms_iou: 0.5\n"
    );
    std::fs::write(p.join("engines/adapter.yaml"), adapter).unwrap();
    let (code, out, err) = run(adasval().current_dir(p).args([
        "engine",
        "freeze",
        "engines/net.onnx",
        "--name",
        "x",
        "--adapter",
        "engines/adapter.yaml",
    ]));
    assert_eq!(code, 2, "{out}{err}");
    for needle in [
        "output.channels/strides/layout",
        "[1, 10, 84]",
        "`output0` float32 [1, 9, 84]",
        "the decoder that fits its outputs: `grid`",
    ] {
        assert!(err.contains(needle), "missing `{needle}` in: {err}");
    }
}
