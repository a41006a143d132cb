//! CPU backend on tract-onnx: the embedded default and the reference every other backend
//! is compared with.

use tract_onnx::prelude::{
    tvec, Framework, InferenceFact, InferenceModelExt, IntoRunnable, TypedRunnableModel,
};
use tract_onnx::tract_hir::internal::{DimLike, Factoid};

use super::{Backend, BackendError, BackendInfo, DeviceTimings, InferOutput, Prepared, Session};
use adasval_core::tensor::Tensor;
use adasval_record::adapter::Layout;
use adasval_record::lock::{EngineFormat, VerifiedEngine};
use tract_linalg::multithread::{multithread_tract_scope, Executor};

/// The CPU backend. `threads` is tract's intra-op parallelism (its matrix products split
/// over a rayon pool of that size; one inference still runs at a time, so the frame being
/// timed never shares the CPU with the next one).
pub struct CpuBackend {
    threads: usize,
}

impl CpuBackend {
    pub fn new(threads: usize) -> CpuBackend {
        CpuBackend {
            threads: threads.max(1),
        }
    }
}

const TRACT_VERSION: &str = "tract-onnx 0.23";

type Plan = TypedRunnableModel;

impl Backend for CpuBackend {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn info(&self) -> Result<BackendInfo, BackendError> {
        Ok(BackendInfo {
            name: "cpu".into(),
            libraries: vec![TRACT_VERSION.into()],
            settings: vec![("threads".into(), self.threads.to_string())],
        })
    }

    fn prepare(&self, engine: &VerifiedEngine) -> Result<Box<dyn Prepared>, BackendError> {
        if engine.entry.format != EngineFormat::Onnx {
            return Err(BackendError::UnsupportedFormat {
                backend: "cpu".into(),
                engine: engine.entry.name.clone(),
                format: engine.entry.format.as_str().into(),
            });
        }
        let err = |e: anyhow::Error| BackendError::Prepare {
            backend: "cpu".into(),
            engine: engine.entry.name.clone(),
            message: format!("{e:#}"),
        };
        let spec = &engine.adapter.input;
        let (w, h) = (spec.width as usize, spec.height as usize);
        let shape: [usize; 4] = match spec.layout {
            Layout::Nchw => [1, 3, h, w],
            Layout::Nhwc => [1, h, w, 3],
        };
        // The adapter was checked against the model when it was frozen; a lock edited by
        // hand or frozen by an older version is checked again here, before any graph work.
        if let Ok(model) = crate::probe::model_signature(&engine.bytes) {
            let misfits = adasval_record::model_signature::check_adapter(&engine.adapter, &model);
            if !misfits.is_empty() {
                return Err(BackendError::Prepare {
                    backend: "cpu".into(),
                    engine: engine.entry.name.clone(),
                    message: format!(
                        "the adapter does not describe the model: {}; {}",
                        misfits
                            .iter()
                            .map(|m| m.to_string())
                            .collect::<Vec<_>>()
                            .join("; "),
                        model.describe()
                    ),
                });
            }
        }
        // The bytes the lock verified, never a second read of the file.
        let mut reader = std::io::Cursor::new(engine.bytes.as_slice());
        let model = tract_onnx::onnx()
            .model_for_read(&mut reader)
            .map_err(err)?;
        // A size the network cannot take otherwise surfaces as pages of shape algebra from
        // deep inside the graph: name the two shapes instead.
        let wrong_size = |declared: &dyn std::fmt::Debug| BackendError::Prepare {
            backend: "cpu".into(),
            engine: engine.entry.name.clone(),
            message: format!(
                "the adapter's input shape {shape:?} ({:?}, input.width {w}, input.height {h}) \
                 does not fit the model's input {declared:?}",
                spec.layout
            ),
        };
        let declared: Option<Vec<usize>> = model
            .input_fact(0)
            .ok()
            .and_then(|f| f.shape.concretize())
            .and_then(|dims| dims.iter().map(|d| d.to_usize().ok()).collect());
        if let Some(d) = &declared {
            if d.as_slice() != shape.as_slice() {
                return Err(wrong_size(d));
            }
        }
        let model = model
            .with_input_fact(0, InferenceFact::dt_shape(f32::datum_type(), shape))
            .map_err(err)?;
        let input_name = model
            .input_outlets()
            .ok()
            .and_then(|o| o.first().map(|o| model.node(o.node).name.clone()))
            .unwrap_or_default();
        if input_name != spec.tensor {
            return Err(BackendError::Prepare {
                backend: "cpu".into(),
                engine: engine.entry.name.clone(),
                message: format!(
                    "the model's input is `{input_name}` but the adapter names `{}`",
                    spec.tensor
                ),
            });
        }
        let typed = model.into_optimized().map_err(|e| {
            // With a symbolic input shape tract finds the misfit only inside the graph; its
            // first line says where.
            let first = format!("{e}");
            let first: String = first
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(200)
                .collect();
            wrong_size(&format!("(symbolic; {first})"))
        })?;
        let output_names = typed
            .output_outlets()
            .map_err(err)?
            .iter()
            .map(|o| {
                typed
                    .outlet_label(*o)
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| typed.node(o.node).name.clone())
            })
            .collect();
        let plan = typed.into_runnable().map_err(err)?;
        Ok(Box::new(CpuPrepared {
            plan,
            output_names,
            shape: shape.to_vec(),
            threads: self.threads,
        }))
    }
}

use tract_onnx::prelude::Datum;

struct CpuPrepared {
    plan: std::sync::Arc<Plan>,
    output_names: Vec<String>,
    shape: Vec<usize>,
    threads: usize,
}

impl Prepared for CpuPrepared {
    fn session(&self) -> Result<Box<dyn Session>, BackendError> {
        // One pool per session, built here and not per inference: its threads start once,
        // outside the timed loop.
        let pool = (self.threads > 1)
            .then(|| Executor::multithread_with_name(self.threads, "adasval-cpu"));
        Ok(Box::new(CpuSession {
            plan: self.plan.clone(),
            output_names: self.output_names.clone(),
            shape: self.shape.clone(),
            pool,
        }))
    }
}

struct CpuSession {
    plan: std::sync::Arc<Plan>,
    output_names: Vec<String>,
    shape: Vec<usize>,
    /// `--threads` above 1; on one thread tract runs on the caller, with nothing to set up
    /// per inference.
    pool: Option<Executor>,
}

impl Session for CpuSession {
    fn run(&mut self, input: &Tensor) -> Result<InferOutput, BackendError> {
        let err = |e: anyhow::Error| BackendError::Run {
            backend: "cpu".into(),
            message: format!("{e:#}"),
        };
        let t = tract_onnx::prelude::Tensor::from_shape(&self.shape, &input.data).map_err(err)?;
        let result = match &self.pool {
            Some(pool) => multithread_tract_scope(pool.clone(), || self.plan.run(tvec!(t.into()))),
            None => self.plan.run(tvec!(t.into())),
        }
        .map_err(err)?;
        let mut outputs = Vec::with_capacity(result.len());
        for (i, v) in result.iter().enumerate() {
            let view = v.to_plain_array_view::<f32>().map_err(err)?;
            outputs.push(Tensor::new(
                self.output_names.get(i).cloned().unwrap_or_default(),
                view.shape().to_vec(),
                view.iter().copied().collect(),
            ));
        }
        Ok(InferOutput {
            outputs,
            device: DeviceTimings::default(),
        })
    }
}
