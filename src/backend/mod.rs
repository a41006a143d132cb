//! Backends run a verified engine on one kind of hardware. Stages never depend on a
//! backend's internals: they hand it a [`VerifiedEngine`] and input tensors, and get output
//! tensors back with per-frame timings.
//!
//! Plug-in points: `cpu` (tract-onnx, the embedded default and reference), `noop` (a
//! fake for harness tests and overhead benchmarks); CUDA and external runners plug in here.

pub mod cpu;
pub mod noop;

use serde::Serialize;

use crate::lock::VerifiedEngine;
use crate::tensor::Tensor;

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("backend `{backend}` is not available: {reason}")]
    Unavailable { backend: String, reason: String },
    #[error("backend `{backend}` cannot run engine `{engine}` (format {format})")]
    UnsupportedFormat {
        backend: String,
        engine: String,
        format: String,
    },
    #[error("backend `{backend}` failed to prepare engine `{engine}`: {message}")]
    Prepare {
        backend: String,
        engine: String,
        message: String,
    },
    #[error("backend `{backend}` failed during inference: {message}")]
    Run { backend: String, message: String },
    #[error("unknown backend `{0}` (known: cpu, noop)")]
    Unknown(String),
}

impl crate::exit::Classify for BackendError {
    fn status(&self) -> crate::exit::Status {
        use crate::exit::Status;
        match self {
            BackendError::Unavailable { .. } => Status::Unavailable,
            BackendError::Unknown(_) | BackendError::UnsupportedFormat { .. } => Status::BadInput,
            BackendError::Prepare { .. } | BackendError::Run { .. } => Status::BadInput,
        }
    }
}

/// What a backend reports about itself (recorded in every run).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct BackendInfo {
    pub name: String,
    /// Library versions, e.g. `tract-onnx 0.23.9`.
    pub libraries: Vec<String>,
    /// Settings as they took effect (threads, precision, ...).
    pub settings: Vec<(String, String)>,
}

/// Timings a backend measured itself (e.g. device events); the harness's own wall-clock
/// inference time is always recorded separately.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct DeviceTimings {
    pub h2d_ns: Option<u64>,
    pub compute_ns: Option<u64>,
    pub d2h_ns: Option<u64>,
}

pub struct InferOutput {
    pub outputs: Vec<Tensor>,
    pub device: DeviceTimings,
}

pub trait Backend: Send + Sync {
    fn name(&self) -> &'static str;
    /// Whether the backend can run here, and its versions.
    fn info(&self) -> Result<BackendInfo, BackendError>;
    /// Build a runnable engine from verified bytes (done once, before timing).
    fn prepare(&self, engine: &VerifiedEngine) -> Result<Box<dyn Prepared>, BackendError>;
}

pub trait Prepared: Send + Sync {
    /// Open a session that runs frames (one session per stream).
    fn session(&self) -> Result<Box<dyn Session>, BackendError>;
    /// One-off engine upload / load cost measured by the backend, when meaningful.
    fn load_ns(&self) -> Option<u64> {
        None
    }
}

pub trait Session: Send {
    fn run(&mut self, input: &Tensor) -> Result<InferOutput, BackendError>;
}

/// Look a backend up by name.
pub fn by_name(name: &str) -> Result<Box<dyn Backend>, BackendError> {
    match name {
        "cpu" => Ok(Box::new(cpu::CpuBackend)),
        "noop" => Ok(Box::new(noop::NoopBackend)),
        "cuda" => Err(BackendError::Unavailable {
            backend: "cuda".into(),
            reason: "the CUDA backend is not built into this version of adasval".into(),
        }),
        other => Err(BackendError::Unknown(other.to_string())),
    }
}
