//! `engine diff` for GPU plans: two builds compared layer by layer, the way the TensorRT
//! study's Table XIII compares tactics. First decides whether the plans are of the same
//! graph (same layers, ops and shapes); if so, lists every builder decision that differs
//! (engine: cuDNN or the direct kernel and its variant, cuDNN algorithm, math mode,
//! workspace, fusion: the plan's fusion summary and each layer's fused nodes, precision,
//! device, weights). Measured
//! times and build stamps are shown but are not decisions.

use serde::Serialize;

use super::format::PlanFile;
use super::inspect::{
    device_str, fusion_summary, precision_str, short_algo, short_math, tactics_str, weights_sha256,
};
use super::ir::{ConvChoice, ConvEngine, Plan};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Same graph, same decisions (exit 0).
    Identical,
    /// Same graph, at least one decision differs (exit 1).
    ChoicesDiffer,
    /// Different graphs: not comparable layer by layer (exit 2).
    NotComparable,
}

impl Verdict {
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Identical => 0,
            Verdict::ChoicesDiffer => 1,
            Verdict::NotComparable => 2,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldDiff {
    pub field: String,
    pub a: String,
    pub b: String,
    /// A builder decision (counts for the verdict) or information only (times, stamps).
    pub decision: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerDiff {
    pub index: usize,
    pub name: String,
    pub op: String,
    pub changes: Vec<FieldDiff>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanDiff {
    pub verdict: Verdict,
    /// Why the graphs are not comparable (empty when they are).
    pub graph_differences: Vec<String>,
    pub plan: Vec<FieldDiff>,
    pub layers: Vec<LayerDiff>,
    pub convolutions: usize,
    pub convolutions_differing: usize,
}

fn fd(field: &str, a: impl ToString, b: impl ToString, decision: bool) -> Option<FieldDiff> {
    let (a, b) = (a.to_string(), b.to_string());
    (a != b).then(|| FieldDiff {
        field: field.into(),
        a,
        b,
        decision,
    })
}

fn graph_differences(a: &Plan, b: &Plan) -> Vec<String> {
    let mut out = vec![];
    let io = |p: &Plan, ids: &[usize]| -> Vec<(String, Vec<usize>)> {
        ids.iter()
            .map(|t| (p.tensors[*t].name.clone(), p.tensors[*t].shape.clone()))
            .collect()
    };
    if io(a, &a.inputs) != io(b, &b.inputs) {
        out.push(format!(
            "inputs differ: {:?} vs {:?}",
            io(a, &a.inputs),
            io(b, &b.inputs)
        ));
    }
    if io(a, &a.outputs) != io(b, &b.outputs) {
        out.push(format!(
            "outputs differ: {:?} vs {:?}",
            io(a, &a.outputs),
            io(b, &b.outputs)
        ));
    }
    if a.layers.len() != b.layers.len() {
        out.push(format!(
            "{} layers vs {} layers",
            a.layers.len(),
            b.layers.len()
        ));
    }
    let shapes = |p: &Plan, ids: &[usize]| -> Vec<Vec<usize>> {
        ids.iter().map(|t| p.tensors[*t].shape.clone()).collect()
    };
    for (i, (la, lb)) in a.layers.iter().zip(&b.layers).enumerate() {
        let what = if la.name != lb.name {
            Some(format!("name `{}` vs `{}`", la.name, lb.name))
        } else if la.op != lb.op {
            Some(format!(
                "op {} {} vs {} {}",
                la.op.kind(),
                super::inspect::op_params(&la.op),
                lb.op.kind(),
                super::inspect::op_params(&lb.op)
            ))
        } else if shapes(a, &la.inputs) != shapes(b, &lb.inputs)
            || shapes(a, &la.outputs) != shapes(b, &lb.outputs)
        {
            Some("shapes differ".to_string())
        } else {
            None
        };
        if let Some(w) = what {
            out.push(format!("layer {i} `{}`: {w}", la.name));
            if out.len() >= 10 {
                out.push("(further differences not listed)".into());
                break;
            }
        }
    }
    out
}

fn choice_fields(a: Option<&ConvChoice>, b: Option<&ConvChoice>) -> Vec<FieldDiff> {
    let none = "-".to_string();
    let get = |c: Option<&ConvChoice>, f: &dyn Fn(&ConvChoice) -> String| {
        c.map(f).unwrap_or_else(|| none.clone())
    };
    // The cuDNN algorithm only decides what runs where a plan runs the layer on cuDNN; with
    // the direct kernel on both sides it is the recorded runner-up, shown but not counted.
    let runs_cudnn = |c: Option<&ConvChoice>| c.is_some_and(|c| c.engine == ConvEngine::Cudnn);
    let cudnn_decides = runs_cudnn(a) || runs_cudnn(b);
    let engine = |c: &ConvChoice| match c.engine {
        ConvEngine::Cudnn => "cudnn".to_string(),
        ConvEngine::Direct => "direct".to_string(),
    };
    let variant = |c: &ConvChoice| {
        c.direct.map_or("-".into(), |v| {
            format!("c{} b{}", v.channels_per_thread, v.block)
        })
    };
    [
        fd("engine", get(a, &engine), get(b, &engine), true),
        fd("direct", get(a, &variant), get(b, &variant), true),
        fd(
            "algo",
            get(a, &|c| short_algo(&c.algo).to_string()),
            get(b, &|c| short_algo(&c.algo).to_string()),
            cudnn_decides,
        ),
        fd(
            "algo_id",
            get(a, &|c| c.algo_id.to_string()),
            get(b, &|c| c.algo_id.to_string()),
            cudnn_decides,
        ),
        fd(
            "math",
            get(a, &|c| short_math(&c.math_type).to_string()),
            get(b, &|c| short_math(&c.math_type).to_string()),
            cudnn_decides,
        ),
        fd(
            "workspace_bytes",
            get(a, &|c| c.workspace_bytes.to_string()),
            get(b, &|c| c.workspace_bytes.to_string()),
            cudnn_decides,
        ),
        fd(
            "deterministic",
            get(a, &|c| c.deterministic.to_string()),
            get(b, &|c| c.deterministic.to_string()),
            cudnn_decides,
        ),
        fd(
            "measured_ms",
            get(a, &|c| {
                c.measured_ms.map_or("-".into(), |t| format!("{t:.4}"))
            }),
            get(b, &|c| {
                c.measured_ms.map_or("-".into(), |t| format!("{t:.4}"))
            }),
            false,
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
}

pub fn diff(fa: &PlanFile, fb: &PlanFile) -> PlanDiff {
    let (a, b) = (&fa.plan, &fb.plan);
    let graph = graph_differences(a, b);
    let plan: Vec<FieldDiff> = [
        fd(
            "precision",
            precision_str(a.precision),
            precision_str(b.precision),
            true,
        ),
        fd("tf32", a.tf32, b.tf32, true),
        fd(
            "tactics",
            tactics_str(a.tactics),
            tactics_str(b.tactics),
            true,
        ),
        fd("built_on", device_str(a), device_str(b), true),
        fd(
            "weights_sha256",
            weights_sha256(fa),
            weights_sha256(fb),
            true,
        ),
        fd("source_sha256", &a.source_sha256, &b.source_sha256, true),
        fd("fusions", fusion_summary(a), fusion_summary(b), true),
        fd(
            "arena_bytes",
            a.memory.arena_bytes,
            b.memory.arena_bytes,
            true,
        ),
        fd(
            "workspace_bytes",
            a.memory.workspace_bytes,
            b.memory.workspace_bytes,
            true,
        ),
        fd("name", &a.name, &b.name, false),
        fd("builder", &a.builder, &b.builder, false),
        fd("built_at", &a.built_at, &b.built_at, false),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !graph.is_empty() {
        return PlanDiff {
            verdict: Verdict::NotComparable,
            graph_differences: graph,
            plan,
            layers: vec![],
            convolutions: 0,
            convolutions_differing: 0,
        };
    }
    let mut layers = vec![];
    let mut convs = 0;
    let mut conv_diff = 0;
    for (i, (la, lb)) in a.layers.iter().zip(&b.layers).enumerate() {
        let mut changes = choice_fields(la.choice.as_ref(), lb.choice.as_ref());
        if la.choice.is_some() || lb.choice.is_some() {
            convs += 1;
            if changes.iter().any(|c| c.decision) {
                conv_diff += 1;
            }
        }
        if let Some(f) = fd("fused", la.fused.join(", "), lb.fused.join(", "), true) {
            changes.push(f);
        }
        if !changes.is_empty() {
            layers.push(LayerDiff {
                index: i,
                name: la.name.clone(),
                op: la.op.kind().into(),
                changes,
            });
        }
    }
    let decided = plan.iter().any(|f| f.decision)
        || layers.iter().any(|l| l.changes.iter().any(|c| c.decision));
    PlanDiff {
        verdict: if decided {
            Verdict::ChoicesDiffer
        } else {
            Verdict::Identical
        },
        graph_differences: vec![],
        plan,
        layers,
        convolutions: convs,
        convolutions_differing: conv_diff,
    }
}

/// The human-readable report; `a_label` / `b_label` say where each plan came from.
pub fn diff_text(d: &PlanDiff, a_label: &str, b_label: &str) -> String {
    let mut out = format!("A  {a_label}\nB  {b_label}\n\n");
    for f in &d.plan {
        out.push_str(&format!(
            "{:<16} A {}\n{:<16} B {}{}\n",
            f.field,
            f.a,
            "",
            f.b,
            if f.decision {
                ""
            } else {
                "   (not a decision)"
            }
        ));
    }
    if d.verdict == Verdict::NotComparable {
        out.push_str("\nthe plans are of different graphs, not comparable layer by layer:\n");
        for g in &d.graph_differences {
            out.push_str(&format!("  {g}\n"));
        }
        out.push_str("\nverdict: not comparable (exit 2)\n");
        return out;
    }
    let decisions: Vec<&LayerDiff> = d
        .layers
        .iter()
        .filter(|l| l.changes.iter().any(|c| c.decision))
        .collect();
    if !decisions.is_empty() {
        out.push_str(&format!(
            "\n{:>4}  {:<40} {:<9} what differs (A -> B)\n",
            "#", "layer", "op"
        ));
        for l in &decisions {
            let what: Vec<String> = l
                .changes
                .iter()
                .filter(|c| c.field != "algo_id")
                .map(|c| format!("{} {} -> {}", c.field, c.a, c.b))
                .collect();
            out.push_str(&format!(
                "{:>4}  {:<40} {:<9} {}\n",
                l.index,
                l.name,
                l.op,
                what.join("; ")
            ));
        }
    }
    let timing_only = d.layers.len() - decisions.len();
    out.push_str(&format!(
        "\n{} of {} convolution choices differ; {} layer(s) differ only in measured time\n",
        d.convolutions_differing, d.convolutions, timing_only
    ));
    out.push_str(match d.verdict {
        Verdict::Identical => "verdict: identical choices (exit 0)\n",
        Verdict::ChoicesDiffer => "verdict: choices differ (exit 1)\n",
        Verdict::NotComparable => "",
    });
    out
}
