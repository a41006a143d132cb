//! The plan executor: everything decided at prepare (weights uploaded and aligned, one
//! activation arena laid out by the plan's `MemoryPlan`, one cuDNN workspace, descriptors,
//! kernels compiled, every layer turned into a `Step` with absolute device addresses), so
//! that a frame is only copies, launches and events on one stream.
//!
//! Timing model per frame (CUDA events on the stream): h2d = page-locked input → device
//! (the staged copy of the frame, or the session's pinned buffer after a host copy),
//! compute = first layer → last layer (including fp32↔fp16 conversion at the boundary of
//! fp16 plans), d2h = device → page-locked outputs (the session's output tensors locked in
//! place, or pinned buffers copied out afterwards; see `hostmem`). The one-off weight
//! upload (and its fp16 conversion) is `load_ns`.

use std::ffi::c_void;
use std::sync::{Arc, Mutex};

use cudarc::cudnn::{result as cr, sys as cs};
use cudarc::driver::{
    result as dr, sys as ds, CudaEvent, CudaFunction, CudaGraph, CudaStream, LaunchConfig,
    PushKernelArg,
};

use super::dnn::{self, ActDesc, ConvDescs, ConvShape, Handle};
use super::gpu::{CallExt, DevBuf, Gpu, GpuError};
use super::hostmem::{self, HostAlloc, HostPath, LockedRange, StagedRegistry};
use super::kernels::{
    launch, launch_direct, ConcatParts, ConvArgs, Gather, Kernels, MAX_PARTS, MAX_RANK,
};
use crate::cudaplan::ir::{Activation, ConvEngine, Layer, Op, Plan, Precision};
use crate::tensor::Tensor;

/// Device addresses are plain integers to the kernels.
type Ptr = u64;

struct ConvStep {
    d: ConvDescs,
    act: ActDesc,
    algo: cs::cudnnConvolutionFwdAlgo_t,
    x: Ptr,
    w: Ptr,
    bias: Option<Ptr>,
    y: Ptr,
    /// cudnnConvolutionBiasActivationForward (bias + ReLU) instead of conv + kernel.
    fused: bool,
    /// Activation applied by the `bias_act` kernel when not fused (0 none, 1 relu, ...).
    act_kind: i32,
    n_out: usize,
    hw: i64,
    channels: i32,
}

/// The generated direct convolution: convolution, bias and activation in one launch.
struct DirectStep {
    f: CudaFunction,
    cfg: LaunchConfig,
    x: Ptr,
    w: Ptr,
    /// 0: no bias.
    bias: Ptr,
    y: Ptr,
    args: ConvArgs,
}

enum Step {
    Conv(Box<ConvStep>),
    Direct(Box<DirectStep>),
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
struct LayerMeta {
    name: String,
    kind: &'static str,
    tactic: Option<String>,
    math_type: Option<String>,
    workspace_bytes: Option<usize>,
    fused: Vec<String>,
    shape: Vec<usize>,
}

struct Io {
    name: String,
    shape: Vec<usize>,
    elements: usize,
    /// Where the tensor lives in the arena.
    arena: Ptr,
    /// fp32 copy outside the arena (fp16 plans only).
    staging: Option<DevBuf>,
}

/// What every session of one prepared plan shares: the plan, the uploaded weights and the
/// compiled kernels. Read-only after `Shared::new`, except the profile log.
pub struct Shared {
    gpu: Arc<Gpu>,
    plan: Plan,
    precision: Precision,
    kernels: Kernels,
    weights: DevBuf,
    weight_offsets: Vec<usize>,
    /// Per layer: where a direct convolution's re-laid-out weights start (elements).
    direct_weights: Vec<Option<usize>>,
    profile: bool,
    graphs: bool,
    host_path: HostPath,
    /// Frames staged by `Prepared::stage_inputs`, read by every session.
    pub staged: StagedRegistry,
    pub load_ns: u64,
    log: Mutex<ProfileLog>,
}

/// Per-layer times of every session (profiling only) and what the sessions found out at
/// their trial runs.
#[derive(Default)]
struct ProfileLog {
    meta: Vec<LayerMeta>,
    layer_ms: Vec<Vec<f32>>,
    unfused: Vec<String>,
}

/// Whether a session replays its frame's compute as one CUDA graph, and why not.
pub enum GraphState {
    Captured { nodes: usize },
    Off(String),
}

/// One session: its own stream, cuDNN handle, activation arena, workspace, pinned buffers
/// and events, so sessions on different threads never wait for each other on the host.
pub struct Engine {
    shared: Arc<Shared>,
    steps: Vec<Step>,
    meta: Vec<LayerMeta>,
    input: Io,
    outputs: Vec<Io>,
    /// Pinned buffer for frames that were not staged.
    host_in: HostAlloc,
    /// Declared before `out_tensors`: page-locked ranges are released before the vectors.
    out_host: OutputHost,
    /// The session's output tensors, written by every frame and lent to the caller.
    out_tensors: Vec<Tensor>,
    ev: [CudaEvent; 4],
    /// Start/end events per layer, only with profiling on.
    layer_events: Vec<(CudaEvent, CudaEvent)>,
    /// The compute between the h2d and d2h copies, captured once at session start.
    graph: Option<CudaGraph>,
    pub graph_state: GraphState,
    workspace: DevBuf,
    _arena: DevBuf,
    // Dropped after everything that enqueues work on it.
    dnn: Handle,
    stream: Arc<CudaStream>,
    pub arena_bytes: usize,
    pub workspace_bytes: usize,
    /// Layers where cuDNN refused the fused bias+ReLU call and conv + kernel ran instead.
    pub unfused: Vec<String>,
}

// SAFETY: the raw cuDNN handle and the graph inside are only used by the session that owns
// the engine, on one thread at a time (`Session::run` takes `&mut self`).
unsafe impl Send for Engine {}

impl Drop for Engine {
    /// No transfer may still be writing the output tensors when they are unregistered and
    /// freed (a frame that failed half-way can leave one queued).
    fn drop(&mut self) {
        let _ = self.shared.gpu.ctx.bind_to_thread();
        // SAFETY: this session's own stream, alive until the fields drop after this.
        let _ = unsafe { dr::stream::synchronize(self.stream.cu_stream()) };
    }
}

/// Where each frame's outputs land on the host.
enum OutputHost {
    /// The output tensors themselves, page-locked in place: d2h writes them directly.
    Locked { _ranges: Vec<LockedRange> },
    /// Pinned buffers, copied into tensors after the synchronisation (`why` not locked).
    Pinned { bufs: Vec<HostAlloc>, why: String },
}

/// Weights are re-laid out so every tensor starts on a 512-byte boundary (cuDNN's fast
/// paths want aligned filters).
const WEIGHT_ALIGN_ELEMS: usize = 128;

fn esize(p: Precision) -> usize {
    match p {
        Precision::Fp32 => 4,
        Precision::Fp16 => 2,
    }
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

fn as_ptr(p: Ptr) -> *const c_void {
    p as usize as *const c_void
}

fn as_mut_ptr(p: Ptr) -> *mut c_void {
    p as usize as *mut c_void
}

/// Where everything is, for building steps.
struct Layout<'a> {
    plan: &'a Plan,
    arena: Ptr,
    weights: Ptr,
    weight_offsets: Vec<usize>,
    esize: usize,
}

impl Layout<'_> {
    fn t(&self, id: usize) -> Result<Ptr, GpuError> {
        let off = self.plan.memory.offsets.get(id).ok_or_else(|| {
            GpuError::Invalid(format!("tensor {id} has no offset in the memory plan"))
        })?;
        Ok(self.arena + *off as u64)
    }
    fn shape(&self, id: usize) -> Result<&[usize], GpuError> {
        self.plan
            .tensors
            .get(id)
            .map(|t| t.shape.as_slice())
            .ok_or_else(|| GpuError::Invalid(format!("tensor {id} does not exist")))
    }
    fn w(&self, id: usize) -> Result<Ptr, GpuError> {
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

fn build_step(
    l: &Layout,
    layer: &Layer,
    precision: Precision,
    dnn: &Handle,
    kernels: &Kernels,
    direct_w: Option<Ptr>,
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
        } => {
            check_io(layer, 1, 1)?;
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
                )?;
                let cfg = args.config(v)?;
                meta.tactic = Some(v.label(kernel));
                meta.math_type = Some(match precision {
                    Precision::Fp32 => "fp32 FMA".into(),
                    Precision::Fp16 => "fp16 storage, fp32 accumulation".into(),
                });
                meta.workspace_bytes = Some(0);
                let step = Step::Direct(Box::new(DirectStep {
                    f: kernels.direct(v, kernel)?.clone(),
                    cfg,
                    x: l.t(layer.inputs[0])?,
                    w: direct_w.ok_or_else(|| {
                        GpuError::Invalid("direct convolution without its weight copy".into())
                    })?,
                    bias: bias.map(|b| l.w(b)).transpose()?.unwrap_or(0),
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
            let act = ActDesc::new()?;
            // SAFETY: fresh descriptor.
            unsafe {
                cr::set_activation_descriptor(
                    act.0,
                    cs::cudnnActivationMode_t::CUDNN_ACTIVATION_RELU,
                    cs::cudnnNanPropagation_t::CUDNN_PROPAGATE_NAN,
                    0.0,
                )
            }
            .call("cudnnSetActivationDescriptor")?;
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
                fused: *activation == Some(Activation::Relu) && bias.is_some(),
                act_kind: act_kind(*activation),
                n_out: shape.output.iter().product(),
                hw: (oh * ow) as i64,
                channels: i32c(k)?,
            }))
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

/// Whether CUDA graphs are wanted: on unless `ADASVAL_CUDA_GRAPHS=0` (or `off`/`false`).
pub fn graphs_from_env() -> bool {
    !matches!(
        std::env::var("ADASVAL_CUDA_GRAPHS").as_deref(),
        Ok("0") | Ok("off") | Ok("false")
    )
}

impl Shared {
    /// Everything that happens once per plan: checks, the weight upload (timed), kernel
    /// compilation. Sessions are made from the result with `Engine::new`.
    pub fn new(
        gpu: Arc<Gpu>,
        plan: &Plan,
        blob: &[f32],
        profile: bool,
        graphs: bool,
        host_path: HostPath,
    ) -> Result<Arc<Shared>, GpuError> {
        let ctx = gpu.ctx.clone();
        ctx.bind_to_thread().call("cuCtxSetCurrent")?;
        let precision = plan.precision;
        let es = esize(precision);
        // Plan consistency: every tensor inside the arena, every weight inside the blob.
        if plan.memory.offsets.len() != plan.tensors.len() {
            return Err(GpuError::Invalid(format!(
                "memory plan has {} offsets for {} tensors",
                plan.memory.offsets.len(),
                plan.tensors.len()
            )));
        }
        for (t, off) in plan.tensors.iter().zip(&plan.memory.offsets) {
            if off + t.elements() * es > plan.memory.arena_bytes {
                return Err(GpuError::Invalid(format!(
                    "tensor `{}` ({} bytes at {off}) lies outside the {}-byte arena",
                    t.name,
                    t.elements() * es,
                    plan.memory.arena_bytes
                )));
            }
        }
        let mut packed = Vec::new();
        let mut weight_offsets = Vec::with_capacity(plan.weights.len());
        for w in &plan.weights {
            let src = blob.get(w.offset..w.offset + w.elements()).ok_or_else(|| {
                GpuError::Invalid(format!("weight `{}` lies outside the weight blob", w.name))
            })?;
            weight_offsets.push(packed.len());
            packed.extend_from_slice(src);
            packed.resize(packed.len().next_multiple_of(WEIGHT_ALIGN_ELEMS), 0.0);
        }
        // Direct convolutions read their weights in the kernel's own layout: one copy per
        // such layer (the plan's layout stays as it is for everything else).
        let mut direct_weights = vec![None; plan.layers.len()];
        for (i, l) in plan.layers.iter().enumerate() {
            let (Op::Conv { weight, .. }, Some(c)) = (&l.op, &l.choice) else {
                continue;
            };
            let (ConvEngine::Direct, Some(v)) = (c.engine, c.direct) else {
                continue;
            };
            let w = plan.weights.get(*weight).ok_or_else(|| {
                GpuError::Invalid(format!(
                    "layer `{}`: weight {weight} does not exist",
                    l.name
                ))
            })?;
            let src = blob.get(w.offset..w.offset + w.elements()).ok_or_else(|| {
                GpuError::Invalid(format!("weight `{}` lies outside the weight blob", w.name))
            })?;
            let k = w.shape.first().copied().unwrap_or(0);
            let cb = v.channels_per_thread as usize;
            if cb == 0 || k % cb != 0 {
                return Err(GpuError::Invalid(format!(
                    "layer `{}`: channel block {cb} does not divide {k} output channels",
                    l.name
                )));
            }
            direct_weights[i] = Some(packed.len());
            packed.extend_from_slice(&super::kernels::direct_weight_layout(src, k, cb));
            packed.resize(packed.len().next_multiple_of(WEIGHT_ALIGN_ELEMS), 0.0);
        }
        if plan.inputs.len() != 1 {
            return Err(GpuError::Invalid(format!(
                "the executor runs single-input plans; this one has {}",
                plan.inputs.len()
            )));
        }
        let stream = ctx.new_stream().call("cuStreamCreate")?;
        let kernels = Kernels::compile(&gpu, precision)?;
        let timing = Some(ds::CUevent_flags::CU_EVENT_DEFAULT);
        let ev = [
            ctx.new_event(timing).call("cuEventCreate")?,
            ctx.new_event(timing).call("cuEventCreate")?,
        ];
        // One-off upload, timed on the stream (fp16: uploaded as fp32, converted there).
        let weights = DevBuf::new(&ctx, packed.len() * es)?;
        ev[0].record(&stream).call("cuEventRecord")?;
        let staging = match precision {
            Precision::Fp32 => {
                // SAFETY: `weights` holds packed.len() f32; `packed` outlives the sync below.
                unsafe {
                    cudarc::driver::result::memcpy_htod_async(
                        weights.ptr,
                        &packed,
                        stream.cu_stream(),
                    )
                }
                .call("cuMemcpyHtoDAsync(weights)")?;
                None
            }
            Precision::Fp16 => {
                let tmp = DevBuf::new(&ctx, packed.len() * 4)?;
                // SAFETY: as above, into the fp32 staging buffer.
                unsafe {
                    cudarc::driver::result::memcpy_htod_async(tmp.ptr, &packed, stream.cu_stream())
                }
                .call("cuMemcpyHtoDAsync(weights)")?;
                let (src, dst, n) = (tmp.ptr, weights.ptr, packed.len() as i64);
                launch!(stream, kernels, f32_to_f16, n; &src, &dst, &n);
                Some(tmp)
            }
        };
        ev[1].record(&stream).call("cuEventRecord")?;
        stream.synchronize().call("cuStreamSynchronize(weights)")?;
        drop(staging);
        let load_ms = ev[0].elapsed_ms(&ev[1]).call("cuEventElapsedTime")?;
        Ok(Arc::new(Shared {
            gpu,
            plan: plan.clone(),
            precision,
            kernels,
            weights,
            weight_offsets,
            direct_weights,
            profile,
            graphs,
            host_path,
            staged: StagedRegistry::default(),
            load_ns: (load_ms as f64 * 1e6) as u64,
            log: Mutex::new(ProfileLog::default()),
        }))
    }

    pub fn precision(&self) -> Precision {
        self.precision
    }

    pub fn host_path(&self) -> HostPath {
        self.host_path
    }

    /// Stage the frames for this plan's sessions (see `hostmem::stage`).
    pub fn stage_inputs<'a>(
        &'a self,
        inputs: &[&'a Tensor],
        cap_bytes: usize,
    ) -> hostmem::Staging<'a> {
        let elements = self
            .plan
            .inputs
            .first()
            .and_then(|&i| self.plan.tensors.get(i))
            .map_or(0, |t| t.elements());
        hostmem::stage(&self.gpu.ctx, &self.staged, inputs, elements, cap_bytes)
    }

    /// `layers.json` in the format `adasval diff` reads (see trtexec's LayerRecord): per
    /// layer, the kernel choice as `tactic` and median / mean event time over every frame
    /// this engine ran (warm-up included).
    pub fn profile_json(&self, engine: &str) -> Option<serde_json::Value> {
        if !self.profile {
            return None;
        }
        let log = self.log();
        let total: f64 = log
            .layer_ms
            .iter()
            .map(|v| v.iter().map(|&x| x as f64).sum::<f64>())
            .sum();
        let layers: Vec<serde_json::Value> = log
            .meta
            .iter()
            .zip(&log.layer_ms)
            .enumerate()
            .map(|(index, (m, times))| {
                let mut sorted: Vec<f64> = times.iter().map(|&x| x as f64).collect();
                sorted.sort_by(f64::total_cmp);
                let sum: f64 = sorted.iter().sum();
                let median = (!sorted.is_empty()).then(|| {
                    let n = sorted.len();
                    if n % 2 == 1 {
                        sorted[n / 2]
                    } else {
                        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
                    }
                });
                serde_json::json!({
                    "name": m.name,
                    "index": index,
                    "layer_type": m.kind,
                    "tactic": m.tactic,
                    "time_ms": sum,
                    "average_ms": (!sorted.is_empty()).then(|| sum / sorted.len() as f64),
                    "median_ms": median,
                    "percentage": (total > 0.0).then(|| 100.0 * sum / total),
                    "info": {
                        "math_type": m.math_type,
                        "workspace_bytes": m.workspace_bytes,
                        "fused": m.fused,
                        "output_shape": m.shape,
                        "fused_bias_relu_refused": log.unfused.iter().any(|u| u.starts_with(&format!("{}:", m.name))),
                    },
                })
            })
            .collect();
        Some(serde_json::json!({
            "source": "cuda",
            "engine": engine,
            "timing": "CUDA events around each layer on each session's stream (no CUDA graph while profiling), every session's frames pooled",
            "profile_iterations": log.layer_ms.first().map(|v| v.len()).unwrap_or(0),
            "layers": layers,
        }))
    }

    fn log(&self) -> std::sync::MutexGuard<'_, ProfileLog> {
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Engine {
    /// One session: its own stream, cuDNN handle, arena, workspace, pinned buffers and
    /// events; a trial run that also decides where cuDNN's fused bias+ReLU call is
    /// supported; then, with graphs on and profiling off, the capture of the compute.
    pub fn new(shared: Arc<Shared>) -> Result<Engine, GpuError> {
        let gpu = shared.gpu.clone();
        let ctx = gpu.ctx.clone();
        ctx.bind_to_thread().call("cuCtxSetCurrent")?;
        let plan = &shared.plan;
        let precision = shared.precision;
        let es = esize(precision);
        let [Some(&input_id)] = [plan.inputs.first()] else {
            return Err(GpuError::Invalid("the plan has no input".into()));
        };
        let stream = ctx.new_stream().call("cuStreamCreate")?;
        let dnn = Handle::new(&stream)?;
        let timing = Some(ds::CUevent_flags::CU_EVENT_DEFAULT);
        let ev = [
            ctx.new_event(timing).call("cuEventCreate")?,
            ctx.new_event(timing).call("cuEventCreate")?,
            ctx.new_event(timing).call("cuEventCreate")?,
            ctx.new_event(timing).call("cuEventCreate")?,
        ];
        let arena = DevBuf::new(&ctx, plan.memory.arena_bytes)?;
        // SAFETY: the whole allocation.
        unsafe {
            cudarc::driver::result::memset_d8_async(arena.ptr, 0, arena.bytes, stream.cu_stream())
        }
        .call("cuMemsetD8Async(arena)")?;
        let layout = Layout {
            plan,
            arena: arena.ptr,
            weights: shared.weights.ptr,
            weight_offsets: shared.weight_offsets.clone(),
            esize: es,
        };
        let mut steps = Vec::with_capacity(plan.layers.len());
        let mut meta = Vec::with_capacity(plan.layers.len());
        let mut ws_max = plan.memory.workspace_bytes;
        for (i, layer) in plan.layers.iter().enumerate() {
            let direct_w = shared.direct_weights[i].map(|off| layout.weights + (off * es) as u64);
            let (s, m, ws) = build_step(&layout, layer, precision, &dnn, &shared.kernels, direct_w)
                .map_err(|e| {
                    GpuError::Invalid(format!("layer `{}` ({}): {e}", layer.name, layer.op.kind()))
                })?;
            ws_max = ws_max.max(ws);
            steps.push(s);
            meta.push(m);
        }
        let workspace = DevBuf::new(&ctx, ws_max)?;
        let io = |id: usize, staged: bool| -> Result<Io, GpuError> {
            let t = plan
                .tensors
                .get(id)
                .ok_or_else(|| GpuError::Invalid(format!("plan tensor {id} does not exist")))?;
            Ok(Io {
                name: t.name.clone(),
                shape: t.shape.clone(),
                elements: t.elements(),
                arena: layout.t(id)?,
                staging: if staged {
                    Some(DevBuf::new(&ctx, t.elements() * 4)?)
                } else {
                    None
                },
            })
        };
        let fp16 = precision == Precision::Fp16;
        let input = io(input_id, fp16)?;
        let outputs = plan
            .outputs
            .iter()
            .map(|&o| io(o, fp16))
            .collect::<Result<Vec<_>, _>>()?;
        let host_in = HostAlloc::new(&ctx, input.elements * 4)?;
        let mut out_tensors: Vec<Tensor> = outputs
            .iter()
            .map(|o| {
                Tensor::new(
                    o.name.clone(),
                    o.shape.clone(),
                    hostmem::lockable_vec(o.elements),
                )
            })
            .collect();
        let out_host = match shared.host_path {
            HostPath::Copy => OutputHost::Pinned {
                bufs: vec![],
                why: "ADASVAL_CUDA_STAGING=0".into(),
            },
            HostPath::Direct => {
                // SAFETY: the ranges live in `out_host`, dropped before `out_tensors`, whose
                // vectors are never resized.
                let locked: Result<Vec<LockedRange>, GpuError> = out_tensors
                    .iter_mut()
                    .map(|t| unsafe { hostmem::lock_vec(&ctx, &mut t.data) })
                    .collect();
                match locked {
                    Ok(l) => OutputHost::Locked { _ranges: l },
                    Err(e) => OutputHost::Pinned {
                        bufs: vec![],
                        why: e.to_string(),
                    },
                }
            }
        };
        let out_host = match out_host {
            OutputHost::Pinned { why, .. } => OutputHost::Pinned {
                bufs: outputs
                    .iter()
                    .map(|o| HostAlloc::new(&ctx, o.elements * 4))
                    .collect::<Result<Vec<_>, _>>()?,
                why,
            },
            locked => locked,
        };
        let profile = shared.profile;
        let layer_events = if profile {
            (0..steps.len())
                .map(|_| {
                    Ok((
                        ctx.new_event(timing).call("cuEventCreate")?,
                        ctx.new_event(timing).call("cuEventCreate")?,
                    ))
                })
                .collect::<Result<Vec<_>, GpuError>>()?
        } else {
            vec![]
        };
        let arena_bytes = plan.memory.arena_bytes;
        let mut engine = Engine {
            shared: shared.clone(),
            steps,
            meta,
            input,
            outputs,
            host_in,
            out_host,
            out_tensors,
            ev,
            layer_events,
            graph: None,
            graph_state: GraphState::Off("not captured yet".into()),
            workspace,
            _arena: arena,
            dnn,
            stream,
            arena_bytes,
            workspace_bytes: ws_max,
            unfused: vec![],
        };
        // Trial run on the zeroed arena: finds unsupported fused calls before any timing.
        engine.run_layers(true, false)?;
        engine
            .stream
            .synchronize()
            .call("cuStreamSynchronize(trial run)")?;
        {
            let mut log = shared.log();
            if log.meta.is_empty() {
                log.layer_ms = vec![Vec::new(); engine.meta.len()];
                log.meta = engine.meta.iter().map(LayerMeta::clone).collect();
                log.unfused = engine.unfused.clone();
            }
        }
        engine.graph_state = if profile {
            GraphState::Off("off: --profile times each layer with events".into())
        } else if !shared.graphs {
            GraphState::Off("off: ADASVAL_CUDA_GRAPHS=0".into())
        } else {
            match engine.capture() {
                Ok(nodes) => GraphState::Captured { nodes },
                Err(e) => GraphState::Off(format!("off: capture failed ({e})")),
            }
        };
        Ok(engine)
    }

    /// Records the frame's compute (boundary conversions and every layer) into a graph on
    /// this session's stream. Thread-local capture mode: other sessions' threads keep
    /// working while this one captures.
    fn capture(&mut self) -> Result<usize, GpuError> {
        self.stream
            .begin_capture(ds::CUstreamCaptureMode::CU_STREAM_CAPTURE_MODE_THREAD_LOCAL)
            .call("cuStreamBeginCapture")?;
        let recorded = self.compute(false);
        // The capture must be ended whatever happened, or the stream stays unusable.
        let ended = self
            .stream
            .end_capture(ds::CUgraphInstantiate_flags(0))
            .call("cuStreamEndCapture/cuGraphInstantiate");
        recorded?;
        let graph = ended?.ok_or_else(|| GpuError::Call {
            call: "cuStreamEndCapture".into(),
            message: "captured an empty graph".into(),
        })?;
        let mut nodes = 0usize;
        // SAFETY: the graph is alive; a null node array asks only for the count.
        unsafe {
            ds::cuGraphGetNodes(
                graph.cu_graph(),
                std::ptr::null_mut(),
                &mut nodes as *mut usize,
            )
        }
        .result()
        .call("cuGraphGetNodes")?;
        graph.upload().call("cuGraphUpload")?;
        self.stream
            .synchronize()
            .call("cuStreamSynchronize(graph upload)")?;
        self.graph = Some(graph);
        Ok(nodes)
    }

    /// Everything between the h2d and d2h copies: fp16 boundary conversions and layers.
    fn compute(&mut self, profile: bool) -> Result<(), GpuError> {
        if let Some(s) = &self.input.staging {
            let (src, dst, n) = (s.ptr, self.input.arena, self.input.elements as i64);
            let (k, stream) = (&self.shared.kernels, &self.stream);
            launch!(stream, k, f32_to_f16, n; &src, &dst, &n);
        }
        self.run_layers(false, profile)?;
        for o in &self.outputs {
            if let Some(s) = &o.staging {
                let (src, dst, n) = (o.arena, s.ptr, o.elements as i64);
                let (k, stream) = (&self.shared.kernels, &self.stream);
                launch!(stream, k, f16_to_f32, n; &src, &dst, &n);
            }
        }
        Ok(())
    }

    fn run_layers(&mut self, probe: bool, profile: bool) -> Result<(), GpuError> {
        for i in 0..self.steps.len() {
            if profile {
                self.layer_events[i]
                    .0
                    .record(&self.stream)
                    .call("cuEventRecord")?;
            }
            let r = self.run_step(i);
            match r {
                Err(e) if probe && self.is_fused_conv(i) => {
                    if let Step::Conv(c) = &mut self.steps[i] {
                        c.fused = false;
                    }
                    self.unfused.push(format!("{}: {e}", self.meta[i].name));
                    self.run_step(i)
                }
                r => r,
            }
            .map_err(|e| GpuError::Call {
                call: format!("layer `{}` ({})", self.meta[i].name, self.meta[i].kind),
                message: e.to_string(),
            })?;
            if profile {
                self.layer_events[i]
                    .1
                    .record(&self.stream)
                    .call("cuEventRecord")?;
            }
        }
        Ok(())
    }

    fn is_fused_conv(&self, i: usize) -> bool {
        matches!(&self.steps[i], Step::Conv(c) if c.fused)
    }

    fn run_step(&self, i: usize) -> Result<(), GpuError> {
        let k = &self.shared.kernels;
        let stream = &self.stream;
        match &self.steps[i] {
            Step::Conv(c) => {
                let one = 1.0f32;
                let zero = 0.0f32;
                let alpha = &one as *const f32 as *const c_void;
                let beta = &zero as *const f32 as *const c_void;
                let ws = as_mut_ptr(self.workspace.ptr);
                if c.fused {
                    // SAFETY: descriptors match the buffers' shapes (checked at prepare);
                    // z aliases y with alpha2 = 0, which cuDNN allows.
                    unsafe {
                        cr::convolution_bias_activation_forward(
                            self.dnn.0,
                            alpha,
                            c.d.x.0,
                            as_ptr(c.x),
                            c.d.w.0,
                            as_ptr(c.w),
                            c.d.conv.0,
                            c.algo,
                            ws,
                            self.workspace.bytes,
                            beta,
                            c.d.y.0,
                            as_ptr(c.y),
                            c.d.bias.0,
                            as_ptr(c.bias.unwrap_or(0)),
                            c.act.0,
                            c.d.y.0,
                            as_mut_ptr(c.y),
                        )
                    }
                    .call("cudnnConvolutionBiasActivationForward")?;
                } else {
                    // SAFETY: as above.
                    unsafe {
                        cr::convolution_forward(
                            self.dnn.0,
                            alpha,
                            c.d.x.0,
                            as_ptr(c.x),
                            c.d.w.0,
                            as_ptr(c.w),
                            c.d.conv.0,
                            c.algo,
                            ws,
                            self.workspace.bytes,
                            beta,
                            c.d.y.0,
                            as_mut_ptr(c.y),
                        )
                    }
                    .call("cudnnConvolutionForward")?;
                    if c.bias.is_some() || c.act_kind != 0 {
                        let (y, b, n, hw, ch, kind) = (
                            c.y,
                            c.bias.unwrap_or(0),
                            c.n_out as i64,
                            c.hw,
                            c.channels,
                            c.act_kind,
                        );
                        launch!(stream, k, bias_act, n; &y, &b, &n, &hw, &ch, &kind);
                    }
                }
            }
            Step::Direct(d) => {
                launch_direct(stream, &d.f, d.cfg, d.x, d.w, d.bias, d.y, &d.args)?;
            }
            Step::Act { kind, x, y, n } => {
                let n64 = *n as i64;
                launch!(stream, k, act, *n; x, y, &n64, kind);
            }
            Step::Binary { op, a, b, y, g } => {
                launch!(stream, k, binary, g.n; a, b, y, g, op);
            }
            Step::Gather { x, y, g } => {
                launch!(stream, k, gather, g.n; x, y, g);
            }
            Step::Concat {
                y, one: Some(p), ..
            } => {
                launch!(stream, k, concat, p.outer * p.inner_out; y, p);
            }
            Step::Concat {
                y,
                parts,
                one: None,
            } => {
                for (x, outer, inner_in, inner_out, off) in parts {
                    launch!(stream, k, concat_part, outer * inner_in; x, y, outer, inner_in, inner_out, off);
                }
            }
            Step::MaxPool { x, y, nc, p, n } => {
                let [h, w, oh, ow, kh, kw, sh, sw, pt, pl] = p;
                launch!(stream, k, maxpool, *n; x, y, nc, h, w, oh, ow, kh, kw, sh, sw, pt, pl);
            }
            Step::Resize { x, y, nc, p, n } => {
                let [h, w, sh, sw] = p;
                launch!(stream, k, resize_nearest, *n; x, y, nc, h, w, sh, sw);
            }
            Step::Copy { src, dst, bytes } => {
                // SAFETY: both ranges inside the arena (checked at prepare).
                unsafe {
                    cudarc::driver::result::memcpy_dtod_async(
                        *dst,
                        *src,
                        *bytes,
                        stream.cu_stream(),
                    )
                }
                .call("cuMemcpyDtoDAsync")?;
            }
            Step::Nop => {}
        }
        Ok(())
    }

    pub fn host_path(&self) -> HostPath {
        self.shared.host_path
    }

    /// Whether the output tensors are page-locked in place, or why they are not.
    pub fn output_note(&self) -> String {
        match &self.out_host {
            OutputHost::Locked { .. } => {
                "outputs DMA'd into the session's page-locked output tensors (cuMemHostRegister)"
                    .into()
            }
            OutputHost::Pinned { why, .. } => {
                format!("outputs via pinned buffers and a host copy ({why})")
            }
        }
    }

    /// One frame: input → device → layers → host outputs, timed with events. The input's
    /// h2d reads its staged page-locked copy when it has one, else the session's pinned
    /// buffer after a host copy; the outputs land in this session's tensors (read them with
    /// [`Engine::lend_outputs`] or [`Engine::take_outputs`] before the next frame).
    /// Returns the h2d, compute and d2h event times in ns.
    pub fn infer(&mut self, input: &Tensor) -> Result<[u64; 3], GpuError> {
        self.shared
            .gpu
            .ctx
            .bind_to_thread()
            .call("cuCtxSetCurrent")?;
        let n = self.input.elements;
        if input.data.len() != n {
            return Err(GpuError::Invalid(format!(
                "input has {} values, the plan's `{}` {:?} needs {}",
                input.data.len(),
                self.input.name,
                self.input.shape,
                n
            )));
        }
        // Kept until after the synchronisation: the DMA reads it.
        let staged = match self.shared.host_path {
            HostPath::Direct => self.shared.staged.lookup(&input.data),
            HostPath::Copy => None,
        };
        let src: *const f32 = match &staged {
            Some(slot) => slot.ptr(),
            None => {
                // SAFETY: the previous frame's h2d finished (synchronised below).
                unsafe { self.host_in.floats_mut(n) }.copy_from_slice(&input.data);
                self.host_in.as_ptr()
            }
        };
        let cu = self.stream.cu_stream();
        let ev: [ds::CUevent; 4] = std::array::from_fn(|i| self.ev[i].cu_event());
        // Raw driver calls below: the context is bound once above, so each cudarc wrapper's
        // own context check would only repeat it.
        // SAFETY (events, copies, launch): events and stream belong to this session's
        // context; `src` holds n page-locked floats that stay alive and unchanged until the
        // synchronisation; the d2h destinations are page-locked and hold `o.elements` floats.
        unsafe { dr::event::record(ev[0], cu) }.call("cuEventRecord")?;
        let dst = self
            .input
            .staging
            .as_ref()
            .map_or(self.input.arena, |s| s.ptr);
        unsafe { ds::cuMemcpyHtoDAsync_v2(dst, src as *const c_void, n * 4, cu) }
            .result()
            .call("cuMemcpyHtoDAsync(input)")?;
        unsafe { dr::event::record(ev[1], cu) }.call("cuEventRecord")?;
        let profile = !self.layer_events.is_empty();
        match &self.graph {
            Some(g) => unsafe { dr::graph::launch(g.cu_graph_exec(), cu) }.call("cuGraphLaunch")?,
            None => self.compute(profile)?,
        }
        unsafe { dr::event::record(ev[2], cu) }.call("cuEventRecord")?;
        for (i, o) in self.outputs.iter().enumerate() {
            let src = o.staging.as_ref().map_or(o.arena, |s| s.ptr);
            let host: *mut f32 = match &self.out_host {
                OutputHost::Locked { .. } => self.out_tensors[i].data.as_mut_ptr(),
                OutputHost::Pinned { bufs, .. } => bufs[i].as_ptr(),
            };
            unsafe { ds::cuMemcpyDtoHAsync_v2(host as *mut c_void, src, o.elements * 4, cu) }
                .result()
                .call("cuMemcpyDtoHAsync(output)")?;
        }
        unsafe { dr::event::record(ev[3], cu) }.call("cuEventRecord")?;
        unsafe { dr::stream::synchronize(cu) }.call("cuStreamSynchronize")?;
        drop(staged);
        let ns = |a: usize, b: usize| -> Result<u64, GpuError> {
            // SAFETY: both events completed (the stream is synchronised).
            let t = unsafe { dr::event::elapsed(ev[a], ev[b]) }.call("cuEventElapsedTime")?;
            Ok((t as f64 * 1e6).round() as u64)
        };
        let times = [ns(0, 1)?, ns(1, 2)?, ns(2, 3)?];
        if profile {
            let times = self
                .layer_events
                .iter()
                .map(|(a, b)| a.elapsed_ms(b).call("cuEventElapsedTime(layer)"))
                .collect::<Result<Vec<f32>, _>>()?;
            let mut log = self.shared.log();
            for (v, t) in log.layer_ms.iter_mut().zip(times) {
                v.push(t);
            }
        }
        Ok(times)
    }

    /// The last frame's outputs, in place (a host copy out of the pinned buffers first when
    /// the tensors are not page-locked themselves).
    pub fn lend_outputs(&mut self) -> &[Tensor] {
        if let OutputHost::Pinned { bufs, .. } = &self.out_host {
            for (t, b) in self.out_tensors.iter_mut().zip(bufs) {
                let n = t.data.len();
                // SAFETY: the frame's d2h into `b` is synchronised.
                t.data.copy_from_slice(unsafe { b.floats(n) });
            }
        }
        &self.out_tensors
    }

    /// The last frame's outputs as new tensors (one copy).
    pub fn take_outputs(&self) -> Vec<Tensor> {
        match &self.out_host {
            OutputHost::Locked { .. } => self.out_tensors.clone(),
            OutputHost::Pinned { bufs, .. } => self
                .out_tensors
                .iter()
                .zip(bufs)
                .map(|(t, b)| {
                    // SAFETY: the frame's d2h into `b` is synchronised.
                    let data = unsafe { b.floats(t.data.len()) }.to_vec();
                    Tensor::new(t.name.clone(), t.shape.clone(), data)
                })
                .collect(),
        }
    }
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
