//! `engine build|inspect|diff` for GPU plans through the binary. Plans come from the
//! library builder with a fake algorithm chooser, so everything here runs without a GPU.

use crate::common;
use crate::cudaplan_fixture;

use std::path::Path;

use adasval::cudaplan::build::{build, BuildOptions};
use adasval::cudaplan::ir::{Precision, TacticPolicy};
use common::*;
use cudaplan_fixture::*;

fn write_plan(
    dir: &Path,
    file: &str,
    model: &Path,
    precision: Precision,
    mut chooser: FakeChooser,
) -> String {
    let p = build(
        model,
        &BuildOptions {
            name: file.trim_end_matches(".cudaplan").into(),
            precision,
            tactics: TacticPolicy::Measured,
            fuse_elementwise: true,
        },
        &mut chooser,
    )
    .unwrap();
    let path = dir.join(file);
    std::fs::write(&path, p.to_bytes().unwrap()).unwrap();
    path.display().to_string()
}

#[test]
fn build_without_gpu_exits_4_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run(adasval()
        .args([
            "engine",
            "build",
            "--backend",
            "cuda",
            "--precision",
            "fp32",
            "--name",
            "demo-gpu",
        ])
        .arg(repo_root().join("engines/demo/detector.onnx"))
        .arg("--root")
        .arg(dir.path()));
    if code == 0 {
        // A GPU machine: the plan must exist and parse.
        let bytes = std::fs::read(dir.path().join("engines/demo-gpu.cudaplan")).unwrap();
        adasval::cudaplan::format::PlanFile::from_bytes(&bytes).unwrap();
        eprintln!("GPU present: built a plan instead ({out})");
        return;
    }
    assert_eq!(code, 4, "{out}{err}");
    assert!(err.contains("cannot build a CUDA plan"), "{err}");
    assert!(!dir.path().join("engines/demo-gpu.cudaplan").exists());
}

#[test]
fn build_for_another_backend_is_bad_usage() {
    let (code, _, err) = run(adasval()
        .args(["engine", "build", "--backend", "cpu", "--name", "x"])
        .arg(repo_root().join("engines/demo/detector.onnx")));
    assert_eq!(code, 2);
    assert!(
        err.contains("--backend cuda") && err.contains("`cpu`"),
        "{err}"
    );
}

#[test]
fn diff_exit_codes_follow_the_choices() {
    let dir = tempfile::tempdir().unwrap();
    let demo = repo_root().join("engines/demo/detector.onnx");
    let a = write_plan(
        dir.path(),
        "a.cudaplan",
        &demo,
        Precision::Fp32,
        FakeChooser::new(0),
    );
    // Same decisions, other measured times: a rebuild that happened to choose the same.
    let mut later = FakeChooser::new(0);
    later.calls = 1000;
    let a2 = write_plan(dir.path(), "a2.cudaplan", &demo, Precision::Fp32, later);
    let b = write_plan(
        dir.path(),
        "b.cudaplan",
        &demo,
        Precision::Fp32,
        FakeChooser::new(1),
    );
    let mut other_card = FakeChooser::new(0);
    other_card.device = "Other GPU";
    let c = write_plan(dir.path(), "c.cudaplan", &demo, Precision::Fp32, other_card);

    let (code, out, err) = run(adasval().args(["engine", "diff", &a, &a2]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("verdict: identical"), "{out}");
    let convs = onnx_op_count(&repo_root().join("engines/demo/detector.onnx"), "Conv");
    assert!(
        out.contains(&format!("{convs} layer(s) differ only in measured time")),
        "{out}"
    );

    // Another chooser variant: some convolutions get other algorithms.
    let (code, out, _) = run(adasval().args(["engine", "diff", &a, &b]));
    eprintln!("{out}");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("verdict: choices differ"), "{out}");
    let (_, json, _) = run(adasval().args(["engine", "diff", &a, &b, "--format", "json"]));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let layers = v["diff"]["layers"].as_array().unwrap();
    assert!(!layers.is_empty());
    // Every reported layer really has a different algorithm in the two files.
    let pa = adasval::cudaplan::format::PlanFile::from_bytes(&std::fs::read(&a).unwrap()).unwrap();
    let pb = adasval::cudaplan::format::PlanFile::from_bytes(&std::fs::read(&b).unwrap()).unwrap();
    let really: Vec<usize> = (0..pa.plan.layers.len())
        .filter(|i| {
            pa.plan.layers[*i].choice.as_ref().map(|c| &c.algo)
                != pb.plan.layers[*i].choice.as_ref().map(|c| &c.algo)
        })
        .collect();
    let reported: Vec<usize> = layers
        .iter()
        .filter(|l| {
            l["changes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["field"] == "algo")
        })
        .map(|l| l["index"].as_u64().unwrap() as usize)
        .collect();
    assert_eq!(reported, really);
    assert_eq!(
        v["diff"]["convolutions_differing"].as_u64().unwrap() as usize,
        really.len()
    );

    // Same choices, other card: a difference of the build device.
    let (code, out, _) = run(adasval().args(["engine", "diff", &a, &c]));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("built_on") && out.contains("Other GPU"),
        "{out}"
    );

    // Other precision: a plan-level decision.
    let h = write_plan(
        dir.path(),
        "h.cudaplan",
        &demo,
        Precision::Fp16,
        FakeChooser::new(0),
    );
    let (code, out, _) = run(adasval().args(["engine", "diff", &a, &h]));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("precision"), "{out}");
}

#[test]
fn diff_of_different_graphs_exits_2() {
    let Some(py) = python_with(&["onnx", "numpy"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let st = std::process::Command::new(&py)
        .arg(repo_root().join("tests/py/cudaplan_models.py"))
        .arg("gen")
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(st.success());
    let a = write_plan(
        dir.path(),
        "a.cudaplan",
        &repo_root().join("engines/demo/detector.onnx"),
        Precision::Fp32,
        FakeChooser::new(0),
    );
    let b = write_plan(
        dir.path(),
        "b.cudaplan",
        &dir.path().join("conv_bn_relu.onnx"),
        Precision::Fp32,
        FakeChooser::new(0),
    );
    let (code, out, err) = run(adasval().args(["engine", "diff", &a, &b]));
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.contains("not comparable"), "{out}");
}

#[test]
fn inspect_lists_every_layer_with_its_choice() {
    let dir = tempfile::tempdir().unwrap();
    let demo = repo_root().join("engines/demo/detector.onnx");
    let a = write_plan(
        dir.path(),
        "a.cudaplan",
        &demo,
        Precision::Fp16,
        FakeChooser::new(0),
    );
    let plan =
        adasval::cudaplan::format::PlanFile::from_bytes(&std::fs::read(&a).unwrap()).unwrap();
    let (code, out, err) = run(adasval().args(["engine", "inspect", &a]));
    eprintln!("{out}");
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("precision   fp16  tf32 off  tactics measured"),
        "{out}"
    );
    assert!(out.contains("Fake GPU (sm_90"), "{out}");
    for (i, l) in plan.plan.layers.iter().enumerate() {
        let line = out
            .lines()
            .find(|s| s.trim_start().starts_with(&format!("{i} ")) && s.contains(&l.name))
            .unwrap_or_else(|| panic!("no line for layer {i} `{}`\n{out}", l.name));
        assert!(line.contains(l.op.kind()), "{line}");
        if let Some(c) = &l.choice {
            let short = c.algo.trim_start_matches("CUDNN_CONVOLUTION_FWD_ALGO_");
            assert!(
                line.contains(short) && line.contains(&format!("ws {} B", c.workspace_bytes)),
                "{line}"
            );
        }
        if !l.fused.is_empty() {
            assert!(line.contains(&l.fused.join(", ")), "{line}");
        }
    }
    let (code, json, _) = run(adasval().args(["engine", "inspect", &a, "--format", "json"]));
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        v["layers"].as_array().unwrap().len(),
        plan.plan.layers.len()
    );
    assert_eq!(v["precision"], "fp16");
    assert_eq!(v["tf32"], false);
    assert_eq!(
        v["layers"][0]["outputs"][0]["shape"],
        serde_json::json!([1, 8, 144, 256])
    );

    // A file that is not a plan: exit 2 with the format error.
    let (code, _, err) = run(adasval().args(["engine", "inspect"]).arg(&demo));
    assert_eq!(code, 2);
    assert!(err.contains("not a CUDA plan"), "{err}");
    // An unknown name: exit 2.
    let (code, _, _) = run(adasval()
        .args(["engine", "inspect", "no-such-plan", "--root"])
        .arg(dir.path()));
    assert_eq!(code, 2);
}

#[test]
fn frozen_plans_are_found_by_name_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("engines")).unwrap();
    let demo = repo_root().join("engines/demo/detector.onnx");
    write_plan(
        &root.join("engines"),
        "p.cudaplan",
        &demo,
        Precision::Fp32,
        FakeChooser::new(0),
    );
    std::fs::copy(
        repo_root().join("engines/demo/adapter.yaml"),
        root.join("engines/adapter.yaml"),
    )
    .unwrap();
    let (code, out, err) = run(adasval()
        .args([
            "engine",
            "freeze",
            "engines/p.cudaplan",
            "--name",
            "p",
            "--adapter",
            "engines/adapter.yaml",
            "--root",
        ])
        .arg(root));
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = run(adasval()
        .args(["engine", "inspect", "p", "--root"])
        .arg(root));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("plan        p\n"), "{out}");
    // Tampered after freezing: the lock refuses it (exit 3).
    let path = root.join("engines/p.cudaplan");
    let mut bytes = std::fs::read(&path).unwrap();
    let n = bytes.len();
    bytes[n - 1] ^= 0x40;
    std::fs::write(&path, bytes).unwrap();
    let (code, _, err) = run(adasval()
        .args(["engine", "inspect", "p", "--root"])
        .arg(root));
    assert_eq!(code, 3, "{err}");
}

#[test]
fn built_plans_are_written_and_frozen_with_provenance() {
    use adasval::cudaplan::build::{freeze_plan, write_plan};
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("engines")).unwrap();
    std::fs::copy(
        repo_root().join("engines/demo/adapter.yaml"),
        root.join("engines/adapter.yaml"),
    )
    .unwrap();
    let demo = repo_root().join("engines/demo/detector.onnx");
    let file = build(
        &demo,
        &BuildOptions {
            name: "demo-gpu".into(),
            precision: Precision::Fp32,
            tactics: TacticPolicy::Deterministic,
            fuse_elementwise: true,
        },
        &mut FakeChooser::new(0),
    )
    .unwrap();
    let out = Path::new("engines/demo-gpu.cudaplan");
    let (path, bytes) = write_plan(root, out, &file).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    // The model must be the one the plan was built from.
    let other = root.join("engines/adapter.yaml");
    let e = freeze_plan(
        root,
        out,
        &file,
        Path::new("engines/adapter.yaml"),
        &other,
        false,
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("not the model the plan was built from"),
        "{e}"
    );
    assert!(!root.join("engines/engines.lock.yaml").exists());

    let entry = freeze_plan(
        root,
        out,
        &file,
        Path::new("engines/adapter.yaml"),
        &demo,
        false,
    )
    .unwrap();
    assert_eq!(entry.format.as_str(), "cuda-plan");
    assert_eq!(entry.sha256, adasval::hash::sha256_hex(&bytes));
    assert_eq!(
        entry.source_model_sha256.as_deref(),
        Some(adasval::hash::sha256_file(&demo).unwrap().as_str())
    );
    assert_eq!(entry.built_on.as_deref(), Some("Fake GPU sm_90"));
    let (code, out_text, err) = run(adasval().args(["engine", "verify", "--root"]).arg(root));
    assert_eq!(code, 0, "{out_text}{err}");
    let (code, out_text, _) = run(adasval().args(["engine", "list", "--root"]).arg(root));
    assert_eq!(code, 0);
    assert!(
        out_text.contains("demo-gpu") && out_text.contains("cuda-plan"),
        "{out_text}"
    );
    // Freezing the same name again needs --replace.
    let e = freeze_plan(
        root,
        out,
        &file,
        Path::new("engines/adapter.yaml"),
        &demo,
        false,
    )
    .unwrap_err();
    assert!(e.to_string().contains("already in the lock"), "{e}");
    freeze_plan(
        root,
        out,
        &file,
        Path::new("engines/adapter.yaml"),
        &demo,
        true,
    )
    .unwrap();
}

#[test]
fn a_plan_built_on_a_profiled_card_is_frozen_under_the_profile_name() {
    use adasval::cudaplan::build::freeze_plan;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("engines")).unwrap();
    std::fs::create_dir_all(root.join("platforms")).unwrap();
    for p in ["nvidia-h100.yaml", "nvidia-h200.yaml", "x86-cpu.yaml"] {
        std::fs::copy(
            repo_root().join("platforms").join(p),
            root.join("platforms").join(p),
        )
        .unwrap();
    }
    std::fs::copy(
        repo_root().join("engines/demo/adapter.yaml"),
        root.join("engines/adapter.yaml"),
    )
    .unwrap();
    let demo = repo_root().join("engines/demo/detector.onnx");
    let mut chooser = FakeChooser::new(0);
    chooser.device = "NVIDIA H200";
    let file = build(
        &demo,
        &BuildOptions {
            name: "demo-h200".into(),
            precision: Precision::Fp32,
            tactics: TacticPolicy::Heuristic,
            fuse_elementwise: true,
        },
        &mut chooser,
    )
    .unwrap();
    let out = Path::new("engines/demo-h200.cudaplan");
    adasval::cudaplan::build::write_plan(root, out, &file).unwrap();
    let entry = freeze_plan(
        root,
        out,
        &file,
        Path::new("engines/adapter.yaml"),
        &demo,
        false,
    )
    .unwrap();
    assert_eq!(entry.built_on.as_deref(), Some("nvidia-h200"));
}

/// Plans where the tactic decision put convolutions on the direct kernel: inspect says so
/// per layer and in the header, and a change between cuDNN and the direct kernel is a
/// kernel change for diff (exit 1, field `engine`).
#[test]
fn inspect_and_diff_show_the_direct_kernel() {
    use adasval::cudaplan::ir::ConvEngine;
    let dir = tempfile::tempdir().unwrap();
    let demo = repo_root().join("engines/demo/detector.onnx");
    let cudnn = write_plan(
        dir.path(),
        "cudnn.cudaplan",
        &demo,
        Precision::Fp32,
        FakeChooser::new(0),
    );
    let mut chooser = FakeChooser::new(0);
    chooser.direct = true;
    let direct = write_plan(
        dir.path(),
        "direct.cudaplan",
        &demo,
        Precision::Fp32,
        chooser,
    );
    let plan =
        adasval::cudaplan::format::PlanFile::from_bytes(&std::fs::read(&direct).unwrap()).unwrap();
    let on_direct: Vec<usize> = (0..plan.plan.layers.len())
        .filter(|&i| {
            plan.plan.layers[i]
                .choice
                .as_ref()
                .is_some_and(|c| c.engine == ConvEngine::Direct)
        })
        .collect();
    assert!(!on_direct.is_empty());
    let convs = onnx_op_count(&demo, "Conv");
    let (code, out, err) = run(adasval().args(["engine", "inspect", &direct]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!(
            "{convs} convolutions: {} cuDNN, {} direct kernel",
            convs - on_direct.len(),
            on_direct.len()
        )),
        "{out}"
    );
    for (i, l) in plan.plan.layers.iter().enumerate() {
        let Some(c) = &l.choice else { continue };
        let line = out
            .lines()
            .find(|s| s.trim_start().starts_with(&format!("{i} ")) && s.contains(&l.name))
            .unwrap();
        if let (ConvEngine::Direct, Some(v), adasval::cudaplan::ir::Op::Conv { kernel, .. }) =
            (c.engine, c.direct, &l.op)
        {
            assert!(
                line.contains(&format!("DIRECT {}", v.label(*kernel))),
                "{line}"
            );
        } else {
            assert!(!line.contains("DIRECT"), "{line}");
        }
    }
    let (code, json, _) =
        run(adasval().args(["engine", "diff", &cudnn, &direct, "--format", "json"]));
    assert_eq!(code, 1, "{json}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let engine_changes: Vec<usize> = v["diff"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| {
            l["changes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["field"] == "engine" && c["a"] == "cudnn" && c["b"] == "direct")
        })
        .map(|l| l["index"].as_u64().unwrap() as usize)
        .collect();
    assert_eq!(engine_changes, on_direct);
    let (_, text, _) = run(adasval().args(["engine", "diff", &cudnn, &direct]));
    assert!(text.contains("engine cudnn -> direct"), "{text}");
    // The same direct decisions again: identical.
    let mut again = FakeChooser::new(0);
    again.direct = true;
    let direct2 = write_plan(
        dir.path(),
        "direct2.cudaplan",
        &demo,
        Precision::Fp32,
        again,
    );
    let (code, out, _) = run(adasval().args(["engine", "diff", &direct, &direct2]));
    assert_eq!(code, 0, "{out}");
}
