//! `adasval engine probe` reads a model's edges and suggests an adapter; `engine freeze`
//! and every CPU load refuse an adapter that does not describe its model, and say what the
//! model really has.

use crate::common;
use common::*;

const DEMO_ADAPTER: &str = "engines/demo/adapter.yaml";

/// A project holding the demo detector (from the repository) and `adapter` as its adapter.
fn demo_model_project(adapter: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    let p = d.path();
    std::fs::create_dir_all(p.join("engines")).unwrap();
    std::fs::copy(
        repo_root().join("engines/demo/detector.onnx"),
        p.join("engines/detector.onnx"),
    )
    .unwrap();
    std::fs::write(p.join("engines/adapter.yaml"), adapter).unwrap();
    d
}

fn freeze(p: &std::path::Path, name: &str, adapter: &str) -> (i32, String, String) {
    run(adasval().current_dir(p).args([
        "engine",
        "freeze",
        "engines/detector.onnx",
        "--name",
        name,
        "--adapter",
        adapter,
    ]))
}

fn demo_adapter() -> String {
    std::fs::read_to_string(repo_root().join(DEMO_ADAPTER)).unwrap()
}

#[test]
fn probe_reads_the_demo_detector_and_suggests_its_decoder() {
    let (code, out, err) = run(adasval().current_dir(repo_root()).args([
        "engine",
        "probe",
        "engines/demo/detector.onnx",
        "--format",
        "json",
    ]));
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let sig = &v["signature"];
    assert_eq!(sig["inputs"][0]["name"], "images", "{v}");
    assert_eq!(
        sig["inputs"][0]["shape"],
        serde_json::json!([1, 3, 288, 512])
    );
    assert_eq!(sig["outputs"][0]["name"], "output");
    assert_eq!(sig["outputs"][0]["shape"], serde_json::json!([1, 2880, 10]));
    assert!(sig["opset"].as_i64().is_some_and(|o| o >= 11), "{sig}");
    assert_eq!(v["suggestion"]["decoder"], "yolox");
    // The skeleton's decoding part is the hand-written adapter's.
    let yaml = v["suggestion"]["adapter_yaml"].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("suggested.yaml");
    std::fs::write(&f, yaml).unwrap();
    let ours = adasval::adapter::Adapter::load(&f).expect("the suggestion parses");
    let demo = adasval::adapter::Adapter::load(&repo_root().join(DEMO_ADAPTER)).unwrap();
    assert_eq!(ours.output, demo.output);
    assert_eq!((ours.input.width, ours.input.height), (512, 288));
    assert_eq!(ours.classes.len(), demo.classes.len());
}

#[test]
fn probe_refuses_a_file_that_is_not_onnx() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("x.onnx");
    std::fs::write(&f, b"not a model").unwrap();
    let (code, _o, err) = run(adasval().args(["engine", "probe"]).arg(&f));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a readable ONNX model"), "{err}");
}

#[test]
fn freeze_refuses_an_adapter_that_does_not_describe_the_model() {
    let good = demo_adapter();
    for (edit, needles) in [
        (
            good.replace("  tensor: output", "  tensor: detections"),
            vec![
                "output.tensor",
                "`detections`",
                "`output` float32 [1, 2880, 10]",
            ],
        ),
        (
            good.replace(
                "classes: [pedestrian, cyclist, car, truck, obstacle]",
                "classes: [pedestrian, cyclist, car, truck]",
            )
            .replace(
                "safety_critical: [pedestrian, cyclist, car, truck, obstacle]",
                "safety_critical: [pedestrian]",
            ),
            vec!["`classes`", "4 classes", "has 10 (5 classes)"],
        ),
        (
            good.replace("  width: 512\n  height: 288", "  width: 288\n  height: 512"),
            vec!["input.width/height/layout", "swapped"],
        ),
        (
            good.replace("strides: [8, 16]", "strides: [8, 16, 32]"),
            vec!["output.strides", "2880"],
        ),
        (
            good.replace("  tensor: images", "  tensor: image"),
            vec!["input.tensor", "`images` float32 [1, 3, 288, 512]"],
        ),
    ] {
        assert_ne!(edit, good, "the edit must change the adapter");
        let d = demo_model_project(&edit);
        let (code, out, err) = freeze(d.path(), "demo", "engines/adapter.yaml");
        assert_eq!(code, 2, "{out}{err}");
        for n in needles {
            assert!(err.contains(n), "missing `{n}` in: {err}");
        }
        assert!(
            !d.path().join("engines/engines.lock.yaml").exists(),
            "nothing is frozen"
        );
    }
    // The hand-written adapter fits.
    let d = demo_model_project(&good);
    let (code, out, err) = freeze(d.path(), "demo", "engines/adapter.yaml");
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn loading_a_lock_whose_adapter_no_longer_fits_is_refused_with_the_model_shown() {
    let d = demo_model_project(&demo_adapter());
    let p = d.path();
    let (code, out, err) = freeze(p, "demo", "engines/adapter.yaml");
    assert_eq!(code, 0, "{out}{err}");
    rehash_adapter(
        p,
        "engines/adapter.yaml",
        &demo_adapter().replace("  tensor: output", "  tensor: logits"),
    );
    std::fs::create_dir_all(p.join("scenarios")).unwrap();
    std::fs::write(
        p.join("scenarios/one.yaml"),
        std::fs::read_to_string(repo_root().join("scenarios/timing-loop.yaml")).unwrap(),
    )
    .unwrap();
    let (code, out, err) =
        run(adasval()
            .current_dir(p)
            .args(["validate", "--max-frames", "1", "--repetitions", "1"]));
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("does not describe the model") && err.contains("`logits`"),
        "{err}"
    );
    assert!(err.contains("`output` float32 [1, 2880, 10]"), "{err}");
}

#[test]
fn probe_suggested_adapter_freezes_and_detects_like_the_hand_written_one() {
    let Some(shared) = shared_dir() else { return };
    let d = yolox_project(
        &shared,
        "by-hand",
        "voc",
        "data/voc100/images/2007_0000*.jpg",
    );
    let p = d.path();
    let (code, out, err) = run(adasval().current_dir(p).args([
        "engine",
        "probe",
        "engines/yolox_nano.onnx",
        "--name",
        "yolox-probed",
        "--adapter-out",
        "engines/probed.adapter.yaml",
    ]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("decoder   yolox"), "{out}");
    // Never overwrites.
    let (code, _o, err) = run(adasval().current_dir(p).args([
        "engine",
        "probe",
        "engines/yolox_nano.onnx",
        "--adapter-out",
        "engines/probed.adapter.yaml",
    ]));
    assert_eq!(code, 2, "{err}");
    let (code, out, err) = run(adasval().current_dir(p).args([
        "engine",
        "freeze",
        "engines/yolox_nano.onnx",
        "--name",
        "probed",
        "--adapter",
        "engines/probed.adapter.yaml",
    ]));
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = run(adasval()
        .current_dir(p)
        .args([
            "validate",
            "--max-frames",
            "4",
            "--warmup",
            "1",
            "--data-root",
        ])
        .arg(&shared));
    assert!(code == 0 || code == 1, "{out}{err}");
    let text = std::fs::read_to_string(p.join(out.trim()).join("detections.jsonl")).unwrap();
    let mut by_engine: std::collections::BTreeMap<String, Vec<serde_json::Value>> =
        Default::default();
    for l in text.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        by_engine
            .entry(v["engine"].as_str().unwrap().to_string())
            .or_default()
            .push(serde_json::json!([v["frame"], v["detections"]]));
    }
    let (a, b) = (&by_engine["by-hand"], &by_engine["probed"]);
    assert_eq!(a.len(), 4);
    assert_eq!(a, b, "same decoding, same detections");
    let found: usize = a
        .iter()
        .map(|f| f[1].as_array().map_or(0, |d| d.len()))
        .sum();
    assert!(found > 0, "YOLOX-Nano finds something in 4 VOC photos");
}
