//! Activation memory planning for GPU plans: one arena, every tensor at a 256-byte-aligned
//! offset, tensors whose lifetimes do not overlap sharing bytes. Runs in the builder after
//! import; the executor allocates `arena_bytes` once and never allocates per frame.
//!
//! Sizing: interior activations take 4 bytes per element in fp32 plans and 2 in fp16 plans.
//! Plan inputs and outputs are fp32 at the plan's boundary in both precisions, so their
//! slots are always sized at 4 bytes per element (an fp16 executor converts out of / into
//! them), live for the whole run and are never shared. A Reshape output aliases its input
//! (same offset; the two are one buffer whose lifetime is the union of both), except when
//! either is a plan input or output: then each keeps its own slot and the executor copies
//! (converting in fp16 plans). So an executor runs a Reshape as nothing when the two
//! offsets are equal and as a copy otherwise.

use super::ir::{MemoryPlan, Op, Plan, Precision, TensorId};

pub const ALIGN: usize = 256;

/// Bytes per element of interior activations.
pub fn activation_bytes(precision: Precision) -> usize {
    match precision {
        Precision::Fp32 => 4,
        Precision::Fp16 => 2,
    }
}

/// Bytes of tensor `id`'s slot (unaligned).
pub fn tensor_bytes(plan: &Plan, id: TensorId) -> usize {
    let boundary = plan.inputs.contains(&id) || plan.outputs.contains(&id);
    let per = if boundary {
        4
    } else {
        activation_bytes(plan.precision)
    };
    plan.tensors[id].elements().saturating_mul(per)
}

fn align(n: usize) -> usize {
    n.div_ceil(ALIGN).saturating_mul(ALIGN)
}

/// One buffer to place: a set of tensors sharing bytes (Reshape chains), live from layer
/// `first` to layer `last` inclusive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interval {
    pub first: usize,
    pub last: usize,
    pub bytes: usize,
}

/// Per-tensor buffer index (alias groups) and the buffers' lifetimes and sizes.
pub fn lifetimes(plan: &Plan) -> (Vec<usize>, Vec<Interval>) {
    let n = plan.tensors.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    let boundary = |t: &usize| plan.inputs.contains(t) || plan.outputs.contains(t);
    for l in &plan.layers {
        if matches!(l.op, Op::Reshape) {
            if let (Some(i), Some(o)) = (l.inputs.first(), l.outputs.first()) {
                if boundary(i) || boundary(o) {
                    continue;
                }
                let (a, b) = (find(&mut parent, *i), find(&mut parent, *o));
                parent[b] = a;
            }
        }
    }
    let end = plan.layers.len();
    // Layer index where each tensor is written and last read; inputs exist before layer 0.
    let mut first = vec![usize::MAX; n];
    let mut last = vec![0usize; n];
    for (li, l) in plan.layers.iter().enumerate() {
        for t in &l.outputs {
            first[*t] = first[*t].min(li);
            last[*t] = last[*t].max(li);
        }
        for t in &l.inputs {
            first[*t] = first[*t].min(li);
            last[*t] = last[*t].max(li);
        }
    }
    for t in plan.inputs.iter().chain(&plan.outputs) {
        first[*t] = 0;
        last[*t] = end;
    }
    let mut group_of = vec![usize::MAX; n];
    let mut groups: Vec<Interval> = vec![];
    for t in 0..n {
        let root = find(&mut parent, t);
        if group_of[root] == usize::MAX {
            group_of[root] = groups.len();
            groups.push(Interval {
                first: usize::MAX,
                last: 0,
                bytes: 0,
            });
        }
        let g = group_of[root];
        group_of[t] = g;
        let f = if first[t] == usize::MAX { 0 } else { first[t] };
        groups[g].first = groups[g].first.min(f);
        groups[g].last = groups[g].last.max(last[t]).max(f);
        groups[g].bytes = groups[g].bytes.max(align(tensor_bytes(plan, t)));
    }
    (group_of, groups)
}

/// Place buffers: largest first, each at the lowest aligned offset that does not collide
/// with an already placed buffer whose lifetime overlaps. Returns offsets and arena size.
pub fn assign(intervals: &[Interval]) -> (Vec<usize>, usize) {
    let mut order: Vec<usize> = (0..intervals.len()).collect();
    order.sort_by(|a, b| {
        intervals[*b]
            .bytes
            .cmp(&intervals[*a].bytes)
            .then(intervals[*a].first.cmp(&intervals[*b].first))
            .then(a.cmp(b))
    });
    let mut offsets = vec![0usize; intervals.len()];
    let mut placed: Vec<usize> = vec![];
    let mut arena = 0;
    for i in order {
        let me = &intervals[i];
        let mut busy: Vec<(usize, usize)> = placed
            .iter()
            .filter(|j| {
                let o = &intervals[**j];
                o.first <= me.last && me.first <= o.last
            })
            .map(|j| (offsets[*j], offsets[*j] + intervals[*j].bytes))
            .collect();
        busy.sort_unstable();
        let mut at = 0;
        for (s, e) in busy {
            if at + me.bytes <= s {
                break;
            }
            at = at.max(align(e));
        }
        offsets[i] = at;
        arena = arena.max(at + me.bytes);
        placed.push(i);
    }
    (offsets, arena)
}

/// The memory plan of a plan whose graph and precision are set (workspace left at 0 for
/// the builder to fill).
pub fn plan_memory(plan: &Plan) -> MemoryPlan {
    let (group_of, intervals) = lifetimes(plan);
    // Boundary buffers are kept apart from everything: give them whole-run lifetimes (done
    // in `lifetimes`), which already stops any sharing.
    let (offsets, arena) = assign(&intervals);
    MemoryPlan {
        arena_bytes: arena,
        offsets: group_of.iter().map(|g| offsets[*g]).collect(),
        workspace_bytes: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Layer, TacticPolicy, TensorInfo};
    use proptest::prelude::*;

    fn layer(op: Op, inputs: Vec<usize>, out: usize) -> Layer {
        Layer {
            name: format!("l{out}"),
            op,
            inputs,
            outputs: vec![out],
            choice: None,
            fused: vec![],
        }
    }

    pub(crate) fn empty_plan(precision: Precision) -> Plan {
        Plan {
            format_version: crate::ir::FORMAT_VERSION,
            name: "t".into(),
            source_model: "m.onnx".into(),
            source_sha256: String::new(),
            precision,
            tf32: false,
            tactics: TacticPolicy::Heuristic,
            built_on: None,
            builder: String::new(),
            built_at: String::new(),
            tensors: vec![],
            weights: vec![],
            inputs: vec![],
            outputs: vec![],
            layers: vec![],
            memory: MemoryPlan {
                arena_bytes: 0,
                offsets: vec![],
                workspace_bytes: 0,
            },
        }
    }

    /// Random DAG: tensor 0 is the input; layer k writes tensor k+1 from one or two
    /// earlier tensors; some layers are Reshapes; the last tensor and maybe one more
    /// are outputs.
    fn arb_plan() -> impl Strategy<Value = Plan> {
        (
            1usize..40,
            prop::collection::vec((0usize..1000, 0usize..1000, 0u8..4, 1usize..5000), 40),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(n_layers, spec, fp16, extra_out)| {
                let mut p = empty_plan(if fp16 {
                    Precision::Fp16
                } else {
                    Precision::Fp32
                });
                p.tensors.push(TensorInfo {
                    name: "in".into(),
                    shape: vec![spec[0].3],
                });
                p.inputs.push(0);
                for (k, (a, b, kind, size)) in spec.iter().take(n_layers).enumerate() {
                    let a = a % (k + 1);
                    let b = b % (k + 1);
                    let out = k + 1;
                    let (op, inputs, size) = match kind {
                        0 => (Op::Reshape, vec![a], p.tensors[a].elements()),
                        1 => (Op::Add, vec![a, b], *size),
                        _ => (Op::Relu, vec![a], *size),
                    };
                    p.tensors.push(TensorInfo {
                        name: format!("t{out}"),
                        shape: vec![size],
                    });
                    p.layers.push(layer(op, inputs, out));
                }
                p.outputs.push(n_layers);
                if extra_out && n_layers > 2 {
                    p.outputs.push(n_layers / 2);
                }
                p
            })
    }

    proptest! {
        #[test]
        fn live_tensors_never_overlap(plan in arb_plan()) {
            let mem = plan_memory(&plan);
            let n = plan.tensors.len();
            // Independent lifetime computation: a tensor is live from the layer that
            // writes it to the last layer that reads it (or any Reshape view of it reads
            // it); inputs and outputs are live throughout.
            let end = plan.layers.len();
            let mut alias: Vec<usize> = (0..n).collect();
            let boundary = |t: usize| plan.inputs.contains(&t) || plan.outputs.contains(&t);
            for l in &plan.layers {
                if matches!(l.op, Op::Reshape) {
                    let (i, o) = (l.inputs[0], l.outputs[0]);
                    if boundary(i) || boundary(o) {
                        continue;
                    }
                    let (root, old) = (alias[i], alias[o]);
                    for a in alias.iter_mut() { if *a == old { *a = root; } }
                }
            }
            let mut live = vec![(usize::MAX, 0usize); n];
            for (li, l) in plan.layers.iter().enumerate() {
                for t in l.inputs.iter().chain(&l.outputs) {
                    live[*t].0 = live[*t].0.min(li);
                    live[*t].1 = live[*t].1.max(li);
                }
            }
            for t in plan.inputs.iter().chain(&plan.outputs) { live[*t] = (0, end); }
            for l in live.iter_mut() {
                if l.0 == usize::MAX { *l = (0, 0); }
            }
            for a in 0..n {
                let ba = tensor_bytes(&plan, a);
                prop_assert_eq!(mem.offsets[a] % ALIGN, 0);
                prop_assert!(mem.offsets[a] + ba <= mem.arena_bytes);
                for b in (a + 1)..n {
                    if alias[a] == alias[b] {
                        prop_assert_eq!(mem.offsets[a], mem.offsets[b]);
                        continue;
                    }
                    let overlap_time = live[a].0 <= live[b].1 && live[b].0 <= live[a].1;
                    let bb = tensor_bytes(&plan, b);
                    let overlap_mem = mem.offsets[a] < mem.offsets[b] + bb && mem.offsets[b] < mem.offsets[a] + ba;
                    prop_assert!(!(overlap_time && overlap_mem),
                        "tensors {} and {} overlap in time {:?}/{:?} and memory", a, b, live[a], live[b]);
                }
            }
        }
    }

    #[test]
    fn chain_reuses_memory() {
        // in -> a -> b -> c -> out: a and c can share.
        let mut p = empty_plan(Precision::Fp32);
        for i in 0..5 {
            p.tensors.push(TensorInfo {
                name: format!("t{i}"),
                shape: vec![1000],
            });
        }
        p.inputs = vec![0];
        p.outputs = vec![4];
        for i in 0..4 {
            p.layers.push(layer(Op::Relu, vec![i], i + 1));
        }
        let m = plan_memory(&p);
        assert_eq!(m.offsets[1], m.offsets[3]);
        assert_ne!(m.offsets[1], m.offsets[2]);
        // 2 boundary slots + 2 shared interior slots, 4096 bytes each (4000 aligned).
        assert_eq!(m.arena_bytes, 4 * 4096);
    }

    #[test]
    fn reshape_aliases_only_interior_tensors() {
        // in -> relu -> a -> reshape -> b -> relu -> c -> reshape -> out
        let mut p = empty_plan(Precision::Fp16);
        for i in 0..5 {
            p.tensors.push(TensorInfo {
                name: format!("t{i}"),
                shape: vec![300],
            });
        }
        p.inputs = vec![0];
        p.outputs = vec![4];
        p.layers.push(layer(Op::Relu, vec![0], 1));
        p.layers.push(layer(Op::Reshape, vec![1], 2));
        p.layers.push(layer(Op::Relu, vec![2], 3));
        p.layers.push(layer(Op::Reshape, vec![3], 4));
        let m = plan_memory(&p);
        assert_eq!(m.offsets[1], m.offsets[2]);
        assert_ne!(m.offsets[3], m.offsets[4]);
        assert_ne!(m.offsets[2], m.offsets[3]);
    }

    #[test]
    fn fp16_halves_interior_but_not_boundary() {
        let mut p = empty_plan(Precision::Fp16);
        for i in 0..3 {
            p.tensors.push(TensorInfo {
                name: format!("t{i}"),
                shape: vec![256],
            });
        }
        p.inputs = vec![0];
        p.outputs = vec![2];
        p.layers.push(layer(Op::Relu, vec![0], 1));
        p.layers.push(layer(Op::Relu, vec![1], 2));
        assert_eq!(tensor_bytes(&p, 0), 1024);
        assert_eq!(tensor_bytes(&p, 1), 512);
        assert_eq!(tensor_bytes(&p, 2), 1024);
    }
}
