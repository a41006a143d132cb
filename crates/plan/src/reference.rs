//! Plain-Rust CPU interpreter of a GPU plan (f32, NCHW, straightforward loops; rayon over
//! output channels). It is the oracle for the builder (import, BatchNorm folding, fusion
//! are right when it agrees with tract and onnxruntime on the ONNX model) and for the CUDA
//! executor (which must agree with it on the same plan). Always computes in fp32, whatever
//! the plan's precision.

use rayon::prelude::*;

use super::format::PlanFile;
use super::ir::{Activation, EwStep, Layer, Op, Plan, Residual};
use adasval_core::exit::{Classify, Status};
use adasval_core::tensor::Tensor;

#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    #[error("plan `{plan}` has {expected} input(s), {got} given")]
    InputCount {
        plan: String,
        expected: usize,
        got: usize,
    },
    #[error("plan `{plan}` input {index} `{name}` has shape {expected:?}; the tensor given has shape {got:?} with {len} values")]
    InputShape {
        plan: String,
        index: usize,
        name: String,
        expected: Vec<usize>,
        got: Vec<usize>,
        len: usize,
    },
    #[error("plan `{plan}` layer {index} `{layer}`: {message}")]
    Layer {
        plan: String,
        index: usize,
        layer: String,
        message: String,
    },
}

impl Classify for ReferenceError {
    fn status(&self) -> Status {
        Status::BadInput
    }
}

/// Run the plan on `inputs` (in the order of `Plan::inputs`); outputs come back in the
/// order of `Plan::outputs`, named after their tensors.
pub fn run_reference(file: &PlanFile, inputs: &[Tensor]) -> Result<Vec<Tensor>, ReferenceError> {
    file.check().map_err(|e| ReferenceError::Layer {
        plan: file.plan.name.clone(),
        index: 0,
        layer: String::new(),
        message: e.to_string(),
    })?;
    let plan = &file.plan;
    if inputs.len() != plan.inputs.len() {
        return Err(ReferenceError::InputCount {
            plan: plan.name.clone(),
            expected: plan.inputs.len(),
            got: inputs.len(),
        });
    }
    let n = plan.tensors.len();
    let mut values: Vec<Option<Vec<f32>>> = vec![None; n];
    for (i, (id, t)) in plan.inputs.iter().zip(inputs).enumerate() {
        let info = &plan.tensors[*id];
        if t.shape != info.shape || t.data.len() != info.elements() {
            return Err(ReferenceError::InputShape {
                plan: plan.name.clone(),
                index: i,
                name: info.name.clone(),
                expected: info.shape.clone(),
                got: t.shape.clone(),
                len: t.data.len(),
            });
        }
        values[*id] = Some(t.data.clone());
    }
    // Free each activation after its last reader so YOLOX-sized graphs stay small.
    let mut last_use = vec![usize::MAX; n];
    for (li, l) in plan.layers.iter().enumerate() {
        for t in &l.inputs {
            last_use[*t] = li;
        }
    }
    for t in &plan.outputs {
        last_use[*t] = usize::MAX;
    }
    for (li, layer) in plan.layers.iter().enumerate() {
        let err = |message: String| ReferenceError::Layer {
            plan: plan.name.clone(),
            index: li,
            layer: layer.name.clone(),
            message,
        };
        let mut args: Vec<&[f32]> = Vec::with_capacity(layer.inputs.len());
        for t in &layer.inputs {
            match &values[*t] {
                Some(v) => args.push(v),
                None => {
                    return Err(err(format!(
                        "input tensor `{}` has not been computed",
                        plan.tensors[*t].name
                    )))
                }
            }
        }
        let out = run_layer(file, layer, &args).map_err(err)?;
        let out_id = layer.outputs[0];
        if out.len() != plan.tensors[out_id].elements() {
            return Err(err(format!(
                "produced {} values for `{}` of shape {:?}",
                out.len(),
                plan.tensors[out_id].name,
                plan.tensors[out_id].shape
            )));
        }
        values[out_id] = Some(out);
        for t in &layer.inputs {
            if last_use[*t] == li && !plan.inputs.contains(t) {
                values[*t] = None;
            }
        }
    }
    plan.outputs
        .iter()
        .map(|id| {
            let info = &plan.tensors[*id];
            let data = values[*id].clone().ok_or_else(|| ReferenceError::Layer {
                plan: plan.name.clone(),
                index: plan.layers.len(),
                layer: String::new(),
                message: format!("output `{}` was never computed", info.name),
            })?;
            Ok(Tensor::new(info.name.clone(), info.shape.clone(), data))
        })
        .collect()
}

fn shape_of<'a>(plan: &'a Plan, layer: &Layer, input: usize) -> &'a [usize] {
    &plan.tensors[layer.inputs[input]].shape
}

fn run_layer(file: &PlanFile, layer: &Layer, args: &[&[f32]]) -> Result<Vec<f32>, String> {
    let plan = &file.plan;
    let out_shape = &plan.tensors[layer.outputs[0]].shape;
    let arity = match &layer.op {
        Op::Add | Op::Mul => 2,
        Op::Conv {
            residual: Some(_), ..
        } => 2,
        Op::Concat { .. } | Op::Elementwise { .. } => layer.inputs.len().max(1),
        _ => 1,
    };
    if args.len() != arity {
        return Err(format!("{} input(s) given, {arity} expected", args.len()));
    }
    let x = args[0];
    Ok(match &layer.op {
        Op::Conv {
            weight,
            bias,
            stride,
            pads,
            dilation,
            group,
            activation,
            residual,
            ..
        } => {
            let w = &plan.weights[*weight];
            let wdata = &file.weights[w.offset..w.offset + w.elements()];
            let b = bias.map(|b| {
                let bi = &plan.weights[b];
                &file.weights[bi.offset..bi.offset + bi.elements()]
            });
            let xs = shape_of(plan, layer, 0);
            let mut y = conv2d(
                x, xs, wdata, &w.shape, b, out_shape, *stride, *pads, *dilation, *group,
            );
            let add_residual = |y: &mut Vec<f32>| {
                y.par_iter_mut()
                    .zip(args[1].par_iter())
                    .for_each(|(v, r)| *v += r)
            };
            if *residual == Some(Residual::BeforeActivation) {
                add_residual(&mut y);
            }
            activate(&mut y, *activation);
            if *residual == Some(Residual::AfterActivation) {
                add_residual(&mut y);
            }
            y
        }
        Op::Elementwise { resize, steps } => {
            let mut v = match resize {
                Some(scales) => resize_nearest(x, shape_of(plan, layer, 0), out_shape, *scales),
                None => x.to_vec(),
            };
            for st in steps {
                match st {
                    EwStep::Add(k) | EwStep::Mul(k) => {
                        let other = args.get(*k).ok_or_else(|| format!("no input {k}"))?;
                        v = binary(
                            &v,
                            out_shape,
                            other,
                            shape_of(plan, layer, *k),
                            matches!(st, EwStep::Add(_)),
                        )?;
                    }
                    EwStep::Relu => activate(&mut v, Some(Activation::Relu)),
                    EwStep::Sigmoid => activate(&mut v, Some(Activation::Sigmoid)),
                }
            }
            v
        }
        Op::Relu => x.par_iter().map(|v| v.max(0.0)).collect(),
        Op::Sigmoid => x.par_iter().map(|v| sigmoid(*v)).collect(),
        Op::Add | Op::Mul => {
            let add = matches!(layer.op, Op::Add);
            binary(
                x,
                shape_of(plan, layer, 0),
                args[1],
                shape_of(plan, layer, 1),
                add,
            )?
        }
        Op::Concat { axis } => {
            let outer: usize = out_shape[..*axis].iter().product();
            let mut y = Vec::with_capacity(out_shape.iter().product());
            let inners: Vec<usize> = (0..args.len())
                .map(|i| shape_of(plan, layer, i)[*axis..].iter().product())
                .collect();
            for o in 0..outer {
                for (a, inner) in args.iter().zip(&inners) {
                    y.extend_from_slice(&a[o * inner..(o + 1) * inner]);
                }
            }
            y
        }
        Op::Slice {
            axes,
            starts,
            steps,
            ..
        } => {
            let xs = shape_of(plan, layer, 0);
            let mut start = vec![0; xs.len()];
            let mut step = vec![1; xs.len()];
            for i in 0..axes.len() {
                start[axes[i]] = starts[i];
                step[axes[i]] = steps[i];
            }
            let strides = strides(xs);
            gather_nd(
                out_shape,
                |idx| {
                    idx.iter()
                        .enumerate()
                        .map(|(d, i)| (start[d] + i * step[d]) * strides[d])
                        .sum()
                },
                x,
            )
        }
        Op::MaxPool {
            kernel,
            stride,
            pads,
        } => maxpool(
            x,
            shape_of(plan, layer, 0),
            out_shape,
            *kernel,
            *stride,
            *pads,
        ),
        Op::ResizeNearest { scales } => {
            resize_nearest(x, shape_of(plan, layer, 0), out_shape, *scales)
        }
        Op::Reshape => x.to_vec(),
        Op::Transpose { perm } => {
            let xs = shape_of(plan, layer, 0);
            let st = strides(xs);
            gather_nd(
                out_shape,
                |idx| idx.iter().enumerate().map(|(d, i)| i * st[perm[d]]).sum(),
                x,
            )
        }
    })
}

fn activate(y: &mut [f32], a: Option<Activation>) {
    match a {
        Some(Activation::Relu) => y.par_iter_mut().for_each(|v| *v = v.max(0.0)),
        Some(Activation::Sigmoid) => y.par_iter_mut().for_each(|v| *v = sigmoid(*v)),
        Some(Activation::Silu) => y.par_iter_mut().for_each(|v| *v *= sigmoid(*v)),
        None => {}
    }
}

fn resize_nearest(x: &[f32], xs: &[usize], out_shape: &[usize], scales: [usize; 2]) -> Vec<f32> {
    let (h, w) = (xs[2], xs[3]);
    let (oh, ow) = (out_shape[2], out_shape[3]);
    let mut y = vec![0.0; out_shape.iter().product()];
    y.par_chunks_mut(oh * ow).enumerate().for_each(|(p, out)| {
        let plane = &x[p * h * w..(p + 1) * h * w];
        for oy in 0..oh {
            let row = &plane[(oy / scales[0]) * w..];
            for ox in 0..ow {
                out[oy * ow + ox] = row[ox / scales[1]];
            }
        }
    });
    y
}

fn sigmoid(v: f32) -> f32 {
    1.0 / (1.0 + (-v).exp())
}

fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        s[d] = s[d + 1] * shape[d + 1];
    }
    s
}

/// y[idx] = x[source(idx)] over every index of `out_shape`, in row-major order.
fn gather_nd(out_shape: &[usize], source: impl Fn(&[usize]) -> usize, x: &[f32]) -> Vec<f32> {
    let total: usize = out_shape.iter().product();
    let mut y = Vec::with_capacity(total);
    let mut idx = vec![0; out_shape.len()];
    for _ in 0..total {
        y.push(x[source(&idx)]);
        for d in (0..idx.len()).rev() {
            idx[d] += 1;
            if idx[d] < out_shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    y
}

/// `a op b` with b broadcast (numpy rules) onto a's shape.
fn binary(
    a: &[f32],
    ashape: &[usize],
    b: &[f32],
    bshape: &[usize],
    add: bool,
) -> Result<Vec<f32>, String> {
    let f = |p: f32, q: f32| if add { p + q } else { p * q };
    if ashape == bshape {
        return Ok(a
            .par_iter()
            .zip(b.par_iter())
            .map(|(p, q)| f(*p, *q))
            .collect());
    }
    let rank = ashape.len();
    if bshape.len() > rank {
        return Err(format!("cannot broadcast {bshape:?} onto {ashape:?}"));
    }
    let pad = rank - bshape.len();
    let bst = strides(bshape);
    let mut bstride = vec![0; rank];
    for d in 0..bshape.len() {
        let ad = ashape[pad + d];
        if bshape[d] == ad {
            bstride[pad + d] = bst[d];
        } else if bshape[d] != 1 {
            return Err(format!("cannot broadcast {bshape:?} onto {ashape:?}"));
        }
    }
    let mut out = Vec::with_capacity(a.len());
    let mut idx = vec![0; rank];
    for p in a {
        let bi: usize = idx.iter().zip(&bstride).map(|(i, s)| i * s).sum();
        out.push(f(*p, b[bi]));
        for d in (0..rank).rev() {
            idx[d] += 1;
            if idx[d] < ashape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn conv2d(
    x: &[f32],
    xs: &[usize],
    w: &[f32],
    ws: &[usize],
    bias: Option<&[f32]>,
    ys: &[usize],
    stride: [usize; 2],
    pads: [usize; 4],
    dil: [usize; 2],
    group: usize,
) -> Vec<f32> {
    let (c, h, wd) = (xs[1], xs[2], xs[3]);
    let (k, cg, kh, kw) = (ws[0], ws[1], ws[2], ws[3]);
    let (oh, ow) = (ys[2], ys[3]);
    let kg = k / group;
    let mut y = vec![0.0f32; ys.iter().product()];
    y.par_chunks_mut(oh * ow).enumerate().for_each(|(p, out)| {
        let (n, o) = (p / k, p % k);
        let g = o / kg;
        out.fill(bias.map_or(0.0, |b| b[o]));
        for ci in 0..cg {
            let plane = &x[(n * c + g * cg + ci) * h * wd..][..h * wd];
            for ky in 0..kh {
                for kx in 0..kw {
                    let wv = w[((o * cg + ci) * kh + ky) * kw + kx];
                    // Output columns whose input column ox*s + kx*d - pad lies inside.
                    let off = kx * dil[1];
                    let lo = pads[1].saturating_sub(off).div_ceil(stride[1]);
                    let hi = if wd + pads[1] > off {
                        ((wd + pads[1] - off - 1) / stride[1] + 1).min(ow)
                    } else {
                        0
                    };
                    if lo >= hi {
                        continue;
                    }
                    for oy in 0..oh {
                        let iy = (oy * stride[0] + ky * dil[0]) as isize - pads[0] as isize;
                        if iy < 0 || iy >= h as isize {
                            continue;
                        }
                        let row = &plane[iy as usize * wd..][..wd];
                        let orow = &mut out[oy * ow..(oy + 1) * ow];
                        if stride[1] == 1 {
                            let base = lo + off - pads[1];
                            for (o, i) in orow[lo..hi].iter_mut().zip(&row[base..base + hi - lo]) {
                                *o += wv * i;
                            }
                        } else {
                            for (ox, o) in orow.iter_mut().enumerate().take(hi).skip(lo) {
                                *o += wv * row[ox * stride[1] + off - pads[1]];
                            }
                        }
                    }
                }
            }
        }
    });
    y
}

fn maxpool(
    x: &[f32],
    xs: &[usize],
    ys: &[usize],
    kernel: [usize; 2],
    stride: [usize; 2],
    pads: [usize; 4],
) -> Vec<f32> {
    let (h, w) = (xs[2], xs[3]);
    let (oh, ow) = (ys[2], ys[3]);
    let mut y = vec![0.0f32; ys.iter().product()];
    y.par_chunks_mut(oh * ow).enumerate().for_each(|(p, out)| {
        let plane = &x[p * h * w..(p + 1) * h * w];
        for oy in 0..oh {
            for ox in 0..ow {
                let mut m = f32::NEG_INFINITY;
                for ky in 0..kernel[0] {
                    let iy = (oy * stride[0] + ky) as isize - pads[0] as isize;
                    if iy < 0 || iy >= h as isize {
                        continue;
                    }
                    for kx in 0..kernel[1] {
                        let ix = (ox * stride[1] + kx) as isize - pads[1] as isize;
                        if ix < 0 || ix >= w as isize {
                            continue;
                        }
                        m = m.max(plane[iy as usize * w + ix as usize]);
                    }
                }
                out[oy * ow + ox] = m;
            }
        }
    });
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Direct definition of a convolution, one output at a time.
    #[allow(clippy::too_many_arguments)]
    fn naive(
        x: &[f32],
        xs: [usize; 4],
        w: &[f32],
        ws: [usize; 4],
        ys: [usize; 4],
        s: [usize; 2],
        p: [usize; 2],
        d: [usize; 2],
        g: usize,
    ) -> Vec<f32> {
        let mut y = vec![0.0; ys.iter().product()];
        let kg = ws[0] / g;
        for n in 0..ys[0] {
            for o in 0..ys[1] {
                for oy in 0..ys[2] {
                    for ox in 0..ys[3] {
                        let mut acc = 0.0;
                        for ci in 0..ws[1] {
                            let c = (o / kg) * ws[1] + ci;
                            for ky in 0..ws[2] {
                                for kx in 0..ws[3] {
                                    let iy = (oy * s[0] + ky * d[0]) as isize - p[0] as isize;
                                    let ix = (ox * s[1] + kx * d[1]) as isize - p[1] as isize;
                                    if iy < 0
                                        || ix < 0
                                        || iy >= xs[2] as isize
                                        || ix >= xs[3] as isize
                                    {
                                        continue;
                                    }
                                    acc += w[((o * ws[1] + ci) * ws[2] + ky) * ws[3] + kx]
                                        * x[((n * xs[1] + c) * xs[2] + iy as usize) * xs[3]
                                            + ix as usize];
                                }
                            }
                        }
                        y[((n * ys[1] + o) * ys[2] + oy) * ys[3] + ox] = acc;
                    }
                }
            }
        }
        y
    }

    #[test]
    fn conv_matches_the_definition() {
        let mut rng = adasval_core::rng::SplitMix64::new(7);
        for &(c, k, g, kk, s, p, d, h, w) in &[
            (4, 6, 2, 3, 1, 1, 1, 7, 9),
            (6, 6, 6, 3, 2, 1, 1, 8, 8),
            (3, 4, 1, 3, 1, 2, 2, 9, 6),
            (2, 3, 1, 1, 1, 0, 1, 5, 5),
            (4, 4, 1, 5, 3, 2, 1, 11, 10),
        ] {
            let xs = [2, c, h, w];
            let ws = [k, c / g, kk, kk];
            let oh = (h + 2 * p - d * (kk - 1) - 1) / s + 1;
            let ow = (w + 2 * p - d * (kk - 1) - 1) / s + 1;
            let ys = [2, k, oh, ow];
            let x: Vec<f32> = (0..xs.iter().product())
                .map(|_| (rng.next_u64() >> 40) as f32 / 16_777_216.0 - 0.5)
                .collect();
            let wt: Vec<f32> = (0..ws.iter().product())
                .map(|_| (rng.next_u64() >> 40) as f32 / 16_777_216.0 - 0.5)
                .collect();
            let fast = conv2d(
                &x,
                &xs,
                &wt,
                &ws,
                None,
                &ys,
                [s, s],
                [p, p, p, p],
                [d, d],
                g,
            );
            let slow = naive(&x, xs, &wt, ws, ys, [s, s], [p, p], [d, d], g);
            for (a, b) in fast.iter().zip(&slow) {
                assert!((a - b).abs() < 1e-5, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn broadcast_add() {
        let a = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = vec![10.0, 20.0];
        let y = binary(&a, &[1, 2, 3], &b, &[2, 1], true).unwrap_or_default();
        assert_eq!(y, vec![11.0, 12.0, 13.0, 24.0, 25.0, 26.0]);
    }
}
