//! cuDNN, as the builder and the executor use it: owned descriptors, one convolution's
//! descriptor set, and the algorithm chooser (Find, heuristic, deterministic).
//!
//! Math modes: fp32 plans use `CUDNN_FMA_MATH`, which restricts cuDNN to FMA kernels; the
//! default math mode lets cuDNN use TF32 tensor cores for fp32 data on Ampere and later,
//! which is exactly the silent precision change the plan promises not to make. fp16 plans
//! use `CUDNN_TENSOR_OP_MATH` with fp32 accumulation (the "pseudo-half" configuration).

use std::ffi::c_void;
use std::sync::Arc;

use cudarc::cudnn::{result as cr, sys as cs};
use cudarc::driver::{sys as ds, CudaStream, PushKernelArg};

use super::gpu::{capture_graph, CallExt, DevBuf, Gpu, GpuError};
use super::kernels::{launch, launch_direct, residual_mode, ConvArgs, Kernels};
use adasval_plan::ir::{
    Activation, Candidate, ConvChoice, ConvEngine, Precision, Residual, TacticPolicy,
};
use adasval_plan::{tactic, AlgoChooser, ChooseError, ConvProblem};

pub struct Handle(pub cs::cudnnHandle_t);
// SAFETY: a cuDNN handle may move between threads; the owner serialises its use.
unsafe impl Send for Handle {}

impl Handle {
    pub fn new(stream: &CudaStream) -> Result<Handle, GpuError> {
        stream.context().bind_to_thread().call("cuCtxSetCurrent")?;
        let h = cr::create_handle().call("cudnnCreate")?;
        let handle = Handle(h);
        // SAFETY: valid handle, stream of the bound context.
        unsafe { cr::set_stream(h, stream.cu_stream() as cs::cudaStream_t) }
            .call("cudnnSetStream")?;
        Ok(handle)
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: created by cudnnCreate, destroyed once.
        let _ = unsafe { cr::destroy_handle(self.0) };
    }
}

macro_rules! owned_desc {
    ($name:ident, $ty:ty, $create:path, $destroy:path) => {
        pub struct $name(pub $ty);
        // SAFETY: descriptors are plain host structures.
        unsafe impl Send for $name {}
        impl $name {
            pub fn new() -> Result<Self, GpuError> {
                Ok($name($create().call(stringify!($create))?))
            }
        }
        impl Drop for $name {
            fn drop(&mut self) {
                // SAFETY: created by the matching create call, destroyed once.
                let _ = unsafe { $destroy(self.0) };
            }
        }
    };
}

owned_desc!(
    TensorDesc,
    cs::cudnnTensorDescriptor_t,
    cr::create_tensor_descriptor,
    cr::destroy_tensor_descriptor
);
owned_desc!(
    FilterDesc,
    cs::cudnnFilterDescriptor_t,
    cr::create_filter_descriptor,
    cr::destroy_filter_descriptor
);
owned_desc!(
    ConvDesc,
    cs::cudnnConvolutionDescriptor_t,
    cr::create_convolution_descriptor,
    cr::destroy_convolution_descriptor
);
owned_desc!(
    ActDesc,
    cs::cudnnActivationDescriptor_t,
    cr::create_activation_descriptor,
    destroy_activation
);

unsafe fn destroy_activation(d: cs::cudnnActivationDescriptor_t) -> Result<(), cr::CudnnError> {
    cs::cudnnDestroyActivationDescriptor(d).result()
}

pub fn data_type(p: Precision) -> cs::cudnnDataType_t {
    match p {
        Precision::Fp32 => cs::cudnnDataType_t::CUDNN_DATA_FLOAT,
        Precision::Fp16 => cs::cudnnDataType_t::CUDNN_DATA_HALF,
    }
}

/// The math type a precision requires, and its name as recorded in the plan.
pub fn required_math(p: Precision) -> (cs::cudnnMathType_t, &'static str) {
    match p {
        Precision::Fp32 => (cs::cudnnMathType_t::CUDNN_FMA_MATH, "CUDNN_FMA_MATH"),
        Precision::Fp16 => (
            cs::cudnnMathType_t::CUDNN_TENSOR_OP_MATH,
            "CUDNN_TENSOR_OP_MATH",
        ),
    }
}

pub fn math_from_name(s: &str) -> Option<cs::cudnnMathType_t> {
    use cs::cudnnMathType_t::*;
    Some(match s {
        "CUDNN_DEFAULT_MATH" => CUDNN_DEFAULT_MATH,
        "CUDNN_TENSOR_OP_MATH" => CUDNN_TENSOR_OP_MATH,
        "CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION" => CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION,
        "CUDNN_FMA_MATH" => CUDNN_FMA_MATH,
        _ => return None,
    })
}

fn math_name(v: u32) -> String {
    match v {
        0 => "CUDNN_DEFAULT_MATH".into(),
        1 => "CUDNN_TENSOR_OP_MATH".into(),
        2 => "CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION".into(),
        3 => "CUDNN_FMA_MATH".into(),
        n => format!("math type {n}"),
    }
}

pub const ALGO_NAMES: [&str; 8] = [
    "CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM",
    "CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM",
    "CUDNN_CONVOLUTION_FWD_ALGO_GEMM",
    "CUDNN_CONVOLUTION_FWD_ALGO_DIRECT",
    "CUDNN_CONVOLUTION_FWD_ALGO_FFT",
    "CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING",
    "CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD",
    "CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED",
];

fn algo_name(v: u32) -> String {
    ALGO_NAMES
        .get(v as usize)
        .map(|s| s.to_string())
        .unwrap_or_else(|| format!("algo {v}"))
}

/// The numeric id as an enum value cuDNN accepts (0..=7), never an arbitrary integer.
pub fn algo_from_id(id: i32) -> Option<cs::cudnnConvolutionFwdAlgo_t> {
    use cs::cudnnConvolutionFwdAlgo_t::*;
    Some(match id {
        0 => CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM,
        1 => CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM,
        2 => CUDNN_CONVOLUTION_FWD_ALGO_GEMM,
        3 => CUDNN_CONVOLUTION_FWD_ALGO_DIRECT,
        4 => CUDNN_CONVOLUTION_FWD_ALGO_FFT,
        5 => CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING,
        6 => CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD,
        7 => CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED,
        _ => return None,
    })
}

/// cuDNN 9 groups status codes by thousands; the raw number is kept.
fn status_name(v: u32) -> String {
    let class = match v {
        0 => return "CUDNN_STATUS_SUCCESS".into(),
        1000..=1999 => "CUDNN_STATUS_NOT_INITIALIZED",
        2000..=2999 => "CUDNN_STATUS_BAD_PARAM",
        3000..=3999 => "CUDNN_STATUS_NOT_SUPPORTED",
        4000..=4999 => "CUDNN_STATUS_INTERNAL_ERROR",
        5000..=5999 => "CUDNN_STATUS_EXECUTION_FAILED",
        _ => "CUDNN_STATUS",
    };
    format!("{class} ({v})")
}

/// `cudnnConvolutionFwdAlgoPerf_t` with plain integers in place of the enums, so a value
/// cuDNN adds in a later version can never become an invalid Rust enum.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct RawPerf {
    algo: u32,
    status: u32,
    time: f32,
    memory: usize,
    determinism: u32,
    math_type: u32,
    reserved: [i32; 3],
}

/// One convolution's descriptors (input, filter, convolution, output, bias).
pub struct ConvDescs {
    pub x: TensorDesc,
    pub w: FilterDesc,
    pub conv: ConvDesc,
    pub y: TensorDesc,
    pub bias: TensorDesc,
}

impl ActDesc {
    /// The activation cuDNN fuses into a convolution: ReLU, NaN propagated, no clipping.
    pub fn relu() -> Result<ActDesc, GpuError> {
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
        Ok(act)
    }
}

/// One convolution's operands as cuDNN's forward calls take them (device addresses): the
/// chooser's timing runs and the executor's launches make the same two calls.
pub struct ConvCall<'a> {
    pub handle: &'a Handle,
    pub d: &'a ConvDescs,
    pub algo: cs::cudnnConvolutionFwdAlgo_t,
    pub x: u64,
    pub w: u64,
    pub y: u64,
    /// A residual added before the fused call's activation (its `z` with alpha2 = 1); 0:
    /// none. Ignored by the plain convolution.
    pub z: u64,
    pub workspace: u64,
    pub workspace_bytes: usize,
}

impl ConvCall<'_> {
    /// y = conv(x, w) (cudnnConvolutionForward), or with `bias_act` y = act(conv(x, w) + z +
    /// bias) in one call (cudnnConvolutionBiasActivationForward, which cuDNN may refuse).
    ///
    /// # Safety
    /// The descriptors describe the buffers behind the addresses, which stay allocated until
    /// the handle's stream has run the call.
    pub unsafe fn forward(&self, bias_act: Option<(u64, &ActDesc)>) -> Result<(), cr::CudnnError> {
        let one = 1.0f32;
        let zero = 0.0f32;
        let alpha = &one as *const f32 as *const c_void;
        let beta = &zero as *const f32 as *const c_void;
        let (alpha2, z) = if self.z != 0 {
            (alpha, self.z)
        } else {
            (beta, self.y)
        };
        let ptr = |v: u64| v as usize as *const c_void;
        let mptr = |v: u64| v as usize as *mut c_void;
        let (d, ws) = (self.d, mptr(self.workspace));
        match bias_act {
            // SAFETY: the caller's promise; without a residual z aliases y with alpha2 = 0,
            // which cuDNN allows.
            Some((bias, act)) => unsafe {
                cr::convolution_bias_activation_forward(
                    self.handle.0,
                    alpha,
                    d.x.0,
                    ptr(self.x),
                    d.w.0,
                    ptr(self.w),
                    d.conv.0,
                    self.algo,
                    ws,
                    self.workspace_bytes,
                    alpha2,
                    d.y.0,
                    ptr(z),
                    d.bias.0,
                    ptr(bias),
                    act.0,
                    d.y.0,
                    mptr(self.y),
                )
            },
            // SAFETY: the caller's promise.
            None => unsafe {
                cr::convolution_forward(
                    self.handle.0,
                    alpha,
                    d.x.0,
                    ptr(self.x),
                    d.w.0,
                    ptr(self.w),
                    d.conv.0,
                    self.algo,
                    ws,
                    self.workspace_bytes,
                    beta,
                    d.y.0,
                    mptr(self.y),
                )
            },
        }
    }
}

/// The shapes of one convolution, as both the chooser and the executor describe it.
#[derive(Debug, Clone)]
pub struct ConvShape {
    pub input: [usize; 4],
    pub weight: [usize; 4],
    pub output: [usize; 4],
    pub stride: [usize; 2],
    pub pads: [usize; 4],
    pub dilation: [usize; 2],
    pub group: usize,
}

fn ci(v: usize, what: &str) -> Result<i32, GpuError> {
    i32::try_from(v).map_err(|_| GpuError::Invalid(format!("{what} {v} is too large for cuDNN")))
}

fn ci4(v: [usize; 4], what: &str) -> Result<[i32; 4], GpuError> {
    Ok([
        ci(v[0], what)?,
        ci(v[1], what)?,
        ci(v[2], what)?,
        ci(v[3], what)?,
    ])
}

impl ConvDescs {
    pub fn new(
        s: &ConvShape,
        precision: Precision,
        math: cs::cudnnMathType_t,
    ) -> Result<ConvDescs, GpuError> {
        let [top, left, bottom, right] = s.pads;
        if top != bottom || left != right {
            return Err(GpuError::Invalid(format!(
                "asymmetric padding {:?} (cuDNN needs top == bottom and left == right)",
                s.pads
            )));
        }
        if s.group == 0 || s.input[1] != s.weight[1] * s.group {
            return Err(GpuError::Invalid(format!(
                "input channels {} != weight channels {} × group {}",
                s.input[1], s.weight[1], s.group
            )));
        }
        let dt = data_type(precision);
        let nchw = cs::cudnnTensorFormat_t::CUDNN_TENSOR_NCHW;
        let d = ConvDescs {
            x: TensorDesc::new()?,
            w: FilterDesc::new()?,
            conv: ConvDesc::new()?,
            y: TensorDesc::new()?,
            bias: TensorDesc::new()?,
        };
        // SAFETY: every descriptor was just created and is owned by `d`.
        unsafe {
            cr::set_tensor4d_descriptor(d.x.0, nchw, dt, ci4(s.input, "input dim")?)
                .call("cudnnSetTensor4dDescriptor(x)")?;
            cr::set_filter4d_descriptor(d.w.0, dt, nchw, ci4(s.weight, "weight dim")?)
                .call("cudnnSetFilter4dDescriptor")?;
            cr::set_convolution2d_descriptor(
                d.conv.0,
                ci(top, "pad")?,
                ci(left, "pad")?,
                ci(s.stride[0], "stride")?,
                ci(s.stride[1], "stride")?,
                ci(s.dilation[0], "dilation")?,
                ci(s.dilation[1], "dilation")?,
                cs::cudnnConvolutionMode_t::CUDNN_CROSS_CORRELATION,
                // fp32 accumulation for both precisions.
                cs::cudnnDataType_t::CUDNN_DATA_FLOAT,
            )
            .call("cudnnSetConvolution2dDescriptor")?;
            cr::set_convolution_group_count(d.conv.0, ci(s.group, "group")?)
                .call("cudnnSetConvolutionGroupCount")?;
            cr::set_convolution_math_type(d.conv.0, math).call("cudnnSetConvolutionMathType")?;
            let mut out = [0i32; 4];
            cs::cudnnGetConvolution2dForwardOutputDim(
                d.conv.0,
                d.x.0,
                d.w.0,
                &mut out[0],
                &mut out[1],
                &mut out[2],
                &mut out[3],
            )
            .result()
            .call("cudnnGetConvolution2dForwardOutputDim")?;
            if out != ci4(s.output, "output dim")? {
                return Err(GpuError::Invalid(format!(
                    "cuDNN computes output {out:?}, the plan says {:?}",
                    s.output
                )));
            }
            cr::set_tensor4d_descriptor(d.y.0, nchw, dt, out)
                .call("cudnnSetTensor4dDescriptor(y)")?;
            cr::set_tensor4d_descriptor(d.bias.0, nchw, dt, [1, out[1], 1, 1])
                .call("cudnnSetTensor4dDescriptor(bias)")?;
        }
        Ok(d)
    }

    pub fn workspace(
        &self,
        h: &Handle,
        algo: cs::cudnnConvolutionFwdAlgo_t,
    ) -> Result<usize, GpuError> {
        // SAFETY: descriptors and handle are valid.
        unsafe {
            cr::get_convolution_forward_workspace_size(
                h.0,
                self.x.0,
                self.w.0,
                self.conv.0,
                self.y.0,
                algo,
            )
        }
        .call("cudnnGetConvolutionForwardWorkspaceSize")
    }
}

/// The convolution chooser of `engine build --backend cuda`: cuDNN's algorithms (Find,
/// heuristic or deterministic-only), then the whole layer (convolution + bias + activation)
/// of the best cuDNN algorithm against the direct kernel's variants, each timed the same
/// way (`time_in_graph`).
pub struct CudnnChooser {
    gpu: Arc<Gpu>,
    /// Compiled on first use, per precision.
    kernels: Vec<(Precision, Kernels)>,
    /// A test and benchmark switch (`ADASVAL_CONV_ENGINE`): every convolution on one engine.
    forced: Option<ConvEngine>,
    // Declared before the stream: the handle is destroyed first.
    handle: Handle,
    stream: Arc<CudaStream>,
}

/// Whole-layer timing: `REPS` executions captured into one CUDA graph (as the executor
/// replays a frame), launched `TRIALS` times after one warm launch; the median per execution.
const REPS: usize = 20;
const TRIALS: usize = 5;

impl CudnnChooser {
    pub fn new(gpu: Arc<Gpu>, forced: Option<ConvEngine>) -> Result<CudnnChooser, GpuError> {
        let stream = gpu.ctx.new_stream().call("cuStreamCreate")?;
        let handle = Handle::new(&stream)?;
        Ok(CudnnChooser {
            gpu,
            kernels: vec![],
            forced,
            handle,
            stream,
        })
    }

    fn kernels(&mut self, p: Precision) -> Result<usize, GpuError> {
        if let Some(i) = self.kernels.iter().position(|(q, _)| *q == p) {
            return Ok(i);
        }
        let k = Kernels::compile(&self.gpu, p)?;
        self.kernels.push((p, k));
        Ok(self.kernels.len() - 1)
    }

    /// Median time of one execution of `f` (which enqueues on `self.stream`).
    fn time_in_graph(
        &self,
        f: &mut dyn FnMut(&CudnnChooser) -> Result<(), GpuError>,
    ) -> Result<f32, GpuError> {
        // One eager run first: a failing launch shows here, not inside the capture.
        f(self)?;
        self.stream.synchronize().call("cuStreamSynchronize")?;
        let graph = capture_graph(&self.stream, || {
            for _ in 0..REPS {
                f(self)?;
            }
            Ok(())
        })?;
        graph.upload().call("cuGraphUpload")?;
        graph.launch().call("cuGraphLaunch")?;
        let timing = Some(ds::CUevent_flags::CU_EVENT_DEFAULT);
        let ctx = &self.gpu.ctx;
        let (a, b) = (
            ctx.new_event(timing).call("cuEventCreate")?,
            ctx.new_event(timing).call("cuEventCreate")?,
        );
        let mut times = Vec::with_capacity(TRIALS);
        for _ in 0..TRIALS {
            a.record(&self.stream).call("cuEventRecord")?;
            graph.launch().call("cuGraphLaunch")?;
            b.record(&self.stream).call("cuEventRecord")?;
            b.synchronize().call("cuEventSynchronize")?;
            times.push(a.elapsed_ms(&b).call("cuEventElapsedTime")? / REPS as f32);
        }
        times.sort_by(f32::total_cmp);
        Ok(times[TRIALS / 2])
    }

    /// cuDNN's best algorithm against the direct kernel, whole layers; fills the choice's
    /// `engine`, `direct` and `tactics`.
    fn whole_layer(&mut self, p: &ConvProblem, choice: &mut ConvChoice) -> Result<(), GpuError> {
        let variants = tactic::direct_variants(p);
        let min_threads = self.gpu.info.sm_count.max(1) as usize * 256;
        let heuristic = tactic::heuristic_direct(p, min_threads);
        let timed = p.policy != TacticPolicy::Heuristic;
        let act = match p.activation {
            None => 0,
            Some(Activation::Relu) => 1,
            Some(Activation::Sigmoid) => 2,
            Some(Activation::Silu) => 3,
        };
        let res = residual_mode(p.residual);
        // cuDNN's fused call adds its z before the activation, so a residual after it
        // needs the epilogue kernel.
        let relu_fused = p.bias
            && p.activation == Some(Activation::Relu)
            && p.residual != Some(Residual::AfterActivation);
        let epilogue = match (relu_fused, res != 0) {
            (true, false) => " fused bias+relu".to_string(),
            (true, true) => " fused bias+residual+relu".to_string(),
            (false, _) if p.bias || p.activation.is_some() || res != 0 => " + bias_act".to_string(),
            (false, _) => String::new(),
        };
        let mut candidates = vec![tactic::Timed {
            tactic: format!("cudnn {}{epilogue}", short(&choice.algo)),
            engine: ConvEngine::Cudnn,
            direct: None,
            time_ms: None,
            error: None,
        }];
        candidates.extend(variants.iter().map(|v| tactic::Timed {
            tactic: v.label([p.weight[2], p.weight[3]]),
            engine: ConvEngine::Direct,
            direct: Some(*v),
            time_ms: None,
            error: None,
        }));
        if timed {
            let ki = self.kernels(p.precision)?;
            let es = match p.precision {
                Precision::Fp32 => 4,
                Precision::Fp16 => 2,
            };
            let ctx = self.gpu.ctx.clone();
            let n = |s: [usize; 4]| s.iter().product::<usize>();
            let x = DevBuf::new(&ctx, n(p.input) * es)?;
            // Room for the tiled kernel's zero-padded last channel block.
            let w = DevBuf::new(
                &ctx,
                (n(p.weight) + 32 * n(p.weight) / p.weight[0].max(1)) * es,
            )?;
            let b = DevBuf::new(&ctx, p.weight[0] * es)?;
            let y = DevBuf::new(&ctx, n(p.output) * es)?;
            // The residual input, when the layer has one (a 256-byte stand-in otherwise).
            let r = DevBuf::new(&ctx, if res != 0 { n(p.output) * es } else { 256 })?;
            let ws = DevBuf::new(&ctx, choice.workspace_bytes)?;
            for buf in [&x, &w, &b, &y, &r] {
                // Small finite values in both precisions (0x3C3C3C3C ≈ 0.0115, 0x3C3C ≈ 1.06).
                // SAFETY: the whole allocation.
                unsafe {
                    cudarc::driver::result::memset_d8_async(
                        buf.ptr,
                        0x3C,
                        buf.bytes,
                        self.stream.cu_stream(),
                    )
                }
                .call("cuMemsetD8Async")?;
            }
            let bias = if p.bias { b.ptr } else { 0 };
            let rp = if res != 0 { r.ptr } else { 0 };
            let shape = ConvShape {
                input: p.input,
                weight: p.weight,
                output: p.output,
                stride: p.stride,
                pads: p.pads,
                dilation: p.dilation,
                group: p.group,
            };
            let math = math_from_name(&choice.math_type)
                .ok_or_else(|| GpuError::Invalid(format!("math type {}", choice.math_type)))?;
            let d = ConvDescs::new(&shape, p.precision, math)?;
            let algo = algo_from_id(choice.algo_id)
                .ok_or_else(|| GpuError::Invalid(format!("algorithm {}", choice.algo_id)))?;
            let actd = ActDesc::relu()?;
            let [_, k, oh, ow] = p.output;
            let (n_out, hw, ch) = (n(p.output) as i64, (oh * ow) as i64, k as i32);
            let mut fused = relu_fused;
            let mut cudnn_layer = |c: &CudnnChooser| -> Result<(), GpuError> {
                let kernels = &c.kernels[ki].1;
                let call = ConvCall {
                    handle: &c.handle,
                    d: &d,
                    algo,
                    x: x.ptr,
                    w: w.ptr,
                    y: y.ptr,
                    z: rp,
                    workspace: ws.ptr,
                    workspace_bytes: ws.bytes,
                };
                if fused {
                    // SAFETY: descriptors describe the buffers above.
                    let r = unsafe { call.forward(Some((b.ptr, &actd))) };
                    if r.is_ok() {
                        return Ok(());
                    }
                    // As the executor does: convolution + kernel where the fused call is refused.
                    fused = false;
                }
                // SAFETY: as above.
                unsafe { call.forward(None) }.call("cudnnConvolutionForward")?;
                if bias != 0 || act != 0 || res != 0 {
                    let stream = &c.stream;
                    let yp = y.ptr;
                    launch!(stream, kernels, bias_act, n_out; &yp, &bias, &rp, &n_out, &hw, &ch, &act, &res);
                }
                Ok(())
            };
            match self.time_in_graph(&mut cudnn_layer) {
                Ok(t) => candidates[0].time_ms = Some(t),
                Err(e) => candidates[0].error = Some(e.to_string()),
            }
            let args = ConvArgs::new(
                p.input, p.weight, p.output, p.stride, p.pads, p.dilation, p.group, act,
            )
            .map(|a| ConvArgs { res, ..a });
            for c in candidates.iter_mut().skip(1) {
                let Some(v) = c.direct else { continue };
                let run = args
                    .as_ref()
                    .map_err(|e| GpuError::Invalid(e.to_string()))
                    .and_then(|a| {
                        let cfg = a.config(v)?;
                        let kernel = [p.weight[2], p.weight[3]];
                        self.time_in_graph(&mut |s: &CudnnChooser| {
                            let f = s.kernels[ki].1.direct(v, kernel, res != 0)?;
                            launch_direct(&s.stream, f, cfg, x.ptr, w.ptr, bias, rp, y.ptr, a)
                        })
                    });
                match run {
                    Ok(t) => c.time_ms = Some(t),
                    Err(e) => c.error = Some(e.to_string()),
                }
            }
        }
        let forced = self.forced;
        let decision = tactic::decide(p.policy, &candidates, heuristic, forced);
        if let Some(why) = tactic::direct_unsupported(p) {
            if forced == Some(ConvEngine::Direct) {
                return Err(GpuError::Invalid(format!(
                    "the direct kernel was forced but cannot run this layer: {why}"
                )));
            }
        }
        choice.engine = decision.engine;
        choice.direct = decision.direct;
        choice.tactics = decision.tactics;
        Ok(())
    }

    fn choose_inner(&mut self, p: &ConvProblem) -> Result<ConvChoice, GpuError> {
        self.gpu.ctx.bind_to_thread().call("cuCtxSetCurrent")?;
        let shape = ConvShape {
            input: p.input,
            weight: p.weight,
            output: p.output,
            stride: p.stride,
            pads: p.pads,
            dilation: p.dilation,
            group: p.group,
        };
        let (math, math_req) = required_math(p.precision);
        let d = ConvDescs::new(&shape, p.precision, math)?;
        const MAX: usize = 16;
        let mut perf = [RawPerf::default(); MAX];
        let mut n: i32 = 0;
        let timed = p.policy != TacticPolicy::Heuristic;
        // SAFETY: valid descriptors; `perf` holds MAX entries of the C layout.
        unsafe {
            let out = perf.as_mut_ptr() as *mut cs::cudnnConvolutionFwdAlgoPerf_t;
            if timed {
                cs::cudnnFindConvolutionForwardAlgorithm(
                    self.handle.0,
                    d.x.0,
                    d.w.0,
                    d.conv.0,
                    d.y.0,
                    MAX as i32,
                    &mut n,
                    out,
                )
                .result()
                .call("cudnnFindConvolutionForwardAlgorithm")?;
            } else {
                cs::cudnnGetConvolutionForwardAlgorithm_v7(
                    self.handle.0,
                    d.x.0,
                    d.w.0,
                    d.conv.0,
                    d.y.0,
                    MAX as i32,
                    &mut n,
                    out,
                )
                .result()
                .call("cudnnGetConvolutionForwardAlgorithm_v7")?;
            }
        }
        let n = (n.max(0) as usize).min(MAX);
        let results = &perf[..n];
        let exclusion = |r: &RawPerf| -> Option<String> {
            if r.status != 0 {
                return Some("failed".into());
            }
            if algo_from_id(r.algo as i32).is_none() {
                return Some("unknown algorithm".into());
            }
            // fp32: only the FMA math type guarantees no TF32.
            if p.precision == Precision::Fp32 && r.math_type != 3 {
                return Some(format!("math type {} may use TF32", math_name(r.math_type)));
            }
            if p.policy == TacticPolicy::Deterministic && r.determinism != 1 {
                return Some("not deterministic".into());
            }
            None
        };
        let candidates: Vec<Candidate> = results
            .iter()
            .map(|r| Candidate {
                algo: algo_name(r.algo),
                time_ms: (timed && r.status == 0 && r.time >= 0.0).then_some(r.time),
                workspace_bytes: r.memory,
                status: match exclusion(r) {
                    None => format!("{} ({})", status_name(r.status), math_name(r.math_type)),
                    Some(why) => format!(
                        "{} ({}); excluded: {why}",
                        status_name(r.status),
                        math_name(r.math_type)
                    ),
                },
            })
            .collect();
        let eligible = results.iter().filter(|r| exclusion(r).is_none());
        let best = if timed {
            eligible.min_by(|a, b| a.time.total_cmp(&b.time))
        } else {
            // The heuristic's own order is its preference.
            eligible.into_iter().next()
        };
        let Some(best) = best else {
            return Err(GpuError::Invalid(format!(
                "no eligible cuDNN algorithm (precision {:?}, policy {:?}, required {math_req}); \
                 candidates: {}",
                p.precision,
                p.policy,
                candidates
                    .iter()
                    .map(|c| format!("{} {}", c.algo, c.status))
                    .collect::<Vec<_>>()
                    .join("; ")
            )));
        };
        Ok(ConvChoice {
            algo: algo_name(best.algo),
            algo_id: best.algo as i32,
            math_type: math_name(best.math_type),
            workspace_bytes: best.memory,
            deterministic: best.determinism == 1,
            measured_ms: timed.then_some(best.time),
            candidates,
            engine: ConvEngine::Cudnn,
            direct: None,
            tactics: vec![],
        })
    }
}

fn short(algo: &str) -> &str {
    algo.strip_prefix("CUDNN_CONVOLUTION_FWD_ALGO_")
        .unwrap_or(algo)
}

impl AlgoChooser for CudnnChooser {
    fn device(&self) -> Option<adasval_plan::ir::BuildDevice> {
        Some(crate::gpu::build_device(&self.gpu.info))
    }

    fn choose(&mut self, problem: &ConvProblem) -> Result<ConvChoice, ChooseError> {
        self.choose_inner(problem)
            .and_then(|mut c| {
                self.whole_layer(problem, &mut c)?;
                Ok(c)
            })
            .map_err(|e| ChooseError::Failed {
                layer: problem.layer.clone(),
                message: e.to_string(),
            })
    }
}
