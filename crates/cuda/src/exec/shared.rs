//! Prepare time, once per plan: the checks, the weight upload (packed and aligned, fp16
//! converted on the device, timed as `load_ns`), kernel compilation, the frames staged for
//! every session (fp16 plans: in fp16), and the profile log that all sessions of the plan add to. `Engine::new`
//! (the parent module) makes sessions from the result.

use std::sync::{Arc, Mutex};

use cudarc::driver::{sys as ds, CudaFunction, PushKernelArg};

use crate::ewgen;
use crate::gpu::{CallExt, DevBuf, Gpu, GpuError};
use crate::hostmem::{self, HostPath, StagedRegistry};
use crate::kernels::{self, launch, Kernels};
use adasval_core::tensor::Tensor;
use adasval_plan::ir::{ConvEngine, Op, Plan, Precision};

use super::esize;
use super::steps::LayerMeta;

/// What every session of one prepared plan shares: the plan, the uploaded weights and the
/// compiled kernels. Read-only after `Shared::new`, except the profile log.
pub struct Shared {
    pub(super) gpu: Arc<Gpu>,
    pub(super) plan: Plan,
    pub(super) precision: Precision,
    pub(super) kernels: Kernels,
    pub(super) weights: DevBuf,
    pub(super) weight_offsets: Vec<usize>,
    /// Per layer: where a direct convolution's re-laid-out weights start (elements).
    pub(super) direct_weights: Vec<Option<usize>>,
    /// Per layer: a fused elementwise chain's generated kernel (name, function).
    pub(super) generated: Vec<Option<(String, CudaFunction)>>,
    pub(super) profile: bool,
    pub(super) graphs: bool,
    pub(super) host_path: HostPath,
    /// Frames staged by `Prepared::stage_inputs`, read by every session.
    pub staged: StagedRegistry,
    pub load_ns: u64,
    log: Mutex<ProfileLog>,
}

/// Per-layer times of every session (profiling only) and what the sessions found out at
/// their trial runs.
#[derive(Default)]
pub(super) struct ProfileLog {
    pub(super) meta: Vec<LayerMeta>,
    pub(super) layer_ms: Vec<Vec<f32>>,
    pub(super) unfused: Vec<String>,
}

/// One generated kernel per fused elementwise chain of the plan (`ewgen`), all in one NVRTC
/// module; none compiled when the plan has no chain.
fn generate_chains(
    gpu: &Arc<Gpu>,
    plan: &Plan,
) -> Result<Vec<Option<(String, CudaFunction)>>, GpuError> {
    let mut source = ewgen::EW_HEADER.to_string();
    let mut names = vec![];
    for (i, l) in plan.layers.iter().enumerate() {
        let Op::Elementwise { resize, steps } = &l.op else {
            continue;
        };
        let shape = |t: usize| -> Result<&[usize], GpuError> {
            plan.tensors
                .get(t)
                .map(|t| t.shape.as_slice())
                .ok_or_else(|| GpuError::Invalid(format!("tensor {t} does not exist")))
        };
        let out = shape(
            *l.outputs
                .first()
                .ok_or_else(|| GpuError::Invalid(format!("layer `{}` has no output", l.name)))?,
        )?;
        let ins = l
            .inputs
            .iter()
            .map(|&t| shape(t))
            .collect::<Result<Vec<_>, _>>()?;
        let name = format!("ew_{i}");
        let k = ewgen::kernel_source(&name, out, &ins, *resize, steps)
            .map_err(|m| GpuError::Invalid(format!("layer `{}` (Elementwise): {m}", l.name)))?;
        source.push_str(&k);
        names.push((i, name));
    }
    let mut out = vec![None; plan.layers.len()];
    if names.is_empty() {
        return Ok(out);
    }
    let list: Vec<String> = names.iter().map(|(_, n)| n.clone()).collect();
    let fs = kernels::compile_generated(gpu, plan.precision, &source, &list)?;
    for ((i, n), f) in names.into_iter().zip(fs) {
        out[i] = Some((n, f));
    }
    Ok(out)
}

/// Weights are re-laid out so every tensor starts on a 512-byte boundary (cuDNN's fast
/// paths want aligned filters).
const WEIGHT_ALIGN_ELEMS: usize = 128;

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
            let cb = kernels::weight_block(v);
            if cb == 0 || (v.tile.is_none() && k % cb != 0) {
                return Err(GpuError::Invalid(format!(
                    "layer `{}`: channel block {cb} does not divide {k} output channels",
                    l.name
                )));
            }
            direct_weights[i] = Some(packed.len());
            packed.extend_from_slice(&kernels::direct_weight_layout(src, k, cb));
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
        let generated = generate_chains(&gpu, plan)?;
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
            generated,
            profile,
            graphs,
            host_path,
            staged: StagedRegistry::default(),
            load_ns: (load_ms as f64 * 1e6) as u64,
            log: Mutex::new(ProfileLog::default()),
        }))
    }

    /// How many fused elementwise chains run as generated kernels (tests, summaries).
    pub fn generated_kernels(&self) -> usize {
        self.generated.iter().flatten().count()
    }

    pub fn precision(&self) -> Precision {
        self.precision
    }

    pub fn host_path(&self) -> HostPath {
        self.host_path
    }

    /// Stage the frames for this plan's sessions (see `hostmem::stage`): fp16 plans stage
    /// them in fp16, what their input tensor holds on the device.
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
        let format = match self.precision {
            Precision::Fp32 => hostmem::StageFormat::F32,
            Precision::Fp16 => hostmem::StageFormat::F16,
        };
        hostmem::stage(
            &self.gpu.ctx,
            &self.staged,
            inputs,
            elements,
            cap_bytes,
            format,
        )
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

    pub(super) fn log(&self) -> std::sync::MutexGuard<'_, ProfileLog> {
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }
}
