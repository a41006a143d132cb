//! `engine inspect` for GPU plans: the builder's decisions made readable, a header with the
//! plan's provenance and one line per layer (shapes, cuDNN algorithm, math mode, workspace,
//! measured time, folded/fused ONNX nodes). Text for people, JSON for tools.

use serde_json::{json, Value};

use super::format::PlanFile;
use super::ir::{
    ConvChoice, ConvEngine, EwStep, Layer, Op, Plan, Precision, Residual, TacticPolicy, TacticTime,
};

pub fn precision_str(p: Precision) -> &'static str {
    match p {
        Precision::Fp32 => "fp32",
        Precision::Fp16 => "fp16",
    }
}

pub fn tactics_str(t: TacticPolicy) -> &'static str {
    match t {
        TacticPolicy::Measured => "measured",
        TacticPolicy::Heuristic => "heuristic",
        TacticPolicy::Deterministic => "deterministic",
    }
}

/// SHA-256 of the weight blob as stored (fp32 little-endian).
pub fn weights_sha256(file: &PlanFile) -> String {
    let mut h = adasval_core::hash::Hasher::new();
    let bytes: Vec<u8> = file.weights.iter().flat_map(|v| v.to_le_bytes()).collect();
    h.update(&bytes);
    h.finish_hex()
}

pub fn device_str(plan: &Plan) -> String {
    match &plan.built_on {
        Some(d) => format!(
            "{} (sm_{}{}, {} SMs, {} MiB; driver {}, CUDA {}, cuDNN {}, cuBLAS {})",
            d.name,
            d.compute_capability[0],
            d.compute_capability[1],
            d.sm_count,
            d.memory_bytes >> 20,
            d.driver,
            d.cuda,
            d.cudnn,
            d.cublas
        ),
        None => "(no device recorded)".into(),
    }
}

fn shapes(plan: &Plan, ids: &[usize]) -> String {
    ids.iter()
        .map(|t| {
            let s = &plan.tensors[*t].shape;
            format!(
                "[{}]",
                s.iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join("x")
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Short description of an op's parameters.
pub fn op_params(op: &Op) -> String {
    match op {
        Op::Conv {
            kernel,
            stride,
            pads,
            dilation,
            group,
            activation,
            bias,
            residual,
            ..
        } => {
            let mut s = format!("k{}x{} s{}", kernel[0], kernel[1], stride[0]);
            if stride[0] != stride[1] {
                s.push_str(&format!("x{}", stride[1]));
            }
            if pads.iter().any(|p| *p != 0) {
                s.push_str(&format!(" p{}", pads[0]));
                if pads[0] != pads[1] {
                    s.push_str(&format!("x{}", pads[1]));
                }
            }
            if *dilation != [1, 1] {
                s.push_str(&format!(" d{}x{}", dilation[0], dilation[1]));
            }
            if *group != 1 {
                s.push_str(&format!(" g{group}"));
            }
            if bias.is_none() {
                s.push_str(" nobias");
            }
            let act = activation.map(|a| format!(" +{}", format!("{a:?}").to_lowercase()));
            match residual {
                None => s.push_str(&act.unwrap_or_default()),
                Some(Residual::BeforeActivation) => {
                    s.push_str(&format!(" +residual{}", act.unwrap_or_default()))
                }
                Some(Residual::AfterActivation) => {
                    s.push_str(&format!("{} +residual", act.unwrap_or_default()))
                }
            }
            s
        }
        Op::Elementwise { resize, steps } => ew_program(*resize, steps),
        Op::Concat { axis } => format!("axis {axis}"),
        Op::Slice {
            axes,
            starts,
            ends,
            steps,
        } => axes
            .iter()
            .enumerate()
            .map(|(i, a)| format!("ax{a} {}:{}:{}", starts[i], ends[i], steps[i]))
            .collect::<Vec<_>>()
            .join(" "),
        Op::MaxPool {
            kernel,
            stride,
            pads,
        } => format!("k{}x{} s{} p{}", kernel[0], kernel[1], stride[0], pads[0]),
        Op::ResizeNearest { scales } => format!("x{}x{}", scales[0], scales[1]),
        Op::Transpose { perm } => format!("perm {perm:?}"),
        _ => String::new(),
    }
}

/// An elementwise chain as one expression, e.g. `relu(up2x2(in0) + in1)`.
pub fn ew_program(resize: Option<[usize; 2]>, steps: &[EwStep]) -> String {
    let mut v = match resize {
        Some([h, w]) => format!("up{h}x{w}(in0)"),
        None => "in0".to_string(),
    };
    for st in steps {
        v = match st {
            EwStep::Add(k) => format!("{v} + in{k}"),
            EwStep::Mul(k) => format!("({v}) * in{k}"),
            EwStep::Relu => format!("relu({v})"),
            EwStep::Sigmoid => format!("sigmoid({v})"),
        };
    }
    v
}

/// The plan's fusions in one line: residual Adds folded into convolutions and elementwise
/// chains (the fusion pass), besides the convolutions' own activations.
pub fn fusion_summary(plan: &Plan) -> String {
    let residual: Vec<&str> = plan
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
        .map(|l| l.name.as_str())
        .collect();
    let chains: Vec<String> = plan
        .layers
        .iter()
        .filter_map(|l| match &l.op {
            Op::Elementwise { steps, resize } => Some(format!(
                "{} ({} ops)",
                l.name,
                steps.len() + usize::from(resize.is_some())
            )),
            _ => None,
        })
        .collect();
    let acts = plan
        .layers
        .iter()
        .filter(|l| {
            matches!(
                l.op,
                Op::Conv {
                    activation: Some(_),
                    ..
                }
            )
        })
        .count();
    format!(
        "{acts} activations into convolutions; {} residual adds into convolutions{}; {} elementwise chains{}",
        residual.len(),
        if residual.is_empty() {
            String::new()
        } else {
            format!(" ({})", residual.join(", "))
        },
        chains.len(),
        if chains.is_empty() {
            String::new()
        } else {
            format!(" ({})", chains.join(", "))
        }
    )
}

/// cuDNN's long enum names, shortened for the table (`CUDNN_CONVOLUTION_FWD_ALGO_` dropped).
pub fn short_algo(a: &str) -> &str {
    a.strip_prefix("CUDNN_CONVOLUTION_FWD_ALGO_").unwrap_or(a)
}

pub fn short_math(m: &str) -> &str {
    m.strip_prefix("CUDNN_").unwrap_or(m)
}

fn choice_text(c: &ConvChoice) -> String {
    let t = c
        .measured_ms
        .map(|t| format!("{t:.4} ms"))
        .unwrap_or_else(|| "untimed".into());
    let cudnn = format!(
        "{} ({}) {} ws {} B {}{}",
        short_algo(&c.algo),
        c.algo_id,
        short_math(&c.math_type),
        c.workspace_bytes,
        t,
        if c.deterministic { "" } else { " nondet" }
    );
    let whole = |t: &TacticTime| {
        t.time_ms
            .map_or_else(|| "untimed".to_string(), |ms| format!("{ms:.4} ms"))
    };
    let chosen = c.tactics.iter().find(|t| t.status.starts_with("chosen"));
    let best_other = |engine: ConvEngine| {
        c.tactics
            .iter()
            .filter(|t| t.engine == engine && t.time_ms.is_some())
            .min_by(|a, b| {
                a.time_ms
                    .unwrap_or(0.0)
                    .total_cmp(&b.time_ms.unwrap_or(0.0))
            })
    };
    match c.engine {
        ConvEngine::Direct => {
            let runner = best_other(ConvEngine::Cudnn)
                .map(|t| format!("; cudnn whole layer {}", whole(t)))
                .unwrap_or_default();
            format!(
                "DIRECT {} {} (conv+bias+act in one kernel){runner} [cudnn best: {cudnn}]",
                chosen.map_or("?", |t| t.tactic.as_str()),
                chosen.map_or_else(|| "untimed".to_string(), whole),
            )
        }
        ConvEngine::Cudnn => match (chosen, best_other(ConvEngine::Direct)) {
            (Some(ch), Some(d)) => format!(
                "{cudnn}; whole layer {}, best direct {} {}",
                whole(ch),
                d.tactic,
                whole(d)
            ),
            _ => cudnn,
        },
    }
}

pub fn layer_line(plan: &Plan, i: usize, l: &Layer) -> String {
    let mut s = format!(
        "{i:>4}  {:<40} {:<9} {:<22} {} -> {}",
        l.name,
        l.op.kind(),
        op_params(&l.op),
        shapes(plan, &l.inputs),
        shapes(plan, &l.outputs)
    );
    if let Some(c) = &l.choice {
        s.push_str(&format!("  | {}", choice_text(c)));
    }
    if !l.fused.is_empty() {
        s.push_str(&format!("  | fused: {}", l.fused.join(", ")));
    }
    s
}

pub fn inspect_text(file: &PlanFile) -> String {
    let p = &file.plan;
    let convs = p.layers.iter().filter(|l| l.choice.is_some()).count();
    let mut out = String::new();
    out.push_str(&format!("plan        {}\n", p.name));
    out.push_str(&format!(
        "source      {} sha256 {}\n",
        p.source_model, p.source_sha256
    ));
    out.push_str(&format!(
        "precision   {}  tf32 {}  tactics {}\n",
        precision_str(p.precision),
        if p.tf32 { "on" } else { "off" },
        tactics_str(p.tactics)
    ));
    out.push_str(&format!("built on    {}\n", device_str(p)));
    out.push_str(&format!("builder     {} at {}\n", p.builder, p.built_at));
    out.push_str(&format!(
        "memory      arena {} B, workspace {} B, weights {} values sha256 {}\n",
        p.memory.arena_bytes,
        p.memory.workspace_bytes,
        file.weights.len(),
        weights_sha256(file)
    ));
    let io = |ids: &[usize]| {
        ids.iter()
            .map(|t| format!("{} {}", p.tensors[*t].name, shapes(p, &[*t])))
            .collect::<Vec<_>>()
            .join(", ")
    };
    out.push_str(&format!("inputs      {}\n", io(&p.inputs)));
    out.push_str(&format!("outputs     {}\n", io(&p.outputs)));
    out.push_str(&format!("fusions     {}\n", fusion_summary(p)));
    let direct = p
        .layers
        .iter()
        .filter(|l| {
            l.choice
                .as_ref()
                .is_some_and(|c| c.engine == ConvEngine::Direct)
        })
        .count();
    out.push_str(&format!(
        "layers      {} ({} convolutions: {} cuDNN, {} direct kernel)\n\n",
        p.layers.len(),
        convs,
        convs - direct,
        direct
    ));
    for (i, l) in p.layers.iter().enumerate() {
        out.push_str(&layer_line(p, i, l));
        out.push('\n');
    }
    out
}

pub fn inspect_json(file: &PlanFile) -> Value {
    let p = &file.plan;
    let tensor = |t: &usize| json!({ "name": p.tensors[*t].name, "shape": p.tensors[*t].shape });
    json!({
        "name": p.name,
        "format_version": p.format_version,
        "source_model": p.source_model,
        "source_sha256": p.source_sha256,
        "precision": p.precision,
        "tf32": p.tf32,
        "tactics": p.tactics,
        "built_on": p.built_on,
        "builder": p.builder,
        "built_at": p.built_at,
        "arena_bytes": p.memory.arena_bytes,
        "workspace_bytes": p.memory.workspace_bytes,
        "weights_values": file.weights.len(),
        "weights_sha256": weights_sha256(file),
        "inputs": p.inputs.iter().map(tensor).collect::<Vec<_>>(),
        "outputs": p.outputs.iter().map(tensor).collect::<Vec<_>>(),
        "fusions": fusion_summary(p),
        "layers": p.layers.iter().enumerate().map(|(i, l)| json!({
            "index": i,
            "name": l.name,
            "op": l.op.kind(),
            "params": op_params(&l.op),
            "inputs": l.inputs.iter().map(tensor).collect::<Vec<_>>(),
            "outputs": l.outputs.iter().map(tensor).collect::<Vec<_>>(),
            "choice": l.choice,
            "fused": l.fused,
        })).collect::<Vec<_>>(),
    })
}
