//! The builder's elementwise fusion pass (`cudaplan::fuse`) on the real models. Which ONNX
//! nodes it must fold was read off the graphs by hand (Netron / `onnx.load`): the demo
//! detector's two residual blocks (`relu(x + conv(..))`) and its top-down path's two
//! "upsample ×2, add" steps, and YOLOX-Nano's residual bottlenecks (`x + silu(conv(..))`).
//! Fused plans must compute what unfused ones do (the reference interpreter, bit for bit in
//! fp32: the fused forms add and activate in the same order), and `engine inspect` and
//! `engine diff` must show the fusions.

use crate::common;
use crate::cudaplan_fixture;

use adasval::cudaplan::build::{build, BuildOptions};
use adasval::cudaplan::diff::{diff, Verdict};
use adasval::cudaplan::format::PlanFile;
use adasval::cudaplan::inspect::inspect_text;
use adasval::cudaplan::ir::{Activation, EwStep, Layer, Op, Precision, Residual, TacticPolicy};
use adasval::cudaplan::reference::run_reference;
use adasval::tensor::Tensor;
use common::*;
use cudaplan_fixture::*;

fn opts(fuse: bool) -> BuildOptions {
    BuildOptions {
        name: "t".into(),
        precision: Precision::Fp32,
        tactics: TacticPolicy::Heuristic,
        fuse_elementwise: fuse,
    }
}

fn layer<'a>(p: &'a PlanFile, name: &str) -> &'a Layer {
    p.plan
        .layers
        .iter()
        .find(|l| l.name == name)
        .unwrap_or_else(|| panic!("no layer `{name}`"))
}

fn tensor_names(p: &PlanFile, ids: &[usize]) -> Vec<String> {
    ids.iter()
        .map(|t| p.plan.tensors[*t].name.clone())
        .collect()
}

fn count(p: &PlanFile, kind: &str) -> usize {
    p.plan.layers.iter().filter(|l| l.op.kind() == kind).count()
}

fn assert_same_outputs(fused: &PlanFile, unfused: &PlanFile, inputs: &[Tensor]) {
    for x in inputs {
        let a = run_reference(fused, std::slice::from_ref(x)).unwrap();
        let b = run_reference(unfused, std::slice::from_ref(x)).unwrap();
        assert_eq!(a.len(), b.len());
        for (a, b) in a.iter().zip(&b) {
            assert_eq!(a.name, b.name);
            assert_eq!(a.shape, b.shape);
            let differ = a
                .data
                .iter()
                .zip(&b.data)
                .filter(|(p, q)| p.to_bits() != q.to_bits())
                .count();
            assert_eq!(differ, 0, "`{}`: {differ} values differ", a.name);
        }
    }
}

#[test]
fn demo_residual_blocks_and_top_down_adds_are_fused() {
    let model = repo_root().join("engines/demo/detector.onnx");
    let mut chooser = FakeChooser::new(0);
    let fused = build(&model, &opts(true), &mut chooser).unwrap();
    let unfused = build(&model, &opts(false), &mut FakeChooser::new(0)).unwrap();
    // The residual blocks: the block's second convolution takes the block input as its
    // residual and the Relu after the Add as its activation.
    for (conv, add, relu, skip) in [
        (
            "/down8/down8.2/body/body.1/Conv",
            "/down8/down8.2/Add",
            "/down8/down8.2/relu/Relu",
            "/down8/down8.1/down8.1.1/Relu_output_0",
        ),
        (
            "/refine8/refine8.0/body/body.1/Conv",
            "/refine8/refine8.0/Add",
            "/refine8/refine8.0/relu/Relu",
            "/fuse8/fuse8.1/Relu_output_0",
        ),
    ] {
        let l = layer(&fused, conv);
        assert!(
            matches!(
                l.op,
                Op::Conv {
                    residual: Some(Residual::BeforeActivation),
                    activation: Some(Activation::Relu),
                    ..
                }
            ),
            "{conv}: {:?}",
            l.op
        );
        assert_eq!(l.fused, vec![add.to_string(), relu.to_string()]);
        assert_eq!(tensor_names(&fused, &l.inputs[1..]), vec![skip.to_string()]);
        assert_eq!(
            tensor_names(&fused, &l.outputs),
            vec![format!("{relu}_output_0")]
        );
        // The builder timed the convolution with its residual.
        assert!(chooser
            .problems
            .iter()
            .any(|p| p.layer == conv && p.residual == Some(Residual::BeforeActivation)));
    }
    // The top-down path: nearest ×2 of the coarser map plus the lateral map, one kernel.
    for (resize, add, coarse, lateral) in [
        (
            "/up/Resize",
            "/Add",
            "/down32/down32.2/down32.2.1/Relu_output_0",
            "/down16/down16.1/down16.1.1/Relu_output_0",
        ),
        (
            "/up_1/Resize",
            "/Add_1",
            "/lateral/lateral.1/Relu_output_0",
            "/down8/down8.2/relu/Relu_output_0",
        ),
    ] {
        let l = layer(&fused, resize);
        assert_eq!(
            l.op,
            Op::Elementwise {
                resize: Some([2, 2]),
                steps: vec![EwStep::Add(1)]
            }
        );
        assert_eq!(l.fused, vec![add.to_string()]);
        assert_eq!(
            tensor_names(&fused, &l.inputs),
            vec![coarse.to_string(), lateral.to_string()]
        );
        assert_eq!(
            tensor_names(&fused, &l.outputs),
            vec![format!("{add}_output_0")]
        );
    }
    // Nothing elementwise is left on its own; four Add, two Relu and two Resize layers
    // became two convolution epilogues and two chains.
    for kind in ["Add", "Relu", "Resize", "Mul", "Sigmoid"] {
        assert_eq!(count(&fused, kind), 0, "{kind} left");
    }
    assert_eq!(count(&unfused, "Add"), onnx_op_count(&model, "Add"));
    assert_eq!(unfused.plan.layers.len() - fused.plan.layers.len(), 6);
    // Same values, bit for bit (the reference interpreter against itself on both plans;
    // cudaplan_import.rs compares the unfused plan with tract).
    let inputs: Vec<Tensor> = (0..2)
        .map(|s| {
            Tensor::new(
                "images",
                vec![1, 3, 288, 512],
                seeded(40 + s, 3 * 288 * 512, 0.0, 1.0),
            )
        })
        .collect();
    assert_same_outputs(&fused, &unfused, &inputs);
    // The plan survives its file format with the new fields.
    let back = PlanFile::from_bytes(&fused.to_bytes().unwrap()).unwrap();
    assert_eq!(back.plan, fused.plan);
    // inspect shows the fusions; diff tells a fused from an unfused build.
    let text = inspect_text(&fused);
    assert!(
        text.contains("2 residual adds into convolutions") && text.contains("2 elementwise chains"),
        "{text}"
    );
    assert!(text.contains("+residual +relu"), "{text}");
    assert!(text.contains("up2x2(in0) + in1"), "{text}");
    assert!(
        text.contains("fused: /up/Resize") || text.contains("fused: /Add"),
        "{text}"
    );
    let d = diff(&fused, &unfused);
    assert_eq!(d.verdict, Verdict::NotComparable);
    let f = d
        .plan
        .iter()
        .find(|f| f.field == "fusions")
        .expect("fusions differ");
    assert!(
        f.a.contains("2 residual") && f.b.contains("0 residual"),
        "{f:?}"
    );
    let again = build(&model, &opts(true), &mut FakeChooser::new(1)).unwrap();
    let d = diff(&fused, &again);
    assert_ne!(
        d.verdict,
        Verdict::NotComparable,
        "{:?}",
        d.graph_differences
    );
    assert!(d.plan.iter().all(|f| f.field != "fusions"));
}

#[test]
fn yolox_residual_bottlenecks_are_fused_after_the_silu() {
    let Some(shared) = shared_dir() else { return };
    let model = shared.join("models/yolox_nano/yolox_nano.onnx");
    let mut chooser = FakeChooser::new(0);
    let fused = build(&model, &opts(true), &mut chooser).unwrap();
    let unfused = build(&model, &opts(false), &mut FakeChooser::new(0)).unwrap();
    let adds = onnx_op_count(&model, "Add");
    assert!(adds > 0);
    assert_eq!(count(&unfused, "Add"), adds);
    // Every Add is `x + silu(conv(..))` with the SiLU branch read by the Add alone: each
    // becomes the epilogue of that convolution, after its SiLU.
    let residual: Vec<&Layer> = fused
        .plan
        .layers
        .iter()
        .filter(|l| {
            matches!(
                l.op,
                Op::Conv {
                    residual: Some(_),
                    ..
                }
            )
        })
        .collect();
    assert_eq!(residual.len(), adds);
    assert_eq!(count(&fused, "Add"), 0);
    for l in &residual {
        assert!(
            matches!(
                l.op,
                Op::Conv {
                    residual: Some(Residual::AfterActivation),
                    activation: Some(Activation::Silu),
                    ..
                }
            ),
            "{}: {:?}",
            l.name,
            l.op
        );
        let last = l.fused.last().unwrap();
        assert!(last.starts_with("Add"), "{}: {:?}", l.name, l.fused);
        assert_eq!(l.inputs.len(), 2);
    }
    assert_eq!(
        chooser
            .problems
            .iter()
            .filter(|p| p.residual.is_some())
            .count(),
        adds
    );
    // YOLOX's Resizes feed Concats: no elementwise chain to fuse.
    assert_eq!(count(&fused, "Elementwise"), 0);
    assert_eq!(unfused.plan.layers.len() - fused.plan.layers.len(), adds);
    let x = Tensor::new(
        "images",
        vec![1, 3, 416, 416],
        seeded(12, 3 * 416 * 416, 0.0, 255.0),
    );
    assert_same_outputs(&fused, &unfused, &[x]);
}
