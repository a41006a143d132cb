//! The CUDA backend: runs frozen GPU plans (`cudaplan`) with cudarc (driver API, NVRTC,
//! cuDNN), timing with CUDA events. Also the GPU half of the plan builder (cuDNN
//! algorithm choice) and the GPU part of the run's fingerprint.
//!
//! Sits between the lock (verified `.cudaplan` bytes) and the replay: `prepare` uploads the
//! plan once (timed: `load_ns`), `Session::run` is one frame (h2d, compute, d2h timed with
//! events). Nothing here falls back to the CPU: a missing driver or library is
//! `BackendError::Unavailable` (exit 4), a plan this executor cannot run is a prepare error
//! naming the layer.

#![allow(clippy::result_large_err)]

mod dnn;
mod ewgen;
pub mod exec;
pub mod fingerprint;
pub mod gpu;
pub mod hostmem;
mod kernels;

use std::sync::{Arc, Mutex};

use adasval_core::tensor::Tensor;
use adasval_plan::ir::{ConvEngine, Plan};
use adasval_plan::{AlgoChooser, ChooseError};
use adasval_record::lock::{EngineFormat, VerifiedEngine};
use adasval_run::backend::{
    Backend, BackendConfig, BackendError, BackendInfo, DeviceTimings, InferOutput, LentOutput,
    Prepared, Session, StagedInputs,
};
pub use gpu::{DeviceInfo, Gpu, GpuError};
pub use hostmem::HostPath;

pub const NAME: &str = "cuda";

/// The convolution chooser for `engine build --backend cuda`, on the first GPU.
/// `ADASVAL_CONV_ENGINE=direct|cudnn` (a test and benchmark switch, not a user option)
/// puts every convolution on one engine; the plan records the choices as forced.
pub fn algo_chooser() -> Result<Box<dyn AlgoChooser>, ChooseError> {
    let forced = match std::env::var("ADASVAL_CONV_ENGINE").as_deref() {
        Ok("direct") => Some(ConvEngine::Direct),
        Ok("cudnn") => Some(ConvEngine::Cudnn),
        Ok("") | Err(_) => None,
        Ok(other) => {
            return Err(ChooseError::Unavailable(format!(
                "ADASVAL_CONV_ENGINE={other}: expected `direct` or `cudnn`"
            )))
        }
    };
    algo_chooser_with(forced)
}

/// [`algo_chooser`] with the engine forced (or not) explicitly, for tests.
pub fn algo_chooser_with(forced: Option<ConvEngine>) -> Result<Box<dyn AlgoChooser>, ChooseError> {
    let gpu = Gpu::open().map_err(|e| ChooseError::Unavailable(e.to_string()))?;
    let chooser =
        dnn::CudnnChooser::new(gpu, forced).map_err(|e| ChooseError::Unavailable(e.to_string()))?;
    Ok(Box::new(chooser))
}

pub struct CudaBackend {
    force: bool,
    profile: bool,
    graphs: bool,
    host_path: HostPath,
    gpu: Mutex<Option<Arc<Gpu>>>,
    /// Per prepared engine: name, precision, arena and workspace bytes, fused fallbacks.
    prepared: Mutex<Vec<(String, String)>>,
}

impl CudaBackend {
    pub fn new(config: &BackendConfig) -> CudaBackend {
        CudaBackend {
            force: config.cuda_force,
            profile: config.cuda_profile,
            graphs: exec::graphs_from_env(),
            host_path: HostPath::from_env(),
            gpu: Mutex::new(None),
            prepared: Mutex::new(vec![]),
        }
    }

    fn gpu(&self) -> Result<Arc<Gpu>, BackendError> {
        let mut slot = self.gpu.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(g) = slot.as_ref() {
            return Ok(g.clone());
        }
        let g = Gpu::open().map_err(|e| BackendError::Unavailable {
            backend: NAME.into(),
            reason: e.to_string(),
        })?;
        *slot = Some(g.clone());
        Ok(g)
    }
}

/// The plan and weight blob inside verified `.cudaplan` bytes.
pub fn decode_plan(bytes: &[u8]) -> Result<(Plan, Vec<f32>), String> {
    let file = adasval_plan::format::PlanFile::from_bytes(bytes).map_err(|e| e.to_string())?;
    Ok((file.plan, file.weights))
}

/// Why a plan may not run on this GPU, unless forced.
pub fn compatibility(plan: &Plan, here: &DeviceInfo) -> Option<String> {
    let built = plan.built_on.as_ref()?;
    (built.compute_capability != here.compute_capability).then(|| {
        format!(
            "plan `{}` was built on {} (compute capability {}.{}), this GPU is {} ({}.{}): \
             cuDNN's algorithm choices are only valid for the architecture they were made on; \
             rebuild the plan here or pass --force",
            plan.name,
            built.name,
            built.compute_capability[0],
            built.compute_capability[1],
            here.name,
            here.compute_capability[0],
            here.compute_capability[1]
        )
    })
}

impl Backend for CudaBackend {
    fn name(&self) -> &'static str {
        NAME
    }

    fn info(&self) -> Result<BackendInfo, BackendError> {
        let g = self.gpu()?;
        let i = &g.info;
        let mut settings = vec![
            ("device".to_string(), i.name.clone()),
            (
                "compute_capability".into(),
                format!("{}.{}", i.compute_capability[0], i.compute_capability[1]),
            ),
            ("force".into(), self.force.to_string()),
            ("profile".into(), self.profile.to_string()),
            (
                "cuda_graphs".into(),
                if self.profile {
                    "off (--profile times each layer with events)".into()
                } else if self.graphs {
                    "on (one graph per session; ADASVAL_CUDA_GRAPHS=0 turns them off)".into()
                } else {
                    "off (ADASVAL_CUDA_GRAPHS=0)".into()
                },
            ),
            ("host_copies".into(), self.host_path.describe().into()),
            ("cuda_sched".into(), g.sched.clone()),
            (
                "sessions".into(),
                "each session its own stream, cuDNN handle, arena and workspace; weights shared"
                    .into(),
            ),
            (
                "fp32_math".into(),
                "CUDNN_FMA_MATH (no TF32); kernels IEEE, no FTZ, no FMA contraction".into(),
            ),
        ];
        settings.extend(
            self.prepared
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .cloned(),
        );
        Ok(BackendInfo {
            name: NAME.into(),
            libraries: vec![
                "cudarc 0.19".into(),
                format!("NVIDIA driver {}", i.driver),
                format!("CUDA driver API {}", i.cuda_driver_api),
                format!("NVRTC {}", i.nvrtc),
                format!("cuDNN {} (built for CUDA {})", i.cudnn, i.cudnn_cudart),
                format!(
                    "cuBLAS {}",
                    i.cublas.clone().unwrap_or_else(|| "unavailable".into())
                ),
            ],
            settings,
        })
    }

    fn prepare(&self, engine: &VerifiedEngine) -> Result<Box<dyn Prepared>, BackendError> {
        if engine.entry.format != EngineFormat::CudaPlan {
            return Err(BackendError::UnsupportedFormat {
                backend: NAME.into(),
                engine: engine.entry.name.clone(),
                format: engine.entry.format.as_str().into(),
            });
        }
        let gpu = self.gpu()?;
        let err = |message: String| BackendError::Prepare {
            backend: NAME.into(),
            engine: engine.entry.name.clone(),
            message,
        };
        // The bytes the lock verified, never a second read of the file.
        let (plan, weights) = decode_plan(&engine.bytes).map_err(err)?;
        if let Some(why) = compatibility(&plan, &gpu.info) {
            if !self.force {
                return Err(err(why));
            }
            eprintln!("warning: --force: {why}");
        }
        let unavailable = |e: GpuError| match e {
            GpuError::Unavailable(reason) => BackendError::Unavailable {
                backend: NAME.into(),
                reason,
            },
            other => err(other.to_string()),
        };
        let prepared = CudaPrepared::new(
            &engine.entry.name,
            gpu,
            &plan,
            &weights,
            self.profile,
            self.graphs,
            self.host_path,
        )
        .map_err(unavailable)?;
        let summary = prepared.summary();
        self.prepared
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((format!("engine {}", engine.entry.name), summary));
        Ok(Box::new(prepared))
    }
}

/// A prepared plan: weights, kernels and plan shared by its sessions; each session gets its
/// own stream, arena, workspace, cuDNN handle and (graphs on) CUDA graph. The first session,
/// made at prepare to validate the plan on the GPU, is kept for the first `session()` call.
pub struct CudaPrepared {
    name: String,
    shared: Arc<exec::Shared>,
    first: Mutex<Option<exec::Engine>>,
    summary: String,
}

impl CudaPrepared {
    fn new(
        name: &str,
        gpu: Arc<Gpu>,
        plan: &Plan,
        weights: &[f32],
        profile: bool,
        graphs: bool,
        host_path: HostPath,
    ) -> Result<CudaPrepared, GpuError> {
        let shared = exec::Shared::new(gpu, plan, weights, profile, graphs, host_path)?;
        let e = exec::Engine::new(shared.clone())?;
        let graph = match &e.graph_state {
            exec::GraphState::Captured { nodes } => {
                format!("CUDA graph per session ({nodes} nodes)")
            }
            exec::GraphState::Off(why) => format!("CUDA graphs {why}"),
        };
        let summary = format!(
            "{:?}, arena {} B and workspace {} B per session, weights upload {:.3} ms, {graph}, {}{}",
            shared.precision(),
            e.arena_bytes,
            e.workspace_bytes,
            shared.load_ns as f64 / 1e6,
            e.output_note(),
            if e.unfused.is_empty() {
                String::new()
            } else {
                format!(
                    "; cuDNN refused fused bias+ReLU on: {}",
                    e.unfused.join(", ")
                )
            }
        );
        Ok(CudaPrepared {
            name: name.to_string(),
            shared,
            first: Mutex::new(Some(e)),
            summary,
        })
    }

    /// Run an engine built directly from a plan (tests; no lock involved). Graphs follow
    /// `ADASVAL_CUDA_GRAPHS`.
    pub fn from_plan(
        name: &str,
        plan: &Plan,
        weights: &[f32],
        profile: bool,
    ) -> Result<CudaPrepared, GpuError> {
        Self::from_plan_with(name, plan, weights, profile, exec::graphs_from_env())
    }

    /// As `from_plan`, with CUDA graphs on or off explicitly (host path from
    /// `ADASVAL_CUDA_STAGING`).
    pub fn from_plan_with(
        name: &str,
        plan: &Plan,
        weights: &[f32],
        profile: bool,
        graphs: bool,
    ) -> Result<CudaPrepared, GpuError> {
        Self::from_plan_host(name, plan, weights, profile, graphs, HostPath::from_env())
    }

    /// As `from_plan_with`, with the host path explicit.
    pub fn from_plan_host(
        name: &str,
        plan: &Plan,
        weights: &[f32],
        profile: bool,
        graphs: bool,
        host_path: HostPath,
    ) -> Result<CudaPrepared, GpuError> {
        Self::new(
            name,
            Gpu::open()?,
            plan,
            weights,
            profile,
            graphs,
            host_path,
        )
    }

    /// How many frames are staged now (tests).
    pub fn staged_frames(&self) -> usize {
        self.shared.staged.len()
    }

    /// Precision, per-session memory, upload time and whether graphs are in use.
    pub fn summary(&self) -> String {
        self.summary.clone()
    }
}

impl Prepared for CudaPrepared {
    fn session(&self) -> Result<Box<dyn Session>, BackendError> {
        let first = self.first.lock().unwrap_or_else(|p| p.into_inner()).take();
        let engine = match first {
            Some(e) => e,
            None => exec::Engine::new(self.shared.clone()).map_err(|e| BackendError::Run {
                backend: NAME.into(),
                message: format!("opening a session of `{}`: {e}", self.name),
            })?,
        };
        Ok(Box::new(CudaSession { engine }))
    }

    fn load_ns(&self) -> Option<u64> {
        Some(self.shared.load_ns)
    }

    fn layer_profile(&self) -> Option<serde_json::Value> {
        self.shared.profile_json(&self.name)
    }

    fn stage_inputs<'a>(
        &'a self,
        inputs: &[&'a Tensor],
    ) -> Result<Box<dyn StagedInputs + 'a>, BackendError> {
        match self.shared.host_path() {
            HostPath::Copy => Ok(Box::new(Unstaged)),
            HostPath::Direct => Ok(Box::new(
                self.shared.stage_inputs(inputs, hostmem::STAGING_CAP_BYTES),
            )),
        }
    }
}

/// `ADASVAL_CUDA_STAGING=0`: nothing staged, and the record says so.
struct Unstaged;
impl StagedInputs for Unstaged {
    fn describe(&self) -> Option<String> {
        Some("off (ADASVAL_CUDA_STAGING=0): each frame is copied into the session's pinned buffer inside `infer`".into())
    }
}

/// One camera stream: owns its engine (stream, arena, graph), shares the plan's weights.
pub struct CudaSession {
    engine: exec::Engine,
}

impl CudaSession {
    fn frame(&mut self, input: &Tensor) -> Result<DeviceTimings, BackendError> {
        let [h2d, compute, d2h] = self.engine.infer(input).map_err(|e| BackendError::Run {
            backend: NAME.into(),
            message: e.to_string(),
        })?;
        Ok(DeviceTimings {
            h2d_ns: Some(h2d),
            compute_ns: Some(compute),
            d2h_ns: Some(d2h),
        })
    }
}

impl Session for CudaSession {
    fn run(&mut self, input: &Tensor) -> Result<InferOutput, BackendError> {
        let device = self.frame(input)?;
        Ok(InferOutput {
            outputs: self.engine.take_outputs(),
            device,
        })
    }

    /// Lends the session's own output tensors (the d2h wrote them in place), except with
    /// `ADASVAL_CUDA_STAGING=0`, which keeps the copy-out path (new tensors every frame).
    fn run_lent(&mut self, input: &Tensor) -> Result<LentOutput<'_>, BackendError> {
        let device = self.frame(input)?;
        Ok(match self.engine.host_path() {
            HostPath::Copy => LentOutput::Owned(InferOutput {
                outputs: self.engine.take_outputs(),
                device,
            }),
            HostPath::Direct => LentOutput::Borrowed {
                outputs: self.engine.lend_outputs(),
                device,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use adasval_plan::ir::*;

    fn device(cc: [u32; 2]) -> DeviceInfo {
        DeviceInfo {
            name: format!("GPU sm_{}{}", cc[0], cc[1]),
            compute_capability: cc,
            sm_count: 1,
            memory_bytes: 1,
            memory_bus_width_bits: None,
            l2_bytes: None,
            max_sm_clock_mhz: None,
            max_memory_clock_mhz: None,
            ecc_enabled: None,
            pci_bus_id: None,
            driver: "d".into(),
            cuda_driver_api: "13.0".into(),
            nvrtc: "13.0".into(),
            cudnn: "9".into(),
            cudnn_cudart: "13.0".into(),
            cublas: None,
        }
    }

    fn plan(built_on: Option<BuildDevice>) -> Plan {
        Plan {
            format_version: FORMAT_VERSION,
            name: "p".into(),
            source_model: String::new(),
            source_sha256: String::new(),
            precision: Precision::Fp32,
            tf32: false,
            tactics: TacticPolicy::Measured,
            built_on,
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

    #[test]
    fn only_another_compute_capability_is_refused() {
        let h100 = device([9, 0]);
        let mut h200 = device([9, 0]);
        h200.name = "H200".into();
        // Same architecture, different card: the compile × run experiment, allowed.
        assert!(compatibility(&plan(Some(gpu::build_device(&h200))), &h100).is_none());
        let ampere = device([8, 0]);
        let why = compatibility(&plan(Some(gpu::build_device(&ampere))), &h100).unwrap();
        assert!(why.contains("8.0") && why.contains("9.0") && why.contains("--force"));
        // A plan with no build device (hand-made) is not refused.
        assert!(compatibility(&plan(None), &h100).is_none());
    }

    #[test]
    fn no_gpu_is_unavailable_not_a_panic() {
        let b = CudaBackend::new(&BackendConfig::default());
        match b.info() {
            Ok(i) => eprintln!("GPU present: {:?}", i.settings.first()),
            Err(e) => assert!(matches!(e, BackendError::Unavailable { .. }), "{e}"),
        }
    }
}
