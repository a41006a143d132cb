//! Prepare time, per session: each plan layer turned into a `Step` with absolute device
//! addresses (arena tensors, packed weights), its cuDNN descriptors and tactic set up, and
//! the `LayerMeta` that `--profile` reports. Sits between the plan (`cudaplan::ir`) and
//! the per-frame launches in `launch`; nothing here touches the stream.

use cudarc::cudnn::sys as cs;
use cudarc::driver::{CudaFunction, LaunchConfig};

use crate::dnn::{self, ActDesc, ConvDescs, ConvShape, Handle};
use crate::ewgen::{EwArgs, MAX_EW_INPUTS};
use crate::gpu::GpuError;
use crate::kernels::{residual_mode, ConcatParts, ConvArgs, Gather, Kernels, MAX_PARTS, MAX_RANK};
use adasval_plan::ir::{Activation, ConvEngine, Layer, Op, Plan, Precision, Residual};

use super::Ptr;

pub(super) struct ConvStep {
    pub(super) d: ConvDescs,
    pub(super) act: ActDesc,
    pub(super) algo: cs::cudnnConvolutionFwdAlgo_t,
    pub(super) x: Ptr,
    pub(super) w: Ptr,
    pub(super) bias: Option<Ptr>,
    pub(super) y: Ptr,
    /// cudnnConvolutionBiasActivationForward (bias + ReLU, and a residual before the ReLU
    /// as its z) instead of conv + kernel.
    pub(super) fused: bool,
    /// Activation applied by the `bias_act` kernel when not fused (0 none, 1 relu, ...).
    pub(super) act_kind: i32,
    /// The residual input (0: none) and where `bias_act` adds it (`residual_mode`).
    pub(super) res: Ptr,
    pub(super) res_mode: i32,
    pub(super) n_out: usize,
    pub(super) hw: i64,
    pub(super) channels: i32,
}

/// The generated direct convolution: convolution, bias and activation in one launch.
pub(super) struct DirectStep {
    pub(super) f: CudaFunction,
    pub(super) cfg: LaunchConfig,
    pub(super) x: Ptr,
    pub(super) w: Ptr,
    /// 0: no bias.
    pub(super) bias: Ptr,
    /// The residual input (read only when `args.res` is set).
    pub(super) res: Ptr,
    pub(super) y: Ptr,
    pub(super) args: ConvArgs,
}

pub(super) enum Step {
    Conv(Box<ConvStep>),
    Direct(Box<DirectStep>),
    /// A fused elementwise chain: its generated kernel.
    Elementwise {
        f: CudaFunction,
        args: EwArgs,
    },
    Act {
        kind: i32,
        x: Ptr,
        y: Ptr,
        n: usize,
    },
    Binary {
        op: i32,
        a: Ptr,
        b: Ptr,
        y: Ptr,
        g: Gather,
    },
    Gather {
        x: Ptr,
        y: Ptr,
        g: Gather,
    },
    Concat {
        y: Ptr,
        /// (source, outer, inner_in, inner_out, offset) per input.
        parts: Vec<(Ptr, i64, i64, i64, i64)>,
        /// All parts in one launch (up to `MAX_PARTS` inputs), else one launch per part.
        one: Option<ConcatParts>,
    },
    MaxPool {
        x: Ptr,
        y: Ptr,
        nc: i64,
        /// h, w, oh, ow, kh, kw, sh, sw, pad top, pad left
        p: [i32; 10],
        n: usize,
    },
    Resize {
        x: Ptr,
        y: Ptr,
        nc: i64,
        /// h, w, sh, sw
        p: [i32; 4],
        n: usize,
    },
    Copy {
        src: Ptr,
        dst: Ptr,
        bytes: usize,
    },
    Nop,
}

/// What `--profile` reports per layer.
#[derive(Clone)]
pub(super) struct LayerMeta {
    pub(super) name: String,
    pub(super) kind: &'static str,
    pub(super) tactic: Option<String>,
    pub(super) math_type: Option<String>,
    pub(super) workspace_bytes: Option<usize>,
    pub(super) fused: Vec<String>,
    pub(super) shape: Vec<usize>,
}

fn act_kind(a: Option<Activation>) -> i32 {
    match a {
        None => 0,
        Some(Activation::Relu) => 1,
        Some(Activation::Sigmoid) => 2,
        Some(Activation::Silu) => 3,
    }
}

fn strides(shape: &[usize]) -> Vec<i64> {
    let mut s = vec![1i64; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        s[d] = s[d + 1] * shape[d + 1] as i64;
    }
    s
}

fn gather_dims(out: &[usize]) -> Result<Gather, GpuError> {
    if out.len() > MAX_RANK {
        return Err(GpuError::Invalid(format!(
            "rank {} exceeds the executor's {MAX_RANK}",
            out.len()
        )));
    }
    let mut g = Gather {
        n: out.iter().product::<usize>() as i64,
        rank: out.len() as i32,
        ..Default::default()
    };
    for (d, &v) in out.iter().enumerate() {
        g.dims[d] =
            i32::try_from(v).map_err(|_| GpuError::Invalid(format!("dimension {v} too large")))?;
    }
    Ok(g)
}

/// Strides of `src` broadcast (numpy rules, right-aligned) onto `out`.
fn broadcast_strides(src: &[usize], out: &[usize]) -> Result<[i64; MAX_RANK], GpuError> {
    if src.len() > out.len() {
        return Err(GpuError::Invalid(format!(
            "cannot broadcast {src:?} onto {out:?}"
        )));
    }
    let st = strides(src);
    let lead = out.len() - src.len();
    let mut r = [0i64; MAX_RANK];
    for d in 0..out.len() {
        if d < lead {
            continue;
        }
        let k = d - lead;
        if src[k] == out[d] {
            r[d] = st[k];
        } else if src[k] == 1 {
            r[d] = 0;
        } else {
            return Err(GpuError::Invalid(format!(
                "cannot broadcast {src:?} onto {out:?}"
            )));
        }
    }
    Ok(r)
}

/// Where everything is, for building steps.
pub(super) struct Layout<'a> {
    pub(super) plan: &'a Plan,
    pub(super) arena: Ptr,
    pub(super) weights: Ptr,
    pub(super) weight_offsets: Vec<usize>,
    pub(super) esize: usize,
}

impl Layout<'_> {
    pub(super) fn t(&self, id: usize) -> Result<Ptr, GpuError> {
        let off = self.plan.memory.offsets.get(id).ok_or_else(|| {
            GpuError::Invalid(format!("tensor {id} has no offset in the memory plan"))
        })?;
        Ok(self.arena + *off as u64)
    }
    pub(super) fn shape(&self, id: usize) -> Result<&[usize], GpuError> {
        self.plan
            .tensors
            .get(id)
            .map(|t| t.shape.as_slice())
            .ok_or_else(|| GpuError::Invalid(format!("tensor {id} does not exist")))
    }
    pub(super) fn w(&self, id: usize) -> Result<Ptr, GpuError> {
        let off = self
            .weight_offsets
            .get(id)
            .ok_or_else(|| GpuError::Invalid(format!("weight {id} does not exist")))?;
        Ok(self.weights + (off * self.esize) as u64)
    }
}

fn check_io(layer: &Layer, inputs: usize, outputs: usize) -> Result<(), GpuError> {
    let ok_in = if inputs == usize::MAX {
        !layer.inputs.is_empty()
    } else {
        layer.inputs.len() == inputs
    };
    if !ok_in || layer.outputs.len() != outputs {
        return Err(GpuError::Invalid(format!(
            "{} expects {} inputs and {outputs} outputs, has {} and {}",
            layer.op.kind(),
            if inputs == usize::MAX {
                "≥1".to_string()
            } else {
                inputs.to_string()
            },
            layer.inputs.len(),
            layer.outputs.len()
        )));
    }
    Ok(())
}

fn dims4(s: &[usize], what: &str) -> Result<[usize; 4], GpuError> {
    <[usize; 4]>::try_from(s)
        .map_err(|_| GpuError::Invalid(format!("{what} must be 4-D NCHW, is {s:?}")))
}

fn i32c(v: usize) -> Result<i32, GpuError> {
    i32::try_from(v).map_err(|_| GpuError::Invalid(format!("value {v} too large")))
}

pub(super) fn build_step(
    l: &Layout,
    layer: &Layer,
    precision: Precision,
    dnn: &Handle,
    kernels: &Kernels,
    direct_w: Option<Ptr>,
    generated: Option<&(String, CudaFunction)>,
) -> Result<(Step, LayerMeta, usize), GpuError> {
    let mut meta = LayerMeta {
        name: layer.name.clone(),
        kind: layer.op.kind(),
        tactic: None,
        math_type: None,
        workspace_bytes: None,
        fused: layer.fused.clone(),
        shape: match layer.outputs.first() {
            Some(&o) => l.shape(o)?.to_vec(),
            None => vec![],
        },
    };
    let mut ws = 0;
    let step = match &layer.op {
        Op::Conv {
            weight,
            bias,
            kernel: _,
            stride,
            pads,
            dilation,
            group,
            activation,
            residual,
        } => {
            check_io(layer, 1 + usize::from(residual.is_some()), 1)?;
            let res_mode = residual_mode(*residual);
            let res = match residual {
                Some(_) => l.t(layer.inputs[1])?,
                None => 0,
            };
            let choice = layer.choice.as_ref().ok_or_else(|| {
                GpuError::Invalid("convolution without an algorithm choice".into())
            })?;
            if choice.engine == ConvEngine::Direct {
                let v = choice.direct.ok_or_else(|| {
                    GpuError::Invalid("direct convolution without its kernel variant".into())
                })?;
                let w =
                    l.plan.weights.get(*weight).ok_or_else(|| {
                        GpuError::Invalid(format!("weight {weight} does not exist"))
                    })?;
                let wshape = dims4(&w.shape, "conv weight")?;
                let kernel = [wshape[2], wshape[3]];
                let args = ConvArgs::new(
                    dims4(l.shape(layer.inputs[0])?, "conv input")?,
                    wshape,
                    dims4(l.shape(layer.outputs[0])?, "conv output")?,
                    *stride,
                    *pads,
                    *dilation,
                    *group,
                    act_kind(*activation),
                )
                .map(|a| ConvArgs { res: res_mode, ..a })?;
                let cfg = args.config(v)?;
                meta.tactic = Some(v.label(kernel));
                meta.math_type = Some(match precision {
                    Precision::Fp32 => "fp32 FMA".into(),
                    Precision::Fp16 => "fp16 storage, fp32 accumulation".into(),
                });
                meta.workspace_bytes = Some(0);
                let step = Step::Direct(Box::new(DirectStep {
                    f: kernels.direct(v, kernel, residual.is_some())?.clone(),
                    cfg,
                    x: l.t(layer.inputs[0])?,
                    w: direct_w.ok_or_else(|| {
                        GpuError::Invalid("direct convolution without its weight copy".into())
                    })?,
                    bias: bias.map(|b| l.w(b)).transpose()?.unwrap_or(0),
                    res,
                    y: l.t(layer.outputs[0])?,
                    args,
                }));
                return Ok((step, meta, 0));
            }
            let algo = dnn::algo_from_id(choice.algo_id).ok_or_else(|| {
                GpuError::Invalid(format!("unknown cuDNN algorithm id {}", choice.algo_id))
            })?;
            let (required, required_name) = dnn::required_math(precision);
            let math = match precision {
                // Whatever the file says, an fp32 plan never runs with TF32 allowed.
                Precision::Fp32 => {
                    if choice.math_type != required_name {
                        return Err(GpuError::Invalid(format!(
                            "fp32 plan with math type {} (only {required_name} excludes TF32)",
                            choice.math_type
                        )));
                    }
                    required
                }
                Precision::Fp16 => dnn::math_from_name(&choice.math_type).ok_or_else(|| {
                    GpuError::Invalid(format!("unknown math type {}", choice.math_type))
                })?,
            };
            let wshape = l
                .plan
                .weights
                .get(*weight)
                .ok_or_else(|| GpuError::Invalid(format!("weight {weight} does not exist")))?
                .shape
                .clone();
            let shape = ConvShape {
                input: dims4(l.shape(layer.inputs[0])?, "conv input")?,
                weight: dims4(&wshape, "conv weight")?,
                output: dims4(l.shape(layer.outputs[0])?, "conv output")?,
                stride: *stride,
                pads: *pads,
                dilation: *dilation,
                group: *group,
            };
            let d = ConvDescs::new(&shape, precision, math)?;
            ws = d.workspace(dnn, algo)?.max(choice.workspace_bytes);
            let act = ActDesc::relu()?;
            let bias = bias.map(|b| l.w(b)).transpose()?;
            meta.tactic = Some(choice.algo.clone());
            meta.math_type = Some(choice.math_type.clone());
            meta.workspace_bytes = Some(ws);
            let [_, k, oh, ow] = shape.output;
            Step::Conv(Box::new(ConvStep {
                d,
                act,
                algo,
                x: l.t(layer.inputs[0])?,
                w: l.w(*weight)?,
                bias,
                y: l.t(layer.outputs[0])?,
                fused: *activation == Some(Activation::Relu)
                    && bias.is_some()
                    && *residual != Some(Residual::AfterActivation),
                act_kind: act_kind(*activation),
                res,
                res_mode,
                n_out: shape.output.iter().product(),
                hw: (oh * ow) as i64,
                channels: i32c(k)?,
            }))
        }
        Op::Elementwise { resize, steps } => {
            check_io(layer, usize::MAX, 1)?;
            let (name, f) = generated.ok_or_else(|| {
                GpuError::Invalid("elementwise chain without its generated kernel".into())
            })?;
            if layer.inputs.len() > MAX_EW_INPUTS {
                return Err(GpuError::Invalid(format!(
                    "{} inputs (the generated kernel takes {MAX_EW_INPUTS})",
                    layer.inputs.len()
                )));
            }
            let mut args = EwArgs {
                y: l.t(layer.outputs[0])?,
                n: l.shape(layer.outputs[0])?.iter().product::<usize>() as i64,
                ..Default::default()
            };
            for (k, &t) in layer.inputs.iter().enumerate() {
                args.src[k] = l.t(t)?;
            }
            meta.tactic = Some(format!(
                "generated {name}: {}",
                adasval_plan::inspect::ew_program(*resize, steps)
            ));
            Step::Elementwise { f: f.clone(), args }
        }
        Op::Relu | Op::Sigmoid => {
            check_io(layer, 1, 1)?;
            Step::Act {
                kind: if matches!(layer.op, Op::Relu) { 1 } else { 2 },
                x: l.t(layer.inputs[0])?,
                y: l.t(layer.outputs[0])?,
                n: l.shape(layer.outputs[0])?.iter().product(),
            }
        }
        Op::Add | Op::Mul => {
            check_io(layer, 2, 1)?;
            let out = l.shape(layer.outputs[0])?;
            let mut g = gather_dims(out)?;
            g.sa = broadcast_strides(l.shape(layer.inputs[0])?, out)?;
            g.sb = broadcast_strides(l.shape(layer.inputs[1])?, out)?;
            Step::Binary {
                op: if matches!(layer.op, Op::Add) { 0 } else { 1 },
                a: l.t(layer.inputs[0])?,
                b: l.t(layer.inputs[1])?,
                y: l.t(layer.outputs[0])?,
                g,
            }
        }
        Op::Concat { axis } => {
            check_io(layer, usize::MAX, 1)?;
            let out = l.shape(layer.outputs[0])?;
            if *axis >= out.len() {
                return Err(GpuError::Invalid(format!(
                    "concat axis {axis} out of range"
                )));
            }
            let outer: usize = out[..*axis].iter().product();
            let inner: usize = out[axis + 1..].iter().product();
            let mut off = 0usize;
            let mut parts = Vec::new();
            for &i in &layer.inputs {
                let s = l.shape(i)?;
                if s.len() != out.len() {
                    return Err(GpuError::Invalid("concat inputs of different rank".into()));
                }
                let inner_in = s[*axis] * inner;
                parts.push((
                    l.t(i)?,
                    outer as i64,
                    inner_in as i64,
                    (out[*axis] * inner) as i64,
                    off as i64,
                ));
                off += inner_in;
            }
            if off != out[*axis] * inner {
                return Err(GpuError::Invalid(
                    "concat inputs do not add up to the output".into(),
                ));
            }
            let one = (parts.len() <= MAX_PARTS).then(|| {
                let mut p = ConcatParts {
                    n: parts.len() as i32,
                    outer: outer as i64,
                    inner_out: (out[*axis] * inner) as i64,
                    ..Default::default()
                };
                for (k, (src, _, inner_in, _, off)) in parts.iter().enumerate() {
                    p.src[k] = *src;
                    p.inner[k] = *inner_in;
                    p.off[k] = *off;
                }
                p
            });
            Step::Concat {
                y: l.t(layer.outputs[0])?,
                parts,
                one,
            }
        }
        Op::Slice {
            axes,
            starts,
            ends: _,
            steps,
        } => {
            check_io(layer, 1, 1)?;
            let inp = l.shape(layer.inputs[0])?;
            let out = l.shape(layer.outputs[0])?;
            if inp.len() != out.len() {
                return Err(GpuError::Invalid("slice changes the rank".into()));
            }
            let st = strides(inp);
            let mut g = gather_dims(out)?;
            g.sa[..out.len()].copy_from_slice(&st);
            for (k, &a) in axes.iter().enumerate() {
                if a >= inp.len() {
                    return Err(GpuError::Invalid(format!("slice axis {a} out of range")));
                }
                let start = *starts.get(k).unwrap_or(&0);
                let step = *steps.get(k).unwrap_or(&1);
                if step == 0 || start + (out[a].max(1) - 1) * step >= inp[a].max(1) {
                    return Err(GpuError::Invalid(format!(
                        "slice on axis {a} reads outside the input"
                    )));
                }
                g.base_a += start as i64 * st[a];
                g.sa[a] = st[a] * step as i64;
            }
            Step::Gather {
                x: l.t(layer.inputs[0])?,
                y: l.t(layer.outputs[0])?,
                g,
            }
        }
        Op::Transpose { perm } => {
            check_io(layer, 1, 1)?;
            let inp = l.shape(layer.inputs[0])?;
            let out = l.shape(layer.outputs[0])?;
            if perm.len() != inp.len() || out.len() != inp.len() {
                return Err(GpuError::Invalid(
                    "transpose permutation of wrong rank".into(),
                ));
            }
            let st = strides(inp);
            let mut g = gather_dims(out)?;
            for (d, &p) in perm.iter().enumerate() {
                if p >= inp.len() || inp[p] != out[d] {
                    return Err(GpuError::Invalid(format!(
                        "bad transpose permutation {perm:?}"
                    )));
                }
                g.sa[d] = st[p];
            }
            Step::Gather {
                x: l.t(layer.inputs[0])?,
                y: l.t(layer.outputs[0])?,
                g,
            }
        }
        Op::MaxPool {
            kernel,
            stride,
            pads,
        } => {
            check_io(layer, 1, 1)?;
            let [n, c, h, w] = dims4(l.shape(layer.inputs[0])?, "maxpool input")?;
            let [_, _, oh, ow] = dims4(l.shape(layer.outputs[0])?, "maxpool output")?;
            Step::MaxPool {
                x: l.t(layer.inputs[0])?,
                y: l.t(layer.outputs[0])?,
                nc: (n * c) as i64,
                p: [
                    i32c(h)?,
                    i32c(w)?,
                    i32c(oh)?,
                    i32c(ow)?,
                    i32c(kernel[0])?,
                    i32c(kernel[1])?,
                    i32c(stride[0])?,
                    i32c(stride[1])?,
                    i32c(pads[0])?,
                    i32c(pads[1])?,
                ],
                n: n * c * oh * ow,
            }
        }
        Op::ResizeNearest { scales } => {
            check_io(layer, 1, 1)?;
            let [n, c, h, w] = dims4(l.shape(layer.inputs[0])?, "resize input")?;
            let out = dims4(l.shape(layer.outputs[0])?, "resize output")?;
            if out != [n, c, h * scales[0], w * scales[1]] {
                return Err(GpuError::Invalid(format!(
                    "resize output {out:?} is not the input scaled by {scales:?}"
                )));
            }
            Step::Resize {
                x: l.t(layer.inputs[0])?,
                y: l.t(layer.outputs[0])?,
                nc: (n * c) as i64,
                p: [i32c(h)?, i32c(w)?, i32c(scales[0])?, i32c(scales[1])?],
                n: out.iter().product(),
            }
        }
        Op::Reshape => {
            // Reshape keeps at least its data input; any shape input is ignored.
            if layer.inputs.is_empty() || layer.outputs.len() != 1 {
                return Err(GpuError::Invalid(
                    "reshape needs one input and one output".into(),
                ));
            }
            let (src, dst) = (l.t(layer.inputs[0])?, l.t(layer.outputs[0])?);
            let n: usize = l.shape(layer.outputs[0])?.iter().product();
            if n != l.shape(layer.inputs[0])?.iter().product::<usize>() {
                return Err(GpuError::Invalid(
                    "reshape changes the element count".into(),
                ));
            }
            if src == dst {
                Step::Nop
            } else {
                Step::Copy {
                    src,
                    dst,
                    bytes: n * l.esize,
                }
            }
        }
    };
    Ok((step, meta, ws))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_major_strides() {
        assert_eq!(strides(&[2, 3, 4]), vec![12, 4, 1]);
        assert_eq!(strides(&[5]), vec![1]);
        assert!(strides(&[]).is_empty());
    }

    #[test]
    fn broadcasting_follows_numpy_rules() {
        // [8,1,1] onto [1,8,4,4]: right-aligned, size-1 axes repeat (stride 0).
        let s = broadcast_strides(&[8, 1, 1], &[1, 8, 4, 4]).unwrap();
        assert_eq!(&s[..4], &[0, 1, 0, 0]);
        let same = broadcast_strides(&[2, 3], &[2, 3]).unwrap();
        assert_eq!(&same[..2], &[3, 1]);
        assert!(broadcast_strides(&[3], &[2, 4]).is_err());
        assert!(broadcast_strides(&[1, 2, 3], &[2, 3]).is_err());
    }

    #[test]
    fn gather_maps_refuse_ranks_beyond_the_kernel_limit() {
        let g = gather_dims(&[2, 3, 4]).unwrap();
        assert_eq!((g.n, g.rank), (24, 3));
        assert_eq!(&g.dims[..3], &[2, 3, 4]);
        assert!(gather_dims(&[1; MAX_RANK + 1]).is_err());
    }
}
