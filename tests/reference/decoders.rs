//! adasval's output decoders against the original projects' own post-processing, installed
//! from PyPI (tests/requirements-upstream.txt) and run on the same raw tensors: YOLOX 0.3.0
//! (`demo_postprocess` + `postprocess`, from its sdist), ultralytics YOLOv8 with DFL
//! (`Detect._inference` + `non_max_suppression`), torchvision FCOS, SSD and RetinaNet
//! (`postprocess_detections` of the models themselves), Hugging Face DETR and RT-DETR
//! (`post_process_object_detection`), YOLOv10's `[1, 300, 6]` table (ultralytics'
//! end-to-end `non_max_suppression`), YOLOv5's anchor heads, PyTorch and channel-last
//! TensorFlow (the `yolov5` 7.0.14 package's `Detect.forward` + `non_max_suppression`; the
//! channel-last heads transposed for it), and, with no installable upstream at all,
//! YOLOv7's end-to-end `[N, 7]` table (its README's onnxruntime demo) and the tanh-offset
//! grid of issue 23 (that formula).
//! tests/py/decoder_upstream.py draws the tensors (seeded, with decoder_reference.py) and
//! says which code ran for each case. Kept sets must be equal after NMS, boxes within
//! 1e-4 px, scores within 1e-5; decoder_reference.py's numpy transcription, from which the
//! self-test's committed decoder cases come, is held to the same.

use crate::common;
use adasval::adapter::Adapter;
use adasval::preprocess::Transform;
use adasval::tensor::Tensor;
use common::*;
use serde_json::json;

const PREAMBLE: &str = "schema_version: 1\nname: t\ninput:\n  tensor: images\n  layout: nchw\n  width: {W}\n  height: {H}\n  channel_order: rgb\n  resize: { policy: stretch }\n";

struct Case {
    name: &'static str,
    width: u32,
    height: u32,
    classes: usize,
    conf: f32,
    iou: f32,
    max_det: usize,
    /// The adapter from `output:` on (thresholds are appended).
    adapter: String,
    extra: serde_json::Value,
}

fn adapter_for(c: &Case) -> Adapter {
    let classes: Vec<String> = (0..c.classes).map(|i| format!("c{i}")).collect();
    let text = format!(
        "{}{}classes: [{}]\nscore_threshold: {}\nnms_iou: {}\nmax_detections: {}\n",
        PREAMBLE
            .replace("{W}", &c.width.to_string())
            .replace("{H}", &c.height.to_string()),
        c.adapter,
        classes.join(", "),
        c.conf,
        c.iou,
        c.max_det
    );
    Adapter::parse(std::path::Path::new("adapter.yaml"), &text)
        .unwrap_or_else(|e| panic!("{}: {e}\n{text}", c.name))
}

fn request(c: &Case, seed: u64) -> serde_json::Value {
    let mut req = json!({
        "case": c.name, "seed": seed, "width": c.width, "height": c.height,
        "classes": c.classes, "conf": c.conf, "iou": c.iou, "max_det": c.max_det,
    });
    for (k, v) in c.extra.as_object().unwrap() {
        req[k] = v.clone();
    }
    req
}

/// adasval's decoder on the tensors of one reference result `r`, against its detections;
/// returns how many were kept.
fn check(c: &Case, seed: u64, r: &serde_json::Value) -> usize {
    let outputs: Vec<Tensor> = r["tensors"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, t)| {
            let shape = serde_json::from_value(t["shape"].clone()).unwrap();
            let data: Vec<f64> = serde_json::from_value(t["data"].clone()).unwrap();
            Tensor::new(
                name.clone(),
                shape,
                data.iter().map(|v| *v as f32).collect(),
            )
        })
        .collect();
    let identity = Transform {
        scale_x: 1.0,
        scale_y: 1.0,
        offset_x: 0.0,
        offset_y: 0.0,
        orig_width: c.width,
        orig_height: c.height,
    };
    let ours: Vec<[f64; 6]> = adasval::decode::decode(&adapter_for(c), &outputs, &identity)
        .unwrap_or_else(|e| panic!("{}: {e}", c.name))
        .iter()
        .map(|d| {
            let b = d.bbox.map(f64::from);
            [
                b[0],
                b[1],
                b[0] + b[2],
                b[1] + b[3],
                f64::from(d.score),
                f64::from(d.class_id),
            ]
        })
        .collect();
    let upstream = rows(&r["detections"]);
    let what = format!("{} seed {seed}", c.name);
    let names = ("adasval", format!("the reference ({})", r["upstream"]));
    same_detections(&what, &ours, &upstream, &names);
    // The transcription the self-test's committed cases come from holds to upstream too.
    let names = ("the transcription", names.1);
    same_detections(&what, &rows(&r["transcription"]), &upstream, &names);
    ours.len()
}

/// `[[x1, y1, x2, y2, score, class], ...]` from the reference's JSON.
fn rows(v: &serde_json::Value) -> Vec<[f64; 6]> {
    serde_json::from_value(v.clone()).unwrap()
}

/// The same kept set in the same order: class equal, score within 1e-5, corners within
/// 1e-4 px.
fn same_detections(what: &str, a: &[[f64; 6]], b: &[[f64; 6]], names: &(&str, String)) {
    let (na, nb) = names;
    assert_eq!(
        a.len(),
        b.len(),
        "{what}: {na} kept {} boxes, {nb} {}",
        a.len(),
        b.len()
    );
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let ctx = format!("{what} detection {i}: {na} {x:?}, {nb} {y:?}");
        assert_eq!(x[5], y[5], "{ctx}");
        assert!((x[4] - y[4]).abs() < 1e-5, "{ctx}");
        for (p, q) in x[..4].iter().zip(&y[..4]) {
            assert!((p - q).abs() < 1e-4, "{ctx}");
        }
    }
}

fn cases() -> Vec<Case> {
    let ultra = |agnostic: bool, max_nms: usize| json!({"agnostic": agnostic, "max_nms": max_nms, "max_det": 300});
    vec![
        Case {
            name: "yolox",
            width: 64,
            height: 64,
            classes: 3,
            conf: 0.3,
            iou: 0.45,
            max_det: 100,
            adapter: "output:\n  decoder: yolox\n  tensor: output\n  strides: [8, 16, 32]\n".into(),
            extra: json!({"strides": [8, 16, 32]}),
        },
        Case {
            name: "yolov8_dfl",
            width: 64,
            height: 96,
            classes: 4,
            conf: 0.25,
            iou: 0.5,
            max_det: 300,
            adapter: "output:\n  decoder: grid\n  tensors: [output0]\n  layout: columns\n  strides: [8, 16, 32]\n  channels: { box: 0, classes: 64 }\n  boxes: { encoding: ltrb, dfl_bins: 16, unit: stride, cell_center: 0.5 }\n  score: { classes: sigmoid }\ntop_k: 30000\n".into(),
            extra: {
                let mut e = ultra(false, 30000);
                e["strides"] = json!([8, 16, 32]);
                e["dfl_bins"] = json!(16);
                e
            },
        },
        // Class-agnostic NMS with a top-k that binds (ultralytics' max_nms).
        Case {
            name: "yolov8_dfl",
            width: 64,
            height: 64,
            classes: 4,
            conf: 0.1,
            iou: 0.5,
            max_det: 300,
            adapter: "output:\n  decoder: grid\n  tensors: [output0]\n  layout: columns\n  strides: [8, 16]\n  channels: { box: 0, classes: 64 }\n  boxes: { encoding: ltrb, dfl_bins: 16, unit: stride, cell_center: 0.5 }\n  score: { classes: sigmoid }\ntop_k: 12\nnms_class_agnostic: true\n".into(),
            extra: {
                let mut e = ultra(true, 12);
                e["strides"] = json!([8, 16]);
                e["dfl_bins"] = json!(16);
                e
            },
        },
        Case {
            name: "yolov5",
            width: 64,
            height: 64,
            classes: 3,
            conf: 0.25,
            iou: 0.45,
            max_det: 300,
            adapter: "output:\n  decoder: grid\n  tensors: [p0, p1, p2]\n  layout: channel_first\n  strides: [8, 16, 32]\n  anchors: [[[10, 13], [16, 30], [33, 23]], [[30, 61], [62, 45], [59, 119]], [[116, 90], [156, 198], [373, 326]]]\n  channels: { box: 0, objectness: 4, classes: 5 }\n  boxes:\n    encoding: center_size\n    xy: { activation: sigmoid, scale: 2, offset: -0.5, unit: cell }\n    wh: { activation: sigmoid, scale: 2, power: 2, unit: anchor }\n  score: { objectness: sigmoid, classes: sigmoid }\ntop_k: 30000\n".into(),
            extra: {
                let mut e = ultra(false, 30000);
                e["strides"] = json!([8, 16, 32]);
                e["anchors"] = json!([[[10, 13], [16, 30], [33, 23]], [[30, 61], [62, 45], [59, 119]], [[116, 90], [156, 198], [373, 326]]]);
                e
            },
        },
        Case {
            name: "fcos",
            width: 64,
            height: 64,
            classes: 3,
            conf: 0.2,
            iou: 0.6,
            max_det: 100,
            adapter: "output:\n  decoder: grid\n  tensors: [head]\n  layout: rows\n  strides: [8, 16, 32]\n  channels: { box: 0, objectness: 4, classes: 5 }\n  boxes: { encoding: ltrb, unit: stride, cell_center: 0 }\n  score: { objectness: sigmoid, classes: sigmoid, objectness_power: 0.5, class_power: 0.5, multi_label: true }\nclip_to_input: true\n".into(),
            extra: json!({"strides": [8, 16, 32], "topk_candidates": 1000}),
        },
        Case {
            name: "ssd",
            width: 96,
            height: 64,
            classes: 3,
            conf: 0.3,
            iou: 0.45,
            max_det: 200,
            adapter: "output:\n  decoder: priors\n  deltas: deltas\n  scores: scores\n  priors: priors\n  prior_format: xyxy\n  variances: [0.1, 0.1, 0.2, 0.2]\n  scores_activation: softmax\n  background: first\nclip_to_input: true\n".into(),
            extra: json!({"priors": 300, "topk_candidates": 400}),
        },
        Case {
            name: "retinanet",
            width: 64,
            height: 64,
            classes: 3,
            conf: 0.3,
            iou: 0.5,
            max_det: 300,
            adapter: "output:\n  decoder: priors\n  deltas: deltas\n  scores: scores\n  priors: priors\n  variances: [1, 1, 1, 1]\n  scores_activation: sigmoid\n  background: none\nclip_to_input: true\n".into(),
            extra: json!({"priors": 300, "topk_candidates": 1000}),
        },
        Case {
            name: "detr",
            width: 128,
            height: 96,
            classes: 4,
            conf: 0.5,
            iou: 0.5,
            max_det: 100,
            adapter: "output:\n  decoder: end_to_end\n  boxes: pred_boxes\n  logits: logits\n  scoring: softmax_no_object\n".into(),
            extra: json!({"queries": 100}),
        },
        Case {
            name: "rtdetr",
            width: 128,
            height: 96,
            classes: 4,
            conf: 0.4,
            iou: 0.5,
            max_det: 300,
            adapter: "output:\n  decoder: end_to_end\n  boxes: pred_boxes\n  logits: logits\n  scoring: sigmoid\n".into(),
            extra: json!({"queries": 60}),
        },
        // Already-decoded tables: YOLOv10's [1, 300, 6] (threshold only) and YOLOv7's
        // end-to-end ONNX [N, 7] with a batch column (every row of image 0; threshold 0).
        Case {
            name: "table_yolov10",
            width: 96,
            height: 64,
            classes: 4,
            conf: 0.3,
            iou: 0.5,
            max_det: 300,
            adapter: "output:\n  decoder: table\n  tensor: output0\n  columns: [x1, y1, x2, y2, score, class]\n".into(),
            extra: json!({"rows": 300}),
        },
        Case {
            name: "table_yolov7",
            width: 96,
            height: 64,
            classes: 4,
            conf: 0.0,
            iou: 0.5,
            max_det: 300,
            adapter: "output:\n  decoder: table\n  tensor: output\n  columns: [batch, x1, y1, x2, y2, class, score]\n".into(),
            extra: json!({"rows": 120}),
        },
        // Channel-last heads [1, H, W, A·(5+C)]: YOLOv5's TensorFlow / TFLite export.
        Case {
            name: "yolov5_tf",
            width: 64,
            height: 64,
            classes: 3,
            conf: 0.25,
            iou: 0.45,
            max_det: 300,
            adapter: "output:\n  decoder: grid\n  tensors: [p0, p1, p2]\n  layout: channel_last\n  strides: [8, 16, 32]\n  anchors: [[[10, 13], [16, 30], [33, 23]], [[30, 61], [62, 45], [59, 119]], [[116, 90], [156, 198], [373, 326]]]\n  channels: { box: 0, objectness: 4, classes: 5 }\n  boxes:\n    encoding: center_size\n    xy: { activation: sigmoid, scale: 2, offset: -0.5, unit: cell }\n    wh: { activation: sigmoid, scale: 2, power: 2, unit: anchor }\n  score: { objectness: sigmoid, classes: sigmoid }\ntop_k: 30000\n".into(),
            extra: json!({
                "agnostic": false, "max_nms": 30000, "max_det": 300, "strides": [8, 16, 32],
                "anchors": [[[10, 13], [16, 30], [33, 23]], [[30, 61], [62, 45], [59, 119]], [[116, 90], [156, 198], [373, 326]]],
            }),
        },
        // Issue 23's first example: objectness in channel 0, tanh centre offsets, sigmoid
        // sizes as fractions of the input, score = obj² · cls^0.5 (no upstream project: the
        // reference is written from that description).
        Case {
            name: "tanh_grid",
            width: 64,
            height: 64,
            classes: 3,
            conf: 0.3,
            iou: 0.5,
            max_det: 100,
            adapter: "output:\n  decoder: grid\n  tensors: [h8, h16]\n  layout: channel_first\n  strides: [8, 16]\n  channels: { objectness: 0, box: 1, classes: 5 }\n  boxes:\n    encoding: center_size\n    xy: { activation: tanh, offset: 0.5, unit: cell }\n    wh: { activation: sigmoid, unit: input }\n  score: { objectness: sigmoid, classes: sigmoid, objectness_power: 2, class_power: 0.5 }\n".into(),
            extra: json!({"strides": [8, 16], "obj_power": 2, "cls_power": 0.5}),
        },
    ]
}

/// The unpacked yolox==0.3.0 sdist (.ci/run): `None` with a printed reason when absent,
/// a panic under `CI=true`.
fn yolox_source() -> Option<std::path::PathBuf> {
    let dir = std::env::var_os("ADASVAL_YOLOX_SRC")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| common::repo_root().join("target/upstream/yolox-0.3.0"));
    if dir.join("yolox/utils/boxes.py").exists() {
        return Some(dir);
    }
    let msg = format!(
        "YOLOX's post-processing not found at {} (.ci/run unpacks the yolox==0.3.0 sdist \
         there; or set ADASVAL_YOLOX_SRC)",
        dir.display()
    );
    if common::ci() {
        panic!("{msg}: required when CI=true");
    }
    eprintln!("SKIP: {msg}");
    None
}

#[test]
fn decoders_match_the_original_post_processing() {
    let Some(py) = python_with(&[
        "numpy",
        "torch",
        "torchvision",
        "transformers",
        "ultralytics",
        "yolov5",
    ]) else {
        return;
    };
    let Some(yolox) = yolox_source() else {
        return;
    };
    // One Python process for every case and seed: importing torch, transformers and
    // ultralytics costs seconds, 39 times over otherwise.
    let cases = cases();
    let requests: Vec<serde_json::Value> = cases
        .iter()
        .flat_map(|c| (0..3).map(move |seed| request(c, seed)))
        .collect();
    let response = python_reference(
        &py,
        "tests/py/decoder_upstream.py",
        &json!({ "requests": requests, "yolox_src": yolox }),
    );
    let results = response["results"].as_array().unwrap();
    assert_eq!(results.len(), requests.len());
    // Every case is checked, so one failure does not hide another; the failed ones are listed.
    let mut failed = Vec::new();
    for (ci, c) in cases.iter().enumerate() {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut kept = 0;
            for seed in 0..3u64 {
                kept += check(c, seed, &results[ci * 3 + seed as usize]);
            }
            // The comparison means something only if boxes survive (and NMS had work).
            assert!(kept >= 3, "{}: only {kept} detections over 3 seeds", c.name);
        }));
        if outcome.is_err() {
            failed.push(c.name);
        }
    }
    assert!(
        failed.is_empty(),
        "decoders unlike their reference: {failed:?}"
    );
}
