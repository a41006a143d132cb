//! The CUDA plan builder's ONNX import, checked through the reference interpreter against
//! independent implementations: tract (the CPU backend) on the demo detector and
//! YOLOX-Nano, onnxruntime on small generated models (BatchNorm folding, grouped/dilated
//! convolutions, broadcasting, Focus-style slicing, constant subgraphs), and the errors
//! for what the builder does not support.

use crate::common;
use crate::cudaplan_fixture;

use std::path::Path;
use std::sync::Arc;

use adasval::backend::{cpu::CpuBackend, Backend};
use adasval::cudaplan::build::{build, BuildOptions};
use adasval::cudaplan::ir::{Activation, Op, Precision, TacticPolicy};
use adasval::cudaplan::reference::run_reference;
use adasval::lock::{AdapterRef, EngineFormat, LockEntry, VerifiedEngine};
use adasval::tensor::Tensor;
use common::*;
use cudaplan_fixture::*;

/// The import alone: the elementwise fusion pass has its own tests (cudaplan_fuse.rs).
fn opts() -> BuildOptions {
    BuildOptions {
        name: "t".into(),
        precision: Precision::Fp32,
        tactics: TacticPolicy::Heuristic,
        fuse_elementwise: false,
    }
}

fn tract_outputs(model: &Path, adapter: &Path, input: &Tensor) -> Vec<Tensor> {
    let bytes = std::fs::read(model).unwrap();
    let engine = VerifiedEngine {
        entry: LockEntry {
            name: "ref".into(),
            path: model.display().to_string(),
            format: EngineFormat::Onnx,
            sha256: adasval::hash::sha256_hex(&bytes),
            size: bytes.len() as u64,
            source_model_sha256: None,
            built_on: None,
            frozen_at: "2026-11-26T00:00:00Z".into(),
            adapter: AdapterRef {
                path: adapter.display().to_string(),
                sha256: String::new(),
            },
        },
        bytes: Arc::new(bytes),
        adapter: adasval::adapter::Adapter::load(adapter).unwrap(),
    };
    let prepared = CpuBackend::new(1).prepare(&engine).unwrap();
    let mut session = prepared.session().unwrap();
    session.run(input).unwrap().outputs
}

fn compare_with_tract(model: &Path, adapter: &Path, inputs: &[Tensor]) {
    let plan = build(model, &opts(), &mut FakeChooser::new(0)).unwrap();
    for input in inputs {
        let t0 = std::time::Instant::now();
        let ours = run_reference(&plan, std::slice::from_ref(input)).unwrap();
        let ref_time = t0.elapsed();
        let theirs = tract_outputs(model, adapter, input);
        assert_eq!(ours.len(), theirs.len());
        for (a, b) in ours.iter().zip(&theirs) {
            assert_eq!(a.shape, b.shape, "output {}", a.name);
            let e = rel_l2(&a.data, &b.data);
            eprintln!(
                "{}: output `{}` {:?}: relative L2 vs tract {e:.3e} (reference interpreter {:.2} s)",
                model.display(),
                a.name,
                a.shape,
                ref_time.as_secs_f64()
            );
            assert!(e < 1e-4, "{}: relative L2 {e} vs tract", a.name);
        }
    }
}

#[test]
fn demo_detector_matches_tract() {
    let root = repo_root();
    let model = root.join("engines/demo/detector.onnx");
    let plan = build(&model, &opts(), &mut FakeChooser::new(0)).unwrap();
    // The export folded BatchNorm already; every Conv+Relu pair becomes one layer.
    let convs = plan
        .plan
        .layers
        .iter()
        .filter(|l| matches!(l.op, Op::Conv { .. }))
        .count();
    assert_eq!(convs, onnx_op_count(&model, "Conv"));
    // A Relu left standalone reads something other than a convolution (a residual Add).
    let conv_outputs: std::collections::HashSet<usize> = plan
        .plan
        .layers
        .iter()
        .filter(|l| matches!(l.op, Op::Conv { .. }))
        .flat_map(|l| l.outputs.iter().copied())
        .collect();
    for l in plan.plan.layers.iter().filter(|l| l.op.kind() == "Relu") {
        assert!(
            !conv_outputs.contains(&l.inputs[0]),
            "Relu `{}` after a convolution was not fused",
            l.name
        );
    }
    // Each head's score Conv → Sigmoid is one layer too.
    assert_eq!(
        plan.plan
            .layers
            .iter()
            .filter(|l| l.op.kind() == "Sigmoid")
            .count(),
        0
    );
    assert_eq!(plan.plan.tensors[plan.plan.outputs[0]].name, "output");
    let inputs: Vec<Tensor> = (0..2)
        .map(|s| {
            Tensor::new(
                "images",
                vec![1, 3, 288, 512],
                seeded(s, 3 * 288 * 512, 0.0, 1.0),
            )
        })
        .collect();
    compare_with_tract(&model, &root.join("engines/demo/adapter.yaml"), &inputs);
}

#[test]
fn yolox_nano_matches_tract() {
    let Some(shared) = shared_dir() else { return };
    let model = shared.join("models/yolox_nano/yolox_nano.onnx");
    let adapter_path = repo_root().join("tests/fixtures/yolox_nano.adapter.yaml");
    let plan = build(&model, &opts(), &mut FakeChooser::new(0)).unwrap();
    let count = |k: &str| plan.plan.layers.iter().filter(|l| l.op.kind() == k).count();
    let fused_as = |a: Activation| {
        plan.plan
            .layers
            .iter()
            .filter(|l| matches!(l.op, Op::Conv { activation: Some(x), .. } if x == a))
            .count()
    };
    // The op census of the ONNX file (Netron / onnx.load): every node becomes a layer or
    // is absorbed into a convolution's epilogue (SiLU = Sigmoid + Mul, or a Sigmoid).
    assert_eq!(count("Conv"), 113);
    assert_eq!(count("Slice"), 8);
    let (silu, sig) = (fused_as(Activation::Silu), fused_as(Activation::Sigmoid));
    eprintln!("YOLOX-Nano: {silu} Conv+SiLU and {sig} Conv+Sigmoid fusions");
    assert!(
        silu > 0,
        "YOLOX-Nano's Conv+Sigmoid+Mul blocks were not fused"
    );
    assert_eq!(
        count("Sigmoid") + silu + sig,
        onnx_op_count(&model, "Sigmoid")
    );
    assert_eq!(count("Mul") + silu, onnx_op_count(&model, "Mul"));
    assert_eq!(count("Sigmoid") + silu + sig, 110);
    assert_eq!(count("Mul") + silu, 104);
    // Every absorbed node is recorded by its ONNX name, with the right op.
    let ops = onnx_node_ops(&model);
    for l in &plan.plan.layers {
        if let Op::Conv {
            activation: Some(a @ (Activation::Silu | Activation::Sigmoid)),
            ..
        } = l.op
        {
            let tail: Vec<&str> = l
                .fused
                .iter()
                .rev()
                .take(if a == Activation::Silu { 2 } else { 1 })
                .map(|n| ops.get(n).map(String::as_str).unwrap_or("?"))
                .collect();
            let want: &[&str] = if a == Activation::Silu {
                &["Mul", "Sigmoid"]
            } else {
                &["Sigmoid"]
            };
            assert_eq!(tail, want, "layer `{}` fused {:?}", l.name, l.fused);
        }
    }
    let groups: std::collections::BTreeSet<usize> = plan
        .plan
        .layers
        .iter()
        .filter_map(|l| match l.op {
            Op::Conv { group, .. } => Some(group),
            _ => None,
        })
        .collect();
    assert_eq!(
        groups.into_iter().collect::<Vec<_>>(),
        vec![1, 16, 32, 64, 128]
    );
    let mut inputs = vec![Tensor::new(
        "images",
        vec![1, 3, 416, 416],
        seeded(11, 3 * 416 * 416, 0.0, 255.0),
    )];
    // A real photo, letterboxed by the adapter's own preprocessing.
    let adapter = adasval::adapter::Adapter::load(&adapter_path).unwrap();
    let mut photos: Vec<_> = glob::glob(&format!("{}/data/voc100/images/*.jpg", shared.display()))
        .unwrap()
        .flatten()
        .collect();
    photos.sort();
    if let Some(p) = photos.first() {
        let img = image::open(p).unwrap().to_rgb8();
        let img = adasval::preprocess::RgbImage {
            width: img.width(),
            height: img.height(),
            data: img.into_raw(),
        };
        let (t, _) = adasval::preprocess::preprocess(&adapter, &img);
        inputs.push(t);
    }
    compare_with_tract(&model, &adapter_path, &inputs);
}

/// ONNX node name → op type.
fn onnx_node_ops(model: &Path) -> std::collections::HashMap<String, String> {
    use tract_onnx::prelude::Framework;
    let proto = tract_onnx::onnx()
        .proto_model_for_path(model)
        .expect("parse ONNX");
    proto
        .graph
        .expect("graph")
        .node
        .iter()
        .map(|n| (n.name.clone(), n.op_type.clone()))
        .collect()
}

fn read_f32(p: &Path) -> Vec<f32> {
    std::fs::read(p)
        .unwrap()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn generated_models() -> Option<(String, tempfile::TempDir)> {
    let py = python_with(&["onnx", "onnxruntime", "numpy"])?;
    let dir = tempfile::tempdir().unwrap();
    let script = repo_root().join("tests/py/cudaplan_models.py");
    let st = std::process::Command::new(&py)
        .arg(&script)
        .arg("gen")
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(st.success());
    Some((py, dir))
}

fn compare_with_ort(
    py: &str,
    dir: &Path,
    model: &str,
    seed: u64,
) -> adasval::cudaplan::format::PlanFile {
    let path = dir.join(model);
    let plan = build(&path, &opts(), &mut FakeChooser::new(0)).unwrap();
    let input_id = plan.plan.inputs[0];
    let info = &plan.plan.tensors[input_id];
    let x = seeded(seed, info.elements(), -1.0, 1.0);
    let input_file = dir.join(format!("{model}.in.f32"));
    std::fs::write(
        &input_file,
        x.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>(),
    )
    .unwrap();
    let out_dir = dir.join(format!("{model}.out"));
    let st = std::process::Command::new(py)
        .arg(repo_root().join("tests/py/cudaplan_models.py"))
        .arg("ort")
        .arg(&path)
        .arg(&input_file)
        .arg(&out_dir)
        .status()
        .unwrap();
    assert!(st.success());
    let ours = run_reference(
        &plan,
        &[Tensor::new(info.name.clone(), info.shape.clone(), x)],
    )
    .unwrap();
    for (k, o) in ours.iter().enumerate() {
        let theirs = read_f32(&out_dir.join(format!("{k}.f32")));
        let e = rel_l2(&o.data, &theirs);
        eprintln!(
            "{model}: output `{}` {:?}: relative L2 vs onnxruntime {e:.3e}",
            o.name, o.shape
        );
        assert!(
            e < 1e-5,
            "{model} output {k}: relative L2 {e} vs onnxruntime"
        );
    }
    plan
}

#[test]
fn batchnorm_folding_matches_onnxruntime() {
    let Some((py, dir)) = generated_models() else {
        return;
    };
    let plan = compare_with_ort(&py, dir.path(), "conv_bn_relu.onnx", 3);
    let layers = &plan.plan.layers;
    assert_eq!(layers.len(), 2, "{layers:#?}");
    assert_eq!(layers[0].name, "conv1");
    assert_eq!(
        layers[0].fused,
        vec!["bn1".to_string(), "relu1".to_string()]
    );
    assert!(matches!(
        layers[0].op,
        Op::Conv {
            activation: Some(_),
            bias: Some(_),
            ..
        }
    ));
    assert_eq!(layers[1].fused, vec!["bn2".to_string()]);
    // conv2 had no bias: folding creates one.
    assert!(matches!(
        layers[1].op,
        Op::Conv {
            activation: None,
            bias: Some(_),
            ..
        }
    ));
    let names: Vec<&str> = plan
        .plan
        .outputs
        .iter()
        .map(|t| plan.plan.tensors[*t].name.as_str())
        .collect();
    assert_eq!(names, ["y1", "y2"]);
}

#[test]
fn grouped_dilated_broadcast_match_onnxruntime() {
    let Some((py, dir)) = generated_models() else {
        return;
    };
    let plan = compare_with_ort(&py, dir.path(), "grouped.onnx", 5);
    let kinds: Vec<&str> = plan.plan.layers.iter().map(|l| l.op.kind()).collect();
    // The Sigmoid, sole reader of the grouped convolution, becomes its epilogue.
    assert_eq!(
        kinds,
        ["Conv", "Conv", "MaxPool", "Resize", "Slice", "Add", "Mul"]
    );
    assert_eq!(plan.plan.layers[1].fused, vec!["sig".to_string()]);
    assert!(matches!(
        plan.plan.layers[1].op,
        Op::Conv {
            activation: Some(Activation::Sigmoid),
            ..
        }
    ));
}

#[test]
fn focus_slices_and_constant_subgraphs_match_onnxruntime() {
    let Some((py, dir)) = generated_models() else {
        return;
    };
    let plan = compare_with_ort(&py, dir.path(), "misc.onnx", 9);
    // Shape/Gather/Unsqueeze/Concat fold away; Identity is elided.
    let kinds: Vec<&str> = plan.plan.layers.iter().map(|l| l.op.kind()).collect();
    assert_eq!(
        kinds,
        [
            "Slice",
            "Slice",
            "Slice",
            "Slice",
            "Slice",
            "Slice",
            "Slice",
            "Slice",
            "Concat",
            "Conv",
            "Reshape",
            "Transpose",
            "Reshape"
        ]
    );
    // conv → Sigmoid and Mul(conv, sigmoid) is SiLU: one layer, both nodes recorded.
    let conv = &plan.plan.layers[9];
    assert_eq!(
        conv.fused,
        vec!["silu_sig".to_string(), "silu_mul".to_string()]
    );
    assert!(matches!(
        conv.op,
        Op::Conv {
            activation: Some(Activation::Silu),
            ..
        }
    ));
}

#[test]
fn opset9_attribute_forms_match_onnxruntime() {
    let Some((py, dir)) = generated_models() else {
        return;
    };
    let plan = compare_with_ort(&py, dir.path(), "legacy.onnx", 13);
    let kinds: Vec<&str> = plan.plan.layers.iter().map(|l| l.op.kind()).collect();
    assert_eq!(kinds, ["Slice", "Resize", "Reshape", "Reshape", "Relu"]);
    // The Identity is elided but the output keeps the graph's name.
    assert_eq!(plan.plan.tensors[plan.plan.outputs[0]].name, "y");
}

#[test]
fn unsupported_op_and_attribute_name_the_node() {
    let Some((_, dir)) = generated_models() else {
        return;
    };
    let err = build(
        &dir.path().join("softmax.onnx"),
        &opts(),
        &mut FakeChooser::new(0),
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("the_softmax") && msg.contains("Softmax"),
        "{msg}"
    );
    let err = build(
        &dir.path().join("asym_pads.onnx"),
        &opts(),
        &mut FakeChooser::new(0),
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("asym_conv") && msg.contains("Conv") && msg.contains("asymmetric"),
        "{msg}"
    );
}

#[test]
fn chooser_sees_every_convolution_with_its_geometry() {
    let model = repo_root().join("engines/demo/detector.onnx");
    let mut chooser = FakeChooser::new(0);
    let mut o = opts();
    o.precision = Precision::Fp16;
    o.tactics = TacticPolicy::Deterministic;
    let plan = build(&model, &o, &mut chooser).unwrap();
    assert_eq!(chooser.calls, onnx_op_count(&model, "Conv"));
    // The first convolution of the stem: 3->8, stride 2, pad 1 on the 288x512 input.
    let p = &chooser.problems[0];
    assert_eq!(p.input, [1, 3, 288, 512]);
    assert_eq!(p.weight, [8, 3, 3, 3]);
    assert_eq!(p.output, [1, 8, 144, 256]);
    assert_eq!(
        (p.stride, p.pads, p.precision, p.policy),
        (
            [2, 2],
            [1, 1, 1, 1],
            Precision::Fp16,
            TacticPolicy::Deterministic
        )
    );
    let max_ws = plan
        .plan
        .layers
        .iter()
        .filter_map(|l| l.choice.as_ref())
        .map(|c| c.workspace_bytes)
        .max();
    assert_eq!(Some(plan.plan.memory.workspace_bytes), max_ws);
    assert!(!plan.plan.tf32);
    assert_eq!(
        plan.plan.built_on.as_ref().map(|d| d.name.as_str()),
        Some("Fake GPU")
    );
    assert_eq!(
        plan.plan.source_sha256,
        adasval::hash::sha256_file(&model).unwrap()
    );
}
