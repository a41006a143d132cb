//! The plan executor: everything decided at prepare (weights uploaded and aligned, one
//! activation arena laid out by the plan's `MemoryPlan`, one cuDNN workspace, descriptors,
//! kernels compiled, every layer turned into a `Step` with absolute device addresses), so
//! that a frame is only copies, launches and events on one stream.
//!
//! Timing model per frame (CUDA events on the stream): h2d = page-locked input → device
//! (the staged copy of the frame, or the session's pinned buffer after a host copy; fp16
//! plans stage frames already in fp16 and copy them straight into the input tensor),
//! compute = first layer → last layer (including fp32↔fp16 conversion at the boundary of
//! fp16 plans: the input's only for frames that were not staged), d2h = device → page-locked outputs (the session's output tensors locked in
//! place, or pinned buffers copied out afterwards; see `hostmem`). The one-off weight
//! upload (and its fp16 conversion) is `load_ns`.
//!
//! Modules: `shared` (once per plan: weights, kernels, profile log), `steps` (once per
//! session: layers → `Step`s), `launch` (per frame: the steps' launches); this file holds
//! the session itself (`Engine`: buffers, events, CUDA graph capture, `infer`).

mod launch;
mod shared;
mod steps;

use std::ffi::c_void;
use std::sync::Arc;

use cudarc::driver::{result as dr, sys as ds, CudaEvent, CudaGraph, CudaStream, PushKernelArg};

use adasval_core::tensor::Tensor;
use adasval_plan::ir::Precision;

use super::dnn::Handle;
use super::gpu::{capture_graph, CallExt, DevBuf, GpuError};
use super::hostmem::{self, HostAlloc, HostPath, LockedRange};
use super::kernels::launch;
use steps::{build_step, LayerMeta, Layout, Step};

pub use shared::Shared;

/// Device addresses are plain integers to the kernels.
type Ptr = u64;

struct Io {
    name: String,
    shape: Vec<usize>,
    elements: usize,
    /// Where the tensor lives in the arena.
    arena: Ptr,
    /// fp32 copy outside the arena (fp16 plans only; the input's is used by frames that were
    /// not staged in fp16).
    staging: Option<DevBuf>,
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

fn esize(p: Precision) -> usize {
    match p {
        Precision::Fp32 => 4,
        Precision::Fp16 => 2,
    }
}

/// Whether CUDA graphs are wanted: on unless `ADASVAL_CUDA_GRAPHS=0` (or `off`/`false`).
pub fn graphs_from_env() -> bool {
    !matches!(
        std::env::var("ADASVAL_CUDA_GRAPHS").as_deref(),
        Ok("0") | Ok("off") | Ok("false")
    )
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
            let generated = shared.generated[i].as_ref();
            let (s, m, ws) = build_step(
                &layout,
                layer,
                precision,
                &dnn,
                &shared.kernels,
                direct_w,
                generated,
            )
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
            GraphState::Off("off: --layer-profile times each layer with events".into())
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

    /// Records the frame's compute (every layer and the fp16 output conversions; the input
    /// conversion stays outside, since staged fp16 frames skip it) into a graph on this
    /// session's stream. Thread-local capture mode: other sessions' threads keep
    /// working while this one captures.
    fn capture(&mut self) -> Result<usize, GpuError> {
        let stream = self.stream.clone();
        let graph = capture_graph(&stream, || self.compute(false))?;
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

    /// An fp16 plan's input conversion, for a frame copied in as fp32.
    fn convert_input(&self) -> Result<(), GpuError> {
        if let Some(s) = &self.input.staging {
            let (src, dst, n) = (s.ptr, self.input.arena, self.input.elements as i64);
            let (k, stream) = (&self.shared.kernels, &self.stream);
            launch!(stream, k, f32_to_f16, n; &src, &dst, &n);
        }
        Ok(())
    }

    /// Everything between the h2d copy (and the input conversion) and the d2h copies: the
    /// layers and the fp16 output conversions.
    fn compute(&mut self, profile: bool) -> Result<(), GpuError> {
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
        // An fp16 frame staged in fp16 goes straight into the plan's input tensor.
        let half = staged
            .as_ref()
            .is_some_and(|s| s.format() == hostmem::StageFormat::F16);
        let src: *const u8 = match &staged {
            Some(slot) => slot.ptr(),
            None => {
                // SAFETY: the previous frame's h2d finished (synchronised below).
                unsafe { self.host_in.floats_mut(n) }.copy_from_slice(&input.data);
                self.host_in.as_ptr() as *const u8
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
        let (dst, bytes) = match (&self.input.staging, half) {
            (Some(s), false) => (s.ptr, n * 4),
            (_, true) => (self.input.arena, n * 2),
            (None, false) => (self.input.arena, n * 4),
        };
        unsafe { ds::cuMemcpyHtoDAsync_v2(dst, src as *const c_void, bytes, cu) }
            .result()
            .call("cuMemcpyHtoDAsync(input)")?;
        unsafe { dr::event::record(ev[1], cu) }.call("cuEventRecord")?;
        if !half {
            self.convert_input()?;
        }
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
