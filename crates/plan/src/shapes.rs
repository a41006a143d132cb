//! Semantic checks of a loaded plan, run by `PlanFile::check` after the id and offset
//! checks: every layer's output shape is inferred again from its inputs and parameters and
//! must equal the recorded one, and every tensor is written once, before it is read. After
//! this an executor (or the reference interpreter) can size kernels from the recorded
//! shapes without re-deriving them.

use super::dims::{broadcast, conv_out, elements};
use super::ir::{EwStep, Layer, Op, Plan};

/// `size × scale` of a resize, refused when it overflows.
fn scaled(size: usize, scale: usize) -> Result<usize, String> {
    size.checked_mul(scale)
        .ok_or_else(|| format!("resize of {size} by {scale} overflows"))
}

/// The output shape `layer` must have given its input shapes.
fn infer(plan: &Plan, layer: &Layer) -> Result<Vec<usize>, String> {
    let ins: Vec<&[usize]> = layer
        .inputs
        .iter()
        .map(|t| plan.tensors[*t].shape.as_slice())
        .collect();
    let one = |want: usize| -> Result<(), String> {
        if ins.len() == want {
            Ok(())
        } else {
            Err(format!("{} input(s), {want} expected", ins.len()))
        }
    };
    let rank4 = |s: &[usize]| -> Result<[usize; 4], String> {
        s.try_into()
            .map_err(|_| format!("input shape {s:?} is not 4-D"))
    };
    let positive = |what: &str, v: &[usize]| -> Result<(), String> {
        if v.iter().all(|x| *x >= 1) {
            Ok(())
        } else {
            Err(format!("{what} {v:?} must be positive"))
        }
    };
    match &layer.op {
        Op::Conv {
            kernel,
            stride,
            pads,
            dilation,
            group,
            residual,
            ..
        } => {
            one(1 + usize::from(residual.is_some()))?;
            let [n, c, h, w] = rank4(ins[0])?;
            positive("kernel", kernel)?;
            positive("stride", stride)?;
            positive("dilation", dilation)?;
            if *group == 0 || c % group != 0 {
                return Err(format!("group {group} does not divide {c} input channels"));
            }
            let k = plan.tensors[layer.outputs[0]]
                .shape
                .get(1)
                .copied()
                .unwrap_or(0);
            if k % group != 0 {
                return Err(format!("group {group} does not divide {k} output channels"));
            }
            let oh = conv_out(h, [pads[0], pads[2]], kernel[0], stride[0], dilation[0]);
            let ow = conv_out(w, [pads[1], pads[3]], kernel[1], stride[1], dilation[1]);
            let out = match (oh, ow) {
                (Some(oh), Some(ow)) => vec![n, k, oh, ow],
                _ => return Err("kernel larger than the padded input".into()),
            };
            if residual.is_some() && ins[1] != out.as_slice() {
                return Err(format!(
                    "residual input {:?} is not of the output's shape {out:?}",
                    ins[1]
                ));
            }
            Ok(out)
        }
        Op::Elementwise { resize, steps } => {
            let first = ins.first().ok_or("no inputs")?;
            let out = match resize {
                Some(s) => {
                    let [n, c, h, w] = rank4(first)?;
                    positive("scales", s)?;
                    vec![n, c, scaled(h, s[0])?, scaled(w, s[1])?]
                }
                None => first.to_vec(),
            };
            let mut used = vec![false; ins.len()];
            used[0] = true;
            for st in steps {
                if let EwStep::Add(k) | EwStep::Mul(k) = st {
                    let other = ins
                        .get(*k)
                        .ok_or(format!("step reads input {k}, which does not exist"))?;
                    if *k == 0 || broadcast(&out, other).as_deref() != Some(out.as_slice()) {
                        return Err(format!("{other:?} does not broadcast onto {out:?}"));
                    }
                    used[*k] = true;
                }
            }
            if steps.is_empty() || used.contains(&false) {
                return Err("every input must be read and there must be a step".into());
            }
            Ok(out)
        }
        Op::Relu | Op::Sigmoid => {
            one(1)?;
            Ok(ins[0].to_vec())
        }
        Op::Add | Op::Mul => {
            one(2)?;
            if broadcast(ins[0], ins[1]).as_deref() != Some(ins[0]) {
                return Err(format!("{:?} does not broadcast onto {:?}", ins[1], ins[0]));
            }
            Ok(ins[0].to_vec())
        }
        Op::Concat { axis } => {
            let first = ins.first().ok_or("no inputs")?;
            if *axis >= first.len() {
                return Err(format!("axis {axis} out of range for rank {}", first.len()));
            }
            let mut out = first.to_vec();
            out[*axis] = 0;
            for s in &ins {
                if s.len() != first.len()
                    || s.iter()
                        .zip(first.iter())
                        .enumerate()
                        .any(|(d, (a, b))| d != *axis && a != b)
                {
                    return Err(format!(
                        "inputs {first:?} and {s:?} differ outside axis {axis}"
                    ));
                }
                out[*axis] = out[*axis]
                    .checked_add(s[*axis])
                    .ok_or_else(|| format!("concatenated axis {axis} overflows"))?;
            }
            Ok(out)
        }
        Op::Slice {
            axes,
            starts,
            ends,
            steps,
        } => {
            one(1)?;
            let n = axes.len();
            if starts.len() != n || ends.len() != n || steps.len() != n {
                return Err("axes, starts, ends and steps differ in length".into());
            }
            let mut out = ins[0].to_vec();
            for i in 0..n {
                let a = axes[i];
                let dim = *ins[0].get(a).ok_or(format!("axis {a} out of range"))?;
                if steps[i] == 0 || starts[i] >= ends[i] || ends[i] > dim {
                    return Err(format!(
                        "axis {a}: {}:{}:{} is not a non-empty slice of {dim}",
                        starts[i], ends[i], steps[i]
                    ));
                }
                out[a] = (ends[i] - starts[i]).div_ceil(steps[i]);
            }
            Ok(out)
        }
        Op::MaxPool {
            kernel,
            stride,
            pads,
        } => {
            one(1)?;
            let [n, c, h, w] = rank4(ins[0])?;
            positive("kernel", kernel)?;
            positive("stride", stride)?;
            if pads[0] >= kernel[0]
                || pads[2] >= kernel[0]
                || pads[1] >= kernel[1]
                || pads[3] >= kernel[1]
            {
                return Err(format!(
                    "pads {pads:?} must be smaller than the kernel {kernel:?}"
                ));
            }
            let oh = conv_out(h, [pads[0], pads[2]], kernel[0], stride[0], 1);
            let ow = conv_out(w, [pads[1], pads[3]], kernel[1], stride[1], 1);
            match (oh, ow) {
                (Some(oh), Some(ow)) => Ok(vec![n, c, oh, ow]),
                _ => Err("kernel larger than the padded input".into()),
            }
        }
        Op::ResizeNearest { scales } => {
            one(1)?;
            let [n, c, h, w] = rank4(ins[0])?;
            positive("scales", scales)?;
            Ok(vec![n, c, scaled(h, scales[0])?, scaled(w, scales[1])?])
        }
        Op::Reshape => {
            one(1)?;
            let out = plan.tensors[layer.outputs[0]].shape.clone();
            if elements(&out).is_none() || elements(&out) != elements(ins[0]) {
                return Err(format!("cannot reshape {:?} to {out:?}", ins[0]));
            }
            Ok(out)
        }
        Op::Transpose { perm } => {
            one(1)?;
            let mut seen = vec![false; ins[0].len()];
            for p in perm {
                match seen.get_mut(*p) {
                    Some(s) if !*s => *s = true,
                    _ => {
                        return Err(format!(
                            "perm {perm:?} is not a permutation of rank {}",
                            ins[0].len()
                        ))
                    }
                }
            }
            if perm.len() != ins[0].len() {
                return Err(format!(
                    "perm {perm:?} is not a permutation of rank {}",
                    ins[0].len()
                ));
            }
            Ok(perm.iter().map(|p| ins[0][*p]).collect())
        }
    }
}

/// Check shapes and dataflow of a plan whose ids are known to be in range.
pub fn check_layers(plan: &Plan) -> Result<(), String> {
    let mut written = vec![false; plan.tensors.len()];
    for t in &plan.inputs {
        written[*t] = true;
    }
    for (i, l) in plan.layers.iter().enumerate() {
        let at = |m: String| format!("layer {i} `{}` ({}): {m}", l.name, l.op.kind());
        if l.outputs.len() != 1 {
            return Err(at(format!("{} outputs, 1 expected", l.outputs.len())));
        }
        if let Some(t) = l.inputs.iter().find(|t| !written[**t]) {
            return Err(at(format!(
                "reads tensor `{}` before any layer writes it",
                plan.tensors[*t].name
            )));
        }
        let out = l.outputs[0];
        if written[out] {
            return Err(at(format!(
                "writes tensor `{}` a second time",
                plan.tensors[out].name
            )));
        }
        written[out] = true;
        let want = infer(plan, l).map_err(at)?;
        if want != plan.tensors[out].shape {
            return Err(at(format!(
                "output `{}` is recorded as {:?} but its inputs give {want:?}",
                plan.tensors[out].name, plan.tensors[out].shape
            )));
        }
    }
    if let Some(t) = plan.outputs.iter().find(|t| !written[**t]) {
        return Err(format!(
            "plan output `{}` is never written",
            plan.tensors[*t].name
        ));
    }
    Ok(())
}
